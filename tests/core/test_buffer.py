"""coldstart.core.buffer: row buffers (append, reserve, tail/commit, plain-page arrays)."""

from __future__ import annotations

import numpy as np
import pytest

from coldstart.core import buffer
from coldstart.core.buffer import RowBuffer, fresh_array


def test_append_grows_and_keeps_rows():
    b = RowBuffer(np.arange(6, dtype=np.float32).reshape(3, 2))
    for i in range(50):
        idx = b.append(np.full((2, 2), i, np.float32))
        assert idx.tolist() == [3 + 2 * i, 4 + 2 * i]
    assert len(b) == 103 and b.view.shape == (103, 2)
    np.testing.assert_array_equal(b.view[:3], np.arange(6).reshape(3, 2))
    np.testing.assert_array_equal(b.view[-2:], np.full((2, 2), 49))


def test_tail_is_invisible_until_commit():
    b = RowBuffer(np.zeros((4, 3), np.float32))
    t = b.tail(5)
    t[:] = 7.0
    assert len(b) == 4 and b.view.shape == (4, 3)  # nothing live before the commit
    idx = b.commit(5)
    assert idx.tolist() == [4, 5, 6, 7, 8]
    np.testing.assert_array_equal(b.view[4:], np.full((5, 3), 7.0))
    with pytest.raises(ValueError, match="reserved"):
        b.commit(b.capacity)  # more than was reserved


def test_fresh_array_in_plain_pages_is_a_writable_array(monkeypatch):
    monkeypatch.setattr(buffer, "PLAIN_PAGES_BYTES", 1024)  # the mmap path for a small array
    a = fresh_array((100, 8), np.float32)
    assert a.shape == (100, 8) and a.dtype == np.float32 and a.flags.writeable and a.flags.c_contiguous
    a[:] = 3.0
    assert float(a.sum()) == 2400.0
    b = RowBuffer(np.ones((2, 8), np.float32))
    b.reserve(300)  # grows through fresh_array's mmap path
    assert b.capacity >= 302
    np.testing.assert_array_equal(b.view, np.ones((2, 8)))
