"""Errors raised by synprobe.

One base class, :class:`SynprobeError`; each subclass also derives from the built-in exception a
caller would expect (``ValueError``, ``FileNotFoundError``), so ``except ValueError`` still works.
Messages are one line and say what to change: the file, the field path and the allowed values.
"""

from __future__ import annotations

import difflib

__all__ = [
    "FontCoverageError",
    "FontError",
    "FormatError",
    "IncompleteFileError",
    "InvalidRecipe",
    "NotEnoughMemory",
    "SynprobeError",
    "did_you_mean",
    "install_hint",
]


def install_hint(extra: str) -> str:
    """What to type to install an optional extra (``train``, ``view``, ``dev``): synprobe is installed from a
    clone, not from a package index, so ``pip install 'synprobe[train]'`` would find nothing."""
    return f"pip install -e '.[{extra}]' (from the synprobe checkout)"


class SynprobeError(Exception):
    """Base class of every error synprobe raises on purpose."""


class InvalidRecipe(SynprobeError, ValueError):
    """A recipe (TOML file, dict or dataclass) is malformed.

    Args:
        source: where the recipe came from (a file path, or ``<recipe>`` for Python objects).
        path: dotted field path inside the recipe (``foreground.kind``); empty for the whole recipe.
        message: what is wrong and what is allowed.
    """

    def __init__(self, source: str, path: str, message: str):
        self.source, self.path, self.message = source, path, message
        where = f"{source}: {path}: " if path else f"{source}: "
        super().__init__(where + message)

    def __reduce__(self):  # picklable: errors travel back from worker processes
        return type(self), (self.source, self.path, self.message)


class FontError(SynprobeError, FileNotFoundError):
    """A font file is missing, unreadable or fails its checksum."""


class FontCoverageError(SynprobeError, ValueError):
    """A (font, char) pair outside the verified coverage table was asked for."""


class FormatError(SynprobeError, ValueError):
    """A file is not a dataset synprobe can read (wrong layout, missing fields)."""


class IncompleteFileError(FormatError):
    """A dataset file was not finished (no completion marker); resume or regenerate it."""


class NotEnoughMemory(SynprobeError, MemoryError):
    """Reading a file needs more memory than the process may allocate (the message names the file)."""


def did_you_mean(word, choices) -> str:
    """`` (did you mean 'x'?)`` naming the choice closest to ``word`` (difflib), or ``""`` if none is
    close: the tail of a one-line message about a misspelt name."""
    near = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""
