"""Evaluation during a run: when (:class:`EvalSchedule`), on what (:class:`Evaluator`), and the rows and classes
trained so far (:class:`TrainedSoFar`, which also holds their forgetting events).

    >>> schedule = EvalSchedule.of(TrainConfig(eval_every_tasks=2), n_tasks=5)
    >>> [t for t in range(5) if schedule.after_task(t)]
    [1, 3, 4]

An evaluation reads the device once: every eval set's per-class hits and loss (and the memorization
predictions) stay on the device until a single transfer at its end (docs/training.md, "Speed").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from synprobe.harness.config import TrainConfig
from synprobe.harness.metrics import elr_fractions
from synprobe.harness.scatter import PresentationEvents

__all__ = ["Clock", "EvalSchedule", "Evaluator", "TrainedSoFar", "predict"]


@dataclass
class Clock:
    """How far a run is: optimizer steps and samples trained, seconds since the start and spent evaluating."""

    t0: float = field(default_factory=time.perf_counter)
    step: int = 0
    samples: int = 0
    eval_s: float = 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


@dataclass(frozen=True)
class EvalSchedule:
    """Which moments of a run are evaluated: a pure function of the config and the number of tasks.

    Attributes:
        full_every_tasks: task-end evaluations that cover every eval set (and memorization); the others
            evaluate the primary set only.
    """

    n_tasks: int
    every_steps: int  # 0 = never
    every_epochs: int  # 0 = never
    every_tasks: int  # 0 = only after the last task
    full_every_tasks: int

    @classmethod
    def of(cls, cfg: TrainConfig, n_tasks: int) -> EvalSchedule:
        full = cfg.ood_every_tasks if cfg.ood_every_tasks is not None else max(1, n_tasks // 20)
        return cls(n_tasks, cfg.eval_every_steps or 0, cfg.eval_every_epochs or 0, cfg.eval_every_tasks or 0, full)

    def after_step(self, step: int) -> bool:
        return bool(self.every_steps) and step % self.every_steps == 0

    def after_epoch(self, epoch: int, last: bool) -> bool:
        """After pass ``epoch`` (1-based) of a task; never after its last pass (the task end follows)."""
        return bool(self.every_epochs) and epoch % self.every_epochs == 0 and not last

    def after_task(self, task: int) -> bool:
        return task == self.n_tasks - 1 or (bool(self.every_tasks) and (task + 1) % self.every_tasks == 0)

    def task_end_epoch(self, epoch: int) -> int | None:
        """The ``epoch`` a task-end row records: the task's passes when epochs are evaluated, else None."""
        return epoch if self.every_epochs else None

    def is_full(self, at: str, task: int) -> bool:
        """Whether the evaluation ``at`` ("start", "step", "epoch", "task_end") covers every eval set."""
        last = task == self.n_tasks - 1
        return at in ("start", "epoch") or (at == "task_end" and (last or (task + 1) % self.full_every_tasks == 0))


class TrainedSoFar:
    """The training rows and classes a run has trained on so far, and the forgetting events of those rows.

    Positions are the run's image positions (``RunData.pos``); a row's labels are those of its first occurrence.
    """

    def __init__(self, rd, device, forgetting_events: bool):
        n = len(rd.rows)
        self.events = PresentationEvents(n, device) if forgetting_events else None
        first = np.unique(rd.pos, return_index=True)[1]  # first occurrence of every trained image
        self.observed = np.full(n, -1, np.int64)
        self.true = np.full(n, -1, np.int64)
        self.observed[rd.pos[first]], self.true[rd.pos[first]] = rd.label[first], rd.true[first]
        self.rows = np.zeros(n, bool)
        self.classes = np.zeros(rd.n_classes, bool)  # host copy of the seen classes: no device read at evaluations
        self.device = device
        self._device_pos = None

    def add_task(self, pos: np.ndarray, classes: np.ndarray) -> None:
        self.rows[pos] = True
        self.classes[classes] = True
        self._device_pos = None

    def device_positions(self, torch):
        """int64 device tensor of the positions trained so far (sorted), uploaded once per task."""
        if self._device_pos is None:
            self._device_pos = torch.from_numpy(np.flatnonzero(self.rows)).to(self.device)
        return self._device_pos

    def record(self, pos, ok) -> None:
        """One minibatch's presentations: ``pos`` int64 (B,) device positions, ``ok`` bool (B,) correct."""
        if self.events is not None:
            self.events.update(pos, ok)

    def memorization(self, pred: np.ndarray) -> dict:
        """ELR fractions of predictions ``pred`` int64 (n,) for the rows trained so far, in position order."""
        pos = np.flatnonzero(self.rows)
        return elr_fractions(pred, self.observed[pos], self.true[pos])

    def forgetting_events(self, file_rows: np.ndarray) -> dict | None:
        """The arrays of ``forgetting_events.npz`` (file rows, counts, presentations, learned, noisy), or None."""
        if self.events is None or not self.rows.any():
            return None
        tr = np.flatnonzero(self.rows)
        ev = self.events
        return {"rows": file_rows[tr], "counts": ev.count.cpu().numpy()[tr],
                "presentations": ev.presentations.cpu().numpy()[tr], "learned": ev.learned.cpu().numpy()[tr],
                "noisy": self.observed[tr] != self.true[tr]}


