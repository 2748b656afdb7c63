"""Numeric blocks (coldstart.features.numeric)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.features.conftest import block


def test_skewed_column_is_log_transformed(fitted, items):
    views, year = (next(b for b in fitted.blocks_ if b.name == c) for c in ("views", "year"))
    assert views.log and not year.log
    # standardised on the log scale: log1p(views) is exactly linear in the output
    X = fitted.transform(items)
    z = block(fitted, X, "views")[:, 0] / fitted.block_scales_[fitted.block_names_.index("views")]
    lv = np.log1p(items["views"].to_numpy())
    assert np.corrcoef(z, lv)[0, 1] == pytest.approx(1.0, abs=1e-5)
    assert abs(z.mean()) < 1e-4 and z.std() == pytest.approx(1.0, rel=1e-3)
