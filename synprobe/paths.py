"""Where synprobe finds its bundled data (fonts, generator and scenario recipes) and user data.

In a wheel the bundled folders live under ``synprobe/_data/``; in a source checkout (editable
install) they are the repository's top-level ``fonts/``, ``generators/`` and ``scenarios/``.
User-added fonts live under ``$SYNPROBE_HOME`` (default ``~/.local/share/synprobe``).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["BUNDLED_PREFIX", "bundled", "portable_path", "resolve_portable", "user_home"]

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


def user_home() -> Path:
    """Per-user data folder (user fonts), from ``$SYNPROBE_HOME`` if set (see :mod:`synprobe.config`)."""
    from synprobe.config import user_home as _user_home

    return _user_home()
