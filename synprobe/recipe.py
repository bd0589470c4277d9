"""Generator recipes: which distribution every attribute follows.

A recipe is a TOML file in ``generators/`` (or any path) or the same structure built in Python from
the frozen dataclasses below. Every field is validated before anything runs; errors name the file,
the field path and the allowed values::

    generators/x.toml: foreground.kind: unknown 'gradiant'; expected one of 'solid', 'linear', ...

Usage:

    >>> from synprobe.recipe import load_recipe
    >>> r = load_recipe("default")
    >>> r.resolution
    (32, 32)
"""

from __future__ import annotations

import difflib
import json
import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from synprobe.dists import DISTS, Bernoulli, Choice, Const, Dist, LogNormal, Normal, Uniform
from synprobe.errors import InvalidRecipe
from synprobe.paths import bundled
from synprobe.scripts import SCRIPTS

__all__ = [
    "OCCLUDER_KINDS",
    "PATTERN_KINDS",
    "OcclusionSpec",
    "PatternSpec",
    "Recipe",
    "SymbolSpec",
    "list_recipes",
    "load_recipe",
    "recipe_from_dict",
    "recipe_to_dict",
    "resolve_recipe",
]

PATTERN_KINDS = ("solid", "linear", "radial", "multigradient", "camouflage", "noise", "image")
OCCLUDER_KINDS = ("square", "triangle", "circle", "glyph")
MAX_SYMBOLS = 64
MAX_OCCLUDERS = 32


@dataclass(frozen=True)
class PatternSpec:
    """A foreground or background texture.

    Attributes:
        kind: pattern kind per sample, one of :data:`PATTERN_KINDS`.
        color: fixed RGB in [0, 1] for ``solid`` (None: a random colour per sample).
        alpha: opacity of each extra gradient layer (``multigradient``).
        n_gradients: layers of ``multigradient``.
        stroke_angle: camouflage stroke angle in radians (a distribution, per sample).
        stroke_length, stroke_width: camouflage strokes, in image units.
        n_strokes: camouflage strokes per image.
        octaves: value-noise octaves (``noise``); base_cells: cells of the coarsest octave.
        image_dir: folder of pictures for ``image`` (png/jpg), cropped and resized.
        min_crop: smallest crop side, as a fraction of the picture (``image``).
    """

    kind: Dist = Choice(("linear", "radial"))
    color: tuple[float, float, float] | None = None
    alpha: float = 0.5
    n_gradients: int = 2
    stroke_angle: Dist = Const(math.pi / 4)
    stroke_length: float = 0.4
    stroke_width: float = 0.05
    n_strokes: int = 500
    octaves: int = 3
    base_cells: int = 3
    image_dir: str | None = None
    min_crop: float = 0.2


@dataclass(frozen=True)
class SymbolSpec:
    """Per-symbol attributes (each symbol of an image draws its own).

    Attributes:
        script: script of the symbol, one of :data:`synprobe.scripts.SCRIPTS`.
        char: characters to draw (None: uniform over every character some bundled font draws).
        font: font ids (None: uniform over the fonts that draw the sampled character).
        bold, slant: bold face (a real bold file when the family has one, else emboldened
            outlines) and horizontal shear factor (Synbols uses 0.2; 0 = upright).
        rotation: radians, clockwise on screen (as Synbols). scale: longest ink side / shortest image side.
        translation_x, translation_y: -1..1 maps the ink box across the free space (Synbols).
        foreground: texture of the glyph.
    """

    script: Dist = Const("latin")
    char: Dist | None = None
    font: Dist | None = None
    bold: Dist = Bernoulli(0.5)
    slant: Dist = Choice((0.0, 0.2))
    rotation: Dist = Normal(0.0, 0.3)
    scale: Dist = LogNormal(0.6, 0.2)
    translation_x: Dist = Uniform(-0.9, 0.9)
    translation_y: Dist = Uniform(-0.9, 0.9)
    foreground: PatternSpec = PatternSpec()


