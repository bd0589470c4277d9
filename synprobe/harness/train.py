"""The training loop: one model over one stream, evaluated as it goes. Read top to bottom.

    >>> from synprobe.harness.train import run                                  # doctest: +SKIP
    >>> summary = run("scole-10c-2pt", "default.h5", out="runs/a", lr=0.01)     # doctest: +SKIP

:func:`run` seeds and picks the device; a :class:`Trainer` holds the model, optimizer, replay and device
tensors and trains in named steps: :meth:`~Trainer.train` (an evaluation at the start, then every task) ->
:meth:`~Trainer.train_task` -> :meth:`~Trainer.train_epoch` -> :meth:`~Trainer.train_step`. When to
evaluate is an :class:`~synprobe.harness.evaluation.EvalSchedule`, what an evaluation measures the
:class:`~synprobe.harness.evaluation.Evaluator`, and the folder's ``config.json`` comes from
:func:`~synprobe.harness.provenance.run_record`.

Everything lives on the device: the images (one uint8 tensor), every task's sample positions, labels,
classes and val part, ELR's targets and the forgetting-event counters. A minibatch is a gather by index;
the host reads the device once per task (the task row) and once per evaluation, never per step
(docs/training.md, "Speed").
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass

import numpy as np

from synprobe.harness import data as run_data  # by module: a test counts its prepare() and DeviceData() calls
from synprobe.harness.callbacks import CallbackList
from synprobe.harness.config import TrainConfig
from synprobe.harness.data import resolve_stream
from synprobe.harness.device import resolve
from synprobe.harness.errors import HarnessError, need_torch
from synprobe.harness.evaluation import Clock, EvalSchedule, Evaluator, TrainedSoFar
from synprobe.harness.losses import ELRTargets, training_loss
from synprobe.harness.models import build_model
from synprobe.harness.outputs import RunWriter, clean_json, summarize, task_accuracy
from synprobe.harness.provenance import run_record
from synprobe.harness.replay import make_replay
from synprobe.harness.rundir import FORMAT

__all__ = ["resolve_stream", "run"]


def run(stream, data, config: TrainConfig | None = None, out=None, *, device: str = "auto", progress: bool = True,
        overwrite: bool = False, argv=None, plots: bool = True, on_end=None, announce: bool = True, prepared=None,
        callbacks=(), **overrides) -> dict:
    """Train over ``stream`` (Stream, ``.npz`` or scenario recipe) on dataset file ``data``.

    Args:
        config: a :class:`TrainConfig`; ``overrides`` replace its fields (``lr=0.1``).
        out: run directory to write (see docs/runs.md); None = write nothing, return the summary.
        device: "auto" (CUDA when present and usable, else the CPU, said on stderr), "cpu", "cuda" or "cuda:N".
        on_end: optional callback ``on_end(model, X, rd)`` after training, before files are
            finished: the trained model (eval mode), the :class:`DeviceData` and the :class:`RunData`.
        announce: print the one-line device/precision note on stderr.
        prepared: ``(RunData, DeviceData)`` of ``stream`` already loaded (``memorization.estimate``), or None.
        callbacks: :class:`~synprobe.harness.callbacks.Callback` objects (loggers: ``synprobe.harness.loggers``)
            told of the run's start, every evaluation and task, and its end; they change no number of the run.

    Returns:
        The summary dict (also ``summary.json``), with ``"rows"``: every metric row.
    """
    cfg = config or TrainConfig()
    if overrides:
        cfg = TrainConfig.from_dict({**cfg.to_dict(), **overrides})
    torch = need_torch()
    hw = resolve(device, cfg.amp)
    if announce:
        print(f"synprobe: {hw.note}", file=sys.stderr)
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    gpus = [hw.device.index if hw.device.index is not None else torch.cuda.current_device()] \
        if hw.device.type == "cuda" else []
    # every generator the run draws from starts from its seed (model init, dropout, ...), the caller's are restored
    with torch.random.fork_rng(devices=gpus):
        torch.manual_seed(cfg.seed)
        return _run(torch, stream, data, cfg, out, hw, progress=progress, overwrite=overwrite, argv=argv,
                    plots=plots, on_end=on_end, prepared=prepared, callbacks=CallbackList(callbacks))


def _run(torch, stream, data, cfg: TrainConfig, out, hw, *, progress, overwrite, argv, plots, on_end,
         prepared, callbacks: CallbackList) -> dict:
    # --- setup -----------------------------------------------------------------------------------
    stream, source = resolve_stream(stream, data)
    if prepared is None:
        rd, X = run_data.prepare(stream, data, cfg.tasks, cfg.eval_sets, source), None
    else:
        rd, X = prepared
    trainer = Trainer(torch, cfg, hw, rd, X)
    writer = RunWriter(out, overwrite) if out is not None else None
    log = RunLog(writer, callbacks)
    if writer or callbacks:
        ev = trainer.evaluator
        sets = {"eval_sets": {n: len(p) for n, (p, _) in rd.evals.items()}, "eval_class_counts": ev.class_n,
                "skipped_eval_sets": rd.skipped}
        record = clean_json(run_record(FORMAT, hw, cfg, argv, stream=stream, source=source, rd=rd, data=data,
                                       stream_extra=sets))
        if writer:
            writer.write_json("config.json", record)
        log.start(record)

    # --- train -----------------------------------------------------------------------------------
    trainer.train(log, progress)

    # --- metrics and files -----------------------------------------------------------------------
    time_s = log.clock.elapsed()
    try:
        if on_end is not None:
            trainer.model.eval()
            on_end(trainer.model, trainer.X, rd)
        matrix = trainer.accuracy_matrix(log.rows)
        events = trainer.trained.forgetting_events(rd.rows)
        summary = summarize(log.rows, task_classes=rd.task_classes, class_n=trainer.evaluator.class_n,
                            n_classes=rd.n_classes, matrix=matrix, events=events, time_s=time_s,
                            eval_s=log.clock.eval_s, samples=log.clock.samples, device=hw.name)
        summary["amp_used"] = hw.amp
    except BaseException as e:
        log.abort(e)
        raise
    log.end(summary)
    if writer:
        writer.finish(summary, matrix, events, trainer.checkpoint(), plots=plots)
    summary["rows"] = log.rows
    return summary


class RunLog:
    """A run's metric rows, kept, (with a writer) written and told to the callbacks as they come; its
    :class:`Clock`."""

    def __init__(self, writer: RunWriter | None, callbacks: CallbackList | None = None):
        self.rows: list[dict] = []
        self.writer = writer
        self.callbacks = callbacks or CallbackList()
        self.clock = Clock()

    def start(self, record: dict) -> None:
        t = time.perf_counter()
        try:
            self.callbacks.run_start(record, self.writer.dir if self.writer else None)
        except BaseException as e:
            self.abort(e)
            raise
        self.clock.t0 += time.perf_counter() - t  # a logger's start-up (wandb: seconds) is not the run's time

    def emit(self, row: dict) -> dict:
        row = clean_json(row)
        self.rows.append(row)
        if self.writer:
            self.writer.row(row)
        return row

    def task(self, row: dict) -> None:
        self.callbacks.task_end(self.emit(row))

    def evaluation(self, rows: list[dict]) -> None:
        self.callbacks.evaluation([self.emit(r) for r in rows])

    def end(self, summary: dict) -> None:
        """Before the folder is finished: the callbacks close their logs inside it."""
        try:
            self.callbacks.run_end(clean_json(summary))
        except BaseException as e:
            self.abort(e)
            raise

    def abort(self, error: BaseException) -> None:
        if self.writer:
            self.writer.abort()
        self.callbacks.run_error(error)


@dataclass
class TaskSums:
    """A task's summed training loss and hits, on the device until the task row reads them; its samples."""

    loss: object  # float64 0-d device tensor
    hits: object  # int64 0-d device tensor
    samples: int = 0


