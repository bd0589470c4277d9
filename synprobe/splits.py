"""Train / val / test splits: random, held-out values, tails, combinations, ranges, environments.

A split is a bool array ``(N, 3)``: columns ``[train, val, test]``. A row is in at most one part;
a row that is all False is *excluded* (only NaN values, missing categorical codes, or samples
outside every range of an interval kind; never silently). The rules, with their guarantees, are
in ``docs/splits.md``. The pure functions work on numpy arrays; :func:`compute_split` reads the
column from a dataset file and :func:`write_split` stores the result as ``split/<name>``:

    >>> import numpy as np
    >>> from synprobe.splits import stratified_split
    >>> m = stratified_split(np.array(list("aabbccddeeff")), ratios=(0.5, 0.25, 0.25), seed=0)
    >>> m.sum(axis=0).tolist()              # 3 / 1.5 / 1.5 letters -> 3, 2, 1 (largest remainder)
    [6, 4, 2]

Every random choice comes from an explicit ``seed`` (numpy ``Generator`` seeded with the seed and
the draw's name, or the counter-based :class:`synprobe.rng.Draws`).
"""

from __future__ import annotations

import difflib
import json
import math

import numpy as np

from synprobe.errors import SynprobeError
from synprobe.rng import Draws, name_key

__all__ = [
    "DEFAULT_SPLITS",
    "KINDS",
    "RATIOS",
    "SplitError",
    "check_ratios",
    "check_writable",
    "compositional_split",
    "compute_split",
    "default_name",
    "default_splits",
    "environments_split",
    "extrapolation_split",
    "interpolation_split",
    "percentile_split",
    "random_split",
    "split_attrs",
    "stratified_split",
    "summarize",
    "write_split",
]

RATIOS = (0.6, 0.2, 0.2)  # train, val, test (Synbols' default)
PARTS = ("train", "val", "test")
KINDS = ("random", "stratified", "percentile", "compositional", "interpolation", "extrapolation", "environments")
_CATEGORICAL = ("stratified", "compositional")  # need unordered values: categories, ints, bools
_NUMERIC = ("percentile", "interpolation", "extrapolation")  # need ordered values: not categorical
_PARAMS = {  # keyword arguments each kind accepts in compute_split
    "random": (), "percentile": (), "compositional": (),
    "stratified": ("balance",), "interpolation": ("holdout",), "extrapolation": ("train_range",),
    "environments": ("test_values", "val_values"),
}
# Synbols' four stored splits: name -> (kind, by)
DEFAULT_SPLITS = {
    "random": ("random", None),
    "stratified_char": ("stratified", "char"),
    "stratified_font": ("stratified", "font"),
    "compositional_char_font": ("compositional", ("char", "font")),
}


class SplitError(SynprobeError, ValueError):
    """A split cannot be made as asked (kind, column, ratios, ranges or values)."""


# --- helpers --------------------------------------------------------------------------------


def check_ratios(ratios) -> tuple[float, float, float]:
    """Validated (train, val, test) ratios: 3 finite non-negative numbers summing to 1."""
    try:
        r = tuple(float(x) for x in ratios)
    except (TypeError, ValueError):
        r = ()
    if len(r) != 3 or not all(math.isfinite(x) and x >= 0 for x in r) or abs(sum(r) - 1.0) > 1e-6:
        raise SplitError(f"ratios: {ratios!r} must be 3 non-negative numbers (train, val, test) summing to 1, "
                         "e.g. 0.6,0.2,0.2")
    return r


def _seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SplitError(f"seed: {seed!r} must be an integer >= 0")
    return int(seed)


def _rng(seed: int, name: str) -> np.random.Generator:
    """A numpy Generator keyed by (seed, draw name): independent streams per name."""
    return np.random.default_rng([_seed(seed), name_key(name) & 0xFFFFFFFF, name_key(name) >> 32])


def _membership(part: np.ndarray) -> np.ndarray:
    """bool (N, 3) from part ids (N,): 0 train, 1 val, 2 test, -1 excluded."""
    m = np.zeros((len(part), 3), dtype=bool)
    rows = np.flatnonzero(part >= 0)
    m[rows, part[rows]] = True
    return m


