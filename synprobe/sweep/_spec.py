"""The sweep file (TOML): its schema, its one-line checks, and its expansion into cells.

A sweep is ``[sweep]`` settings, ``[base]`` options every run gets and ``[grid]`` lists whose every
combination is one cell; each cell runs once per seed. The options are ``synprobe run``'s: ``stream``,
``data``, ``device`` and every training setting (``synprobe.harness.config.TrainConfig``'s fields, written
with ``_`` or ``-``), plus ``config``, a TOML file of training settings as ``--config`` reads it.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from synprobe.errors import SynprobeError, did_you_mean
from synprobe.harness.config import TrainConfig, read_train_file
from synprobe.harness.errors import HarnessError
from synprobe.harness.seeds import parse_seeds
from synprobe.paths import read_text_file

__all__ = ["RUN_KEYS", "SWEEP_KEYS", "Cell", "Sweep", "SweepError", "load_sweep", "sweep_from_dict"]


class SweepError(SynprobeError, ValueError):
    """A sweep file is malformed, or a sweep's output folder holds runs of another sweep."""


TRAIN_KEYS = tuple(f.name for f in fields(TrainConfig) if f.name != "seed")
RUN_KEYS = ("stream", "data", "device", "config", *TRAIN_KEYS)  # what [base] and [grid] may set
SWEEP_KEYS = ("seeds", "retries", "num_cpus", "num_gpus", "plots")  # [sweep]
TABLES = ("sweep", "base", "grid")
PATH_KEYS = ("data", "config")  # relative to the sweep file


@dataclass(frozen=True)
class Cell:
    """One run of a sweep: what ``synprobe run STREAM --data DATA --seed SEED ...`` it is, and where it goes.

    Attributes:
        name: the run folder under the sweep's output, ``<cell>/seed-S`` (``seed-S`` for a sweep without a grid).
        group: the cell's name without the seed (its varying values, e.g. ``masking-group_lr-0.1``).
        stream: scenario recipe name or path, or a ``.npz`` stream.
        data: the dataset file (absolute).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        config: the training settings, seed and thread count included.
    """

    name: str
    group: str
    stream: str
    data: str
    device: str
    config: TrainConfig


@dataclass(frozen=True)
class Sweep:
    """A sweep file, checked: its cells and how to schedule them.

    Attributes:
        source: the file (or ``<sweep>``).
        cells: every (grid combination, seed), in file order (grid keys vary last-fastest, then seeds).
        retries: attempts after a cell's first failure.
        num_cpus: CPUs a cell asks Ray for; a cell's torch thread count unless ``threads`` is set.
        num_gpus: GPUs a cell asks Ray for (0.25: four cells share one GPU).
        plots: write each run's PNG plots.
    """

    source: str
    cells: tuple[Cell, ...]
    retries: int = 1
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    plots: bool = True


def load_sweep(path) -> Sweep:
    """Read and check a sweep file; relative ``data`` and ``config`` paths are relative to its folder."""
    p = Path(path)
    if not p.is_file():
        raise SweepError(f"{p}: no such sweep file")
    try:
        d = tomllib.loads(read_text_file(p))
    except tomllib.TOMLDecodeError as e:
        raise SweepError(f"{p}: not valid TOML ({e})") from None
    return sweep_from_dict(d, source=str(p), root=p.parent)


def sweep_from_dict(d: dict, source: str = "<sweep>", root=".") -> Sweep:
    """A :class:`Sweep` from the tables of a sweep file (see the module docstring)."""
    for k in d:
        if k not in TABLES:
            _bad(source, k, f"unknown table{did_you_mean(k, TABLES)}; expected: {', '.join(TABLES)}")
    tables = {t: d.get(t, {}) for t in TABLES}
    for t, v in tables.items():
        if not isinstance(v, dict):
            _bad(source, t, "expected a table")
    settings = _sweep_settings(tables["sweep"], source)
    base = {_key(k, "base", source): v for k, v in tables["base"].items()}
    grid = {_key(k, "grid", source): v for k, v in tables["grid"].items()}
    for k, v in grid.items():
        if not isinstance(v, list) or not v:
            _bad(source, f"grid.{k}", f"expected a non-empty list of values, got {v!r}")
        if k in base:
            _bad(source, f"grid.{k}", "also set in [base]; give it in one of them")
    for k in ("stream", "data"):
        if k not in base and k not in grid:
            _bad(source, f"base.{k}", f"missing: every run needs a {k} ([base] {k} = ..., or a [grid] list)")
    cells = _cells(base, grid, settings, source, Path(root))
    return Sweep(source=source, cells=tuple(cells), **{k: v for k, v in settings.items() if k != "seeds"})


def _bad(source: str, field: str, message: str):
    raise SweepError(f"{source}: {field}: {message}")


def _key(k: str, table: str, source: str) -> str:
    """An option name as TrainConfig spells it (``batch-size`` -> ``batch_size``), checked."""
    name = k.replace("-", "_")
    if name == "seed":
        _bad(source, f"{table}.seed", 'seeds are set in [sweep]: seeds = [0, 1] or "0-4"')
    if name not in RUN_KEYS:
        _bad(
            source,
            f"{table}.{k}",
            f"unknown option{did_you_mean(name, RUN_KEYS)}; expected one of: {', '.join(RUN_KEYS)}",
        )
    return name


