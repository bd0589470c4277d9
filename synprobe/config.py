"""Settings read from the environment (the only module that reads them).

- ``SYNPROBE_HOME``: user data (added fonts); default ``$XDG_DATA_HOME/synprobe`` or
  ``~/.local/share/synprobe``.
- ``SYNPROBE_CACHE``: caches (compiled kernels, downloads); default ``$XDG_CACHE_HOME/synprobe``
  or ``~/.cache/synprobe``.
- ``SYNPROBE_KERNELS``: ``auto`` (default), ``c`` or ``numba``: which compiled rendering kernels
  to use (same bytes; see :mod:`synprobe.render.backend`). ``CC`` names the C compiler. numba
  caches its compiled kernels in ``$NUMBA_CACHE_DIR``, by default ``$SYNPROBE_CACHE/numba``.
- ``SYNPROBE_FSYNC``: ``0`` skips flushing a finished dataset file to disk (scratch data on a
  machine whose power is not a concern; saves ~0.2 s per 100k 32x32 images).
- ``SYNPROBE_GLYPH_CACHE``: ``0`` turns off the on-disk glyph atlas cache
  (``$SYNPROBE_CACHE/glyphs``), which saves rasterising the same glyphs in every run.
- ``SYNPROBE_CATALOG``: an extra dataset catalog (TOML) whose entries override the bundled ones.
- ``SYNPROBE_OFFLINE``: ``1`` never touches the network; catalog datasets are generated locally.
- ``MLFLOW_ALLOW_FILE_STORE``: set to ``true`` (unless set) when a run logs to MLflow's ``file:`` store.
- ``RAY_ADDRESS``: the Ray cluster ``synprobe generate --backend ray`` and ``synprobe sweep --backend ray``
  join when no ``--address`` is given (Ray's own variable); unset: a new local Ray on this machine.
- ``SOURCE_DATE_EPOCH``: when set, the ``created`` timestamp written into dataset files, so
  that two runs give identical bytes (the reproducible-builds convention).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = [
    "allow_mlflow_file_store", "c_compiler", "cache_home", "catalog_override", "created_timestamp", "environment",
    "fsync_enabled", "glyph_cache_dir", "kernels_setting", "offline", "ray_address", "use_numba_cache", "user_home",
]  # fmt: skip


def cache_home() -> Path:
    env = os.environ.get("SYNPROBE_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "synprobe"


def user_home() -> Path:
    env = os.environ.get("SYNPROBE_HOME")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "synprobe"


def glyph_cache_dir() -> Path | None:
    """Folder of the on-disk glyph atlases, or None when disabled."""
    if os.environ.get("SYNPROBE_GLYPH_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    return cache_home() / "glyphs"


def catalog_override() -> Path | None:
    v = os.environ.get("SYNPROBE_CATALOG", "").strip()
    return Path(v).expanduser() if v else None


def offline() -> bool:
    return os.environ.get("SYNPROBE_OFFLINE", "0").strip().lower() not in ("", "0", "false", "no", "off")


def ray_address() -> str | None:
    """``RAY_ADDRESS``, the Ray cluster to join (``ray://host:10001``, ``host:6379`` or ``auto``), when set."""
    return os.environ.get("RAY_ADDRESS", "").strip() or None


def created_timestamp() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch) if epoch else None))


def kernels_setting() -> str:
    """``SYNPROBE_KERNELS`` as written (default ``auto``); :mod:`synprobe.render.backend` checks it."""
    return os.environ.get("SYNPROBE_KERNELS", "auto")


def c_compiler() -> str | None:
    """``CC``, the C compiler command the C kernels are built with, when set."""
    return os.environ.get("CC") or None


def use_numba_cache() -> None:
    """Point numba's cache of compiled kernels at ``$SYNPROBE_CACHE/numba`` unless
    ``NUMBA_CACHE_DIR`` is set (call before numba is imported: numba reads it then)."""
    os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_home() / "numba"))


def allow_mlflow_file_store() -> None:
    """Let MLflow 3 open the ``file:`` tracking store the run loggers write by default (it refuses unless
    ``MLFLOW_ALLOW_FILE_STORE`` is true); a value already set is kept."""
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")


def fsync_enabled() -> bool:
    """Whether a finished dataset file is flushed to disk (``SYNPROBE_FSYNC``, default on)."""
    return os.environ.get("SYNPROBE_FSYNC", "1") != "0"


def environment() -> dict[str, str]:
    """The settings this module reads that are set (``SYNPROBE_*``, ``SOURCE_DATE_EPOCH``, ``RAY_ADDRESS``)."""
    named = ("SOURCE_DATE_EPOCH", "RAY_ADDRESS")
    return {k: v for k, v in sorted(os.environ.items()) if k.startswith("SYNPROBE_") or k in named}
