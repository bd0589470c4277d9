"""synprobe: synthetic glyph datasets and probing benchmarks.

    >>> import synprobe
    >>> synprobe.generate("default", n=1000, out="default.h5")   # doctest: +SKIP
    >>> synprobe.load_recipe("default").resolution
    (32, 32)
    >>> d = synprobe.load("default", split="test", split_name="stratified_font")   # doctest: +SKIP

``import synprobe`` stays light: every other name loads its module on first use (PEP 562).
"""

from __future__ import annotations

import importlib as _importlib

from synprobe._version import __version__
from synprobe.load import Dataset, LoadError, load, set_resolver  # eager: ``synprobe.load`` is the function

# public name -> the module that defines it (None: the name is a module), imported on first access
_LAZY = {
    "dists": None, "scenarios": None,
    "generate": "generator", "fetch": "datasets",
    "NoiseError": "noise", "NoisyLabels": "noise", "apply_noise": "noise",
    "FontCoverageError": "errors", "FontError": "errors", "FormatError": "errors",
    "IncompleteFileError": "errors", "InvalidRecipe": "errors", "SynprobeError": "errors",
    "OcclusionSpec": "recipe", "PatternSpec": "recipe", "Recipe": "recipe", "SymbolSpec": "recipe",
    "list_recipes": "recipe", "load_recipe": "recipe",
}  # fmt: skip



def _fetch_from_catalog(name_or_path, **kwargs):
    """``load("default-1k")``: names that are not files come from the catalog. ``load`` sits below
    ``datasets`` in the layers, so the face wires the two together (imported on first use)."""
    from synprobe.datasets import fetch

    return fetch(name_or_path, **kwargs)


set_resolver(_fetch_from_catalog)

__all__ = sorted(["Dataset", "LoadError", "__version__", "load", "set_resolver", *_LAZY])


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'synprobe' has no attribute {name!r}")
    module = _importlib.import_module(f"synprobe.{_LAZY[name] or name}")
    value = module if _LAZY[name] is None else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
