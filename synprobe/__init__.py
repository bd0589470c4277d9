"""synprobe: synthetic glyph datasets and probing benchmarks.

    >>> import synprobe
    >>> synprobe.generate("default", n=1000, out="default.h5")   # doctest: +SKIP
    >>> synprobe.load_recipe("default").resolution
    (32, 32)
    >>> d = synprobe.load("default", split="test", split_name="stratified_font")   # doctest: +SKIP

``import synprobe`` stays light: numpy only; fonts, rendering and HDF5 load on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"

from synprobe import dists, scenarios
from synprobe.load import Dataset, LoadError, load, set_resolver
from synprobe.noise import NoiseError, NoisyLabels, apply_noise


def fetch(name_or_path, **kwargs):
    """Path of a catalog dataset (downloaded and verified, or generated on a miss) or of a file;
    see :func:`synprobe.datasets.fetch`."""
    from synprobe.datasets import fetch as _fetch

    return _fetch(name_or_path, **kwargs)


set_resolver(fetch)  # synprobe.load("default") fetches catalog names
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
    "Dataset",
    "NoiseError",
    "NoisyLabels",
    "FontCoverageError",
    "FontError",
    "FormatError",
    "IncompleteFileError",
    "InvalidRecipe",
    "LoadError",
    "OcclusionSpec",
    "PatternSpec",
    "Recipe",
    "SymbolSpec",
    "SynprobeError",
    "__version__",
    "apply_noise",
    "dists",
    "fetch",
    "generate",
    "list_recipes",
    "load",
    "load_recipe",
    "scenarios",
    "set_resolver",
]
