"""Categorical and multilabel blocks (coldstart.features.categorical)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from coldstart.features.categorical import category_strings, detect_delimiter, format_scalar
from coldstart.features.featurizer import ItemFeaturizer


def test_multilabel_rows_are_binary_and_l2_normalised():
    df = pd.DataFrame({"g": ["a|b", "a", "b|c", "c"] * 5})
    feat = ItemFeaturizer(balance="none").fit(df)
    X = feat.transform(pd.DataFrame({"g": ["a| a |b", " c ", ["b", "b"], "a|zzz"]})).toarray()
    s = 1 / np.sqrt(2)
    assert np.allclose(X, [[s, s, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]])


def test_multilabel_override_on_plain_strings():
    df = pd.DataFrame({"tag": ["a", "b", "a", "c"] * 5})
    feat = ItemFeaturizer(kinds={"tag": "multilabel"}).fit(df)
    assert feat.blocks_[0].delimiter is None
    assert list(feat.get_feature_names_out()) == ["tag=a", "tag=b", "tag=c"]


def test_numbers_and_their_strings_are_one_category():
    assert format_scalar(3) == format_scalar(3.0) == format_scalar(" 3 ") == "3"
    assert format_scalar(True) == "True" and format_scalar(2.5) == "2.5"
    for col in (pd.Series([3.0, None, 2.5]), pd.Series(["3", None, "2.5"], dtype=object),
                pd.Series([3, None, 2.5], dtype=object)):
        assert category_strings(col).tolist() == ["3", "", "2.5"]
    df = pd.DataFrame({"c": [1, 2, 1, 2] * 3})
    feat = ItemFeaturizer(kinds={"c": "categorical"}).fit(df)
    X = feat.transform(pd.DataFrame({"c": ["1", 2.0, " 2 ", 3]})).toarray()
    assert X.tolist() == [[1, 0], [0, 1], [0, 1], [0, 0]]


def test_delimiter_detection_rejects_prose_and_prefers_the_most_frequent():
    labels = np.array(["rock|pop", "pop", "jazz|rock|pop", "rock", "jazz|pop"] * 10, dtype=object)
    assert detect_delimiter(labels, ["|", ";", ","]) == "|"
    prose = np.array([f"the {w} sat on a mat, and then it left the room, quietly {i}"
                      for i, w in enumerate(["cat", "dog", "owl", "fox"] * 10)], dtype=object)
    assert detect_delimiter(prose, ["|", ";", ","]) is None  # long, unique pieces
    assert detect_delimiter(prose, ["|", ";", ","], forced=True) == ","
    assert detect_delimiter(np.array(["a", "b"], dtype=object), ["|"], forced=True) is None
