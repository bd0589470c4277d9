"""Continual-learning scenarios over a dataset file: streams of tasks as index arrays.

    >>> import numpy as np
    >>> from synprobe.scenarios import recurring, ScoleEntropy
    >>> s = recurring(np.repeat(np.arange(10), 30), classes_per_task=3, n_tasks=100,
    ...               law=ScoleEntropy(e=2), seed=0)
    >>> len(s), len(s.task(0).classes)
    (100, 3)

Builders live in :mod:`~synprobe.scenarios.builders`, class-occurrence laws in
:mod:`~synprobe.scenarios.laws`, the :class:`Stream` in :mod:`~synprobe.scenarios.stream`, scenario
recipes (TOML files naming a kind) in :mod:`~synprobe.scenarios.recipe` and timeline figures in
:mod:`~synprobe.scenarios.plot`. See ``docs/streams.md`` and ``docs/scenarios.md``.
"""

from __future__ import annotations

from synprobe.scenarios._common import ScenarioError
from synprobe.scenarios.builders import (
    attach_eval_sets,
    class_incremental,
    domain_incremental,
    drift,
    eval_sets_from_file,
    held_out_counts,
    held_out_splits,
    instance_incremental,
    recurring,
    train_from_file,
)
from synprobe.scenarios.laws import (
    CIR,
    Cycle,
    Forgetting,
    Incremental,
    Law,
    ProbReduction,
    ScoleEntropy,
    Uniform,
    Weights,
    Zipf,
    law_from_spec,
)
from synprobe.scenarios.stream import Stream, Task, with_eval_sets

__all__ = [
    "CIR",
    "Cycle",
    "Forgetting",
    "Incremental",
    "Law",
    "ProbReduction",
    "ScenarioError",
    "ScoleEntropy",
    "Stream",
    "Task",
    "Uniform",
    "Weights",
    "Zipf",
    "attach_eval_sets",
    "class_incremental",
    "domain_incremental",
    "drift",
    "eval_sets_from_file",
    "held_out_counts",
    "held_out_splits",
    "instance_incremental",
    "law_from_spec",
    "recurring",
    "train_from_file",
    "with_eval_sets",
]
