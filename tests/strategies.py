"""Hypothesis strategies for synprobe's domain objects (recipes, distributions, bad recipes).

Plural nouns, keyword-only bounds; built with ``st.builds`` and ``@st.composite``:

    >>> from strategies import recipe_dicts      # tests/ is on sys.path under pytest
    >>> recipe_dicts().example()                      # doctest: +SKIP
    {'resolution': [17, 40], 'n_symbols': 2, ...}
"""

from __future__ import annotations

import math
from typing import NamedTuple

from hypothesis import strategies as st

from synprobe.dists import DISTS, Choice, Const, Dist, LogNormal, Normal, Uniform
from synprobe.recipe import OCCLUDER_KINDS, PATTERN_KINDS
from synprobe.scripts import SCRIPTS

# Pattern kinds that render without external files (``image`` needs a picture folder).
RENDERABLE_PATTERNS = ("solid", "linear", "radial", "multigradient", "noise", "camouflage")
# Scripts whose bundled fonts are quick to pick from in property tests.
SMALL_SCRIPTS = ("latin", "greek", "cyrillic")


def _finite(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def dists(draw, *, min_value: float = -3.0, max_value: float = 3.0, positive: bool = False) -> Dist:
    """Valid distributions for a numeric field whose support must lie in [min_value, max_value].

    Args:
        min_value, max_value: bounds of the field (finite).
        positive: the field needs strictly positive values (scales).
    """
    lo = max(min_value, 1e-3) if positive else min_value
    hi = max_value
    kinds = ["const", "uniform", "normal", "choice"] + (["lognormal"] if positive and hi == math.inf else [])
    kind = draw(st.sampled_from(kinds))
    hi_f = hi if math.isfinite(hi) else lo + 10.0
    if kind == "const":
        return Const(draw(_finite(lo, hi_f)))
    if kind == "uniform":
        a, b = sorted(draw(st.tuples(_finite(lo, hi_f), _finite(lo, hi_f))))
        return Uniform(a, b)
    if kind == "normal":
        a, b = sorted(draw(st.tuples(_finite(lo, hi_f), _finite(lo, hi_f))))
        mean = draw(_finite(a, b))
        std = draw(_finite(0.0, max(b - a, 1e-3)))
        return Normal(mean, std, a, b)
    if kind == "lognormal":
        return LogNormal(draw(_finite(max(lo, 0.05), 2.0)), draw(_finite(0.0, 0.5)))
    values = draw(st.lists(_finite(lo, hi_f), min_size=1, max_size=4, unique=True))
    weights = draw(st.none() | st.lists(_finite(0.1, 5.0), min_size=len(values), max_size=len(values)))
    return Choice(tuple(values), None if weights is None else tuple(weights))


def _as_toml(d: Dist):
    """The TOML/dict form of a distribution (a constant is its bare value)."""
    return d.to_dict()


@st.composite
def bool_dists(draw):
    """A bool field: constant or Bernoulli (TOML form)."""
    if draw(st.booleans()):
        return draw(st.booleans())
    return {"dist": "bernoulli", "p": draw(_finite(0.0, 1.0))}


@st.composite
def kind_dists(draw, *, kinds: tuple[str, ...]):
    """A categorical field over ``kinds``: constant or choice (TOML form)."""
    vals = draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=len(kinds), unique=True))
    if len(vals) == 1 and draw(st.booleans()):
        return vals[0]
    return {"dist": "choice", "values": vals}


@st.composite
def int_dists(draw, *, min_value: int, max_value: int):
    """An integer field: constant or randint (TOML form)."""
    if draw(st.booleans()):
        return draw(st.integers(min_value, max_value))
    a, b = sorted(draw(st.tuples(st.integers(min_value, max_value), st.integers(min_value, max_value))))
    return {"dist": "randint", "low": a, "high": b}


@st.composite
def pattern_dicts(draw, *, kinds: tuple[str, ...] = RENDERABLE_PATTERNS):
    """A ``[background]`` / ``foreground`` table with small camouflage stroke counts."""
    d = {"kind": draw(kind_dists(kinds=kinds))}
    if draw(st.booleans()):
        d["color"] = draw(st.lists(_finite(0.0, 1.0), min_size=3, max_size=3))
    if draw(st.booleans()):
        d["n_strokes"] = draw(st.integers(1, 30))
    else:
        d["n_strokes"] = 10  # keep camouflage cheap (default 500)
    if draw(st.booleans()):
        d["n_gradients"] = draw(st.integers(1, 3))
        d["alpha"] = draw(_finite(0.0, 1.0))
    if draw(st.booleans()):
        d["octaves"] = draw(st.integers(1, 3))
        d["base_cells"] = draw(st.integers(1, 8))
    if draw(st.booleans()):
        d["stroke_angle"] = _as_toml(draw(dists(min_value=-math.pi, max_value=math.pi)))
    return d


