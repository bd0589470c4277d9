"""Validation of whole recipes: sections, :func:`recipe_from_dict` and the font/char checks.

Turns a dict (parsed TOML/JSON) or a :class:`~synprobe.recipe.Recipe` into a validated recipe,
field by field with :mod:`synprobe.recipe._fields`; the fonts and characters it names are looked
up in the :class:`~synprobe.fonts.FontRegistry`. :func:`spec_dict` gives a dataclass's fields as a dict.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from synprobe.dists import Const
from synprobe.fonts import FontRegistry
from synprobe.paths import portable_path, resolve_portable
from synprobe.recipe._fields import Ctx, choice_field, dist_field, number_field, unknown_field
from synprobe.recipe._spec import (
    FONT_TIERS,
    MAX_OCCLUDERS,
    MAX_SYMBOLS,
    OCCLUDER_KINDS,
    PATTERN_KINDS,
    SLANT_MODES,
    OcclusionSpec,
    PatternSpec,
    Recipe,
    SymbolSpec,
)
from synprobe.scripts import SCRIPTS


def _table(ctx, path, v) -> dict:
    if not isinstance(v, (dict,)):
        ctx.fail(path, f"expected a table, got {v!r}")
    return v


def _check_keys(ctx, path, d: dict, cls) -> None:
    names = [f.name for f in fields(cls)]
    for k in d:
        if k not in names:
            unknown_field(ctx, path, k, names)


def _section(ctx, path, v, cls) -> dict:
    """A recipe section as a dict (from TOML or a dataclass of type cls), with only known keys."""
    if isinstance(v, cls):
        v = spec_dict(v)
    v = _table(ctx, path, v)
    _check_keys(ctx, path, v, cls)
    return v


def _pattern(ctx, path, v) -> PatternSpec:
    v = _section(ctx, path, v, PatternSpec)
    p = f"{path}." if path else ""
    kw: dict[str, Any] = {}
    if "kind" in v:
        kw["kind"] = dist_field(ctx, p + "kind", v["kind"], kind="str", allowed=PATTERN_KINDS)
    if v.get("color") is not None:
        c = v["color"]
        if not isinstance(c, (list, tuple)) or len(c) != 3:
            ctx.fail(p + "color", f"expected [r, g, b] with values in 0..1, got {c!r}")
        kw["color"] = tuple(number_field(ctx, f"{p}color[{i}]", x, lo=0, hi=1) for i, x in enumerate(c))
    for k, lo, hi in (("alpha", 0, 1), ("stroke_length", 0, 4), ("stroke_width", 0, 1), ("min_crop", 0.01, 1)):
        if k in v:
            kw[k] = number_field(ctx, p + k, v[k], lo=lo, hi=hi)
    for k, lo, hi in (("n_gradients", 1, 8), ("n_strokes", 1, 5000), ("octaves", 1, 6), ("base_cells", 1, 64)):
        if k in v:
            kw[k] = number_field(ctx, p + k, v[k], integer=True, lo=lo, hi=hi)
    if "stroke_angle" in v:
        kw["stroke_angle"] = dist_field(ctx, p + "stroke_angle", v["stroke_angle"])
    if v.get("image_dir") is not None:
        if not isinstance(v["image_dir"], str):
            ctx.fail(p + "image_dir", "expected a folder path (string)")
        folder = resolve_portable(v["image_dir"])
        if not folder.is_absolute():
            folder = (ctx.base or Path.cwd()) / folder
        if not folder.is_dir():
            ctx.fail(
                p + "image_dir",
                f"{folder}: no such folder (relative paths start at the recipe's folder; "
                "'bundled:textures' names the bundled pictures)",
            )
        kw["image_dir"] = portable_path(folder)
    spec = PatternSpec(**kw)
    if "image" in (spec.kind.values() or ()) and spec.image_dir is None:
        ctx.fail(p + "image_dir", "required when kind includes 'image' (a folder of png/jpg pictures)")
    return spec


def spec_dict(spec) -> dict:
    """A recipe or section dataclass as {field name: value}, one level deep."""
    return {f.name: getattr(spec, f.name) for f in fields(spec)}


def recipe_from_dict(d: dict | Recipe, source: str = "<recipe>", base: Path | None = None) -> Recipe:
    """Validate a recipe given as a dict (parsed TOML/JSON) or a :class:`Recipe` (re-validated).

    ``base``: the folder relative ``image_dir`` paths start from (default: the working directory).
    """
    ctx = Ctx(source, base)
    if isinstance(d, Recipe):
        d = spec_dict(d)
    d = _table(ctx, "", d)
    _check_keys(ctx, "", d, Recipe)
    kw: dict[str, Any] = {}
    for k in ("name", "description", "stream"):
        if k == "stream" and d.get(k) is None:
            continue
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
            number_field(ctx, f"resolution[{i}]", x, integer=True, lo=8, hi=256) for i, x in enumerate(r)
        )
    if "n_symbols" in d:
        kw["n_symbols"] = dist_field(ctx, "n_symbols", d["n_symbols"], kind="int", lo=1, hi=MAX_SYMBOLS)
    if "inverse_color" in d:
        kw["inverse_color"] = dist_field(ctx, "inverse_color", d["inverse_color"], kind="bool")
    if "pixel_noise" in d:
        kw["pixel_noise"] = dist_field(ctx, "pixel_noise", d["pixel_noise"], lo=0, hi=1)
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
            kw[k] = dist_field(ctx, f"{path}.{k}", v[k])
    if "scale" in v:
        kw["scale"] = dist_field(ctx, f"{path}.scale", v["scale"], lo=0.0, open_lo=True)


def _symbol(ctx, path, v) -> SymbolSpec:
    v = _section(ctx, path, v, SymbolSpec)
    kw: dict[str, Any] = {}
    if "script" in v:
        kw["script"] = dist_field(ctx, f"{path}.script", v["script"], kind="str", allowed=SCRIPTS)
    for k in ("char", "font"):
        if v.get(k) is not None:
            val = v[k]
            if k == "char" and isinstance(val, str) and len(val) > 1:
                val = {"dist": "choice", "values": list(dict.fromkeys(val))}
            if isinstance(val, list):
                val = {"dist": "choice", "values": val}
            kw[k] = dist_field(ctx, f"{path}.{k}", val, kind="str")
    if "fonts" in v:
        kw["fonts"] = choice_field(ctx, f"{path}.fonts", v["fonts"], FONT_TIERS)
    for k in ("bold",):
        if k in v:
            kw[k] = dist_field(ctx, f"{path}.{k}", v[k], kind="bool")
    if "slant" in v:
        kw["slant"] = dist_field(ctx, f"{path}.slant", v["slant"], lo=-1, hi=1)
    if "slant_mode" in v:
        kw["slant_mode"] = choice_field(ctx, f"{path}.slant_mode", v["slant_mode"], SLANT_MODES)
    _geometry(ctx, path, v, kw)
    if "foreground" in v:
        kw["foreground"] = _pattern(ctx, f"{path}.foreground", v["foreground"])
    return SymbolSpec(**kw)


def _occlusion(ctx, path, v) -> OcclusionSpec:
    v = _section(ctx, path, v, OcclusionSpec)
    kw: dict[str, Any] = {}
    if "count" in v:
        kw["count"] = dist_field(ctx, f"{path}.count", v["count"], kind="int", lo=0, hi=MAX_OCCLUDERS)
    if "kind" in v:
        kw["kind"] = dist_field(ctx, f"{path}.kind", v["kind"], kind="str", allowed=OCCLUDER_KINDS)
    _geometry(ctx, path, v, kw)
    if "foreground" in v:
        kw["foreground"] = _pattern(ctx, f"{path}.foreground", v["foreground"])
    return OcclusionSpec(**kw)


def _check_fonts(ctx, recipe: Recipe) -> None:
    """Fonts and chars named in the recipe must exist and be drawn (the audited table)."""
    sym = recipe.symbol
    if sym.font is None and sym.char is None:
        return
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
        if reg.tier(f) in ("illegible", "unaudited"):
            ctx.fail(
                p,
                f"font {f!r} is {reg.tier(f)} by the legibility audit (fonts/legibility.json): "
                "its glyphs are not the letters they are labelled with; see `synprobe fonts list --tier legible`",
            )
    if sym.char is not None:
        for i, c in enumerate(sym.char.values() or ()):
            p = "symbol.char" if isinstance(sym.char, Const) else f"symbol.char.values[{i}]"
            pool = font_ids or reg.ids()  # as Vocab.build: explicit chars may come from any regular font
            if len(c) != 1:
                ctx.fail(p, f"expected a single character, got {c!r}")
            if not any(reg.supports(fid, c) for fid in pool):
                ctx.fail(p, f"no selected font draws {c!r} (U+{ord(c):04X}); see `synprobe fonts list`")
            if not any(c in reg.legible(fid) for fid in pool):
                names = f"font {pool[0]!r}" if len(pool) == 1 else "font of symbol.font" if font_ids else "font"
                ctx.fail(
                    p,
                    f"no legible (font, char) pair: no {names} draws {c!r} recognisably "
                    "(fonts/legibility.json); choose other fonts or chars",
                )
