"""Several seeds of one training setting: one run directory per seed, optionally several at once.

    >>> from synprobe.harness.seeds import run_seeds
    >>> run_seeds("scole-10c-2pt", "default.h5", None, "runs/a", [0, 1, 2, 3], jobs=2)  # doctest: +SKIP

With ``jobs > 1`` the seeds run in that many worker processes at once, each with its share of the
CPU cores as torch threads (unless the config sets ``threads``). Each run is the one a sequential
run with the same thread count gives (its seed fixes everything it draws). Whether it is faster
depends on the machine: on a 2-core CPU two seeds at once with one thread each train as fast in
total as one after the other with two threads (0.99-1.07x, ``bench/bench_seeds.py``, numbers in
BENCHMARKS.md); it pays where a run cannot use every core (many cores, a small network).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from synprobe.harness.config import TrainConfig
from synprobe.harness.errors import HarnessError
from synprobe.harness.train import run

__all__ = ["parse_seeds", "run_seeds"]


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` or ``"0-4"`` (or both, comma-separated) -> distinct seeds >= 0."""
    seeds: list[int] = []
    for part in text.split(","):
        a, sep, b = part.strip().partition("-")
        try:
            seeds += list(range(int(a), int(b) + 1)) if sep else [int(a)]
        except ValueError:
            raise HarnessError(f"--seeds {text!r}: expected integers like 0,1,2 or 0-4") from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise HarnessError(f"--seeds {text!r}: expected distinct integers >= 0")
    return seeds


def run_seeds(stream, data, config: TrainConfig | None, out, seeds, *, jobs: int = 1, device: str = "auto",
              overwrite: bool = False, plots: bool = True, progress: bool = True, argv=None,
              on_done=None, callbacks=()) -> dict[int, dict]:
    """Train ``config`` once per seed into ``out/seed-S``; returns {seed: summary (without "rows")}.

    Args:
        jobs: seeds trained at once, each in its own process (1: one after the other, here).
        on_done: optional ``on_done(seed, summary, run_dir)``, called as each run finishes.
        callbacks: given to every run (loggers write one log per seed; with ``jobs > 1`` each worker gets a copy).
        Other arguments: as :func:`synprobe.harness.train.run`; ``progress`` applies to ``jobs=1``.
    """
    cfg = config or TrainConfig()
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise HarnessError(f"seeds: expected distinct seeds, at least one; got {seeds!r}")
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise HarnessError(f"--jobs: expected a positive integer, got {jobs!r}")
    jobs = min(jobs, len(seeds))
    if jobs > 1 and cfg.threads is None:
        cfg = replace(cfg, threads=max(1, (os.cpu_count() or 1) // jobs))
    kw = dict(device=device, overwrite=overwrite, plots=plots, argv=argv, callbacks=list(callbacks))
    dirs = {s: Path(out) / f"seed-{s}" for s in seeds}
    results: dict[int, dict] = {}

    def done(seed: int, summary: dict) -> None:
        summary.pop("rows", None)
        results[seed] = summary
        if on_done is not None:
            on_done(seed, summary, dirs[seed])

    if jobs == 1:
        for s in seeds:
            done(s, run(stream, data, replace(cfg, seed=s), dirs[s], progress=progress, **kw))
        return {s: results[s] for s in seeds}

    import multiprocessing as mp

    # spawn, not fork: torch's thread pools do not survive a fork. Leaving the block terminates the
    # pool, so the first failing seed stops the others at once instead of after they finish.
    jobs_args = [(stream, data, replace(cfg, seed=s), dirs[s], kw) for s in seeds]
    with mp.get_context("spawn").Pool(jobs) as pool:
        for seed, summary in pool.imap_unordered(_run_one, jobs_args):
            done(seed, summary)
    return {s: results[s] for s in seeds}


def _run_one(args) -> tuple[int, dict]:
    """One seed in a worker process (no progress bar: several would garble the terminal)."""
    stream, data, cfg, out, kw = args
    summary = run(stream, data, cfg, out, progress=False, **kw)
    summary.pop("rows", None)
    return cfg.seed, summary
