"""Named constants of the core, in one place: the fit's recipes, the self-tuning grids, the
parameter bounds and the score implicit's top-k gives a filtered candidate. Why each value:
``benchmarks/ABLATION.md``."""

import numpy as np

#: implicit's ``topk`` scores filtered candidates ``-FLT_MAX``; every recommender pads with it.
FLT_MAX = float(np.finfo(np.float32).max)

#: The plug-in map (a backend's fixed factors): CG steps of the ridge start and of the
#: refinement on the ALS loss (coldstart.integrations.spark uses the same).
PLUGIN_INIT_ITERS, PLUGIN_MAP_ITERS = 3, 3
#: The default (content-constrained) fit: CG steps of the ridge start and of the map's
#: refinement per sweep (chosen on cold validation items; coldstart.integrations.spark uses the same).
CC_INIT_ITERS, CC_MAP_ITERS = 3, 3
#: prior_weight="auto": the attribute prior weighs as much as this many typical interactions.
PRIOR_INTERACTIONS = 10.0
#: Upper bounds of the integer parameters (beyond them a fit cannot be meant: ALS solves a
#: factors x factors system per user and item; each thread has its own stack and buffers).
MAX_FACTORS, MAX_ITERATIONS, MAX_THREADS = 4096, 10_000, 1024

#: ``alpha="auto"``'s share: the observed pairs weigh this much of the unobserved mass among the
#: users and items with interactions. 1/16 is the 0.05 over every row and column that the
#: default was validated with on the collection, whose training matrices hold about 20 % of
#: their items without an interaction (``benchmarks/ABLATION.md``, session 16).
AUTO_ALPHA_SHARE = 0.0625

#: Settings when not chosen on the internal split (given numbers, or a catalog too small to
#: hold items out): the map's relative penalty and the zero-shot scale.
CC_MAP_ALPHA, DEFAULT_ZERO_SHOT_SCALE = 3.0, 2.0
#: What the self-tuning default chooses among (``benchmarks/ABLATION.md``, session 4): free
#: ALS sweeps after the content-constrained ones (stop after ``FREE_SWEEP_PATIENCE`` sweeps
#: without a better held-out warm recall), the map's relative penalty, the zero-shot scale
#: (the sweeps and the penalty walked from their ``_START`` index, see
#: :func:`~coldstart.core.strategies.search_grid`; every scale scored, one product for all).
#: At most 5 free sweeps (session 6: a sixth never won on the collection and cost a sweep and a
#: probe).
MAX_FREE_SWEEPS, FREE_SWEEP_PATIENCE = 5, 2
#: ... taken only when the best of them beats the content-constrained fit's held-out warm recall
#: by this factor (a free sweep's 2 % on citeulike-t's probe cost 4 % of its test warm recall).
FREE_SWEEP_GAIN = 1.05
MAP_ALPHA_GRID, MAP_ALPHA_START = (1.0, 3.0, 10.0, 30.0, 100.0), 2
ZERO_SHOT_SCALE_GRID = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0)
#: The items' extra ridge the self-tuning default tries after the free sweeps, in units of the
#: mean eigenvalue of ``U'U``, walked from ``_START`` as the other grids (0, plain ALS's item
#: solve, is always a candidate): a strong ridge puts the established items' scores on what
#: many users agree on (``benchmarks/ABLATION.md``, session 8).
ITEM_RIDGE_GRID, ITEM_RIDGE_START = (1.0, 3.0, 10.0, 30.0, 100.0), 1
#: ... taken only when its held-out warm recall beats plain ALS's item solve by this factor.
ITEM_RIDGE_GAIN = 1.05
#: The zero-shot scale may cost the established items' held-out recall at most 2 % of its best
#: (without the zero-shot items among the candidates, or with them at any scale of the grid).
WARM_TOLERANCE = 0.98
#: Attributes are trusted when the map ranks the probe items at least this many times better
#: than chance (noise attributes: about 1; the collection's catalogs: 3.7 to 46).
MIN_ATTRIBUTE_LIFT = 1.5
#: Free sweeps on every training pair after the internal fit, when it chose free sweeps; none
#: when the free sweeps after the chosen one lost more than ``1 - OVERFIT_DROP`` of its held-out
#: warm recall and no items' ridge was taken (they would go past the peak the probe found).
COMPLETION_SWEEPS, OVERFIT_DROP = 2, 0.95
#: ``recommend(exploration=...)``: Thompson sampling of the score, or its upper confidence bound.
EXPLORATION_MODES = ("thompson", "ucb")
#: ``recommend``'s default ``exploration_weight`` (see there).
EXPLORATION_WEIGHT = 0.3
#: CG steps of the zero-shot map at each penalty tried and of the final map (from the joint
#: fit's map: the validated recipe is the final one).
TUNED_MAP_ITERS = 3
#: The final user solve is exact for users with at most ``LOW_RANK_MAX_ENTRIES`` interactions
#: (a low-rank update of a shared system: about ``m^2 k`` work against ``17 k^2`` for 16 CG steps)
#: and takes ``FINAL_USER_CG_STEPS`` CG steps (implicit's ALS takes 3 per sweep) for the others:
#: either way the stored users are what recalculate_user gives.
FINAL_USER_CG_STEPS, LOW_RANK_MAX_ENTRIES = 16, 32
#: ``partial_fit_items`` re-solves an established item with this many CG steps from zero (batched;
#: within 0.3 % of the exact solve at 256 factors on citeulike-t, a tenth of its time).
ESTABLISHED_CG_STEPS = 32

#: Settings chosen in ``fit`` (the ``<name>_`` attributes, where the model has them) that a
#: saved model keeps.
SETTINGS = ("zero_shot_scale", "map_alpha", "free_sweeps", "item_ridge")

# ---- the internal split of the self-tuning default (coldstart.core.tuning)
#: Share of the items with interactions held out as probe items, and of the remaining pairs
#: held out as probe pairs.
PROBE_ITEM_FRACTION, PROBE_PAIR_FRACTION = 0.1, 0.1
#: Users scored per validation: a random, fixed sample of this many, grown (more users drawn at
#: random) until it holds ``VALIDATION_PAIRS`` held-out pairs. A recall's noise follows the pairs
#: it averages: at recall 0.1, 4,000 pairs put one standard error at about the 5 % gain the
#: choices ask for (``FREE_SWEEP_GAIN``, ``ITEM_RIDGE_GAIN``); 1,000 users of a sparse catalog
#: hold about 1,400 (``benchmarks/ABLATION.md``, session 13).
MIN_VALIDATION_USERS, VALIDATION_PAIRS = 1000, 4000
#: Cut-off of the validation rankings (the protocol's K).
VALIDATION_K = 20
#: Share of the users with interactions held out as probe users when the user map's penalty
#: is chosen (``fit(user_features=...)``, :mod:`coldstart.core.users`).
PROBE_USER_FRACTION = 0.2
#: The user map's penalties (relative, as ``MAP_ALPHA_GRID``; walked from ``MAP_ALPHA_START``):
#: wider than the items' toward heavy penalties, since uninformative user attributes should
#: leave every cold user on the map's intercept (the average user's vector).
USER_MAP_ALPHA_GRID = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
#: CG steps of the user map on the ALS loss (user attributes are few: cheap) and the value of
#: the constant column that carries its intercept (penalised 1 / 10**2 as much as the others).
USER_MAP_ITERS, USER_MAP_CONSTANT = 10, 10.0
#: User attributes are used when the map's probe-user Recall@20 beats the intercept alone (no
#: attributes: every cold user served as the average user) by at least this factor.
USER_ATTRIBUTE_GAIN = 1.05
