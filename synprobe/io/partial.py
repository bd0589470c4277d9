"""The ``OUT.partial/`` work folder of a generation run (see :mod:`synprobe.generator`).

It holds ``meta.json`` (the run's arguments, checked on ``--resume``), one record per finished
chunk (``chunks/NNNNNNN.npy``: its attribute table and a checksum of every pixel row, written
atomically after the chunk's pixels: the set of chunk files is the completion record, and a
resume keeps a chunk only if its pixels read back with those checksums) and, for compressed
output only, raw pixel stores.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from synprobe.recipe import Recipe

__all__ = ["WorkDir", "image_shape", "pwrite_all", "row_sums", "squeeze", "write_at"]


def image_shape(recipe: Recipe) -> tuple[int, int, int]:
    """(H, W, C) of a recipe's images."""
    h, w = recipe.resolution
    return h, w, 1 if recipe.gray else 3


class WorkDir:
    """The ``OUT.partial/`` folder: meta.json, raw x/mask arrays, per-chunk attribute files."""

    def __init__(self, root: Path, recipe: Recipe, n: int, chunk: int, direct: bool):
        self.root = root
        self.recipe = recipe
        self.n = n
        self.chunk = chunk
        self.shape = image_shape(recipe)
        self.slots = recipe.max_symbols if recipe.masks else 0
        self.direct = direct  # pixels go straight into the output file (uncompressed)
        self.layout: dict = {}  # direct: file offsets of the output's chunks, set by Assembler
        self.rows = 0  # direct: rows per chunk of the output file
        self.target: Path | None = None  # the output file being written
        self.columns: dict = {}  # attribute column -> (file offset, dtype), set by the Assembler

    def create(self, meta: dict) -> None:
        (self.root / "chunks").mkdir(parents=True)
        h, w, c = self.shape
        if not self.direct:  # compressed output: raw pixel store, copied in by the assembler
            for name, per in (("x.u8", h * w * c), ("mask.u8", h * w * self.slots)):
                if per:
                    with open(self.root / name, "wb") as f:
                        f.truncate(self.n * per)
        tmp = self.root / "meta.json.tmp"
        tmp.write_text(json.dumps(meta, sort_keys=True))
        os.replace(tmp, self.root / "meta.json")

    def meta(self) -> dict | None:
        try:
            return json.loads((self.root / "meta.json").read_text())
        except (OSError, ValueError):
            return None

    def write_pixels(self, name: str, start: int, data: np.ndarray) -> None:
        """Rows [start, start + len(data)) of ``x`` or ``mask``: into the output file's chunks
        (direct) or the raw store."""
        per = int(np.prod(data.shape[1:]))
        if not self.direct:
            write_at(self.root / f"{name}.u8", start * per, data)
            return
        offsets, rows = self.layout[name], self.rows
        flat = np.ascontiguousarray(data).reshape(len(data), per)
        fd = os.open(self.target, os.O_WRONLY)
        try:
            r = start
            while r < start + len(data):
                j = r // rows
                stop = min((j + 1) * rows, start + len(data))
                pwrite_all(fd, flat[r - start : stop - start], int(offsets[j]) + (r - j * rows) * per)
                r = stop
        finally:
            os.close(fd)

    def arrays(self, mode: str = "r+"):
        h, w, c = self.shape
        x = np.memmap(self.root / "x.u8", np.uint8, mode, shape=(self.n, h, w, c))
        m = None
        if self.slots:
            m = np.memmap(self.root / "mask.u8", np.uint8, mode, shape=(self.n, h, w, self.slots))
        return x, m

    def chunk_file(self, k: int) -> Path:
        return self.root / "chunks" / f"{k:07d}.npy"

    def labels_file(self, k: int) -> Path:
        """Chunk k's JSON labels as a worker process hands them to the parent (a file in the page
        cache, mapped by the parent: 4x less CPU than pickling 8 MB through a pipe). Not a resume
        record: labels of chunks replayed after a resume are recomputed from their tables."""
        return self.root / "chunks" / f"{k:07d}.y"

    def write_columns(self, start: int, table: dict) -> None:
        """Rows [start, start + n) of every attribute column, straight into the output file."""
        fd = os.open(self.target, os.O_WRONLY)
        try:
            for name, (offset, dtype) in self.columns.items():
                col = np.ascontiguousarray(squeeze(table[name]), dtype)
                pwrite_all(fd, col, offset + start * (col.nbytes // max(len(col), 1)))
        finally:
            os.close(fd)

    def save_chunk(self, k: int, table: dict, x: np.ndarray, m: np.ndarray | None) -> None:
        """Chunk k's attribute table and the checksums of its pixel rows (:func:`row_sums` of ``x``
        and ``m``), written atomically: the file is the chunk's completion record, so write it only
        once the chunk's rows are in place. A resume trusts a chunk's pixels only where they match
        these checksums (a power cut can lose pages written before the record). One structured
        array (not one zip member per column). The JSON labels are not kept: they are a pure
        function of the table (see :func:`synprobe.render.labels.y_json`), recomputed for chunks replayed
        after a resume."""
        dst = self.chunk_file(k)
        tmp = dst.with_name(dst.name + ".tmp")
        sums = {_SUM + "x": row_sums(x)}
        if m is not None:
            sums[_SUM + "mask"] = row_sums(m)
        fields = {**table, **sums}
        rec = np.empty(len(table["n_symbols"]), [(name, a.dtype, a.shape[1:]) for name, a in fields.items()])
        for name, a in fields.items():
            rec[name] = a
        with open(tmp, "wb") as f:
            np.save(f, rec, allow_pickle=False)
        os.replace(tmp, dst)

    def load_chunk(self, k: int) -> dict:
        """The attribute table :meth:`save_chunk` wrote."""
        rec = np.load(self.chunk_file(k), allow_pickle=False)
        return {name: np.ascontiguousarray(rec[name]) for name in rec.dtype.names if not name.startswith(_SUM)}

    def pixels_match(self, k: int, name: str, rows: np.ndarray) -> bool:
        """Whether chunk k's ``x`` or ``mask`` rows, as read back, are the ones its record describes."""
        try:
            rec = np.load(self.chunk_file(k), allow_pickle=False)
        except (OSError, ValueError):
            return False
        key = _SUM + name
        return key in rec.dtype.names and len(rows) == len(rec) and np.array_equal(row_sums(rows), rec[key])

    def done(self) -> set[int]:
        """Chunks whose pixels and attribute file are complete (half-written files end in .tmp)."""
        return {int(p.stem) for p in (self.root / "chunks").glob("*.npy") if p.stem.isdigit()}


_SUM = "__sum_"  # fields of a chunk record holding pixel checksums, not attribute columns


def row_sums(a: np.ndarray) -> np.ndarray:
    """A checksum per row (image): the wrapping uint64 sum of its bytes read as little-endian
    64-bit words (zero-padded). Cheap (1.3 ms per 16 MB): what a resume checks pixels against; it
    catches lost, zeroed and stale pages."""
    flat = np.ascontiguousarray(a).reshape(len(a), -1)
    pad = (-flat.shape[1]) % 8
    if pad:
        flat = np.concatenate([flat, np.zeros((len(a), pad), np.uint8)], 1)
    return flat.view("<u8").sum(1, dtype=np.uint64)


def squeeze(col: np.ndarray) -> np.ndarray:
    """Per-slot columns with a single slot are stored as (N,)."""
    return col[:, 0] if col.ndim == 2 and col.shape[1] == 1 else col


def write_at(path: Path, offset: int, data: np.ndarray) -> None:
    """Write raw bytes at an offset (one pwrite per chunk; cheaper than page-faulting an mmap)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        pwrite_all(fd, data, offset)
    finally:
        os.close(fd)


def pwrite_all(fd: int, data: np.ndarray, offset: int) -> None:
    view = memoryview(np.ascontiguousarray(data)).cast("B")
    while view:
        done = os.pwrite(fd, view, offset)
        view, offset = view[done:], offset + done
