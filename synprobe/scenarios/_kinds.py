"""The scenario kinds a recipe may name, each registered by name next to how a recipe calls it: its stream
builder, the recipe fields it requires, its recipe-only conveniences (``n_classes``, ``domain``,
``n_groups``, ``attribute``) and what it records about the file. Also :class:`TrainData`, the train part
of a dataset file as the kinds and the recipe's ``[noise]`` read it.

:data:`KINDS_BY_NAME` is filled in the order the kinds are defined here, which is the order of
``synprobe.scenarios.recipe.KINDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from synprobe.errors import InvalidRecipe
from synprobe.load import LoadError
from synprobe.rng import rng_for
from synprobe.scenarios._common import ScenarioError
from synprobe.scenarios.builders import (
    class_incremental,
    domain_incremental,
    drift,
    instance_incremental,
    recurring,
)
from synprobe.scenarios.stream import Stream

if TYPE_CHECKING:
    from synprobe.scenarios._recipe_validate import ScenarioSpec


@dataclass(frozen=True)
class TrainData:
    """The rows a recipe's stream may train on, and the file's attribute table."""

    y: np.ndarray  # labels of the train rows
    idx: np.ndarray  # their row numbers in the file
    table: Any  # the file's attribute table (synprobe.load.read_table)
    source: str  # the recipe's source, for one-line errors

    def column(self, name: str, rows: np.ndarray, where: str) -> np.ndarray:
        """Attribute ``name`` at file rows ``rows`` (its first slot); an unknown name is an error at ``where``."""
        try:
            col = self.table.resolve(name, "attribute")
        except LoadError as e:
            raise InvalidRecipe(self.source, where, str(e)) from None
        return self.table.first(col)[rows]

    def labels_of(self, rows: np.ndarray) -> np.ndarray:
        """The labels of file rows ``rows`` (each one a train row)."""
        order = np.argsort(self.idx, kind="stable")
        return self.y[order[np.searchsorted(self.idx, rows, sorter=order)]]


@dataclass(frozen=True)
class Kind:
    """How a scenario recipe of one kind becomes a stream."""

    builder: Callable[..., Stream]  # the stream builder; its keyword names are the recipe's parameters
    make: Callable[[ScenarioSpec, TrainData, dict], Stream]  # (recipe, train data, builder kwargs) -> stream
    required: tuple[str, ...] = ()  # recipe fields the kind needs
    extra: tuple[str, ...] = ()  # recipe fields of the kind that are not builder arguments
    record: Callable[[ScenarioSpec, TrainData, Stream], dict] | None = None  # extra fields of stream.spec


# kind name (a recipe's ``kind``, the builder's name) -> Kind, in definition order
KINDS_BY_NAME: dict[str, Kind] = {}


def scenario_kind(builder: Callable[..., Stream], *, required=(), extra=(), record=None):
    """Register the decorated ``make(spec, data, kw)`` as the recipe kind named like ``builder``."""

    def register(make):
        KINDS_BY_NAME[builder.__name__] = Kind(builder, make, tuple(required), tuple(extra), record)
        return make

    return register


@scenario_kind(recurring, required=("n_tasks",))
def make_recurring(spec: ScenarioSpec, data: TrainData, kw: dict) -> Stream:
    """Recurring tasks whose classes follow the recipe's ``[law]``."""
    return recurring(data.y, data.idx, law=spec.law, **kw)


@scenario_kind(class_incremental, extra=("n_classes",))
def make_class_incremental(spec: ScenarioSpec, data: TrainData, kw: dict) -> Stream:
    """Class-incremental tasks; ``n_classes`` picks a seeded subset of the classes as the class order."""
    if spec.n_classes is not None:
        present = np.unique(data.y[data.y >= 0])
        if spec.n_classes > len(present):
            raise InvalidRecipe(
                spec.source, "n_classes", f"{spec.n_classes} exceeds the {len(present)} classes of the train part"
            )
        rng = rng_for(spec.seed, "scenario/classes", ScenarioError)
        kw["class_order"] = rng.choice(present, spec.n_classes, replace=False).tolist()
    return class_incremental(data.y, data.idx, **kw)


@scenario_kind(instance_incremental, required=("n_tasks",))
def make_instance_incremental(spec: ScenarioSpec, data: TrainData, kw: dict) -> Stream:
    """Tasks of fresh samples of every class."""
    return instance_incremental(len(data.y), kw.pop("n_tasks"), labels=data.y, index=data.idx, **kw)


def record_group_names(spec: ScenarioSpec, data: TrainData, stream: Stream) -> dict:
    """What the domain values of each group are called, when the domain column is categorical."""
    cats = data.table.categories.get(data.table.resolve(spec.domain, "attribute"))
    if cats is None:
        return {}
    return {"group_names": [[cats[int(v)] for v in g] for g in stream.spec.get("groups", [])]}


@scenario_kind(domain_incremental, required=("domain",), extra=("domain", "n_groups"), record=record_group_names)
def make_domain_incremental(spec: ScenarioSpec, data: TrainData, kw: dict) -> Stream:
    """One task per group of values of the ``domain`` column; ``n_groups`` splits the values into seeded groups."""
    dom = data.column(spec.domain, data.idx, "domain")
    if spec.n_groups is not None:
        vals = rng_for(spec.seed, "scenario/domain_groups", ScenarioError).permutation(np.unique(dom))
        if spec.n_groups > len(vals):
            raise InvalidRecipe(
                spec.source,
                "n_groups",
                f"{spec.n_groups} exceeds the {len(vals)} values of {spec.domain!r} in the train part",
            )
        kw["groups"] = [sorted(g.tolist()) for g in np.array_split(vals, spec.n_groups)]
    return domain_incremental(data.y, dom, data.idx, **kw)


@scenario_kind(drift, required=("n_tasks", "attribute"), extra=("attribute",))
def make_drift(spec: ScenarioSpec, data: TrainData, kw: dict) -> Stream:
    """Tasks whose samples follow a window moving over the numeric ``attribute`` column."""
    vals = data.column(spec.attribute, data.idx, "attribute")
    if vals.dtype.kind not in "fiu" or spec.attribute in data.table.categories:
        raise InvalidRecipe(spec.source, "attribute", f"{spec.attribute!r} is not a numeric attribute")
    return drift(vals, kw.pop("n_tasks"), labels=data.y, index=data.idx, **kw)
