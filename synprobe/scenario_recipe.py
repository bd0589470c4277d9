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
"""

from __future__ import annotations

import difflib
import inspect
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synprobe.checksum import file_sha256
from synprobe.errors import InvalidRecipe, SynprobeError
from synprobe.paths import bundled

__all__ = ["KINDS", "ScenarioSpec", "build", "list_scenarios", "load_scenario", "scenario_from_dict"]

KINDS = ("recurring", "class_incremental", "instance_incremental", "domain_incremental", "drift")

# builder argument names that come from the data, never from the recipe
_DATA_ARGS = {"labels", "index", "domains", "values", "n", "seed", "law"}
# recipe-level fields (not builder arguments)
_TOP = ("name", "description", "kind", "target", "split_name", "law", "noise", "ood", "seed",
        "domain", "attribute", "n_groups")
# per-kind recipe conveniences that are not builder arguments
_EXTRA = {"class_incremental": ("n_classes",), "domain_incremental": ("domain", "n_groups"),
          "drift": ("attribute",)}
_REQUIRED = {"recurring": ("n_tasks",), "instance_incremental": ("n_tasks",), "drift": ("n_tasks", "attribute"),
             "domain_incremental": ("domain",), "class_incremental": ()}
# noise-model arguments that build() fills in from the stream
_NOISE_AUTO = {"labels", "n_classes", "seed", "scores", "features"}
# recipe-level noise keys per model (turned into the model's arguments by build())
_NOISE_EXTRA = {"attribute_dependent": ("weights", "abs"), "instance_dependent": ("features", "abs")}


@dataclass(frozen=True)
class ScenarioSpec:
    """A validated scenario recipe.

    Attributes:
        name, description: from the file (name defaults to the file stem).
        kind: one of :data:`KINDS`.
        target: label column of the dataset (``load(..., target=)``).
        split_name: the file's split whose train part the stream uses and whose test part is ``iid``.
        params: builder keyword arguments (``n_tasks``, ``classes_per_task``, ...).
        law: class-occurrence law spec for ``recurring`` (``law_from_spec`` input), else None.
        domain: attribute column whose values form the domains (``domain_incremental``).
        n_groups: split the domain values into this many seeded groups (``domain_incremental``).
        attribute: numeric attribute column that drifts (``drift``).
        n_classes: seeded class subset for ``class_incremental`` (passed as ``class_order``).
        noise: ``{"model": ..., "rate": ..., ...}`` applied to the training labels, or None.
        ood: names of the file's other splits used as OOD eval sets (None: all others).
        seed: default seed of every random choice.
        source: where the recipe came from (file path or ``<recipe>``).
    """

    name: str
    kind: str
    description: str = ""
    target: str = "char"
    split_name: str = "random"
    params: dict = field(default_factory=dict)
    law: dict | None = None
    domain: str | None = None
    n_groups: int | None = None
    attribute: str | None = None
    n_classes: int | None = None
    noise: dict | None = None
    ood: tuple | None = None
    seed: int = 0
    source: str = "<recipe>"

    def to_dict(self) -> dict:
        """The recipe as a TOML/JSON-able dict (round-trips through :func:`scenario_from_dict`)."""
        d: dict[str, Any] = {"name": self.name, "description": self.description, "kind": self.kind,
                             "target": self.target, "split_name": self.split_name, **self.params}
        for k in ("law", "domain", "n_groups", "attribute", "n_classes", "noise"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        if self.ood is not None:
            d["ood"] = list(self.ood)
        d["seed"] = self.seed
        return d


# --------------------------------------------------------------------------- validation


def _allowed(names) -> str:
    return ", ".join(repr(n) for n in names)


def _hint(key, allowed) -> str:
    near = difflib.get_close_matches(str(key), [str(a) for a in allowed], n=1)
    return f" (did you mean {near[0]!r}?)" if near else ""


class _Ctx:
    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, msg: str):
        raise InvalidRecipe(self.source, path, msg)

    def int(self, path, v, lo=0) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(path, f"expected an integer >= {lo}, got {v!r}")
        if v < lo:
            self.fail(path, f"{v!r} is out of range; expected an integer >= {lo}")
        return int(v)

    def num(self, path, v, lo=-math.inf, hi=math.inf, hi_open=False) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.fail(path, f"expected a finite number, got {v!r}")
        if v < lo or v > hi or (hi_open and v == hi):
            self.fail(path, f"{v!r} is out of range; allowed from {lo} to {hi}{' (excluded)' if hi_open else ''}")
        return float(v)

    def str(self, path, v, allowed=None) -> str:
        if not isinstance(v, str):
            self.fail(path, f"expected a string, got {v!r}")
        if allowed is not None and v not in allowed:
            self.fail(path, f"unknown {v!r}{_hint(v, allowed)}; expected one of {_allowed(allowed)}")
        return v

    def table(self, path, v) -> dict:
        if not isinstance(v, dict):
            self.fail(path, f"expected a table, got {v!r}")
        return v

    def keys(self, path, d, allowed) -> None:
        for k in d:
            if k not in allowed:
                p = f"{path}.{k}" if path else k
                self.fail(p, f"unknown field{_hint(k, allowed)}; expected one of {_allowed(allowed)}")


def _builders() -> dict:
    from synprobe.scenarios import builders as b

    return {k: getattr(b, k) for k in KINDS}


def builder_params(kind: str) -> list[str]:
    """Recipe-settable keyword names of the builder of ``kind`` (its signature minus data args)."""
    sig = inspect.signature(_builders()[kind])
    return [p for p in sig.parameters if p not in _DATA_ARGS]


def _check_param(ctx: _Ctx, k: str, v):
    """Type checks of the builders' common arguments; the builder checks the rest at build time."""
    if k in ("n_tasks", "classes_per_task", "n_classes", "samples_per_class", "samples_per_task"):
        return None if v is None else ctx.int(k, v, lo=1)
    if k == "initial_increment":
        return ctx.int(k, v, lo=0)
    if k == "val_fraction":
        return ctx.num(k, v, lo=0, hi=1, hi_open=True)
    if k == "window":
        if ctx.num(k, v, lo=0, hi=1) == 0:
            ctx.fail(k, "0 is out of range; expected a fraction in (0, 1]")
        return float(v)
    if k == "periods":
        return ctx.num(k, v, lo=0)
    if k == "schedule":
        from synprobe.scenarios.builders import SCHEDULES

        return ctx.str(k, v, SCHEDULES)
    if k == "increment":
        if isinstance(v, list):
            return [ctx.int(f"{k}[{i}]", x, lo=1) for i, x in enumerate(v)]
        return ctx.int(k, v, lo=1)
    if k in ("classes", "class_order"):
        if not isinstance(v, list) or not v:
            ctx.fail(k, f"expected a non-empty list of class ids, got {v!r}")
        return [ctx.int(f"{k}[{i}]", x) for i, x in enumerate(v)]
    if k == "recurrence":
        if isinstance(v, list):
            return [ctx.int(f"{k}[{i}]", x) for i, x in enumerate(v)]
        return ctx.int(k, v, lo=1)
    if k == "groups":
        if not isinstance(v, list) or not all(isinstance(g, list) and g for g in v):
            ctx.fail(k, "expected a list of non-empty lists of domain values")
        return v
    return v


