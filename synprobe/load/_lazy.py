"""Lazy images for :mod:`synprobe.load`: :class:`LazyRows`, rows of ``x`` read from a memory map.

``load(..., lazy=True)`` keeps no pixels in memory: a :class:`LazyRows` knows the file, the byte
offsets of the uncompressed ``x`` (:class:`~synprobe.load._images.XReader` finds them) and which
rows of the file it holds, and maps the file on first use in each process. Pickled (DataLoader
workers under ``spawn``/``forkserver``) it is those numbers only, never pixels nor the map.
"""

from __future__ import annotations

import numpy as np

from synprobe.load._images import XReader
from synprobe.load._table import LoadError


class LazyRows:
    """An array-like of images ``(n, H, W, C)``: rows ``rows`` of a file's ``x``, read on access.

    Indexing with an int gives one image (a new C-contiguous array), with a slice or an index
    array a new array of those images; ``np.asarray`` reads them all. :meth:`take` selects rows
    without reading them.
    """

    def __init__(self, path: str, runs: list, row_shape: tuple, dtype, rows: np.ndarray):
        self.path, self.runs = str(path), [tuple(map(int, r)) for r in runs]  # (row_start, row_stop, offset)
        self.row_shape, self.dtype = tuple(row_shape), np.dtype(dtype)
        self.rows = np.asarray(rows, np.int64)
        self._maps = None  # per process, made on first read

    @classmethod
    def of(cls, d, path, rows: np.ndarray | None) -> LazyRows:
        """Rows ``rows`` (None: all) of the open HDF5 dataset ``d``; a one-line LoadError when its
        bytes cannot be mapped (a compressed or otherwise filtered ``x``)."""
        runs = XReader(d, path).runs
        if runs is None:
            how = f"compressed ({d.compression})" if d.compression else "not stored as plain bytes"
            raise LoadError(
                f"{path}: lazy=True maps the uncompressed x, but x is {how}; load without lazy=True "
                "(reads the split into memory) or write the file without --compression"
            )
        n = int(d.shape[0])
        return cls(path, runs, d.shape[1:], d.dtype, np.arange(n) if rows is None else rows)

    @property
    def shape(self) -> tuple:
        return (len(self.rows), *self.row_shape)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    ndim = property(lambda self: 1 + len(self.row_shape))

    def __len__(self) -> int:
        return len(self.rows)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_maps"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _maps=None)

    def __array__(self, dtype=None, copy=None):
        a = self._read(self.rows)
        return a if dtype is None else a.astype(dtype, copy=False)

    def __getitem__(self, i):
        if isinstance(i, (int, np.integer)):
            return self._read(self.rows[[i]])[0]
        return self._read(self.rows[i])

    def take(self, positions) -> LazyRows:
        """The images at ``positions`` (int array or bool mask), still unread."""
        return LazyRows(self.path, self.runs, self.row_shape, self.dtype, self.rows[positions])

    def _read(self, file_rows: np.ndarray) -> np.ndarray:
        """Rows of the file, in the order given, copied out of the map."""
        if self._maps is None:
            self._maps = [
                (s, e, np.memmap(self.path, self.dtype, "r", offset=off, shape=(e - s, *self.row_shape)))
                for s, e, off in self.runs
            ]
        file_rows = np.asarray(file_rows, np.int64)
        if len(self._maps) == 1:
            s, _, m = self._maps[0]
            return np.ascontiguousarray(m[file_rows - s])
        out = np.empty((len(file_rows), *self.row_shape), self.dtype)
        for s, e, m in self._maps:
            sel = (file_rows >= s) & (file_rows < e)
            if sel.any():
                out[sel] = m[file_rows[sel] - s]
        return out

    def __repr__(self) -> str:
        return f"LazyRows({self.path!r}, {len(self):,} rows of {self.row_shape} {self.dtype})"