class Trainer:
    """One model, its optimizer and replay over one resolved stream, with every tensor on the device."""

    def __init__(self, torch, cfg: TrainConfig, hw, rd, X=None):
        dev = hw.device
        self.torch, self.cfg, self.rd, self.dev = torch, cfg, rd, dev
        h, w, c = rd.x.shape[1:]
        self.model = build_model(cfg.model, (c, h, w), rd.n_classes, **cfg.model_args).to(dev)  # seeded by run()
        if cfg.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        # --compile: the forward of full training batches only (one shape; the smaller tail batches run eagerly)
        mode = "reduce-overhead" if dev.type == "cuda" else None
        self.fast = torch.compile(self.model, mode=mode) if cfg.compile else self.model
        try:
            self.replay = make_replay(cfg.replay, seed=cfg.seed, **cfg.replay_args)
        except HarnessError as e:
            raise HarnessError(f"replay {cfg.replay!r} (replay_args): {e}") from None
        self.opt = _optimizer(torch, cfg, self.model.parameters(), dev)
        self.scaler = hw.scaler()  # fp16 only; a pass-through otherwise
        self.autocast = hw.autocast()
        self.total = max(_planned_steps(rd, cfg), 1)  # the cosine schedule's length
        self.X = X if X is not None else run_data.DeviceData(rd.x, dev)
        self.gen = torch.Generator(device=dev).manual_seed(cfg.seed)  # minibatch order and augmentation
        self.pos, self.label = torch.from_numpy(rd.pos).to(dev), torch.from_numpy(rd.label).to(dev)
        self.task_cls = _task_classes(torch, rd, dev)
        self.seen = torch.zeros(rd.n_classes, dtype=torch.bool, device=dev)  # classes trained so far (masking)
        self.elr = ELRTargets(len(rd.rows), rd.n_classes, dev, cfg.elr_beta, cfg.elr_lambda) \
            if cfg.loss == "elr" else None
        self.shift = cfg.shift_px if cfg.augment == "shift" else 0
        self.trained = TrainedSoFar(rd, dev, cfg.forgetting_events)
        self.schedule = EvalSchedule.of(cfg, rd.n_tasks)
        self.evaluator = Evaluator(torch, self.model, self.X, rd, self.schedule, self.trained,
                                   batch=cfg.eval_batch_size or hw.eval_batch, autocast=self.autocast,
                                   memorize=rd.noisy if cfg.memorization is None else cfg.memorization)
        self.log: RunLog | None = None

    @property
    def clock(self) -> Clock:
        return self.log.clock

    def train(self, log: RunLog, progress: bool) -> None:
        """Evaluate the untrained model, then train every task in order; rows go to ``log``."""
        self.log = log
        bar = _bar(self.rd.n_tasks, progress)
        self.model.train()
        self.evaluate("start", -1)
        try:
            for t in range(self.rd.n_tasks):
                self.train_task(t)
                bar.update(1)
                bar.set_postfix_str(self._speed(), refresh=False)
        except BaseException as e:
            log.abort(e)
            raise
        finally:
            bar.close()

    def train_task(self, t: int) -> None:
        """Task ``t``: its samples plus the replayed ones for the configured epochs or steps, then the replay
        memory's update, the task row and, when scheduled, a task-end evaluation."""
        rd, cfg = self.rd, self.cfg
        own = rd.task_slice(t)
        p, y, n_replayed = self.task_samples(t, own)
        self.seen |= self.task_cls[t]
        self.trained.add_task(rd.pos[own], rd.task_classes[t])
        if cfg.reset_optimizer and t > 0:
            self.opt.state.clear()
        sums = TaskSums(self.torch.zeros((), dtype=self.torch.float64, device=self.dev),
                        self.torch.zeros((), dtype=self.torch.int64, device=self.dev))
        n, done, epoch = len(p), 0, 0
        while n and (epoch < cfg.epochs if cfg.steps is None else done < cfg.steps):
            done = self.train_epoch(t, epoch, p, y, sums, done)
            epoch += 1
            last_epoch = epoch >= cfg.epochs if cfg.steps is None else done >= cfg.steps
            if self.schedule.after_epoch(epoch, last_epoch):
                self.evaluate("epoch", t, epoch)
        self.replay.update(t, rd.pos[own], rd.label[own], rd.task_classes[t])
        self.log.task(self.task_row(t, n, n_replayed, sums))
        if self.schedule.after_task(t):
            self.evaluate("task_end", t, self.schedule.task_end_epoch(epoch))

    def task_samples(self, t: int, own: slice):
        """(positions, labels, n replayed): task ``t``'s own samples then the replayed ones, on the device."""
        torch = self.torch
        p, y = self.pos[own], self.label[own]
        rp, ry = self.replay.samples(t, self.rd.task_classes[t], n_task=own.stop - own.start)
        if len(rp):
            rpy = torch.from_numpy(np.stack([rp, ry]).astype(np.int64)).to(self.dev)  # one upload
            p, y = torch.cat([p, rpy[0]]), torch.cat([y, rpy[1]])
        return p, y, len(rp)

    def train_epoch(self, t: int, epoch: int, p, y, sums: TaskSums, done: int) -> int:
        """One pass over ``p``/``y`` in a fresh random order (with ``steps``: until the task has done them);
        returns the task's steps done so far."""
        torch, cfg, bs, n = self.torch, self.cfg, self.cfg.batch_size, len(p)
        perm = torch.randperm(n, generator=self.gen, device=self.dev)
        for i in range(0, n, bs):
            if cfg.tail == "wrap" and i + bs > n:  # fill the last batch with the pass's first samples
                b = perm[torch.arange(i, i + bs, device=self.dev) % n]
            else:
                b = perm[i:i + bs]
            self.train_step(p[b], y[b], sums)
            done += 1
            if self.schedule.after_step(self.clock.step):
                self.evaluate("step", t, epoch)
            if cfg.steps is not None and done >= cfg.steps:
                break
        return done

    def train_step(self, pb, yb, sums: TaskSums) -> None:
        """One optimizer step on the minibatch at device positions ``pb`` with labels ``yb``."""
        torch, cfg, opt, scaler = self.torch, self.cfg, self.opt, self.scaler
        with self.autocast():
            logits = (self.fast if len(pb) == cfg.batch_size else self.model)(self.X.batch(pb, self.shift, self.gen))
        loss = training_loss(logits, yb, cfg.masking, self.seen, self.elr, pb)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if cfg.clip is not None:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip)
        scaler.step(opt)
        scaler.update()
        with torch.no_grad():
            ok = logits.argmax(1) == yb
            sums.loss += loss.detach().double() * len(pb)
            sums.hits += ok.sum()
            self.trained.record(pb, ok)
        self.clock.step += 1
        self.clock.samples += len(pb)
        sums.samples += len(pb)
        if cfg.schedule == "cosine":
            _set_lr(opt, cfg.lr * _cosine(self.clock.step, self.total))

    def evaluate(self, at: str, task: int, epoch=None) -> None:
        self.log.evaluation(self.evaluator(at, task, epoch, self.clock))

    def task_row(self, t: int, n: int, n_replayed: int, sums: TaskSums) -> dict:
        """The ``task`` metric row: training loss/accuracy and val accuracy, read in the task's one sync."""
        vhits, n_val = self.evaluator.val_hits(t)
        tl, th, vh = self.torch.stack([sums.loss, sums.hits.double(), vhits.double()]).cpu().tolist()
        clock, per = self.clock, max(sums.samples, 1)
        return {"kind": "task", "task": t, "step": clock.step, "samples": clock.samples, "time": clock.elapsed(),
                "n_samples": n, "n_replayed": n_replayed, "classes": self.rd.task_classes[t],
                "train_loss": tl / per, "train_acc": th / per, "val_acc": vh / n_val if n_val else None}

    def accuracy_matrix(self, rows: list[dict]) -> np.ndarray | None:
        """(E, T) accuracy on each task's classes at the primary set's task-end evaluations, or None."""
        ev = self.evaluator
        ends = [r for r in rows if r["kind"] == "eval" and r["at"] == "task_end" and r["set"] == ev.primary]
        if not ends:
            return None
        pc = np.array([[np.nan if v is None else v for v in r["per_class"]] for r in ends], float)
        return task_accuracy(pc, ev.class_n[ev.primary].astype(float), self.rd.task_classes)

    def checkpoint(self) -> dict:
        """A plain dict that rebuilds the final model, optimizer and replay (``torch.load(weights_only=True)``)."""
        torch, cfg, rd = self.torch, self.cfg, self.rd
        h, w, c = rd.x.shape[1:]
        return {"model": _plain(torch, self.model.state_dict()), "optimizer": _plain(torch, self.opt.state_dict()),
                "train": cfg.to_dict(), "model_name": cfg.model, "model_args": cfg.model_args, "in_shape": [c, h, w],
                "n_classes": rd.n_classes, "classes": rd.classes.tolist(), "task": rd.n_tasks - 1,
                "step": self.clock.step, "seed": cfg.seed, "replay": _plain(torch, self.replay.state())}

    def _speed(self) -> str:
        acc, primary = self.evaluator.last_acc, self.evaluator.primary
        return (f"{self.clock.samples / max(self.clock.elapsed(), 1e-9):,.0f} samples/s"
                + (f", {primary} acc {acc:.3f}" if acc is not None else ""))


