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
"""

from __future__ import annotations

import difflib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from synprobe.errors import SynprobeError

__all__ = ["Dataset", "LoadError", "load", "read_table", "resolver", "set_resolver"]

SPLITS = ("train", "val", "test", "all")
TARGET_KINDS = ("classification", "regression")

#: Hook mapping a dataset *name* (not an existing path) to a local file path, e.g. a catalog
#: ``datasets.fetch``. ``load(source)`` calls it when ``source`` is not an existing file.
resolver: Callable[[str], os.PathLike | str] | None = None

# target names that mean the same column in the other layout
_ALIASES = {
    "count": ("n_symbols",),
    "bold": ("is_bold",),
    "is_bold": ("bold",),
    "pixel_noise": ("pixel_noise_scale",),
    "pixel_noise_scale": ("pixel_noise",),
    "foreground_style": ("foreground_kind",),
    "background_style": ("background_kind",),
}


class LoadError(SynprobeError, ValueError):
    """A load request does not fit the file: unknown split, split name, target or option."""


def set_resolver(fn: Callable[[str], os.PathLike | str] | None) -> None:
    """Install the hook that maps dataset names to local paths (``None`` removes it)."""
    global resolver
    resolver = fn


# --------------------------------------------------------------------------- attribute table


@dataclass
class Table:
    """Every attribute column of a file (all rows), without the images.

    ``columns[name]`` is (N,) or (N, slots); categorical columns hold int codes (-1: no value)
    named by ``categories[name]`` (the file's full vocabulary, in file order).
    """

    path: str
    layout: str  # "synprobe" | "synbols"
    n: int
    columns: dict[str, np.ndarray]
    categories: dict[str, tuple]
    docs: dict[str, str] = field(default_factory=dict)
    splits: dict[str, np.ndarray] = field(default_factory=dict)  # name -> bool (N, 3)

    def resolve(self, name: str, what: str = "target") -> str:
        """The column called ``name`` (or one of its aliases); a one-line error listing columns."""
        if name in self.columns:
            return name
        for alt in _ALIASES.get(name, ()):
            if alt in self.columns:
                return alt
        near = difflib.get_close_matches(name, list(self.columns), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise LoadError(f"{self.path}: unknown {what} {name!r}{hint}; columns: {', '.join(sorted(self.columns))}")

    def first(self, name: str) -> np.ndarray:
        """The column's first slot, (N,) (symbol columns: the first symbol, as in ``y``)."""
        a = self.columns[name]
        return a if a.ndim == 1 else a.reshape(len(a), -1)[:, 0]

    def decode(self, name: str, values: np.ndarray | None = None) -> np.ndarray:
        """Category names of a categorical column's codes (object array, None for -1)."""
        cats = self.categories.get(name)
        if cats is None:
            raise LoadError(f"{self.path}: column {name!r} is not categorical")
        v = self.columns[name] if values is None else np.asarray(values)
        lut = np.array([*cats, None], dtype=object)  # code -1 -> None
        return lut[np.where(v >= 0, v, len(cats))]


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
    with open_dataset(path) as f:
        return _table(f, path)


def _table(f, path: Path) -> Table:
    n = int(f["x"].shape[0])
    splits = _read_splits(f, path, n)
    if "attrs" in f:
        cols, cats, docs = {}, {}, {}
        for name in f["attrs"]:
            d = f["attrs"][name]
            cols[name] = d[()]
            if "categories" in d.attrs:
                cats[name] = tuple(json.loads(d.attrs["categories"]))
            if "doc" in d.attrs:
                docs[name] = str(d.attrs["doc"])
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


def _disk_cache_file(key: tuple) -> Path:
    import hashlib

    from synprobe.config import cache_home

    h = hashlib.sha256(json.dumps([*key, _TABLE_CACHE_VERSION]).encode()).hexdigest()[:32]
    return cache_home() / "tables" / f"{h}.npz"


_TABLE_CACHE_VERSION = 1


def _disk_cache_get(key: tuple):
    """The parsed ``y`` table of a Synbols file from ``$SYNPROBE_CACHE/tables`` (None: not there)."""
    p = _disk_cache_file(key)
    if not p.exists():
        return None
    try:
        with np.load(p, allow_pickle=False) as z:
            meta = json.loads(str(z["__meta__"]))
            cols = {name: z[f"c{i}"] for i, name in enumerate(meta["columns"])}
        return cols, {k: tuple(v) for k, v in meta["categories"].items()}
    except Exception:  # noqa: BLE001 - a damaged cache entry is rebuilt, never trusted
        return None


def _disk_cache_put(key: tuple, cols: dict, cats: dict) -> None:
    p = _disk_cache_file(key)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        meta = json.dumps({"columns": list(cols), "categories": cats}, ensure_ascii=False)
        with open(tmp, "wb") as fh:
            np.savez(fh, __meta__=np.array(meta), **{f"c{i}": a for i, a in enumerate(cols.values())})
        os.replace(tmp, p)
    except OSError:  # a read-only or full cache folder only costs the next load a re-parse
        pass


def _read_splits(f, path: Path, n: int) -> dict[str, np.ndarray]:
    from synprobe.errors import FormatError

    out = {}
    if "split" in f:
        for name in f["split"]:
            m = f["split"][name][()]
            if m.shape != (n, 3):
                raise FormatError(f"{path}: split/{name} has shape {m.shape}; expected ({n}, 3)")
            out[name] = m.astype(bool, copy=False)
    return out


def _parse_synbols_y(d, path: Path) -> tuple[dict, dict]:
    """Columns from Synbols' per-sample JSON: one ``json.loads`` over the whole file, then one
    list comprehension per key. Nested ``{style, ...}`` dicts become ``<key>_kind`` /
    ``<key>_<sub>``, 2-lists ``<key>_x`` / ``<key>_y``, ``symbols`` gives ``n_symbols``;
    "True"/"False" strings become bools; other strings become categorical (sorted vocabulary)."""
    from synprobe.errors import FormatError

    raw = d[()]
    items = [s if isinstance(s, bytes) else str(s).encode() for s in raw.tolist()]
    try:
        recs = json.loads(b"[" + b",".join(items) + b"]")
    except ValueError as e:
        raise FormatError(f"{path}: y is not one JSON object per sample ({e})") from None
    if not all(isinstance(r, dict) for r in recs):
        raise FormatError(f"{path}: y is not one JSON object per sample")
    keys: dict[str, None] = {}
    for r in recs[:1000]:  # key order of the first records; later rows may miss keys
        keys.update(dict.fromkeys(r))
    keys.update(dict.fromkeys(k for r in recs for k in r if k not in keys))
    raw_cols: dict[str, list] = {}
    for k in keys:
        vals = [r.get(k) for r in recs]
        sample = next((v for v in vals if v is not None), None)
        if k == "symbols":
            raw_cols["n_symbols"] = [len(v) if isinstance(v, list) else 0 for v in vals]
        elif isinstance(sample, dict):
            subs: dict[str, None] = {}
            for v in vals[:1000]:
                if isinstance(v, dict):
                    subs.update(dict.fromkeys(v))
            for s in subs:
                name = f"{k}_kind" if s == "style" else f"{k}_{s}"
                raw_cols[name] = [v.get(s) if isinstance(v, dict) else None for v in vals]
        elif isinstance(sample, list):
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in sample) and len(sample) == 2:
                raw_cols[f"{k}_x"] = [v[0] if isinstance(v, list) and len(v) == 2 else None for v in vals]
                raw_cols[f"{k}_y"] = [v[1] if isinstance(v, list) and len(v) == 2 else None for v in vals]
        else:
            raw_cols[k] = vals
    cols, cats = {}, {}
    for name, vals in raw_cols.items():
        got = _typed(vals)
        if got is None:
            continue
        a, c = got
        cols[name] = a
        if c is not None:
            cats[name] = c
    return cols, cats


