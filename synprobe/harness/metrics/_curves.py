"""Curve and per-class metrics: knowledge-accumulation summary, per-/seen-class accuracy, Spearman accuracy vs
class frequency, stability gap (min-ACC, WC-ACC) and the OOD gap.

Conventions: :mod:`synprobe.harness.metrics` (the package face, which re-exports every public name here;
import from there) and ``docs/metrics.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from synprobe.harness.metrics._checks import MetricError, as_int_labels, as_vector

# ----------------------------------------------------------------------------- knowledge accumulation


def ka_summary(curve, steps=None, levels: Sequence[float] = (0.5, 0.75, 0.9)) -> dict:
    """Summarise a knowledge-accumulation curve (e.g. accuracy on all classes after each task).

    Args:
        curve: shape ``(S,)``, the metric at each evaluation point.
        steps: shape ``(S,)``, strictly increasing x-values (tasks or iterations); default ``1, 2, ..., S``.
        levels: thresholds for ``reach``.

    Returns:
        dict with

        * ``final``: ``curve[-1]``;
        * ``max``: ``max(curve)``;
        * ``auc``: trapezoid area normalised by the x-range,
          ``(1/(x_{S-1} - x_0)) sum_{s=1}^{S-1} (x_s - x_{s-1}) (c_s + c_{s-1}) / 2`` (``c_0`` when ``S == 1``),
          so a constant curve ``c`` has ``auc = c``;
        * ``reach``: ``{level: first x_s with c_s >= level}`` (NaN if never reached).
    """
    c = as_vector(curve, "curve")
    if c.size == 0:
        raise MetricError("curve: expected at least one point, got an empty array")
    x = np.arange(1, c.size + 1, dtype=float) if steps is None else as_vector(steps, "steps", c.size)
    if np.any(np.diff(x) <= 0):
        raise MetricError("steps: expected strictly increasing values")
    if c.size == 1:
        auc = float(c[0])
    else:
        auc = float(np.sum(np.diff(x) * (c[1:] + c[:-1]) / 2) / (x[-1] - x[0]))
    reach = {}
    for level in levels:
        hit = np.flatnonzero(c >= level)
        reach[level] = float(x[hit[0]]) if hit.size else float("nan")
    return {"final": float(c[-1]), "max": float(c.max()), "auc": auc, "reach": reach}


def per_class_accuracy(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Per-class accuracy ``a_c = |{s : y_s = c, yhat_s = c}| / |{s : y_s = c}|``.

    Args:
        y_true, y_pred: shape ``(n,)``, integer labels in ``[0, n_classes)``.

    Returns:
        shape ``(n_classes,)``; NaN for classes with no test sample.
    """
    yt = as_int_labels(y_true, "y_true")
    yp = as_int_labels(y_pred, "y_pred")
    if yt.ndim != 1 or yt.shape != yp.shape:
        raise MetricError(f"y_true, y_pred: expected two arrays of shape (n,), got {yt.shape} and {yp.shape}")
    if n_classes < 1 or (yt.size and (yt.min() < 0 or yt.max() >= n_classes)):
        raise MetricError(f"y_true: labels must lie in [0, {n_classes})")
    total = np.bincount(yt, minlength=n_classes).astype(float)
    hits = np.bincount(yt[yt == yp], minlength=n_classes).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, hits / np.where(total > 0, total, 1), np.nan)


def seen_class_accuracy(per_class_acc, seen) -> np.ndarray | float:
    """Seen-class accuracy: ``mean_{c in seen, a_c not NaN} a_c`` (CIR's seen-classes accuracy).

    Args:
        per_class_acc: shape ``(..., C)`` (one row per evaluation step for a curve).
        seen: booleans of the same shape (or broadcastable, e.g. ``(C,)``) marking classes seen so far.

    Returns:
        float for ``(C,)`` input, else an array of shape ``(...)``; NaN where no seen class has an accuracy.
    """
    a = np.asarray(per_class_acc, dtype=float)
    m = np.asarray(seen)
    if a.ndim == 0:
        raise MetricError("per_class_acc: expected shape (..., C), got a scalar")
    if m.dtype != bool:
        raise MetricError(f"seen: expected a boolean mask, got dtype {m.dtype}")
    try:
        m = np.broadcast_to(m, a.shape)
    except ValueError:
        raise MetricError(f"seen: shape {m.shape} does not match per_class_acc shape {a.shape}") from None
    use = m & ~np.isnan(a)
    n = use.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(use, a, 0.0).sum(axis=-1) / n
    out = np.where(n > 0, out, np.nan)
    return float(out) if out.ndim == 0 else out


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    ranks = np.empty(x.size)
    i = 0
    while i < x.size:
        k = i
        while k + 1 < x.size and xs[k + 1] == xs[i]:
            k += 1
        ranks[order[i : k + 1]] = (i + k) / 2 + 1
        i = k + 1
    return ranks


def spearman(x, y) -> float:
    """Spearman rank correlation: Pearson correlation of the (tie-averaged) ranks of ``x`` and ``y``.

    ``rho = sum_i (r_i - rbar)(s_i - sbar) / sqrt(sum_i (r_i - rbar)^2 sum_i (s_i - sbar)^2)``. Pairs with a NaN are
    dropped; NaN when fewer than 2 pairs remain or either side is constant.
    """
    x = as_vector(x, "x")
    y = as_vector(y, "y", x.size)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if x.size < 2:
        return float("nan")
    r, s = _ranks(x), _ranks(y)
    r, s = r - r.mean(), s - s.mean()
    den = np.sqrt((r * r).sum() * (s * s).sum())
    return float((r * s).sum() / den) if den > 0 else float("nan")


