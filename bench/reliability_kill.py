"""Randomised kill -9 / resume sequences of `synprobe generate`: is anything ever lost?

    python bench/reliability_kill.py [--sequences 50] [--n 60000] [--workers 2] [--seed 0]

Each sequence starts `synprobe generate default -n N -o OUT` and kills it with SIGKILL after a
random delay -- the whole process group, or (one time in three) the parent alone, whose workers
must then die with it -- then runs `--resume` and kills that too, 1 to 3 times in all (so resumes
of resumes, killed while they copy finished pixels or while they render, are covered), and finally
lets a `--resume` finish. The finished file must be byte-identical to an uninterrupted run
(`SOURCE_DATE_EPOCH` set), and no process of the sequence may outlive it. Prints one line per
sequence and a summary; `--json FILE` writes the results. Not a timed benchmark: what counts is
"lost: 0".
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = [sys.executable, "-c", "from synprobe.cli import main; main()"]


def _run(args: list[str], out: Path, **kw) -> subprocess.Popen:
    env = dict(os.environ, SOURCE_DATE_EPOCH="0")
    return subprocess.Popen(CLI + ["generate", *args, "-o", str(out)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True, **kw)


def _kill(proc: subprocess.Popen, parent_only: bool) -> None:
    if proc.poll() is None:
        if parent_only:
            os.kill(proc.pid, signal.SIGKILL)
        else:
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()


def _group_alive(pgid: int) -> bool:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # pgrp is the 5th field: [state, ppid, pgrp]
            return True
    return False


def sequence(args, rng: random.Random, out: Path, reference: bytes, full_s: float) -> dict:
    base = ["default", "-n", str(args.n), "--workers", str(args.workers), "-q", "--no-preview"]
    kills = []
    for _ in range(rng.randint(1, 3)):
        partial = out.with_name(out.name + ".partial")
        resume = partial.exists()
        proc = _run(base + (["--resume"] if resume else []), out)
        delay = rng.uniform(0.05, 1.2 * full_s)
        parent_only = rng.random() < 1 / 3
        time.sleep(delay)
        finished = proc.poll() is not None
        _kill(proc, parent_only)
        deadline = time.monotonic() + 10
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        kills.append({"resume": resume, "after_s": round(delay, 3), "parent_only": parent_only,
                      "finished_first": finished, "orphans": _group_alive(proc.pid)})
        if out.exists():
            break
    if not out.exists():
        partial = out.with_name(out.name + ".partial")
        flags = ["--resume"] if partial.exists() else ["--overwrite"]
        p = _run(base + flags, out)
        p.wait()
        err = p.stderr.read().decode()
        p.stderr.close()
        if p.returncode != 0:
            return {"kills": kills, "ok": False, "error": err.strip()[-500:]}
    same = out.read_bytes() == reference
    return {"kills": kills, "ok": same and not any(k["orphans"] for k in kills)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=int, default=50)
    ap.add_argument("--n", type=int, default=60_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as d:
        ref = Path(d) / "ref.h5"
        t0 = time.perf_counter()
        p = _run(["default", "-n", str(args.n), "--workers", str(args.workers), "-q", "--no-preview"], ref)
        p.wait()
        p.stderr.close()
        full_s = time.perf_counter() - t0
        reference = ref.read_bytes()
        results = []
        for i in range(args.sequences):
            out = Path(d) / f"s{i}.h5"
            r = sequence(args, rng, out, reference, full_s)
            results.append(r)
            ks = ", ".join(f"{'resume' if k['resume'] else 'run'} killed at {k['after_s']:.2f}s"
                           f"{' (parent only)' if k['parent_only'] else ''}" for k in r["kills"])
            error = "; " + r["error"] if "error" in r else ""
            print(f"{i:3d} {'ok  ' if r['ok'] else 'LOST'} {ks}{error}", flush=True)
            for p in Path(d).glob(f"*s{i}.h5*"):
                p.unlink() if p.is_file() else None
    lost = sum(not r["ok"] for r in results)
    n_kills = sum(len(r["kills"]) for r in results)
    resumed_kills = sum(k["resume"] for r in results for k in r["kills"])
    parent_only = sum(k["parent_only"] for r in results for k in r["kills"])
    print(f"sequences: {len(results)}, kills: {n_kills} ({resumed_kills} of a resume, {parent_only} of the parent "
          f"alone), lost: {lost}; uninterrupted run: {full_s:.1f} s")
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "workers": args.workers, "seed": args.seed,
                                         "uninterrupted_s": full_s, "lost": lost, "results": results}, indent=1))
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
