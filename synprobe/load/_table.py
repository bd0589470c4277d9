"""The attribute table of a dataset file, for :mod:`synprobe.load`: every column, without the images.

Holds :class:`Table` (every attribute column, categories, splits), :func:`file_table` (the table of
an open file; Synbols tables cached in memory and in ``$SYNPROBE_CACHE/tables/``) and the parser of
Synbols 1.0.2's per-sample ``y`` JSON into typed columns. :class:`LoadError` lives here, the lowest
module of the package, so that every module of it can raise it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from synprobe.config import cache_home
from synprobe.errors import FormatError, SynprobeError, did_you_mean
from synprobe.io import validate

# target names that mean the same column in the other layout
ALIASES = {
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
        for alt in ALIASES.get(name, ()):
            if alt in self.columns:
                return alt
        hint = did_you_mean(name, list(self.columns))
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


# --------------------------------------------------------------------------- a file's table (cached)


_CACHE: dict[tuple, Table] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 4


def file_key(path: Path) -> tuple:
    """What names one version of a file: (resolved path, mtime, size)."""
    st = path.stat()
    return (str(path.resolve()), st.st_mtime_ns, st.st_size)


def file_table(f, path: Path) -> Table:
    """The table of a file opened by ``open_dataset`` (validated; categorical codes checked here,
    where the columns are read anyway). Synbols tables are parsed once per file version and
    cached, in memory and in ``$SYNPROBE_CACHE/tables/`` (safe to delete)."""
    n = int(f["x"].shape[0])
    splits = read_splits(f, path, n)
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
    key = file_key(path)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is None:
        got = disk_cache_get(key)
        if got is None:
            got = parse_synbols_y(f["y"], path)
            disk_cache_put(key, *got)
        hit = Table(str(path), "synbols", n, got[0], got[1], {}, {})
        with _CACHE_LOCK:
            while len(_CACHE) >= _CACHE_MAX:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = hit
    return Table(hit.path, hit.layout, n, hit.columns, hit.categories, {}, splits)


def disk_cache_file(key: tuple) -> Path:
    h = hashlib.sha256(json.dumps([*key, TABLE_CACHE_VERSION]).encode()).hexdigest()[:32]
    return cache_home() / "tables" / f"{h}.npz"


TABLE_CACHE_VERSION = 1


def disk_cache_get(key: tuple):
    """The parsed ``y`` table of a Synbols file from ``$SYNPROBE_CACHE/tables`` (None: not there)."""
    p = disk_cache_file(key)
    if not p.exists():
        return None
    try:
        validate.check_npz(p)
        with np.load(p, allow_pickle=False) as z:
            meta = json.loads(str(z["__meta__"]))
            cols = {name: z[f"c{i}"] for i, name in enumerate(meta["columns"])}
        return cols, {k: tuple(v) for k, v in meta["categories"].items()}
    except Exception:  # noqa: BLE001 - a damaged cache entry is rebuilt, never trusted
        return None


def disk_cache_put(key: tuple, cols: dict, cats: dict) -> None:
    p = disk_cache_file(key)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        meta = json.dumps({"columns": list(cols), "categories": cats}, ensure_ascii=False)
        with open(tmp, "wb") as fh:
            np.savez(fh, __meta__=np.array(meta), **{f"c{i}": a for i, a in enumerate(cols.values())})
        os.replace(tmp, p)
    except OSError:  # a read-only or full cache folder only costs the next load a re-parse
        pass


def read_splits(f, path: Path, n: int) -> dict[str, np.ndarray]:
    """The file's ``split/<name>`` masks as bool (N, 3) arrays (train, val, test), shapes checked."""
    out = {}
    if "split" in f:
        for name in f["split"]:
            m = f["split"][name][()]
            if m.shape != (n, 3):
                raise FormatError(f"{path}: split/{name} has shape {m.shape}; expected ({n}, 3)")
            out[name] = m.astype(bool, copy=False)
    return out


def parse_synbols_y(d, path: Path) -> tuple[dict, dict]:
    """Columns from Synbols' per-sample JSON: one ``json.loads`` over the whole file, then one
    list comprehension per key. Nested ``{style, ...}`` dicts become ``<key>_kind`` /
    ``<key>_<sub>``, 2-lists ``<key>_x`` / ``<key>_y``, ``symbols`` gives ``n_symbols``;
    "True"/"False" strings become bools; other strings become categorical (sorted vocabulary)."""
    raw = d[()]
    items = [s if isinstance(s, bytes) else str(s).encode() for s in raw.tolist()]
    big = max(range(len(items)), key=lambda i: len(items[i]), default=0)
    if items and len(items[big]) > validate.MAX_LABEL_BYTES:
        raise FormatError(
            f"{path}: y[{big}] is a label of {len(items[big]):,} bytes; at most {validate.MAX_LABEL_BYTES:,}"
        )
    # orjson: nesting bounded at 1024 levels (an error, never a RecursionError); the records are then
    # read two levels deep only, so no depth walk over every label
    recs = validate.loads_json(
        b"[" + b",".join(items) + b"]",
        f"{path}: y",
        max_bytes=len(items) * validate.MAX_LABEL_BYTES + 2,
        max_depth=None,
    )
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
        got = typed_column(vals)
        if got is None:
            continue
        a, c = got
        cols[name] = a
        if c is not None:
            cats[name] = c
    return cols, cats


def typed_column(vals: list):
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