@dataclass(frozen=True)
class OcclusionSpec:
    """Occluders drawn over the symbols (masks account for them)."""

    count: Dist = Const(0)
    kind: Dist = Choice(("square", "triangle", "circle"))
    scale: Dist = LogNormal(0.3, 0.1)
    rotation: Dist = Uniform(0.0, 2 * math.pi)
    translation_x: Dist = Uniform(-1.5, 1.5)
    translation_y: Dist = Uniform(-1.5, 1.5)
    foreground: PatternSpec = PatternSpec()


@dataclass(frozen=True)
class Recipe:
    """A whole dataset recipe. ``resolution`` is (height, width).

    ``joint`` (Python API only) is a callable ``f(rng) -> dict`` evaluated once per sample after
    the independent draws; the dict overrides columns (see :data:`synprobe.sampling.COLUMNS`) to
    give joint laws, e.g. ``lambda rng: {"scale": s, "rotation": -s}``. Symbol-level values set
    every symbol slot; a list sets the slots one by one. Its rng is seeded from (seed, index).
    """

    name: str = "custom"
    description: str = ""
    resolution: tuple[int, int] = (32, 32)
    n_symbols: Dist = Const(1)
    symbol: SymbolSpec = SymbolSpec()
    background: PatternSpec = PatternSpec()
    occlusion: OcclusionSpec = OcclusionSpec()
    inverse_color: Dist = Bernoulli(0.5)
    pixel_noise: Dist = Const(0.01)
    gray: bool = False
    max_contrast: bool = True
    masks: bool = False
    joint: Callable[[np.random.Generator], dict] | None = None

    @property
    def max_symbols(self) -> int:
        return int(max(_support_max(self.n_symbols, MAX_SYMBOLS), 1))

    @property
    def max_occluders(self) -> int:
        return int(max(_support_max(self.occlusion.count, MAX_OCCLUDERS), 0))


def _support_max(d: Dist, cap: int) -> int:
    vals = d.values()
    return int(max(vals)) if vals else cap


# --------------------------------------------------------------------------- parsing


class _Ctx:
    def __init__(self, source: str, base: Path | None = None):
        self.source = source
        self.base = base  # folder that relative paths (image_dir) are relative to

    def fail(self, path: str, msg: str):
        raise InvalidRecipe(self.source, path, msg)


def _allowed(names) -> str:
    return ", ".join(repr(n) for n in names)


