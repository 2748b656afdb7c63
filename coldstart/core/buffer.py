"""Row buffers with amortised growth, so appending one item never copies the whole catalog."""

from __future__ import annotations

import mmap
import threading

import numpy as np

PLAIN_PAGES_BYTES = 1 << 26  # arrays from 64 MiB on: see fresh_array


def fresh_array(shape: tuple, dtype=np.float32) -> np.ndarray:
    """``np.empty(shape, dtype)``; from 64 MiB on in anonymous memory without numpy's huge-page
    hint. Where the kernel compacts memory to find huge pages on the first touch (THP defrag
    'madvise', a common default), writing a fresh GiB of numpy's memory took several times as
    long on a busy 2-core machine as in plain pages."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if nbytes < PLAIN_PAGES_BYTES or not hasattr(mmap, "MAP_ANONYMOUS"):
        return np.empty(shape, dtype)
    try:
        buf = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    except OSError as e:
        raise MemoryError(f"cannot allocate {nbytes / 2 ** 30:.2f} GiB for an array of shape {shape}") from e
    return np.frombuffer(buf, dtype=dtype).reshape(shape)


class RowBuffer:
    """A 2-D float32 array that grows its capacity by half (×1.5) when full.

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

    def reserve(self, k: int) -> None:
        """Make room for ``k`` more rows (so the next appends of up to k rows allocate nothing)."""
        need = self._n + int(k)
        if need > self.capacity:
            cap = max(need, int(self.capacity * 1.5) + 16)
            grown = fresh_array((cap,) + self._data.shape[1:], self._data.dtype)
            grown[: self._n] = self._data[: self._n]
            self._data = grown

    def tail(self, k: int) -> np.ndarray:
        """Writable rows (k, width) just past the live part (room reserved first): new rows are
        computed there in place and go live with :meth:`commit`. Valid until the next
        :meth:`reserve` or :meth:`append` (growth copies the live rows only)."""
        self.reserve(k)
        return self._data[self._n:self._n + int(k)]

    def commit(self, k: int) -> np.ndarray:
        """Make the k rows written through :meth:`tail` live; returns their indices (k,)."""
        need = self._n + int(k)
        if need > self.capacity:
            raise ValueError(f"commit of {k} rows: only {self.capacity - self._n} were reserved")
        idx = np.arange(self._n, need, dtype=np.int64)
        self._n = need
        return idx

    def append(self, rows: np.ndarray) -> np.ndarray:
        """Append rows of shape (k, width) (or (k,) for 1-D buffers); returns their indices."""
        rows = np.asarray(rows, dtype=self._data.dtype)
        k = rows.shape[0]
        need = self._n + k
        self.reserve(k)
        self._data[self._n:need] = rows
        idx = np.arange(self._n, need, dtype=np.int64)
        self._n = need
        return idx


class ReadWriteGate:
    """Many readers or one writer: what keeps a model's serving calls consistent while it changes.

    Readers (``recommend``, ``similar_items``) share the gate for the whole call; a writer
    (``add_items``, ``partial_fit_*``) computes its new rows first and holds the gate alone
    only while it publishes them, so a reader sees the state before or after a write, never
    a mix. Writers have priority (a waiting writer holds new readers back, so it cannot
    starve); a thread may re-enter as a reader while it reads (nested serving calls).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0
        self._local = threading.local()
        self.writer_lock = threading.RLock()  # serialises writers' whole calls (compute + publish)

    def acquire_read(self) -> None:
        depth = getattr(self._local, "depth", 0)
        if depth:  # re-entrant: this thread already holds a read
            self._local.depth = depth + 1
            return
        with self._cond:
            while self._writer or self._waiting_writers:
                self._cond.wait()
            self._readers += 1
        self._local.depth = 1

    def release_read(self) -> None:
        self._local.depth -= 1
        if self._local.depth:
            return
        with self._cond:
            self._readers -= 1
            if not self._readers:
                self._cond.notify_all()

    def acquire_write(self) -> None:
        with self._cond:
            self._waiting_writers += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._waiting_writers -= 1
            self._writer = True

    def release_write(self) -> None:
        with self._cond:
            self._writer = False
            self._cond.notify_all()

    def reading(self):
        return _Held(self.acquire_read, self.release_read)

    def publishing(self):
        return _Held(self.acquire_write, self.release_write)


class _Held:
    __slots__ = ("_enter", "_leave")

    def __init__(self, enter, leave):
        self._enter, self._leave = enter, leave

    def __enter__(self):
        self._enter()
        return self

    def __exit__(self, *exc):
        self._leave()
        return False
