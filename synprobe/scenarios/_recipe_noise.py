"""A scenario recipe's ``[noise]`` table: its validation (:func:`check_noise`) and the noisy labels it gives
a built stream (:func:`noisy_stream_labels`).

The table names a model of :data:`synprobe.noise.MODELS` and that model's own arguments; a model that
reads the dataset's attribute columns (difficulty weights, features) or class ids (a class map) is
registered in :data:`RECIPE_NOISE` next to the functions that check its recipe keys and turn them
into the model's arguments. Models without an entry take their arguments as written.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from synprobe.errors import InvalidRecipe
from synprobe.noise import MODELS, NoiseError, apply_noise, difficulty
from synprobe.scenarios._kinds import TrainData
from synprobe.scenarios._recipe_checks import Ctx, quoted
from synprobe.scenarios.stream import Stream

if TYPE_CHECKING:
    from synprobe.scenarios._recipe_validate import ScenarioSpec

# noise-model arguments that build() fills in from the stream
NOISE_AUTO = {"labels", "n_classes", "seed", "scores", "features"}
# the model arguments given per training row (sliced per task with scope = "task")
PER_ROW = ("scores", "features")


class NoiseInputs(NamedTuple):
    """What a model's recipe keys are turned into arguments with."""

    attr: Callable[[str, str], np.ndarray]  # (attribute name, recipe field) -> float64 column per training row
    classes: np.ndarray  # the stream's class ids, sorted; the model sees their positions
    source: str  # the recipe's source, for one-line errors


def _no_check(ctx: Ctx, v: dict) -> None:
    """Models whose recipe keys are all their own arguments need no further check."""


def _as_written(nz: dict, inputs: NoiseInputs) -> None:
    """Models whose recipe keys are all their own arguments take them as written."""


@dataclass(frozen=True)
class RecipeNoise:
    """How a recipe's ``[noise]`` table feeds one model beyond its own arguments."""

    extra: tuple[str, ...] = ()  # recipe keys that are not arguments of the model
    check: Callable[[Ctx, dict], None] = _no_check  # one-line errors on those keys
    prepare: Callable[[dict, NoiseInputs], None] = _as_written  # recipe keys -> model arguments, in place


# model name -> RecipeNoise, for the models that read the dataset
RECIPE_NOISE: dict[str, RecipeNoise] = {}
PLAIN = RecipeNoise()


def recipe_noise(model: str, *, extra=(), check=_no_check, prepare=_as_written) -> None:
    """Register how a recipe's ``[noise]`` table feeds ``model`` (a key of :data:`synprobe.noise.MODELS`)."""
    RECIPE_NOISE[model] = RecipeNoise(tuple(extra), check, prepare)


# --------------------------------------------------------------------------- models that read the dataset


def check_weights(ctx: Ctx, v: dict) -> None:
    """``weights = {attribute = weight, ...}``: at least one, each a finite number."""
    if "weights" not in v:
        ctx.fail(
            "noise.weights",
            "missing; attribute_dependent needs {attribute = weight, ...} "
            "(e.g. {scale = -1.0}: small glyphs are hard)",
        )
    w = ctx.table("noise.weights", v["weights"])
    if not w:
        ctx.fail("noise.weights", "expected at least one {attribute = weight}")
    for k, x in w.items():
        ctx.num(f"noise.weights.{k}", x)


def scores_from_weights(nz: dict, inputs: NoiseInputs) -> None:
    """``weights`` -> ``scores``: the difficulty of each training row from its attribute columns."""
    w = nz.pop("weights")
    attrs = {k: inputs.attr(k, f"noise.weights.{k}") for k in w}
    try:
        nz["scores"] = difficulty(attrs, w)
    except NoiseError as e:
        raise InvalidRecipe(inputs.source, "noise.weights", str(e)) from None


recipe_noise("attribute_dependent", extra=("weights", "abs"), check=check_weights, prepare=scores_from_weights)


def check_features(ctx: Ctx, v: dict) -> None:
    """``features = ["attribute", ...]``: a non-empty list of names."""
    f = v.get("features")
    if not isinstance(f, list) or not f or not all(isinstance(x, str) for x in f):
        ctx.fail("noise.features", f"expected a non-empty list of attribute names, got {f!r}")


def standardised_features(nz: dict, inputs: NoiseInputs) -> None:
    """``features`` names -> the (rows, d) matrix of those columns, each standardised."""
    cols = [inputs.attr(k, "noise.features") for k in nz.pop("features")]
    x = np.stack(cols, 1)
    sd = x.std(0)
    nz["features"] = (x - x.mean(0)) / np.where(sd > 0, sd, 1.0)


recipe_noise("instance_dependent", extra=("features", "abs"), check=check_features, prepare=standardised_features)


def check_mapping(ctx: Ctx, v: dict) -> None:
    """``mapping = {"source class" = target class, ...}``: integer class ids."""
    m = ctx.table("noise.mapping", v["mapping"])
    for k, x in m.items():
        try:
            int(k)
        except ValueError:
            ctx.fail(f"noise.mapping.{k}", "keys must be class ids (integers as strings in TOML)")
        ctx.int(f"noise.mapping.{k}", x)


