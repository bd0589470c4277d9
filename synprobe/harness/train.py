"""The training loop: one model over one stream, evaluated as it goes. Read top to bottom.

    >>> from synprobe.harness.train import run                                  # doctest: +SKIP
    >>> summary = run("scole-10c-2pt", "default.h5", out="runs/a", lr=0.01)     # doctest: +SKIP

Everything lives on the device: the images (one uint8 tensor), every task's sample positions, labels,
classes and val part, ELR's targets and the forgetting-event counters. A minibatch is a gather by index;
the host reads the device once per task (the task row) and once per evaluation, never per step
(docs/training.md, "Speed").
"""

from __future__ import annotations

import math
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from synprobe.checksum import file_sha256_cached
from synprobe.harness.config import TrainConfig
from synprobe.harness.errors import HarnessError, need_torch

__all__ = ["resolve_stream", "run"]


def resolve_stream(stream, data):
    """(Stream, source text) from a Stream, a ``.npz`` stream file, or a scenario recipe name/path."""
    from synprobe.scenarios import Stream

    if isinstance(stream, Stream):
        return stream, "stream"
    p = Path(stream)
    if p.suffix == ".npz":
        from synprobe.scenarios import ScenarioError

        try:
            return Stream.load(p), str(p)
        except ScenarioError as e:
            raise HarnessError(str(e)) from None
    from synprobe.scenario_recipe import build

    return build(stream, data), str(stream)


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


def _planned_steps(rd, cfg: TrainConfig) -> int:
    if cfg.steps is not None:
        return cfg.steps * rd.n_tasks
    return int(sum(math.ceil(n / cfg.batch_size) for n in np.diff(rd.offsets))) * cfg.epochs


def run(stream, data, config: TrainConfig | None = None, out=None, *, device: str = "auto", progress: bool = True,
        overwrite: bool = False, argv=None, plots: bool = True, on_end=None, announce: bool = True, prepared=None,
        **overrides) -> dict:
    """Train over ``stream`` (Stream, ``.npz`` or scenario recipe) on dataset file ``data``.

    Args:
        config: a :class:`TrainConfig`; ``overrides`` replace its fields (``lr=0.1``).
        out: run directory to write (see docs/runs.md); None = write nothing, return the summary.
        device: "auto" (CUDA when present and usable, else the CPU, said on stderr), "cpu", "cuda" or "cuda:N".
        on_end: optional callback ``on_end(model, X, rd)`` after training, before files are
            finished: the trained model (eval mode), the :class:`DeviceData` and the :class:`RunData`.
        announce: print the one-line device/precision note on stderr.
        prepared: ``(RunData, DeviceData)`` of ``stream`` already loaded (``memorization.estimate``), or None.

    Returns:
        The summary dict (also ``summary.json``), with ``"rows"``: every metric row.
    """
    cfg = config or TrainConfig()
    if overrides:
        cfg = TrainConfig.from_dict({**cfg.to_dict(), **overrides})
    torch = need_torch()
    from synprobe.harness.device import resolve

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
                    plots=plots, on_end=on_end, prepared=prepared)