def accuracy_vs_frequency(per_class_acc, class_counts) -> float:
    """Spearman rank correlation between per-class accuracy and class frequency (training count).

    Args:
        per_class_acc: shape ``(C,)`` (NaN classes are dropped).
        class_counts: shape ``(C,)``, training samples per class.

    Returns:
        ``rho`` in ``[-1, 1]`` (see :func:`spearman`); positive when frequent classes are learned better.
    """
    a = as_vector(per_class_acc, "per_class_acc")
    n = as_vector(class_counts, "class_counts", a.size)
    return spearman(n, a)


# ------------------------------------------------------------------------------------------ stability gap


def _curves(curves_per_task, task_end_steps) -> tuple[np.ndarray, np.ndarray]:
    A = np.asarray(curves_per_task, dtype=float)
    if A.ndim != 2 or A.shape[0] == 0 or A.shape[1] == 0:
        raise MetricError(f"curves_per_task: expected shape (K tasks, S evaluations), got {A.shape}")
    K, S = A.shape
    e = as_int_labels(task_end_steps, "task_end_steps")
    if e.shape != (K,):
        raise MetricError(f"task_end_steps: expected shape ({K},), one entry per task, got {e.shape}")
    if np.any(np.diff(e) <= 0) or e[0] < 0 or e[-1] != S - 1:
        raise MetricError(f"task_end_steps: expected strictly increasing evaluation indices ending at {S - 1}")
    return A, e


def _current_task(e: np.ndarray, step: int | None, S: int) -> tuple[int, int]:
    n = S - 1 if step is None else int(step)
    if not 0 <= n < S:
        raise MetricError(f"step: expected an evaluation index in [0, {S}), got {step}")
    return int(np.searchsorted(e, n)), n  # first k with e[k] >= n


def min_acc(curves_per_task, task_end_steps, step: int | None = None, per_task: bool = False):
    """min-ACC (De Lange, van de Ven & Tuytelaars, ICLR 2023).

    With evaluations indexed ``n = 0..S-1`` and task ``i`` trained over evaluations ``(e_{i-1}, e_i]``
    (``e = task_end_steps``), the current task at ``n`` is ``k = min{i : e_i >= n}`` and, for an earlier task
    ``i < k``, ``min-ACC_i(n) = min_{e_i < m <= n} A[i, m]``: the worst accuracy on ``i`` after its training ended
    (the evaluation at ``e_i`` itself is excluded). ``min-ACC(n) = (1/k) sum_{i<k} min-ACC_i(n)``.

    Args:
        curves_per_task: ``A`` of shape ``(K, S)``, ``A[i, m]`` = accuracy on task ``i`` at evaluation ``m``.
        task_end_steps: ``e`` of shape ``(K,)``, strictly increasing, ``e[K-1] = S-1``.
        step: ``n``; default the last evaluation ``S-1``.
        per_task: return ``min-ACC_i(n)`` for every task (shape ``(K,)``, NaN for ``i >= k``).

    Returns:
        float (NaN when ``k == 0``) or array of shape ``(K,)``.
    """
    A, e = _curves(curves_per_task, task_end_steps)
    k, n = _current_task(e, step, A.shape[1])
    out = np.full(A.shape[0], np.nan)
    for i in range(k):
        out[i] = A[i, e[i] + 1 : n + 1].min()
    if per_task:
        return out
    return float(out[:k].mean()) if k else float("nan")


def wc_acc(curves_per_task, task_end_steps, step: int | None = None) -> float:
    """Worst-case accuracy WC-ACC (De Lange et al., ICLR 2023).

    ``WC-ACC(n) = (1/(k+1)) A[k, n] + (k/(k+1)) min-ACC(n)``, i.e. the mean of the current task's accuracy and the
    ``k`` per-task ``min-ACC_i(n)`` of the earlier tasks (``k`` = current task, 0-indexed, as in :func:`min_acc`).
    With ``k == 0`` it is ``A[0, n]``.

    Args: as :func:`min_acc`.
    """
    A, e = _curves(curves_per_task, task_end_steps)
    k, n = _current_task(e, step, A.shape[1])
    per = min_acc(A, e, n, per_task=True)
    return float((A[k, n] + per[:k].sum()) / (k + 1))


# ------------------------------------------------------------------------------------------------- OOD


def ood_gap(iid_acc, ood_accs: Mapping[str, float], relative: bool = False) -> dict:
    """OOD gap per shift: ``gap_s = acc_iid - acc_s`` (or ``(acc_iid - acc_s) / acc_iid`` with ``relative``).

    Args:
        iid_acc: accuracy on the in-distribution test split (a float, or an array for a curve).
        ood_accs: ``{shift name: accuracy}``, each broadcastable against ``iid_acc``.

    Returns:
        ``{shift name: gap}`` (floats for scalar inputs), plus ``"mean"`` over the shifts when there are any.
    """
    if not isinstance(ood_accs, Mapping):
        raise MetricError(f"ood_accs: expected a dict {{name: accuracy}}, got {type(ood_accs).__name__}")
    iid = np.asarray(iid_acc, dtype=float)
    out: dict = {}
    for name, acc in ood_accs.items():
        a = np.asarray(acc, dtype=float)
        try:
            g = iid - a
        except ValueError:
            raise MetricError(f"ood_accs[{name!r}]: shape {a.shape} does not match iid_acc {iid.shape}") from None
        if relative:
            with np.errstate(invalid="ignore", divide="ignore"):
                g = g / iid
        out[name] = float(g) if g.ndim == 0 else g
    if out:
        vals = [np.asarray(v) for v in out.values()]
        mean = np.mean(np.stack(np.broadcast_arrays(*vals)), axis=0)
        out["mean"] = float(mean) if mean.ndim == 0 else mean
    return out
