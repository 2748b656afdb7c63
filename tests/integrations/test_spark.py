"""coldstart.integrations.spark on a local Spark session: parity with the local map, top-K, export/import, citeulike-t.

Skipped, with the reason and the fix, when pyspark (≥ 4) or pyarrow cannot be imported or no Java
runtime is found ($JAVA_HOME or java on PATH). One session-scoped ``local[2]`` session serves
every test (UI off, few shuffle partitions, no adaptive re-planning or code generation, the JVM's
quick JIT tier); the data are a few hundred rows, so the time is Spark's per-job overhead. The
whole module is marked ``slow`` (a JVM and dozens of Spark jobs: ``pytest -m "not slow"`` leaves
the integration out; the README's test command runs it).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.sparse as sp

try:
    import pyarrow  # noqa: F401
    import pyspark
except ImportError as exc:  # not installed, or broken
    pytest.skip(f"coldstart.integrations.spark needs pyspark>=4 and pyarrow (pip install 'coldstart[spark]'): {exc}",
                allow_module_level=True)
if int(pyspark.__version__.split(".")[0]) < 4:
    pytest.skip(f"coldstart.integrations.spark needs pyspark>=4; found {pyspark.__version__}", allow_module_level=True)


def _java() -> str | None:
    """The java executable Spark would start: $JAVA_HOME/bin/java, else java on PATH."""
    import shutil

    home = os.environ.get("JAVA_HOME")
    if home:
        exe = os.path.join(home, "bin", "java")
        return exe if os.access(exe, os.X_OK) else None
    return shutil.which("java")


if _java() is None:
    pytest.skip("the Spark tests start a local Spark session, which needs a Java runtime (Java 17 or 21 "
                "for pyspark 4) and none was found: install one (e.g. apt-get install "
                "openjdk-17-jre-headless, or conda install -c conda-forge openjdk=17) and put java on "
                "PATH or set JAVA_HOME to enable them", allow_module_level=True)

from coldstart import AttributeWeighting, ColdStartRecommender, RidgeMap  # noqa: E402
from coldstart.integrations.spark import (  # noqa: E402
    SparkAttributeMap,
    SparkColdStartRecommender,
    csr_to_spark,
    factors_to_spark,
    interactions_to_spark,
    recommend_for_all_users,
    spark_to_csr,
    spark_to_factors,
)
from tests.conftest import local_spark, without_interactions  # noqa: E402
from tests.core.test_recommend_contract import NAMED_CHECKS  # noqa: E402

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")]

RTOL = 1e-4  # relative (to the largest entry) difference allowed between Spark and local vectors


@pytest.fixture(scope="session")
def spark():
    session = local_spark()
    yield session
    session.stop()


def _rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


def _sorted_factors(df, col="features"):
    ids, F = spark_to_factors(df, col=col)
    order = np.argsort(ids)
    return ids[order], F[order]


def _counts(n, d, seed, density=0.08):
    X = sp.random(n, d, density=density, random_state=seed, format="csr", dtype=np.float32)
    X.data = np.ceil(X.data * 4).astype(np.float32)  # counts 1..4
    return X


# ---------------------------------------------------------------------- the map
def test_map_matches_local_on_counts(spark):
    """Weighting and map fitted on the warm items (those with factors)."""
    rng = np.random.default_rng(0)
    n, d, k = 400, 70, 6
    X = _counts(n, d, seed=1)
    Y = rng.normal(size=(n, k)).astype(np.float32)
    ids = np.arange(n) * 3 + 5  # not contiguous, not starting at 0
    warm = np.sort(rng.choice(n, 300, replace=False))
    attrs = csr_to_spark(spark, X, ids)
    factors = factors_to_spark(spark, Y[warm], ids[warm])
    m = SparkAttributeMap(num_partitions=3, block_rows=100).fit(factors, attrs)

    wl = AttributeWeighting().fit(X[warm])
    rl = RidgeMap().fit(wl.transform(X[warm]), Y[warm])
    np.testing.assert_allclose(m.weighting_.column_weight_, wl.column_weight_, rtol=1e-6)
    np.testing.assert_array_equal(m.weighting_.sublinear_, wl.sublinear_)
    assert m.n_iter_ == rl.n_iter_
    assert (m.n_features_in_, m.n_factors_, m.n_train_items_) == (d, k, len(warm))
    assert m.mapper_.get_params() == rl.get_params()
    assert _rel(m.mapper_.coef_, rl.coef_) < RTOL
    assert _rel(m.mapper_.intercept_, rl.intercept_) < RTOL
    resid = Y[warm].astype(np.float64) - rl.predict(wl.transform(X[warm]))
    np.testing.assert_allclose(m.train_msd_, np.mean(resid ** 2), rtol=1e-4)

    # zero-shot vectors of new items, through the Spark transform
    Xnew = _counts(50, d, seed=2)
    expected = rl.predict(wl.transform(Xnew))
    out = m.transform(csr_to_spark(spark, Xnew, np.arange(50) + 10_000))
    assert out.columns == ["id", "features"]
    got_ids, got = _sorted_factors(out)
    np.testing.assert_array_equal(got_ids, np.arange(50) + 10_000)
    assert _rel(got, expected) < RTOL
    assert _rel(m.embed(Xnew), expected) < RTOL


def test_map_matches_local_on_signed_dense_vectors_and_missing_items(spark):
    """Dense ML vectors with a signed column ("scale" weighting), items without attributes."""
    from pyspark.ml.linalg import DenseVector, VectorUDT
    from pyspark.sql import types as T

    rng = np.random.default_rng(3)
    n, d, k = 300, 12, 4
    X = (rng.random((n, d)) < 0.3) * rng.integers(1, 4, size=(n, d)).astype(np.float32)
    X[:, 0] = rng.normal(size=n)  # signed column
    X[:, 1] = 0.0  # empty column
    X[:20] = 0.0  # items 0..19: no attributes (10 absent from the frame, 10 null vectors)
    Y = rng.normal(size=(n, k)).astype(np.float32)
    rows = [(int(i), None if i < 20 else DenseVector(X[i].astype(np.float64))) for i in range(10, n)]
    schema = T.StructType([T.StructField("item", T.LongType()), T.StructField("vec", VectorUDT())])
    attrs = spark.createDataFrame(rows, schema)
    factors = factors_to_spark(spark, Y, col="f")
    m = SparkAttributeMap(alpha=0.3).fit(factors, attrs, factors_col="f", attributes_col="vec",
                                         attributes_id_col="item", weighting_on="catalog")
    wl = AttributeWeighting().fit(X[10:])  # the catalog's rows; the dense path = dense vectors
    rl = RidgeMap(alpha=0.3).fit(wl.transform(X), Y)
    assert not m.weighting_.sublinear_[0] and m.weighting_.sublinear_[2:].all()
    np.testing.assert_allclose(m.weighting_.column_weight_, wl.column_weight_, rtol=1e-6)
    assert m.n_iter_ == rl.n_iter_
    assert _rel(m.mapper_.coef_, rl.coef_) < RTOL
    # the transform accepts dense vectors, keeps the other columns, maps null vectors to the intercept
    out = m.transform(attrs, attributes_col="vec", output_col="z")
    assert out.columns == ["item", "z"]
    got_ids, got = _sorted_factors(out.withColumnRenamed("item", "id"), col="z")
    np.testing.assert_array_equal(got_ids, np.arange(10, n))
    assert _rel(got, rl.predict(wl.transform(X[10:]))) < RTOL


def test_map_without_weighting_with_sample_weights(spark):
    rng = np.random.default_rng(4)
    n, d, k = 250, 40, 5
    X = _counts(n, d, seed=5, density=0.15)
    Y = rng.normal(size=(n, k)).astype(np.float32)
    w = rng.integers(1, 6, size=n).astype(np.float64)
    factors = factors_to_spark(spark, Y).join(
        spark.createDataFrame([(int(i), float(w[i])) for i in range(n)], "id long, cnt double"), "id")
    template = RidgeMap(alpha=2.0, tol=1e-4, max_iter=500)
    m = SparkAttributeMap(weighting=None, mapper=template).fit(
        factors, csr_to_spark(spark, X), weight_col="cnt")
    rl = RidgeMap(alpha=2.0, tol=1e-4, max_iter=500).fit(X, Y, sample_weight=w)
    assert m.weighting_ is None
    assert m.mapper_.get_params() == template.get_params()
    assert _rel(m.mapper_.coef_, rl.coef_) < RTOL
    assert _rel(m.mapper_.intercept_, rl.intercept_) < RTOL


def test_map_with_the_unit_scheme_matches_local(spark):
    """scheme="unit" (what the local model uses after a featurizer): one factor for every column,
    the local formula, then the same map."""
    rng = np.random.default_rng(9)
    n, d, k = 200, 30, 4
    X = _counts(n, d, seed=10, density=0.2)
    X.data *= rng.normal(size=X.nnz).astype(np.float32)  # signed values, as featurized blocks have
    Y = rng.normal(size=(n, k)).astype(np.float32)
    template = AttributeWeighting(scheme="unit", norm=None)
    m = SparkAttributeMap(weighting=template).fit(factors_to_spark(spark, Y), csr_to_spark(spark, X))
    wl = AttributeWeighting(scheme="unit", norm=None).fit(X)
    rl = RidgeMap().fit(wl.transform(X), Y)
    assert m.weighting_.get_params() == template.get_params()
    np.testing.assert_allclose(m.weighting_.column_weight_, wl.column_weight_, rtol=1e-6)
    assert np.unique(m.weighting_.column_weight_).size == 1 and not m.weighting_.sublinear_.any()
    assert _rel(m.mapper_.coef_, rl.coef_) < RTOL
    assert _rel(m.embed(X[:20]), rl.predict(wl.transform(X[:20]))) < RTOL


def test_refined_map_matches_fit_map_on_interactions(spark):
    """The plug-in family on its own: ridge start + refinement on the ALS loss, against the local
    functions, with non-contiguous ids, weighted and duplicated interactions, users without
    interactions, warm items without interactions and several blocks per partition."""
    from coldstart.core.constants import PLUGIN_INIT_ITERS, PLUGIN_MAP_ITERS
    from coldstart.core.solvers import fit_map_on_interactions

    rng = np.random.default_rng(11)
    n, d, k, n_users = 300, 60, 5, 90
    X = _counts(n, d, seed=12)
    item_ids = np.arange(n) * 2 + 7
    user_ids = np.arange(n_users) * 3 + 1
    warm = np.sort(rng.choice(n, 240, replace=False))
    U = rng.normal(size=(n_users, k)).astype(np.float32)
    Y = rng.normal(size=(n, k)).astype(np.float32)
    R = sp.random(n_users, n, density=0.05, random_state=13, format="csr", dtype=np.float32)
    R.data = np.ceil(R.data * 3).astype(np.float32)  # ratings 1..3
    R = R.tolil()
    R[:, warm[:10]] = 0  # warm items without interactions
    R[:5] = 0  # users without interactions
    R = R.tocsr()
    R.eliminate_zeros()
    coo = R.tocoo()
    rows = [(int(user_ids[u]), int(item_ids[i]), float(r)) for u, i, r in zip(coo.row, coo.col, coo.data)]
    rows += [(u, i, 0.5) for u, i, _ in rows[:20]] + [(u, i, -0.5) for u, i, _ in rows[:20]]  # summed away
    inter = spark.createDataFrame(rows, "uid int, iid int, w double")
    scale = 2.5
    m = SparkAttributeMap(num_partitions=3, block_rows=40).fit(
        factors_to_spark(spark, Y[warm], item_ids[warm]), csr_to_spark(spark, X, item_ids),
        interactions=inter, user_factors=factors_to_spark(spark, U, user_ids), confidence_scale=scale,
        user_col="uid", item_col="iid", rating_col="w")

    wl = AttributeWeighting().fit(X[warm])
    Xw = wl.transform(X[warm])
    W0 = RidgeMap(alpha=1.0, fit_intercept=False, max_iter=PLUGIN_INIT_ITERS, tol=0.0).fit(Xw, Y[warm]).coef_
    W = fit_map_on_interactions(Xw, (scale * R).astype(np.float32).T.tocsr()[warm], U, 3.0, W0,
                                iters=PLUGIN_MAP_ITERS)
    assert m.refined_ and m.n_iter_ == PLUGIN_INIT_ITERS + PLUGIN_MAP_ITERS
    assert (m.n_train_items_, m.n_train_pairs_) == (len(warm), R[:, warm].nnz)
    assert m.mapper_.get_params() == RidgeMap(alpha=3.0, fit_intercept=False).get_params()
    np.testing.assert_array_equal(m.mapper_.intercept_, np.zeros(k, np.float32))
    rel = _rel(m.mapper_.coef_, W)
    print(f"refined map: max |Δ coef| / max = {rel:.1e}")
    assert rel < RTOL
    resid = Y[warm].astype(np.float64) - Xw @ W
    np.testing.assert_allclose(m.train_msd_, np.mean(resid ** 2), rtol=1e-4)


def test_refined_map_refuses_bad_input(spark):
    X = sp.identity(3, format="csr", dtype=np.float32)
    attrs, V = csr_to_spark(spark, X), factors_to_spark(spark, np.ones((3, 2)))
    users = factors_to_spark(spark, np.ones((2, 2)))
    inter = spark.createDataFrame([(0, 0), (1, 1), (5, 2)], "user int, item int")
    with pytest.raises(ValueError, match="no row in user_factors"):
        SparkAttributeMap().fit(V, attrs, interactions=inter, user_factors=users)
    with pytest.raises(ValueError, match="user_factors is required"):
        SparkAttributeMap().fit(V, attrs, interactions=inter)
    with pytest.raises(ValueError, match="ridge family"):
        SparkAttributeMap(mapper=RidgeMap()).fit(V, attrs, interactions=inter, user_factors=users)
    with pytest.raises(ValueError, match="lacks columns"):
        SparkAttributeMap().fit(V, attrs, interactions=inter, user_factors=users, rating_col="w")
    with pytest.raises(ValueError, match="confidence_scale"):
        SparkAttributeMap().fit(V, attrs, interactions=inter, user_factors=users, confidence_scale=0)
    with pytest.raises(ValueError, match="prior_weight='auto'"):
        SparkColdStartRecommender().fit_factors(users, V, attrs)
    with pytest.raises(ValueError, match="no row in user_factors"):  # the prior weight's pass checks too
        SparkColdStartRecommender(mapper=RidgeMap()).fit_factors(users, V, attrs, interactions=inter)


def test_map_refuses_bad_input(spark):
    Y = np.ones((3, 2), np.float32)
    Y[1, 0] = np.nan
    attrs = csr_to_spark(spark, sp.identity(3, format="csr", dtype=np.float32))
    with pytest.raises(ValueError, match="NaN"):
        SparkAttributeMap().fit(factors_to_spark(spark, Y), attrs)
    with pytest.raises(ValueError, match="lacks columns"):
        SparkAttributeMap().fit(factors_to_spark(spark, np.ones((3, 2))), attrs, attributes_col="nope")
    with pytest.raises(TypeError, match="RidgeMap only"):
        SparkAttributeMap(mapper=object()).fit(factors_to_spark(spark, np.ones((3, 2))), attrs)


def test_csr_round_trip(spark):
    X = _counts(30, 9, seed=6, density=0.3)
    ids, back = spark_to_csr(csr_to_spark(spark, X), n_features=9)
    order = np.argsort(ids)
    np.testing.assert_array_equal(back[order].toarray(), X.toarray())


# ---------------------------------------------------------------------- top-K
def test_top_k_matches_numpy_with_exclusions(spark):
    rng = np.random.default_rng(7)
    U = rng.normal(size=(40, 5)).astype(np.float32)
    V = rng.normal(size=(230, 5)).astype(np.float32)
    item_ids = np.arange(230) * 2 + 1
    pairs = [(u, int(item_ids[j])) for u in range(0, 40, 3) for j in rng.choice(230, 15, replace=False)]
    exclude = spark.createDataFrame(pairs, "user long, item long")
    K = 7
    rec = recommend_for_all_users(factors_to_spark(spark, U), factors_to_spark(spark, V, item_ids), K,
                                  exclude=exclude, block_size=64)  # 1 user block x 4 item blocks
    rows = {r["user"]: r["recommendations"] for r in rec.collect()}
    assert sorted(rows) == list(range(40))
    S = U @ V.T
    for u, i in pairs:
        S[u, np.searchsorted(item_ids, i)] = -np.inf
    for u in range(40):
        order = np.argsort(-S[u], kind="stable")[:K]
        got_items = np.array([x["item"] for x in rows[u]])
        got_scores = np.array([x["score"] for x in rows[u]])
        np.testing.assert_allclose(got_scores, S[u, order], rtol=1e-5, atol=1e-5)
        gaps = np.diff(S[u, np.argsort(-S[u])[:K + 1]])
        if np.all(np.abs(gaps) > 1e-5):  # no near-ties: the ids are determined
            np.testing.assert_array_equal(got_items, item_ids[order])
        assert not set(got_items) & {i for uu, i in pairs if uu == u}


# ---------------------------------------------------------------------- export / import
def test_from_local_to_local_round_trip(spark, clustered, tmp_path):
    ui, X, _, _ = clustered
    cold = np.arange(0, X.shape[0], 10)
    train = without_interactions(ui, cold)
    local = ColdStartRecommender(factors=8, iterations=5, random_state=0).fit(train, X)
    sm = SparkColdStartRecommender.from_local(local, spark, csr_to_spark(spark, X))
    back = sm.to_local()
    for name in ("user_factors_", "item_factors_", "is_zero_shot_"):
        np.testing.assert_array_equal(getattr(back, name), getattr(local, name))
    np.testing.assert_array_equal(back._prior.view, local._prior.view)
    assert (back._reg(), back._alpha()) == (local._reg(), local._alpha())
    np.testing.assert_array_equal(back.mapper_.coef_, local.mapper_.coef_)
    np.testing.assert_array_equal(back.weighting_.column_weight_, local.weighting_.column_weight_)
    np.testing.assert_allclose(back.embed_items(X[:5]), local.embed_items(X[:5]), rtol=1e-6)
    ids_a, sc_a = local.recommend(np.arange(5), train[:5], N=10)
    ids_b, sc_b = back.recommend(np.arange(5), train[:5], N=10)
    np.testing.assert_array_equal(ids_a, ids_b)
    back.save(tmp_path / "m.npz")  # the export is a regular, savable model
    np.testing.assert_array_equal(ColdStartRecommender.load(tmp_path / "m.npz").item_factors_,
                                  local.item_factors_)

    # Spark side: item vectors = local item factors, zero-shot flags included
    vec = {r["id"]: (np.array(r["features"], np.float32), r["zero_shot"]) for r in sm.item_vectors().collect()}
    assert sorted(vec) == list(range(X.shape[0]))
    np.testing.assert_array_equal(np.stack([vec[i][0] for i in range(X.shape[0])]), local.item_factors_)
    np.testing.assert_array_equal([vec[i][1] for i in range(X.shape[0])], local.is_zero_shot_)
    # zero-shot factors computed in Spark from the catalog = the local priors
    _, emb = _sorted_factors(sm.embed_items(sm.item_attributes_))
    assert _rel(emb, local._prior.view) < 1e-5
    # top-K over warm + zero-shot items, training interactions excluded = local recommend
    exclude = interactions_to_spark(spark, train[:5], rating_col=None)
    rec = sm.recommend_for_all_users(10, exclude=exclude).where("user < 5").orderBy("user").collect()
    np.testing.assert_allclose([[x["score"] for x in r["recommendations"]] for r in rec], sc_a, rtol=1e-5)


@pytest.mark.parametrize("family", ["plug-in", "ridge"])
def test_plug_in_mode_matches_local(spark, clustered, family):
    """fit_factors on given factors (and their interactions) = ColdStartRecommender(
    collaborative=<fitted>).fit, exported: the plug-in map (ridge start refined on the ALS loss)
    by default, the plain ridge map with ``mapper=RidgeMap()``."""
    ui, X, _, _ = clustered
    n_users, n_items = ui.shape
    train = ui.tolil()
    train[:, np.arange(0, n_items, 10)] = 0
    train = train.tocsr()
    train.eliminate_zeros()
    rng = np.random.default_rng(8)
    U = rng.normal(size=(n_users, 6)).astype(np.float32)
    V = rng.normal(size=(n_items, 6)).astype(np.float32)

    class Fitted:  # any implicit-style fitted model
        user_factors, item_factors, regularization, alpha = U, V, 0.05, 3.0

    mapper = RidgeMap() if family == "ridge" else None
    local = ColdStartRecommender(collaborative=Fitted(), mapper=mapper, random_state=0).fit(train, X)
    warm = np.flatnonzero(np.bincount(train.indices, minlength=n_items) > 0)
    sm = SparkColdStartRecommender(mapper=mapper, fold_in_regularization=0.05, fold_in_alpha=3.0).fit_factors(
        factors_to_spark(spark, U), factors_to_spark(spark, V[warm], warm), csr_to_spark(spark, X),
        interactions=interactions_to_spark(spark, train))  # with a mapper: not used, as locally
    assert sm.map_.refined_ == (family == "plug-in")
    exported = sm.to_local(n_users=n_users, n_items=n_items)

    a, b = exported.get_state(), local.get_state()
    assert a["meta"].keys() == b["meta"].keys()
    for key in ("n_users", "n_items", "n_features_in", "content_constrained"):
        assert a["meta"][key] == b["meta"][key], key
    np.testing.assert_allclose(a["meta"]["prior_weight"], b["meta"]["prior_weight"], rtol=1e-4)
    np.testing.assert_allclose(a["meta"]["content_norm"], b["meta"]["content_norm"], rtol=1e-4)
    assert {k_: v for k_, v in a["collaborative_meta"].items() if k_ != "class"} == \
        {k_: v for k_, v in b["collaborative_meta"].items() if k_ != "class"}
    assert a["arrays"].keys() == b["arrays"].keys()
    np.testing.assert_array_equal(a["arrays"]["user_factors"], b["arrays"]["user_factors"])
    np.testing.assert_array_equal(a["arrays"]["is_zero_shot"], b["arrays"]["is_zero_shot"])
    for key in ("item_factors", "item_prior"):
        assert _rel(a["arrays"][key], b["arrays"][key]) < RTOL, key
    for key in ("zero_shot_norm_power", "prior_weight"):
        assert exported.get_params()[key] == local.get_params()[key], key
    for key in ("map_alpha_", "zero_shot_scale_"):  # the settings in use (plug-in: fixed)
        assert getattr(exported, key) == getattr(local, key), key
    np.testing.assert_allclose(exported.weighting_.column_weight_, local.weighting_.column_weight_, rtol=1e-6)
    assert exported.mapper_.get_params() == local.mapper_.get_params()
    np.testing.assert_array_equal(exported.mapper_.intercept_ == 0, local.mapper_.intercept_ == 0)
    rel = _rel(exported.mapper_.coef_, local.mapper_.coef_)
    # zero-shot vectors computed in Spark = the local model's embed_items (scaled map output)
    _, emb = _sorted_factors(sm.embed_items(csr_to_spark(spark, X)))
    rel_emb = _rel(emb, local.embed_items(X))
    print(f"{family}: max |Δ coef| / max = {rel:.1e}, max |Δ zero-shot| / max = {rel_emb:.1e}")
    assert rel < RTOL and rel_emb < RTOL


# ---------------------------------------------------------------------- content-constrained fit
def _cold_split(ui):
    train = ui.tolil()
    train[:, np.arange(0, ui.shape[1], 10)] = 0
    train = train.tocsr()
    train.eliminate_zeros()
    return train


def test_content_constrained_matches_local_half_steps(spark, clustered):
    """The default fit (content-constrained ALS on Spark), exported: the users are the exact
    implicit-ALS half-step against the warm items' X W (``fold_in``), the warm items implicit's
    own CG solver (3 steps) started from X W against those users, the cold items
    ``zero_shot_scale`` × x W; alpha "auto", regularization and prior weight as the local model."""
    from implicit.cpu._als import least_squares_cg

    from coldstart.core.solvers import fold_in

    ui, X, _, _ = clustered
    n_users, n_items = ui.shape
    train = _cold_split(ui)
    sm = SparkColdStartRecommender(factors=6, iterations=2, random_state=0).fit(
        interactions_to_spark(spark, train, rating_col=None), csr_to_spark(spark, X))
    # Spark fits the content-constrained model with the fixed settings (it does not self-tune)
    local = ColdStartRecommender(factors=6, iterations=2, random_state=0, free_sweeps=0, map_alpha=3.0,
                                 zero_shot_scale=2.0).fit(train, X)
    warm = np.bincount(train.indices, minlength=n_items) > 0
    assert sm.als_model_ is None and sm.map_.refined_
    assert sm.map_.n_train_items_ == warm.sum() and sm.map_.n_train_pairs_ == train.nnz
    ex = sm.to_local(n_users=n_users, n_items=n_items)
    assert ex.content_constrained_ and ex.get_state()["meta"]["content_constrained"]
    assert (ex._reg(), ex._alpha()) == (local._reg(), local._alpha())
    for key in ("map_alpha", "zero_shot_scale", "prior_weight", "factors", "iterations"):
        assert ex.get_params()[key] == local.get_params()[key], key
    np.testing.assert_allclose(ex.weighting_.column_weight_, local.weighting_.column_weight_, rtol=1e-6)
    assert ex.mapper_.get_params() == local.mapper_.get_params()
    M = np.zeros((n_items, 6), np.float32)
    M[warm] = ex.mapper_.predict(ex.weighting_.transform(X[warm]))
    users = fold_in(M, train, ex._reg(), ex._alpha())
    has = np.diff(train.indptr) > 0
    assert _rel(ex.user_factors_[has], users[has]) < RTOL
    assert not ex.user_factors_[~has].any()
    items = M.copy()
    least_squares_cg((ex._alpha() * train).astype(np.float32).T.tocsr(), items, ex.user_factors_, ex._reg(),
                     num_threads=1, cg_steps=3)
    assert _rel(ex.item_factors_[warm], items[warm]) < RTOL
    np.testing.assert_array_equal(ex.is_zero_shot_, ~warm)
    # cold items: 2 x the map's prediction, its length calibrated against the same reference
    rms = np.sqrt(np.mean(np.sum(M[warm].astype(np.float64) ** 2, axis=1)))
    assert abs(ex.content_norm_ - rms) / rms < 1e-5
    assert abs(ex.content_norm_ - local.content_norm_) / local.content_norm_ < 0.05  # same recipe
    pred = ex.mapper_.predict(ex.weighting_.transform(X[~warm]))
    assert _rel(ex.item_factors_[~warm], 2.0 * ex._calibrate(pred.copy())) < 1e-6
    assert not np.allclose(ex._calibrate(pred.copy()), pred)  # the calibration does something here
    conf = ex._alpha() * train.data.astype(np.float64)  # prior_weight="auto", the local formula
    sq = np.einsum("ij,ij->i", ex.user_factors_, ex.user_factors_)[np.repeat(np.arange(n_users),
                                                                             np.diff(train.indptr))]
    pw = 10.0 * np.mean(np.maximum(conf - 1.0, 1.0) * sq) / 6
    np.testing.assert_allclose(ex.prior_weight_, pw, rtol=1e-4)


def test_auto_alpha_counts_the_positive_pairs_as_local(spark, clustered):
    """alpha "auto" on Spark counts the pairs, users and items with a positive rating, as the
    local model (stored zeros are no interaction): zero-rating rows leave it where it was."""
    ui, X, _, _ = clustered
    train = _cold_split(ui).tocoo()
    rng = np.random.default_rng(0)
    extra = np.setdiff1d(rng.integers(0, ui.shape[0] * ui.shape[1], 300), train.row * ui.shape[1] + train.col)
    z = sp.csr_matrix((np.r_[train.data, np.zeros(extra.size, np.float32)],
                       (np.r_[train.row, extra // ui.shape[1]], np.r_[train.col, extra % ui.shape[1]])), shape=ui.shape)
    assert z.nnz > train.nnz  # the zeros are stored
    sm = SparkColdStartRecommender(factors=4, iterations=1, random_state=0).fit(
        interactions_to_spark(spark, z, rating_col="rating"), csr_to_spark(spark, X), rating_col="rating")
    local = ColdStartRecommender(factors=4, iterations=1, random_state=0, free_sweeps=0, map_alpha=3.0,
                                 zero_shot_scale=2.0).fit(z, X)
    assert sm.to_local(n_users=ui.shape[0], n_items=ui.shape[1])._alpha() == pytest.approx(local._alpha())


def test_spark_als_method_and_bad_input(spark, clustered):
    ui, X, _, _ = clustered
    train = _cold_split(ui)
    inter, attrs = interactions_to_spark(spark, train, rating_col=None), csr_to_spark(spark, X)
    with pytest.raises(ValueError, match="method"):
        SparkColdStartRecommender(method="als").fit(inter, attrs)
    with pytest.raises(ValueError, match="mapper"):
        SparkColdStartRecommender(mapper=RidgeMap()).fit(inter, attrs)
    with pytest.raises(ValueError, match="item_cg_steps"):
        SparkColdStartRecommender(item_cg_steps=0).fit(inter, attrs)
    with pytest.raises(ValueError, match="rating"):
        bad = interactions_to_spark(spark, -train)
        SparkColdStartRecommender(factors=4, iterations=1).fit(bad, attrs, rating_col="rating")
    # Spark's ALS + the plug-in map, with Spark ALS's defaults and confidence 1 + alpha
    sm = SparkColdStartRecommender(method="spark-als", factors=4, iterations=2, random_state=0).fit(inter, attrs)
    assert sm.als_model_ is not None and sm.map_.refined_ and sm._fold_in_alpha() == 41.0
    ex = sm.to_local(n_users=ui.shape[0], n_items=ui.shape[1])
    assert not ex.content_constrained_ and ex._reg() == 0.01


# ---------------------------------------------------------------------- end to end
@pytest.mark.slow
def test_end_to_end_citeulike(spark, citeulike_split):
    import time

    from coldstart.evaluation.protocol import evaluate

    t0 = time.perf_counter()
    ds, split = citeulike_split
    inter = interactions_to_spark(spark, split.train, rating_col=None)
    attrs = csr_to_spark(spark, ds.item_features)
    # the default fit (content-constrained ALS) with 64 factors to fit two cores; local the same
    model = SparkColdStartRecommender(factors=64, random_state=0).fit(inter, attrs)
    trained = np.flatnonzero(np.bincount(split.train.indices, minlength=split.n_items) > 0)
    assert model.map_.refined_ and model.map_.n_train_pairs_ == split.train.nnz
    assert model.map_.n_train_items_ == len(trained)
    assert model.map_.n_features_in_ == ds.item_features.shape[1]
    local_export = model.to_local(n_users=split.n_users)
    assert local_export.n_items_ == split.n_items and local_export.n_users_ == split.n_users
    assert local_export.content_constrained_
    np.testing.assert_array_equal(np.flatnonzero(~local_export.is_zero_shot_), trained)
    spark_recall = evaluate(local_export, split, settings=("cold",), K=20).loc["cold", "recall@20"]
    t1 = time.perf_counter()

    # the local fit Spark reproduces: the fixed settings (Spark does not self-tune)
    reference = ColdStartRecommender(factors=64, random_state=0, free_sweeps=0, map_alpha=3,
                                     zero_shot_scale=2).fit(split.train, ds.item_features)
    local_recall = evaluate(reference, split, settings=("cold",), K=20).loc["cold", "recall@20"]
    t2 = time.perf_counter()
    print(f"cold recall@20 (64 factors): spark {spark_recall:.4f} ({t1 - t0:.0f} s), local fixed settings "
          f"{local_recall:.4f} ({t2 - t1:.0f} s)")
    # Measured on two cores (64 factors): Spark 0.401, the local fixed-settings fit 0.402 (the
    # self-tuned default 0.393); at 256 factors 0.432 and 0.430 (benchmarks/spark_fit.py).
    # Margins of 0.02.
    assert spark_recall >= 0.38
    assert spark_recall >= local_recall - 0.02

    # Spark top-20 among the cold test items for some users = the exported model's recommend
    users = np.flatnonzero(np.diff(split.cold_test.indptr) > 0)[:100]
    cold = split.cold_test_items
    from pyspark.sql import functions as F

    items = model.item_vectors().where(F.col("id").isin([int(i) for i in cold]))
    rec = recommend_for_all_users(model.user_factors_.where(F.col("id").isin([int(u) for u in users])),
                                  items, 20)
    got = {r["user"]: [x["item"] for x in r["recommendations"]] for r in rec.collect()}
    ids, _ = local_export.recommend(users, sp.csr_matrix((len(users), split.n_items), dtype=np.float32),
                                    N=20, items=cold, filter_already_liked_items=False)
    agree = np.mean([len(set(got[int(u)]) & set(ids[j].tolist())) / 20 for j, u in enumerate(users)])
    assert agree > 0.97  # equal up to float32 near-ties
    print(f"top-K check {time.perf_counter() - t2:.0f} s")


@pytest.fixture(scope="module")
def contract_fits(spark):
    """The recommend contract's data and fits (tests/core/test_recommend_contract.py), here so
    that the Spark export is fitted on this file's Spark session."""
    from tests.core import test_recommend_contract as contract

    data = contract.taste_data()
    return contract, data, contract.Fitted(data)


@pytest.mark.parametrize("check", NAMED_CHECKS)
def test_spark_export_follows_the_recommend_contract(check, contract_fits):
    """Every named check of the recommend contract, on the Spark model's local export."""
    import inspect

    contract, data, fitted = contract_fits
    fn = getattr(contract, check)
    args = {"name": "spark-export", "data": data, "fitted": fitted}
    fn(**{p: args[p] for p in inspect.signature(fn).parameters})
