"""Categorical and multilabel blocks (coldstart.features.categorical)."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
