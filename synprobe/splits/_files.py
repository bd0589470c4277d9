"""Splits of dataset files: the kinds' table, :func:`compute_split`, writing and summarising.

Reads the ``attrs/<by>`` columns of an open file (categorical codes ranked by name, missing values
excluded), dispatches to the pure functions of :mod:`synprobe.splits._kinds`, and stores a result
as ``split/<name>`` (:func:`write_split`) with the attributes :func:`split_attrs` records.
"""

from __future__ import annotations

import difflib
import json

import numpy as np

from synprobe.io.h5 import open_dataset
from synprobe.rng import check_seed
from synprobe.splits._common import PARTS, RATIOS, SplitError, check_ratios
from synprobe.splits._kinds import (
    compositional_split,
    environments_split,
    extrapolation_split,
    interpolation_split,
    percentile_split,
    random_split,
    stratified_split,
)

KINDS = ("random", "stratified", "percentile", "compositional", "interpolation", "extrapolation", "environments")
_CATEGORICAL = ("stratified", "compositional")  # need unordered values: categories, ints, bools
_NUMERIC = ("percentile", "interpolation", "extrapolation")  # need ordered values: not categorical
_PARAMS = {  # keyword arguments each kind accepts in compute_split
    "random": (),
    "percentile": (),
    "compositional": (),
    "stratified": ("balance",),
    "interpolation": ("holdout",),
    "extrapolation": ("train_range",),
    "environments": ("test_values", "val_values"),
}
# Synbols' four stored splits: name -> (kind, by)
DEFAULT_SPLITS = {
    "random": ("random", None),
    "stratified_char": ("stratified", "char"),
    "stratified_font": ("stratified", "font"),
    "compositional_char_font": ("compositional", ("char", "font")),
}


# --- dataset files ----------------------------------------------------------------------------


class _Column:
    """Slot 0 of ``attrs/<name>``: values (N,), valid (N,) bool, names (sorted categories) or None.

    Categorical codes are replaced by the rank of their name among the sorted category names, so
    a split on a file's codes equals the split on the names themselves, whatever the file's
    vocabulary order; -1 (no value) rows are not valid.
    """

    def __init__(self, f, name: str):
        d = f["attrs"][name]
        a = d[()]
        a = a.reshape(len(a), -1)[:, 0] if a.ndim > 1 else a
        self.name, self.names = name, None
        cats = d.attrs.get("categories")
        if cats is not None:
            cats = json.loads(cats)
            order = sorted(range(len(cats)), key=cats.__getitem__)
            rank = np.empty(len(cats), np.int64)
            rank[order] = np.arange(len(cats))
            self.names = [cats[i] for i in order]
            self.valid = a >= 0
            self.values = np.where(self.valid, rank[np.clip(a, 0, None)] if len(rank) else -1, -1)
        else:
            self.values = a
            self.valid = ~np.isnan(a) if a.dtype.kind == "f" else np.ones(len(a), bool)

    @property
    def categorical(self) -> bool:
        return self.names is not None


def _columns_of(f) -> list[str]:
    return sorted(f["attrs"].keys()) if "attrs" in f else []


