"""Scenario recipes: a continual-learning stream (and its label noise) described in a TOML file.

A scenario recipe lives in the top-level ``scenarios/`` folder (or any path) and names a stream
builder of :mod:`synprobe.scenarios`, its parameters (the builder's own keyword names), an
optional class-occurrence ``[law]`` and an optional ``[noise]`` table (a model of
:mod:`synprobe.noise`). Everything is validated before any data is read; errors are one line::

    scenarios/x.toml: law.name: unknown 'unifrom' (did you mean 'uniform'?); expected one of ...

Usage:

    >>> from synprobe.scenario_recipe import load_scenario, build
    >>> spec = load_scenario("scole-10c-2pt")
    >>> spec.kind, spec.params["classes_per_task"]
    ('recurring', 2)

``build(spec, "data.h5")`` returns a :class:`synprobe.scenarios.Stream` (see docs/scenarios.md).

This module holds the files (:func:`list_scenarios`, :func:`load_scenario`) and the building
(:func:`build`, its label noise, :func:`summarize`); :class:`ScenarioSpec`, :data:`KINDS` and the
validation (:func:`scenario_from_dict`) are in :mod:`synprobe.scenario_recipe_validate`. Import
from here: every public name is re-exported.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from synprobe.checksum import file_sha256
from synprobe.errors import InvalidRecipe, SynprobeError
from synprobe.paths import bundled, read_text_file
from synprobe.scenario_recipe_validate import (
    KINDS,
    ScenarioSpec,
    _allowed,
    _builders,
    _Ctx,
    _hint,
    scenario_from_dict,
)

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
        raise InvalidRecipe(str(name_or_path), "", f"no such scenario file or name{_hint(name_or_path, known)}; "
                            f"bundled scenarios: {_allowed(known)}")
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


def _column(table, name: str, rows: np.ndarray, source: str, path: str) -> np.ndarray:
    from synprobe.load import LoadError

    try:
        col = table.resolve(name, "attribute")
    except LoadError as e:
        raise InvalidRecipe(source, path, str(e)) from None
    return table.first(col)[rows]


def _apply_noise(spec: ScenarioSpec, stream, y_of_row, table, seed):
    """Noisy labels of every distinct training row (one annotation per row, shared by all its
    occurrences), over the stream's classes. Returns (labels_true, labels_observed, summary)."""
    from synprobe.noise import NoiseError, apply_noise, difficulty

    nz = dict(spec.noise)
    model = nz.pop("model")
    rows = np.unique(stream.indices)
    true = y_of_row(rows)
    classes = np.unique(np.concatenate([true, stream.class_indices]))
    compact = np.searchsorted(classes, true)
    absolute = set(nz.pop("abs", []))

    def attr(name, where):
        v = _column(table, name, rows, spec.source, where).astype(np.float64)
        return np.abs(v) if name in absolute else v

    if model == "attribute_dependent":
        w = nz.pop("weights")
        attrs = {k: attr(k, f"noise.weights.{k}") for k in w}
        try:
            nz["scores"] = difficulty(attrs, w)
        except NoiseError as e:
            raise InvalidRecipe(spec.source, "noise.weights", str(e)) from None
    if model == "instance_dependent":
        cols = [attr(k, "noise.features") for k in nz.pop("features")]
        x = np.stack(cols, 1)
        sd = x.std(0)
        nz["features"] = (x - x.mean(0)) / np.where(sd > 0, sd, 1.0)
    if model == "asymmetric":
        m = {}
        for k, v in nz["mapping"].items():
            a, b = np.searchsorted(classes, [int(k), int(v)])
            if classes[min(a, len(classes) - 1)] != int(k) or classes[min(b, len(classes) - 1)] != int(v):
                raise InvalidRecipe(spec.source, f"noise.mapping.{k}",
                                    f"class {k} -> {v}: both must be classes of the stream")
            m[int(a)] = int(b)
        nz["mapping"] = m
    scope = nz.pop("scope", "row")
    pos = np.searchsorted(rows, stream.indices)
    try:
        if scope == "row":  # one annotation per row, shared by every occurrence of the row
            noisy = apply_noise(model, compact, len(classes), seed=(seed, 1), **nz)
            obs = classes[noisy.observed][pos]
            summary = noisy.summary()
            flipped = noisy.flipped[pos]
        else:  # "task": each task's training labels are annotated anew; exact counts per task
            obs = np.empty(len(pos), np.int64)
            flipped = np.empty(len(pos), bool)
            per_row = {k: v for k, v in nz.items() if k in ("scores", "features")}
            for t in range(len(stream)):
                a, b = stream.offsets[t], stream.offsets[t + 1]
                kw = dict(nz, **{k: v[pos[a:b]] for k, v in per_row.items()})
                nt = apply_noise(model, compact[pos[a:b]], len(classes), seed=(seed, 1, t), **kw)
                obs[a:b], flipped[a:b] = classes[nt.observed], nt.flipped
            summary = {"model": model, "rate": float(flipped.mean()) if len(flipped) else 0.0,
                       "n_flipped": int(flipped.sum()), "params": {k: v for k, v in nz.items() if k not in per_row}}
    except NoiseError as e:
        raise InvalidRecipe(spec.source, "noise", str(e)) from None
    summary.update(scope=scope, stream_classes=classes.tolist(), n_occurrences=int(len(stream.indices)),
                   n_occurrences_flipped=int(flipped.sum()))
    return true[pos], obs, summary


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
    from dataclasses import replace

    from synprobe.load import read_table
    from synprobe.scenarios import attach_eval_sets, train_from_file
    from synprobe.scenarios._common import ScenarioError, rng_for

    spec = load_scenario(spec)
    if overrides:
        spec = scenario_from_dict({**spec.to_dict(), **overrides}, source=spec.source)
    if seed is not None:
        spec = replace(spec, seed=_Ctx("--seed").int("seed", seed))
    seed = spec.seed
    path = Path(data_path)
    if not path.is_file():
        raise InvalidRecipe(str(path), "", "no such dataset file")
    ood = list(spec.ood) if spec.ood is not None else None
    try:
        y, idx = train_from_file(path, spec.target, spec.split_name, ood)
        table = read_table(path)
        order = np.argsort(idx, kind="stable")

        def y_of_row(rows):
            return y[order[np.searchsorted(idx, rows, sorter=order)]]

        fn = _builders()[spec.kind]
        kw = dict(spec.params, seed=seed)
        if spec.kind == "recurring":
            stream = fn(y, idx, law=spec.law, **kw)
        elif spec.kind == "class_incremental":
            if spec.n_classes is not None:
                present = np.unique(y[y >= 0])
                if spec.n_classes > len(present):
                    raise InvalidRecipe(spec.source, "n_classes", f"{spec.n_classes} exceeds the {len(present)} "
                                        "classes of the train part")
                kw["class_order"] = rng_for(seed, "scenario/classes").choice(present, spec.n_classes,
                                                                             replace=False).tolist()
            stream = fn(y, idx, **kw)
        elif spec.kind == "instance_incremental":
            stream = fn(len(y), kw.pop("n_tasks"), labels=y, index=idx, **kw)
        elif spec.kind == "domain_incremental":
            dom = _column(table, spec.domain, idx, spec.source, "domain")
            if spec.n_groups is not None:
                vals = rng_for(seed, "scenario/domain_groups").permutation(np.unique(dom))
                if spec.n_groups > len(vals):
                    raise InvalidRecipe(spec.source, "n_groups", f"{spec.n_groups} exceeds the {len(vals)} "
                                        f"values of {spec.domain!r} in the train part")
                kw["groups"] = [sorted(g.tolist()) for g in np.array_split(vals, spec.n_groups)]
            stream = fn(y, dom, idx, **kw)
        else:  # drift
            vals = _column(table, spec.attribute, idx, spec.source, "attribute")
            if vals.dtype.kind not in "fiu" or spec.attribute in table.categories:
                raise InvalidRecipe(spec.source, "attribute", f"{spec.attribute!r} is not a numeric attribute")
            stream = fn(vals, kw.pop("n_tasks"), labels=y, index=idx, **kw)
        stream = attach_eval_sets(stream, path, spec.split_name, ood)
    except ScenarioError as e:
        raise InvalidRecipe(spec.source, "", str(e)) from None
    except SynprobeError as e:
        if isinstance(e, InvalidRecipe):
            raise
        raise InvalidRecipe(spec.source, "", str(e)) from None
    extra: dict[str, Any] = {}
    rec = {**stream.spec, "recipe": spec.to_dict(), "recipe_source": spec.source,
           "target": spec.target, "split_name": spec.split_name,
           "data": {"file": path.name, "sha256": file_sha256(path), "n_rows": int(table.n)}}
    names = table.categories.get(table.resolve(spec.target))
    if names is not None:  # what the class ids mean, for plots and reports (stream.classes order)
        classes = np.unique(stream.class_indices)
        rec["class_names"] = [str(names[int(c)]) if 0 <= c < len(names) else str(int(c)) for c in classes]
    if spec.kind == "domain_incremental":
        cats = table.categories.get(table.resolve(spec.domain, "attribute"))
        if cats is not None:
            rec["group_names"] = [[cats[int(v)] for v in g] for g in stream.spec.get("groups", [])]
    if spec.noise is not None:
        lt, lo, summary = _apply_noise(spec, stream, y_of_row, table, seed)
        extra.update(labels_true=lt, labels_observed=lo)
        rec["noise"] = summary
    return replace(stream, spec=rec, **extra)


def summarize(stream) -> dict:
    """Counts of a built stream for printing: tasks, classes, samples, eval sets, noise."""
    sizes = np.diff(stream.offsets)
    out = {"tasks": len(stream), "classes": int(len(np.unique(stream.class_indices))),
           "train_occurrences": int(len(stream.indices)), "distinct_train_rows": int(len(np.unique(stream.indices))),
           "val_rows": 0 if stream.val_indices is None else int(len(stream.val_indices)),
           "task_size": [int(sizes.min()), int(sizes.max())] if len(sizes) else [0, 0],
           "eval_sets": {k: int(len(v)) for k, v in stream.eval_sets.items()}}
    nz = stream.spec.get("noise")
    if nz:
        out["noise"] = {k: nz[k] for k in ("model", "rate", "n", "n_flipped") if k in nz}
    return out
