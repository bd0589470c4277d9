"""Time ``synprobe.load.load``: a 100k-image 32x32 file into memory, split "all" and "train".

    python bench/bench_load.py [--file /tmp/bench_load.h5] [-n 100000] [--repeat 5]

Generates the file with ``synprobe generate default`` when it is missing. Reports the best and
median of ``--repeat`` runs; after the first run the file is in the page cache, so these are warm
figures. No assertions: figures only.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", default="/tmp/bench_load.h5")
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    path = Path(args.file)
    if not path.exists():
        exe = Path(sys.executable).with_name("synprobe")
        cmd = [str(exe), "generate", "default", "-n", str(args.n), "-o", str(path)]
        print("generating:", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)

    from synprobe.load import load

    results = {"file": str(path), "size_bytes": path.stat().st_size}
    for split, target in (("all", "char"), ("train", "char"), ("test", "font"), ("train", "scale:bins=10")):
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            ds = load(path, split, target=target)
            times.append(time.perf_counter() - t0)
        n = len(ds)
        best, med = min(times), statistics.median(times)
        print(f"load(split={split!r}, target={target!r}): {n:,} images {ds.x.shape[1:]}  "
              f"best {best:.3f} s  median {med:.3f} s  ({n / best:,.0f} images/s, "
              f"{ds.x.nbytes / best / 1e9:.2f} GB/s)", flush=True)
        results[f"{split}/{target}"] = {"n": n, "best_s": best, "median_s": med, "images_per_s": n / best}
        del ds
    print(repr(load(path, "train")))

    # the h5py path (compressed files use it): read_direct over chunk-aligned slabs
    images = importlib.import_module("synprobe.load._images")  # the image reader
    table = importlib.import_module("synprobe.load._table")  # the Synbols parser and the table cache

    raw = images.XReader._raw_runs
    images.XReader._raw_runs = lambda self: None
    try:
        for split in ("all", "train"):
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                n = len(load(path, split))
                times.append(time.perf_counter() - t0)
            print(f"h5py read_direct path, load(split={split!r}): best {min(times):.3f} s "
                  f"({n / min(times):,.0f} images/s)", flush=True)
            results[f"h5py/{split}"] = {"n": n, "best_s": min(times), "images_per_s": n / min(times)}
    finally:
        images.XReader._raw_runs = raw

    # the Synbols path: parsing the y JSON column into typed columns (cached after the first load)
    import h5py

    with h5py.File(path, "r") as f:
        t0 = time.perf_counter()
        cols, cats = table.parse_synbols_y(f["y"], path)
        dt = time.perf_counter() - t0
    print(f"parse y JSON into {len(cols)} columns (Synbols files, first load only): {dt:.3f} s "
          f"({len(cols['char']) / dt:,.0f} rows/s)")
    results["parse_y_json"] = {"seconds": dt, "columns": len(cols)}
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        import os

        os.environ["SYNPROBE_CACHE"] = d
        key = table.file_key(path)
        table.disk_cache_put(key, cols, cats)
        t0 = time.perf_counter()
        table.disk_cache_get(key)
        dt = time.perf_counter() - t0
    print(f"the same table from the disk cache ($SYNPROBE_CACHE/tables): {dt:.3f} s")
    results["cached_y_table"] = {"seconds": dt}
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