def _read_column(f, name: str) -> _Column:
    cols = _columns_of(f)
    if not cols:
        raise SplitError(f"{f.filename}: no attrs/ columns (a Synbols file?); only --kind random works")
    if name not in cols:
        close = difflib.get_close_matches(name, cols, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SplitError(f"by: unknown column {name!r}{hint}; the file has: {', '.join(cols)}")
    return _Column(f, name)


def _by_list(by) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [s.strip() for s in by.split(",") if s.strip()]
    return [str(s) for s in by]


def _n_rows(f) -> int:
    return int(f["x"].shape[0] if "x" in f else f["y"].shape[0])


def default_name(kind: str, by=None) -> str:
    """``random``, or ``<kind>_<by>`` (``stratified_font``, ``compositional_char_font``)."""
    cols = _by_list(by)
    return "_".join([kind, *cols]) if kind != "random" else "random"


def compute_split(f, kind: str, by=None, ratios=RATIOS, seed: int = 0, **kw) -> np.ndarray:
    """The split of an open dataset file (h5py ``File``) by the attribute column(s) ``by``.

    Args:
        f: open h5py file (or group) with ``attrs/<by>`` columns; slot 0 of per-symbol columns.
        kind: one of :data:`KINDS`.
        by: column name; for ``compositional`` two names (``"char,font"`` or a pair). Not used
            by ``random``.
        ratios, seed: as the split function.
        **kw: the kind's own arguments: ``balance`` (stratified), ``holdout`` (interpolation),
            ``train_range`` (extrapolation), ``test_values`` / ``val_values`` (environments;
            category names for categorical columns).

    Returns:
        bool (N, 3). Rows whose value is missing (code -1, NaN) are excluded (all False).
    """
    if kind not in KINDS:
        close = difflib.get_close_matches(str(kind), KINDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SplitError(f"kind: unknown {kind!r}{hint}; expected one of {', '.join(KINDS)}")
    extra = sorted(set(kw) - set(_PARAMS[kind]))
    if extra:
        allowed = ", ".join(_PARAMS[kind]) or "none"
        raise SplitError(f"{extra[0]}: not an argument of kind {kind!r} (its arguments: {allowed})")
    r = check_ratios(ratios)
    if kind == "random":
        return random_split(_n_rows(f), r, seed)
    names = _by_list(by)
    want = 2 if kind == "compositional" else 1
    if len(names) != want:
        example = "two columns a,b, e.g. char,font" if want == 2 else "one column, e.g. font or scale"
        raise SplitError(f"by: kind {kind!r} needs {example}; got {by!r}")
    cols = [_read_column(f, name) for name in names]
    for c in cols:
        _check_type(kind, c)
    valid = np.logical_and.reduce([c.valid for c in cols])
    try:
        sub = _dispatch(kind, cols, [c.values[valid] for c in cols], r, seed, kw)
    except SplitError as e:  # name the column where the pure function says "values", "a" or "b"
        msg, labels = str(e), ("a", "b") if kind == "compositional" else ("values",)
        for label, c in zip(labels, cols):
            if msg.startswith(label + ":"):
                msg = f"by {c.name!r}:" + msg[len(label) + 1 :]
        raise SplitError(msg) from None
    m = np.zeros((len(valid), 3), bool)
    m[valid] = sub
    return m


def _dispatch(kind: str, cols: list, vals: list, r, seed: int, kw: dict) -> np.ndarray:
    """The pure split function of ``kind`` on the valid rows' values."""
    if kind == "stratified":
        return stratified_split(vals[0], r, seed, **kw)
    if kind == "compositional":
        return compositional_split(vals[0], vals[1], r, seed)
    if kind == "percentile":
        return percentile_split(vals[0], r)
    if kind == "interpolation":
        return interpolation_split(vals[0], kw.get("holdout"), r, seed)
    if kind == "extrapolation":
        return extrapolation_split(vals[0], kw.get("train_range"), r, seed)
    tv, vv = kw.get("test_values"), kw.get("val_values")
    if cols[0].categorical:
        tv = _ranks(cols[0], tv, "test_values")
        vv = None if vv is None else _ranks(cols[0], vv, "val_values")
    return environments_split(vals[0], tv, vv, r, seed)


def _check_type(kind: str, c: _Column) -> None:
    if kind in _CATEGORICAL and not c.categorical and c.values.dtype.kind == "f":
        raise SplitError(
            f"by: kind {kind!r} needs a categorical or integer column; {c.name!r} is "
            f"{c.values.dtype} (use percentile, interpolation or extrapolation)"
        )
    if kind in _NUMERIC and c.categorical:
        raise SplitError(
            f"by: kind {kind!r} needs a numeric column; {c.name!r} is categorical and its codes "
            "have no order (use stratified or environments)"
        )


def _ranks(c: _Column, wanted, what: str) -> list[int]:
    """Category names -> the column's rank codes; errors name the values present in the data."""
    wanted = [wanted] if isinstance(wanted, str) else list(wanted or [])
    index = {n: i for i, n in enumerate(c.names)}
    present = np.unique(c.values[c.valid])
    missing = [w for w in wanted if w not in index or index[w] not in present]
    if missing:
        shown = [c.names[i] for i in present[:20]]
        more = ", ..." if len(present) > 20 else ""
        raise SplitError(
            f"{what}: {', '.join(map(str, missing))} not among the values of {c.name!r}: {', '.join(shown)}{more}"
        )
    return [index[w] for w in wanted]


def default_splits(f, seed: int, ratios=RATIOS, strict: bool = False) -> dict[str, np.ndarray]:
    """Synbols' four stored splits of an open file: {name: bool (N, 3)} (see :data:`DEFAULT_SPLITS`).

    ``random`` equals the generator's ``split/random`` for the same seed. Without ``strict``,
    a split that cannot be made (fewer unique chars or fonts than parts, no ``attrs/``) is
    left out of the dict; with it, its :class:`SplitError` is raised.
    """
    out = {}
    for name, (kind, by) in DEFAULT_SPLITS.items():
        try:
            out[name] = compute_split(f, kind, by, ratios, seed)
        except SplitError:
            if strict:
                raise
    return out


def split_attrs(kind: str, by=None, ratios=RATIOS, seed: int = 0, **kw) -> dict:
    """HDF5 attributes recorded on ``split/<name>``: kind, by (comma-joined), ratios, seed, and
    the kind's own arguments as JSON strings."""
    attrs = {
        "kind": kind,
        "ratios": np.asarray(check_ratios(ratios), np.float64),
        "seed": np.int64(check_seed(seed, SplitError)),
    }
    if kind != "random" and by is not None:
        attrs["by"] = ",".join(_by_list(by))
    for k, v in kw.items():
        if v is not None:
            attrs[k] = json.dumps(list(v) if isinstance(v, tuple) else v, ensure_ascii=False)
    return attrs


def check_writable(f, name: str, overwrite: bool) -> None:
    """Errors when ``name`` is not a valid split name, or exists and ``overwrite`` is False."""
    if not name or "/" in name or name != name.strip():
        raise SplitError(f"name: {name!r} must be non-empty, without '/' or surrounding spaces")
    if "split" in f and name in f["split"] and not overwrite:
        raise SplitError(f"{f.filename}: split/{name} exists; pass --overwrite (overwrite=True) to replace it")


def write_split(path, name: str, membership, overwrite: bool = False, **attrs) -> None:
    """Store ``membership`` as ``split/<name>`` in a finished dataset file, with ``attrs``.

    The file is checked (synprobe format, complete; or Synbols' layout), then opened ``r+``;
    an existing split of that name is replaced only with ``overwrite``. The write happens in
    place: the file's bytes change, and it must not be open elsewhere.

    Args:
        membership: bool (N, 3), N = the file's sample count, at most one True per row.
        **attrs: HDF5 attributes of the dataset, e.g. ``**split_attrs(kind, by, ratios, seed)``.
    """
    import h5py  # here, not at the top: ``import synprobe.splits`` stays free of h5py (tests/test_api.py)

    m = np.asarray(membership)
    with open_dataset(path) as f:
        n = _n_rows(f)
        check_writable(f, name, overwrite)
    if m.shape != (n, 3) or m.dtype != bool:
        raise SplitError(f"membership: must be bool ({n}, 3) for {path}; got {m.dtype} {m.shape}")
    if (m.sum(axis=1) > 1).any():
        raise SplitError("membership: a row is in more than one part")
    with h5py.File(path, "r+") as f:
        key = f"split/{name}"
        if key in f:
            del f[key]
        d = f.create_dataset(key, data=m)
        for k, v in attrs.items():
            d.attrs[k] = v


def summarize(f, membership: np.ndarray, by=None) -> dict:
    """Per part (train, val, test, excluded): samples and, per ``by`` column, unique values
    (and [min, max] for numeric columns); for two columns also unique combinations."""
    m = np.asarray(membership, bool)
    cols = [_Column(f, name) for name in _by_list(by)]
    out = {}
    for p, rows in zip((*PARTS, "excluded"), (*m.T, ~m.any(axis=1))):
        d = {"samples": int(rows.sum())}
        for c in cols:
            v = c.values[rows & c.valid]
            d[c.name] = int(len(np.unique(v)))
            if not c.categorical and len(v):
                d[c.name + " range"] = (float(v.min()), float(v.max()))
        if len(cols) == 2:
            ok = rows & cols[0].valid & cols[1].valid
            pairs = np.stack([cols[0].values[ok], cols[1].values[ok]], axis=1)
            d["combinations"] = int(len(np.unique(pairs, axis=0)))
        out[p] = d
    return out
