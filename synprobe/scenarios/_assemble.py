"""The shared machinery of the stream builders in :mod:`synprobe.scenarios.builders`: argument
checks, vectorised random subsets, and the assemblers that own all indexing (rows, per-class
budgets, val parts, task offsets) and pack the result into a :class:`Stream`.

The builders themselves are in :mod:`synprobe.scenarios.builders`.
"""

from __future__ import annotations

import numpy as np

from synprobe.scenarios._common import ScenarioError, csr_take
from synprobe.scenarios.stream import Stream


# ---- checks -------------------------------------------------------------------------------
def check_int(x, name: str, lo: int = 1) -> int:
    """``x`` as an int >= ``lo``, or a :class:`ScenarioError` naming the argument."""
    if isinstance(x, bool) or not isinstance(x, int | np.integer) or x < lo:
        raise ScenarioError(f"{name}: {x!r} must be an integer >= {lo}")
    return int(x)


def check_fraction(f, name: str = "val_fraction") -> float:
    """``f`` as a float in [0, 1), or a :class:`ScenarioError` naming the argument."""
    if isinstance(f, bool) or not isinstance(f, int | float | np.floating) or not 0.0 <= f < 1.0:
        raise ScenarioError(f"{name}: {f!r} must be a number in [0, 1)")
    return float(f)


def labels_index(labels, index) -> tuple[np.ndarray, np.ndarray]:
    """(labels, file rows) as int64 arrays of one length; rows default to 0..n-1."""
    y = np.asarray(labels)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ScenarioError(f"labels: expected a 1-d integer array (Dataset.y), got {y.dtype} shape {y.shape}")
    idx = np.arange(len(y), dtype=np.int64) if index is None else np.asarray(index)
    if idx.shape != y.shape or not np.issubdtype(idx.dtype, np.integer):
        raise ScenarioError(
            f"index: expected {len(y)} integer rows (Dataset.index), got {idx.dtype} shape {idx.shape}"
        )
    return y.astype(np.int64, copy=False), idx.astype(np.int64, copy=False)


def _round(x: np.ndarray) -> np.ndarray:
    return np.floor(np.asarray(x, np.float64) + 0.5).astype(np.int64)


