"""synprobe: synthetic glyph datasets and probing benchmarks.

    >>> import synprobe
    >>> synprobe.generate("default", n=1000, out="default.h5")   # doctest: +SKIP
    >>> synprobe.load_recipe("default").resolution
    (32, 32)

``import synprobe`` stays light: numpy only; fonts, rendering and HDF5 load on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"

from synprobe import dists
from synprobe.errors import (
    FontCoverageError,
    FontError,
    FormatError,
    IncompleteFileError,
    InvalidRecipe,
    SynprobeError,
)
from synprobe.recipe import (
    OcclusionSpec,
    PatternSpec,
    Recipe,
    SymbolSpec,
    list_recipes,
    load_recipe,
)


def generate(recipe, n: int, out, **kwargs):
    """Generate a dataset file; see :func:`synprobe.generator.generate` for the arguments."""
    from synprobe.generator import generate as _generate

    return _generate(recipe, n, out, **kwargs)


__all__ = [
    "FontCoverageError",
    "FontError",
    "FormatError",
    "IncompleteFileError",
    "InvalidRecipe",
    "OcclusionSpec",
    "PatternSpec",
    "Recipe",
    "SymbolSpec",
    "SynprobeError",
    "__version__",
    "dists",
    "generate",
    "list_recipes",
    "load_recipe",
]
