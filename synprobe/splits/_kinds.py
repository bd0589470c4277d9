"""The split kinds as pure functions on numpy arrays: random, stratified, percentile, compositional,
interpolation, extrapolation, environments.

Each returns the bool ``(N, 3)`` membership ``[train, val, test]``; :func:`synprobe.splits.compute_split`
applies them to a dataset file's columns. Import them from :mod:`synprobe.splits`.
"""

from __future__ import annotations

import numpy as np

from synprobe.rng import Draws, check_seed, rng_for
from synprobe.splits._common import (
    RATIOS,
    SplitError,
    allocate,
    as_floats,
    check_ratios,
    draw_train_val,
    membership_of,
    n_positive,
    parse_interval,
    unique_values,
    value_span,
)

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
    order = np.argsort(Draws(check_seed(seed, SplitError), np.arange(n)).bits("split/random"), kind="stable")
    n_train, n_val = int(round(r[0] * n)), int(round(r[1] * n))
    part = np.empty(n, np.int64)
    part[order[:n_train]], part[order[n_train : n_train + n_val]], part[order[n_train + n_val :]] = 0, 1, 2
    return membership_of(part)


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
    uniq, inv = unique_values(values, "values", r)
    k = len(uniq)
    shuffled = rng_for(seed, "split/stratified", SplitError).permutation(k)  # value ids in shuffled order
    part_of = np.empty(k, np.int64)
    if balance == "values":
        part_of[shuffled] = np.repeat(np.arange(3), allocate(k, r))
    elif balance == "samples":
        part_of = _greedy(np.bincount(inv, minlength=k), shuffled, r)
    else:
        raise SplitError(f"balance: unknown {balance!r}; expected 'values' or 'samples'")
    return membership_of(part_of[inv])


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
    x = as_floats(values, "values")
    idx = np.flatnonzero(~np.isnan(x))
    unique_values(x[idx], "values", r)
    order = idx[np.argsort(x[idx], kind="stable")]
    s, n = x[order], len(order)
    n_val = int(round(r[1] * n))
    n_test = min(int(round(r[2] * n)), n - n_val)
    bounds = np.flatnonzero(np.r_[True, s[1:] != s[:-1], True])  # ranks where a new value starts, and n
    lo, hi = _nearest(bounds, n_val), _nearest(bounds, n - n_test)
    part = np.full(len(x), -1, np.int64)
    part[order[:lo]], part[order[lo:hi]], part[order[hi:]] = 1, 0, 2
    return membership_of(part)


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
    ua, ia = unique_values(a, "a", r)
    ub, ib = unique_values(b, "b", r)
    if len(ia) != len(ib):
        raise SplitError(f"a, b: lengths differ ({len(ia)} and {len(ib)})")
    ka, kb = len(ua), len(ub)
    k = _modulus(r, min(ka, kb, 100))
    code_a = rng_for(seed, "split/compositional/a", SplitError).permutation(ka)
    code_b = rng_for(seed, "split/compositional/b", SplitError).permutation(kb)
    residue_part = np.repeat(np.arange(3), allocate(k, r))
    combos, cinv, ccount = np.unique(ia.astype(np.int64) * kb + ib, return_inverse=True, return_counts=True)
    cpart = residue_part[(code_a[combos // kb] - code_b[combos % kb]) % k]
    by_count = np.lexsort((combos, -ccount))  # most frequent first
    for codes, nval in ((combos // kb, ka), (combos % kb, kb)):
        seen = np.zeros(nval, bool)
        seen[codes[cpart == 0]] = True
        cand = by_count[~seen[codes[by_count]]]
        _, first = np.unique(codes[cand], return_index=True)  # each unseen value's most frequent combo
        cpart[cand[first]] = 0
    return membership_of(cpart[cinv.reshape(-1)])


def _modulus(r, kmax: int) -> int:
    start = n_positive(r)
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
    x, ok, lo, hi, test = _in_range(values, holdout, "holdout")
    if not ((x < lo) & ok).any() or not ((x > hi) & ok).any():
        raise SplitError(
            f"holdout: [{lo:g}, {hi:g}] is not interior; training needs values on both sides "
            f"and the values span {value_span(x)} (use extrapolation for a tail)"
        )
    part = np.full(len(x), -1, np.int64)
    part[test] = 2
    return draw_train_val(ok & ~test, part, r, seed)


def _in_range(values, interval, name: str):
    """(values as floats, not-NaN mask, lo, hi, mask of lo <= v <= hi); an error when no sample is
    in the interval."""
    x = as_floats(values, "values")
    lo, hi = parse_interval(interval, name)
    ok = ~np.isnan(x)
    inside = ok & (x >= lo) & (x <= hi)
    if not inside.any():
        raise SplitError(f"{name}: [{lo:g}, {hi:g}] holds no samples; the values span {value_span(x)}")
    return x, ok, lo, hi, inside


def extrapolation_split(values, train_range, ratios=RATIOS, seed: int = 0) -> np.ndarray:
    """Training range (Schott et al.): train / val = ``lo <= v <= hi``, test = everything outside.

    ``lo`` or ``hi`` may be infinite (one-sided). Inside the range, val is drawn at random in the
    proportion ``r1 / (r0 + r1)``; ``r2`` is not used. NaN rows are excluded.
    """
    r = check_ratios(ratios)
    x, ok, lo, hi, inside = _in_range(values, train_range, "train_range")
    if not (ok & ~inside).any():
        raise SplitError(
            f"train_range: [{lo:g}, {hi:g}] holds every sample, nothing is left to test; "
            f"the values span {value_span(x)}"
        )
    part = np.full(len(x), -1, np.int64)
    part[ok & ~inside] = 2
    return draw_train_val(inside, part, r, seed)


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
        return membership_of(part)
    return draw_train_val(~test, part, r, seed)


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
