"""Continual-learning, memorization and OOD metrics in pure numpy.

Conventions (formulas in ``docs/metrics.md``):

* ``R`` is the accuracy matrix, shape ``(T, T)``: ``R[i, j]`` is the accuracy on test task ``j`` after training
  task ``i`` (0-indexed; row ``T - 1`` is the final model). ``b`` (shape ``(T,)``) is the accuracy of a randomly
  initialised model on each task.
* Accuracies are fractions in ``[0, 1]`` (percentages work too; the results scale with them).
* NaN marks "undefined" (a task with no later evaluation, a class with no test samples, a side with no runs).
* Wrong shapes or values raise :class:`MetricError` with a one-line message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from synprobe.errors import SynprobeError

__all__ = [
    "MetricError",
    "accuracy_matrix",
    "accuracy_vs_frequency",
    "average_accuracy",
    "backward_transfer",
    "elr_fractions",
    "feldman_zhang",
    "forgetting_avalanche",
    "forgetting_chaudhry",
    "forgetting_events",
    "forward_transfer",
    "ka_summary",
    "min_acc",
    "ood_gap",
    "per_class_accuracy",
    "seen_class_accuracy",
    "spearman",
    "wc_acc",
]


class MetricError(SynprobeError, ValueError):
    """A metric was given arrays of the wrong shape, dtype or range."""


# ---------------------------------------------------------------------------------------------- validation


def _matrix(R) -> np.ndarray:
    R = np.asarray(R, dtype=float)
    if R.ndim != 2 or R.shape[0] != R.shape[1] or R.shape[0] == 0:
        raise MetricError(f"R: expected a square (T, T) accuracy matrix with T >= 1, got shape {R.shape}")
    return R


def _vector(x, name: str, n: int | None = None, dtype=float) -> np.ndarray:
    x = np.asarray(x, dtype=dtype)
    if x.ndim != 1:
        raise MetricError(f"{name}: expected a 1-d array, got shape {x.shape}")
    if n is not None and x.shape[0] != n:
        raise MetricError(f"{name}: expected length {n}, got {x.shape[0]}")
    return x


def _bool2d(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 2:
        raise MetricError(f"{name}: expected a 2-d (rows, n_samples) array, got shape {a.shape}")
    if a.dtype != bool:
        if not np.all(np.isin(a, (0, 1))):
            raise MetricError(f"{name}: expected booleans or 0/1 values")
        a = a.astype(bool)
    return a


def _int_labels(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim == 0 or not (np.issubdtype(a.dtype, np.integer) or a.dtype == bool or a.size == 0):
        raise MetricError(f"{name}: expected an integer array, got dtype {a.dtype} and shape {a.shape}")
    return a.astype(np.int64)


# ------------------------------------------------------------------------------------- accuracy matrix


def accuracy_matrix(task_of_sample, correct_log) -> np.ndarray:
    """Build ``R`` from per-sample correctness logged after each task.

    Args:
        task_of_sample: shape ``(n,)``, integer task id in ``[0, T)`` of each test sample.
        correct_log: shape ``(T, n)`` booleans; ``correct_log[i, s]`` says whether sample ``s`` was classified
            correctly after training task ``i``.

    Returns:
        ``R`` of shape ``(T, T)`` with ``R[i, j] = mean_{s : task(s) = j} correct_log[i, s]``.
    """
    tasks = _int_labels(task_of_sample, "task_of_sample")
    if tasks.ndim != 1:
        raise MetricError(f"task_of_sample: expected shape (n,), got {tasks.shape}")
    log = _bool2d(correct_log, "correct_log")
    T, n = log.shape
    if n != tasks.shape[0]:
        raise MetricError(f"correct_log: expected shape (T, {tasks.shape[0]}) like task_of_sample, got {log.shape}")
    if T == 0 or (n and (tasks.min() < 0 or tasks.max() >= T)):
        raise MetricError(f"task_of_sample: task ids must lie in [0, {T}) (one row of correct_log per task)")
    counts = np.bincount(tasks, minlength=T)
    if np.any(counts == 0):
        raise MetricError(f"task_of_sample: task(s) {np.flatnonzero(counts == 0).tolist()} have no test samples")
    onehot = np.zeros((n, T))
    onehot[np.arange(n), tasks] = 1.0
    return (log.astype(float) @ onehot) / counts


def average_accuracy(R, mode: str = "final") -> float:
    """Average accuracy.

    ``mode="final"`` (GEM, Lopez-Paz & Ranzato 2017): ``ACC = (1/T) sum_j R[T-1, j]``.
    ``mode="lower"`` (Díaz-Rodríguez et al. 2018, Continuum's ``accuracy``):
    ``A = sum_{i >= j} R[i, j] / (T (T + 1) / 2)``.

    Args:
        R: shape ``(T, T)``.
    """
    R = _matrix(R)
    T = R.shape[0]
    if mode == "final":
        return float(R[-1].mean())
    if mode == "lower":
        return float(R[np.tril_indices(T)].sum() / (T * (T + 1) / 2))
    raise MetricError(f"mode: expected 'final' or 'lower', got {mode!r}")


def backward_transfer(R) -> float:
    """Backward transfer (GEM): ``BWT = (1/(T-1)) sum_{j=0}^{T-2} (R[T-1, j] - R[j, j])``.

    Negative values are forgetting. Equals ``-forgetting_avalanche(R)``. NaN when ``T == 1``.

    Args:
        R: shape ``(T, T)``.
    """
    R = _matrix(R)
    T = R.shape[0]
    if T == 1:
        return float("nan")
    j = np.arange(T - 1)
    return float((R[-1, j] - R[j, j]).mean())


def forward_transfer(R, b=None) -> float:
    """Forward transfer (GEM): ``FWT = (1/(T-1)) sum_{i=1}^{T-1} (R[i-1, i] - b[i])``.

    ``R[i-1, i]`` is the accuracy on task ``i`` just before training it. With ``b=None`` the baseline is omitted
    (Continuum's variant, ``b = 0``). NaN when ``T == 1``.

    Args:
        R: shape ``(T, T)``.
        b: shape ``(T,)``, accuracy of the random-init model on each task, or ``None``.
    """
    R = _matrix(R)
    T = R.shape[0]
    b = np.zeros(T) if b is None else _vector(b, "b", T)
    if T == 1:
        return float("nan")
    i = np.arange(1, T)
    return float((R[i - 1, i] - b[i]).mean())


def forgetting_chaudhry(R, per_task: bool = False):
    """Forgetting, max-based (Chaudhry et al. 2018, eq. 3; Continuum's ``forgetting``).

    For each earlier task ``j < T-1``: ``f_j = max_{j <= l <= T-2} R[l, j] - R[T-1, j]`` (best accuracy ever reached
    on ``j`` before the last task, minus the final one); ``F = (1/(T-1)) sum_{j=0}^{T-2} f_j``.

    ``f_j`` is negative only when the final accuracy on ``j`` exceeds every earlier one (positive backward
    transfer); ``f_j >= R[j, j] - R[T-1, j]`` always (the max includes the diagonal), so
    ``forgetting_chaudhry >= forgetting_avalanche``.

    Args:
        R: shape ``(T, T)``.
        per_task: return ``f`` (shape ``(T-1,)``) instead of its mean.

    Returns:
        float (NaN when ``T == 1``) or an array of shape ``(T-1,)``.
    """
    R = _matrix(R)
    T = R.shape[0]
    f = np.array([R[j : T - 1, j].max() - R[T - 1, j] for j in range(T - 1)], dtype=float)
    if per_task:
        return f
    return float(f.mean()) if T > 1 else float("nan")


def forgetting_avalanche(R, per_task: bool = False):
    """Forgetting, first-minus-last (Avalanche's ``Forgetting`` / ``StreamForgetting``).

    For each earlier task ``j < T-1``: ``f_j = R[j, j] - R[T-1, j]`` (accuracy right after training ``j`` minus the
    final one); ``F = (1/(T-1)) sum_{j=0}^{T-2} f_j = -BWT``. The last task (``f = 0`` by definition) is left out of
    the mean.

    Args:
        R: shape ``(T, T)``.
        per_task: return ``f`` (shape ``(T-1,)``) instead of its mean.

    Returns:
        float (NaN when ``T == 1``) or an array of shape ``(T-1,)``.
    """
    R = _matrix(R)
    T = R.shape[0]
    j = np.arange(T - 1)
    f = R[j, j] - R[T - 1, j]
    if per_task:
        return f
    return float(f.mean()) if T > 1 else float("nan")


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
    c = _vector(curve, "curve")
    if c.size == 0:
        raise MetricError("curve: expected at least one point, got an empty array")
    x = np.arange(1, c.size + 1, dtype=float) if steps is None else _vector(steps, "steps", c.size)
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
    yt = _int_labels(y_true, "y_true")
    yp = _int_labels(y_pred, "y_pred")
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
    x = _vector(x, "x")
    y = _vector(y, "y", x.size)
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
    a = _vector(per_class_acc, "per_class_acc")
    n = _vector(class_counts, "class_counts", a.size)
    return spearman(n, a)


# ------------------------------------------------------------------------------------------ stability gap


def _curves(curves_per_task, task_end_steps) -> tuple[np.ndarray, np.ndarray]:
    A = np.asarray(curves_per_task, dtype=float)
    if A.ndim != 2 or A.shape[0] == 0 or A.shape[1] == 0:
        raise MetricError(f"curves_per_task: expected shape (K tasks, S evaluations), got {A.shape}")
    K, S = A.shape
    e = _int_labels(task_end_steps, "task_end_steps")
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


# ------------------------------------------------------------------------------------------- memorization


def elr_fractions(pred, y_observed, y_true) -> dict:
    """ELR-style fractions (Liu et al. 2020, Fig. 1), per epoch.

    With noisy set ``N = {i : ytilde_i != y_i}`` and clean set ``C = {i : ytilde_i = y_i}``:

    * ``noisy_memorized = mean_{i in N} 1[pred_i = ytilde_i]`` (prediction equals the wrong label);
    * ``noisy_correct = mean_{i in N} 1[pred_i = y_i]``;
    * ``noisy_other = 1 - noisy_memorized - noisy_correct``;
    * ``clean_correct = mean_{i in C} 1[pred_i = y_i]``, ``clean_incorrect = 1 - clean_correct``.

    Args:
        pred: shape ``(n,)`` or ``(E, n)`` (one row per epoch) of predicted labels.
        y_observed: shape ``(n,)``, the (possibly noisy) training labels ``ytilde``.
        y_true: shape ``(n,)``, the true labels ``y``.

    Returns:
        dict of the five fractions (floats for 1-d ``pred``, arrays of shape ``(E,)`` otherwise; NaN when the set
        is empty) plus ``n_noisy`` and ``n_clean``.
    """
    p = _int_labels(pred, "pred")
    yo = _int_labels(y_observed, "y_observed")
    yt = _int_labels(y_true, "y_true")
    if yo.ndim != 1 or yo.shape != yt.shape:
        raise MetricError(f"y_observed, y_true: expected two arrays of shape (n,), got {yo.shape} and {yt.shape}")
    if p.ndim not in (1, 2) or p.shape[-1] != yo.shape[0]:
        raise MetricError(f"pred: expected shape ({yo.shape[0]},) or (E, {yo.shape[0]}), got {p.shape}")
    noisy = yo != yt
    clean = ~noisy

    def frac(hit: np.ndarray, mask: np.ndarray):
        if not mask.any():
            v = np.full(hit.shape[:-1], np.nan)
        else:
            v = hit[..., mask].mean(axis=-1)
        return float(v) if np.ndim(v) == 0 else v

    mem = frac(p == yo, noisy)
    cor = frac(p == yt, noisy)
    ccor = frac(p == yt, clean)
    return {
        "noisy_memorized": mem,
        "noisy_correct": cor,
        "noisy_other": 1 - mem - cor,
        "clean_correct": ccor,
        "clean_incorrect": 1 - ccor,
        "n_noisy": int(noisy.sum()),
        "n_clean": int(clean.sum()),
    }


def forgetting_events(correct_history) -> dict:
    """Forgetting events (Toneva et al. 2019).

    With ``acc_i^t = correct_history[t, i]`` (``t`` = presentation/epoch), a forgetting event is
    ``acc_i^t = 1, acc_i^{t+1} = 0``; ``events_i = sum_{t=0}^{E-2} acc_i^t (1 - acc_i^{t+1})``.

    Args:
        correct_history: shape ``(E, n)`` booleans (1 = classified as its observed label).

    Returns:
        dict with ``events`` (``(n,)`` int), ``never_learned`` (``(n,)`` bool, never correct), ``count``
        (``(n,)`` int, Toneva's sort key: ``events``, or ``E`` for never-learned samples) and ``unforgettable``
        (``(n,)`` bool: learned at least once and never forgotten).
    """
    h = _bool2d(correct_history, "correct_history")
    E = h.shape[0]
    if E == 0:
        raise MetricError("correct_history: expected at least one epoch (row)")
    events = (h[:-1] & ~h[1:]).sum(axis=0).astype(np.int64)
    never = ~h.any(axis=0)
    return {
        "events": events,
        "never_learned": never,
        "count": np.where(never, E, events).astype(np.int64),
        "unforgettable": ~never & (events == 0),
    }


def feldman_zhang(in_subset, correct) -> np.ndarray:
    """Feldman–Zhang subsampled memorization estimate (NeurIPS 2020).

    Over ``K`` runs with ``m_{t,i} = in_subset[t, i]`` and ``c_{t,i} = correct[t, i]``:
    ``mem_i = mean_{t : m_{t,i}=1} c_{t,i} - mean_{t : m_{t,i}=0} c_{t,i}``
    (an estimate of ``P(correct | i in train) - P(correct | i not in train)``).

    Args:
        in_subset: shape ``(K, n)`` booleans, whether sample ``i`` was in run ``t``'s training subset.
        correct: shape ``(K, n)`` booleans, whether run ``t``'s model classifies ``i`` correctly.

    Returns:
        shape ``(n,)``, in ``[-1, 1]``; NaN where every run included ``i`` or every run left it out.
    """
    m = _bool2d(in_subset, "in_subset")
    c = _bool2d(correct, "correct")
    if m.shape != c.shape:
        raise MetricError(f"in_subset, correct: expected equal shapes (K, n), got {m.shape} and {c.shape}")
    n_in = m.sum(axis=0)
    n_out = (~m).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_in = (m & c).sum(axis=0) / n_in
        p_out = (~m & c).sum(axis=0) / n_out
    return np.where((n_in > 0) & (n_out > 0), p_in - p_out, np.nan)


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
