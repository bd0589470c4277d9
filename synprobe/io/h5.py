"""HDF5 format v1: writing a finished dataset and reading it back.

Layout (the contract, documented in ``docs/format.md``):

    x                uint8 (N, H, W, C), chunked along N, C = 3 (1 when gray)
    y                utf-8 str (N,), one Synbols-compatible JSON object per sample
    mask             uint8 (N, H, W, S): per-symbol coverage after occlusion; without masks a
                     zero-size (N, H, W, 0) placeholder (no bytes on disk) that Synbols' loader reads
    attrs/<name>     typed column (N,) or (N, slots); categorical columns hold int codes and a
                     ``categories`` attribute (JSON list) naming them
    split/<name>     bool (N, 3): train / val / test membership
    root attributes  format="synprobe-h5/1", complete=True (written last), synprobe_version,
                     recipe (JSON), seed, n, resolution, fonts_manifest_sha256, created, ...

Files are written under a temporary name and renamed when complete; readers refuse files without
``complete``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from synprobe.io import validate

__all__ = ["FORMAT", "NO_MASKS_DOC", "SAMPLES_VERSION", "H5Writer", "chunk_rows", "has_masks", "read_info",
           "open_dataset"]

FORMAT = "synprobe-h5/1"
#: Version of what the generator writes for a given (recipe, seed, fonts): bumped whenever those
#: bytes change (rendering, labels, layout), so the download cache never serves samples of an
#: older generator (it keys the cache path); recorded in every file as ``samples_version``.
#: 2: JSON numbers by orjson (small magnitudes as 0.00002), columns laid out at file creation.
#: 3: camouflage strokes drawn by synprobe's own kernel (continuous width, float colours).
#: 4: Synbols' geometry (translation of the transformed ink box, per axis), slant (vertical shear
#:    after rotation) and gradients (cairo's linear and two-circle radial laws); draws keyed by the
#:    recipe's stream as well as the seed; legible fonts only.
SAMPLES_VERSION = 4
#: The ``doc`` attribute of the zero-size ``mask`` placeholder of files written without masks.
NO_MASKS_DOC = "no masks (recipe masks = false): a zero-size placeholder so that Synbols' load_h5 opens the file"
_SLAB = 8192  # samples copied per write when assembling


class H5Writer:
    """Writes one dataset file. Use as a context manager; ``finish()`` marks it complete.

    Args:
        path: the temporary path to write (the caller renames it when complete).
        n, shape: number of samples and (H, W, C) image shape.
        mask_slots: S for the optional mask dataset (None: no masks).
        compression: None, "lzf" or "gzip" for ``x`` and ``mask``. Without compression every
            chunk of ``x`` and ``mask`` is allocated when the file is created, so other processes
            can write pixels straight into it (see :meth:`raw_layout`).
    """

    def __init__(self, path: Path, n: int, shape: tuple, mask_slots: int | None, compression: str | None = None):
        import h5py

        self.f = h5py.File(path, "w", libver=("v110", "v110"), track_order=False)
        h, w, c = shape
        self.rows = min(n, chunk_rows(h, w, c))
        if compression:
            kw = {"compression": compression}
        else:  # allocate every chunk now (no fill): fixed file offsets for direct writes
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
            kw = {"dcpl": dcpl, "fill_time": "never"}
        self.x = self.f.create_dataset("x", (n, h, w, c), np.uint8, chunks=(self.rows, h, w, c), **kw)
        self.mask = None
        if mask_slots:
            self.mask = self.f.create_dataset("mask", (n, h, w, mask_slots), np.uint8,
                                              chunks=(self.rows, h, w, mask_slots), **kw)
        else:  # Synbols 1.0.2's load_h5 reads f["mask"] unconditionally; S = 0 slots: no masks
            self.f.create_dataset("mask", (n, h, w, 0), np.uint8).attrs["doc"] = NO_MASKS_DOC
        self.n = n
        self.y = None
        self.columns: dict = {}  # name -> h5py dataset (handles kept: no group lookups per write)
        # marked as an unfinished synprobe file from the start, so that no reader takes a file under
        # construction for a dataset (without 'format' it would pass for Synbols' own layout)
        self.f.attrs["format"] = FORMAT
        self.f.attrs["complete"] = False
        self.f.flush()

    def raw_layout(self) -> dict:
        """File byte offset of every chunk of ``x`` (and ``mask``): {name: int64 array}, for
        writing pixels directly (uncompressed files only). Chunk j holds rows
        [j * rows, (j + 1) * rows) in C order."""
        out = {}
        for name, d in (("x", self.x), ("mask", self.mask)):
            if d is not None:
                out[name] = np.array([d.id.get_chunk_info(j).byte_offset for j in range(d.id.get_num_chunks())],
                                     np.int64)
        return out

    def write_images(self, start: int, x: np.ndarray, mask: np.ndarray | None = None) -> None:
        self.x[start : start + len(x)] = x
        if self.mask is not None and mask is not None:
            self.mask[start : start + len(mask)] = mask

    def create_y(self) -> None:
        import h5py

        self.y = self.f.create_dataset("y", (self.n,), dtype=h5py.string_dtype("utf-8"))

    def write_y(self, start: int, ptrs: np.ndarray) -> None:
        """Per-sample JSON labels of rows start.., given as the addresses (uint64) of NUL-terminated
        UTF-8 strings: handed to HDF5 as C strings, no Python object per label (the caller keeps
        the memory alive)."""
        import h5py

        n = len(ptrs)
        if n == 0:
            return
        assert ptrs.dtype == np.uint64 and ptrs.flags.c_contiguous
        mtype = h5py.h5t.C_S1.copy()
        mtype.set_size(h5py.h5t.VARIABLE)
        mtype.set_cset(h5py.h5t.CSET_UTF8)
        fspace = self.y.id.get_space()
        fspace.select_hyperslab((start,), (n,))
        self.y.id.write(h5py.h5s.create_simple((n,)), fspace, ptrs, mtype=mtype)

    def create_column(self, name: str, row_shape: tuple, dtype, categories=None, doc: str = "") -> None:
        """A contiguous column, allocated now (no fill): other processes write rows straight into
        the file at :meth:`column_offsets`."""
        import h5py

        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
        d = self.columns[name] = self.f.create_dataset(f"attrs/{name}", (self.n, *row_shape), dtype, dcpl=dcpl,
                                                       fill_time="never")
        if categories is not None:
            d.attrs["categories"] = json.dumps(list(categories), ensure_ascii=False)
        if doc:
            d.attrs["doc"] = doc

    def column_offsets(self) -> dict[str, int]:
        """File byte offset of every column created so far (rows in C order from there)."""
        return {name: int(d.id.get_offset()) for name, d in self.columns.items()}

    def write_split(self, name: str, membership: np.ndarray, **attrs) -> None:
        d = self.f.create_dataset(f"split/{name}", data=membership.astype(bool))
        for k, v in attrs.items():
            d.attrs[k] = v

    def finish(self, **root_attrs) -> None:
        """Write the root attributes, then the completion marker, flush and close."""
        self.f.attrs["format"] = FORMAT
        for k, v in root_attrs.items():
            self.f.attrs[k] = v
        self.f.attrs["complete"] = True
        self.f.flush()
        self.f.close()

    def abort(self) -> None:
        try:
            self.f.close()
        except Exception:  # noqa: BLE001 - closing a half-written file on the error path
            pass


def chunk_rows(h: int, w: int, c: int) -> int:
    """Images per HDF5 chunk of ``x``: at most 256 and about 1 MiB (h5py's chunk cache)."""
    return int(max(1, min(256, (1 << 20) // max(h * w * c, 1))))


def _open(path) -> object:
    return validate.open_h5(path)


def open_dataset(path, *, codes: bool = True):
    """Open a finished dataset file (synprobe format v1, or Synbols' own layout) for reading,
    validated from its metadata (:func:`synprobe.io.validate.check_dataset_file`; ``codes=False``
    leaves the categorical codes to a caller that reads those columns anyway).

    Returns an open ``h5py.File``; raises :class:`FormatError` (one line naming the file and the
    dataset) for anything malformed, :class:`IncompleteFileError` for unfinished files.
    """
    f = _open(path)
    try:
        validate.check_dataset_file(f, path, codes=codes)
    except BaseException:
        f.close()
        raise
    return f


def read_info(path) -> dict:
    """Counts, shapes, root attributes, columns and splits of a dataset file (no image reads)."""
    with open_dataset(path, codes=False) as f, validate.guard(path, "root attributes"):
        info = {validate.printable(k): _py(v) for k, v in f.attrs.items()}
        info["path"] = str(path)
        info["x_shape"] = list(f["x"].shape)
        info["n"] = int(f["x"].shape[0])
        info["has_masks"] = has_masks(f)
        info["columns"] = sorted(f["attrs"].keys()) if "attrs" in f else []
        info["splits"] = sorted(f["split"].keys()) if "split" in f else []
        info["size_bytes"] = os.path.getsize(path)
        return info


def has_masks(f) -> bool:
    """Whether an open dataset file holds masks: a ``mask`` dataset with at least one slot (a
    synprobe file without masks has the zero-size (N, H, W, 0) placeholder; older ones none)."""
    return "mask" in f and f["mask"].size > 0


def _py(v):
    """A root attribute as plain Python; text always printable (bad UTF-8 replaced, not raised)."""
    if isinstance(v, np.generic):
        v = v.item()
    elif isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, str):
        return validate.printable(v)
    return v
