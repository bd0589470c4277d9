"""Accuracy-matrix metrics: ACC, BWT, FWT and the three forgetting definitions.

Conventions: :mod:`synprobe.harness.metrics` (the package face, which re-exports every public name here;
import from there) and ``docs/metrics.md``.
"""

from __future__ import annotations

import numpy as np

from synprobe.harness.metrics._checks import MetricError, as_bool2d, as_int_labels, as_square, as_vector

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
    tasks = as_int_labels(task_of_sample, "task_of_sample")
    if tasks.ndim != 1:
        raise MetricError(f"task_of_sample: expected shape (n,), got {tasks.shape}")
    log = as_bool2d(correct_log, "correct_log")
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
    R = as_square(R)
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
    R = as_square(R)
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
    R = as_square(R)
    T = R.shape[0]
    b = np.zeros(T) if b is None else as_vector(b, "b", T)
    if T == 1:
        return float("nan")
    i = np.arange(1, T)
    return float((R[i - 1, i] - b[i]).mean())


def forgetting_max_earlier(R, per_task: bool = False):
    """Forgetting, best earlier accuracy minus the final one, the max over **all** earlier models
    (Chaudhry et al. 2018, eq. 3 as the paper writes it: ``max_{l in 1..k-1}``).

    For each earlier task ``j < T-1``: ``f_j = max_{0 <= l <= T-2} R[l, j] - R[T-1, j]``;
    ``F = (1/(T-1)) sum_{j=0}^{T-2} f_j``. On class-incremental streams (nothing of task ``j`` is
    learnt before it) this equals :func:`forgetting_since_trained`; on recurring streams, where
    task ``j``'s classes were trained earlier too, it can be larger (a drop after an earlier peak).
    ``f_j >= forgetting_since_trained >= forgetting_avalanche`` element-wise.

    Args:
        R: shape ``(T, T)``.
        per_task: return ``f`` (shape ``(T-1,)``) instead of its mean.

    Returns:
        float (NaN when ``T == 1``) or an array of shape ``(T-1,)``.
    """
    R = as_square(R)
    T = R.shape[0]
    f = R[: T - 1, : T - 1].max(axis=0) - R[T - 1, : T - 1] if T > 1 else np.zeros(0)
    return _per_task_or_mean(np.asarray(f, dtype=float), per_task)


def forgetting_since_trained(R, per_task: bool = False):
    """Forgetting, best accuracy since task ``j`` was trained minus the final one (Continuum's
    ``forgetting``, which implements Chaudhry et al.'s eq. 3 with the max starting at ``l = j``).

    For each earlier task ``j < T-1``: ``f_j = max_{j <= l <= T-2} R[l, j] - R[T-1, j]``;
    ``F = (1/(T-1)) sum_{j=0}^{T-2} f_j``. ``f_j`` is negative only when the final accuracy on ``j``
    exceeds every one since it was trained (positive backward transfer); ``f_j >= R[j, j] -
    R[T-1, j]`` always (the max includes the diagonal), so it is ``>= forgetting_avalanche``.

    Args:
        R: shape ``(T, T)``.
        per_task: return ``f`` (shape ``(T-1,)``) instead of its mean.

    Returns:
        float (NaN when ``T == 1``) or an array of shape ``(T-1,)``.
    """
    R = as_square(R)
    T = R.shape[0]
    f = np.array([R[j : T - 1, j].max() - R[T - 1, j] for j in range(T - 1)], dtype=float)
    return _per_task_or_mean(f, per_task)


def forgetting_chaudhry(R, per_task: bool = False):
    """The older name of :func:`forgetting_since_trained` (kept for existing code). Ambiguous:
    Chaudhry et al.'s paper takes the max over all earlier models (:func:`forgetting_max_earlier`),
    Continuum's code from task ``j`` on (this one); run summaries report both under those names."""
    return forgetting_since_trained(R, per_task)


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
    R = as_square(R)
    T = R.shape[0]
    j = np.arange(T - 1)
    f = R[j, j] - R[T - 1, j]
    return _per_task_or_mean(f, per_task)


def _per_task_or_mean(f: np.ndarray, per_task: bool):
    """The per-task forgettings ``f`` (shape ``(T-1,)``), or their mean (NaN when there are none)."""
    if per_task:
        return f
    return float(f.mean()) if len(f) else float("nan")
