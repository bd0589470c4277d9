"""Training speed: ``synprobe run`` against Avalanche 0.6.0's Naive strategy, same stream, model and protocol.

    python bench/bench_train.py                        # 100 tasks of scole-10c-2pt, both sides, on CPU
    python bench/bench_train.py --tasks 20 --no-peer   # quick look at synprobe alone
    python bench/bench_train.py --all-tasks --repeat 3 # + synprobe over the whole 500-task stream, best of 3
    python bench/bench_train.py --device cuda          # synprobe alone on a GPU (no peer)
    python bench/bench_train.py --repeat 3 --ceiling   # + bare steps/evaluation: the protocol with no harness cost
    python bench/bench_train.py --no-peer --run-args "--tail wrap"   # extra options of synprobe run

The peer needs its venv once: ``bash bench/avalanche_peer/setup.sh`` (``--peer-venv`` or $AVALANCHE_VENV).

Protocol on both sides: stream ``scole-10c-2pt`` over a 100,000-image ``default`` file (32x32), the stream's
10 classes relabelled in sorted class-id order, ``scole_cnn``, SGD lr 0.01 momentum 0, batch 64, 1 epoch per
task, gradient-norm clip 10, x/255 then (x - 0.5)/0.5, accuracy on the ``iid`` test rows of the stream's
classes before training and after every task, torch threads = all cores, seed 0.

What is timed:
- synprobe: ``time_s`` from RUN_DIR/summary.json (its train + eval loop; ``samples_per_s`` = training samples /
  time_s) and the wall time of the whole ``synprobe run`` process (imports, data loading, writing files).
- Avalanche: ``bench/avalanche_peer/run_avalanche.py``'s train + eval loop (imports, loading and building the
  benchmark are reported apart: ``build_s``), and the wall time of its process.
``train_samples_per_s`` leaves the evaluation time out on both sides. With ``--repeat R`` each side runs R times
(alternating the sides) and the fastest run is reported (every run's samples/s is kept in the JSON). Results:
stdout (a markdown table) and ``bench/results/train_{cpu,cuda}.json``. Also synprobe's ``--eval-sets iid`` (the
peer evaluates the iid set only) and ``-q --no-plots`` (no progress bar, no PNGs after the loop).
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import machine_info  # bench/ is on sys.path when a bench script runs

ROOT = Path(__file__).resolve().parents[1]
RECIPE = "scole-10c-2pt"


def _synprobe() -> list[str]:
    exe = Path(sys.executable).with_name("synprobe")
    if exe.exists():
        return [str(exe)]
    exe = shutil.which("synprobe")
    return [exe] if exe else [sys.executable, str(ROOT / "cli.py")]


def _show(cmd: list[str]) -> str:
    return " ".join(["synprobe"] + cmd[len(_synprobe()):]) if cmd[:len(_synprobe())] == _synprobe() else " ".join(cmd)


def ensure_inputs(data: Path, stream: Path) -> None:
    """Generate the dataset file and build the stream if missing."""
    if not data.exists():
        data.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(_synprobe() + ["generate", "default", "-n", "100000", "-o", str(data), "-q", "--no-preview"],
                       check=True)
    if not stream.exists():
        stream.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(_synprobe() + ["scenario", "build", RECIPE, "--data", str(data), "-o", str(stream)], check=True)


def run_synprobe(a, tasks: int, tmp: Path, amp: str = "auto") -> dict:
    out = tmp / f"run-{tasks}"
    cmd = _synprobe() + ["run", str(a.stream), "--data", str(a.data), "--model", "scole_cnn", "--optimizer",
                         a.optimizer, "--lr", str(a.lr), "--momentum", "0", "--batch-size", "64", "--epochs", "1",
                         "--clip", "10", "--device", a.device, "--threads", str(a.threads), "--seed", str(a.seed),
                         "--tasks", str(tasks), "--eval-every-tasks", "1", "--eval-sets", "iid", "-q", "--no-plots",
                         "--overwrite", "-o", str(out)] + (["--amp", amp] if amp != "auto" else [])
    cmd += a.run_args.split()
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    s = json.loads((out / "summary.json").read_text())
    eval_n = json.loads((out / "config.json").read_text())["stream"]["eval_sets"].get("iid")
    shutil.rmtree(out, ignore_errors=True)
    side = "synprobe" + ("" if amp == "auto" else f" --amp {amp}") + (f" {a.run_args}" if a.run_args else "")
    return {"side": side, "device": s.get("device", a.device), "tasks": s.get("tasks", tasks),
            "train_samples": s["train_samples"], "loop_s": s["time_s"], "eval_s": s.get("eval_time_s"),
            "samples_per_s": s["samples_per_s"], "train_samples_per_s": s.get("train_samples_per_s"),
            "wall_s": wall, "final_iid": s["final"].get("iid"), "eval_n": eval_n,
            "command": _show(cmd).replace(str(out), "RUN_DIR")}


def run_ceiling(a, ours: dict, tmp: Path) -> dict:
    """bench_train_step.py: bare training steps and evaluation forwards, combined with this protocol's
    evaluation images per training sample (the harness cost left out)."""
    r = (ours["tasks"] + 1) * ours["eval_n"] / ours["train_samples"]  # an evaluation before training, then per task
    out = tmp / "ceiling.json"
    subprocess.run([sys.executable, str(ROOT / "bench/bench_train_step.py"), "--threads", str(a.threads),
                    "--repeat", "1", "--vmap", "", "--eval-per-sample", f"{r:.4f}", "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    c = json.loads(out.read_text())
    return {"side": "ceiling (bare steps + bare eval, no harness)", "eval_per_sample": r,
            "train_steps_samples_per_s": c["fp32_samples_per_s"], "eval_images_per_s": c["eval_images_per_s"],
            "samples_per_s": c["protocol_ceiling_samples_per_s"]}


def run_peer(a, tasks: int, tmp: Path) -> dict:
    py = str(Path(a.peer_venv) / "bin" / "python")
    out = tmp / "peer.json"
    cmd = [py, str(ROOT / "bench/avalanche_peer/run_avalanche.py"), "--data", str(a.data), "--stream", str(a.stream),
           "--tasks", str(tasks), "--optimizer", a.optimizer, "--lr", str(a.lr), "--seed", str(a.seed),
           "--threads", str(a.threads), "--normalise", a.peer_normalise, "--json", str(out)]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    r = json.loads(out.read_text())
    return {"side": "avalanche", "device": "cpu", "tasks": r["tasks"], "train_samples": r["train_samples"],
            "loop_s": r["loop_s"], "eval_s": r["eval_s"], "samples_per_s": r["samples_per_s"],
            "train_samples_per_s": r["train_samples_per_s"], "wall_s": wall, "final_iid": r["final_iid"],
            "import_s": r["import_s"], "load_s": r["load_s"], "build_s": r["build_s"],
            "avalanche_version": r["avalanche_version"], "peer_torch_version": r["torch_version"],
            "normalise": r["normalise"], "logger": r["logger"],
            "command": " ".join(["$AVALANCHE_VENV/bin/python"] + cmd[1:-2]).replace(str(ROOT) + "/", "")}


def best(runs: list[dict]) -> dict:
    return {**max(runs, key=lambda r: r["samples_per_s"]), "runs": [round(r["samples_per_s"], 1) for r in runs]}


def machine(device: str) -> dict:
    import torch

    info = {**machine_info(), "torch": torch.__version__, "torchvision": _version("torchvision"),
            "numpy": _version("numpy"), "synprobe": _version("synprobe")}
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _version(pkg: str) -> str | None:
    try:
        return md.version(pkg)
    except md.PackageNotFoundError:
        return None


def report(res: dict) -> str:
    m = res["machine"]
    lines = [f"machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}" + (f", {m['gpu']}" if "gpu" in m else "")
             + f", {m['date']}", "",
             "| side | device | tasks | train samples | loop s | samples/s | train-only samples/s | wall s | "
             "final iid acc |", "|---|---|---|---|---|---|---|---|---|"]
    for r in res["rows"]:
        lines.append(f"| {r['side']} | {r['device']} | {r['tasks']} | {r['train_samples']:,} | {r['loop_s']:.1f} | "
                     f"{r['samples_per_s']:,.0f} | {r['train_samples_per_s'] or float('nan'):,.0f} | "
                     f"{r['wall_s']:.1f} | {r['final_iid']:.3f} |")
    if "ceiling" in res:
        c = res["ceiling"]
        peer = next((r for r in res["rows"] if r["side"] == "avalanche"), None)
        lines += ["", "ceiling on this protocol with no harness cost (bare fp32 steps "
                      f"{c['train_steps_samples_per_s']:,.0f} samples/s, bare evaluation "
                      f"{c['eval_images_per_s']:,.0f} images/s, "
                      f"{c['eval_per_sample']:.3f} evaluation images per training sample): {c['samples_per_s']:,.0f} "
                      "samples/s" + (f" = {c['samples_per_s'] / peer['samples_per_s']:.2f}x Avalanche" if peer else "")
                      + f" (all runs: {c['runs']})"]
    if "ratio" in res:
        q = res["ratio"]
        lines += ["", f"ratio synprobe / Avalanche at {q['tasks']} tasks: {q['samples_per_s']:.1f}x samples/s "
                      f"(train only {q['train_samples_per_s']:.1f}x; whole process {q['wall']:.1f}x); "
                      f"Avalanche benchmark build {q['peer_build_s']:.2f} s"]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/synprobe-bench/default.h5"),
                    help="100k-image default file (generated if missing)")
    ap.add_argument("--stream", type=Path, default=Path(f"/tmp/synprobe-bench/{RECIPE}.npz"),
                    help=f"{RECIPE} stream over --data (built if missing)")
    ap.add_argument("--tasks", type=int, default=100, help="tasks run by both sides")
    ap.add_argument("--all-tasks", action="store_true", help="add a synprobe row over the whole stream")
    ap.add_argument("--device", default="cpu", help="cpu (with the peer) or cuda[:N] (synprobe alone)")
    ap.add_argument("--peer-venv", default=os.environ.get("AVALANCHE_VENV", "/tmp/avalanche-venv"))
    ap.add_argument("--peer-normalise", choices=("build", "transform"), default="build",
                    help="peer: normalise once into float tensors (build) or per sample with torchvision")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--ceiling", action="store_true",
                    help="also time bare training steps and evaluation forwards (bench_train_step.py) in the same "
                         "alternation: the protocol's samples/s with no harness cost at all")
    ap.add_argument("--bf16", action="store_true", help="add a synprobe row with --amp bf16 (bf16 autocast on CPU)")
    ap.add_argument("--run-args", default="", help="extra 'synprobe run' options, e.g. '--tail wrap'")
    ap.add_argument("--repeat", type=int, default=1, help="runs per side; the fastest is reported")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                    help="sgd (the protocol) or adam (for checks)")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="result JSON [bench/results/train_{cpu,cuda}.json]")
    a = ap.parse_args()
    a.data, a.stream = a.data.resolve(), a.stream.resolve()
    gpu = a.device.startswith("cuda")
    peer = not (a.no_peer or gpu)
    if peer and not (Path(a.peer_venv) / "bin" / "python").exists():
        sys.exit(f"no peer venv at {a.peer_venv}: run bash bench/avalanche_peer/setup.sh or pass --no-peer")
    ensure_inputs(a.data, a.stream)
    from synprobe.scenarios import Stream

    n_stream = len(Stream.load(a.stream))
    res: dict = {"machine": machine(a.device), "recipe": RECIPE, "optimizer": a.optimizer, "lr": a.lr,
                 "data": str(a.data), "stream": str(a.stream),
                 "stream_tasks": n_stream, "repeat": a.repeat, "rows": []}
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        ours, theirs, ceil = [], [], []
        for _ in range(a.repeat):  # alternate the sides, so a load change on a shared machine hits both
            ours.append(run_synprobe(a, a.tasks, Path(tmp)))
            if peer:
                theirs.append(run_peer(a, a.tasks, Path(tmp)))
            if a.ceiling and not gpu:
                ceil.append(run_ceiling(a, ours[-1], Path(tmp)))
        if ceil:
            res["ceiling"] = best(ceil)
        rows = res["rows"]
        rows.append(best(ours))
        if peer:
            rows.append(best(theirs))
        if a.bf16:
            rows.append(best([run_synprobe(a, a.tasks, Path(tmp), "bf16") for _ in range(a.repeat)]))
        if a.all_tasks and n_stream > a.tasks:
            rows.append(best([run_synprobe(a, n_stream, Path(tmp)) for _ in range(a.repeat)]))
    if peer:
        s, p = rows[0], rows[1]
        res["ratio"] = {"tasks": a.tasks, "samples_per_s": s["samples_per_s"] / p["samples_per_s"],
                        "train_samples_per_s": s["train_samples_per_s"] / p["train_samples_per_s"],
                        "wall": p["wall_s"] / s["wall_s"], "peer_build_s": p["build_s"]}
    text = report(res)
    print(text)
    out = a.out or ROOT / "bench" / "results" / f"train_{'cuda' if gpu else 'cpu'}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
