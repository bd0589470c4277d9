"""SCoLe's 500-task stream on a GPU, checked against the CPU (issue 14, item 6); ``bench/gpu_scole.sh`` runs it.

    bash bench/gpu_scole.sh                  # on a CUDA machine: both models, 500 tasks, ~3-6 min on one GPU
    bash bench/gpu_scole.sh --cpu            # reduced, on the CPU (also chosen when CUDA is not usable)
    bash bench/gpu_scole.sh --data d.h5      # an existing 32x32 dataset file instead of generating one

What it measures, in order, and writes to ``--out`` (JSON; default bench/results/gpu_scole_{cuda,cpu}.json):

1. the machine: torch build, CUDA/cuDNN, the GPU, and the device/precision note a run gets;
2. for ``scole_cnn`` (SCoLe's small CNN) and ``resnet18``: the whole ``scole-10c-2pt`` stream (SCoLe's
   protocol: 10 classes, 2 per task, 500 tasks, seed 1664, the iid set evaluated after every task) on the
   device: wall time, training samples/s, the final iid accuracy and the knowledge-accumulation curve (iid
   accuracy after each task);
3. the same stream, same seed, on the CPU for the first ``--cpu-tasks`` tasks (default 40 for ``scole_cnn``,
   8 for ``resnet18``, which is slow on a CPU), and the curve of those tasks compared with the device's: the
   runs start from the same weights and see the same batches, so they differ only by floating-point order
   (cuDNN's convolution algorithms, reductions); the check is "same curve within noise": mean absolute
   difference <= ``--tol`` (default 0.03) over the compared tasks, else FAIL.

The reduced form (``--cpu``; what ``tests/test_gpu_path.py`` runs) uses 2,400 images at 16x16 and 8 tasks,
and compares a CPU run with a second CPU run (they must be equal: the CPU path is deterministic).
Data: a 100,000-image ``default`` file at 32x32 unless ``--data`` is given. Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench_train_smoke import environment, make_data  # bench/ is on sys.path when a bench script runs

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("scole_cnn", "resnet18")
CPU_TASKS = {"scole_cnn": 40, "resnet18": 8}


def curve(summary: dict) -> list[float]:
    """iid accuracy after each task (the KA curve), from a run's metric rows."""
    return [r["acc"] for r in summary["rows"] if r["kind"] == "eval" and r["at"] == "task_end" and r["set"] == "iid"]


def train(run, stream, data, model: str, device: str, tasks: int) -> dict:
    t = time.perf_counter()
    s = run(stream, data, tasks=tasks, model=model, device=device, progress=False, plots=False, announce=False,
            eval_sets=["iid"])
    wall = time.perf_counter() - t
    return {"model": model, "device": device, "tasks": tasks, "wall_s": wall, "loop_s": s["time_s"],
            "samples_per_s": s["samples_per_s"], "final_iid": s["final"].get("iid"), "curve": curve(s)}


def compare(a: list[float], b: list[float], tol: float) -> dict:
    n = min(len(a), len(b))
    diffs = [abs(x - y) for x, y in zip(a[:n], b[:n])]
    mean = sum(diffs) / n if n else float("nan")
    return {"tasks": n, "mean_abs_diff": mean, "max_abs_diff": max(diffs, default=float("nan")), "tol": tol,
            "ok": n > 0 and mean <= tol}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpu", action="store_true", help="the reduced form on the CPU")
    ap.add_argument("--data", type=Path, help="dataset file (default: generate one)")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated model names")
    ap.add_argument("--cpu-tasks", type=int, help="tasks of the CPU comparison run (default: per model)")
    ap.add_argument("--tol", type=float, default=0.03, help="mean absolute curve difference allowed")
    ap.add_argument("--threads", type=int, help="torch CPU threads [torch's default]")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    import torch

    from synprobe.harness.device import resolve
    from synprobe.harness.train import run
    from synprobe.scenarios.recipe import build

    if a.threads:
        torch.set_num_threads(a.threads)
    hw = resolve("cpu" if a.cpu else "auto", "auto")
    reduced = hw.device.type != "cuda"
    mode = "cpu (reduced)" if reduced else "cuda"
    res: dict = {"mode": mode, "env": environment(torch, hw), "runs": [], "checks": []}
    print(f"--- gpu_scole: {mode}; {res['env'].get('gpu') or 'no GPU'}", flush=True)
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpu-scole-") as tmp:
        data = a.data or make_data(reduced, Path(tmp))
        stream = build("scole-10c-2pt", data)
        tasks = 8 if reduced else len(stream)
        for model in a.models.split(","):
            dev = train(run, stream, data, model, str(hw.device), tasks)
            res["runs"].append(dev)
            print(f"  {model} on {dev['device']}: {tasks} tasks in {dev['wall_s']:.1f} s, "
                  f"{dev['samples_per_s']:,.0f} samples/s, final iid {dev['final_iid']:.3f}", flush=True)
            n_cpu = min(tasks, a.cpu_tasks or CPU_TASKS.get(model, 8))
            ref = train(run, stream, data, model, "cpu", n_cpu)
            res["runs"].append(ref)
            check = {"model": model, **compare(dev["curve"], ref["curve"], 0.0 if reduced else a.tol)}
            res["checks"].append(check)
            print(f"  {model}: first {check['tasks']} tasks against the CPU: mean |diff| "
                  f"{check['mean_abs_diff']:.4f}, max {check['max_abs_diff']:.4f} (tol {check['tol']}) "
                  f"{'ok' if check['ok'] else 'FAIL'}", flush=True)
    res["total_s"] = time.perf_counter() - t_all
    res["ok"] = all(c["ok"] for c in res["checks"])
    out = a.out or ROOT / "bench" / "results" / f"gpu_scole_{'cpu' if reduced else 'cuda'}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1, default=str) + "\n")
    print(f"--- {'PASS' if res['ok'] else 'FAIL'} in {res['total_s']:.0f} s ({out})")
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