# ---- random subsets, vectorised -------------------------------------------------------------
def _group_pick(rng, sizes: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """Bool mask over ``sum(sizes)`` elements (groups laid out one after another): a uniformly
    random ``picks[g]``-subset of every group g."""
    sizes = np.asarray(sizes, np.int64)
    total = int(sizes.sum())
    gid = np.repeat(np.arange(len(sizes), dtype=np.float64), sizes)
    order = np.argsort(gid + rng.random(total), kind="stable")  # groups stay contiguous, shuffled inside
    starts = np.zeros(len(sizes), np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    rank = np.arange(total, dtype=np.int64) - np.repeat(starts, sizes)
    mask = np.zeros(total, bool)
    mask[order[rank < np.repeat(picks, sizes)]] = True
    return mask


def random_subsets(rng, n: np.ndarray, k: int) -> np.ndarray:
    """(R, k) sorted positions: a uniformly random k-subset of range(n[r]) for every row r.

    Rows with n >= 2k draw k positions and redraw duplicates until none are left (the result
    does not depend on how the universe is labelled, so the subset is uniform); smaller rows
    shuffle their whole range.
    """
    n = np.asarray(n, np.int64)
    out = np.empty((len(n), k), np.int64)
    if k == 0 or len(n) == 0:
        return out
    big = n >= 2 * k
    rows = np.flatnonzero(big)
    if len(rows):
        nb = n[rows][:, None]
        pos = (rng.random((len(rows), k)) * nb).astype(np.int64)
        pos.sort(axis=1)
        active = np.arange(len(rows))
        while True:
            sub = pos[active]
            dup = np.zeros(sub.shape, bool)
            dup[:, 1:] = sub[:, 1:] == sub[:, :-1]
            hit = dup.any(axis=1)
            if not hit.any():
                break
            active, sub, dup = active[hit], sub[hit], dup[hit]
            r, c = np.nonzero(dup)
            sub[r, c] = (rng.random(len(r)) * n[rows[active[r]]]).astype(np.int64)
            sub.sort(axis=1)
            pos[active] = sub
        out[rows] = pos
    small = np.flatnonzero(~big)
    if len(small):
        ns = n[small]
        mask = _group_pick(rng, ns, np.full(len(small), k))
        within = np.arange(int(ns.sum()), dtype=np.int64) - np.repeat(np.cumsum(ns) - ns, ns)
        out[small] = within[mask].reshape(len(small), k)
    return out


# ---- assemblers (own all indexing) ---------------------------------------------------------
def assemble_classes(y, idx, classes, ci, co, samples_per_class, val_fraction, rng):
    """Tasks given as class positions (CSR ci/co into ``classes``): every slot (task, class)
    takes all samples of the class or a budget drawn without replacement, then a val part of
    round(val_fraction * slot size) of them. Returns indices, offsets, val_indices, val_offsets."""
    order = np.argsort(y, kind="stable")
    ys = y[order]
    starts = np.searchsorted(ys, classes, side="left")
    sizes = np.searchsorted(ys, classes, side="right") - starts
    slot_n = sizes[ci]
    slot_start = starts[ci]
    rows_sorted = idx[order]
    if samples_per_class is None:
        allrows, slot_off = csr_take(rows_sorted, slot_start, slot_n)
        v = _round(val_fraction * slot_n)
        val = np.zeros(len(allrows), bool)
        for c in np.unique(ci) if val_fraction > 0 else ():  # v depends on the class only
            rows = np.flatnonzero(ci == c)
            if v[rows[0]]:
                picks = random_subsets(rng, slot_n[rows], int(v[rows[0]]))
                val[(slot_off[rows][:, None] + picks).reshape(-1)] = True
        train_rows, val_rows = allrows[~val], allrows[val]
        tr_len, va_len = slot_n - v, v
    else:
        k = samples_per_class
        if len(ci) and slot_n.min() < k:
            c = int(classes[ci[np.argmin(slot_n)]])
            raise ScenarioError(
                f"samples_per_class={k} exceeds the {int(slot_n.min())} train samples of class {c}; "
                f"use at most {int(sizes.min())} or None (all samples)"
            )
        pos = random_subsets(rng, slot_n, k)
        pos += slot_start[:, None]
        v = int(_round(val_fraction * k))
        if v:
            vcols = random_subsets(rng, np.full(len(pos), k), v)
            vmask = np.zeros(pos.shape, bool)
            np.put_along_axis(vmask, vcols, True, axis=1)
            val_rows = rows_sorted[pos[vmask]]
            train_rows = rows_sorted[pos[~vmask]]
        else:
            val_rows, train_rows = np.zeros(0, np.int64), rows_sorted[pos.reshape(-1)]
        tr_len, va_len = np.full(len(ci), k - v, np.int64), np.full(len(ci), v, np.int64)
    return train_rows, _task_offsets(tr_len, co), val_rows, _task_offsets(va_len, co)


def _task_offsets(slot_len: np.ndarray, co: np.ndarray) -> np.ndarray:
    cum = np.zeros(len(slot_len) + 1, np.int64)
    np.cumsum(slot_len, out=cum[1:])
    return cum[co]


def assemble_samples(idx, pos, off, val_fraction, rng):
    """Tasks given as sample positions (CSR pos/off): a val part of round(val_fraction * size)
    per task, uniformly at random. Returns indices, offsets, val_indices, val_offsets."""
    sizes = np.diff(off)
    v = _round(val_fraction * sizes) if val_fraction > 0 else np.zeros(len(sizes), np.int64)
    val = _group_pick(rng, sizes, v) if val_fraction > 0 else np.zeros(len(pos), bool)
    rows = idx[pos]
    tr_off = np.zeros(len(sizes) + 1, np.int64)
    np.cumsum(sizes - v, out=tr_off[1:])
    va_off = np.zeros(len(sizes) + 1, np.int64)
    np.cumsum(v, out=va_off[1:])
    return rows[~val], tr_off, rows[val], va_off


def task_classes(y, pos, off):
    """CSR of the distinct labels (>= 0) of every task, sorted."""
    t = len(off) - 1
    if y is None or len(pos) == 0:
        return np.zeros(0, np.int64), np.zeros(t + 1, np.int64)
    lab = y[pos]
    tid = np.repeat(np.arange(t, dtype=np.int64), np.diff(off))
    keep = lab >= 0
    m = int(lab.max()) + 1 if keep.any() else 1
    key = np.unique(tid[keep] * m + lab[keep])
    co = np.zeros(t + 1, np.int64)
    np.cumsum(np.bincount(key // m, minlength=t), out=co[1:])
    return key % m, co


def pack_stream(tr, tr_off, va, va_off, ci, co, val_fraction, spec, seed) -> Stream:
    """The :class:`Stream` of the assembled CSR arrays (no val part when ``val_fraction`` is 0)."""
    if val_fraction == 0:
        va = va_off = None
    return Stream(tr, tr_off, ci, co, va, va_off, {}, None, None, spec, seed)