def _sweep_settings(t: dict, source: str) -> dict:
    out = {"seeds": [0], "retries": 1, "num_cpus": 1.0, "num_gpus": 0.0, "plots": True}
    for k, v in t.items():
        if k not in SWEEP_KEYS:
            _bad(
                source,
                f"sweep.{k}",
                f"unknown setting{did_you_mean(k, SWEEP_KEYS)}; expected one of: {', '.join(SWEEP_KEYS)}",
            )
        out[k] = v
    seeds = out["seeds"]
    try:
        if isinstance(seeds, str):
            seeds = parse_seeds(seeds)
        elif not isinstance(seeds, list) or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
            raise HarnessError("")
        out["seeds"] = parse_seeds(",".join(map(str, seeds)))
    except HarnessError:
        _bad(source, "sweep.seeds", f'{out["seeds"]!r}: expected distinct integers >= 0, e.g. [0, 1] or "0-4"')
    if isinstance(out["retries"], bool) or not isinstance(out["retries"], int) or out["retries"] < 0:
        _bad(source, "sweep.retries", f"{out['retries']!r}: expected an integer >= 0")
    for k, lo in (("num_cpus", 0), ("num_gpus", 0)):
        v = out[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < lo or (k == "num_cpus" and v == 0):
            _bad(source, f"sweep.{k}", f"{v!r}: expected a number {'> 0' if k == 'num_cpus' else '>= 0'}")
        out[k] = float(v)
    if not isinstance(out["plots"], bool):
        _bad(source, "sweep.plots", f"{out['plots']!r}: expected true or false")
    return out


def _cells(base: dict, grid: dict, settings: dict, source: str, root: Path) -> list[Cell]:
    labels = {k: _labels(k, vs) for k, vs in grid.items()}
    cells = []
    for combo in itertools.product(*[range(len(vs)) for vs in grid.values()]):
        opts = {**base, **{k: grid[k][i] for k, i in zip(grid, combo)}}
        group = "_".join(f"{k}-{labels[k][i]}" for k, i in zip(grid, combo))
        where = source if not group else f"{source}: cell {group}"
        for k in ("stream", "data", "device", "config"):
            if k in opts and (not isinstance(opts[k], str) or not opts[k]):
                _bad(
                    where,
                    f"{'grid' if k in grid else 'base'}.{k}",
                    f"{opts[k]!r}: expected {'a file name' if k in PATH_KEYS else 'a name'} (a string)",
                )
        opts = _resolved_paths(opts, root)
        train = {**_train_file(opts.pop("config", None), where), **{k: v for k, v in opts.items() if k in TRAIN_KEYS}}
        if train.get("threads") is None:  # a cell's numbers depend on its thread count: fix it
            train["threads"] = max(1, int(settings["num_cpus"]))
        for seed in settings["seeds"]:
            try:
                cfg = TrainConfig.from_dict({**train, "seed": seed}, source=where)
            except HarnessError as e:
                raise SweepError(str(e)) from None
            name = f"{group}/seed-{seed}" if group else f"seed-{seed}"
            cells.append(
                Cell(
                    name=name,
                    group=group,
                    stream=str(opts["stream"]),
                    data=str(opts["data"]),
                    device=str(opts.get("device", "auto")),
                    config=cfg,
                )
            )
    return cells


def _resolved_paths(opts: dict, root: Path) -> dict:
    out = dict(opts)
    for k in PATH_KEYS:
        if k in out and isinstance(out[k], str):
            out[k] = str((root / out[k]).resolve())
    stream = out.get("stream")
    if isinstance(stream, str) and (root / stream).is_file():  # a stream file beside the sweep file
        out["stream"] = str((root / stream).resolve())
    return out


def _train_file(path, where: str) -> dict:
    """The training settings of a ``config`` TOML file (``[train]`` table or top level), as ``--config`` reads it."""
    if path is None:
        return {}
    try:
        d = read_train_file(path)
    except HarnessError as e:
        raise SweepError(f"{where}: config {e}") from None
    return {k: v for k, v in d.items() if k != "seed"}


_UNSAFE = re.compile(r"[^A-Za-z0-9.=+,-]+")


def _labels(key: str, values: list) -> list[str]:
    """Folder-name labels of a grid key's values: the value itself (a path's stem), or its position when two
    values would give the same label."""
    out = []
    for v in values:
        if isinstance(v, str) and key in ("stream", "data", "config") and ("/" in v or "." in v):
            v = Path(v).stem
        out.append(_UNSAFE.sub("-", _text(v)).strip("-") or "x")
    return out if len(set(out)) == len(out) else [str(i) for i in range(len(values))]


def _text(v) -> str:
    """A grid value as text: ``{hidden = [64, 64]}`` -> ``hidden=64,64``."""
    if isinstance(v, dict):
        return ",".join(f"{k}={_text(x)}" for k, x in v.items())
    if isinstance(v, list):
        return ",".join(_text(x) for x in v)
    return str(v)
