"""synprobe: synthetic glyph datasets and probing benchmarks.

    >>> import synprobe
    >>> synprobe.generate("default", n=1000, out="default.h5")   # doctest: +SKIP
    >>> synprobe.load_recipe("default").resolution
    (32, 32)
    >>> d = synprobe.load("default", split="test", split_name="stratified_font")   # doctest: +SKIP

``import synprobe`` stays light: every submodule loads on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib as _importlib

from synprobe.load import Dataset, LoadError, load, set_resolver  # eager: ``synprobe.load`` is the function

# public names -> the module that defines them, imported on first access (PEP 562): the command
# line starts faster, and ``import synprobe`` costs nothing until something is used
_LAZY = {
    "dists": None, "scenarios": None,
    "NoiseError": "noise", "NoisyLabels": "noise", "apply_noise": "noise",
    "FontCoverageError": "errors", "FontError": "errors", "FormatError": "errors",
    "IncompleteFileError": "errors", "InvalidRecipe": "errors", "SynprobeError": "errors",
    "OcclusionSpec": "recipe", "PatternSpec": "recipe", "Recipe": "recipe", "SymbolSpec": "recipe",
    "list_recipes": "recipe", "load_recipe": "recipe",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'synprobe' has no attribute {name!r}")
    mod = _LAZY[name]
    value = _importlib.import_module(f"synprobe.{mod or name}")
    if mod is not None:
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def fetch(name_or_path, **kwargs):
    """Path of a catalog dataset (downloaded and verified, or generated on a miss) or of a file;
    see :func:`synprobe.datasets.fetch`."""
    from synprobe.datasets import fetch as _fetch

    return _fetch(name_or_path, **kwargs)


set_resolver(fetch)  # load("default-1k"): names that are not files come from the catalog (load sits below it)


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
