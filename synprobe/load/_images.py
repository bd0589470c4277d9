"""Image reads for :mod:`synprobe.load`: :class:`XReader`, rows of ``x`` into numpy arrays.

Uncompressed, fully allocated datasets are read straight from the file bytes of each HDF5 chunk
into the output array (no HDF5 per-chunk machinery); others with ``read_direct`` over
chunk-aligned slabs. A split's rows are gathered slab by slab in numpy.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from synprobe.errors import FormatError, NotEnoughMemory
from synprobe.io import validate


class XReader:
    """Reads rows of an (N, ...) HDF5 dataset into C-contiguous numpy arrays.

    For uncompressed, fully allocated datasets (contiguous, or chunked with whole rows per chunk)
    the file offset of every row is known, so rows are read with ``readinto`` straight into the
    destination; otherwise with ``read_direct`` over chunk-aligned slabs.
    """

    def __init__(self, d, path: Path):
        self.d, self.path = d, path
        self.n = int(d.shape[0])
        self.row_bytes = int(np.prod(d.shape[1:], dtype=np.int64)) * d.dtype.itemsize
        chunks = d.chunks
        self.chunk = int(chunks[0]) if chunks else 1
        self.runs = self._raw_runs()  # (row_start, row_stop, file_offset) or None

    def _raw_runs(self):
        d = self.d
        try:
            import h5py

            if d.dtype.hasobject or d.dtype.byteorder not in ("=", "|", "<" if np.little_endian else ">"):
                return None
            if d.file.id.get_create_plist().get_userblock() != 0 or d.file.driver not in ("sec2", "stdio"):
                return None
            dcpl = d.id.get_create_plist()
            if dcpl.get_nfilters() != 0 or d.external:
                return None
            layout = dcpl.get_layout()
            if layout == h5py.h5d.CONTIGUOUS:
                off = d.id.get_offset()
                if off is None or off + self.n * self.row_bytes > os.path.getsize(self.path):
                    return None
                return [(0, self.n, int(off))]
            if layout != h5py.h5d.CHUNKED or tuple(d.chunks[1:]) != tuple(d.shape[1:]):
                return None
            r = self.chunk
            want = -(-self.n // r)
            infos = []
            if hasattr(d.id, "chunk_iter"):
                d.id.chunk_iter(lambda c: infos.append((c.chunk_offset[0], c.byte_offset, c.size, c.filter_mask)))
            else:
                for j in range(d.id.get_num_chunks()):
                    c = d.id.get_chunk_info(j)
                    infos.append((c.chunk_offset[0], c.byte_offset, c.size, c.filter_mask))
            if len(infos) != want:
                return None
            infos.sort()
            full = r * self.row_bytes
            end = os.path.getsize(self.path)
            runs = []
            for k, (row, off, size, fmask) in enumerate(infos):
                if row != k * r or size != full or fmask != 0 or off is None or off + size > end:
                    return None
                stop = min(row + r, self.n)
                if runs and runs[-1][1] == row and runs[-1][2] + (row - runs[-1][0]) * self.row_bytes == off:
                    runs[-1] = (runs[-1][0], stop, runs[-1][2])
                else:
                    runs.append((row, stop, int(off)))
            return runs
        except Exception:  # noqa: BLE001 - any surprise in the low-level probe: use the h5py path
            return None

    def read_range(self, fh, dest: np.ndarray, a: int, b: int) -> None:
        """Rows [a, b) into the C-contiguous ``dest`` (b - a rows)."""
        if self.runs is None:
            self.d.read_direct(dest, np.s_[a:b], np.s_[0 : b - a])
            return
        mv = memoryview(dest.reshape(-1).view(np.uint8))
        rb = self.row_bytes
        for s, e, off in self.runs:
            lo, hi = max(a, s), min(b, e)
            if lo >= hi:
                continue
            buf = mv[(lo - a) * rb : (hi - a) * rb]
            pos = off + (lo - s) * rb
            while len(buf):
                fh.seek(pos)
                got = fh.readinto(buf)
                if not got:
                    raise FormatError(f"{self.path}: x: the file ends before row {s + (pos - off) // rb} (truncated?)")
                buf, pos = buf[got:], pos + got

    def read(self, rows: np.ndarray | None = None) -> np.ndarray:
        """All rows (``rows=None``) or the sorted unique ``rows``, as one new array; a damaged file
        is a one-line FormatError naming it, too little memory a NotEnoughMemory."""
        m = self.n if rows is None else len(rows)
        try:
            out = np.empty((m, *self.d.shape[1:]), self.d.dtype)
        except MemoryError:
            raise NotEnoughMemory(
                f"{self.path}: x: not enough memory for {m:,} images ({m * self.row_bytes / 2**30:.1f} GiB)"
            ) from None
        with validate.guard(self.path, "x"):
            return self._read(out, rows)

    def _read(self, out: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        d = self.d
        m = len(out)
        if m == 0:
            return out
        fh = open(self.path, "rb", buffering=0) if self.runs is not None else None  # noqa: SIM115
        try:
            if rows is None:
                step = self.n if self.runs is not None else self._slab(1 << 26)
                for a in range(0, self.n, step):
                    b = min(a + step, self.n)
                    self.read_range(fh, out[a:b], a, b)
                return out
            blk = self._slab(1 << 22)  # ~4 MiB blocks: gathered while still in cache
            tmp = None
            bid = rows // blk
            cuts = np.flatnonzero(np.diff(bid)) + 1
            starts = np.concatenate(([0], cuts))
            stops = np.concatenate((cuts, [m]))
            for i, j in zip(starts.tolist(), stops.tolist()):
                sel = rows[i:j]
                a = int(bid[i]) * blk
                b = min(a + blk, self.n)
                if j - i == b - a:  # the whole block
                    self.read_range(fh, out[i:j], a, b)
                    continue
                gaps = np.flatnonzero(np.diff(sel) != 1) + 1
                if len(gaps) < 8:  # few runs of consecutive rows: read them in place
                    gs = np.concatenate(([0], gaps)).tolist()
                    ge = np.concatenate((gaps, [j - i])).tolist()
                    for p, q in zip(gs, ge):
                        self.read_range(fh, out[i + p : i + q], int(sel[p]), int(sel[q - 1]) + 1)
                    continue
                if tmp is None:
                    tmp = np.empty((blk, *d.shape[1:]), d.dtype)
                self.read_range(fh, tmp[: b - a], a, b)
                np.take(tmp, sel - a, axis=0, out=out[i:j])
            return out
        finally:
            if fh is not None:
                fh.close()

    def _slab(self, nbytes: int) -> int:
        """Rows per slab of about ``nbytes``, a whole number of chunks."""
        rows = max(1, nbytes // max(self.row_bytes, 1))
        return max(self.chunk, rows // self.chunk * self.chunk)
