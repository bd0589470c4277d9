"""Continual-learning, memorization and OOD metrics in pure numpy.

Conventions (formulas in ``docs/metrics.md``):

* ``R`` is the accuracy matrix, shape ``(T, T)``: ``R[i, j]`` is the accuracy on test task ``j`` after training
  task ``i`` (0-indexed; row ``T - 1`` is the final model). ``b`` (shape ``(T,)``) is the accuracy of a randomly
  initialised model on each task.
* Accuracies are fractions in ``[0, 1]`` (percentages work too; the results scale with them).
* NaN marks "undefined" (a task with no later evaluation, a class with no test samples, a side with no runs).
* Wrong shapes or values raise :class:`MetricError` with a one-line message.

The formulas live in private modules beside this face, every public name re-exported here (import from
this package): ``_checks`` (``MetricError`` and the input checks), ``_matrix`` (accuracy matrix), ``_curves``
(knowledge accumulation, per-class accuracy, stability gap, OOD gap) and ``_memorization`` (ELR fractions,
forgetting events, Feldman–Zhang).
"""

from __future__ import annotations

from synprobe.harness.metrics._checks import MetricError
from synprobe.harness.metrics._curves import (
    accuracy_vs_frequency,
    ka_summary,
    min_acc,
    ood_gap,
    per_class_accuracy,
    seen_class_accuracy,
    spearman,
    wc_acc,
)
from synprobe.harness.metrics._matrix import (
    accuracy_matrix,
    average_accuracy,
    backward_transfer,
    forgetting_avalanche,
    forgetting_chaudhry,
    forgetting_max_earlier,
    forgetting_since_trained,
    forward_transfer,
)
from synprobe.harness.metrics._memorization import elr_fractions, feldman_zhang, forgetting_events

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
    "forgetting_max_earlier",
    "forgetting_since_trained",
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
