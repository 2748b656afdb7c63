"""Speed and scale of ``ColdStartRecommender`` on one machine.

For each catalog size (default 10k / 100k / 300k / 1M items, with n_users = n_items / 5 and
10 interactions per item, so 1M items ↔ 200k users, 10M interactions, 50k-dim sparse
attributes) a fresh subprocess generates a synthetic world and measures wall time, CPU
utilisation and peak RSS (``VmHWM`` from /proc, reset between stages with
``/proc/self/clear_refs``, so numpy/scipy/C allocations count) of:

1-2. ``ColdStartRecommender().fit`` with its defaults, split into the attribute map's share
   (time inside AttributeWeighting and RidgeMap methods and inside the ALS sweep callback, where
   the content-constrained fit projects the item factors onto the map) and the collaborative
   rest (implicit's ALS sweeps and the fit's own re-solves); each size runs under an
   address-space limit (``--max-memory-gb``, default: available RAM - 2 GB) so a fit that needs
   too much memory is recorded as such instead of waking the OOM killer,
3. zero-shot embedding throughput (``embed_items`` on 100k new items),
4. ``add_items`` of 1 item (median over 1,000 repeated single adds), 1k items, and 1M items at
   the largest size,
5. ``recommend``: one user (median over 200 calls) against a plain numpy baseline
   (``item_factors @ u`` + ``argpartition``), and a batch of 1,000 users with 1 vs 2 threads,
6. optionally (``--ann``, on by default when hnswlib is installed) an HNSW index
   (:class:`coldstart.integrations.ann.HNSWIndex`): build, query latency, recall@10 against exact top-10,
   incremental adds,
7. after the sizes, ``benchmarks/embed_speed.py`` in its own process: one ``add_items`` of 950k
   items for the issue's 20-of-20k-words workload and this benchmark's 10-50-of-50k one
   (``--embed-speed only`` runs just this stage and adds it to an existing ``scale.json``).

Synthetic world: power-law cluster sizes and Zipf item popularity; each user likes 1-3 clusters
(85 % of interactions) plus popularity-driven exploration (15 %), log-normal activity; each
item has 10-50 attributes from a 50k vocabulary, 60 % from its cluster's own Zipfian
sub-vocabulary and 40 % from a global Zipfian one, so attributes predict tastes.

Usage::

    python benchmarks/scale.py                      # 10k,100k,300k,1M; ~30-40 min on 2 busy cores
    python benchmarks/scale.py --quick              # 10k,30k, about a minute
    python benchmarks/scale.py --sizes 10k,100k --ann off

Writes ``benchmarks/results/scale.json`` (raw numbers + hardware), ``scale.md`` (tables and the
targets) and ``scale.png`` (log-log time vs catalog size). ``--report-only`` rebuilds the
markdown and the plot from an existing JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results"
VOCAB = 50_000
DEFAULT_SIZES = "10k,100k,300k,1M"
QUICK_SIZES = "10k,30k"
TOP_N = 10

# ---------------------------------------------------------------------------------------------
# synthetic data


def _zipf_cdf(n: int, a: float) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** a
    c = np.cumsum(p)
    return c / c[-1]


class World:
    """Clusters, item popularity and attribute vocabularies; interactions for the first n_items."""

    def __init__(self, n_items: int, n_users: int, n_interactions: int, n_features: int = VOCAB,
                 seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.n_features = n_features
        rng = self.rng
        C = int(max(20, min(2000, n_items // 500)))
        self.n_clusters = C
        self.cluster_cdf = _zipf_cdf(C, 0.7)  # power-law cluster sizes
        self.offset = rng.integers(0, n_features, C)  # each cluster's own vocabulary region
        self.stride = rng.choice(np.array([1, 3, 7, 11, 13, 17, 19, 23]), C)
        self.global_cdf = _zipf_cdf(n_features, 1.0)
        self.local_cdf = _zipf_cdf(2000, 1.1)
        self.item_cluster = self.new_clusters(n_items)
        self.user_items = self._interactions(n_items, n_users, n_interactions)

    def new_clusters(self, n: int) -> np.ndarray:
        return np.searchsorted(self.cluster_cdf, self.rng.random(n)).astype(np.int32)

    def _interactions(self, n_items: int, n_users: int, target: int) -> sp.csr_matrix:
        rng, C = self.rng, self.n_clusters
        ic = self.item_cluster
        pop = (1.0 / (1.0 + rng.permutation(n_items))) ** 0.8  # Zipf popularity, random ranks
        order = np.argsort(ic, kind="stable")
        cum = np.cumsum(pop[order])
        edges = np.concatenate([[0.0], cum])[np.searchsorted(ic[order], np.arange(C + 1))]
        lo, width = edges[:-1], np.diff(edges)
        n_fav = rng.integers(1, 4, n_users)
        fav = np.searchsorted(np.cumsum(width) / width.sum(), rng.random((n_users, 3))).astype(np.int32)
        fav = np.minimum(fav, C - 1)
        activity = rng.lognormal(0.0, 1.0, n_users)
        activity /= activity.sum()

        def draw(m: int):
            users = np.repeat(np.arange(n_users, dtype=np.int32),
                              rng.multinomial(m, activity))
            which = (rng.random(users.size) * n_fav[users]).astype(np.int64)
            cl = fav[users, which]
            r = lo[cl] + rng.random(users.size) * width[cl]
            explore = rng.random(users.size) < 0.15
            r[explore] = rng.random(int(explore.sum())) * cum[-1]
            items = order[np.minimum(np.searchsorted(cum, r), n_items - 1)]
            return users, items.astype(np.int32)

        rows, cols = draw(target)
        ui = sp.csr_matrix((np.ones(rows.size, np.float32), (rows, cols)), shape=(n_users, n_items))
        for _ in range(6):  # top up what duplicate (user, item) draws removed
            short = target - ui.nnz
            if short <= target * 0.002:
                break
            r2, c2 = draw(int(short * 1.3) + 100)
            ui = ui + sp.csr_matrix((np.ones(r2.size, np.float32), (r2, c2)), shape=ui.shape)
            ui.sum_duplicates()
        if ui.nnz > target:  # drop a random surplus so nnz is exactly the target
            coo = ui.tocoo()
            keep = np.sort(rng.choice(coo.nnz, target, replace=False))
            ui = sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=ui.shape)
        ui.data[:] = 1.0
        ui.sort_indices()
        return ui

    def attributes(self, clusters: np.ndarray) -> sp.csr_matrix:
        """10-50 attributes per item (counts), Zipfian, 60 % from the item's cluster vocabulary."""
        rng, d = self.rng, self.n_features
        n = len(clusters)
        L = rng.integers(10, 51, n)
        rows = np.repeat(np.arange(n, dtype=np.int32), L)
        own = rng.random(rows.size) < 0.6
        cols = np.empty(rows.size, np.int64)
        cols[~own] = np.searchsorted(self.global_cdf, rng.random(int((~own).sum())))
        c = clusters[rows[own]]
        rank = np.searchsorted(self.local_cdf, rng.random(int(own.sum())))
        cols[own] = (self.offset[c] + self.stride[c] * rank) % d
        X = sp.csr_matrix((np.ones(rows.size, np.float32), (rows, np.minimum(cols, d - 1).astype(np.int32))),
                          shape=(n, d))
        X.sum_duplicates()
        return X


# ---------------------------------------------------------------------------------------------
# measurement helpers (worker side)


