"""The thread-safety promise (README, design): recommend / similar_items from many threads while
add_items / partial_fit_items / partial_fit_users run; a reader sees the catalog before or
after a write, never a mix, and never raises because of it."""

from __future__ import annotations

import copy
import pickle
import threading
import time

import numpy as np
import scipy.sparse as sp

from coldstart import ColdStartRecommender
from tests.conftest import make_clustered


def run_stress(model, X, ui, seconds: float = 2.0, readers: int = 4, seed: int = 0):
    """Readers against one writer for ``seconds``; returns (calls, errors, bad results)."""
    stop = threading.Event()
    calls, errors, bad = [0] * readers, [], []
    n_users = ui.shape[0]

    def reader(j):
        rng = np.random.default_rng(seed + j)
        while not stop.is_set():
            try:
                if rng.random() < 0.5:
                    users = rng.integers(n_users, size=3)
                    ids, scores = model.recommend(users, ui[users], N=10)
                else:
                    n_seen = model.n_items_
                    q = rng.integers(n_seen, size=2)
                    ids, scores = model.similar_items(q, N=10, items=rng.integers(n_seen, size=50)
                                                      if rng.random() < 0.3 else None)
                n_now = model.n_items_
                for row_ids, row_scores in zip(ids, scores):
                    keep = row_ids >= 0
                    if (row_ids[keep] >= n_now).any() or len(set(row_ids[keep])) != keep.sum() \
                            or np.any(np.diff(row_scores[keep]) > 1e-5 * (1 + np.abs(row_scores[keep][:-1]))):
                        bad.append((row_ids, row_scores))
                calls[j] += 1
            except Exception as exc:  # noqa: BLE001 - any exception is a broken promise
                errors.append(repr(exc))

    def writer():
        rng = np.random.default_rng(seed + 100)
        while not stop.is_set():
            try:
                r = rng.random()
                if r < 0.5:
                    model.add_items(X[rng.integers(X.shape[0], size=int(rng.integers(1, 20)))])
                elif r < 0.8:
                    items = np.unique(rng.integers(ui.shape[1], size=5))
                    model.partial_fit_items(items, ui.T.tocsr()[items])
                else:
                    users = np.unique(rng.integers(n_users, size=5))
                    pad = sp.csr_matrix((len(users), model.n_items_ - ui.shape[1]), dtype=np.float32)
                    model.partial_fit_users(users, sp.hstack([ui[users], pad]).tocsr())
            except Exception as exc:  # noqa: BLE001
                errors.append("writer: " + repr(exc))

    threads = [threading.Thread(target=reader, args=(j,)) for j in range(readers)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(30)
    return sum(calls), errors, bad


def test_readers_against_a_writer_never_fail():
    ui, X, _, _ = make_clustered(n_users=80, n_items=150, seed=2)
    model = ColdStartRecommender(factors=16, iterations=2, random_state=0, num_threads=1).fit(ui, X)
    n0 = model.n_items_
    calls, errors, bad = run_stress(model, X, ui, seconds=2.0)
    assert calls > 50
    assert errors == []
    assert bad == []
    assert model.n_items_ > n0
    # the state after the writes is one consistent catalog
    assert model.item_factors_.shape[0] == len(model.is_zero_shot_) == model.n_items_


def test_a_reader_waits_for_a_publish_and_sees_all_of_it():
    ui, X, _, _ = make_clustered(n_users=40, n_items=60, seed=4)
    model = ColdStartRecommender(factors=8, iterations=2, random_state=0).fit(ui, X)
    gate = model._gate()
    seen = []
    with gate.publishing():  # a writer in the middle of publishing
        t = threading.Thread(target=lambda: seen.append(model.similar_items(0, N=3)))
        t.start()
        time.sleep(0.2)
        assert seen == []  # the reader waits
    t.join(5)
    assert len(seen) == 1


def test_models_still_copy_and_pickle():
    ui, X, _, _ = make_clustered(n_users=40, n_items=60, seed=4)
    model = ColdStartRecommender(factors=8, iterations=2, random_state=0).fit(ui, X)
    model.similar_items(0)  # the gate exists now
    for other in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        np.testing.assert_array_equal(other.item_factors_, model.item_factors_)
        other.add_items(X[:2])
        assert other.n_items_ == model.n_items_ + 2
        assert other._gate() is not model._gate()


def test_a_refit_publishes_after_a_running_partial_fit_never_before():
    """fit waits for the writers already running: a partial fit computed on the old model cannot
    publish its rows into the refitted one (the refit's state is what stays)."""
    ui, X, _, _ = make_clustered()
    kw = dict(factors=4, iterations=2, map_alpha=3.0, zero_shot_scale=2.0, free_sweeps=0, random_state=0)
    m = ColdStartRecommender(**kw).fit(ui, X)
    computed, go = threading.Event(), threading.Event()
    real = type(m)._item_step

    def paused(self, *a, **k):  # the writer pauses between its compute and its publish
        step = real(self, *a, **k)
        computed.set()
        go.wait(5)
        return step

    m._item_step = paused.__get__(m)
    writer = threading.Thread(target=lambda: m.partial_fit_items([5], sp.csr_matrix((1, ui.shape[0]), dtype=np.float32)))
    writer.start()
    assert computed.wait(10)
    ui2 = ui.tolil()
    ui2[:40, 5] = 1.0
    ui2 = ui2.tocsr()
    refit = threading.Thread(target=lambda: m.fit(ui2, X))
    refit.start()
    time.sleep(0.5)
    go.set()
    writer.join(10)
    refit.join(60)
    expected = ColdStartRecommender(**kw).fit(ui2, X)
    np.testing.assert_array_equal(m.item_factors_, expected.item_factors_)
    assert not m.is_zero_shot_[5]
