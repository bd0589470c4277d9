"""A/B timing of `synprobe generate` from two (or more) source trees, runs alternating.

    git worktree add /tmp/old <commit>
    python bench/ab_generate.py /tmp/old . [--n 100000] [--repeat 5] [--workers 1]

Each tree runs as ``python -c "from synprobe.cli import main; main()" generate default ...`` with
``PYTHONPATH`` set to the tree (the trees share this interpreter's dependencies), alternating
A, B, A, B, ... so that a machine whose speed drifts moves every side alike; the first round is
a warm-up (kernel builds, glyph atlas, page cache) and is not counted. Prints the median and
minimum wall time and the median CPU time (user + system, all processes) per tree.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trees", nargs="+", help="source trees (each holds synprobe/)")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--recipe", default="default")
    args = ap.parse_args()
    trees = [str(Path(t).resolve()) for t in args.trees]
    times: dict[str, tuple[list, list]] = {t: ([], []) for t in trees}
    with tempfile.TemporaryDirectory() as d:
        for r in range(args.repeat + 1):
            for i, t in enumerate(trees):
                out = Path(d) / f"out-{i}.h5"
                out.unlink(missing_ok=True)
                env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
                env["PYTHONPATH"] = t
                cmd = [sys.executable, "-c", "from synprobe.cli import main; main()", "generate", args.recipe,
                       "-n", str(args.n), "-o", str(out), "--workers", str(args.workers), "--no-preview", "-q"]
                c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, cwd=d)  # not a tree
                wall = time.perf_counter() - t0
                c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                if r:  # round 0 warms up
                    times[t][0].append(wall)
                    times[t][1].append(c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime)
    for t, (wall, cpu) in times.items():
        print(f"{t}: wall median {statistics.median(wall):.3f} s (min {min(wall):.3f}), "
              f"CPU median {statistics.median(cpu):.3f} s, {args.n / statistics.median(wall):,.0f} images/s")


if __name__ == "__main__":
    main()