def _proc_status(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0  # kB -> MiB
    return float("nan")


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    except OSError:
        pass


def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system


class Recorder:
    def __init__(self):
        self.data: dict = {}
        self.peak_mb = 0.0

    @contextmanager
    def stage(self, name: str, into: dict | None = None):
        rss0 = _proc_status("VmRSS")
        _reset_peak()
        load0 = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), _cpu_s()
        info: dict = {}
        yield info
        wall = time.perf_counter() - t0
        cpu = _cpu_s() - c0
        hwm = _proc_status("VmHWM")
        self.peak_mb = max(self.peak_mb, hwm)
        info.update(time_s=wall, cpu_util=cpu / wall if wall > 0 else float("nan"), rss_before_mb=rss0,
                    peak_rss_mb=hwm, peak_extra_mb=hwm - rss0, load_before=load0, load_after=os.getloadavg()[0])
        (self.data if into is None else into)[name] = info
        _log(f"  {name}: {wall:.3f} s, peak RSS {hwm:.0f} MiB (+{hwm - rss0:.0f}), cpu x{info['cpu_util']:.2f}")


class CallTimer:
    """Exclusive time per key of selected functions (patched in this process only): a timed call
    inside another timed call is taken out of the outer one, so e.g. an ALS callback that refits
    the map counts for the map, not for the ALS sweep around it. Only main-thread calls are
    timed (calls made by worker threads run inside a timed main-thread call)."""

    def __init__(self):
        self.totals: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self._stack: list[list] = []  # [key, start, time of timed children]

    def wrap(self, fn, key: str):
        def timed(*args, **kwargs):
            if threading.current_thread() is not threading.main_thread():
                return fn(*args, **kwargs)  # worker threads' time is inside a main-thread call
            frame = [key, time.perf_counter(), 0.0]
            self._stack.append(frame)
            try:
                return fn(*args, **kwargs)
            finally:
                self._stack.pop()
                elapsed = time.perf_counter() - frame[1]
                self.totals[key] = self.totals.get(key, 0.0) + elapsed - frame[2]
                self.counts[key] = self.counts.get(key, 0) + 1
                if self._stack:
                    self._stack[-1][2] += elapsed

        timed.__wrapped__ = fn
        return timed

    def patch(self, owner, name: str, key: str | None = None) -> None:
        orig = getattr(owner, name)
        setattr(owner, name, self.wrap(orig, key or f"{getattr(owner, '__name__', owner)}.{name}"))

    def take(self) -> dict[str, float]:
        out = dict(self.totals)
        self.totals.clear()
        self.counts.clear()
        return out


def _instrument_fit(timer: CallTimer) -> None:
    """Time the fit's collaborative side where it is unambiguous (implicit's ALS and its solvers,
    coldstart.core.solvers' re-solves) and the attribute map's functions (weighting, every
    function and RidgeMap method of coldstart.core.mapping, ALS callbacks); whatever the recipe."""
    import inspect

    import implicit.cpu._als as native_als
    from implicit.cpu.als import AlternatingLeastSquares

    import coldstart.core.factorization as factorization
    import coldstart.core.mapping as mapping
    import coldstart.core.model as model_module
    import coldstart.core.solvers as solvers
    import coldstart.core.weighting as weighting

    for name in ("least_squares", "least_squares_cg"):
        if hasattr(native_als, name):
            timer.patch(native_als, name, f"collab: implicit {name}")
    als_fit = AlternatingLeastSquares.fit

    def als_fit_timed(self, user_items, show_progress=True, callback=None):
        if callback is not None:
            callback = timer.wrap(callback, "map: ALS sweep callback")
        return als_fit(self, user_items, show_progress=show_progress, callback=callback)

    AlternatingLeastSquares.fit = timer.wrap(als_fit_timed, "collab: implicit ALS fit")

    def patch_functions(module, category, only=None):
        for name, obj in list(vars(module).items()):
            if (inspect.isfunction(obj) and obj.__module__ == module.__name__ and not name.startswith("__")
                    and (only is None or only(name))):
                wrapped = timer.wrap(obj, f"{category}: {name}")
                setattr(module, name, wrapped)
                if getattr(model_module, name, None) is obj:  # `from .x import f` in model.py
                    setattr(model_module, name, wrapped)

    patch_functions(factorization, "collab")
    collab_solvers = {"fold_in", "solve_from_prior", "gram_matrix", "solve_rows"}
    patch_functions(solvers, "collab", lambda name: name in collab_solvers)
    patch_functions(solvers, "map", lambda name: name not in collab_solvers)
    patch_functions(mapping, "map")
    for name in ("fit", "transform", "fit_transform"):
        timer.patch(weighting.AttributeWeighting, name, f"map: AttributeWeighting.{name}")
    for name in ("fit", "predict", "_start", "_track"):
        if name in vars(mapping.RidgeMap):
            timer.patch(mapping.RidgeMap, name, f"map: RidgeMap.{name}")


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _pct(values, q) -> float:
    return float(np.percentile(np.asarray(values), q))


def _numpy_topn(F: np.ndarray, u: np.ndarray, N: int):
    scores = F @ u
    idx = np.argpartition(-scores, N)[:N]
    idx = idx[np.argsort(-scores[idx])]
    return idx, scores[idx]


# ---------------------------------------------------------------------------------------------
# one size (runs in a fresh subprocess)


