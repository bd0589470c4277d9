"""Load a dataset file into memory for training: images, targets, a stable class table, splits.

    >>> from synprobe.load import load
    >>> ds = load("default.h5", split="train", target="font")           # doctest: +SKIP
    >>> ds.x.shape, ds.y.dtype, len(ds.classes)                          # doctest: +SKIP
    ((60000, 32, 32, 3), dtype('int64'), 1061)
    >>> train = ds.torch()                                               # doctest: +SKIP

Reads synprobe files (``docs/format.md``) and Synbols 1.0.2 files (``x``, ``mask``, ``y`` JSON
strings, ``split/<name>``; no ``attrs/``) through the same API. See ``docs/loading.md``.

Import from this module (``from synprobe.load import ...``): after ``import synprobe``, the
attribute ``synprobe.load`` is the function :func:`load`, not this module. Inside: ``_load`` (the
API and the resolver hook), ``_dataset`` (:class:`Dataset`, its torch view), ``_table`` (the
attribute table, Synbols parsing, its cache), ``_targets`` (target specs), ``_images`` (image
reads), ``_lazy`` (``lazy=True``: rows read from a memory map of the file).
"""

from __future__ import annotations

import sys
import types

from synprobe.load import _load
from synprobe.load._dataset import Dataset
from synprobe.load._load import load, read_table, set_resolver
from synprobe.load._table import LoadError, Table, file_table

__all__ = ["Dataset", "LoadError", "Table", "file_table", "load", "read_table", "resolver", "set_resolver"]


class _Face(types.ModuleType):
    """This module, whose ``resolver`` is the hook :func:`load` reads (one home: ``_load.resolver``),
    so that ``synprobe.load.resolver = fn`` (or a test's monkeypatch) and :func:`set_resolver` agree."""

    @property
    def resolver(self):
        return _load.resolver

    @resolver.setter
    def resolver(self, fn) -> None:
        set_resolver(fn)


sys.modules[__name__].__class__ = _Face
