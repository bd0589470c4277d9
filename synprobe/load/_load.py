"""Load a dataset file into memory for training: images, targets, a stable class table, splits.

    >>> from synprobe.load import load
    >>> ds = load("default.h5", split="train", target="font")           # doctest: +SKIP
    >>> ds.x.shape, ds.y.dtype, len(ds.classes)                          # doctest: +SKIP
    ((60000, 32, 32, 3), dtype('int64'), 1061)
    >>> train = ds.torch()                                               # doctest: +SKIP

Reads synprobe files (``docs/format.md``) and Synbols 1.0.2 files (``x``, ``mask``, ``y`` JSON
strings, ``split/<name>``; no ``attrs/``) through the same API. See ``docs/loading.md``.

Images are read in large contiguous slabs: for uncompressed files straight from the file bytes
of each HDF5 chunk into the output array (no HDF5 per-chunk machinery), else with
``read_direct`` over chunk-aligned slabs; a split's rows are gathered slab by slab in numpy.

This module holds the API (:func:`load`, :class:`Dataset`, :func:`read_table`, the resolver);
the table, Synbols parsing and targets are in :mod:`synprobe.load_table`, image reads in
:mod:`synprobe.load_images`. Import from here: every name is re-exported.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from synprobe.errors import SynprobeError
from synprobe.io import validate
from synprobe.load_images import _XReader
from synprobe.load_table import (
    _ALIASES,
    LoadError,
    Table,
    _disk_cache_get,
    _disk_cache_put,
    _make_target,
    _parse_synbols_y,
    _parse_target,
    _read_splits,
)

__all__ = ["Dataset", "LoadError", "load", "read_table", "resolver", "set_resolver"]

SPLITS = ("train", "val", "test", "all")
TARGET_KINDS = ("classification", "regression")

#: Hook mapping a dataset *name* (not an existing path) to a local file path, e.g. a catalog
#: ``datasets.fetch``. ``load(source)`` calls it when ``source`` is not an existing file.
def _catalog(name: str):
    """The default resolver: :func:`synprobe.datasets.fetch` (catalog names)."""
    from synprobe.datasets import fetch

    return fetch(name)


resolver: Callable[[str], os.PathLike | str] | None = _catalog


def set_resolver(fn: Callable[[str], os.PathLike | str] | None) -> None:
    """Install the hook that maps dataset names to local paths (``None`` removes it)."""
    global resolver
    resolver = fn


# --------------------------------------------------------------------------- attribute table (cached)


_CACHE: dict[tuple, Table] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 4


def _file_key(path: Path) -> tuple:
    st = path.stat()
    return (str(path.resolve()), st.st_mtime_ns, st.st_size)


def read_table(path) -> Table:
    """The attribute table of a dataset file (synprobe ``attrs/``, or Synbols' parsed ``y`` JSON).

    Synbols tables are parsed once per file version (path, mtime, size) and cached, in memory and
    in ``$SYNPROBE_CACHE/tables/`` (safe to delete).
    """
    from synprobe.io.h5 import open_dataset

    path = Path(path)
    with open_dataset(path, codes=False) as f, validate.guard(path):
        return _table(f, path)


def _table(f, path: Path) -> Table:
    """The table of a file opened by ``open_dataset`` (validated; categorical codes checked here,
    where the columns are read anyway)."""
    n = int(f["x"].shape[0])
    splits = _read_splits(f, path, n)
    if "attrs" in f:
        cols, cats, docs = {}, {}, {}
        for name in f["attrs"]:
            d = f["attrs"][name]
            cols[name] = d[()]
            c = validate.categories(d, path, name)
            if c is not None:
                validate.check_codes(path, name, cols[name], len(c))
                cats[name] = c
            if "doc" in d.attrs:
                docs[name] = validate.one_line(str(d.attrs["doc"]))
        return Table(str(path), "synprobe", n, cols, cats, docs, splits)
    key = _file_key(path)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is None:
        got = _disk_cache_get(key)
        if got is None:
            got = _parse_synbols_y(f["y"], path)
            _disk_cache_put(key, *got)
        hit = Table(str(path), "synbols", n, got[0], got[1], {}, {})
        with _CACHE_LOCK:
            while len(_CACHE) >= _CACHE_MAX:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = hit
    return Table(hit.path, hit.layout, n, hit.columns, hit.categories, {}, splits)


# --------------------------------------------------------------------------- the dataset


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """One split of a dataset file, in memory.

    Attributes:
        x: uint8 (n, H, W, C) images.
        y: int64 class indices into ``classes`` (-1: the sample has no value), or float64 values
            when ``target_kind == "regression"``.
        classes: class names; the table depends on the whole file, not the split, so every split
            of a file shares it. Empty for regression.
        class_values: the integer or bool value of each class for integer/bool columns, else None.
        bin_edges: the bin edges of a binned numeric target (``scale:bins=10``), else None.
        index: int64 row numbers of the samples in the file.
        attrs: every attribute column for these rows (categorical columns hold codes; see
            :meth:`decode` and ``categories``).
        categories: full vocabulary of each categorical column, in the file's order.
    """

    path: str
    split: str
    split_name: str
    target: str
    target_kind: str
    x: np.ndarray
    y: np.ndarray
    classes: tuple
    index: np.ndarray
    attrs: dict
    categories: dict
    class_values: np.ndarray | None = None
    bin_edges: np.ndarray | None = None
    n_file: int = 0
    layout: str = "synprobe"

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i):
        """``(image, target)``: image uint8 (H, W, C); also slices / index arrays (batched)."""
        if isinstance(i, (int, np.integer)):
            return self.x[i], self.y[i].item()
        return self.x[i], self.y[i]

    def __repr__(self) -> str:
        h, w, c = self.x.shape[1:]
        if self.target_kind == "regression":
            tgt = f"target={self.target!r} (regression)"
        else:
            tgt = f"target={self.target!r} ({len(self.classes)} classes)"
        part = "all" if self.split == "all" else f"{self.split!r} of {self.split_name!r}"
        return (f"Dataset({Path(self.path).name!r}, split={part}: {len(self):,} of {self.n_file:,} images "
                f"{h}x{w}x{c} {self.x.dtype}, {tgt})")

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def numpy(self) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)``: uint8 (n, H, W, C) images and the targets."""
        return self.x, self.y

    def decode(self, name: str) -> np.ndarray:
        """Category names of a categorical attribute for these rows (object array, None = no value)."""
        if name not in self.attrs:
            for alt in _ALIASES.get(name, ()):
                if alt in self.attrs:
                    name = alt
                    break
        cats = self.categories.get(name)
        if cats is None:
            raise LoadError(f"{self.path}: {name!r} is not a categorical attribute; categorical: "
                            f"{', '.join(sorted(self.categories))}")
        v = self.attrs[name]
        lut = np.array([*cats, None], dtype=object)
        return lut[np.where(v >= 0, v, len(cats))]

    def subset(self, rows) -> Dataset:
        """The samples picked by a bool mask or integer positions (e.g. ``ds.subset(ds.y >= 0)``);
        the class table stays the same."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            if rows.shape != (len(self),):
                raise LoadError(f"subset: a bool mask needs shape ({len(self)},), got {rows.shape}")
            rows = np.flatnonzero(rows)
        elif rows.dtype.kind not in "iu" or rows.ndim != 1:
            raise LoadError("subset: expected a bool mask or a 1-D array of integer positions")
        return replace(self, x=self.x[rows], y=self.y[rows], index=self.index[rows],
                       attrs={k: v[rows] for k, v in self.attrs.items()})

    def class_counts(self) -> np.ndarray:
        """Samples per class (int64, len(classes)); samples without a value are not counted."""
        if self.target_kind == "regression":
            raise LoadError(f"target {self.target!r} is a regression target: it has no classes")
        return np.bincount(self.y[self.y >= 0], minlength=len(self.classes))

    def torch(self, transform=None, target_transform=None):
        """A ``torch.utils.data.Dataset`` over these arrays (no copy).

        Items are ``(image, target)``: image a uint8 (C, H, W) tensor, or ``transform(image)``;
        target a Python int (classification) or a float32 scalar tensor (regression), or
        ``target_transform(target)``. Needs torch (``pip install 'synprobe[train]'``).
        """
        cls = _torch_dataset_class()
        return cls(self.x, self.y, self.target_kind, transform, target_transform)


def _torch_dataset_class():
    """``TorchDataset`` (defined on first use so that torch is imported only when needed)."""
    cls = globals().get("_TorchDatasetClass")
    if cls is not None:
        return cls
    try:
        import torch
        from torch.utils.data import Dataset as _TD
    except ImportError:
        raise SynprobeError("Dataset.torch() needs torch: pip install 'synprobe[train]'") from None

    class TorchDataset(_TD):
        """Images as uint8 (C, H, W) tensors (or transformed) and their targets."""

        def __init__(self, x, y, target_kind, transform=None, target_transform=None):
            self.x, self.y, self.target_kind = x, y, target_kind
            self.transform, self.target_transform = transform, target_transform

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            img = torch.from_numpy(self.x[i]).permute(2, 0, 1)
            if self.transform is not None:
                img = self.transform(img)
            if self.target_kind == "regression":
                t = torch.tensor(self.y[i], dtype=torch.float32)
            else:
                t = int(self.y[i])
            if self.target_transform is not None:
                t = self.target_transform(t)
            return img, t

    TorchDataset.__module__ = __name__
    TorchDataset.__qualname__ = "TorchDataset"
    globals()["_TorchDatasetClass"] = cls = TorchDataset
    return cls


def __getattr__(name):  # ``synprobe.load.TorchDataset`` (pickling for DataLoader workers)
    if name == "TorchDataset":
        return _torch_dataset_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _check_rows(rows, n: int, path) -> np.ndarray | None:
    if rows is None:
        return None
    r = np.asarray(rows)
    if r.ndim != 1 or (r.size and r.dtype.kind not in "iu"):
        raise LoadError("load: rows must be a 1-d array of integer row numbers")
    r = np.unique(r.astype(np.int64))
    if r.size and (r[0] < 0 or r[-1] >= n):
        raise LoadError(f"{path}: rows must lie in [0, {n}); got {int(r[0])}..{int(r[-1])}")
    return r


def _resolve_source(source, resolve) -> Path:
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if p.exists():
            return p
        fn = resolve if resolve is not None else resolver
        if fn is not None and isinstance(source, str):
            return Path(fn(source))
        raise LoadError(f"{source}: no such file" + ("" if fn is not None else " (and no dataset catalog is set up)"))
    raise LoadError(f"load: expected a file path or dataset name, got {type(source).__name__}")


def load(source, split: str = "train", split_name: str = "random", target: str = "char", *,
         target_kind: str | None = None, resolver: Callable | None = None, rows=None) -> Dataset:
    """Load one split of a dataset file into memory.

    Args:
        source: path of a ``.h5`` file (synprobe or Synbols 1.0.2), or a dataset name that the
            resolver (argument, else the module's :data:`resolver`) maps to a path.
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
        split_name: which split of the file (``split/<name>``): ``"random"`` for synprobe files;
            Synbols files also have e.g. ``stratified_font``.
        target: attribute column, first symbol for symbol columns (``char``, ``font``,
            ``script``, ``bold``, ``n_symbols`` / ``count``, ...); numeric columns as classes
            with ``"scale:bins=10"`` (equal width over the whole file) or ``"scale:quantiles=10"``.
        target_kind: ``"classification"`` or ``"regression"`` (raw float targets); default:
            regression for continuous columns without bins, else classification.
        resolver: ``fn(name) -> path`` for names that are not existing files.
        rows: with ``split="all"``, only these row numbers (int array; sorted and deduplicated
            here): the images a training run needs, without reading the rest of the file.

    Raises:
        LoadError (a SynprobeError and ValueError): unknown split, split name, target or option,
            with the allowed values in its one-line message. FormatError: not a dataset file.
    """
    from synprobe.io.h5 import open_dataset

    if split not in SPLITS:
        raise LoadError(f"split {split!r}: expected one of {', '.join(map(repr, SPLITS))}")
    if target_kind not in (None, *TARGET_KINDS):
        raise LoadError(f"target_kind {target_kind!r}: expected 'classification' or 'regression'")
    name, opts = _parse_target(target)
    path = _resolve_source(source, resolver)
    with open_dataset(path, codes=False) as f, validate.guard(path):
        t = _table(f, path)
        col = t.resolve(name)
        tg = _make_target(t, col, target, opts, target_kind)
        if split == "all":
            rows = _check_rows(rows, t.n, path)
        elif rows is not None:
            raise LoadError("load: rows= needs split='all'")
        else:
            if split_name not in t.splits:
                have = ", ".join(sorted(t.splits)) or "none (use split='all')"
                raise LoadError(f"{path}: no split {split_name!r}; the file's splits: {have}")
            rows = np.flatnonzero(t.splits[split_name][:, SPLITS.index(split)])
        x = _XReader(f["x"], path).read(rows)
    index = np.arange(t.n, dtype=np.int64) if rows is None else rows.astype(np.int64)
    pick = (lambda a: a) if rows is None else (lambda a: a[rows])
    return Dataset(
        path=str(path), split=split, split_name=split_name, target=target, target_kind=tg.kind,
        x=x, y=pick(tg.y), classes=tg.classes, index=index,
        attrs={k: pick(v) for k, v in t.columns.items()}, categories=dict(t.categories),
        class_values=tg.class_values, bin_edges=tg.bin_edges, n_file=t.n, layout=t.layout,
    )
