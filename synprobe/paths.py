"""Where synprobe finds its bundled data (fonts, generator and scenario recipes) and user data.

In a wheel the bundled folders live under ``synprobe/_data/``; in a source checkout (editable
install) they are the repository's top-level ``fonts/``, ``generators/`` and ``scenarios/``.
User-added fonts live under ``$SYNPROBE_HOME`` (default ``~/.local/share/synprobe``).
"""

from __future__ import annotations

import itertools
import os
import stat
from pathlib import Path

from synprobe.config import user_home  # the per-user data folder (user fonts), kept here for fonts
from synprobe.errors import did_you_mean

__all__ = [
    "BUNDLED_PREFIX", "MAX_TEXT_FILE", "bundled", "format_size", "fsync_path", "missing_file_hint", "portable_path",
    "read_text_file", "resolve_portable", "user_home",
]

_PKG = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """Path of a bundled data folder: ``fonts``, ``generators`` or ``scenarios``."""
    for cand in (_PKG / "_data" / name, _PKG.parent / name):
        if cand.is_dir():
            return cand
    return _PKG / "_data" / name


BUNDLED_PREFIX = "bundled:"  # folder paths inside the bundled generators/ are recorded like this


def portable_path(folder: Path) -> str:
    """How a recipe records a folder: ``bundled:<path>`` when it lies inside the bundled
    ``generators/`` folder (so a dataset's recorded recipe is the same bytes on every install),
    the absolute path otherwise."""
    folder = folder.resolve()
    root = bundled("generators").resolve()
    if folder == root or root in folder.parents:
        return BUNDLED_PREFIX + folder.relative_to(root).as_posix()
    return str(folder)


def resolve_portable(path: str) -> Path:
    """Inverse of :func:`portable_path` (``~`` is expanded in plain paths)."""
    if path.startswith(BUNDLED_PREFIX):
        return bundled("generators") / path[len(BUNDLED_PREFIX):]
    return Path(path).expanduser()


MAX_TEXT_FILE = 1 << 20  # recipes and scenario recipes are a few KB; a larger file is a mistake


def read_text_file(path: Path, limit: int = MAX_TEXT_FILE) -> str:
    """The UTF-8 text of a small regular file (a recipe): never reads more than ``limit`` bytes, so
    that a path such as ``/dev/zero`` or a huge file fails at once instead of filling the memory.

    Raises:
        OSError: unreadable, not a regular file, or larger than ``limit`` (the message says which).
        UnicodeDecodeError: not UTF-8.
    """
    with open(path, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise OSError("not a regular file")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"larger than {limit:,} bytes; a recipe is a small TOML file")
    return data.decode("utf-8")


def format_size(n: float) -> str:
    """A byte count for people: ``"401.1 MB"`` (decimal units), ``"512 B"``."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return ""  # pragma: no cover


def fsync_path(path: Path) -> None:
    """Flush a file, or a folder's entries (after a rename), to the disk. A folder that cannot be
    flushed (some systems do not allow it) is not an error; a file that cannot be is."""
    folder = os.path.isdir(path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        if folder:
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not folder:
            raise
    finally:
        os.close(fd)


def missing_file_hint(path) -> str:
    """`` (did you mean 'default.h5'?)`` naming the file next to a missing ``path`` whose name is
    closest to it, or ``""``; at most 2,000 entries of the folder are looked at."""
    p = Path(path)
    try:
        with os.scandir(p.parent) as entries:
            names = [e.name for e in itertools.islice(entries, 2000) if e.is_file()]
    except OSError:
        return ""
    return did_you_mean(p.name, names)