def _n_positive(r) -> int:
    return sum(x > 0 for x in r)


def _allocate(k: int, r) -> np.ndarray:
    """Split k items by ratios: largest remainder (each part within 1 of r*k), then every part
    with a positive ratio takes at least one item from the largest part (needs k >= #positive)."""
    exact = np.asarray(r) * k
    c = np.floor(exact + 1e-9).astype(np.int64)
    while c.sum() > k:
        c[np.argmax(c)] -= 1
    for i in np.argsort(-(exact - c), kind="stable")[: k - c.sum()]:
        c[i] += 1
    for i in range(3):
        if r[i] > 0 and c[i] == 0:
            c[np.argmax(c)] -= 1
            c[i] += 1
    return c


def _unique(values, what: str, r):
    """np.unique with inverse; errors when fewer unique values than parts with a positive ratio."""
    uniq, inv = np.unique(np.asarray(values), return_inverse=True)
    if len(uniq) < _n_positive(r):
        raise SplitError(f"{what}: {len(uniq)} unique value(s), fewer than the {_n_positive(r)} parts with a "
                         "positive ratio; use a column with more values or set a ratio to 0")
    return uniq, inv.reshape(-1)


def _floats(values, what: str) -> np.ndarray:
    a = np.asarray(values)
    if a.dtype.kind not in "biuf":
        raise SplitError(f"{what}: needs numbers, got dtype {a.dtype}")
    return a.astype(np.float64)


def _train_val(inside: np.ndarray, part: np.ndarray, r, seed: int) -> np.ndarray:
    """Samples in ``inside`` go to train / val at random in the proportion r[0] : r[1]."""
    idx = np.flatnonzero(inside)
    order = idx[np.argsort(Draws(_seed(seed), idx).bits("split/val"), kind="stable")]
    frac = r[1] / (r[0] + r[1]) if r[0] + r[1] > 0 else 0.0
    n_val = int(round(frac * len(idx)))
    part[order[:n_val]] = 1
    part[order[n_val:]] = 0
    return _membership(part)


def _interval(rng, what: str) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in rng)
    except (TypeError, ValueError):
        raise SplitError(f"{what}: {rng!r} must be two numbers lo,hi") from None
    if math.isnan(lo) or math.isnan(hi) or lo > hi:
        raise SplitError(f"{what}: ({lo}, {hi}) must satisfy lo <= hi")
    return lo, hi


def _span(x: np.ndarray) -> str:
    ok = x[~np.isnan(x)]
    return f"[{ok.min():g}, {ok.max():g}]" if len(ok) else "(no values)"


# --- the split kinds --------------------------------------------------------------------------


def random_split(n: int, ratios=RATIOS, seed: int = 0) -> np.ndarray:
    """Random parts of exact sizes: train ``round(r0*n)``, val ``round(r1*n)``, test the rest.

    Samples are ordered by the counter-based hash of (seed, index, ``"split/random"``); the
    first ``n_train`` go to train, the next ``n_val`` to val. Identical to the ``split/random``
    written by :func:`synprobe.generator.generate` with the dataset seed.

    Returns:
        bool (n, 3); every row has exactly one True.
    """
    r = check_ratios(ratios)
    n = int(n)
    order = np.argsort(Draws(_seed(seed), np.arange(n)).bits("split/random"), kind="stable")
    n_train, n_val = int(round(r[0] * n)), int(round(r[1] * n))
    part = np.empty(n, np.int64)
    part[order[:n_train]], part[order[n_train : n_train + n_val]], part[order[n_train + n_val :]] = 0, 1, 2
    return _membership(part)