@st.composite
def resolutions(draw, *, min_side: int = 8, max_side: int = 64):
    """An int (square) or [height, width]."""
    if draw(st.booleans()):
        return draw(st.integers(min_side, max_side))
    return [draw(st.integers(min_side, max_side)), draw(st.integers(min_side, max_side))]


@st.composite
def recipe_dicts(
    draw,
    *,
    max_side: int = 64,
    max_symbols: int = 4,
    max_occluders: int = 2,
    pattern_kinds: tuple[str, ...] = RENDERABLE_PATTERNS,
    occluder_kinds: tuple[str, ...] = OCCLUDER_KINDS,
) -> dict:
    """Valid recipe dicts (the parsed-TOML form), small enough to render quickly."""
    d: dict = {"name": "hyp", "resolution": draw(resolutions(max_side=max_side))}
    d["n_symbols"] = draw(int_dists(min_value=1, max_value=max_symbols))
    d["inverse_color"] = draw(bool_dists())
    d["pixel_noise"] = _as_toml(draw(dists(min_value=0.0, max_value=0.1)))
    for k in ("gray", "masks", "max_contrast"):
        d[k] = draw(st.booleans())
    d["background"] = draw(pattern_dicts(kinds=pattern_kinds))
    sym: dict = {
        "script": draw(kind_dists(kinds=SMALL_SCRIPTS)),
        "bold": draw(bool_dists()),
        "slant": _as_toml(draw(dists(min_value=-0.5, max_value=0.5))),
        "rotation": _as_toml(draw(dists(min_value=-math.pi, max_value=math.pi))),
        "scale": _as_toml(draw(dists(min_value=0.1, max_value=1.2, positive=True))),
        "translation_x": _as_toml(draw(dists(min_value=-1.0, max_value=1.0))),
        "translation_y": _as_toml(draw(dists(min_value=-1.0, max_value=1.0))),
        "foreground": draw(pattern_dicts(kinds=pattern_kinds)),
    }
    if draw(st.integers(0, 4)) == 0:  # explicit characters instead of a script
        del sym["script"]
        sym["char"] = "".join(draw(st.lists(st.sampled_from("abcXYZ"), min_size=1, max_size=4, unique=True)))
    d["symbol"] = sym
    occ = {
        "count": draw(int_dists(min_value=0, max_value=max_occluders)),
        "kind": draw(kind_dists(kinds=occluder_kinds)),
        "scale": _as_toml(draw(dists(min_value=0.1, max_value=0.6, positive=True))),
        "rotation": _as_toml(draw(dists(min_value=0.0, max_value=2 * math.pi))),
        "foreground": draw(pattern_dicts(kinds=pattern_kinds)),
    }
    d["occlusion"] = occ
    return d


class BadRecipe(NamedTuple):
    """A recipe dict with one invalid field.

    Attributes:
        data: the recipe dict.
        path: the field path the error must name.
        expect: substrings the error message must contain (allowed values for enums).
    """

    data: dict
    path: str
    expect: tuple[str, ...] = ()


def _allowed(names) -> tuple[str, ...]:
    return ("expected one of",) + tuple(repr(n) for n in names)


def _set(d: dict, path: str, value) -> dict:
    """Copy of ``d`` with the dotted ``path`` set to ``value``."""
    import copy

    d = copy.deepcopy(d)
    *parents, last = path.split(".")
    node = d
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value
    return d


