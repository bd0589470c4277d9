"""Running a sweep's cells: locally or as Ray tasks, failed cells retried, finished cells verified and skipped.

Every cell is trained by the same call ``synprobe run`` makes (:func:`synprobe.harness.train.run`), with the
cell's seed and thread count, so a run in a sweep has the numbers of the same ``synprobe run`` alone. On Ray a
cell trains into a temporary folder on its node and sends the run folder's files back; only the driver writes
under the sweep's output, each run folder staged and renamed as ``synprobe run`` does, so a killed sweep leaves
finished runs and nothing that looks finished but is not.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections import deque
from concurrent import futures
from pathlib import Path

from synprobe.errors import SynprobeError
from synprobe.harness.errors import HarnessError
from synprobe.harness.outputs import StagedDir
from synprobe.harness.rundir import read_run
from synprobe.harness.train import run
from synprobe.io.lock import output_lock
from synprobe.io.validate import one_line
from synprobe.sweep._spec import Cell, Sweep, SweepError

__all__ = ["BACKENDS", "FORMAT", "SweepResult", "cell_state", "check_fits", "run_sweep", "sweep_runs", "train_cell"]

FORMAT = "synprobe.sweep/1"  # sweep.json "format"
BACKENDS = ("local", "ray")
RAY_MISSING = "--backend ray needs Ray: pip install -e '.[ray]' (from the synprobe checkout), or pip install ray"


class SweepResult(dict):
    """What a sweep did: ``done`` (cells trained now), ``skipped`` (found finished and verified), ``failed``
    ({cell: last error line}) and ``wall_s``."""


def run_sweep(
    sweep: Sweep,
    out,
    *,
    backend: str = "local",
    address: str | None = None,
    jobs: int | None = None,
    overwrite: bool = False,
    argv=None,
    echo=None,
) -> SweepResult:
    """Run every cell of ``sweep`` not already finished under ``out``.

    Args:
        backend: "local" (this machine: one cell at a time, or ``jobs`` processes) or "ray" (Ray tasks asking for
            ``sweep.num_cpus`` CPUs and ``sweep.num_gpus`` GPUs each).
        address: the Ray cluster to join (``ray.init(address)``); None = start a local Ray on this machine.
        jobs: cells at once (local: processes, default 1; ray: cells in flight, default: as many as Ray places).
        overwrite: train every cell again, replacing finished runs.
        echo: ``echo(line)`` for one line per event (a cell skipped, done, retried, failed); None = silent.

    Raises:
        SweepError: a bad argument, or a finished run under ``out`` that another sweep wrote (its settings differ).
    """
    echo = echo or (lambda line: None)
    if backend not in BACKENDS:
        raise SweepError(f"--backend {backend!r}: expected one of: {', '.join(BACKENDS)}")
    if address and backend != "ray":
        raise SweepError("--address: only with --backend ray")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise SweepError(f"--jobs: expected a positive integer, got {jobs!r}")
    out = Path(out)
    _check_inputs(sweep)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with output_lock(out):  # one sweep command per folder (a second one names the first's pid)
        todo = _plan(sweep, out, overwrite, echo)
        _write_manifest(sweep, out)
        names = {c.name for c in todo}
        result = SweepResult(done=[], skipped=[c.name for c in sweep.cells if c.name not in names], failed={})
        if todo:
            echo(f"{out}: {len(todo)} of {len(sweep.cells)} runs to train on {backend}")
            ray = backend == "ray"
            runner = _RayRunner(sweep, out, address, jobs, argv) if ray else _LocalRunner(sweep, out, jobs or 1, argv)
            with runner:
                _schedule(todo, runner, sweep.retries, result, echo)
    result["wall_s"] = time.perf_counter() - t0
    return result


def _check_inputs(sweep: Sweep) -> None:
    """The files the cells read exist here (on a cluster: at the same path on every node)."""
    for data in dict.fromkeys(c.data for c in sweep.cells):
        if not Path(data).is_file():
            raise SweepError(f"{sweep.source}: data {data}: no such dataset file")


def cell_state(cell: Cell, run_dir: Path) -> str:
    """``"done"`` (a finished run of this cell), ``"missing"``, or why the folder must be trained again.

    Raises:
        SweepError: the folder holds a finished run of other settings (another sweep's, or an edited sweep file).
    """
    if not run_dir.exists():
        return "missing"
    try:
        r = read_run(run_dir)
    except HarnessError as e:
        return f"unreadable ({e})"
    want = json.loads(json.dumps(cell.config.to_dict()))
    got = r.config.get("train") or {}
    diff = [f"{k} {got.get(k)!r}, the cell's {want[k]!r}" for k in want if got.get(k) != want[k]]
    src = (r.config.get("stream") or {}).get("source"), (r.config.get("data") or {}).get("file")
    if src != (cell.stream, cell.data):
        diff.append(f"stream/data {src[0]}/{src[1]}, the cell's {cell.stream}/{cell.data}")
    if diff:
        raise SweepError(
            f"{run_dir}: a finished run of other settings than the sweep's cell {cell.name} "
            f"({'; '.join(diff)}); choose another -o, or --overwrite to train it again"
        )
    if len(r.tasks) != (r.summary or {}).get("tasks"):
        return "incomplete (fewer task rows than summary.json's tasks)"
    return "done"


def _plan(sweep: Sweep, out: Path, overwrite: bool, echo) -> list[Cell]:
    if overwrite:
        return list(sweep.cells)
    todo = []
    for c in sweep.cells:
        state = cell_state(c, out / c.name)
        if state == "done":
            continue
        if state != "missing":
            echo(f"{c.name}: training again: {one_line(state)}")
        todo.append(c)
    if len(todo) < len(sweep.cells):
        k = len(sweep.cells) - len(todo)
        echo(f"{out}: {k} run{'s' * (k != 1)} already finished (verified), skipped")
    return todo


def _write_manifest(sweep: Sweep, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cells = [
        {
            "name": c.name,
            "group": c.group,
            "stream": c.stream,
            "data": c.data,
            "device": c.device,
            "train": c.config.to_dict(),
        }
        for c in sweep.cells
    ]
    doc = {
        "format": FORMAT,
        "source": sweep.source,
        "retries": sweep.retries,
        "num_cpus": sweep.num_cpus,
        "num_gpus": sweep.num_gpus,
        "cells": cells,
    }
    tmp = out / "sweep.json.tmp"
    tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out / "sweep.json")


def sweep_runs(out) -> tuple[list[Path], list[str]]:
    """The finished run folders of the sweep written under ``out`` (in the sweep's order), and the names of
    its cells that have none yet."""
    out = Path(out)
    try:
        doc = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
        names = [c["name"] for c in doc["cells"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SweepError(f"{out / 'sweep.json'}: not a sweep manifest ({one_line(str(e))})") from None
    done = [out / n for n in names if (out / n / "summary.json").is_file()]
    return done, [n for n in names if not (out / n / "summary.json").is_file()]


# ----------------------------------------------------------------------------- scheduling


def _schedule(todo: list[Cell], runner, retries: int, result: SweepResult, echo) -> None:
    """Keep up to ``runner.limit`` cells in flight; a failed cell goes to the back of the queue until it has
    failed ``retries + 1`` times (errors in the user's input are not retried: they would fail the same way)."""
    queue, attempts, inflight = deque(todo), {c.name: 0 for c in todo}, {}
    n, finished = len(todo), 0
    while queue or inflight:
        while queue and len(inflight) < runner.limit:
            cell = queue.popleft()
            attempts[cell.name] += 1
            inflight[runner.start(cell)] = cell
        handle, outcome = runner.next_done(list(inflight))
        cell = inflight.pop(handle)
        if outcome["ok"]:
            runner.keep(cell, outcome)
            finished += 1
            result["done"].append(cell.name)
            echo(f"[{finished}/{n}] {cell.name}: {outcome['headline']}")
            continue
        tries = attempts[cell.name]
        if outcome["retry"] and tries <= retries:
            echo(f"{cell.name}: failed (attempt {tries} of {retries + 1}), retrying: {outcome['error']}")
            queue.append(cell)
            continue
        finished += 1
        result["failed"][cell.name] = outcome["error"]
        echo(f"[{finished}/{n}] {cell.name}: FAILED after {tries} attempt{'s' * (tries > 1)}: {outcome['error']}")


def train_cell(cell: Cell, run_dir, plots: bool, argv, ship: bool = False) -> dict:
    """Train one cell into ``run_dir`` (``ship``: into a temporary folder, returned as ``files``: {relative path:
    bytes}). Returns ``{"ok": True, "headline": ..., "files": ...}`` or ``{"ok": False, "error": one line,
    "retry": bool}``: the caller decides what a failure means."""
    tmp = Path(tempfile.mkdtemp(prefix="synprobe-cell-")) if ship else None
    try:
        target = tmp / "run" if ship else Path(run_dir)
        s = run(
            cell.stream,
            cell.data,
            cell.config,
            target,
            device=cell.device,
            progress=False,
            overwrite=True,
            argv=argv,
            plots=plots,
            announce=False,
        )
        iid = s["final"].get(s.get("iid_set")) if s.get("iid_set") else None
        headline = (
            f"final {s['iid_set']} accuracy {iid:.3f}, " if iid is not None else ""
        ) + f"{s['time_s']:.2f} s on {s['device']}"
        files = (
            {p.relative_to(target).as_posix(): p.read_bytes() for p in sorted(target.rglob("*")) if p.is_file()}
            if ship
            else None
        )
        return {"ok": True, "headline": headline, "files": files}
    except SynprobeError as e:
        return {"ok": False, "error": one_line(str(e)), "retry": False}
    except Exception as e:  # noqa: BLE001 -- any other failure of a run is reported as that cell's, and retried
        return {"ok": False, "error": one_line(f"{type(e).__name__}: {e}"), "retry": True}
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def check_fits(nodes: list[dict], sweep: Sweep) -> None:
    """Some node of ``nodes`` (Ray resource dicts: ``{"CPU": 2.0, "GPU": 1.0}``) can hold a cell, else Ray would
    wait for one forever."""
    for key, want in (("CPU", sweep.num_cpus), ("GPU", sweep.num_gpus)):
        most = max((n.get(key, 0.0) for n in nodes), default=0.0)
        if want > most:
            raise SweepError(
                f"{sweep.source}: sweep.num_{key.lower()}s = {want:g}, but the largest node of this Ray "
                f"has {most:g} {key}s: no cell could start"
            )


class _LocalRunner:
    """Cells on this machine: in this process one at a time, or in ``jobs`` spawned processes."""

    def __init__(self, sweep: Sweep, out: Path, jobs: int, argv):
        self.sweep, self.out, self.limit, self.argv = sweep, out, jobs, argv
        # spawn, not fork: torch's thread pools do not survive a fork
        self.pool = futures.ProcessPoolExecutor(jobs, mp_context=_spawn()) if jobs > 1 else None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def start(self, cell: Cell):
        args = (cell, self.out / cell.name, self.sweep.plots, self.argv)
        if self.pool is not None:
            return self.pool.submit(train_cell, *args)
        f = futures.Future()
        f.set_result(train_cell(*args))
        return f

    def next_done(self, handles):
        done, _ = futures.wait(handles, return_when=futures.FIRST_COMPLETED)
        f = next(iter(done))
        try:
            return f, f.result()
        except futures.process.BrokenProcessPool as e:  # a worker killed (out of memory): the cell failed
            return f, {"ok": False, "error": one_line(f"worker process died: {e}"), "retry": True}

    def keep(self, cell: Cell, outcome: dict) -> None:
        """The run folder is already in place (``synprobe run`` wrote it)."""


def _spawn():
    import multiprocessing as mp

    return mp.get_context("spawn")


class _RayRunner:
    """Cells as Ray tasks (``num_cpus``/``num_gpus`` each); each sends its run folder's files back here."""

    def __init__(self, sweep: Sweep, out: Path, address: str | None, jobs: int | None, argv):
        try:
            import ray
        except ImportError:
            raise SweepError(RAY_MISSING) from None
        self.ray, self.sweep, self.out, self.argv = ray, sweep, out, argv
        self.started = not ray.is_initialized()
        if self.started:  # "local": a new Ray on this machine, never another user's running one
            ray.init(address=address or "local", include_dashboard=False, logging_level="WARNING")
            if not address:  # a cluster may add nodes on demand; this machine will not: a cell must fit it
                try:
                    check_fits([n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")], sweep)
                except SweepError:
                    ray.shutdown()
                    raise
        self.remote = ray.remote(train_cell).options(num_cpus=sweep.num_cpus, num_gpus=sweep.num_gpus, max_retries=0)
        self.limit = jobs or len(sweep.cells)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.started:
            self.ray.shutdown()

    def start(self, cell: Cell):
        return self.remote.remote(cell, None, self.sweep.plots, self.argv, True)

    def next_done(self, handles):
        ready, _ = self.ray.wait(handles, num_returns=1)
        try:
            return ready[0], self.ray.get(ready[0])
        except Exception as e:  # noqa: BLE001 -- a worker or node lost: the cell failed, and is retried
            return ready[0], {"ok": False, "error": one_line(f"{type(e).__name__}: {e}"), "retry": True}

    def keep(self, cell: Cell, outcome: dict) -> None:
        """Write the run folder the task sent back: staged under ``.incomplete`` and renamed when whole."""
        staged = StagedDir(self.out / cell.name, overwrite=True)
        for rel, data in outcome["files"].items():
            p = staged.dir / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        staged.publish()
