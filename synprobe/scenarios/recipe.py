"""Scenario recipes: a continual-learning stream (and its label noise) described in a TOML file.

A scenario recipe lives in the top-level ``scenarios/`` folder (or any path) and names a stream
builder of :mod:`synprobe.scenarios`, its parameters (the builder's own keyword names), an
optional class-occurrence ``[law]`` and an optional ``[noise]`` table (a model of
:mod:`synprobe.noise`). Everything is validated before any data is read; errors are one line::

    scenarios/x.toml: law.name: unknown 'unifrom' (did you mean 'uniform'?); expected one of ...

Usage:

    >>> from synprobe.scenarios.recipe import load_scenario, build
    >>> spec = load_scenario("scole-10c-2pt")
    >>> spec.kind, spec.params["classes_per_task"]
    ('recurring', 2)

``build(spec, "data.h5")`` returns a :class:`synprobe.scenarios.Stream` (see docs/scenarios.md).

This module holds the files (:func:`list_scenarios`, :func:`load_scenario`) and the building
(:func:`build`, :func:`summarize`). The kinds are registered by name in ``_kinds.py``, next to how a
recipe calls each builder; the ``[noise]`` table is checked and applied in ``_recipe_noise.py``;
:class:`ScenarioSpec`, :data:`KINDS` and the validation (:func:`scenario_from_dict`) are in
``_recipe_validate.py``. Import from here: every public name is re-exported.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from synprobe.checksum import file_sha256
from synprobe.errors import InvalidRecipe, SynprobeError
from synprobe.load import read_table
from synprobe.paths import bundled, read_text_file
from synprobe.scenarios._common import ScenarioError
from synprobe.scenarios._files import attach_eval_sets, held_out_counts, train_from_file
from synprobe.scenarios._kinds import KINDS_BY_NAME, TrainData
from synprobe.scenarios._recipe_checks import Ctx, hint, quoted
from synprobe.scenarios._recipe_noise import noisy_stream_labels
from synprobe.scenarios._recipe_validate import KINDS, ScenarioSpec, scenario_from_dict
from synprobe.scenarios.stream import Stream

__all__ = ["KINDS", "ScenarioSpec", "build", "list_scenarios", "load_scenario", "scenario_from_dict"]


# --------------------------------------------------------------------------- files


def list_scenarios() -> dict[str, Path]:
    """Bundled scenario recipe names -> files."""
    return {p.stem: p for p in sorted(bundled("scenarios").glob("*.toml"))}


def _display(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(bundled("scenarios").parent))
    except ValueError:
        return str(p)


def load_scenario(name_or_path: str | Path | ScenarioSpec) -> ScenarioSpec:
    """Load and validate a bundled scenario recipe by name, or a TOML file by path."""
    if isinstance(name_or_path, ScenarioSpec):
        return name_or_path
    p = Path(name_or_path)
    known = list_scenarios()
    if str(name_or_path) in known and not p.exists():
        p = known[str(name_or_path)]
    elif not p.exists():
        raise InvalidRecipe(
            str(name_or_path),
            "",
            f"no such scenario file or name{hint(name_or_path, known)}; bundled scenarios: {quoted(known)}",
        )
    src = _display(p)
    try:
        data = tomllib.loads(read_text_file(p))
    except tomllib.TOMLDecodeError as e:
        raise InvalidRecipe(src, "", f"not valid TOML: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidRecipe(src, "", f"cannot read: {e}") from None
    data.setdefault("name", p.stem)
    return scenario_from_dict(data, source=src)


# --------------------------------------------------------------------------- building


def build(spec: ScenarioSpec | str | Path, data_path, seed: int | None = None, overrides: dict | None = None):
    """Build the stream of a scenario recipe over a dataset file.

    Args:
        spec: a :class:`ScenarioSpec`, a bundled scenario name or a TOML path.
        data_path: a synprobe ``.h5`` dataset file.
        seed: overrides the recipe's seed.
        overrides: recipe fields to replace before validation (e.g. ``{"n_tasks": 20}``).

    Returns:
        A :class:`synprobe.scenarios.Stream` with eval sets (``iid``, ``ood_<split>``), noisy
        labels when the recipe has ``[noise]``, and ``spec["recipe"]``/``spec["data"]`` recorded.
    """
    spec = _resolved(spec, seed, overrides)
    path = Path(data_path)
    if not path.is_file():
        raise InvalidRecipe(str(path), "", "no such dataset file")
    stream, data = _stream_of(spec, path)
    extra: dict[str, Any] = {}
    rec = _record(spec, stream, data, path)
    if spec.noise is not None:
        lt, lo, summary = noisy_stream_labels(spec, stream, data, spec.seed)
        extra.update(labels_true=lt, labels_observed=lo)
        rec["noise"] = summary
    return replace(stream, spec=rec, **extra)


def _resolved(spec, seed: int | None, overrides: dict | None) -> ScenarioSpec:
    """The recipe loaded, with ``overrides`` validated into it and ``seed`` in place of its own."""
    spec = load_scenario(spec)
    if overrides:
        spec = scenario_from_dict({**spec.to_dict(), **overrides}, source=spec.source)
    if seed is not None:
        spec = replace(spec, seed=Ctx("--seed").int("seed", seed))
    return spec


def _stream_of(spec: ScenarioSpec, path: Path) -> tuple[Stream, TrainData]:
    """The kind's stream over the file's train rows, with its eval sets; errors name the recipe."""
    ood = list(spec.ood) if spec.ood is not None else None
    try:
        y, idx = train_from_file(path, spec.target, spec.split_name, ood)
        data = TrainData(y, idx, read_table(path), spec.source)
        stream = KINDS_BY_NAME[spec.kind].make(spec, data, dict(spec.params, seed=spec.seed))
        return attach_eval_sets(stream, path, spec.split_name, ood), data
    except ScenarioError as e:
        raise InvalidRecipe(spec.source, "", str(e)) from None
    except SynprobeError as e:
        if isinstance(e, InvalidRecipe):
            raise
        raise InvalidRecipe(spec.source, "", str(e)) from None


def _record(spec: ScenarioSpec, stream: Stream, data: TrainData, path: Path) -> dict:
    """``stream.spec`` with where it came from: the recipe, the data file, what classes (and groups) are called."""
    table = data.table
    rec = {
        **stream.spec,
        "recipe": spec.to_dict(),
        "recipe_source": spec.source,
        "target": spec.target,
        "split_name": spec.split_name,
        "data": {"file": path.name, "sha256": file_sha256(path), "n_rows": int(table.n)},
        "held_out": _held_out(spec, path),
    }
    names = table.categories.get(table.resolve(spec.target))
    if names is not None:  # what the class ids mean, for plots and reports (stream.classes order)
        classes = np.unique(stream.class_indices)
        rec["class_names"] = [str(names[int(c)]) if 0 <= c < len(names) else str(int(c)) for c in classes]
    record = KINDS_BY_NAME[spec.kind].record
    if record is not None:
        rec.update(record(spec, data, stream))
    return rec


def _held_out(spec: ScenarioSpec, path: Path) -> dict:
    """The training pool, explicit: which splits were held out and how many train rows each removed."""
    counts = held_out_counts(path, spec.split_name, list(spec.ood) if spec.ood is not None else None)
    train, kept = counts.pop("train"), counts.pop("kept")
    return {"splits": list(counts), "removed": counts, "train_part_rows": train, "train_rows": kept}


def summarize(stream) -> dict:
    """Counts of a built stream for printing: tasks, classes, samples, eval sets, noise."""
    sizes = np.diff(stream.offsets)
    out = {
        "tasks": len(stream),
        "classes": int(len(np.unique(stream.class_indices))),
        "train_occurrences": int(len(stream.indices)),
        "distinct_train_rows": int(len(np.unique(stream.indices))),
        "val_rows": 0 if stream.val_indices is None else int(len(stream.val_indices)),
        "task_size": [int(sizes.min()), int(sizes.max())] if len(sizes) else [0, 0],
        "eval_sets": {k: int(len(v)) for k, v in stream.eval_sets.items()},
    }
    if "held_out" in stream.spec:
        out["held_out"] = stream.spec["held_out"]
    nz = stream.spec.get("noise")
    if nz:
        out["noise"] = {k: nz[k] for k in ("model", "rate", "n", "n_flipped") if k in nz}
    return out
