"""Baselines with a collaborative model and a content path for items without interactions.

:class:`ALSRidgeRecommender`
    implicit ALS factors plus a ``sklearn.linear_model.Ridge`` from tf-idf attributes to item
    factors, used for items without training interactions (the naive design).
:class:`LightFMRecommender`
    LightFM WARP with tf-idf item features (needs the ``benchmark`` extra).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import Ridge

from coldstart.core.runtime import blas_controller
from coldstart.evaluation.baselines.base import FactorBaseline, store_params, tfidf
from coldstart.evaluation.metrics import check_int


class ALSRidgeRecommender(FactorBaseline):
    """implicit ALS factors, with a ridge map from tf-idf attributes for items without them.

    ALS (``implicit.als.AlternatingLeastSquares``, CPU) is fitted on the training
    interactions. A plain ``sklearn.linear_model.Ridge`` learns the item factors from the
    items' tf-idf attributes on the items that have training interactions; every item whose
    training column is empty gets the ridge prediction as its factors. Nothing puts the
    predicted factors on the scale of the learned ones: this is the naive design the
    protocol compares against.

    The defaults (``alpha=20``, ``regularization=0.1``, sublinear tf-idf) are the protocol's
    reference row (``EVALUATION.md``); implicit's own defaults give a much weaker ALS on these
    catalogs (``benchmarks/ABLATION.md``).

    Parameters
    ----------
    factors : int, default 128
    regularization : float, default 0.1
    alpha : float, default 20.0
        ALS confidence scale.
    iterations : int, default 15
    ridge_alpha : float, default 1.0
    sublinear_tf, smooth_idf : bool, default True, True
        tf-idf options (see :class:`~coldstart.evaluation.baselines.simple.ContentProfileRecommender`).
    random_state : int or None, default 0
    num_threads : int, default 0
        0 uses all cores (ALS and top-k).

    Attributes
    ----------
    als_ : implicit.cpu.als.AlternatingLeastSquares
    ridge_ : sklearn.linear_model.Ridge
    tfidf_ : TfidfTransformer
    user_factors_ : ndarray of shape (n_users, factors)
    item_factors_ : ndarray of shape (n_items, factors)
    predicted_items_ : ndarray of int64
        Items whose factors come from the ridge map.
    n_users_, n_items_ : int
    """

    def __init__(self, factors: int = 128, regularization: float = 0.1, alpha: float = 20.0,
                 iterations: int = 15, ridge_alpha: float = 1.0, sublinear_tf: bool = True,
                 smooth_idf: bool = True, random_state: int | None = 0, num_threads: int = 0):
        store_params(self, locals())

    def _fit(self, X, F):
        from implicit.als import AlternatingLeastSquares

        factors = check_int(self.factors, "factors")
        iterations = check_int(self.iterations, "iterations")
        self.tfidf_, Fw = tfidf(F, self.sublinear_tf, self.smooth_idf)
        als = AlternatingLeastSquares(factors=factors, regularization=self.regularization,
                                      alpha=self.alpha, iterations=iterations,
                                      random_state=self.random_state,
                                      num_threads=self.num_threads, use_gpu=False)
        with blas_controller().limit(limits=1, user_api="blas"):
            als.fit(X, show_progress=False)
        self.als_ = als
        has_data = np.diff(X.tocsc().indptr) > 0
        item_factors = np.array(als.item_factors, dtype=np.float32, copy=True)
        self.ridge_ = Ridge(alpha=self.ridge_alpha).fit(Fw[has_data], item_factors[has_data])
        self.predicted_items_ = np.flatnonzero(~has_data)
        if self.predicted_items_.size:
            item_factors[self.predicted_items_] = self.ridge_.predict(Fw[self.predicted_items_])
        self.item_factors_ = item_factors
        self.user_factors_ = np.asarray(als.user_factors, dtype=np.float32)

    def _item_vectors(self):
        return self.item_factors_

    def _user_vectors(self, users, rows):
        if rows is None:
            return self.user_factors_[users]
        return np.asarray(self.als_.recalculate_user(users, rows), dtype=np.float32)


def _import_lightfm():
    try:
        from lightfm import LightFM
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "LightFMRecommender needs the lightfm package, which is not installed. Install the "
            "benchmark extra: pip install 'coldstart[benchmark]' (it pulls rectools-lightfm, a "
            "LightFM build that installs on current Python)"
        ) from exc
    return LightFM


class LightFMRecommender(FactorBaseline):
    """LightFM with tf-idf item features (WARP by default).

    Item representations are sums of feature embeddings, so items without training
    interactions are represented through their attributes. Scores are
    ``user_embedding . item_embedding + item_bias`` (the user bias does not change a user's
    ranking). Requires ``lightfm`` (``pip install 'coldstart[benchmark]'``); the class is
    importable without it and raises ``ImportError`` at ``fit``.

    Parameters
    ----------
    no_components : int, default 64
    loss : {"warp", "bpr", "logistic", "warp-kos"}, default "warp"
    epochs : int, default 30
    learning_rate : float, default 0.05
    item_alpha, user_alpha : float, default 0.0
    max_sampled : int, default 10
    identity_features : bool, default False
        Prepend one identity feature per item, as LightFM's ``Dataset`` does by default.
        Off by default: the reference row uses the tf-idf features alone.
    sublinear_tf, smooth_idf : bool, default False, True
        scikit-learn's default tf-idf (the reference row's).
    random_state : int or None, default 0
        With it, two fits give identical embeddings: training always runs on one thread,
        because LightFM trains lock-free in parallel and with two threads two fits with the
        same seed differ.
    num_threads : int, default 0
        Threads of ``recommend``'s top-k (0: every core); not of training (see above).

    Attributes
    ----------
    model_ : lightfm.LightFM
    tfidf_ : TfidfTransformer
    item_features_ : csr_matrix of shape (n_items, n_item_features)
        The feature matrix given to LightFM.
    user_embeddings_ : ndarray of shape (n_users, no_components)
    item_embeddings_ : ndarray of shape (n_items, no_components)
    item_biases_ : ndarray of shape (n_items,)
    """

    def __init__(self, no_components: int = 64, loss: str = "warp", epochs: int = 30,
                 learning_rate: float = 0.05, item_alpha: float = 0.0, user_alpha: float = 0.0,
                 max_sampled: int = 10, identity_features: bool = False, sublinear_tf: bool = False,
                 smooth_idf: bool = True, random_state: int | None = 0, num_threads: int = 0):
        store_params(self, locals())

    def _fit(self, X, F):
        LightFM = _import_lightfm()
        if self.loss not in ("warp", "bpr", "logistic", "warp-kos"):
            raise ValueError(f"loss must be 'warp', 'bpr', 'logistic' or 'warp-kos'; received {self.loss!r}")
        epochs = check_int(self.epochs, "epochs")
        self.tfidf_, Fw = tfidf(F, self.sublinear_tf, self.smooth_idf)
        if self.identity_features:
            Fw = sp.hstack([sp.identity(self.n_items_, dtype=np.float32, format="csr"), Fw],
                           format="csr")
        self.item_features_ = Fw
        model = LightFM(no_components=check_int(self.no_components, "no_components"),
                        loss=self.loss, learning_rate=self.learning_rate,
                        item_alpha=self.item_alpha, user_alpha=self.user_alpha,
                        max_sampled=check_int(self.max_sampled, "max_sampled"),
                        random_state=self.random_state)
        interactions = X.tocoo(copy=True)  # binarised: never the caller's matrix
        interactions.data[:] = 1.0
        model.fit(interactions, item_features=Fw, epochs=epochs, num_threads=1)
        self.model_ = model
        biases, emb = model.get_item_representations(Fw)
        self.item_biases_ = np.asarray(biases, dtype=np.float32)
        self.item_embeddings_ = np.asarray(emb, dtype=np.float32)
        _, uemb = model.get_user_representations()
        self.user_embeddings_ = np.asarray(uemb, dtype=np.float32)

    def _item_vectors(self):
        return np.hstack([self.item_embeddings_, self.item_biases_[:, None]])

    def _user_vectors(self, users, rows):
        if rows is not None:
            raise NotImplementedError("LightFMRecommender does not support recalculate_user")
        u = self.user_embeddings_[users]
        return np.hstack([u, np.ones((u.shape[0], 1), dtype=np.float32)])

    def _similarity_vectors(self):
        return self.item_embeddings_