def _task_classes(torch, rd, dev):
    """bool (T, K) device tensor: the classes of each task, uploaded once."""
    task_cls = torch.zeros(rd.n_tasks, rd.n_classes, dtype=torch.bool)
    for t, cl in enumerate(rd.task_classes):
        task_cls[t, torch.from_numpy(cl)] = True
    return task_cls.to(dev)


def _planned_steps(rd, cfg: TrainConfig) -> int:
    """The optimizer steps the whole run will take (the cosine schedule's length)."""
    if cfg.steps is not None:
        return cfg.steps * rd.n_tasks
    return int(sum(math.ceil(n / cfg.batch_size) for n in np.diff(rd.offsets))) * cfg.epochs


def _optimizer(torch, cfg: TrainConfig, params, dev, fused: bool | None = None):
    """The optimizer. On CUDA (``fused`` None: by device): fused (one kernel over all parameters) with the learning
    rate a device tensor, which the fused kernels read on the device (a foreach step would ``.item()`` it: a sync
    per step) and a schedule updates in place (a captured graph stays valid). On the CPU: a float and torch's
    default implementation, the arithmetic of earlier runs (a tensor lr changes Adam's last bit, measured)."""
    fused = dev.type == "cuda" if fused is None else fused
    kw = {"lr": torch.tensor(cfg.lr, dtype=torch.float32, device=dev), "fused": True} if fused else {"lr": cfg.lr}
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, momentum=cfg.momentum, weight_decay=cfg.weight_decay, **kw)
    opt = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
    return opt(params, weight_decay=cfg.weight_decay, **kw)


def _set_lr(opt, value: float) -> None:
    for g in opt.param_groups:
        if isinstance(g["lr"], float):
            g["lr"] = value
        else:
            g["lr"].fill_(value)  # in place: no host sync, a captured graph sees it


def _cosine(step: int, total: int) -> float:
    """The cosine schedule's factor after ``step`` of ``total`` steps: 1 -> 0."""
    return 0.5 * (1 + math.cos(math.pi * min(step, total) / total))


def _plain(torch, obj):
    """numpy arrays/scalars as tensors/Python values and tensors on the CPU, so ``torch.load(weights_only=True)``
    reads the checkpoint on any machine."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _plain(torch, v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(torch, v) for v in obj]
    if isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        return torch.from_numpy(a.view(np.int64) if a.dtype == np.uint64 else a)  # uint64: same bits
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _bar(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="task", disable=not enabled, file=sys.stderr, dynamic_ncols=True)