def stratified_split(values, ratios=RATIOS, seed: int = 0, balance: str = "values") -> np.ndarray:
    """Held-out values: the unique values are shuffled and partitioned, so the parts see disjoint values.

    Args:
        values: (N,) categorical values (any dtype; every value counts, including -1 or NaN).
        ratios: (train, val, test).
        seed: shuffles the unique values.
        balance: ``"values"``: the ratios apply to the number of unique values (largest
            remainder: each part within 1 of r*k, and every part with a positive ratio gets at
            least one value). ``"samples"``: values, largest first, go greedily to the part whose
            sample count is furthest below r*N.

    Returns:
        bool (N, 3); every row has exactly one True.
    """
    r = check_ratios(ratios)
    uniq, inv = _unique(values, "values", r)
    k = len(uniq)
    shuffled = _rng(seed, "split/stratified").permutation(k)  # value ids in shuffled order
    part_of = np.empty(k, np.int64)
    if balance == "values":
        part_of[shuffled] = np.repeat(np.arange(3), _allocate(k, r))
    elif balance == "samples":
        part_of = _greedy(np.bincount(inv, minlength=k), shuffled, r)
    else:
        raise SplitError(f"balance: unknown {balance!r}; expected 'values' or 'samples'")
    return _membership(part_of[inv])


def _greedy(counts: np.ndarray, shuffled: np.ndarray, r) -> np.ndarray:
    """Part of each value: largest values first (ties in shuffled order) to the largest deficit."""
    order = shuffled[np.argsort(-counts[shuffled], kind="stable")]
    target = np.asarray(r) * counts.sum()
    pos = np.flatnonzero(np.asarray(r) > 0)
    got = np.zeros(3)
    part_of = np.empty(len(counts), np.int64)
    for v in order:
        i = pos[np.argmax((target - got)[pos])]
        part_of[v] = i
        got[i] += counts[v]
    n_values = np.bincount(part_of, minlength=3)
    for i in pos:  # a positive part left without a value takes the smallest value of the fullest part
        if n_values[i] == 0:
            j = int(np.argmax(n_values))
            cand = np.flatnonzero(part_of == j)
            part_of[cand[np.argmin(counts[cand])]] = i
            n_values[j] -= 1
            n_values[i] += 1
    return part_of


def percentile_split(values, ratios=RATIOS) -> np.ndarray:
    """Tails of a numeric column (Synbols' benchmark convention): val = lowest, train = middle, test = highest.

    Sorted by value, the lower cut aims at rank ``round(r1*n)`` and the upper cut at
    ``n - min(round(r2*n), n - n_val)``; each cut moves to the nearest boundary between two
    different values (ties in distance: the higher boundary), so equal values never straddle
    parts. Without ties the counts are exact: val ``round(r1*n)``, test ``round(r2*n)``, train
    the rest. With heavy ties a part can come out smaller, even empty. NaN rows are excluded.

    Returns:
        bool (N, 3); max(val) < min(train) and max(train) < min(test).
    """
    r = check_ratios(ratios)
    x = _floats(values, "values")
    idx = np.flatnonzero(~np.isnan(x))
    _unique(x[idx], "values", r)
    order = idx[np.argsort(x[idx], kind="stable")]
    s, n = x[order], len(order)
    n_val = int(round(r[1] * n))
    n_test = min(int(round(r[2] * n)), n - n_val)
    bounds = np.flatnonzero(np.r_[True, s[1:] != s[:-1], True])  # ranks where a new value starts, and n
    lo, hi = _nearest(bounds, n_val), _nearest(bounds, n - n_test)
    part = np.full(len(x), -1, np.int64)
    part[order[:lo]], part[order[lo:hi]], part[order[hi:]] = 1, 0, 2
    return _membership(part)


def _nearest(bounds: np.ndarray, t: int) -> int:
    d = np.abs(bounds - t)
    return int(bounds[np.flatnonzero(d == d.min())[-1]])


