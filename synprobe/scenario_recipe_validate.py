"""The :class:`ScenarioSpec` of a scenario recipe and its validation from a dict (parsed TOML).

Holds :data:`KINDS`, the recipe's field tables, :class:`ScenarioSpec`, the one-line error checks
(``_Ctx``, ``did you mean`` hints), the ``[law]`` and ``[noise]`` table checks and
:func:`scenario_from_dict`. Files and building live in :mod:`synprobe.scenario_recipe`; import
everything from there.
"""

from __future__ import annotations

import difflib
import inspect
import math
from dataclasses import dataclass, field
from typing import Any

from synprobe.errors import InvalidRecipe

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
