"""Metrics at K against hand-computed answers."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from coldstart.evaluation.metrics import (
    catalog_coverage,
    hit_rate_at_k,
    hits_at_k,
    map_at_k,
    ndcg_at_k,
    new_item_mean_rank,
    new_item_share,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    top_k,
)

L2 = math.log2


def rel_matrix(rows, n_items=10):
    """CSR with row u marking the items in rows[u]."""
    r = [u for u, items in enumerate(rows) for _ in items]
    c = [i for items in rows for i in items]
    return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(rows), n_items))


# --------------------------------------------------------------------------- top_k
def test_top_k_ties_lower_index_first():
    s = np.array([[1.0, 3.0, 3.0, 2.0, 3.0]])
    ids, vals = top_k(s, 2)
    np.testing.assert_array_equal(ids, [[1, 2]])
    np.testing.assert_array_equal(vals, [[3.0, 3.0]])
    ids, _ = top_k(s, 4)
    np.testing.assert_array_equal(ids, [[1, 2, 4, 3]])


def test_top_k_matches_full_stable_sort_with_many_ties():
    rng = np.random.default_rng(3)
    s = rng.integers(0, 4, size=(50, 40)).astype(np.float32)  # heavy ties
    for k in (1, 5, 17, 40):
        ids, vals = top_k(s, k)
        ref = np.argsort(-s, axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(ids, ref)
        np.testing.assert_array_equal(vals, np.take_along_axis(s, ref, axis=1))


def test_top_k_excludes_minus_inf_and_nan_and_pads():
    s = np.array([[0.5, -np.inf, np.nan, 0.7], [-np.inf, -np.inf, -np.inf, -np.inf]])
    ids, vals = top_k(s, 3)
    np.testing.assert_array_equal(ids, [[3, 0, -1], [-1, -1, -1]])
    assert vals[0, 2] == -np.inf and np.all(vals[1] == -np.inf)
    ids, _ = top_k(s[:1], 6)  # k larger than the row
    np.testing.assert_array_equal(ids, [[3, 0, -1, -1, -1, -1]])


def test_top_k_1d_and_bad_input():
    ids, vals = top_k(np.array([2, 9, 9, 1]), 2)
    np.testing.assert_array_equal(ids, [1, 2])
    assert ids.ndim == 1
    with pytest.raises(ValueError, match="k must be a positive integer; received 0"):
        top_k(np.zeros((2, 3)), 0)
    with pytest.raises(ValueError, match="received shape"):
        top_k(np.zeros((2, 3, 4)), 1)


# --------------------------------------------------------------------------- per-user metrics
def test_hand_computed_single_user():
    rec = np.array([[1, 2, 3, -1]])
    rel = rel_matrix([[2, 5]])
    assert recall_at_k(rec, rel, 3)[0] == pytest.approx(0.5)
    assert precision_at_k(rec, rel, 3)[0] == pytest.approx(1 / 3)
    dcg = 1 / L2(3)
    assert ndcg_at_k(rec, rel, 3)[0] == pytest.approx(dcg / (1 + 1 / L2(3)))
    assert map_at_k(rec, rel, 3)[0] == pytest.approx((1 / 2) / 2)
    assert hit_rate_at_k(rec, rel, 3)[0] == 1.0


def test_more_relevant_than_k():
    rec = np.array([[0, 1, 9]])
    rel = rel_matrix([[0, 1, 2, 3, 4]])
    assert recall_at_k(rec, rel, 3)[0] == pytest.approx(2 / 5)  # |R|, not min(K, |R|)
    assert precision_at_k(rec, rel, 3)[0] == pytest.approx(2 / 3)
    ideal = 1 + 1 / L2(3) + 1 / L2(4)  # min(K, |R|) = 3 hits
    assert ndcg_at_k(rec, rel, 3)[0] == pytest.approx((1 + 1 / L2(3)) / ideal)
    assert map_at_k(rec, rel, 3)[0] == pytest.approx((1 + 1) / 3)
    perfect = np.array([[4, 3, 2]])
    assert ndcg_at_k(perfect, rel, 3)[0] == pytest.approx(1.0)
    assert map_at_k(perfect, rel, 3)[0] == pytest.approx(1.0)
    assert recall_at_k(perfect, rel, 3)[0] == pytest.approx(3 / 5)


def test_ndcg_ideal_with_few_relevant():
    rec = np.array([[0, 7, 8, 9], [7, 0, 1, 2]])
    rel = rel_matrix([[7], [7]])
    np.testing.assert_allclose(ndcg_at_k(rec, rel, 4), [1 / L2(3), 1.0])
    np.testing.assert_allclose(map_at_k(rec, rel, 4), [0.5, 1.0])


def test_padding_empty_lists_and_users_without_relevant():
    rec = np.array([[-1, -1, -1], [3, -1, -1], [1, 2, 3]])
    rel = rel_matrix([[1], [3, 4], []])
    m = ranking_metrics(rec, rel, 3)
    np.testing.assert_allclose(m["recall"][:2], [0.0, 0.5])
    np.testing.assert_allclose(m["precision"], [0.0, 1 / 3, 0.0])
    np.testing.assert_allclose(m["hit_rate"], [0.0, 1.0, 0.0])
    np.testing.assert_allclose(m["ndcg"][1], 1.0 / (1 + 1 / L2(3)))
    for name in ("recall", "ndcg", "map"):
        assert np.isnan(m[name][2]), name  # no relevant item: undefined, skipped by nanmean


def test_repeated_item_counts_once():
    rec = np.array([[2, 2, 3]])
    rel = rel_matrix([[2, 3]])
    np.testing.assert_array_equal(hits_at_k(rec, rel, 3), [[True, False, True]])
    assert recall_at_k(rec, rel, 3)[0] == pytest.approx(1.0)
    assert precision_at_k(rec, rel, 3)[0] == pytest.approx(2 / 3)


def test_only_first_k_columns_are_read_and_k_cut():
    rec = np.array([[9, 8, 2]])
    rel = rel_matrix([[2]])
    assert recall_at_k(rec, rel, 2)[0] == 0.0
    assert recall_at_k(rec, rel, 3)[0] == 1.0


def test_relevant_values_are_binary_and_explicit_zeros_ignored():
    rel = sp.csr_matrix(np.array([[0, 5.0, 0, 2.0]]))
    rel.data[1] = 0.0  # stored zero at item 3: not relevant
    rec = np.array([[3, 1]])
    np.testing.assert_array_equal(hits_at_k(rec, rel, 2), [[False, True]])
    assert recall_at_k(rec, rel, 2)[0] == 1.0


def test_vectorised_equals_loop_on_random_data():
    rng = np.random.default_rng(0)
    n_users, n_items, k = 60, 30, 7
    rel = sp.random(n_users, n_items, density=0.15, random_state=1, format="csr")
    rec = np.array([rng.permutation(n_items)[:k + 2] for _ in range(n_users)])
    rec[rng.random(rec.shape) < 0.1] = -1  # sprinkle padding
    got = ranking_metrics(rec, rel, k)
    for u in range(n_users):
        R = set(rel[u].indices.tolist())
        seen, hits = set(), []
        for i in rec[u, :k]:
            hits.append(i >= 0 and i in R and i not in seen)
            seen.add(i)
        if not R:
            assert np.isnan(got["recall"][u])
            continue
        n_hit = sum(hits)
        dcg = sum(h / L2(j + 2) for j, h in enumerate(hits))
        idcg = sum(1 / L2(j + 2) for j in range(min(k, len(R))))
        ap = sum((sum(hits[: j + 1]) / (j + 1)) * h for j, h in enumerate(hits)) / min(k, len(R))
        assert got["recall"][u] == pytest.approx(n_hit / len(R))
        assert got["precision"][u] == pytest.approx(n_hit / k)
        assert got["ndcg"][u] == pytest.approx(dcg / idcg)
        assert got["map"][u] == pytest.approx(ap)
        assert got["hit_rate"][u] == float(n_hit > 0)


def test_input_errors_name_the_argument():
    rel = rel_matrix([[1]])
    with pytest.raises(ValueError, match="recommended has 2 columns, fewer than k=3"):
        recall_at_k(np.array([[1, 2]]), rel, 3)
    with pytest.raises(ValueError, match="recommended contains -2"):
        recall_at_k(np.array([[1, -2]]), rel, 2)
    with pytest.raises(ValueError, match="outside relevant's 10 columns"):
        recall_at_k(np.array([[1, 10]]), rel, 2)
    with pytest.raises(TypeError, match="recommended must hold integer"):
        recall_at_k(np.array([[1.0, 2.0]]), rel, 2)
    with pytest.raises(TypeError, match="relevant must be a scipy sparse matrix"):
        recall_at_k(np.array([[1, 2]]), np.ones((1, 10)), 2)
    with pytest.raises(ValueError, match="2 rows but relevant has 1"):
        recall_at_k(np.array([[1], [2]]), rel, 1)
    with pytest.raises(ValueError, match="unknown names"):
        ranking_metrics(np.array([[1]]), rel, 1, metrics=["recall", "auc"])


# --------------------------------------------------------------------------- list-level
def test_catalog_coverage():
    rec = np.array([[0, 1, 7], [1, 2, -1]])
    assert catalog_coverage(rec, 2, 10) == pytest.approx(3 / 10)  # {0, 1, 2}
    assert catalog_coverage(rec, 3, 10) == pytest.approx(4 / 10)
    assert catalog_coverage(rec, 3, [0, 1, 2, 3]) == pytest.approx(3 / 4)  # 7 not a candidate
    assert np.isnan(catalog_coverage(rec, 3, 0))


def test_new_item_share_and_mean_rank():
    rec = np.array([[5, 1, 6, -1], [1, 2, 3, 4], [-1, -1, -1, -1]])
    new = [5, 6]
    share = new_item_share(rec, new, 4)
    np.testing.assert_allclose(share[:2], [2 / 3, 0.0])
    assert np.isnan(share[2])
    rank = new_item_mean_rank(rec, new, 4)
    assert rank[0] == pytest.approx(2.0)
    assert np.isnan(rank[1]) and np.isnan(rank[2])
