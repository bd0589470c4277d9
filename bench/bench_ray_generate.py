"""Ray generation (``--backend ray``) against the local pool, on one machine.

    python bench/bench_ray_generate.py                      # default -n 200000, 32x32 (a few minutes on 2 cores)
    python bench/bench_ray_generate.py --n 50000 --repeat 1 # quick look

What is timed, in this process (imports done, glyph atlas warm: a first untimed local run of the
same rows fills it):
- ``local``: ``synprobe.generator.generate(recipe, n, workers=W)``: fork pool, the whole run.
- ``ray_init``: ``ray.init(num_cpus=W)`` of a local Ray (paid once per session; a cluster's is
  the connection instead).
- ``ray``: ``synprobe.shards.generate_ray`` with shards of S rows, split into the render phase
  (Ray tasks render, the driver writes each shard file) and the merge (shards -> one file,
  checksums verified, default splits), for several S: the time per shard is the slope of the
  render phase against the number of shards.
- ``noop``: the round trip of an empty Ray task (the scheduler's floor per task).
Every file is compared with the local one (sha256): the bytes must be equal.
Results: a markdown table on stdout and ``bench/results/ray_generate.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _machine import machine_info  # bench/ is on sys.path when a bench script runs

import synprobe.shards._ray as ray_driver
from synprobe.checksum import file_sha256
from synprobe.generator import generate
from synprobe.io.assemble import slab_rows
from synprobe.shards import generate_ray
from synprobe.shards._shard import load_shard, read_shard, render_shard, write_shard

ROOT = Path(__file__).resolve().parents[1]


def _timed_merge(phases: dict):
    """``merge_shards`` that records its own time (the rest of generate_ray is the render phase)."""
    real = ray_driver.merge_shards

    def merge(*a, **kw):
        t = time.perf_counter()
        out = real(*a, **kw)
        phases["merge_s"] = time.perf_counter() - t
        return out

    return merge


def run_ray(args, tmp: Path, rows: int) -> dict:
    out = tmp / f"ray-{rows}.h5"
    phases: dict = {}
    ray_driver.merge_shards = _timed_merge(phases)
    os.sync()
    t = time.perf_counter()
    generate_ray(args.recipe, args.n, out, seed=0, resolution=args.resolution, shard_rows=rows, overwrite=True)
    wall = time.perf_counter() - t
    shards = -(-args.n // rows)
    digest = file_sha256(out)
    out.unlink()
    return {
        "shard_rows": rows,
        "shards": shards,
        "wall_s": round(wall, 3),
        "render_s": round(wall - phases["merge_s"], 3),
        "merge_s": round(phases["merge_s"], 3),
        "images_per_s": round(args.n / wall),
        "sha256": digest,
    }


def run_local(args, tmp: Path) -> dict:
    out = tmp / "local.h5"
    os.sync()
    t = time.perf_counter()
    generate(args.recipe, args.n, out, seed=0, resolution=args.resolution, workers=args.workers, overwrite=True)
    wall = time.perf_counter() - t
    return {
        "wall_s": round(wall, 3),
        "images_per_s": round(args.n / wall),
        "sha256": file_sha256(out),
        "file_mb": round(out.stat().st_size / 1e6, 1),
    }


def driver_costs(args, tmp: Path) -> dict:
    """What the driver does per shard of the default size, serially, on top of rendering: write the
    shard file that comes back, and (merge) read it back with its checksums verified."""
    rows = slab_rows(args.resolution, args.resolution, 3)
    shard = render_shard(args.recipe, args.n, 0, rows, resolution=args.resolution)
    nbytes = sum(a.nbytes for a in shard.arrays.values())
    write, load = [], []
    for _ in range(5):
        t = time.perf_counter()
        info = read_shard(write_shard(tmp / "one.h5", shard))
        write.append(time.perf_counter() - t)
        t = time.perf_counter()
        load_shard(info)
        load.append(time.perf_counter() - t)
    ms = lambda ts: round(statistics.median(ts) * 1e3, 1)  # noqa: E731
    return {"shard_rows": rows, "shard_mb": round(nbytes / 1e6, 1), "write_ms": ms(write), "load_verify_ms": ms(load)}


def noop_round_trip(ray, k: int = 200) -> float:
    f = ray.remote(num_cpus=1)(lambda: None)
    ray.get(f.remote())
    t = time.perf_counter()
    ray.get([f.remote() for _ in range(k)])
    return (time.perf_counter() - t) / k


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="default")
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--resolution", type=int, default=32)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "ray_generate.json"))
    args = ap.parse_args()
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    import ray

    slab = slab_rows(args.resolution, args.resolution, 3)
    sizes = [slab // 4, slab, slab * 4]
    tmp = Path(tempfile.mkdtemp(prefix="bench-ray-", dir=os.environ.get("TMPDIR")))
    try:
        # the glyph atlas, warm for every run: a first local run of the same rows saves it (Ray's
        # workers load it when they start; their own new glyphs would be saved after every shard)
        generate(args.recipe, args.n, tmp / "warm.h5", resolution=args.resolution)
        local, by_size = [], {s: [] for s in sizes}
        t = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
        init_s = time.perf_counter() - t
        noop = noop_round_trip(ray)
        generate_ray(args.recipe, 4000, tmp / "warm.h5", resolution=args.resolution, shard_rows=500, overwrite=True)
        # (untimed: Ray's worker processes start, import synprobe and load the atlas once per session)
        for _ in range(args.repeat):  # alternate, so that a drifting machine moves every configuration
            local.append(run_local(args, tmp))
            for s in sizes:
                by_size[s].append(run_ray(args, tmp, s))
        ray.shutdown()
        driver = driver_costs(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(args, local, by_size, init_s, noop, driver)


def report(args, local: list, by_size: dict, init_s: float, noop: float, driver: dict) -> None:
    med = lambda rows, key: statistics.median(r[key] for r in rows)  # noqa: E731
    ref = local[0]["sha256"]
    same = all(r["sha256"] == ref for rows in [local, *by_size.values()] for r in rows)
    sizes = sorted(by_size)
    small, large = by_size[sizes[0]], by_size[sizes[-1]]
    per_shard = (med(small, "render_s") - med(large, "render_s")) / (small[0]["shards"] - large[0]["shards"])
    print(
        f"{args.recipe} -n {args.n:,} at {args.resolution}x{args.resolution}, {args.workers} CPUs, "
        f"median of {args.repeat}; bytes equal to the local run: {same}"
    )
    print(
        f"ray.init (local, {args.workers} CPUs): {init_s:.2f} s; empty task round trip: {noop * 1e3:.2f} ms; "
        f"render phase per extra shard: {per_shard * 1e3:.1f} ms"
    )
    d = driver
    print(
        f"driver, per shard of {d['shard_rows']:,} rows ({d['shard_mb']} MB): write {d['write_ms']} ms, "
        f"read back + verify {d['load_verify_ms']} ms"
    )
    print("| backend | shard rows | shards | wall s | render s | merge s | images/s |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| local pool ({args.workers} workers) | | | {med(local, 'wall_s'):.2f} | | | "
        f"{args.n / med(local, 'wall_s'):,.0f} |"
    )
    for s in sizes:
        rows = by_size[s]
        print(
            f"| ray | {s:,} | {rows[0]['shards']} | {med(rows, 'wall_s'):.2f} | {med(rows, 'render_s'):.2f} | "
            f"{med(rows, 'merge_s'):.2f} | {args.n / med(rows, 'wall_s'):,.0f} |"
        )
    result = {
        "machine": machine_info(),
        "args": {k: v for k, v in vars(args).items() if k != "out"},
        "bytes_equal": same,
        "ray_init_s": round(init_s, 3),
        "noop_task_ms": round(noop * 1e3, 3),
        "driver": driver,
        "per_shard_ms": round(per_shard * 1e3, 2),
        "local": local,
        "ray": {str(s): rows for s, rows in by_size.items()},
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
