"""A sweep's wall time: ``synprobe sweep`` on a local Ray against its cells one after another, and Ray's own costs.

    python bench/bench_sweep.py                  # 2 seeds x masking none/group x lr 0.01/0.05 = 8 cells, 50 tasks each
    python bench/bench_sweep.py --tasks 20 --rows ray,local-1

Every row runs the same 8-cell sweep file (bench_train.py's protocol: scole-10c-2pt's stream over the 100,000-image
``default`` file, SGD, batch 64, 1 epoch per task, iid evaluation after every task) as one ``synprobe sweep``
command, timed from start to exit (imports, Ray's start and stop included):

- ``local-1``: the cells one after another in one process, 1 torch thread each (a sweep cell's default);
- ``local-1x2``: one after another, 2 torch threads each (every core for each cell);
- ``local-2``: ``--jobs 2``, two spawned processes, 1 thread each;
- ``ray``: ``--backend ray`` on a local Ray started by the command, ``num_cpus = 1`` per cell (2 cells at once).

``cells s`` sums the cells' own ``time_s`` (training and evaluation, from their summary.json); ``overhead s`` is
wall - cells s / cells-at-once. Ray's fixed costs are measured apart: ``ray.init`` + ``shutdown`` of a local
Ray, and the round trip of 200 empty tasks. Results: stdout and ``bench/results/sweep_cpu.json``.
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

from bench_train import RECIPE, ROOT, _show, _synprobe, ensure_inputs, machine

ROWS = {  # name -> (backend, jobs, torch threads per cell, cells at once)
    "local-1": ("local", 1, 1, 1),
    "local-1x2": ("local", 1, 2, 1),
    "local-2": ("local", 2, 1, 2),
    "ray": ("ray", None, 1, 2),
}
SWEEP = """
[sweep]
seeds = [0, 1]
num_cpus = 1
plots = false

[base]
stream = "{stream}"
data = "{data}"
tasks = {tasks}
threads = {threads}
device = "cpu"
eval_sets = ["iid"]

[grid]
masking = ["none", "group"]
lr = [0.01, 0.05]
"""


def run_row(a, name: str, tmp: Path) -> dict:
    backend, jobs, threads, at_once = ROWS[name]
    spec = tmp / f"{name}.toml"
    spec.write_text(SWEEP.format(stream=a.stream, data=a.data, tasks=a.tasks, threads=threads))
    out = tmp / name
    cmd = _synprobe() + ["sweep", str(spec), "-o", str(out), "--backend", backend, "-q"]
    cmd += ["--jobs", str(jobs)] if jobs else []
    load = os.getloadavg()[0]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    cells = [json.loads(p.read_text()) for p in sorted(out.glob("*/seed-*/summary.json"))]
    shutil.rmtree(out, ignore_errors=True)
    busy = sum(c["time_s"] for c in cells)
    return {
        "row": name,
        "cells": len(cells),
        "wall_s": round(wall, 2),
        "cells_s": round(busy, 2),
        "overhead_s": round(wall - busy / at_once, 2),
        "load_before": round(load, 2),
        "final_iid": [round(c["final"]["iid"], 4) for c in cells],
        "command": _show(cmd).replace(str(tmp), "TMP"),
    }


def ray_costs() -> dict:
    """A local Ray's start and stop, and the round trip of 200 empty tasks (one after another, then at once)."""
    import ray

    t = time.perf_counter()
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING")
    started = time.perf_counter() - t
    noop = ray.remote(lambda: None)
    ray.get(noop.remote())  # a worker up
    t = time.perf_counter()
    for _ in range(200):
        ray.get(noop.remote())
    serial = (time.perf_counter() - t) / 200
    t = time.perf_counter()
    ray.get([noop.remote() for _ in range(200)])
    batch = (time.perf_counter() - t) / 200
    t = time.perf_counter()
    ray.shutdown()
    return {
        "init_s": round(started, 2),
        "shutdown_s": round(time.perf_counter() - t, 2),
        "task_round_trip_ms": round(serial * 1e3, 2),
        "task_batched_ms": round(batch * 1e3, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("/tmp/synprobe-bench/default.h5"))
    ap.add_argument("--stream", type=Path, default=Path(f"/tmp/synprobe-bench/{RECIPE}.npz"))
    ap.add_argument("--tasks", type=int, default=50)
    ap.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, of: {', '.join(ROWS)}")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "sweep_cpu.json")
    a = ap.parse_args()
    ensure_inputs(a.data, a.stream)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        for name in a.rows.split(","):
            rows.append(run_row(a, name, Path(tmp)))
            print(json.dumps(rows[-1]), flush=True)
    res = {
        "machine": machine("cpu"),
        "tasks": a.tasks,
        "rows": rows,
        "ray": ray_costs(),
        "note": "2-core VM shared with other agents' jobs: the load average before each row is recorded",
    }
    print(json.dumps(res["ray"]))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1) + "\n")
    print("| row | cells | wall s | cells s | overhead s | load before |\n|---|---|---|---|---|---|")
    for r in rows:
        cols = [r[k] for k in ("row", "cells", "wall_s", "cells_s", "overhead_s", "load_before")]
        print("| " + " | ".join(map(str, cols)) + " |")


if __name__ == "__main__":
    main()