def _typed(vals: list):
    """(array, categories or None) for one parsed JSON column; None when it has no scalar form."""
    present = [v for v in vals if v is not None]
    if not present:
        return None
    kinds = {type(v) for v in present}
    if kinds <= {bool}:
        return np.array([bool(v) for v in vals]), None
    if kinds <= {str} and set(present) <= {"True", "False", "true", "false"}:
        return np.array([v in ("True", "true") for v in vals]), None
    if kinds <= {int}:
        if len(present) == len(vals):
            return np.array(vals, dtype=np.int64), None
        return np.array([np.nan if v is None else v for v in vals], dtype=np.float64), None
    if kinds <= {int, float}:
        return np.array([np.nan if v is None else v for v in vals], dtype=np.float64), None
    if kinds <= {str, int, float, bool}:
        seen: dict = {}
        first = np.array([-1 if v is None else seen.setdefault(str(v), len(seen)) for v in vals], np.int64)
        names = sorted(seen)
        rank = np.empty(len(seen) + 1, np.int64)
        rank[[seen[k] for k in names]] = np.arange(len(names))
        rank[-1] = -1  # missing value
        return rank[first].astype(np.int32), tuple(names)
    return None


# --------------------------------------------------------------------------- image reads


class _XReader:
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
                return None if off is None else [(0, self.n, int(off))]
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
            runs = []
            for k, (row, off, size, fmask) in enumerate(infos):
                if row != k * r or size != full or fmask != 0 or off is None:
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
                    raise OSError(f"{self.path}: unexpected end of file reading x")
                buf, pos = buf[got:], pos + got

    def read(self, rows: np.ndarray | None = None) -> np.ndarray:
        """All rows (``rows=None``) or the sorted unique ``rows``, as one new array."""
        d = self.d
        m = self.n if rows is None else len(rows)
        out = np.empty((m, *d.shape[1:]), d.dtype)
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


