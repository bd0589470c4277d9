"""Shared pieces of the split kinds: default ratios, :class:`SplitError`, and the helpers.

Ratio checking, part allocation, the random train/val draw and the ``(N, 3)`` membership array
the kinds in :mod:`synprobe.splits._kinds` build on. The public names are re-exported by
:mod:`synprobe.splits`.
"""

from __future__ import annotations

import math

import numpy as np

from synprobe.errors import SynprobeError
from synprobe.rng import Draws, check_seed

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
        raise SplitError(
            f"ratios: {ratios!r} must be 3 non-negative numbers (train, val, test) summing to 1, e.g. 0.6,0.2,0.2"
        )
    return r


def membership_of(part: np.ndarray) -> np.ndarray:
    """bool (N, 3) from part ids (N,): 0 train, 1 val, 2 test, -1 excluded."""
    m = np.zeros((len(part), 3), dtype=bool)
    rows = np.flatnonzero(part >= 0)
    m[rows, part[rows]] = True
    return m


def n_positive(r) -> int:
    """How many of the ratios are positive (parts that must get something)."""
    return sum(x > 0 for x in r)


def allocate(k: int, r) -> np.ndarray:
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


def unique_values(values, what: str, r):
    """np.unique with inverse; errors when fewer unique values than parts with a positive ratio."""
    uniq, inv = np.unique(np.asarray(values), return_inverse=True)
    if len(uniq) < n_positive(r):
        raise SplitError(
            f"{what}: {len(uniq)} unique value(s), fewer than the {n_positive(r)} parts with a "
            "positive ratio; use a column with more values or set a ratio to 0"
        )
    return uniq, inv.reshape(-1)


def as_floats(values, what: str) -> np.ndarray:
    a = np.asarray(values)
    if a.dtype.kind not in "biuf":
        raise SplitError(f"{what}: needs numbers, got dtype {a.dtype}")
    return a.astype(np.float64)


def draw_train_val(inside: np.ndarray, part: np.ndarray, r, seed: int) -> np.ndarray:
    """Samples in ``inside`` go to train / val at random in the proportion r[0] : r[1]."""
    idx = np.flatnonzero(inside)
    order = idx[np.argsort(Draws(check_seed(seed, SplitError), idx).bits("split/val"), kind="stable")]
    frac = r[1] / (r[0] + r[1]) if r[0] + r[1] > 0 else 0.0
    n_val = int(round(frac * len(idx)))
    part[order[:n_val]] = 1
    part[order[n_val:]] = 0
    return membership_of(part)


def parse_interval(rng, what: str) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in rng)
    except (TypeError, ValueError):
        raise SplitError(f"{what}: {rng!r} must be two numbers lo,hi") from None
    if math.isnan(lo) or math.isnan(hi) or lo > hi:
        raise SplitError(f"{what}: ({lo}, {hi}) must satisfy lo <= hi")
    return lo, hi


def value_span(x: np.ndarray) -> str:
    ok = x[~np.isnan(x)]
    return f"[{ok.min():g}, {ok.max():g}]" if len(ok) else "(no values)"
