"""Time and memory of building a long recurring stream (synprobe.scenarios).

    python bench/bench_streams.py [--tasks 10000] [--samples 1000000] [--classes 100]
                                  [--per-task 10] [--budget 50]

A 10,000-task SCoLe-style stream over 1,000,000 samples (synthetic labels, 100 classes, 10
classes per task, 50 samples per class per task drawn without replacement, 10% val) for several
laws. Prints wall time (best of 3) and tracemalloc's peak of the build next to the size of the
stream's own arrays. No assertions.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from synprobe.scenarios import Cycle, ProbReduction, ScoleEntropy, Uniform, Zipf, recurring


def stream_bytes(s) -> int:
    arrays = [s.indices, s.offsets, s.class_indices, s.class_offsets, s.val_indices, s.val_offsets]
    return sum(a.nbytes for a in arrays if a is not None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument("--per-task", type=int, default=10)
    ap.add_argument("--budget", type=int, default=50)
    a = ap.parse_args()
    y = np.random.default_rng(0).integers(0, a.classes, a.samples)
    index = np.arange(a.samples, dtype=np.int64)
    print(f"{a.tasks:,} tasks, {a.samples:,} samples, {a.classes} classes, C={a.per_task}, "
          f"{a.budget} samples per class per task")
    print(f"{'law':<16}{'build s':>9}{'peak MiB':>10}{'stream MiB':>12}{'entries':>13}")
    for law in (Uniform(), ScoleEntropy(e=2), Zipf(a=1.0), Cycle(replace=0.2), ProbReduction(r=2.0)):
        def build(law=law):
            return recurring(y, index, classes_per_task=a.per_task, n_tasks=a.tasks, law=law,
                             samples_per_class=a.budget, val_fraction=0.1, seed=0)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            s = build()
            times.append(time.perf_counter() - t0)
        del s
        tracemalloc.start()
        s = build()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        n = len(s.indices) + len(s.val_indices)
        print(f"{law.name:<16}{min(times):>9.3f}{peak / 2**20:>10.1f}{stream_bytes(s) / 2**20:>12.1f}{n:>13,}")
    # all samples of the classes (no budget): SCoLe's own setting, on 1,000 tasks
    t0 = time.perf_counter()
    tracemalloc.start()
    s = recurring(y, index, classes_per_task=a.per_task, n_tasks=a.tasks // 10, seed=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"no budget, {a.tasks // 10:,} tasks: {time.perf_counter() - t0:.3f} s (under tracemalloc), "
          f"peak {peak / 2**20:.1f} MiB, stream {stream_bytes(s) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
