"""Several seeds: ``synprobe run --seeds`` one after the other (``--jobs 1``) against several at once
(``--jobs N``), and optionally the Avalanche 0.6.0 peer run once per seed, one after the other.

    python bench/bench_seeds.py                          # 2 seeds x 100 tasks of scole-10c-2pt, jobs 1 and 2
    python bench/bench_seeds.py --seeds 4 --peer         # + Avalanche Naive, 4 sequential runs

Same protocol as ``bench/bench_train.py`` (SGD 0.01, batch 64, 1 epoch per task, clip 10, iid evaluation after
every task). What is timed is the wall clock of the whole command(s) that produce every seed's results:
``synprobe run ... --seeds 0-(S-1) --jobs J`` (``--jobs 1``: torch threads = all cores; ``--jobs J``: each of the J
processes gets cores / J threads), and for the peer S runs of ``run_avalanche.py`` with all cores. ``seed
samples/s`` = training samples of all seeds / that wall time. Results: stdout and
``bench/results/seeds_cpu_{bench,default}.json``. ``--settings default`` runs ``synprobe run``'s own defaults
instead (every eval set of the stream; evaluation then weighs more).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench_train import RECIPE, ROOT, _show, _synprobe, ensure_inputs, machine, run_peer


def run_jobs(a, jobs: int, tmp: Path) -> dict:
    out = tmp / f"jobs-{jobs}"
    protocol = ["--model", "scole_cnn", "--optimizer", "sgd", "--lr", "0.01", "--momentum", "0", "--batch-size", "64",
                "--epochs", "1", "--clip", "10", "--eval-every-tasks", "1", "--eval-sets", "iid"]
    cmd = _synprobe() + ["run", str(a.stream), "--data", str(a.data), *(protocol if a.settings == "bench" else []),
                         "--device", "cpu", "--tasks", str(a.tasks), "-q", "--no-plots", "--overwrite",
                         "--seeds", f"0-{a.seeds - 1}", "--jobs", str(jobs), "-o", str(out)]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    runs = [json.loads((out / f"seed-{s}" / "summary.json").read_text()) for s in range(a.seeds)]
    shutil.rmtree(out, ignore_errors=True)
    samples = sum(r["train_samples"] for r in runs)
    return {"side": f"synprobe --jobs {jobs}", "seeds": a.seeds, "tasks": a.tasks, "train_samples": samples,
            "wall_s": wall, "seed_samples_per_s": samples / wall,
            "per_run_samples_per_s": [round(r["samples_per_s"], 1) for r in runs],
            "final_iid": [r["final"].get("iid") for r in runs], "command": _show(cmd).replace(str(out), "RUN_DIR")}


def run_peer_seeds(a, tmp: Path) -> dict:
    t = time.perf_counter()
    runs = []
    for s in range(a.seeds):
        a.seed = s
        runs.append(run_peer(a, a.tasks, tmp))
    wall = time.perf_counter() - t
    samples = sum(r["train_samples"] for r in runs)
    return {"side": "avalanche, one run per seed", "seeds": a.seeds, "tasks": a.tasks, "train_samples": samples,
            "wall_s": wall, "seed_samples_per_s": samples / wall,
            "per_run_samples_per_s": [round(r["samples_per_s"], 1) for r in runs],
            "final_iid": [r["final_iid"] for r in runs], "command": runs[0]["command"] + " --seed S"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("/tmp/synprobe-bench/default.h5"))
    ap.add_argument("--stream", type=Path, default=Path(f"/tmp/synprobe-bench/{RECIPE}.npz"))
    ap.add_argument("--tasks", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="jobs of the parallel row")
    ap.add_argument("--repeat", type=int, default=1, help="runs per row; the fastest is reported")
    ap.add_argument("--settings", choices=("bench", "default"), default="bench",
                    help="bench: bench_train.py's protocol (iid evaluation only); default: `synprobe run`'s defaults "
                         "(every eval set of the stream, OOD sets every T/20 tasks)")
    ap.add_argument("--peer", action="store_true", help="add Avalanche, one run per seed (bench settings)")
    ap.add_argument("--peer-venv", default=os.environ.get("AVALANCHE_VENV", "/tmp/avalanche-venv"))
    ap.add_argument("--out", type=Path, help="result JSON [bench/results/seeds_cpu_SETTINGS.json]")
    a = ap.parse_args()
    a.optimizer, a.lr, a.threads, a.peer_normalise, a.seed = "sgd", 0.01, os.cpu_count(), "build", 0
    if a.peer and a.settings != "bench":
        ap.error("--peer compares on the bench settings only (the peer evaluates the iid set alone)")
    a.out = a.out or ROOT / f"bench/results/seeds_cpu_{a.settings}.json"
    ensure_inputs(a.data, a.stream)
    res = {"machine": machine("cpu"), "settings": a.settings, "rows": []}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        sides = [lambda: run_jobs(a, 1, tmp), lambda: run_jobs(a, a.jobs, tmp)]
        if a.peer:
            sides.append(lambda: run_peer_seeds(a, tmp))
        runs = [[] for _ in sides]
        for _ in range(a.repeat):  # alternate the sides
            for i, side in enumerate(sides):
                runs[i].append(side())
        for rs in runs:
            top = max(rs, key=lambda r: r["seed_samples_per_s"])
            res["rows"].append({**top, "runs": [round(r["seed_samples_per_s"], 1) for r in rs]})
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1))
    m = res["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}, {m['date']}\n")
    print("| side | seeds x tasks | train samples | wall s | seed samples/s | per run samples/s |")
    print("|---|---|---|---|---|---|")
    for r in res["rows"]:
        print(f"| {r['side']} | {r['seeds']} x {r['tasks']} | {r['train_samples']:,} | {r['wall_s']:.1f} | "
              f"{r['seed_samples_per_s']:,.0f} | {', '.join(f'{x:,.0f}' for x in r['per_run_samples_per_s'])} |")
    base = res["rows"][0]["seed_samples_per_s"]
    for r in res["rows"][1:]:
        print(f"\n{r['side']}: {r['seed_samples_per_s'] / base:.2f}x synprobe --jobs 1")
    if a.peer:
        peer = res["rows"][-1]["seed_samples_per_s"]
        for r in res["rows"][:-1]:
            print(f"{r['side']} / Avalanche (one run per seed): {r['seed_samples_per_s'] / peer:.2f}x")
    print(f"\nresults: {a.out}")


if __name__ == "__main__":
    main()
