"""The loading API of :mod:`synprobe.load`: :func:`load`, :func:`read_table` and the resolver hook.

:func:`load` opens a file (a path, or a dataset name that the resolver maps to a path), builds the
target from its attribute table (``_table``, ``_targets``), reads the split's images (``_images``)
and returns a :class:`~synprobe.load._dataset.Dataset`. The resolver hook is unset here: the
package face ``synprobe`` installs the dataset catalog's fetch (``set_resolver``), so that this
layer, below :mod:`synprobe.datasets`, never imports it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from synprobe.errors import did_you_mean
from synprobe.io import validate
from synprobe.io.h5 import open_dataset
from synprobe.load._dataset import Dataset
from synprobe.load._images import XReader
from synprobe.load._lazy import LazyRows
from synprobe.load._table import LoadError, Table, file_table
from synprobe.load._targets import make_target, parse_target
from synprobe.paths import missing_file_hint

SPLITS = ("train", "val", "test", "all")
TARGET_KINDS = ("classification", "regression")

#: Hook mapping a dataset *name* (not an existing path) to a local file path, e.g. a catalog's
#: ``fetch``. ``load(source)`` calls it when ``source`` is not an existing file.
resolver: Callable[[str], os.PathLike | str] | None = None


def set_resolver(fn: Callable[[str], os.PathLike | str] | None) -> None:
    """Install the hook that maps dataset names to local paths (``None`` removes it)."""
    global resolver
    resolver = fn


def load(
    source,
    split: str = "train",
    split_name: str = "random",
    target: str = "char",
    *,
    target_kind: str | None = None,
    resolver: Callable | None = None,
    rows=None,
    lazy: bool = False,
) -> Dataset:
    """Load one split of a dataset file into memory (its images mapped, with ``lazy=True``).

    Args:
        source: path of a ``.h5`` file (synprobe or Synbols 1.0.2), or a dataset name that the
            resolver (argument, else the hook of :func:`set_resolver`) maps to a path.
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
        lazy: keep no images in memory: ``x`` is a :class:`~synprobe.load._lazy.LazyRows` that
            reads rows from a memory map of the file's uncompressed ``x`` when indexed, and
            pickles as the path, offsets and row numbers (DataLoader workers get no copy).
            Compressed files (``--compression``, Synbols' gzip files) raise a LoadError.

    Raises:
        LoadError (a SynprobeError and ValueError): unknown split, split name, target or option,
            with the allowed values in its one-line message. FormatError: not a dataset file.
    """
    if split not in SPLITS:
        raise LoadError(f"split {split!r}: expected one of {', '.join(map(repr, SPLITS))}")
    if target_kind not in (None, *TARGET_KINDS):
        raise LoadError(f"target_kind {target_kind!r}: expected 'classification' or 'regression'")
    name, opts = parse_target(target)
    path = resolve_source(source, resolver)
    with open_dataset(path, codes=False) as f, validate.guard(path):
        t = file_table(f, path)
        col = t.resolve(name)
        tg = make_target(t, col, target, opts, target_kind)
        if split == "all":
            rows = check_rows(rows, t.n, path)
        elif rows is not None:
            raise LoadError("load: rows= needs split='all'")
        else:
            if split_name not in t.splits:
                have = ", ".join(sorted(t.splits)) or "none (use split='all')"
                hint = did_you_mean(split_name, t.splits)
                raise LoadError(f"{path}: no split {split_name!r}{hint}; the file's splits: {have}")
            rows = np.flatnonzero(t.splits[split_name][:, SPLITS.index(split)])
        x = LazyRows.of(f["x"], path, rows) if lazy else XReader(f["x"], path).read(rows)
    index = np.arange(t.n, dtype=np.int64) if rows is None else rows.astype(np.int64)
    pick = (lambda a: a) if rows is None else (lambda a: a[rows])
    return Dataset(
        path=str(path),
        split=split,
        split_name=split_name,
        target=target,
        target_kind=tg.kind,
        x=x,
        y=pick(tg.y),
        classes=tg.classes,
        index=index,
        attrs={k: pick(v) for k, v in t.columns.items()},
        categories=dict(t.categories),
        class_values=tg.class_values,
        bin_edges=tg.bin_edges,
        n_file=t.n,
        layout=t.layout,
    )


def read_table(path) -> Table:
    """The attribute table of a dataset file (synprobe ``attrs/``, or Synbols' parsed ``y`` JSON).

    Synbols tables are parsed once per file version (path, mtime, size) and cached, in memory and
    in ``$SYNPROBE_CACHE/tables/`` (safe to delete).
    """
    path = Path(path)
    with open_dataset(path, codes=False) as f, validate.guard(path):
        return file_table(f, path)


def check_rows(rows, n: int, path) -> np.ndarray | None:
    """``rows=`` of :func:`load` as sorted unique int64 row numbers inside the file (None: all)."""
    if rows is None:
        return None
    r = np.asarray(rows)
    if r.ndim != 1 or (r.size and r.dtype.kind not in "iu"):
        raise LoadError("load: rows must be a 1-d array of integer row numbers")
    r = np.unique(r.astype(np.int64))
    if r.size and (r[0] < 0 or r[-1] >= n):
        raise LoadError(f"{path}: rows must lie in [0, {n}); got {int(r[0])}..{int(r[-1])}")
    return r


def resolve_source(source, resolve) -> Path:
    """The file of ``source``: an existing path, else what ``resolve`` (or the hook) maps the name to."""
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if p.exists():
            return p
        fn = resolve if resolve is not None else resolver
        if fn is not None and isinstance(source, str):
            return Path(fn(source))
        hint = missing_file_hint(p) or ("" if fn is not None else " (and no dataset catalog is set up)")
        raise LoadError(f"{source}: no such file{hint}")
    raise LoadError(f"load: expected a file path or dataset name, got {type(source).__name__}")