def _law(ctx: _Ctx, v) -> dict:
    from synprobe.scenarios._common import ScenarioError
    from synprobe.scenarios.laws import _BY_NAME, law_from_spec

    if isinstance(v, str):
        v = {"name": v}
    v = dict(ctx.table("law", v))
    if "name" not in v:
        ctx.fail("law.name", f"missing; expected one of {_allowed(_BY_NAME)}")
    ctx.str("law.name", v["name"], list(_BY_NAME))
    cls = _BY_NAME[v["name"]]
    allowed = ["name", *inspect.signature(cls).parameters]
    ctx.keys("law", v, allowed)
    if isinstance(v.get("base"), str):
        v["base"] = {"name": v["base"]}
    try:
        law_from_spec(v)
    except ScenarioError as e:
        ctx.fail("law", str(e))
    return v


def _noise(ctx: _Ctx, v) -> dict:
    from synprobe.noise import MODELS

    v = dict(ctx.table("noise", v))
    if "model" not in v:
        ctx.fail("noise.model", f"missing; expected one of {_allowed(MODELS)}")
    model = ctx.str("noise.model", v["model"], list(MODELS))
    sig = inspect.signature(MODELS[model]).parameters
    extra = _NOISE_EXTRA.get(model, ())
    allowed = ["model", "scope", *(p for p in sig if p not in _NOISE_AUTO), *extra]
    ctx.keys("noise", v, allowed)
    v["scope"] = ctx.str("noise.scope", v.get("scope", "row"), ["row", "task"])
    required = [q for q, par in sig.items() if q not in _NOISE_AUTO and par.default is inspect.Parameter.empty]
    for p in required:
        if p not in v:
            ctx.fail(f"noise.{p}", f"missing; {model} needs {_allowed(required)}")
    if "rate" in v:
        v["rate"] = ctx.num("noise.rate", v["rate"], lo=0, hi=1)
    for b in ("stratify", "exact"):
        if b in v and not isinstance(v[b], bool):
            ctx.fail(f"noise.{b}", f"expected true or false, got {v[b]!r}")
    for k in ("strength", "std"):
        if k in v:
            ctx.num(f"noise.{k}", v[k], lo=0)
    if model == "attribute_dependent":
        if "weights" not in v:
            ctx.fail("noise.weights", "missing; attribute_dependent needs {attribute = weight, ...} "
                                      "(e.g. {scale = -1.0}: small glyphs are hard)")
        w = ctx.table("noise.weights", v["weights"])
        if not w:
            ctx.fail("noise.weights", "expected at least one {attribute = weight}")
        for k, x in w.items():
            ctx.num(f"noise.weights.{k}", x)
    if model == "instance_dependent":
        f = v.get("features")
        if not isinstance(f, list) or not f or not all(isinstance(x, str) for x in f):
            ctx.fail("noise.features", f"expected a non-empty list of attribute names, got {f!r}")
    if "abs" in v:
        a = v["abs"]
        if not isinstance(a, list) or not all(isinstance(x, str) for x in a):
            ctx.fail("noise.abs", f"expected a list of attribute names, got {a!r}")
    if model == "asymmetric":
        m = ctx.table("noise.mapping", v["mapping"])
        for k, x in m.items():
            try:
                int(k)
            except ValueError:
                ctx.fail(f"noise.mapping.{k}", "keys must be class ids (integers as strings in TOML)")
            ctx.int(f"noise.mapping.{k}", x)
    return v