def _unknown(ctx: _Ctx, path: str, key: str, allowed) -> None:
    near = difflib.get_close_matches(key, list(allowed), n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    ctx.fail(f"{path}.{key}" if path else key, f"unknown field{hint}; expected one of {_allowed(allowed)}")


def _number(ctx, path, v, *, integer=False, lo=-math.inf, hi=math.inf, open_lo=False) -> float:
    ok = isinstance(v, int) if integer else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok or (not integer and not math.isfinite(v)):
        ctx.fail(path, f"expected {'an integer' if integer else 'a finite number'}, got {v!r}")
    if not (lo < v if open_lo else lo <= v) or v > hi:
        ctx.fail(path, f"{v!r} is out of range; allowed {'above' if open_lo else 'from'} {lo} to {hi}")
    return int(v) if integer else float(v)


_DIST_PARAMS = {
    "const": {"value": True},
    "uniform": {"low": True, "high": True},
    "normal": {"mean": False, "std": False, "min": False, "max": False},
    "lognormal": {"median": False, "sigma": False},
    "randint": {"low": True, "high": True},
    "bernoulli": {"p": False},
    "choice": {"values": True, "weights": False},
    "mixture": {"components": True, "weights": False},
}


def _dist(ctx, path, v, *, kind="number", allowed=None, lo=-math.inf, hi=math.inf, open_lo=False) -> Dist:
    """Parse a constant or ``{dist = ...}`` table. kind: number | int | bool | str."""
    if isinstance(v, Dist):
        d = v
    elif isinstance(v, dict):
        name = v.get("dist")
        if name not in DISTS:
            ctx.fail(f"{path}.dist", f"unknown {name!r}; expected one of {_allowed(DISTS)}")
        params = _DIST_PARAMS[name]
        for k in v:
            if k != "dist" and k not in params:
                _unknown(ctx, path, k, list(params))
        for k, req in params.items():
            if req and k not in v:
                ctx.fail(f"{path}.{k}", f"missing; {name} needs {_allowed([p for p in params if params[p]])}")
        args = {k: val for k, val in v.items() if k != "dist"}
        if name == "mixture":
            d = _mixture(ctx, path, args, kind=kind, allowed=allowed, lo=lo, hi=hi, open_lo=open_lo)
        else:
            d = _build_dist(ctx, path, name, args, kind)
    else:
        d = Const(v)
    _check_dist(ctx, path, d, kind=kind, allowed=allowed, lo=lo, hi=hi, open_lo=open_lo)
    return d


def _weights(ctx, path, w, n):
    if w is None:
        return None
    if not isinstance(w, (list, tuple)) or len(w) != n:
        ctx.fail(f"{path}.weights", f"expected a list of {n} numbers (one per value)")
    w = tuple(_number(ctx, f"{path}.weights[{i}]", x, lo=0) for i, x in enumerate(w))
    if sum(w) <= 0:
        ctx.fail(f"{path}.weights", "weights must not all be zero")
    return w


def _mixture(ctx, path, a, **checks) -> Dist:
    from synprobe.dists import Mixture

    comps = a["components"]
    if not isinstance(comps, (list, tuple)) or not comps:
        ctx.fail(f"{path}.components", "expected a non-empty list of constants or distributions")
    parsed = tuple(_dist(ctx, f"{path}.components[{i}]", c, **checks) for i, c in enumerate(comps))
    return Mixture(parsed, _weights(ctx, path, a.get("weights"), len(parsed)))


def _build_dist(ctx, path, name, a, kind) -> Dist:
    num = lambda k, **kw: _number(ctx, f"{path}.{k}", a[k], **kw)  # noqa: E731
    if name == "const":
        return Const(a["value"])
    if name == "uniform":
        lo, hi = num("low"), num("high")
        if hi < lo:
            ctx.fail(f"{path}.high", f"{hi} is below low={lo}")
        return Uniform(lo, hi)
    if name == "normal":
        kw = {k: num(k, lo=0 if k == "std" else -math.inf) for k in ("mean", "std", "min", "max") if k in a}
        if kw.get("min", -math.inf) > kw.get("max", math.inf):
            ctx.fail(f"{path}.max", f"{kw['max']} is below min={kw['min']}")
        return Normal(**kw)
    if name == "lognormal":
        return LogNormal(**{k: num(k, lo=0) for k in ("median", "sigma") if k in a})
    if name == "randint":
        lo, hi = num("low", integer=True), num("high", integer=True)
        if hi < lo:
            ctx.fail(f"{path}.high", f"{hi} is below low={lo}")
        return __import__("synprobe.dists", fromlist=["RandInt"]).RandInt(lo, hi)
    if name == "bernoulli":
        return Bernoulli(num("p", lo=0, hi=1) if "p" in a else 0.5)
    vals = a["values"]
    if not isinstance(vals, list) or not vals:
        ctx.fail(f"{path}.values", "expected a non-empty list")
    return Choice(tuple(vals), _weights(ctx, path, a.get("weights"), len(vals)))


def _check_dist(ctx, path, d, *, kind, allowed, lo, hi, open_lo=False) -> None:
    """The distribution's support must lie in [lo, hi] ((lo, hi] when open_lo)."""
    from synprobe.dists import Func, Mixture, RandInt

    if isinstance(d, Func):
        return
    if isinstance(d, Mixture):  # a Python-built mixture: check every component
        for i, c in enumerate(d.components):
            _check_dist(ctx, f"{path}.components[{i}]", c, kind=kind, allowed=allowed, lo=lo, hi=hi, open_lo=open_lo)
        return
    vals = d.values()
    if kind in ("str", "bool") and vals is None:
        ctx.fail(path, f"a {d.kind} distribution is not allowed here; use a constant or choice")
    if vals is not None:
        for i, x in enumerate(vals):
            p = path if isinstance(d, Const) else f"{path}.values[{i}]"
            if kind == "str" and not isinstance(x, str):
                ctx.fail(p, f"expected a string, got {x!r}")
            if kind == "bool" and not isinstance(x, bool):
                ctx.fail(p, f"expected true or false, got {x!r}")
            if kind in ("number", "int"):
                _number(ctx, p, x, integer=kind == "int", lo=lo, hi=hi, open_lo=open_lo)
            if allowed is not None and x not in allowed:
                near = difflib.get_close_matches(str(x), [str(a) for a in allowed], n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                ctx.fail(p, f"unknown {x!r}{hint}; expected one of {_allowed(allowed)}")
    elif kind == "int" and not isinstance(d, RandInt):
        ctx.fail(path, f"expected integers; {d.kind} gives real numbers")
    else:
        if isinstance(d, Uniform):
            dlo, dhi, closed = d.low, d.high, True
        elif isinstance(d, Normal):
            dlo, dhi, closed = d.min, d.max, True
        elif isinstance(d, LogNormal):
            if d.median <= 0:
                ctx.fail(f"{path}.median", f"{d.median} must be > 0")
            dlo, dhi, closed = 0.0, math.inf, False  # support (0, inf)
        else:
            return
        below = dlo < lo or (dlo == lo and open_lo and closed)
        if below or dhi > hi:
            rng = f"{'(' if open_lo else '['}{lo}, {hi}]"
            ctx.fail(path, f"{d.kind} reaches outside the allowed range {rng}; set min/max or use uniform")


def _table(ctx, path, v) -> dict:
    if not isinstance(v, (dict,)):
        ctx.fail(path, f"expected a table, got {v!r}")
    return v


def _check_keys(ctx, path, d: dict, cls) -> None:
    names = [f.name for f in fields(cls)]
    for k in d:
        if k not in names:
            _unknown(ctx, path, k, names)


def _section(ctx, path, v, cls) -> dict:
    """A recipe section as a dict (from TOML or a dataclass of type cls), with only known keys."""
    if isinstance(v, cls):
        v = _spec_dict(v)
    v = _table(ctx, path, v)
    _check_keys(ctx, path, v, cls)
    return v


def _pattern(ctx, path, v) -> PatternSpec:
    v = _section(ctx, path, v, PatternSpec)
    p = f"{path}." if path else ""
    kw: dict[str, Any] = {}
    if "kind" in v:
        kw["kind"] = _dist(ctx, p + "kind", v["kind"], kind="str", allowed=PATTERN_KINDS)
    if v.get("color") is not None:
        c = v["color"]
        if not isinstance(c, (list, tuple)) or len(c) != 3:
            ctx.fail(p + "color", f"expected [r, g, b] with values in 0..1, got {c!r}")
        kw["color"] = tuple(_number(ctx, f"{p}color[{i}]", x, lo=0, hi=1) for i, x in enumerate(c))
    for k, lo, hi in (("alpha", 0, 1), ("stroke_length", 0, 4), ("stroke_width", 0, 1), ("min_crop", 0.01, 1)):
        if k in v:
            kw[k] = _number(ctx, p + k, v[k], lo=lo, hi=hi)
    for k, lo, hi in (("n_gradients", 1, 8), ("n_strokes", 1, 5000), ("octaves", 1, 6), ("base_cells", 1, 64)):
        if k in v:
            kw[k] = _number(ctx, p + k, v[k], integer=True, lo=lo, hi=hi)
    if "stroke_angle" in v:
        kw["stroke_angle"] = _dist(ctx, p + "stroke_angle", v["stroke_angle"])
    if v.get("image_dir") is not None:
        if not isinstance(v["image_dir"], str):
            ctx.fail(p + "image_dir", "expected a folder path (string)")
        from synprobe.paths import portable_path, resolve_portable

        folder = resolve_portable(v["image_dir"])
        if not folder.is_absolute():
            folder = (ctx.base or Path.cwd()) / folder
        if not folder.is_dir():
            ctx.fail(p + "image_dir", f"{folder}: no such folder (relative paths start at the recipe's folder; "
                     "'bundled:textures' names the bundled pictures)")
        kw["image_dir"] = portable_path(folder)
    spec = PatternSpec(**kw)
    if "image" in (spec.kind.values() or ()) and spec.image_dir is None:
        ctx.fail(p + "image_dir", "required when kind includes 'image' (a folder of png/jpg pictures)")
    return spec


def _spec_dict(spec) -> dict:
    return {f.name: getattr(spec, f.name) for f in fields(spec)}


def recipe_from_dict(d: dict | Recipe, source: str = "<recipe>", base: Path | None = None) -> Recipe:
    """Validate a recipe given as a dict (parsed TOML/JSON) or a :class:`Recipe` (re-validated).

    ``base``: the folder relative ``image_dir`` paths start from (default: the working directory).
    """
    ctx = _Ctx(source, base)
    if isinstance(d, Recipe):
        d = _spec_dict(d)
    d = _table(ctx, "", d)
    _check_keys(ctx, "", d, Recipe)
    kw: dict[str, Any] = {}
    for k in ("name", "description"):
        if k in d:
            if not isinstance(d[k], str):
                ctx.fail(k, "expected a string")
            kw[k] = d[k]
    if "resolution" in d:
        r = d["resolution"]
        r = [r, r] if isinstance(r, int) and not isinstance(r, bool) else r
        if not isinstance(r, (list, tuple)) or len(r) != 2:
            ctx.fail("resolution", f"expected an integer or [height, width], got {r!r}")
        kw["resolution"] = tuple(
            _number(ctx, f"resolution[{i}]", x, integer=True, lo=8, hi=256) for i, x in enumerate(r)
        )
    if "n_symbols" in d:
        kw["n_symbols"] = _dist(ctx, "n_symbols", d["n_symbols"], kind="int", lo=1, hi=MAX_SYMBOLS)
    if "inverse_color" in d:
        kw["inverse_color"] = _dist(ctx, "inverse_color", d["inverse_color"], kind="bool")
    if "pixel_noise" in d:
        kw["pixel_noise"] = _dist(ctx, "pixel_noise", d["pixel_noise"], lo=0, hi=1)
    for k in ("gray", "max_contrast", "masks"):
        if k in d:
            if not isinstance(d[k], bool):
                ctx.fail(k, f"expected true or false, got {d[k]!r}")
            kw[k] = d[k]
    if "background" in d:
        kw["background"] = _pattern(ctx, "background", d["background"])
    if "symbol" in d:
        kw["symbol"] = _symbol(ctx, "symbol", d["symbol"])
    if "occlusion" in d:
        kw["occlusion"] = _occlusion(ctx, "occlusion", d["occlusion"])
    if d.get("joint") is not None:
        if not callable(d["joint"]):
            ctx.fail("joint", "expected a callable f(rng) -> dict (Python API only)")
        kw["joint"] = d["joint"]
    recipe = Recipe(**kw)
    _check_fonts(ctx, recipe)
    return recipe


def _geometry(ctx, path, v, kw) -> None:
    for k in ("rotation", "translation_x", "translation_y"):
        if k in v:
            kw[k] = _dist(ctx, f"{path}.{k}", v[k])
    if "scale" in v:
        kw["scale"] = _dist(ctx, f"{path}.scale", v["scale"], lo=0.0, open_lo=True)


def _symbol(ctx, path, v) -> SymbolSpec:
    v = _section(ctx, path, v, SymbolSpec)
    kw: dict[str, Any] = {}
    if "script" in v:
        kw["script"] = _dist(ctx, f"{path}.script", v["script"], kind="str", allowed=SCRIPTS)
    for k in ("char", "font"):
        if v.get(k) is not None:
            val = v[k]
            if k == "char" and isinstance(val, str) and len(val) > 1:
                val = {"dist": "choice", "values": list(dict.fromkeys(val))}
            if isinstance(val, list):
                val = {"dist": "choice", "values": val}
            kw[k] = _dist(ctx, f"{path}.{k}", val, kind="str")
    for k in ("bold",):
        if k in v:
            kw[k] = _dist(ctx, f"{path}.{k}", v[k], kind="bool")
    if "slant" in v:
        kw["slant"] = _dist(ctx, f"{path}.slant", v["slant"], lo=-1, hi=1)
    _geometry(ctx, path, v, kw)
    if "foreground" in v:
        kw["foreground"] = _pattern(ctx, f"{path}.foreground", v["foreground"])
    return SymbolSpec(**kw)


def _occlusion(ctx, path, v) -> OcclusionSpec:
    v = _section(ctx, path, v, OcclusionSpec)
    kw: dict[str, Any] = {}
    if "count" in v:
        kw["count"] = _dist(ctx, f"{path}.count", v["count"], kind="int", lo=0, hi=MAX_OCCLUDERS)
    if "kind" in v:
        kw["kind"] = _dist(ctx, f"{path}.kind", v["kind"], kind="str", allowed=OCCLUDER_KINDS)
    _geometry(ctx, path, v, kw)
    if "foreground" in v:
        kw["foreground"] = _pattern(ctx, f"{path}.foreground", v["foreground"])
    return OcclusionSpec(**kw)


def _check_fonts(ctx, recipe: Recipe) -> None:
    """Fonts and chars named in the recipe must exist and be drawn (the audited table)."""
    sym = recipe.symbol
    if sym.font is None and sym.char is None:
        return
    from synprobe.fonts import FontRegistry

    reg = FontRegistry.load()
    font_ids = sym.font.values() if sym.font is not None else None
    for i, f in enumerate(font_ids or ()):
        p = "symbol.font" if isinstance(sym.font, Const) else f"symbol.font.values[{i}]"
        try:
            reg.entry(f)
        except Exception as e:  # FontError with close matches
            ctx.fail(p, str(e))
        if f in reg.dropped:
            ctx.fail(p, f"font {f!r} was dropped by the font audit ({reg.dropped[f]}); choose another")
    if sym.char is not None:
        for i, c in enumerate(sym.char.values() or ()):
            p = "symbol.char" if isinstance(sym.char, Const) else f"symbol.char.values[{i}]"
            pool = font_ids or reg.ids()  # as Vocab.build: explicit chars may come from any regular font
            if len(c) != 1:
                ctx.fail(p, f"expected a single character, got {c!r}")
            if not any(reg.supports(fid, c) for fid in pool):
                ctx.fail(p, f"no selected font draws {c!r} (U+{ord(c):04X}); see `synprobe fonts list`")


# --------------------------------------------------------------------------- files


def list_recipes() -> dict[str, Path]:
    """Bundled recipe names -> files."""
    return {p.stem: p for p in sorted(bundled("generators").glob("*.toml"))}


def load_recipe(name_or_path: str | Path) -> Recipe:
    """Load and validate a bundled recipe by name, or a TOML file by path."""
    p = Path(name_or_path)
    known = list_recipes()
    if str(name_or_path) in known and not p.exists():
        p = known[str(name_or_path)]
    elif not p.exists():
        near = difflib.get_close_matches(str(name_or_path), list(known), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise InvalidRecipe(str(name_or_path), "", f"no such recipe file or name{hint}; "
                            f"bundled recipes: {_allowed(known)}")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise InvalidRecipe(str(p), "", f"not valid TOML: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidRecipe(str(p), "", f"cannot read: {e}") from None
    data.setdefault("name", p.stem)
    return recipe_from_dict(data, source=_display(p), base=p.resolve().parent)


def _display(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(bundled("generators").parent))
    except ValueError:
        return str(p)


def resolve_recipe(recipe: str | Path | Recipe | dict, resolution=None) -> Recipe:
    """Recipe from a name, path, dict or dataclass, with an optional resolution override."""
    if isinstance(recipe, Recipe):
        r = recipe_from_dict(recipe)
    elif isinstance(recipe, dict):
        r = recipe_from_dict(recipe)
    else:
        r = load_recipe(recipe)
    if resolution is not None:
        res = (resolution, resolution) if isinstance(resolution, int) else tuple(resolution)
        r = recipe_from_dict({**_spec_dict(r), "resolution": list(res)}, source="--resolution")
    return r


def recipe_to_dict(recipe: Recipe) -> dict:
    """Canonical JSON-able dict of a recipe (round-trips through :func:`recipe_from_dict`)."""

    def conv(v):
        if isinstance(v, Dist):
            return v.to_dict()
        if isinstance(v, (PatternSpec, SymbolSpec, OcclusionSpec)):
            return {f.name: conv(getattr(v, f.name)) for f in fields(v) if getattr(v, f.name) is not None}
        if isinstance(v, tuple):
            return list(v)
        if callable(v):
            return {"callable": getattr(v, "__qualname__", repr(v))}
        return v

    return {f.name: conv(getattr(recipe, f.name)) for f in fields(recipe)}


def recipe_json(recipe: Recipe) -> str:
    return json.dumps(recipe_to_dict(recipe), sort_keys=True, ensure_ascii=False)


