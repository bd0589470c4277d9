"""Shared pieces of the split kinds: default ratios, :class:`SplitError`, and the helpers.

Ratio checking, seeded draws, part allocation and the ``(N, 3)`` membership array the kinds in
:mod:`synprobe.split_kinds` build on. Import them from :mod:`synprobe.splits`, which re-exports them.
"""

from __future__ import annotations

import math

import numpy as np

from synprobe.errors import SynprobeError
from synprobe.rng import Draws, name_key

RATIOS = (0.6, 0.2, 0.2)  # train, val, test (Synbols' default)
PARTS = ("train", "val", "test")


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