def predict(torch, model, X, pos, batch: int):
    """int64 (n,) predicted classes of the images at device positions ``pos`` (stays on the device)."""
    return torch.cat([model(X.batch(pos[i:i + batch])).argmax(1) for i in range(0, len(pos), batch)])


class Evaluator:
    """Evaluates a model on a run's eval sets and tasks' val parts; every set's tensors are uploaded once.

    Args:
        rd: the run's :class:`~synprobe.harness.data.RunData`.
        X: its :class:`~synprobe.harness.data.DeviceData`.
        memorize: also compute the ELR memorization fractions of the rows trained so far (full evaluations).
    """

    def __init__(self, torch, model, X, rd, schedule: EvalSchedule, trained: TrainedSoFar, *, batch: int,
                 autocast, memorize: bool):
        dev = X.device
        self.torch, self.model, self.X, self.schedule, self.trained = torch, model, X, schedule, trained
        self.batch, self.autocast, self.memorize, self.K = batch, autocast, memorize, rd.n_classes
        self.sets = {n: (torch.from_numpy(p).to(dev), torch.from_numpy(y).to(dev)) for n, (p, y) in rd.evals.items()}
        self.class_n = {n: np.bincount(y, minlength=self.K) for n, (_, y) in rd.evals.items()}
        self.primary = "iid" if "iid" in self.sets else next(iter(self.sets), None)
        self.last_acc = None  # the primary set's latest accuracy (for the progress bar)
        # every task's val part, uploaded once; task t's is [val_off[t], val_off[t + 1])
        self.val_off = np.concatenate([[0], np.cumsum([len(vp) for vp, _ in rd.val])]).astype(np.int64)
        self.val_pos, self.val_lab = (torch.from_numpy(np.concatenate([v[i] for v in rd.val]).astype(np.int64)).to(dev)
                                      for i in (0, 1))

    def __call__(self, at: str, task: int, epoch, clock: Clock) -> list[dict]:
        """The metric rows of one evaluation: one per eval set (the primary only between full evaluations) and,
        on full ones, the memorization fractions. Adds its duration to ``clock.eval_s``."""
        t_start = time.perf_counter()
        base = {"task": task, "epoch": epoch, "step": clock.step, "samples": clock.samples,
                "time": t_start - clock.t0, "at": at}
        full = self.schedule.is_full(at, task)
        names = [n for n in self.sets if n == self.primary or full]
        mem = self.memorize and full and self.trained.rows.any()
        host = self._counts(names, mem)
        K = self.K
        rows = [self._set_row(name, host[j * (K + 1):(j + 1) * (K + 1)], base) for j, name in enumerate(names)]
        if mem:
            pred = host[len(names) * (K + 1):].astype(np.int64)
            rows.append({"kind": "memorization", **base, **self.trained.memorization(pred)})
        clock.eval_s += time.perf_counter() - t_start
        return rows

    def _counts(self, names: list[str], mem: bool) -> np.ndarray:
        """float64 host array: per set ``K`` per-class hits then the summed loss; then the memorization
        predictions. One device read."""
        torch, model, X, bs, K = self.torch, self.model, self.X, self.batch, self.K
        dev = X.device
        trained_pos = self.trained.device_positions(torch) if mem else None
        model.eval()
        parts = []
        with torch.inference_mode(), self.autocast():
            for name in names:
                p, y = self.sets[name]
                hits = torch.zeros(K, dtype=torch.int64, device=dev)
                loss = torch.zeros(1, dtype=torch.float64, device=dev)
                for i in range(0, len(p), bs):
                    yb = y[i:i + bs]
                    z = model(X.batch(p[i:i + bs])).float()
                    loss += torch.nn.functional.cross_entropy(z, yb, reduction="sum").double()
                    hits.index_add_(0, yb, (z.argmax(1) == yb).long())
                parts += [hits.double(), loss]
            if mem:
                parts.append(predict(torch, model, X, trained_pos, bs).double())
        host = torch.cat(parts).cpu().numpy() if parts else np.zeros(0)
        model.train()
        return host

    def _set_row(self, name: str, counts: np.ndarray, base: dict) -> dict:
        hits, loss = counts[:self.K], counts[self.K]
        n = len(self.sets[name][0])
        with np.errstate(invalid="ignore", divide="ignore"):
            pc = hits / self.class_n[name]
        ok = self.trained.classes & (self.class_n[name] > 0)
        acc = float(hits.sum()) / n
        if name == self.primary:
            self.last_acc = acc
        return {"kind": "eval", **base, "set": name, "n": n, "acc": acc, "loss": float(loss) / n,
                "seen_acc": float(pc[ok].mean()) if ok.any() else None, "per_class": pc}

    def val_hits(self, task: int):
        """(0-d int64 device tensor, n): correct predictions on task ``task``'s val part, and its size."""
        torch = self.torch
        vs = slice(int(self.val_off[task]), int(self.val_off[task + 1]))
        n = vs.stop - vs.start
        if n == 0:
            return torch.zeros((), dtype=torch.int64, device=self.val_pos.device), 0
        self.model.eval()
        with torch.inference_mode(), self.autocast():
            hits = (predict(torch, self.model, self.X, self.val_pos[vs], self.batch) == self.val_lab[vs]).sum()
        self.model.train()
        return hits, n