def run_size(n_items: int, args) -> dict:
    from threadpoolctl import threadpool_limits

    from coldstart import ColdStartRecommender

    quick = args.quick
    largest = args.largest
    rec = Recorder()
    out = rec.data
    n_users, n_inter = max(n_items // 5, 100), 10 * n_items
    out.update(n_items=n_items, n_users=n_users, n_features=VOCAB)
    timer = CallTimer()
    _instrument_fit(timer)

    _log(f"[{n_items:,} items] generating data")
    with rec.stage("generate"):
        world = World(n_items, n_users, n_inter, seed=args.seed)
        ui = world.user_items
        X = world.attributes(world.item_cluster)
        n_new = 100_000 + 1_000 + 5 * 1_000
        X_new = world.attributes(world.new_clusters(n_new))
    counts = np.bincount(ui.indices, minlength=n_items)
    out.update(n_interactions=int(ui.nnz), attr_nnz=int(X.nnz), attrs_per_item=float(X.nnz / n_items),
               warm_items=int((counts > 0).sum()), top_item_share=float(counts.max() / ui.nnz),
               features_used=int((np.bincount(X.indices, minlength=VOCAB) > 0).sum()))

    # 1-2. fit, split into the collaborative part and the map part -----------------------------
    _log(f"[{n_items:,} items] fit")
    if args.serving_only:  # realistic-shaped factors fast: 1 ALS sweep, 3 CG steps for the map
        from coldstart.core.mapping import RidgeMap

        model = ColdStartRecommender(random_state=0, iterations=1, mapper=RidgeMap(alpha=3.0, max_iter=3))
        out["serving_only"] = True
    else:
        model = ColdStartRecommender(random_state=0)
    out["model_params"] = {k: v for k, v in model.get_params().items()
                           if isinstance(v, (int, float, str, bool, type(None)))}
    timer.take()
    try:
        with rec.stage("fit_total") as total:
            t0, c0 = time.perf_counter(), _cpu_s()
            model.fit(ui, X)
            wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    except MemoryError as exc:  # over --max-memory-gb: record it, go on with a plain (serving-only) fit
        peak = _proc_status("VmHWM")
        _log(f"  fit ran out of memory ({exc!r}) at peak RSS {peak:.0f} MiB; serving-only fit instead")
        out["fit_failed"] = dict(error=repr(exc), peak_rss_mb=peak, limit_gb=args.max_memory_gb,
                                 after_s=time.perf_counter() - t0, breakdown_s=timer.take())
        from coldstart.core.mapping import RidgeMap

        model = ColdStartRecommender(random_state=0, iterations=1,
                                     mapper=RidgeMap(alpha=3.0, max_iter=3))
        out["serving_only"] = True
        with rec.stage("fit_total") as total:
            t0, c0 = time.perf_counter(), _cpu_s()
            model.fit(ui, X)
            wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    calls = timer.take()
    collab_s = sum(v for k, v in calls.items() if k.startswith("collab:"))
    map_captured = sum(v for k, v in calls.items() if k.startswith("map:"))
    map_s = wall - collab_s  # the map's functions plus the fit's own glue (validation, transposes)
    out["fit_total"]["breakdown_s"] = calls
    out["fit_total"]["other_s"] = wall - collab_s - map_captured
    out["content_constrained"] = bool(getattr(model, "content_constrained_", False))
    out["collab_fit"] = dict(time_s=collab_s, note="exclusive time in implicit's ALS/solvers and "
                             "coldstart.core.factorization")
    out["map_fit"] = dict(time_s=map_s, map_functions_s=map_captured, peak_rss_mb=total["peak_rss_mb"],
                          peak_extra_mb=total["peak_extra_mb"], overhead_vs_collab=map_s / collab_s,
                          ridge_iterations=int(getattr(model.mapper_, "n_iter_", -1)))
    out["collab_fit"]["peak_rss_mb"] = total["peak_rss_mb"]
    out["collab_fit"]["peak_extra_mb"] = total["peak_extra_mb"]
    out["fit_total"]["cpu_util"] = cpu / wall
    _log(f"  collab {collab_s:.1f} s, map {map_s:.1f} s ({map_s / collab_s:.0%}); "
         + ", ".join(f"{k} {v:.1f}" for k, v in sorted(calls.items())))

    # 1b. references: the plain collaborative fit a backend runs anyway (implicit's ALS with the
    # model's factors, regularization and alpha, implicit's default 15 iterations), and the
    # plug-in map fitted on top of it (ColdStartRecommender(collaborative=<fitted ALS>), the map's
    # own cost: fixed settings, as measured before plug-in mode chose them on a copy of the backend)
    if not out.get("serving_only") and not args.no_reference:
        from coldstart.core.factorization import make_als

        _log(f"[{n_items:,} items] reference: implicit ALS, then the plug-in map on it")
        als = make_als(factors=model.factors, regularization=model.regularization,
                       alpha=model._alpha_for(ui, None), iterations=15, random_state=0, num_threads=0)
        with threadpool_limits(1, "blas"), rec.stage("als_reference") as info:
            t0, c0 = time.perf_counter(), _cpu_s()
            als.fit(ui, show_progress=False)
            als_s = time.perf_counter() - t0
            info.update(cpu_util=(_cpu_s() - c0) / als_s, iterations=15)
        timer.take()
        with rec.stage("plugin_map") as info:
            t0, c0 = time.perf_counter(), _cpu_s()
            ColdStartRecommender(collaborative=als, map_alpha=3.0, zero_shot_scale=2.0, random_state=0).fit(ui, X)
            plug_s = time.perf_counter() - t0
            info.update(cpu_util=(_cpu_s() - c0) / plug_s)
        timer.take()
        out["reference"] = dict(als_s=als_s, plugin_map_s=plug_s, default_fit_s=wall,
                                default_over_als=wall / als_s, plugin_over_als=plug_s / als_s)
        _log(f"  ALS (15 it.) {als_s:.1f} s; default fit {wall:.1f} s = {wall / als_s:.2f} x ALS; "
             f"plug-in map {plug_s:.1f} s = {plug_s / als_s:.0%} of ALS")
        del als

    # map quality on warm items (sanity: the map is meaningful)
    rng = np.random.default_rng(1)
    warm = np.flatnonzero(counts > 0)
    s = rng.choice(warm, min(5000, len(warm)), replace=False)
    V, P = model.item_factors_[s], model.embed_items(X[s])
    cos = (V * P).sum(1) / (np.linalg.norm(V, axis=1) * np.linalg.norm(P, axis=1) + 1e-12)
    out["map_quality"] = dict(cosine_mean=float(cos.mean()),
                              r2=float(1 - ((V - P) ** 2).sum() / ((V - V.mean(0)) ** 2).sum()))

    # 3. zero-shot embedding throughput ---------------------------------------------------------
    _log(f"[{n_items:,} items] embed_items")
    Xe = X_new[:100_000]
    times = []
    for _ in range(3):
        timer.take()
        t = time.perf_counter()
        model.embed_items(Xe)
        times.append(time.perf_counter() - t)
    calls = timer.take()
    with rec.stage("embed_100k") as info:
        model.embed_items(Xe)
    info.update(n=Xe.shape[0], times_s=times, median_s=float(np.median(times)),
                items_per_s=Xe.shape[0] / float(np.median(times)),
                breakdown_last_call_s=calls)

    # 5. recommend ------------------------------------------------------------------------------
    _log(f"[{n_items:,} items] recommend")
    r = out["recommend"] = {}
    active = np.flatnonzero(np.diff(ui.indptr) > 0)
    users = rng.choice(active, 200, replace=False)
    rows = [ui[u] for u in users]
    F, U = model.item_factors_, model.user_factors_
    for u in users[:3]:  # warm-up
        model.recommend(int(u), None, N=TOP_N, filter_already_liked_items=False)
        _numpy_topn(F, U[u], TOP_N)
    t_model, t_filt, t_np, agree = [], [], [], 0
    for u, row in zip(users, rows):
        t = time.perf_counter()
        ids, _ = model.recommend(int(u), None, N=TOP_N, filter_already_liked_items=False)
        t_model.append(time.perf_counter() - t)
        t = time.perf_counter()
        model.recommend(int(u), row, N=TOP_N)
        t_filt.append(time.perf_counter() - t)
        t = time.perf_counter()
        nid, _ = _numpy_topn(F, U[u], TOP_N)
        t_np.append(time.perf_counter() - t)
        agree += int(np.array_equal(ids, nid))
    r["single"] = dict(model_ms=1e3 * float(np.median(t_model)), model_filtered_ms=1e3 * float(np.median(t_filt)),
                       numpy_ms=1e3 * float(np.median(t_np)), calls=len(users),
                       ratio_model_over_numpy=float(np.median(t_model) / np.median(t_np)),
                       same_ids_as_numpy=agree / len(users),
                       model_p90_ms=1e3 * _pct(t_model, 90), numpy_p90_ms=1e3 * _pct(t_np, 90))
    # the same with single-threaded BLAS (a matvec gains little from threads; on a loaded machine
    # OpenBLAS's thread hand-off can dominate)
    t_model1, t_np1 = [], []
    with threadpool_limits(1, "blas"):
        for u in users:
            t = time.perf_counter()
            model.recommend(int(u), None, N=TOP_N, filter_already_liked_items=False)
            t_model1.append(time.perf_counter() - t)
            t = time.perf_counter()
            _numpy_topn(F, U[u], TOP_N)
            t_np1.append(time.perf_counter() - t)
    r["single"].update(model_blas1_ms=1e3 * float(np.median(t_model1)), numpy_blas1_ms=1e3 * float(np.median(t_np1)),
                       ratio_blas1=float(np.median(t_model1) / np.median(t_np1)))
    _log(f"  single: model {r['single']['model_ms']:.2f} ms, filtered {r['single']['model_filtered_ms']:.2f} ms, "
         f"numpy {r['single']['numpy_ms']:.2f} ms")

    n_batch = 1000 if not quick else 300
    bu = np.sort(rng.choice(active, n_batch, replace=False))
    bu_items = ui[bu]
    reps = 2 if n_items >= 300_000 else 3
    batch = r["batch"] = {"users": int(n_batch)}
    # threads2: topk's 2 OpenMP threads, each calling 2-thread BLAS (the default);
    # threads2_blas1: 2 OpenMP threads, single-threaded BLAS; threads1: everything on 1 thread
    for label, threads, blas in (("threads2", 0, None), ("threads2_blas1", 0, 1), ("threads1", 1, 1)):
        model.num_threads = threads
        walls, utils = [], []
        with threadpool_limits(1, "openmp") if threads == 1 else threadpool_limits(None), \
                threadpool_limits(blas, "blas"):
            for _ in range(reps):
                t, c = time.perf_counter(), _cpu_s()
                model.recommend(bu, bu_items, N=TOP_N)
                w = time.perf_counter() - t
                walls.append(w)
                utils.append((_cpu_s() - c) / w)
        i = int(np.argmin(walls))
        batch[label] = dict(time_s=walls[i], cpu_util=utils[i], all_s=walls)
    model.num_threads = 0
    batch["speedup_2_over_1"] = batch["threads1"]["time_s"] / batch["threads2"]["time_s"]
    batch["speedup_2blas1_over_1"] = batch["threads1"]["time_s"] / batch["threads2_blas1"]["time_s"]
    t = time.perf_counter()
    for start in range(0, n_batch, 100):  # numpy baseline (BLAS threads, argpartition per row)
        S = U[bu[start:start + 100]] @ F.T
        top = np.argpartition(-S, TOP_N, axis=1)[:, :TOP_N]
        np.take_along_axis(S, top, 1).argsort(axis=1)
    batch["numpy_no_filter_s"] = time.perf_counter() - t
    _log(f"  batch {n_batch}: 2 threads {batch['threads2']['time_s']:.2f} s (cpu x{batch['threads2']['cpu_util']:.2f}), "
         f"2 threads + 1-thread BLAS {batch['threads2_blas1']['time_s']:.2f} s "
         f"(cpu x{batch['threads2_blas1']['cpu_util']:.2f}), 1 thread {batch['threads1']['time_s']:.2f} s")

    # 6a. exact norm-pruned index over the base catalog -------------------------------------------
    pruned = None
    if not args.no_pruned:
        from coldstart.integrations.ann import NormPrunedIndex

        _log(f"[{n_items:,} items] NormPrunedIndex")
        pr = out["pruned"] = {}
        with rec.stage("build", into=pr):
            pruned = NormPrunedIndex().fit(F)
        single, frac, exact_ok = [], [], 0
        for u in users:
            t = time.perf_counter()
            ids, sc = pruned.recommend(U[u], N=TOP_N)
            single.append(time.perf_counter() - t)
            frac.append(pruned.scanned_fraction_)
            _, ref = model.recommend(int(u), None, N=TOP_N, filter_already_liked_items=False)
            exact_ok += int(np.allclose(sc, ref, rtol=1e-5, atol=1e-6))
        pr["single"] = dict(median_ms=1e3 * float(np.median(single)), p90_ms=1e3 * _pct(single, 90),
                            scanned_median=float(np.median(frac)), scanned_p90=_pct(frac, 90),
                            exact_rate=exact_ok / len(users),
                            speedup_vs_model=float(np.median(t_model) / np.median(single)))
        t, c = time.perf_counter(), _cpu_s()
        ids, sc = pruned.recommend(U[bu], N=TOP_N, user_items=bu_items)
        w = time.perf_counter() - t
        _, ref = model.recommend(bu, bu_items, N=TOP_N)
        finite = np.isfinite(ref)
        pr["batch"] = dict(time_s=w, cpu_util=(_cpu_s() - c) / w, scanned=pruned.scanned_fraction_,
                           users=int(n_batch), speedup_vs_model=batch["threads2"]["time_s"] / w,
                           exact_rate=float(np.mean([np.allclose(a[f], b[f], rtol=1e-5, atol=1e-6)
                                                     for a, b, f in zip(sc, ref, finite)])))
        _log(f"  single {pr['single']['median_ms']:.3f} ms (scanned {pr['single']['scanned_median']:.2%}, exact "
             f"{pr['single']['exact_rate']:.0%}); batch {n_batch} filtered {w:.2f} s (scanned {pruned.scanned_fraction_:.2%})")

    # 6b. HNSW over the base catalog ---------------------------------------------------------------
    index = None
    if args.ann_enabled and n_items <= args.ann_max_items:
        from coldstart.integrations.ann import HNSWIndex

        _log(f"[{n_items:,} items] HNSW index")
        a = out["ann"] = dict(M=args.ann_m, ef_construction=args.ann_efc)
        with rec.stage("build", into=a):
            index = HNSWIndex(M=args.ann_m, ef_construction=args.ann_efc, ef=100).fit(F)
        qu = rng.choice(active, 1000 if not quick else 300, replace=False)
        exact, _ = model.recommend(qu, None, N=TOP_N, filter_already_liked_items=False)
        a["by_ef"] = {}
        for ef in (50, 100, 200, 400):
            index.ef = ef
            t = time.perf_counter()
            got, _ = index.recommend(U[qu], N=TOP_N)
            tb = time.perf_counter() - t
            single = []
            for u in qu[:200]:
                t = time.perf_counter()
                index.recommend(U[u], N=TOP_N)
                single.append(time.perf_counter() - t)
            rec_at = float(np.mean([len(np.intersect1d(g, e)) / TOP_N for g, e in zip(got, exact)]))
            a["by_ef"][str(ef)] = dict(recall_at_10=rec_at, single_ms=1e3 * float(np.median(single)),
                                       batch_s=tb, batch_users=len(qu))
            _log(f"  ef={ef}: recall@10 {rec_at:.3f}, single {a['by_ef'][str(ef)]['single_ms']:.3f} ms")
        index.ef = 100

    # 4. add_items --------------------------------------------------------------------------------
    _log(f"[{n_items:,} items] add_items")
    ad = out["add_items"] = {}
    singles = [X_new[100_000 + i: 100_001 + i] for i in range(1000)]
    lat = []
    for x in singles:
        t = time.perf_counter()
        model.add_items(x)
        lat.append(time.perf_counter() - t)
    lat_ms = 1e3 * np.asarray(lat)
    ad["single"] = dict(n=len(lat), median_ms=float(np.median(lat_ms)), p90_ms=_pct(lat_ms, 90),
                        p99_ms=_pct(lat_ms, 99), max_ms=float(lat_ms.max()), mean_ms=float(lat_ms.mean()))
    timer.take()
    for x in singles[:200]:  # where the time goes in one single-item add
        model.add_items(x)
    calls = timer.take()
    ad["single"]["breakdown_per_call_ms"] = {k: 1e3 * v / 200 for k, v in calls.items()}
    k_times = []
    for j in range(5):
        xk = X_new[101_000 + 1000 * j: 102_000 + 1000 * j]
        t = time.perf_counter()
        model.add_items(xk)
        k_times.append(time.perf_counter() - t)
    ad["1k"] = dict(median_s=float(np.median(k_times)), all_s=k_times)
    _log(f"  add 1: median {ad['single']['median_ms']:.3f} ms (max {ad['single']['max_ms']:.1f}); "
         f"add 1k: {ad['1k']['median_s'] * 1e3:.1f} ms")

    # 6c. indexes: take the added items, check the grown catalog ------------------------------------
    if pruned is not None:
        pr = out["pruned"]
        t = time.perf_counter()
        pruned.sync(model)
        pr["sync_added_s"] = time.perf_counter() - t
        qu = rng.choice(active, 200, replace=False)
        _, ref = model.recommend(qu, None, N=TOP_N, filter_already_liked_items=False)
        _, sc = pruned.recommend(model.user_factors_[qu], N=TOP_N)
        pr["exact_rate_after_adds"] = float(np.mean([np.allclose(a, b, rtol=1e-5, atol=1e-6) for a, b in zip(sc, ref)]))
        del pruned
    if index is not None:
        a = out["ann"]
        t = time.perf_counter()
        added = index.sync(model)
        a["sync_added_s"] = time.perf_counter() - t
        a["sync_added_items"] = int(len(added))
        qu = rng.choice(active, 300, replace=False)
        exact, _ = model.recommend(qu, None, N=TOP_N, filter_already_liked_items=False)
        got, _ = index.recommend(model.user_factors_[qu], N=TOP_N)
        a["recall_at_10_after_adds"] = float(np.mean([len(np.intersect1d(g, e)) / TOP_N for g, e in zip(got, exact)]))
        # added items must be reachable: probe each with its own direction; where the exact
        # top-10 for that query contains it, the index must return it too
        V = model.item_factors_
        in_exact = found = 0
        for i in added[:: max(1, len(added) // 200)]:
            q = V[i] / (np.linalg.norm(V[i]) + 1e-12)
            if i in np.argpartition(-(V @ q), TOP_N)[:TOP_N]:
                in_exact += 1
                found += int(i in index.recommend(q, N=TOP_N)[0])
        a["added_probe_in_exact_top10"] = in_exact
        a["added_best_found_rate"] = found / in_exact if in_exact else None
        del index

    if n_items == largest and not args.no_big_add:
        n_big = args.big_add
        _log(f"[{n_items:,} items] add_items of {n_big:,} items")
        X_big = world.attributes(world.new_clusters(n_big))
        with rec.stage(f"add_{n_big}", into=ad) as info:
            model.add_items(X_big)
        info["items_per_s"] = n_big / info["time_s"]
        ad["big"] = info
        ad["big"]["n"] = n_big
        ad.pop(f"add_{n_big}", None)
        out["n_items_after_adds"] = int(model.n_items_)
    out["process_peak_rss_mb"] = rec.peak_mb
    return out


# ---------------------------------------------------------------------------------------------
# driver


def parse_size(s: str) -> int:
    s = s.strip().lower().replace("_", "")
    mult = 1
    if s.endswith("k"):
        mult, s = 1_000, s[:-1]
    elif s.endswith("m"):
        mult, s = 1_000_000, s[:-1]
    return int(float(s) * mult)


def hardware() -> dict:
    import implicit
    import scipy
    import sklearn

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram_gb = float("nan")
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    ram_gb = int(line.split()[1]) / 1024 ** 2
    except OSError:
        pass
    try:
        from importlib.metadata import version

        import hnswlib  # noqa: F401
        hv = version("hnswlib")
    except Exception:
        hv = None
    try:
        from threadpoolctl import threadpool_info
        blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)"
                for i in threadpool_info()]
    except Exception:
        blas = []
    return dict(cpu=cpu, cores=os.cpu_count(), usable_cores=len(os.sched_getaffinity(0)), ram_gb=round(ram_gb, 1),
                python=platform.python_version(), numpy=np.__version__, scipy=scipy.__version__,
                implicit=implicit.__version__, sklearn=sklearn.__version__, hnswlib=hv, threadpools=blas,
                platform=platform.platform())


def _fmt(x, digits=2):
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def _header(res: dict) -> list[str]:
    hw, runs = res["hardware"], res["runs"]
    L = [f"Command: `{res['command']}`  ",
         f"Run: {res['started']} – {res['finished']} ({res['wall_s'] / 60:.1f} min)  ",
         "Load average (1 min) at the start of each size: "
         + ", ".join(f"{r['n_items']:,}: {r.get('load_start', float('nan')):.1f}" for r in runs)
         + f" on {hw['usable_cores']} usable cores.  ",
         f"Hardware: {hw['cpu']}, {hw['usable_cores']} usable cores (of {hw['cores']}), {hw['ram_gb']} GB RAM; "
         f"Python {hw['python']}, numpy {hw['numpy']}, scipy {hw['scipy']}, implicit {hw['implicit']}, "
         f"scikit-learn {hw['sklearn']}, hnswlib {hw['hnswlib']}; " + "; ".join(hw["threadpools"]) + "  "]
    if runs:
        L.append(f"Model: `ColdStartRecommender` defaults {runs[0].get('model_params', {})}")
    return L


def render_markdown(res: dict, extras: list | None = None) -> str:
    L = ["# coldstart: speed and scale on one machine", ""]
    L.extend(_header(res))
    L.append("")
    L.extend(_tables(res, "##"))
    L.extend(_embed_speed_table(res, "##"))
    L.append("")
    L.append("## Targets")
    L.append("")
    L.extend(targets(res))
    for title, other in extras or []:
        L.append("")
        L.append(f"## {title}")
        L.append("")
        L.extend(_header(other))
        L.append("")
        L.extend(_tables(other, "###"))
        L.append("")
        L.append("### Targets on this machine")
        L.append("")
        L.extend(targets(other))
    notes = res.get("notes")
    if notes:
        L.append("")
        L.append("## Notes")
        L.append("")
        L.extend(notes if isinstance(notes, list) else [notes])
    L.append("")
    return "\n".join(L)


def _pct_or_dash(x) -> str:
    return "–" if x is None else f"{x:.0%}"


def _tables(res: dict, h: str) -> list[str]:
    runs = res["runs"]
    L = []
    L.append(f"{h} Times")
    L.append("")
    L.append("| items | users | interactions | attr nnz | fit s | collab part s | map part s | map/collab | "
             "implicit ALS 15 it. s | fit / ALS | plug-in map s (/ ALS) | "
             "embed 100k items/s | add 1 median ms | add 1k ms | rec 1 user ms | numpy 1 user ms | "
             "ratio (BLAS 1 thr) | batch 1k users s: 2 thr / 2 thr + BLAS 1 / 1 thr | batch cpu× (2 thr / 1 thr) |")
    L.append("|" + "---|" * 19)
    for r in runs:
        s, b = r["recommend"]["single"], r["recommend"]["batch"]
        L.append(
            f"| {r['n_items']:,} | {r['n_users']:,} | {r['n_interactions']:,} | {r['attr_nnz']:,} | "
            + (f"{_fmt(r['fit_total']['time_s'])} | {_fmt(r['collab_fit']['time_s'])} | {_fmt(r['map_fit']['time_s'])} | "
               f"{_pct_or_dash(r['map_fit']['overhead_vs_collab'])} | " if not r.get("serving_only") else
               f"{_fmt(r['fit_total']['time_s'])} (serving-only fit) | – | – | – | ")
            + (f"{_fmt(r['reference']['als_s'])} | {r['reference']['default_over_als']:.2f}× | "
               f"{_fmt(r['reference']['plugin_map_s'])} ({r['reference']['plugin_over_als']:.0%}) | "
               if "reference" in r else "– | – | – | ")
            + f"{r['embed_100k']['items_per_s']:,.0f} | {_fmt(r['add_items']['single']['median_ms'], 3)} | "
            f"{_fmt(1e3 * r['add_items']['1k']['median_s'])} | {_fmt(s['model_ms'])} | {_fmt(s['numpy_ms'])} | "
            f"{s['ratio_model_over_numpy']:.2f} ({s['ratio_blas1']:.2f}) | {_fmt(b['threads2']['time_s'])} / "
            f"{_fmt(b['threads2_blas1']['time_s'])} / {_fmt(b['threads1']['time_s'])} | "
            f"{b['threads2']['cpu_util']:.2f} / {b['threads1']['cpu_util']:.2f} |")
    L.append("")
    L.append(f"{h} Peak memory (RSS high-water, MiB; '+' = above the RSS at the start of the stage)")
    L.append("")
    L.append("| items | data gen | fit (ALS + map) | embed 100k | process peak |")
    L.append("|---|---|---|---|---|")
    for r in runs:
        L.append(f"| {r['n_items']:,} | {_fmt(r['generate']['peak_rss_mb'])} | "
                 f"{_fmt(r['fit_total']['peak_rss_mb'])} (+{_fmt(r['fit_total']['peak_extra_mb'])}) | "
                 f"{_fmt(r['embed_100k']['peak_rss_mb'])} (+{_fmt(r['embed_100k']['peak_extra_mb'])}) | "
                 f"{_fmt(r['process_peak_rss_mb'])} |")
    for r in runs:
        if "fit_failed" in r:
            f = r["fit_failed"]
            L.append("")
            L.append(f"**At {r['n_items']:,} items the default fit ran out of memory** (address-space limit "
                     f"{f['limit_gb']:.1f} GB, peak RSS {f['peak_rss_mb']:,.0f} MiB after {f['after_s']:.0f} s; "
                     f"{f['error']}); the serving measurements of that size use a serving-only fit.")
    for r in runs:
        if r.get("fit_split_note"):
            L.append("")
            L.append(f"At {r['n_items']:,} items: {r['fit_split_note']}.")
    for f in res.get("failed_sizes", []):
        L.append("")
        L.append(f"**{f['n_items']:,} items: the benchmark process failed** (exit status {f['returncode']}).")
    big = [r for r in runs if "big" in r["add_items"]]
    for r in big:
        g = r["add_items"]["big"]
        L.append("")
        L.append(f"add_items of {g['n']:,} items at {r['n_items']:,}: {g['time_s']:.2f} s "
                 f"({g['items_per_s']:,.0f} items/s), peak RSS {g['peak_rss_mb']:,.0f} MiB (+{g['peak_extra_mb']:,.0f}); "
                 f"single adds: median {r['add_items']['single']['median_ms']:.3f} ms, p99 "
                 f"{r['add_items']['single']['p99_ms']:.3f} ms, max {r['add_items']['single']['max_ms']:.1f} ms "
                 f"(the one call that grows the buffers), mean {r['add_items']['single']['mean_ms']:.3f} ms.")
    pruned = [r for r in runs if "pruned" in r]
    if pruned:
        L.append("")
        L.append(f"{h} Exact norm-pruned top-10 (`coldstart.integrations.ann.NormPrunedIndex`)")
        L.append("")
        L.append("| items | build s | 1 user ms (median / p90) | exact recommend 1 user ms | speed-up | items scanned "
                 "(median / p90) | exact vs model | batch 1k users s, filtered (speed-up) | batch scanned | "
                 "exact after adds |")
        L.append("|" + "---|" * 10)
        for r in pruned:
            p_ = r["pruned"]
            s1, b1 = p_["single"], p_["batch"]
            L.append(f"| {r['n_items']:,} | {_fmt(p_['build']['time_s'])} | {s1['median_ms']:.3f} / {s1['p90_ms']:.3f} | "
                     f"{r['recommend']['single']['model_ms']:.2f} | ×{s1['speedup_vs_model']:.1f} | "
                     f"{s1['scanned_median']:.2%} / {s1['scanned_p90']:.2%} | {s1['exact_rate']:.0%} | "
                     f"{_fmt(b1['time_s'])} (×{b1['speedup_vs_model']:.1f}) | {b1['scanned']:.2%} | "
                     f"{p_.get('exact_rate_after_adds', float('nan')):.0%} |")
    ann = [r for r in runs if "ann" in r]
    if ann:
        L.append("")
        L.append(f"{h} HNSW index (`coldstart.integrations.ann.HNSWIndex`, hnswlib inner-product space)")
        L.append("")
        L.append("| items | M / ef_construction | build s | build peak +MiB | ef | recall@10 | 1 user ms | "
                 "exact 1 user ms | batch users/s | recall@10 after adds | added items found |")
        L.append("|" + "---|" * 11)
        for r in ann:
            a = r["ann"]
            for ef, e in a["by_ef"].items():
                L.append(f"| {r['n_items']:,} | {a['M']} / {a['ef_construction']} | {_fmt(a['build']['time_s'])} | "
                         f"{_fmt(a['build']['peak_extra_mb'])} | {ef} | {e['recall_at_10']:.3f} | {e['single_ms']:.3f} | "
                         f"{r['recommend']['single']['model_ms']:.2f} | {e['batch_users'] / e['batch_s']:,.0f} | "
                         f"{_fmt(a.get('recall_at_10_after_adds'), 3)} | {_fmt(a.get('added_best_found_rate'), 2)} |")
    return L


def targets(res: dict) -> list[str]:
    runs = res["runs"]
    out = []
    if not runs:
        return out
    fitted = [r for r in runs if not r.get("serving_only") and r["map_fit"].get("overhead_vs_collab") is not None]
    if not fitted:
        out.append("- Map fit targets: not measured (serving-only run: 1 ALS sweep, 3 map iterations).")
    else:
        out.extend(_fit_targets(fitted, [r for r in runs if not r.get("serving_only")]))
    out.extend(_serving_targets(runs))
    out.extend(_embed_speed_targets(res))
    return out


def _embed_speed_targets(res: dict) -> list[str]:
    es = res.get("embed_speed")
    if not es:
        return []
    slow = min(w["items_per_second"] for w in es)
    return [f"- One `add_items` of {es[0]['items']:,} items ≥ 200k items/s on both `embed_speed` workloads: "
            f"**{'met' if slow >= 200_000 else 'missed'}** ("
            + ", ".join(f"{w['workload']}: {w['items_per_second']:,} items/s" for w in es) + ")."]


def _embed_speed_table(res: dict, h: str) -> list[str]:
    es = res.get("embed_speed")
    if not es:
        return []
    L = ["", f"{h} One `add_items` of many new items (`python benchmarks/embed_speed.py`)", "",
         "256 factors, a model fitted on 4,000 items / 2,000 users; words20k: 20 attributes per item from a "
         "20,000-word vocabulary (98 % seen in training), scale50k: 10-50 from 50,000 (this benchmark's kind).", "",
         "| workload | items | seconds | CPU s | items/s | load (1 min) | peak RSS GB |", "|---|---|---|---|---|---|---|"]
    for w in es:
        L.append(f"| {w['workload']} | {w['items']:,} | {w['seconds']:.2f} | {_fmt(w.get('cpu_seconds'))} | "
                 f"{w['items_per_second']:,} | {_fmt(w.get('load_average_1min'), 1)} | {w['peak_rss_gb']:.2f} |")
    return L


def _fit_targets(fitted: list, all_fits: list | None = None) -> list[str]:
    all_fits = all_fits or fitted
    out = []
    refs = [r for r in fitted if "reference" in r]
    if refs:
        worst = max(refs, key=lambda r: r["reference"]["plugin_over_als"])
        ok = worst["reference"]["plugin_over_als"] <= 0.5
        out.append(f"- Plug-in mode — the map fitted on a backend's implicit ALS (15 iterations, same factors) "
                   f"takes ≤ 50 % of that ALS fit at every size: **{'met' if ok else 'missed'}** (per size: "
                   + ", ".join(f"{r['n_items']:,}: {r['reference']['plugin_map_s']:.1f} s = "
                               f"{r['reference']['plugin_over_als']:.0%}" for r in refs) + ").")
        worst = max(refs, key=lambda r: r["reference"]["default_over_als"])
        ok = worst["reference"]["default_over_als"] <= 1.5
        out.append(f"- Default mode — the whole content-constrained fit (factors and map learned together) "
                   f"takes ≤ 1.5 × that ALS fit at every size: **{'met' if ok else 'missed'}** (per size: "
                   + ", ".join(f"{r['n_items']:,}: {r['reference']['default_over_als']:.2f}×" for r in refs)
                   + "). Inside it, time outside implicit's solver calls (the map's share): "
                   + ", ".join(f"{r['n_items']:,}: {r['map_fit']['time_s']:.1f} s of {r['fit_total']['time_s']:.1f} s"
                               for r in fitted) + ".")
    else:
        worst = max(fitted, key=lambda r: r["map_fit"]["overhead_vs_collab"])
        ok = worst["map_fit"]["overhead_vs_collab"] <= 0.5
        out.append(f"- Map fit ≤ 50 % of the collaborative fit at every size: **{'met' if ok else 'missed'}** "
                   f"(worst {worst['map_fit']['overhead_vs_collab']:.0%} at {worst['n_items']:,} items; per size: "
                   + ", ".join(f"{r['n_items']:,}: {r['map_fit']['overhead_vs_collab']:.0%}" for r in fitted) + ").")
    mem = ", ".join(f"{r['n_items']:,}: +{r['fit_total']['peak_extra_mb']:,.0f} MiB" for r in all_fits)
    dk = VOCAB * fitted[0]["model_params"].get("factors", 128) * 4 / 2 ** 20
    worst = max(all_fits, key=lambda r: r["fit_total"]["peak_extra_mb"])
    grows = worst["fit_total"]["peak_extra_mb"] > 40 * dk
    out.append(f"- Map memory O(features × factors), never features² dense: **{'gap' if grows else 'met'}** — no "
               f"features² array (a dense features² Gram would be {VOCAB ** 2 * 4 / 2 ** 30:.0f} GiB in float32, one "
               f"features × factors float32 array is {dk:.0f} MiB), "
               + ("but the fit's peak grows with the catalog (several items × factors arrays; the pair products are chunked): " if grows else "peak extra RSS of the fit: ")
               + f"{mem}.")
    return out


def _serving_targets(runs: list) -> list[str]:
    out = []
    emb = min(r["embed_100k"]["items_per_s"] for r in runs)
    out.append(f"- Zero-shot embedding ≥ 200k items/s: **{'met' if emb >= 200_000 else 'missed'}** "
               f"(slowest {emb:,.0f} items/s).")
    big = runs[-1]
    add1 = big["add_items"]["single"]["median_ms"]
    out.append(f"- One single-item `add_items` < 5 ms at {big['n_items']:,} items: **{'met' if add1 < 5 else 'missed'}** "
               f"(median {add1:.3f} ms, mean {big['add_items']['single']['mean_ms']:.3f} ms over 1,000 adds).")
    s1 = big["recommend"]["single"]
    ratio = s1["ratio_model_over_numpy"]
    out.append(f"- Exact single-user recommend at {big['n_items']:,} items no slower than numpy: "
               f"**{'met' if ratio <= 1.05 else 'missed'}** (model {s1['model_ms']:.2f} ms vs numpy "
               f"{s1['numpy_ms']:.2f} ms, ratio {ratio:.2f}; with 1-thread BLAS {s1['model_blas1_ms']:.2f} vs "
               f"{s1['numpy_blas1_ms']:.2f} ms, ratio {s1['ratio_blas1']:.2f}; already-liked filtering "
               f"{s1['model_filtered_ms']:.2f} ms).")
    b = big["recommend"]["batch"]
    ok = max(b["threads2"]["cpu_util"], b["threads2_blas1"]["cpu_util"]) >= 1.5
    out.append(f"- Batched recommend uses both cores: **{'met' if ok else 'missed'}** ({b['users']} users; CPU time / "
               f"wall {b['threads2']['cpu_util']:.2f} with 2 threads (default), "
               f"{b['threads2_blas1']['cpu_util']:.2f} with 2 threads + 1-thread BLAS, "
               f"{b['threads1']['cpu_util']:.2f} with 1; speed-up over 1 thread ×{b['speedup_2_over_1']:.2f} "
               f"(default), ×{b['speedup_2blas1_over_1']:.2f} (BLAS 1 thread)).")
    return out


def _series(runs: list) -> dict:
    def fit(r, key):
        v = None if r.get("serving_only") else r[key]["time_s"]
        return np.nan if v is None else v

    series = {
        "fit: collaborative part": [fit(r, "collab_fit") for r in runs],
        "fit: attribute-map part": [fit(r, "map_fit") for r in runs],
        "whole fit": [np.nan if r.get("serving_only") else r["fit_total"]["time_s"] for r in runs],
        "implicit ALS alone (15 it.)": [r["reference"]["als_s"] if "reference" in r else np.nan for r in runs],
        "plug-in map on that ALS": [r["reference"]["plugin_map_s"] if "reference" in r else np.nan for r in runs],
        "embed_items 100k new items": [r["embed_100k"]["median_s"] for r in runs],
        "add_items 1 item (median)": [r["add_items"]["single"]["median_ms"] / 1e3 for r in runs],
        "add_items 1k items": [r["add_items"]["1k"]["median_s"] for r in runs],
        "recommend 1 user (model)": [r["recommend"]["single"]["model_ms"] / 1e3 for r in runs],
        "recommend 1 user (numpy baseline)": [r["recommend"]["single"]["numpy_ms"] / 1e3 for r in runs],
        "recommend 1k users (2 threads)": [r["recommend"]["batch"]["threads2"]["time_s"] for r in runs],
    }
    if any("pruned" in r for r in runs):
        series["NormPrunedIndex 1 user (exact)"] = [r["pruned"]["single"]["median_ms"] / 1e3 if "pruned" in r
                                                    else np.nan for r in runs]
    if any("ann" in r for r in runs):
        series["HNSW build"] = [r["ann"]["build"]["time_s"] if "ann" in r else np.nan for r in runs]
        series["HNSW query 1 user (ef=100)"] = [r["ann"]["by_ef"]["100"]["single_ms"] / 1e3 if "ann" in r else np.nan
                                                for r in runs]
    return series


def plot(res: dict, path: Path, extras: list | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("this run", res)] + [e for e in extras or [] if len(e[1]["runs"]) > 1]
    fig, axes = plt.subplots(1, len(panels), figsize=(9 * len(panels), 6.5), sharey=True, squeeze=False)
    colors = plt.get_cmap("tab20").colors
    for ax, (title, r) in zip(axes[0], panels):
        runs = sorted(r["runs"], key=lambda x: x["n_items"])
        n = np.array([x["n_items"] for x in runs])
        for i, (label, ys) in enumerate(_series(runs).items()):
            ys = np.asarray(ys, dtype=float)
            ok = np.isfinite(ys)
            ax.loglog(n[ok], ys[ok], marker="os^vD<>ph*"[i % 10], color=colors[(2 * i) % 20 + (i >= 10)],
                      label=label, linestyle="-" if i < 9 else "--")
        hw = r["hardware"]
        loads = ", ".join(f"{x.get('load_start', float('nan')):.1f}" for x in runs)
        ax.set_title(f"{title}: {hw['cpu']}, {hw['usable_cores']} cores (load {loads})", fontsize=10)
        ax.set_xlabel("catalog size (items); users = items / 5, interactions = 10 × items")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    axes[0][0].set_ylabel("seconds")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _available_gb() -> float:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable"):
                    return int(line.split()[1]) / 2 ** 20
    except OSError:
        pass
    return 64.0


def _extras(specs: list[str]) -> list:
    out = []
    for spec in specs:
        title, _, path = spec.partition("=")
        out.append((title, json.loads(Path(path).read_text())))
    return out


def _run_embed_speed(args) -> list:
    """``benchmarks/embed_speed.py`` in its own process (its own peak RSS); its JSON rows."""
    n = args.embed_items or (100_000 if args.quick else 950_000)
    _log(f"=== embed_speed: add_items of {n:,} items (load average {os.getloadavg()[0]:.1f}) ===")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "embed_speed.json"
        subprocess.run([sys.executable, str(Path(__file__).resolve().with_name("embed_speed.py")),
                        "--items", str(n), "--out", str(out)], check=True)
        return json.loads(out.read_text())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default=None, help=f"comma-separated catalog sizes (default {DEFAULT_SIZES})")
    p.add_argument("--quick", action="store_true", help=f"small sizes ({QUICK_SIZES}) and fewer repetitions")
    p.add_argument("--ann", choices=("auto", "on", "off"), default="auto",
                   help="HNSW index benchmark (auto: when hnswlib is installed)")
    p.add_argument("--ann-max-items", type=parse_size, default=10 ** 9, help="skip the HNSW build above this size")
    p.add_argument("--ann-m", type=int, default=16)
    p.add_argument("--ann-efc", type=int, default=200, help="HNSW ef_construction")
    p.add_argument("--no-pruned", action="store_true", help="skip the exact NormPrunedIndex benchmark")
    p.add_argument("--big-add", type=parse_size, default=1_000_000, help="items added in one call at the largest size")
    p.add_argument("--no-big-add", action="store_true")
    p.add_argument("--serving-only", action="store_true",
                   help="fit with 1 ALS sweep and 3 map iterations (fit times not representative), to time "
                        "embedding/add_items/recommend/ANN quickly")
    p.add_argument("--max-memory-gb", type=float, default=None,
                   help="address-space limit of each size's process (default: RAM available when it starts "
                        "- 2 GB; 0: none); a fit "
                        "that needs more is recorded as failed and replaced by a serving-only fit")
    p.add_argument("--no-reference", action="store_true",
                   help="skip the reference fits (plain implicit ALS and the plug-in map on it)")
    p.add_argument("--embed-speed", choices=("on", "off", "only"), default="on",
                   help="run benchmarks/embed_speed.py after the sizes ('only': just it, into an existing scale.json)")
    p.add_argument("--embed-items", type=parse_size, default=None,
                   help="items per embed_speed add_items (default 950k, 100k with --quick)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    p.add_argument("--report-only", action="store_true", help="re-render scale.md/png from scale.json")
    p.add_argument("--note", action="append", default=[], help="line added to the notes of scale.md")
    p.add_argument("--extra", action="append", default=[], metavar="TITLE=JSON",
                   help="also render the results in JSON (another run of this script) under TITLE in scale.md")
    p.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--worker-out", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--largest", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--ann-enabled", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker is not None:
        if args.max_memory_gb is None:
            args.max_memory_gb = _available_gb() - 2.0
        if args.max_memory_gb > 0:  # fail with MemoryError rather than wake the OOM killer on a shared box
            import resource

            lim = int(args.max_memory_gb * 2 ** 30)
            resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
        res = run_size(args.worker, args)
        args.worker_out.write_text(json.dumps(res, indent=1, default=float))
        return 0

    args.out.mkdir(parents=True, exist_ok=True)
    json_path, md_path, png_path = args.out / "scale.json", args.out / "scale.md", args.out / "scale.png"
    if args.report_only:
        res = json.loads(json_path.read_text())
        if args.note:
            res["notes"] = res.get("notes", []) + args.note
            json_path.write_text(json.dumps(res, indent=1))
        extras = _extras(args.extra)
        md = render_markdown(res, extras)
        md_path.write_text(md)
        plot(res, png_path, extras)
        print(md)
        return 0

    def _stop(signum, frame):  # SIGTERM (e.g. `timeout`): unwind so subprocess.run kills the worker
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _stop)
    if args.embed_speed == "only":
        res = json.loads(json_path.read_text()) if json_path.exists() else dict(
            command="python benchmarks/scale.py --embed-speed only", started=time.strftime("%Y-%m-%d %H:%M:%S"),
            hardware=hardware(), runs=[], notes=list(args.note))
        res["embed_speed"] = _run_embed_speed(args)
        json_path.write_text(json.dumps(res, indent=1, default=float))
        md = render_markdown(res, _extras(args.extra))
        md_path.write_text(md)
        print(md)
        return 0
    sizes = [parse_size(s) for s in (args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)).split(",")]
    if args.ann == "off":
        ann = False
    else:
        try:
            import hnswlib  # noqa: F401
            ann = True
        except ImportError:
            if args.ann == "on":
                p.error("--ann on needs hnswlib (pip install hnswlib)")
            ann = False
    res = dict(command="python benchmarks/scale.py " + " ".join(sys.argv[1:] if argv is None else argv),
               started=time.strftime("%Y-%m-%d %H:%M:%S"), hardware=hardware(), runs=[], notes=list(args.note))
    t0 = time.perf_counter()
    for n in sizes:
        load = os.getloadavg()[0]
        _log(f"=== {n:,} items (load average {load:.1f}) ===")
        with tempfile.TemporaryDirectory() as tmp:
            wout = Path(tmp) / "out.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(n), "--worker-out", str(wout),
                   "--largest", str(max(sizes)), "--ann-enabled", str(int(ann)), "--ann-max-items",
                   str(args.ann_max_items), "--ann-m", str(args.ann_m), "--ann-efc", str(args.ann_efc),
                   "--big-add", str(args.big_add), "--seed", str(args.seed)]
            if args.quick:
                cmd.append("--quick")
            if args.no_big_add:
                cmd.append("--no-big-add")
            if args.serving_only:
                cmd.append("--serving-only")
            if args.no_pruned:
                cmd.append("--no-pruned")
            if args.no_reference:
                cmd.append("--no-reference")
            if args.max_memory_gb is not None:
                cmd += ["--max-memory-gb", str(args.max_memory_gb)]
            t = time.perf_counter()
            rc = subprocess.run(cmd).returncode
            if rc != 0 or not wout.exists():
                _log(f"*** {n:,} items: the worker failed (exit status {rc}); going on")
                res.setdefault("failed_sizes", []).append(dict(n_items=n, returncode=rc))
                continue
            run = json.loads(wout.read_text())
        run["load_start"], run["load_end"], run["wall_s"] = load, os.getloadavg()[0], time.perf_counter() - t
        res["runs"].append(run)
        res["finished"], res["wall_s"] = time.strftime("%Y-%m-%d %H:%M:%S"), time.perf_counter() - t0
        json_path.write_text(json.dumps(res, indent=1, default=float))  # partial results survive a kill
    if args.embed_speed == "on":
        res["embed_speed"] = _run_embed_speed(args)
    res["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    res["wall_s"] = time.perf_counter() - t0
    json_path.write_text(json.dumps(res, indent=1, default=float))
    extras = _extras(args.extra)
    md = render_markdown(res, extras)
    md_path.write_text(md)
    plot(res, png_path, extras)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
