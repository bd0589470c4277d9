"""The :class:`ScenarioSpec` of a scenario recipe and its validation from a dict (parsed TOML).

Holds :data:`KINDS` (the kinds registered in ``_kinds.py``), the recipe's top-level fields,
:class:`ScenarioSpec`, the builder-parameter and ``[law]`` checks and :func:`scenario_from_dict`; the
``[noise]`` table is checked in ``_recipe_noise.py``. Files and building live in
:mod:`synprobe.scenarios.recipe`; import everything from there.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from synprobe.scenarios._common import ScenarioError
from synprobe.scenarios._kinds import KINDS_BY_NAME
from synprobe.scenarios._recipe_checks import Ctx, quoted
from synprobe.scenarios._recipe_noise import check_noise
from synprobe.scenarios.builders import SCHEDULES
from synprobe.scenarios.laws import LAWS, law_from_spec

# the kinds a recipe may name, in the order they are registered
KINDS = tuple(KINDS_BY_NAME)

# builder argument names that come from the data, never from the recipe
_DATA_ARGS = {"labels", "index", "domains", "values", "n", "seed", "law"}
# recipe-level fields (not builder arguments)
_TOP = (
    "name",
    "description",
    "kind",
    "target",
    "split_name",
    "law",
    "noise",
    "ood",
    "seed",
    "domain",
    "attribute",
    "n_groups",
)


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
        ood: names of the file's other splits held out of training and used as OOD eval sets (None:
            the splits ``synprobe generate`` writes, other than ``split_name``; a split added to the
            file later is held out only when named here).
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
        d: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "kind": self.kind,
            "target": self.target,
            "split_name": self.split_name,
            **self.params,
        }
        for k in ("law", "domain", "n_groups", "attribute", "n_classes", "noise"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        if self.ood is not None:
            d["ood"] = list(self.ood)
        d["seed"] = self.seed
        return d


# --------------------------------------------------------------------------- validation


def builder_params(kind: str) -> list[str]:
    """Recipe-settable keyword names of the builder of ``kind`` (its signature minus data args)."""
    sig = inspect.signature(KINDS_BY_NAME[kind].builder)
    return [p for p in sig.parameters if p not in _DATA_ARGS]


def check_param(ctx: Ctx, k: str, v):
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


def check_law(ctx: Ctx, v) -> dict:
    if isinstance(v, str):
        v = {"name": v}
    v = dict(ctx.table("law", v))
    if "name" not in v:
        ctx.fail("law.name", f"missing; expected one of {quoted(LAWS)}")
    ctx.str("law.name", v["name"], list(LAWS))
    cls = LAWS[v["name"]]
    allowed = ["name", *inspect.signature(cls).parameters]
    ctx.keys("law", v, allowed)
    if isinstance(v.get("base"), str):
        v["base"] = {"name": v["base"]}
    try:
        law_from_spec(v)
    except ScenarioError as e:
        ctx.fail("law", str(e))
    return v


def scenario_from_dict(d: dict, source: str = "<recipe>") -> ScenarioSpec:
    """Validate a scenario recipe given as a dict (parsed TOML)."""
    ctx = Ctx(source)
    d = dict(ctx.table("", d))
    if "kind" not in d:
        ctx.fail("kind", f"missing; expected one of {quoted(KINDS)}")
    kind = ctx.str("kind", d["kind"], KINDS)
    params_names = builder_params(kind)
    allowed = list(dict.fromkeys([*_TOP[:6], *params_names, *KINDS_BY_NAME[kind].extra, "noise", "ood", "seed"]))
    if kind != "recurring":
        allowed.remove("law")
    ctx.keys("", d, allowed)
    for k in KINDS_BY_NAME[kind].required:
        if k not in d:
            ctx.fail(k, f"missing; a {kind} scenario needs {quoted(KINDS_BY_NAME[kind].required)}")
    kw: dict[str, Any] = {"kind": kind, "source": source}
    for k in ("name", "description", "target", "split_name"):
        if k in d:
            kw[k] = ctx.str(k, d[k])
    kw.setdefault("name", "custom")
    kw["params"] = {k: check_param(ctx, k, d[k]) for k in params_names if k in d}
    if kind == "recurring":
        kw["law"] = check_law(ctx, d.get("law", "uniform"))
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
        kw["noise"] = check_noise(ctx, d["noise"])
    if "ood" in d:
        o = d["ood"]
        if not isinstance(o, list) or not all(isinstance(x, str) for x in o):
            ctx.fail("ood", f"expected a list of split names, got {o!r}")
        kw["ood"] = tuple(o)
    if "seed" in d:
        kw["seed"] = ctx.int("seed", d["seed"])
    return ScenarioSpec(**kw)