# --------------------------------------------------------------------------- targets


def _parse_target(spec) -> tuple[str, dict]:
    if not isinstance(spec, str) or not spec.strip():
        raise LoadError(f"target: expected a column name such as 'char' or 'scale:bins=10', got {spec!r}")
    name, _, rest = spec.partition(":")
    opts = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        k, eq, v = part.partition("=")
        k = k.strip()
        if k not in ("bins", "quantiles") or not eq:
            raise LoadError(f"target {spec!r}: unknown option {part!r}; expected bins=K or quantiles=K")
        try:
            opts[k] = int(v)
        except ValueError:
            opts[k] = 0
        if opts[k] < 1:
            raise LoadError(f"target {spec!r}: {k} must be a positive integer, got {v.strip()!r}")
    if len(opts) > 1:
        raise LoadError(f"target {spec!r}: give bins=K or quantiles=K, not both")
    return name.strip(), opts


@dataclass(frozen=True)
class _Target:
    y: np.ndarray  # (N,) over the whole file
    kind: str
    classes: tuple
    class_values: np.ndarray | None
    bin_edges: np.ndarray | None


def _make_target(t: Table, col: str, spec: str, opts: dict, target_kind: str | None) -> _Target:
    v = t.first(col)
    cats = t.categories.get(col)
    numeric_float = cats is None and v.dtype.kind == "f"
    if opts:
        if cats is not None or v.dtype == bool:
            raise LoadError(f"target {spec!r}: column {col!r} is categorical; bins apply to numeric columns")
        if target_kind == "regression":
            raise LoadError(f"target {spec!r}: binned targets are classes; drop target_kind='regression'")
        f = v.astype(np.float64)
        ok = np.isfinite(f)
        if not ok.any():
            raise LoadError(f"target {spec!r}: column {col!r} has no finite values")
        k = opts.get("bins") or opts["quantiles"]
        lo, hi = float(f[ok].min()), float(f[ok].max())
        if "bins" in opts:
            edges = np.linspace(lo, hi, k + 1) if hi > lo else np.array([lo, hi])
        else:
            edges = np.unique(np.quantile(f[ok], np.linspace(0, 1, k + 1)))
            if len(edges) < 2:
                edges = np.array([lo, hi])
        y = np.searchsorted(edges[1:-1], np.where(ok, f, lo), side="right").astype(np.int64)
        y[~ok] = -1
        nb = len(edges) - 1
        classes = tuple(f"[{edges[i]:.4g}, {edges[i + 1]:.4g}{']' if i == nb - 1 else ')'}" for i in range(nb))
        return _Target(y, "classification", classes, None, edges)
    kind = target_kind or ("regression" if numeric_float else "classification")
    if kind == "regression":
        if cats is not None:
            raise LoadError(f"target {spec!r}: column {col!r} is categorical; regression needs a numeric column")
        return _Target(v.astype(np.float64), kind, (), None, None)
    if cats is not None:
        present = np.unique(v[v >= 0]).astype(np.int64)
        remap = np.full(len(cats), -1, np.int64)
        remap[present] = np.arange(len(present))
        y = np.where(v >= 0, remap[np.maximum(v, 0).astype(np.int64)], -1)
        return _Target(y, kind, tuple(cats[i] for i in present.tolist()), None, None)
    if numeric_float:
        raise LoadError(f"target {spec!r}: column {col!r} is continuous; use '{col}:bins=10' (or quantiles=10) "
                        "for classes or target_kind='regression'")
    present = np.unique(v)
    y = np.searchsorted(present, v).astype(np.int64)
    names = tuple(str(bool(p)) if v.dtype == bool else str(int(p)) for p in present.tolist())
    return _Target(y, kind, names, present, None)


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
    with open_dataset(path) as f:
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
