"""Memorization metrics from per-sample predictions: ELR fractions, forgetting events, Feldman–Zhang estimate.

Conventions: :mod:`synprobe.harness.metrics` (the package face, which re-exports every public name here;
import from there) and ``docs/metrics.md``.
"""

from __future__ import annotations

import numpy as np

from synprobe.harness.metrics._checks import MetricError, as_bool2d, as_int_labels

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
    p = as_int_labels(pred, "pred")
    yo = as_int_labels(y_observed, "y_observed")
    yt = as_int_labels(y_true, "y_true")
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
    h = as_bool2d(correct_history, "correct_history")
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
    m = as_bool2d(in_subset, "in_subset")
    c = as_bool2d(correct, "correct")
    if m.shape != c.shape:
        raise MetricError(f"in_subset, correct: expected equal shapes (K, n), got {m.shape} and {c.shape}")
    n_in = m.sum(axis=0)
    n_out = (~m).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_in = (m & c).sum(axis=0) / n_in
        p_out = (~m & c).sum(axis=0) / n_out
    return np.where((n_in > 0) & (n_out > 0), p_in - p_out, np.nan)