_MUTATIONS: tuple[tuple[str, object, str, tuple[str, ...]], ...] = (
    # (field to set, bad value, path the error names, substrings of the message)
    ("resolutoin", 32, "resolutoin", ("unknown field", "'resolution'")),
    ("symbol.rotatoin", 0.1, "symbol.rotatoin", ("unknown field", "'rotation'")),
    ("background.colour", [0, 0, 0], "background.colour", ("unknown field", "'color'")),
    ("resolution", "32", "resolution", ()),
    ("resolution", 4, "resolution[0]", ("out of range",)),
    ("resolution", [32, 300], "resolution[1]", ("out of range",)),
    ("gray", "yes", "gray", ("true or false",)),
    ("masks", 1, "masks", ("true or false",)),
    ("symbol", 3, "symbol", ("expected a table",)),
    ("n_symbols", 1.5, "n_symbols", ("integer",)),
    ("n_symbols", 0, "n_symbols", ("out of range",)),
    ("n_symbols", 100, "n_symbols", ("out of range",)),
    ("occlusion.count", 50, "occlusion.count", ("out of range",)),
    ("occlusion.count", {"dist": "uniform", "low": 0, "high": 2}, "occlusion.count", ("integers",)),
    ("pixel_noise", 2.0, "pixel_noise", ("out of range",)),
    ("pixel_noise", {"dist": "normal", "mean": 0.0, "std": 0.1}, "pixel_noise", ("allowed range",)),
    ("background.alpha", 1.5, "background.alpha", ("out of range",)),
    ("symbol.foreground.n_strokes", 0, "symbol.foreground.n_strokes", ("out of range",)),
    ("symbol.slant", 2.0, "symbol.slant", ("out of range",)),
    ("symbol.scale", -1.0, "symbol.scale", ("out of range",)),
    ("symbol.rotation", True, "symbol.rotation", ("finite number",)),
    ("symbol.rotation", float("nan"), "symbol.rotation", ("finite number",)),
    ("symbol.bold", 1, "symbol.bold", ("true or false",)),
    ("inverse_color", 0.5, "inverse_color", ("true or false",)),
    ("background.kind", "gradiant", "background.kind", _allowed(PATTERN_KINDS)),
    ("symbol.foreground.kind", {"dist": "choice", "values": ["solid", "stripes"]},
     "symbol.foreground.kind.values[1]", _allowed(PATTERN_KINDS)),
    ("occlusion.kind", "hexagon", "occlusion.kind", _allowed(OCCLUDER_KINDS)),
    ("symbol.script", "klingon", "symbol.script", _allowed(SCRIPTS)),
    ("symbol.rotation", {"dist": "unifrom", "low": 0.0, "high": 1.0}, "symbol.rotation.dist", _allowed(DISTS)),
    ("symbol.rotation", {"dist": "gaussian", "mean": 0.0}, "symbol.rotation.dist", _allowed(DISTS)),
    ("symbol.rotation", {"dist": "normal", "mean": 0.0, "sd": 1.0}, "symbol.rotation.sd", ("unknown field",)),
    ("symbol.rotation", {"dist": "normal", "mean": 0.0, "std": -0.3}, "symbol.rotation.std", ("out of range",)),
    ("symbol.rotation", {"dist": "uniform", "low": 0.0}, "symbol.rotation.high", ("missing",)),
    ("symbol.rotation", {"dist": "uniform", "low": 1.0, "high": 0.0}, "symbol.rotation.high", ("below",)),
    ("symbol.rotation", {"dist": "choice", "values": []}, "symbol.rotation.values", ("non-empty",)),
    ("symbol.rotation", {"dist": "choice", "values": [0.0, 0.1], "weights": [1.0]},
     "symbol.rotation.weights", ("2",)),
    ("symbol.rotation", {"dist": "choice", "values": [0.0, 0.1], "weights": [0, 0]},
     "symbol.rotation.weights", ("zero",)),
    ("symbol.scale", {"dist": "lognormal", "median": 0.5, "sigma": -0.1}, "symbol.scale.sigma", ("out of range",)),
    ("symbol.bold", {"dist": "bernoulli", "p": 1.5}, "symbol.bold.p", ("out of range",)),
    ("symbol.bold", {"dist": "uniform", "low": 0.0, "high": 1.0}, "symbol.bold", ("not allowed",)),
    ("n_symbols", {"dist": "randint", "low": 1.5, "high": 3}, "n_symbols.low", ("integer",)),
    ("symbol.foreground.color", [1.0, 0.0], "symbol.foreground.color", ("[r, g, b]",)),
    ("symbol.foreground.color", [1.0, 2.0, 0.0], "symbol.foreground.color[1]", ("out of range",)),
    ("background.kind", "image", "background.image_dir", ("required",)),
    ("symbol.font", "no-such-font", "symbol.font", ("unknown font",)),
    ("symbol.char", "ab\u0001", "symbol.char.values[2]", ("no selected font",)),
)


@st.composite
def bad_recipe_dicts(draw, *, base: st.SearchStrategy[dict] | None = None) -> BadRecipe:
    """A valid recipe dict with exactly one field made invalid, and where the error must point."""
    d = draw(base if base is not None else recipe_dicts())
    field, value, path, expect = draw(st.sampled_from(_MUTATIONS))
    if field.startswith("symbol.") and "symbol" in d and not isinstance(d["symbol"], dict):
        d.pop("symbol")
    if field == "symbol.char":  # the script would otherwise be irrelevant; keep the recipe minimal
        d["symbol"].pop("script", None)
        d["symbol"].pop("font", None)
    if field == "symbol.font":
        d["symbol"].pop("char", None)
    if field == "background.kind" and value == "image":
        d["background"].pop("image_dir", None)
    return BadRecipe(_set(d, field, value), path, expect)
