"""The training loop: one model over one stream, evaluated as it goes. Read top to bottom.

    >>> from synprobe.harness.train import run                                  # doctest: +SKIP
    >>> summary = run("scole-10c-2pt", "default.h5", out="runs/a", lr=0.01)     # doctest: +SKIP

Everything lives on the device: the images (one uint8 tensor), every task's sample positions and
labels, ELR's targets and the forgetting-event counters. A minibatch is a gather by index; the
only host synchronisation is once per task (train loss/accuracy) and at evaluations.
"""

from __future__ import annotations

import contextlib
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

__all__ = ["autocast_for", "device_name", "eval_batch", "resolve_device", "resolve_stream", "run"]


def resolve_device(device: str):
    torch = need_torch()
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise HarnessError(f"--device {device!r}: expected auto, cpu, cuda or cuda:N")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise HarnessError(f"--device {device}: no CUDA device is available here; use --device cpu or auto")
    return torch.device(device)


def autocast_for(torch, cfg: TrainConfig, dev):
    """A no-argument context factory: bf16 autocast per ``cfg.amp`` ("auto": on CUDA only), else a no-op."""
    if cfg.amp == "bf16" or (cfg.amp == "auto" and dev.type == "cuda"):
        return lambda: torch.autocast(dev.type, dtype=torch.bfloat16)
    return contextlib.nullcontext


def eval_batch(cfg: TrainConfig, dev) -> int:
    return cfg.eval_batch_size or (2048 if dev.type == "cuda" else 128)


def device_name(torch, dev) -> str:
    return str(dev) + (f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else "")


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


def _optimizer(torch, cfg: TrainConfig, params):
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def _planned_steps(rd, cfg: TrainConfig) -> int:
    if cfg.steps is not None:
        return cfg.steps * rd.n_tasks
    return int(sum(math.ceil(n / cfg.batch_size) for n in np.diff(rd.offsets))) * cfg.epochs


