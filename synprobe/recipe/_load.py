"""Recipes in and out of files: bundled names, TOML paths, dicts; the canonical dict and JSON.

:func:`list_recipes` and :func:`load_recipe` find and read a bundled or file recipe,
:func:`resolve_recipe` accepts any of a name, path, dict or dataclass (with a resolution
override), and :func:`recipe_to_dict` / :func:`recipe_json` serialise a recipe canonically (what
generation records in a file and the dataset catalog fingerprints).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import fields
from pathlib import Path

from synprobe.dists import Dist
from synprobe.errors import InvalidRecipe, did_you_mean
from synprobe.paths import bundled, read_text_file
from synprobe.recipe._spec import OcclusionSpec, PatternSpec, Recipe, SymbolSpec
from synprobe.recipe._validate import recipe_from_dict, spec_dict

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
        hint = did_you_mean(str(name_or_path), list(known))
        raise InvalidRecipe(
            str(name_or_path),
            "",
            f"no such recipe file or name{hint}; `synprobe recipes` lists the {len(known)} bundled ones",
        )
    try:
        data = tomllib.loads(read_text_file(p))
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
        r = recipe_from_dict({**spec_dict(r), "resolution": list(res)}, source="--resolution")
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
    """:func:`recipe_to_dict` as canonical JSON (sorted keys, UTF-8 kept)."""
    return json.dumps(recipe_to_dict(recipe), sort_keys=True, ensure_ascii=False)
