"""Sweeps: a grid of ``synprobe run`` settings x seeds, each cell a run folder, on this machine or on Ray.

    >>> from synprobe.sweep import load_sweep, run_sweep
    >>> sweep = load_sweep("masking.toml")                              # doctest: +SKIP
    >>> result = run_sweep(sweep, "runs/masking", backend="ray")        # doctest: +SKIP
    >>> result["done"], result["skipped"], result["failed"]             # doctest: +SKIP

The sweep file (``_spec``): ``[sweep]`` settings (seeds, retries, CPUs and GPUs per cell), ``[base]`` options
and ``[grid]`` lists (docs/scale-out.md). The driver (``_driver``) trains each cell as ``synprobe run`` does,
retries failed ones and skips finished, verified ones, so a killed sweep resumes where it stopped.
"""

from __future__ import annotations

from synprobe.sweep._driver import BACKENDS, SweepResult, cell_state, run_sweep, sweep_runs
from synprobe.sweep._spec import RUN_KEYS, SWEEP_KEYS, Cell, Sweep, SweepError, load_sweep, sweep_from_dict

__all__ = [
    "BACKENDS",
    "RUN_KEYS",
    "SWEEP_KEYS",
    "Cell",
    "Sweep",
    "SweepError",
    "SweepResult",
    "cell_state",
    "load_sweep",
    "run_sweep",
    "sweep_from_dict",
    "sweep_runs",
]
