"""Row buffers with amortised growth, so appending one item never copies the whole catalog."""

from __future__ import annotations

import numpy as np


class RowBuffer:
    """A 2-D float32 array that grows by doubling its capacity.

    ``view`` is the live ``(n, width)`` part; appending k rows costs O(k) amortised.
    """

    def __init__(self, rows: np.ndarray, dtype=np.float32):
        rows = np.asarray(rows, dtype=dtype)
        self._data = np.ascontiguousarray(rows)
        self._n = rows.shape[0]

    @property
    def view(self) -> np.ndarray:
        return self._data[: self._n]

    def __len__(self) -> int:
        return self._n

    @property
    def capacity(self) -> int:
        return self._data.shape[0]

    def append(self, rows: np.ndarray) -> np.ndarray:
        """Append rows of shape (k, width) (or (k,) for 1-D buffers); returns their indices."""
        rows = np.asarray(rows, dtype=self._data.dtype)
        k = rows.shape[0]
        need = self._n + k
        if need > self.capacity:
            cap = max(need, int(self.capacity * 1.5) + 16)
            grown = np.empty((cap,) + self._data.shape[1:], dtype=self._data.dtype)
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._data[self._n:need] = rows
        idx = np.arange(self._n, need, dtype=np.int64)
        self._n = need
        return idx
