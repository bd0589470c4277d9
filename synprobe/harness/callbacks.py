"""The callback interface of a training run: what a run tells loggers and users' code as it goes (no torch here).

    >>> class Curve(Callback):
    ...     def __init__(self):
    ...         self.acc = []
    ...     def on_evaluation(self, rows):
    ...         self.acc += [r["acc"] for r in rows if r["kind"] == "eval" and r["set"] == "iid"]
    >>> # run(stream, data, callbacks=[Curve()])

A run calls, in this order: :meth:`~Callback.on_run_start` once, before training; :meth:`~Callback.on_evaluation`
once per evaluation (the untrained model's first, then as ``EvalSchedule`` says) and
:meth:`~Callback.on_task_end` once per task (its ``task`` row, before that task's task-end evaluation);
:meth:`~Callback.on_run_end` once, after the summary and before the run folder is renamed into place, or
:meth:`~Callback.on_run_error` when the run fails. Together the rows are exactly those of ``metrics.jsonl``, in
its order. Callbacks get copies: nothing they do changes the run's numbers.
"""

from __future__ import annotations

import copy
from pathlib import Path

__all__ = ["Callback", "CallbackList"]


class Callback:
    """Override the hooks you need; every hook does nothing by default."""

    def on_run_start(self, record: dict, run_dir: Path | None) -> None:
        """Before training. ``record``: the run's ``config.json`` (train config, stream, data file, device);
        ``run_dir``: the folder being written (``<out>.incomplete`` until the run ends), None with ``out=None``."""

    def on_evaluation(self, rows: list[dict]) -> None:
        """One evaluation's rows: a ``kind: eval`` row per eval set and, on noisy streams, a ``memorization`` row."""

    def on_task_end(self, row: dict) -> None:
        """A task's ``kind: task`` row: training loss and accuracy, val accuracy, samples."""

    def on_run_end(self, summary: dict) -> None:
        """After training: the run's summary (``summary.json``)."""

    def on_run_error(self, error: BaseException) -> None:
        """The run failed (or was interrupted) with ``error``; it is raised again after every callback saw it."""


class CallbackList:
    """Calls every callback's hook in the order given, each with its own copy of the rows."""

    def __init__(self, callbacks=()):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks: expected synprobe.harness.callbacks.Callback objects, got {cb!r}")
        self.started: list[Callback] = []

    def __bool__(self) -> bool:
        return bool(self.callbacks)

    def run_start(self, record: dict, run_dir) -> None:
        for cb in self.callbacks:
            cb.on_run_start(copy.deepcopy(record), run_dir)
            self.started.append(cb)

    def evaluation(self, rows: list[dict]) -> None:
        for cb in self.started:
            cb.on_evaluation(copy.deepcopy(rows))

    def task_end(self, row: dict) -> None:
        for cb in self.started:
            cb.on_task_end(copy.deepcopy(row))

    def run_end(self, summary: dict) -> None:
        for cb in self.started:
            cb.on_run_end(copy.deepcopy(summary))
        self.started = []

    def run_error(self, error: BaseException) -> None:
        """Tell the callbacks started so far; a callback failing here does not hide the run's own error."""
        for cb in self.started:
            try:
                cb.on_run_error(error)
            except Exception:  # noqa: BLE001, S110 - the run's error is the one to report
                pass
        self.started = []
