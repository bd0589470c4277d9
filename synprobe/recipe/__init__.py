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

Inside: ``_spec`` holds the dataclasses, kinds and limits; ``_load`` finds, reads and serialises
recipes; ``_validate`` validates whole recipes (and the fonts they name); ``_fields`` single
number and distribution fields. Import everything from here.
"""

from synprobe.recipe._load import list_recipes, load_recipe, recipe_json, recipe_to_dict, resolve_recipe
from synprobe.recipe._spec import (
    FONT_TIERS,
    OCCLUDER_KINDS,
    PATTERN_KINDS,
    OcclusionSpec,
    PatternSpec,
    Recipe,
    SymbolSpec,
)
from synprobe.recipe._validate import recipe_from_dict

__all__ = [
    "FONT_TIERS",
    "OCCLUDER_KINDS",
    "PATTERN_KINDS",
    "OcclusionSpec",
    "PatternSpec",
    "Recipe",
    "SymbolSpec",
    "list_recipes",
    "load_recipe",
    "recipe_from_dict",
    "recipe_json",
    "recipe_to_dict",
    "resolve_recipe",
]