def scenario_from_dict(d: dict, source: str = "<recipe>") -> ScenarioSpec:
    """Validate a scenario recipe given as a dict (parsed TOML)."""
    ctx = _Ctx(source)
    d = dict(ctx.table("", d))
    if "kind" not in d:
        ctx.fail("kind", f"missing; expected one of {_allowed(KINDS)}")
    kind = ctx.str("kind", d["kind"], KINDS)
    params_names = builder_params(kind)
    allowed = list(dict.fromkeys([*_TOP[:6], *params_names, *_EXTRA.get(kind, ()), "noise", "ood", "seed"]))
    if kind != "recurring":
        allowed.remove("law")
    ctx.keys("", d, allowed)
    for k in _REQUIRED[kind]:
        if k not in d:
            ctx.fail(k, f"missing; a {kind} scenario needs {_allowed(_REQUIRED[kind])}")
    kw: dict[str, Any] = {"kind": kind, "source": source}
    for k in ("name", "description", "target", "split_name"):
        if k in d:
            kw[k] = ctx.str(k, d[k])
    kw.setdefault("name", "custom")
    kw["params"] = {k: _check_param(ctx, k, d[k]) for k in params_names if k in d}
    if kind == "recurring":
        kw["law"] = _law(ctx, d.get("law", "uniform"))
        cpt = kw["params"].get("classes_per_task")
        if kw["law"]["name"] == "cir" and cpt is not None:
            ctx.fail("classes_per_task", "the cir law gives tasks varying numbers of classes; leave it out")
        if kw["law"]["name"] != "cir" and cpt is None:
            ctx.fail("classes_per_task", f"missing; the {kw['law']['name']!r} law needs an integer >= 1")
    for k in ("domain", "attribute"):
        if k in d:
            kw[k] = ctx.str(k, d[k])
    if "n_groups" in d:
        kw["n_groups"] = ctx.int("n_groups", d["n_groups"], lo=1)
        if "groups" in d:
            ctx.fail("n_groups", "give groups or n_groups, not both")
    if kind == "class_incremental" and "n_classes" in d:
        kw["n_classes"] = ctx.int("n_classes", d["n_classes"], lo=1)
        if "class_order" in d:
            ctx.fail("n_classes", "give class_order or n_classes, not both")
    if "noise" in d:
        kw["noise"] = _noise(ctx, d["noise"])
    if "ood" in d:
        o = d["ood"]
        if not isinstance(o, list) or not all(isinstance(x, str) for x in o):
            ctx.fail("ood", f"expected a list of split names, got {o!r}")
        kw["ood"] = tuple(o)
    if "seed" in d:
        kw["seed"] = ctx.int("seed", d["seed"])
    return ScenarioSpec(**kw)


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
        data = tomllib.loads(p.read_text(encoding="utf-8"))
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