def run(stream, data, config: TrainConfig | None = None, out=None, *, device: str = "auto", progress: bool = True,
        overwrite: bool = False, argv=None, plots: bool = True, on_end=None, **overrides) -> dict:
    """Train over ``stream`` (Stream, ``.npz`` or scenario recipe) on dataset file ``data``.

    Args:
        config: a :class:`TrainConfig`; ``overrides`` replace its fields (``lr=0.1``).
        out: run directory to write (see docs/runs.md); None = write nothing, return the summary.
        device: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
        on_end: optional callback ``on_end(model, X, rd)`` after training, before files are
            finished: the trained model (eval mode), the :class:`DeviceData` and the :class:`RunData`.

    Returns:
        The summary dict (also ``summary.json``), with ``"rows"``: every metric row.
    """
    # --- setup -----------------------------------------------------------------------------------
    cfg = config or TrainConfig()
    if overrides:
        cfg = TrainConfig.from_dict({**cfg.to_dict(), **overrides})
    torch = need_torch()
    from synprobe.harness.data import DeviceData, prepare
    from synprobe.harness.losses import ELRTargets, training_loss
    from synprobe.harness.models import build_model
    from synprobe.harness.outputs import FORMAT, RunWriter, clean_json, summarize, task_accuracy
    from synprobe.harness.replay import make_replay

    dev = resolve_device(device)
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    stream, source = resolve_stream(stream, data)
    rd = prepare(stream, data, cfg.tasks, cfg.eval_sets, source)
    K, T = rd.n_classes, rd.n_tasks
    h, w, c = rd.x.shape[1:]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = build_model(cfg.model, (c, h, w), K, **cfg.model_args).to(dev)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    try:
        replay = make_replay(cfg.replay, seed=cfg.seed, **cfg.replay_args)
    except HarnessError as e:
        raise HarnessError(f"replay {cfg.replay!r} (replay_args): {e}") from None
    opt = _optimizer(torch, cfg, model.parameters())
    total = max(_planned_steps(rd, cfg), 1)
    if cfg.schedule == "constant":
        lr_at = lambda s: 1.0
    else:
        lr_at = lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    X = DeviceData(rd.x, dev)
    gen = torch.Generator(device=dev).manual_seed(cfg.seed)
    pos_all, lab_all = torch.from_numpy(rd.pos).to(dev), torch.from_numpy(rd.label).to(dev)
    evals = {n: (torch.from_numpy(p).to(dev), torch.from_numpy(y).to(dev)) for n, (p, y) in rd.evals.items()}
    class_n = {n: np.bincount(y, minlength=K) for n, (_, y) in rd.evals.items()}
    elr = ELRTargets(len(rd.rows), K, dev, cfg.elr_beta, cfg.elr_lambda) if cfg.loss == "elr" else None
    seen = torch.zeros(K, dtype=torch.bool, device=dev)
    n_img = len(rd.rows)
    ev_last = torch.zeros(n_img, dtype=torch.bool, device=dev)  # Toneva: correct at last presentation
    ev_learned = torch.zeros(n_img, dtype=torch.bool, device=dev)
    ev_count = torch.zeros(n_img, dtype=torch.int64, device=dev)
    ev_pres = torch.zeros(n_img, dtype=torch.int64, device=dev)
    memorize = rd.noisy if cfg.memorization is None else cfg.memorization
    first = np.unique(rd.pos, return_index=True)[1]  # first occurrence of every trained image
    obs_of = np.full(n_img, -1, np.int64)
    true_of = np.full(n_img, -1, np.int64)
    obs_of[rd.pos[first]], true_of[rd.pos[first]] = rd.label[first], rd.true[first]
    trained = np.zeros(n_img, bool)
    autocast = autocast_for(torch, cfg, dev)
    ebs = eval_batch(cfg, dev)
    dev_name = device_name(torch, dev)
    writer = RunWriter(out, overwrite) if out is not None else None
    config_json = {
        "format": FORMAT, "synprobe_version": _version(), "torch_version": torch.__version__,
        "numpy_version": np.__version__, "python": platform.python_version(), "device": dev_name, "seed": cfg.seed,
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
    state = {"step": 0, "samples": 0, "t0": time.perf_counter(), "eval_s": 0.0, "acc": None}

    def emit(row):
        row = clean_json(row)
        rows.append(row)
        if writer:
            writer.row(row)

    # --- evaluation ------------------------------------------------------------------------------
    primary = "iid" if "iid" in evals else next(iter(evals), None)
    ood_every = cfg.ood_every_tasks if cfg.ood_every_tasks is not None else max(1, T // 20)

    def evaluate(at: str, task: int, epoch=None):
        t_start = time.perf_counter()
        model.eval()
        base = {"task": task, "epoch": epoch, "step": state["step"], "samples": state["samples"],
                "time": t_start - state["t0"], "at": at}
        seen_np = seen.cpu().numpy()
        every = at in ("start", "epoch") or (at == "task_end" and (task == T - 1 or (task + 1) % ood_every == 0))
        with torch.inference_mode(), autocast():
            for name, (p, y) in evals.items():
                if name != primary and not every:
                    continue
                hits = torch.zeros(K, dtype=torch.int64, device=dev)
                loss = torch.zeros((), dtype=torch.float64, device=dev)
                for i in range(0, len(p), ebs):
                    yb = y[i:i + ebs]
                    z = model(X.batch(p[i:i + ebs])).float()
                    loss += torch.nn.functional.cross_entropy(z, yb, reduction="sum").double()
                    hits += torch.bincount(yb[z.argmax(1) == yb], minlength=K)
                with np.errstate(invalid="ignore", divide="ignore"):
                    pc = hits.cpu().numpy() / class_n[name]
                ok = seen_np & (class_n[name] > 0)
                acc = float(hits.sum()) / len(p)
                if name == primary:
                    state["acc"] = acc  # for the progress bar
                emit({"kind": "eval", **base, "set": name, "n": len(p), "acc": acc,
                      "loss": float(loss) / len(p), "seen_acc": float(pc[ok].mean()) if ok.any() else None,
                      "per_class": pc})
            if memorize and trained.any():
                emit({"kind": "memorization", **base, **_memorization(torch, model, X, trained, obs_of, true_of,
                                                                     ebs, dev)})
        model.train()
        state["eval_s"] += time.perf_counter() - t_start

    # --- train -----------------------------------------------------------------------------------
    bar = _bar(T, progress)
    model.train()
    evaluate("start", -1)
    try:
        for t in range(T):
            own = rd.task_slice(t)
            p, y = pos_all[own], lab_all[own]
            rp, ry = replay.samples(t, rd.task_classes[t], n_task=own.stop - own.start)
            if len(rp):
                p = torch.cat([p, torch.from_numpy(rp).to(dev)])
                y = torch.cat([y, torch.from_numpy(ry).to(dev)])
            seen[torch.from_numpy(rd.task_classes[t]).to(dev)] = True
            trained[rd.pos[own]] = True
            if cfg.reset_optimizer and t > 0:
                opt.state.clear()
            n, done, epoch = len(p), 0, 0
            loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
            hit_sum = torch.zeros((), dtype=torch.int64, device=dev)
            seen_samples = 0
            while n and (epoch < cfg.epochs if cfg.steps is None else done < cfg.steps):
                perm = torch.randperm(n, generator=gen, device=dev)
                for i in range(0, n, cfg.batch_size):
                    b = perm[i:i + cfg.batch_size]
                    pb, yb = p[b], y[b]
                    with autocast():
                        logits = model(X.batch(pb, cfg.shift_px if cfg.augment == "shift" else 0, gen))
                    loss = training_loss(logits, yb, cfg.masking, seen, elr, pb)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    if cfg.clip is not None:
                        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
                    opt.step()
                    sched.step()
                    with torch.no_grad():
                        ok = logits.argmax(1) == yb
                        loss_sum += loss.detach().double() * len(b)
                        hit_sum += ok.sum()
                        if cfg.forgetting_events:
                            ev_count.index_add_(0, pb, (ev_last[pb] & ~ok).long())
                            ev_pres.index_add_(0, pb, torch.ones_like(pb))
                            ev_last[pb] = ok
                            ev_learned[pb] |= ok
                    state["step"] += 1
                    state["samples"] += len(b)
                    seen_samples += len(b)
                    done += 1
                    if cfg.eval_every_steps and state["step"] % cfg.eval_every_steps == 0:
                        evaluate("step", t, epoch)
                    if cfg.steps is not None and done >= cfg.steps:
                        break
                epoch += 1
                last_epoch = epoch >= cfg.epochs if cfg.steps is None else done >= cfg.steps
                if cfg.eval_every_epochs and epoch % cfg.eval_every_epochs == 0 and not last_epoch:
                    evaluate("epoch", t, epoch)
            replay.update(t, rd.pos[own], rd.label[own], rd.task_classes[t])
            emit({"kind": "task", "task": t, "step": state["step"], "samples": state["samples"],
                  "time": time.perf_counter() - state["t0"], "n_samples": n, "n_replayed": len(rp),
                  "classes": rd.task_classes[t], "train_loss": float(loss_sum) / max(seen_samples, 1),
                  "train_acc": float(hit_sum) / max(seen_samples, 1),
                  "val_acc": _val_acc(torch, model, X, rd.val[t], ebs, dev, autocast)})
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
    events = None
    if cfg.forgetting_events and trained.any():
        tr = np.flatnonzero(trained)
        events = {"rows": rd.rows[tr], "counts": ev_count.cpu().numpy()[tr],
                  "presentations": ev_pres.cpu().numpy()[tr], "learned": ev_learned.cpu().numpy()[tr],
                  "noisy": obs_of[tr] != true_of[tr]}
    summary = summarize(rows, task_classes=rd.task_classes, class_n=class_n, n_classes=K, matrix=matrix,
                        events=events, time_s=time_s, eval_s=state["eval_s"], samples=state["samples"],
                        device=dev_name)
    if writer:
        ckpt = {"model": _plain(torch, model.state_dict()), "optimizer": _plain(torch, opt.state_dict()),
                "train": cfg.to_dict(),
                "model_name": cfg.model, "model_args": cfg.model_args, "in_shape": [c, h, w], "n_classes": K,
                "classes": rd.classes.tolist(), "task": T - 1, "step": state["step"], "seed": cfg.seed,
                "replay": _plain(torch, replay.state())}
        writer.finish(summary, matrix, events, ckpt, plots=plots)
    summary["rows"] = rows
    return summary


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


def _memorization(torch, model, X, trained, obs_of, true_of, bs, dev) -> dict:
    """ELR's fractions over the training images seen so far (predictions vs observed/true labels)."""
    from synprobe.harness.metrics import elr_fractions

    pos = np.flatnonzero(trained)
    pt = torch.from_numpy(pos).to(dev)
    pred = torch.cat([model(X.batch(pt[i:i + bs])).argmax(1) for i in range(0, len(pos), bs)]).cpu().numpy()
    return elr_fractions(pred, obs_of[pos], true_of[pos])


def _val_acc(torch, model, X, val, bs, dev, autocast):
    vp, vy = val
    if len(vp) == 0:
        return None
    model.eval()
    with torch.inference_mode(), autocast():
        p = torch.from_numpy(vp).to(dev)
        pred = torch.cat([model(X.batch(p[i:i + bs])).argmax(1) for i in range(0, len(vp), bs)]).cpu().numpy()
    model.train()
    return float((pred == vy).mean())


def _bar(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="task", disable=not enabled, file=sys.stderr, dynamic_ncols=True)


def _version() -> str:
    from synprobe import __version__

    return __version__

