"""Where synprobe finds its bundled data (fonts, generator and scenario recipes) and user data.

In a wheel the bundled folders live under ``synprobe/_data/``; in a source checkout (editable
install) they are the repository's top-level ``fonts/``, ``generators/`` and ``scenarios/``.
User-added fonts live under ``$SYNPROBE_HOME`` (default ``~/.local/share/synprobe``).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["bundled", "user_home"]

_PKG = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """Path of a bundled data folder: ``fonts``, ``generators`` or ``scenarios``."""
    for cand in (_PKG / "_data" / name, _PKG.parent / name):
        if cand.is_dir():
            return cand
    return _PKG / "_data" / name


def user_home() -> Path:
    """Per-user data folder (user fonts), from ``$SYNPROBE_HOME`` if set (see :mod:`synprobe.config`)."""
    from synprobe.config import user_home as _user_home

    return _user_home()