def compositional_split(a, b, ratios=RATIOS, seed: int = 0) -> np.ndarray:
    """Held-out combinations of two categorical columns; every value of each is seen in training.

    The unique values of ``a`` and ``b`` get random codes ``0..ka-1`` and ``0..kb-1``; the residue
    ``d = (code_a - code_b) mod k`` picks the part: the k residues are allocated to
    train/val/test by the ratios (as :func:`stratified_split` allocates values). ``k`` is the
    smallest modulus (>= the number of positive parts) with every ``r*k`` whole, at most
    ``min(ka, kb, 100)``; otherwise that maximum. Then, for each value of ``a`` (then of ``b``)
    without a training sample, its most frequent combination moves to train.

    Guarantees: every sample in exactly one part; each (a, b) combination wholly in one part, so
    val/test combinations never occur in train and val/test share none; every value of ``a`` and
    of ``b`` occurs in train. On a full ka x kb grid with k dividing ka and kb, part i holds
    exactly ``c_i / k`` of the combinations (c_i residues), and no combination moves.

    Returns:
        bool (N, 3).
    """
    r = check_ratios(ratios)
    ua, ia = _unique(a, "a", r)
    ub, ib = _unique(b, "b", r)
    if len(ia) != len(ib):
        raise SplitError(f"a, b: lengths differ ({len(ia)} and {len(ib)})")
    ka, kb = len(ua), len(ub)
    k = _modulus(r, min(ka, kb, 100))
    code_a = _rng(seed, "split/compositional/a").permutation(ka)
    code_b = _rng(seed, "split/compositional/b").permutation(kb)
    residue_part = np.repeat(np.arange(3), _allocate(k, r))
    combos, cinv, ccount = np.unique(ia.astype(np.int64) * kb + ib, return_inverse=True, return_counts=True)
    cpart = residue_part[(code_a[combos // kb] - code_b[combos % kb]) % k]
    by_count = np.lexsort((combos, -ccount))  # most frequent first
    for codes, nval in ((combos // kb, ka), (combos % kb, kb)):
        seen = np.zeros(nval, bool)
        seen[codes[cpart == 0]] = True
        cand = by_count[~seen[codes[by_count]]]
        _, first = np.unique(codes[cand], return_index=True)  # each unseen value's most frequent combo
        cpart[cand[first]] = 0
    return _membership(cpart[cinv.reshape(-1)])


def _modulus(r, kmax: int) -> int:
    start = _n_positive(r)
    for k in range(start, kmax + 1):
        if all(abs(x * k - round(x * k)) < 1e-6 for x in r):
            return k
    return max(kmax, start)


def interpolation_split(values, holdout, ratios=RATIOS, seed: int = 0) -> np.ndarray:
    """Held-out interior range (Schott et al.): test = ``lo <= v <= hi``; the rest is train / val.

    ``holdout`` must hold samples and lie strictly inside the data: some values below ``lo``
    and some above ``hi``. The other samples go to val at random in the proportion
    ``r1 / (r0 + r1)`` (rounded), the rest to train; ``r2`` is not used. NaN rows are excluded.
    """
    r = check_ratios(ratios)
    x = _floats(values, "values")
    lo, hi = _interval(holdout, "holdout")
    ok = ~np.isnan(x)
    test = ok & (x >= lo) & (x <= hi)
    if not test.any():
        raise SplitError(f"holdout: [{lo:g}, {hi:g}] holds no samples; the values span {_span(x)}")
    if not ((x < lo) & ok).any() or not ((x > hi) & ok).any():
        raise SplitError(f"holdout: [{lo:g}, {hi:g}] is not interior; training needs values on both sides "
                         f"and the values span {_span(x)} (use extrapolation for a tail)")
    part = np.full(len(x), -1, np.int64)
    part[test] = 2
    return _train_val(ok & ~test, part, r, seed)


def extrapolation_split(values, train_range, ratios=RATIOS, seed: int = 0) -> np.ndarray:
    """Training range (Schott et al.): train / val = ``lo <= v <= hi``, test = everything outside.

    ``lo`` or ``hi`` may be infinite (one-sided). Inside the range, val is drawn at random in the
    proportion ``r1 / (r0 + r1)``; ``r2`` is not used. NaN rows are excluded.
    """
    r = check_ratios(ratios)
    x = _floats(values, "values")
    lo, hi = _interval(train_range, "train_range")
    ok = ~np.isnan(x)
    inside = ok & (x >= lo) & (x <= hi)
    if not inside.any():
        raise SplitError(f"train_range: [{lo:g}, {hi:g}] holds no samples; the values span {_span(x)}")
    if not (ok & ~inside).any():
        raise SplitError(f"train_range: [{lo:g}, {hi:g}] holds every sample, nothing is left to test; "
                         f"the values span {_span(x)}")
    part = np.full(len(x), -1, np.int64)
    part[ok & ~inside] = 2
    return _train_val(inside, part, r, seed)


def environments_split(values, test_values, val_values=None, ratios=RATIOS, seed: int = 0) -> np.ndarray:
    """Held-out environments (DomainBed / WILDS): whole groups of samples by attribute value.

    test = samples whose value is in ``test_values``. With ``val_values`` (out-of-distribution
    validation, WILDS' ``val``) val = samples with those values and train = the rest. Without
    it, val is drawn at random from the training environments in the proportion
    ``r1 / (r0 + r1)`` (in-distribution validation, WILDS' ``id_val``); ``r2`` is not used.
    """
    r = check_ratios(ratios)
    v = np.asarray(values)
    uniq = np.unique(v)
    test = _isin(v, uniq, test_values, "test_values")
    part = np.full(len(v), -1, np.int64)
    part[test] = 2
    if val_values is not None:
        val = _isin(v, uniq, val_values, "val_values")
        if (val & test).any():
            raise SplitError("val_values: shares values with test_values; an environment is in one part only")
        part[val] = 1
        test = test | val
    if test.all():
        raise SplitError("test_values: every value of the column is held out; leave some for training")
    if val_values is not None:
        part[~test] = 0
        return _membership(part)
    return _train_val(~test, part, r, seed)


def _isin(v: np.ndarray, uniq: np.ndarray, wanted, what: str) -> np.ndarray:
    wanted = [wanted] if isinstance(wanted, str) else list(wanted or [])
    if not wanted:
        raise SplitError(f"{what}: give at least one value")
    if v.dtype.kind in "biuf":
        try:
            w = np.asarray(wanted, dtype=np.float64)
        except (TypeError, ValueError):
            raise SplitError(f"{what}: {wanted!r} must be numbers for this column") from None
        have, vv = uniq.astype(np.float64), v.astype(np.float64)
    else:
        w, have, vv = np.asarray([str(x) for x in wanted]), uniq.astype(str), v.astype(str)
    missing = [str(x) for x in w if x not in have]
    if missing:
        shown = ", ".join(str(x) for x in have[:20]) + (", ..." if len(have) > 20 else "")
        raise SplitError(f"{what}: {', '.join(missing)} not among the column's values: {shown}")
    return np.isin(vv, w)


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
        raise SplitError(f"by: kind {kind!r} needs a categorical or integer column; {c.name!r} is "
                         f"{c.values.dtype} (use percentile, interpolation or extrapolation)")
    if kind in _NUMERIC and c.categorical:
        raise SplitError(f"by: kind {kind!r} needs a numeric column; {c.name!r} is categorical and its codes "
                         "have no order (use stratified or environments)")


def _ranks(c: _Column, wanted, what: str) -> list[int]:
    """Category names -> the column's rank codes; errors name the values present in the data."""
    wanted = [wanted] if isinstance(wanted, str) else list(wanted or [])
    index = {n: i for i, n in enumerate(c.names)}
    present = np.unique(c.values[c.valid])
    missing = [w for w in wanted if w not in index or index[w] not in present]
    if missing:
        shown = [c.names[i] for i in present[:20]]
        more = ", ..." if len(present) > 20 else ""
        raise SplitError(f"{what}: {', '.join(map(str, missing))} not among the values of {c.name!r}: "
                         f"{', '.join(shown)}{more}")
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
    attrs = {"kind": kind, "ratios": np.asarray(check_ratios(ratios), np.float64), "seed": np.int64(_seed(seed))}
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
    import h5py

    from synprobe.io.h5 import open_dataset

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
