"""The GPU smoke test of the training harness (issue 18); ``bench/gpu_smoke.sh`` runs it.

    bash bench/gpu_smoke.sh                 # on a CUDA machine: the full check, under 5 minutes on one GPU
    bash bench/gpu_smoke.sh --cpu           # reduced, on the CPU (also chosen when CUDA is not usable)
    bash bench/gpu_smoke.sh --data d.h5     # an existing dataset file instead of generating one

What it does, in order:

1. prints the torch build, CUDA/cuDNN versions, the GPU, its compute capability, whether bf16 is native,
   and the device/precision note a run gets (``synprobe.harness.device.resolve``);
2. runs every model and every strategy option (masking, ELR, each replay, augmentation, each optimizer, the
   cosine schedule, ``--tail wrap``, each precision the device has) for a few tasks;
3. counts host syncs over a 40-task run (``torch.cuda.set_sync_debug_mode("warn")``; on the CPU the reads
   that would sync, ``synprobe.harness.syncs``) with 1 and with 3 epochs per task: the counts must be equal
   (syncs grow with tasks and evaluations, never with steps), else FAIL;
4. times raw training steps/s of ``scole_cnn`` (batch 64) and ``resnet18`` (batch 128), 32x32 inputs, at the
   run's precision (reduced: ResNet-18 at batch 16, 16x16);
5. times the 500-task ``scole-10c-2pt`` stream (SCoLe's protocol: evaluation of the iid set after every
   task) against < 60 s (CUDA only; the reduced CPU form runs 8 tasks and only reports).

Data: a 100,000-image ``default`` file at 32x32 (reduced: 2,400 at 16x16), generated into a temporary folder
unless ``--data`` is given. Results: stdout, and ``--out`` (JSON; default bench/results/gpu_smoke_{cuda,cpu}.json).
Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

from _machine import machine_info  # bench/ is on sys.path when a bench script runs

ROOT = Path(__file__).resolve().parents[1]


def environment(torch, hw) -> dict:
    env = {"torch": torch.__version__, "cuda_build": torch.version.cuda, "cudnn": None, "gpu": None,
           "capability": None, "bf16_native": None, "note": hw.note, **machine_info()}
    if hw.device.type == "cuda":
        cap = torch.cuda.get_device_capability(hw.device)
        env.update(cudnn=torch.backends.cudnn.version(), gpu=torch.cuda.get_device_name(hw.device),
                   capability=f"{cap[0]}.{cap[1]}",
                   bf16_native=torch.cuda.is_bf16_supported(including_emulation=False))
    return env


def make_data(reduced: bool, tmp: Path) -> Path:
    from synprobe.generator import generate

    out = tmp / "default.h5"
    t = time.perf_counter()
    n, workers, res = (2400, 1, 16) if reduced else (100_000, 4, 32)
    generate("default", n, out, workers=workers, resolution=res)
    print(f"generated {out} in {time.perf_counter() - t:.1f} s", flush=True)
    return out


def configs(models, amps) -> list[dict]:
    """Every model with the defaults, then every strategy option on scole_cnn."""
    out = [{"model": m} for m in models]
    out += [{"masking": "group"}, {"masking": "seen", "optimizer": "adam", "lr": 1e-3},
            {"loss": "elr"}, {"replay": "random", "replay_args": {"budget": 1.0}}, {"replay": "frequency"},
            {"replay": "reservoir", "augment": "shift", "tail": "wrap"},
            {"optimizer": "adamw", "lr": 1e-3, "schedule": "cosine", "weight_decay": 0.01},
            {"optimizer": "sgd", "momentum": 0.9, "schedule": "cosine", "reset_optimizer": True}]
    out += [{"amp": a} for a in amps]
    return out


def run_all(run, stream, noisy, data, dev, tasks, models, amps) -> list[dict]:
    rows = []
    for kw in configs(models, amps):
        st = noisy if kw.get("loss") == "elr" else stream
        t = time.perf_counter()
        try:
            s = run(st, data, tasks=tasks, device=dev, progress=False, plots=False, announce=False,
                    eval_sets=["iid"], **kw)
            row = {"config": kw, "model": kw.get("model", "scole_cnn"), "ok": True, "amp_used": s["amp_used"],
                   "final_iid": s["final"].get("iid"), "seconds": time.perf_counter() - t}
        except Exception as e:  # noqa: BLE001 -- report every failure, then fail the script
            row = {"config": kw, "model": kw.get("model", "scole_cnn"), "ok": False,
                   "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-2000:]}
        rows.append(row)
        print(f"  {'ok  ' if row['ok'] else 'FAIL'} {json.dumps(kw)}"
              + (f"  ({row['amp_used']}, iid {row['final_iid']:.3f}, {row['seconds']:.1f} s)" if row["ok"]
                 else f"  {row['error']}"), flush=True)
    return rows


def sync_check(torch, run, stream, data, dev, tasks, amp) -> dict:
    from synprobe.harness.syncs import count_syncs

    res = {"tasks": tasks, "amp": amp}
    for epochs in (1, 3):
        with count_syncs(dev.type) as c:
            s = run(stream, data, tasks=tasks, epochs=epochs, amp=amp, device=str(dev), progress=False, plots=False,
                    announce=False, eval_sets=["iid"])
        steps = next(r["step"] for r in reversed(s["rows"]) if r["kind"] == "task")
        res[f"epochs_{epochs}"] = {"syncs": c.count, "steps": steps, "per_task": c.count / tasks,
                                   "kinds": dict(c.kinds.most_common(8))}
    res["per_task_constant"] = res["epochs_1"]["syncs"] == res["epochs_3"]["syncs"]
    return res


def raw_steps(torch, hw, model_name: str, batch: int, steps: int, size: int = 32) -> float:
    from synprobe.harness.models import build_model

    dev = hw.device
    m = build_model(model_name, (3, size, size), 10).to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    scaler = hw.scaler()
    autocast = hw.autocast()
    x = torch.randn(batch, 3, size, size, device=dev).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), device=dev)

    def step():
        with autocast():
            loss = torch.nn.functional.cross_entropy(m(x).float(), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    for _ in range(max(3, steps // 10)):
        step()
    sync()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return steps / (time.perf_counter() - t)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpu", action="store_true", help="the reduced form on the CPU")
    ap.add_argument("--data", type=Path, help="dataset file (default: generate one)")
    ap.add_argument("--threads", type=int, help="torch CPU threads [torch's default]")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    import torch

    from synprobe.harness.device import resolve
    from synprobe.harness.models import list_models
    from synprobe.harness.train import run
    from synprobe.scenarios.recipe import build

    if a.threads:
        torch.set_num_threads(a.threads)
    hw = resolve("cpu" if a.cpu else "auto", "auto")
    reduced = hw.device.type != "cuda"
    mode = "cpu (reduced)" if reduced else "cuda"
    res: dict = {"mode": mode, "env": environment(torch, hw)}
    print(f"--- gpu_smoke: {mode}")
    for k, v in res["env"].items():
        print(f"  {k}: {v}")
    failures = []
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpu-smoke-") as tmp:
        data = a.data or make_data(reduced, Path(tmp))
        full = build("scole-10c-2pt", data)
        noisy = build("noisy-40-sym", data, overrides={"n_tasks": 4})
        amps = ["off", "bf16"] if reduced else (["off", "fp16"] + (["bf16"] if res["env"]["bf16_native"] else []))

        print("--- every model and strategy", flush=True)
        res["runs"] = run_all(run, full, noisy, data, str(hw.device), 1 if reduced else 3, list_models(), amps)
        failures += [f"run {json.dumps(r['config'])}: {r['error']}" for r in res["runs"] if not r["ok"]]

        print("--- host syncs", flush=True)
        res["syncs"] = sync_check(torch, run, full, data, hw.device, 6 if reduced else 40, "auto")
        for e in (1, 3):
            r = res["syncs"][f"epochs_{e}"]
            print(f"  {res['syncs']['tasks']} tasks, {e} epoch(s) per task: {r['syncs']} syncs over "
                  f"{r['steps']} steps ({r['per_task']:.1f} per task) {r['kinds']}")
        if not res["syncs"]["per_task_constant"]:
            failures.append("host syncs grow with steps (1 vs 3 epochs per task differ)")

        print("--- raw training steps", flush=True)
        res["steps_per_s"] = {}
        # reduced: ResNet-18 at 16x16, batch 16 (batch 128 at 32x32 takes ~7 s a step on one core)
        shapes = (("scole_cnn", 64, 30, 32), ("resnet18", 16, 3, 16)) if reduced else \
            (("scole_cnn", 64, 500, 32), ("resnet18", 128, 100, 32))
        for name, batch, n, size in shapes:
            sps = raw_steps(torch, hw, name, batch, n, size)
            res["steps_per_s"][f"{name} batch {batch} {size}x{size}"] = sps
            print(f"  {name}, batch {batch}, {size}x{size}, {hw.amp}: {sps:,.1f} steps/s "
                  f"({sps * batch:,.0f} samples/s)", flush=True)

        print("--- the SCoLe stream", flush=True)
        tasks = 8 if reduced else len(full)
        t = time.perf_counter()
        s = run(full, data, tasks=tasks, device=str(hw.device), progress=False, plots=False, announce=False,
                eval_sets=["iid"])
        wall = time.perf_counter() - t
        res["scole"] = {"tasks": tasks, "wall_s": wall, "loop_s": s["time_s"], "samples_per_s": s["samples_per_s"],
                        "final_iid": s["final"].get("iid"), "limit_s": None if reduced else 60}
        print(f"  {tasks} tasks: {wall:.1f} s ({s['samples_per_s']:,.0f} samples/s, final iid {s['final']['iid']:.3f})"
              + ("" if reduced else "; limit 60 s"))
        if not reduced and wall >= 60:
            failures.append(f"500-task SCoLe stream took {wall:.1f} s (limit 60 s)")
    res["total_s"] = time.perf_counter() - t_all
    res["failures"], res["ok"] = failures, not failures
    out = a.out or ROOT / "bench" / "results" / f"gpu_smoke_{'cpu' if reduced else 'cuda'}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1, default=str) + "\n")
    print(f"--- {'PASS' if not failures else 'FAIL'} in {res['total_s']:.0f} s ({out})")
    for f in failures:
        print(f"  FAIL: {f}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