def _run(torch, stream, data, cfg: TrainConfig, out, hw, *, progress, overwrite, argv, plots, on_end,
         prepared) -> dict:
    # --- setup -----------------------------------------------------------------------------------
    from synprobe.harness.data import DeviceData, prepare
    from synprobe.harness.losses import ELRTargets, training_loss
    from synprobe.harness.models import build_model
    from synprobe.harness.outputs import FORMAT, RunWriter, clean_json, summarize, task_accuracy
    from synprobe.harness.replay import make_replay
    from synprobe.harness.scatter import PresentationEvents

    dev = hw.device
    stream, source = resolve_stream(stream, data)
    if prepared is None:
        rd = prepare(stream, data, cfg.tasks, cfg.eval_sets, source)
        X = None
    else:
        rd, X = prepared
    K, T = rd.n_classes, rd.n_tasks
    h, w, c = rd.x.shape[1:]
    model = build_model(cfg.model, (c, h, w), K, **cfg.model_args).to(dev)  # seeded by run()
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    # --compile: the forward of full training batches only (one shape; the smaller tail batches run eagerly)
    fast = torch.compile(model, mode="reduce-overhead" if dev.type == "cuda" else None) if cfg.compile else model
    try:
        replay = make_replay(cfg.replay, seed=cfg.seed, **cfg.replay_args)
    except HarnessError as e:
        raise HarnessError(f"replay {cfg.replay!r} (replay_args): {e}") from None
    opt = _optimizer(torch, cfg, model.parameters(), dev)
    scaler = hw.scaler()  # fp16 only; a pass-through otherwise
    total = max(_planned_steps(rd, cfg), 1)
    if X is None:
        X = DeviceData(rd.x, dev)
    gen = torch.Generator(device=dev).manual_seed(cfg.seed)
    pos_all, lab_all = torch.from_numpy(rd.pos).to(dev), torch.from_numpy(rd.label).to(dev)
    evals = {n: (torch.from_numpy(p).to(dev), torch.from_numpy(y).to(dev)) for n, (p, y) in rd.evals.items()}
    class_n = {n: np.bincount(y, minlength=K) for n, (_, y) in rd.evals.items()}
    n_img = len(rd.rows)
    elr = ELRTargets(n_img, K, dev, cfg.elr_beta, cfg.elr_lambda) if cfg.loss == "elr" else None
    seen = torch.zeros(K, dtype=torch.bool, device=dev)
    task_cls = torch.zeros(T, K, dtype=torch.bool)  # (T, K) classes of each task, uploaded once
    for t, cl in enumerate(rd.task_classes):
        task_cls[t, torch.from_numpy(cl)] = True
    task_cls = task_cls.to(dev)
    val_off = np.concatenate([[0], np.cumsum([len(vp) for vp, _ in rd.val])]).astype(np.int64)
    val_pos, val_lab = (torch.from_numpy(np.concatenate([v[i] for v in rd.val]).astype(np.int64)).to(dev)
                        for i in (0, 1))  # every task's val part, uploaded once
    seen_np = np.zeros(K, bool)  # its host copy (no device read at evaluations)
    events = PresentationEvents(n_img, dev) if cfg.forgetting_events else None
    memorize = rd.noisy if cfg.memorization is None else cfg.memorization
    first = np.unique(rd.pos, return_index=True)[1]  # first occurrence of every trained image
    obs_of = np.full(n_img, -1, np.int64)
    true_of = np.full(n_img, -1, np.int64)
    obs_of[rd.pos[first]], true_of[rd.pos[first]] = rd.label[first], rd.true[first]
    trained = np.zeros(n_img, bool)
    autocast = hw.autocast()
    ebs = cfg.eval_batch_size or hw.eval_batch
    writer = RunWriter(out, overwrite) if out is not None else None
    config_json = {
        "format": FORMAT, "synprobe_version": _version(), "torch_version": torch.__version__,
        "numpy_version": np.__version__, "python": platform.python_version(), "device": hw.name,
        "device_used": dev.type, "amp_used": hw.amp, "device_note": hw.note, "seed": cfg.seed,
        "created": datetime.now(UTC).isoformat(timespec="seconds"), "argv": argv, "train": cfg.to_dict(),
        "stream": {"source": source, "kind": stream.spec.get("kind"), "n_tasks": T, "seed": stream.seed,
                   "spec": stream.spec, "classes": rd.classes, "class_names": rd.class_names, "n_classes": K,
                   "eval_sets": {n: len(p) for n, (p, _) in rd.evals.items()},
                   "eval_class_counts": class_n, "skipped_eval_sets": rd.skipped, "noisy": rd.noisy},
        "data": {"file": str(data), "sha256": file_sha256_cached(data) if writer else None, "n_rows": rd.n_file,
                 "target": rd.target, "image_shape": [h, w, c]},
    }
    if writer:
        writer.write_json("config.json", config_json)
    rows: list[dict] = []
    state = {"step": 0, "samples": 0, "t0": time.perf_counter(), "eval_s": 0.0, "acc": None, "trained_pos": None}

    def emit(row):
        row = clean_json(row)
        rows.append(row)
        if writer:
            writer.row(row)

    # --- evaluation ------------------------------------------------------------------------------
    primary = "iid" if "iid" in evals else next(iter(evals), None)
    ood_every = cfg.ood_every_tasks if cfg.ood_every_tasks is not None else max(1, T // 20)

    def evaluate(at: str, task: int, epoch=None):
        """Every eval set (the primary only, between full evaluations) and the memorization fractions; the
        counts stay on the device until one transfer at the end (the evaluation's single host sync)."""
        t_start = time.perf_counter()
        model.eval()
        base = {"task": task, "epoch": epoch, "step": state["step"], "samples": state["samples"],
                "time": t_start - state["t0"], "at": at}
        every = at in ("start", "epoch") or (at == "task_end" and (task == T - 1 or (task + 1) % ood_every == 0))
        names = [n for n in evals if n == primary or every]
        mem = memorize and every and trained.any()
        if mem and state["trained_pos"] is None:  # the rows trained so far, uploaded once per task
            state["trained_pos"] = torch.from_numpy(np.flatnonzero(trained)).to(dev)
        parts = []
        with torch.inference_mode(), autocast():
            for name in names:
                p, y = evals[name]
                hits = torch.zeros(K, dtype=torch.int64, device=dev)
                loss = torch.zeros(1, dtype=torch.float64, device=dev)
                for i in range(0, len(p), ebs):
                    yb = y[i:i + ebs]
                    z = model(X.batch(p[i:i + ebs])).float()
                    loss += torch.nn.functional.cross_entropy(z, yb, reduction="sum").double()
                    hits.index_add_(0, yb, (z.argmax(1) == yb).long())
                parts += [hits.double(), loss]
            if mem:
                parts.append(_predict(torch, model, X, state["trained_pos"], ebs).double())
        host = torch.cat(parts).cpu().numpy() if parts else np.zeros(0)
        model.train()
        for j, name in enumerate(names):
            hits, loss = host[j * (K + 1):j * (K + 1) + K], host[j * (K + 1) + K]
            p = evals[name][0]
            with np.errstate(invalid="ignore", divide="ignore"):
                pc = hits / class_n[name]
            ok = seen_np & (class_n[name] > 0)
            acc = float(hits.sum()) / len(p)
            if name == primary:
                state["acc"] = acc  # for the progress bar
            emit({"kind": "eval", **base, "set": name, "n": len(p), "acc": acc, "loss": float(loss) / len(p),
                  "seen_acc": float(pc[ok].mean()) if ok.any() else None, "per_class": pc})
        if mem:
            from synprobe.harness.metrics import elr_fractions

            pos = np.flatnonzero(trained)
            pred = host[len(names) * (K + 1):].astype(np.int64)
            emit({"kind": "memorization", **base, **elr_fractions(pred, obs_of[pos], true_of[pos])})
        state["eval_s"] += time.perf_counter() - t_start

    # --- train -----------------------------------------------------------------------------------
    bar = _bar(T, progress)
    model.train()
    evaluate("start", -1)
    bs, shift = cfg.batch_size, cfg.shift_px if cfg.augment == "shift" else 0
    try:
        for t in range(T):
            own = rd.task_slice(t)
            p, y = pos_all[own], lab_all[own]
            rp, ry = replay.samples(t, rd.task_classes[t], n_task=own.stop - own.start)
            if len(rp):
                rpy = torch.from_numpy(np.stack([rp, ry]).astype(np.int64)).to(dev)  # one upload
                p, y = torch.cat([p, rpy[0]]), torch.cat([y, rpy[1]])
            seen |= task_cls[t]
            seen_np[rd.task_classes[t]] = True
            trained[rd.pos[own]] = True
            state["trained_pos"] = None
            if cfg.reset_optimizer and t > 0:
                opt.state.clear()
            n, done, epoch = len(p), 0, 0
            loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
            hit_sum = torch.zeros((), dtype=torch.int64, device=dev)
            seen_samples = 0
            while n and (epoch < cfg.epochs if cfg.steps is None else done < cfg.steps):
                perm = torch.randperm(n, generator=gen, device=dev)
                for i in range(0, n, bs):
                    if cfg.tail == "wrap" and i + bs > n:  # fill the last batch with the pass's first samples
                        b = perm[torch.arange(i, i + bs, device=dev) % n]
                    else:
                        b = perm[i:i + bs]
                    pb, yb = p[b], y[b]
                    with autocast():
                        logits = (fast if len(b) == bs else model)(X.batch(pb, shift, gen))
                    loss = training_loss(logits, yb, cfg.masking, seen, elr, pb)
                    opt.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    if cfg.clip is not None:
                        scaler.unscale_(opt)
                        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
                    scaler.step(opt)
                    scaler.update()
                    with torch.no_grad():
                        ok = logits.argmax(1) == yb
                        loss_sum += loss.detach().double() * len(b)
                        hit_sum += ok.sum()
                        if events is not None:
                            events.update(pb, ok)
                    state["step"] += 1
                    state["samples"] += len(b)
                    seen_samples += len(b)
                    done += 1
                    if cfg.schedule == "cosine":
                        _set_lr(opt, cfg.lr * _cosine(state["step"], total))
                    if cfg.eval_every_steps and state["step"] % cfg.eval_every_steps == 0:
                        evaluate("step", t, epoch)
                    if cfg.steps is not None and done >= cfg.steps:
                        break
                epoch += 1
                last_epoch = epoch >= cfg.epochs if cfg.steps is None else done >= cfg.steps
                if cfg.eval_every_epochs and epoch % cfg.eval_every_epochs == 0 and not last_epoch:
                    evaluate("epoch", t, epoch)
            replay.update(t, rd.pos[own], rd.label[own], rd.task_classes[t])
            vs = slice(int(val_off[t]), int(val_off[t + 1]))
            vhits = _val_hits(torch, model, X, val_pos[vs], val_lab[vs], ebs, autocast)
            tl, th, vh = torch.stack([loss_sum, hit_sum.double(), vhits.double()]).cpu().tolist()  # the task's sync
            n_val = vs.stop - vs.start
            emit({"kind": "task", "task": t, "step": state["step"], "samples": state["samples"],
                  "time": time.perf_counter() - state["t0"], "n_samples": n, "n_replayed": len(rp),
                  "classes": rd.task_classes[t], "train_loss": tl / max(seen_samples, 1),
                  "train_acc": th / max(seen_samples, 1), "val_acc": vh / n_val if n_val else None})
            if t == T - 1 or (cfg.eval_every_tasks and (t + 1) % cfg.eval_every_tasks == 0):
                evaluate("task_end", t, epoch if cfg.eval_every_epochs else None)
            bar.update(1)
            el = time.perf_counter() - state["t0"]
            acc = state["acc"]
            bar.set_postfix_str(f"{state['samples'] / max(el, 1e-9):,.0f} samples/s"
                                + (f", {primary} acc {acc:.3f}" if acc is not None else ""), refresh=False)
    except BaseException:
        if writer:
            writer.abort()
        raise
    finally:
        bar.close()

    # --- metrics and files -----------------------------------------------------------------------
    time_s = time.perf_counter() - state["t0"]
    if on_end is not None:
        model.eval()
        on_end(model, X, rd)
    ends = [r for r in rows if r["kind"] == "eval" and r["at"] == "task_end" and r["set"] == primary]
    matrix = None
    if ends:
        pc = np.array([[np.nan if v is None else v for v in r["per_class"]] for r in ends], float)
        matrix = task_accuracy(pc, class_n[primary].astype(float), rd.task_classes)
    ev = None
    if events is not None and trained.any():
        tr = np.flatnonzero(trained)
        ev = {"rows": rd.rows[tr], "counts": events.count.cpu().numpy()[tr],
              "presentations": events.presentations.cpu().numpy()[tr], "learned": events.learned.cpu().numpy()[tr],
              "noisy": obs_of[tr] != true_of[tr]}
    summary = summarize(rows, task_classes=rd.task_classes, class_n=class_n, n_classes=K, matrix=matrix,
                        events=ev, time_s=time_s, eval_s=state["eval_s"], samples=state["samples"],
                        device=hw.name)
    summary["amp_used"] = hw.amp
    if writer:
        ckpt = {"model": _plain(torch, model.state_dict()), "optimizer": _plain(torch, opt.state_dict()),
                "train": cfg.to_dict(),
                "model_name": cfg.model, "model_args": cfg.model_args, "in_shape": [c, h, w], "n_classes": K,
                "classes": rd.classes.tolist(), "task": T - 1, "step": state["step"], "seed": cfg.seed,
                "replay": _plain(torch, replay.state())}
        writer.finish(summary, matrix, ev, ckpt, plots=plots)
    summary["rows"] = rows
    return summary


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


def _predict(torch, model, X, pos, bs):
    """int64 (n,) predicted classes of the images at device positions ``pos`` (stays on the device)."""
    return torch.cat([model(X.batch(pos[i:i + bs])).argmax(1) for i in range(0, len(pos), bs)])


def _val_hits(torch, model, X, vp, vy, bs, autocast):
    """A 0-d int64 device tensor: correct predictions on a task's val part (device positions/labels; 0 without)."""
    if len(vp) == 0:
        return torch.zeros((), dtype=torch.int64, device=vp.device)
    model.eval()
    with torch.inference_mode(), autocast():
        hits = (_predict(torch, model, X, vp, bs) == vy).sum()
    model.train()
    return hits


def _bar(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="task", disable=not enabled, file=sys.stderr, dynamic_ncols=True)


def _version() -> str:
    from synprobe import __version__

    return __version__

