"""Vector blocks (coldstart.features.vectors)."""

from __future__ import annotations

import numpy as np
import pytest


def test_unequal_vector_length_at_transform_is_an_error(fitted, items):
    new = items.head(2).copy()
    new["emb"] = [np.ones(3), np.ones(5)]
    with pytest.raises(ValueError, match="emb"):
        fitted.transform(new)
