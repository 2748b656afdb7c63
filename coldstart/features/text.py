"""Text columns -> tf-idf block.

:class:`~sklearn.feature_extraction.text.TfidfVectorizer` with ``sublinear_tf=True`` and
``norm="l2"`` (overridable through ``text_params``; output always float32), so a long
description does not outweigh a short one and a repeated word counts sub-linearly.  List cells
are joined with spaces, missing values are empty documents.  A column mostly written without
spaces between words (Chinese, Japanese, Thai...) is split into character unigrams and bigrams
instead of words, unless ``text_params`` set the ``analyzer``, ``tokenizer`` or
``token_pattern``.  Features: ``col__term``.  The tokenizer is a Python loop (roughly 100-200k short documents/s), the dominant cost of
``transform``; ``ItemFeaturizer(n_jobs=...)`` splits large inputs over worker processes.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer

from coldstart.features.blocks import LISTLIKE, Block, jsonable, present_rows, sample_values, str_array

__all__ = ["TextBlock", "tfidf_params_from_json"]

_TFIDF_DEFAULTS: dict[str, Any] = {"sublinear_tf": True, "norm": "l2"}
#: Scripts written without spaces between words (CJK ideographs, kana, Thai, Lao, Myanmar,
#: Khmer): a whitespace tokenizer makes a whole title one token there.
_UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf"
                       "\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
#: their default: character unigrams and bigrams (what a word tokenizer cannot find there)
_UNSPACED_PARAMS: dict[str, Any] = {"analyzer": "char", "ngram_range": (1, 2)}
#: text_params that choose the tokens themselves: then the user's choice stands
_TOKEN_PARAMS = ("analyzer", "tokenizer", "token_pattern")


def unspaced_share(docs) -> float:
    """Share of the non-empty documents written without spaces between words: characters of such
    a script, and fewer than one space per four characters (text already split into words by
    spaces keeps its words)."""
    docs = [d for d in docs if isinstance(d, str) and d]
    hits = sum(bool(_UNSPACED.search(d)) and 4 * d.count(" ") < len(d) for d in docs)
    return hits / len(docs) if docs else 0.0


def _text_strings(s: pd.Series) -> np.ndarray:
    """Column -> object array of documents, ``""`` for missing."""
    arr = s.to_numpy(dtype=object)
    na = np.asarray(pd.isna(arr), dtype=bool)
    if pd.api.types.infer_dtype(arr, skipna=True) == "string":
        if na.any():
            arr = arr.copy()
            arr[na] = ""
        return arr
    out = np.empty(arr.size, dtype=object)
    for i, (v, m) in enumerate(zip(arr, na)):
        if isinstance(v, str):
            out[i] = v
        elif isinstance(v, LISTLIKE):
            out[i] = " ".join(map(str, v))
        else:
            out[i] = "" if m else str(v)
    return out


def tfidf_params_from_json(params: dict[str, Any]) -> dict[str, Any]:
    """TfidfVectorizer arguments read back from JSON (where tuples became lists) -> a copy
    with ``ngram_range`` a tuple again."""
    params = dict(params)
    if "ngram_range" in params:
        params["ngram_range"] = tuple(params["ngram_range"])
    return params


class TextBlock(Block):
    """One text column -> (n_items, n_terms) tf-idf rows; the vocabulary is the fit's."""

    kind = "text"

    def fit_transform(self, X, cfg):
        docs = _text_strings(X[self.columns[0]])
        given = cfg["text_params"] or {}
        # a column mostly in a script written without spaces gets character n-grams (a word
        # tokenizer would make each title one token), unless text_params choose the tokens
        unspaced = not any(p in given for p in _TOKEN_PARAMS) and unspaced_share(sample_values(docs)) >= 0.5
        self.params = {**_TFIDF_DEFAULTS, **(_UNSPACED_PARAMS if unspaced else {}), **given}
        self.vectorizer = TfidfVectorizer(**self.params, dtype=np.float32)
        try:
            Z = self.vectorizer.fit_transform(docs)
        except ValueError as exc:  # empty vocabulary, bad min_df...
            raise ValueError(f"text column {self.columns[0]!r}: {exc}") from exc
        self.n_features = len(self.vectorizer.vocabulary_)
        Z = sp.csr_matrix(Z, dtype=np.float32)
        return Z, present_rows(Z)

    def transform(self, X):
        Z = sp.csr_matrix(self.vectorizer.transform(_text_strings(X[self.columns[0]])),
                          dtype=np.float32)
        return Z, present_rows(Z)

    def feature_names(self):
        return [f"{self.name}__{t}" for t in self.vectorizer.get_feature_names_out()]

    def get_state(self):
        params = jsonable(self.params, f"text_params of column {self.name!r}")
        vocab = self.vectorizer.get_feature_names_out().tolist()
        arrays = {"vocabulary": str_array(vocab)}
        if self.vectorizer.use_idf:
            arrays["idf"] = np.asarray(self.vectorizer.idf_, dtype=np.float64)
        return self.state_meta(tfidf_params=params), arrays

    @classmethod
    def from_state(cls, meta, arrays):
        b = cls(meta["name"], list(meta["columns"]))
        params = tfidf_params_from_json(meta["tfidf_params"])
        b.params = params
        vec = TfidfVectorizer(**params, dtype=np.float32)
        vec.vocabulary_ = {w: i for i, w in enumerate(arrays["vocabulary"].tolist())}
        vec.fixed_vocabulary_ = False
        if "idf" in arrays:
            vec.idf_ = np.asarray(arrays["idf"], dtype=np.float64)
        else:  # use_idf=False: nothing learnt; fit the inner transformer on a dummy row
            vec._tfidf = TfidfTransformer(norm=vec.norm, use_idf=False,
                                          smooth_idf=vec.smooth_idf,
                                          sublinear_tf=vec.sublinear_tf)
            vec._tfidf.fit(sp.csr_matrix((1, len(vec.vocabulary_)), dtype=np.float32))
        b.vectorizer = vec
        b.n_features = int(meta["n_features"])
        return b