def mapping_positions(nz: dict, inputs: NoiseInputs) -> None:
    """The class map from class ids to positions among the stream's classes (both must be classes of it)."""
    classes = inputs.classes
    m = {}
    for k, v in nz["mapping"].items():
        a, b = np.searchsorted(classes, [int(k), int(v)])
        if classes[min(a, len(classes) - 1)] != int(k) or classes[min(b, len(classes) - 1)] != int(v):
            raise InvalidRecipe(
                inputs.source, f"noise.mapping.{k}", f"class {k} -> {v}: both must be classes of the stream"
            )
        m[int(a)] = int(b)
    nz["mapping"] = m


recipe_noise("asymmetric", check=check_mapping, prepare=mapping_positions)


# --------------------------------------------------------------------------- validation


def check_noise(ctx: Ctx, v) -> dict:
    """The ``[noise]`` table checked: a known model, its own arguments and the recipe keys it takes."""
    v = dict(ctx.table("noise", v))
    if "model" not in v:
        ctx.fail("noise.model", f"missing; expected one of {quoted(MODELS)}")
    model = ctx.str("noise.model", v["model"], list(MODELS))
    sig = inspect.signature(MODELS[model]).parameters
    entry = RECIPE_NOISE.get(model, PLAIN)
    allowed = ["model", "scope", *(p for p in sig if p not in NOISE_AUTO), *entry.extra]
    ctx.keys("noise", v, allowed)
    v["scope"] = ctx.str("noise.scope", v.get("scope", "row"), ["row", "task"])
    required = [q for q, par in sig.items() if q not in NOISE_AUTO and par.default is inspect.Parameter.empty]
    for p in required:
        if p not in v:
            ctx.fail(f"noise.{p}", f"missing; {model} needs {quoted(required)}")
    if "rate" in v:
        v["rate"] = ctx.num("noise.rate", v["rate"], lo=0, hi=1)
    for b in ("stratify", "exact"):
        if b in v and not isinstance(v[b], bool):
            ctx.fail(f"noise.{b}", f"expected true or false, got {v[b]!r}")
    for k in ("strength", "std"):
        if k in v:
            ctx.num(f"noise.{k}", v[k], lo=0)
    entry.check(ctx, v)
    if "abs" in v:
        a = v["abs"]
        if not isinstance(a, list) or not all(isinstance(x, str) for x in a):
            ctx.fail("noise.abs", f"expected a list of attribute names, got {a!r}")
    return v


# --------------------------------------------------------------------------- noisy labels of a stream


def noisy_stream_labels(spec: ScenarioSpec, stream: Stream, data: TrainData, seed: int):
    """Noisy labels of every distinct training row (one annotation per row, shared by all its
    occurrences), over the stream's classes. Returns (labels_true, labels_observed, summary)."""
    nz = dict(spec.noise)
    model = nz.pop("model")
    rows = np.unique(stream.indices)
    true = data.labels_of(rows)
    classes = np.unique(np.concatenate([true, stream.class_indices]))
    compact = np.searchsorted(classes, true)
    absolute = set(nz.pop("abs", []))

    def attr(name, where):
        v = data.column(name, rows, where).astype(np.float64)
        return np.abs(v) if name in absolute else v

    RECIPE_NOISE.get(model, PLAIN).prepare(nz, NoiseInputs(attr, classes, spec.source))
    scope = nz.pop("scope", "row")
    pos = np.searchsorted(rows, stream.indices)
    try:
        if scope == "row":  # one annotation per row, shared by every occurrence of the row
            noisy = apply_noise(model, compact, len(classes), seed=(seed, 1), **nz)
            obs, flipped, summary = classes[noisy.observed][pos], noisy.flipped[pos], noisy.summary()
        else:  # "task": each task's training labels are annotated anew; exact counts per task
            obs, flipped, summary = _noise_per_task(model, nz, stream, compact, pos, classes, seed)
    except NoiseError as e:
        raise InvalidRecipe(spec.source, "noise", str(e)) from None
    summary.update(
        scope=scope,
        stream_classes=classes.tolist(),
        n_occurrences=int(len(stream.indices)),
        n_occurrences_flipped=int(flipped.sum()),
    )
    return true[pos], obs, summary


def _noise_per_task(model, nz: dict, stream: Stream, compact: np.ndarray, pos: np.ndarray, classes, seed: int):
    """Each task's occurrences annotated anew with seed ``(seed, 1, task)``: (observed, flipped, summary).
    ``compact`` are the class positions of the distinct rows, ``pos`` each occurrence's row."""
    obs = np.empty(len(pos), np.int64)
    flipped = np.empty(len(pos), bool)
    per_row = {k: v for k, v in nz.items() if k in PER_ROW}
    for t in range(len(stream)):
        a, b = stream.offsets[t], stream.offsets[t + 1]
        kw: dict[str, Any] = dict(nz, **{k: v[pos[a:b]] for k, v in per_row.items()})
        nt = apply_noise(model, compact[pos[a:b]], len(classes), seed=(seed, 1, t), **kw)
        obs[a:b], flipped[a:b] = classes[nt.observed], nt.flipped
    summary = {
        "model": model,
        "rate": float(flipped.mean()) if len(flipped) else 0.0,
        "n_flipped": int(flipped.sum()),
        "params": {k: v for k, v in nz.items() if k not in per_row},
    }
    return obs, flipped, summary
