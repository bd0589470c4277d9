"""The local cache of :mod:`synprobe.datasets`: where a catalog entry's file lives, and its lock.

Holds :func:`cache_path` (``$SYNPROBE_CACHE/datasets/<name>/<config_id>/<name>.h5``),
:func:`cache_status`, the ``.incomplete`` file of a download, the test of a finished file, the
exclusive lock of an entry's folder, ``source.json`` (where the file came from) and the notes
that fetching prints and logs on the ``synprobe.datasets`` logger.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path

from synprobe.config import cache_home
from synprobe.datasets._catalog import catalog_entry
from synprobe.errors import SynprobeError
from synprobe.io.h5 import open_dataset

logger = logging.getLogger("synprobe.datasets")  # the name the docs give (datasets.md), for every module here


def cache_path(name: str) -> Path:
    """Where ``fetch(name)`` puts the file: ``$SYNPROBE_CACHE/datasets/<name>/<config_id>/<name>.h5``."""
    e = catalog_entry(name)
    return cache_home() / "datasets" / e.name / e.config_id / f"{e.name}.h5"


def cache_status(name: str) -> str:
    """``"cached"``, ``"partial"`` (an interrupted download or generation) or ``"missing"``."""
    p = cache_path(name)
    if p.is_file():
        return "cached"
    if incomplete(p).exists() or p.with_name(p.name + ".partial").exists():
        return "partial"
    return "missing"


def incomplete(final: Path) -> Path:
    """Where a download of ``final`` is written (and resumed from) until it is verified."""
    return final.with_name(final.name + ".incomplete")


def is_complete(path: Path) -> bool:
    """A finished dataset file (``open_dataset`` succeeds)."""
    if not path.is_file():
        return False
    try:
        open_dataset(path).close()
    except (SynprobeError, OSError):
        return False
    return True


@contextlib.contextmanager
def locked(path: Path, progress: bool):
    """Hold an exclusive lock on ``path`` (POSIX ``flock``; ``msvcrt.locking`` on Windows).

    The lock file is never deleted (deleting lock files races); advisory only, and on some
    network file systems it only excludes processes of the same machine.
    """
    f = open(path, "a+b")
    try:
        try:
            import fcntl
        except ImportError:  # Windows
            import msvcrt

            f.seek(0)
            while True:
                try:
                    msvcrt.locking(f.fileno(), msvcrt.LK_LOCK, 1)  # retries for 10 s, then OSError
                    break
                except OSError:
                    note(f"waiting for another process holding {path}", progress)
            unlock = lambda: (f.seek(0), msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1))
        else:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                note(f"waiting for another process holding {path}", progress)
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            unlock = lambda: fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        try:
            yield
        finally:
            unlock()
    finally:
        f.close()


def note(msg: str, progress: bool) -> None:
    """Log ``msg`` (INFO on ``synprobe.datasets``) and, with ``progress``, print it on stderr."""
    logger.info(msg)
    if progress:
        print(msg, file=sys.stderr, flush=True)


def write_source(final: Path, info: dict) -> None:
    """``source.json`` next to the file: where it came from (informative, written atomically)."""
    tmp = final.with_name(".source.json.tmp")
    tmp.write_text(json.dumps({**info, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=1))
    os.replace(tmp, final.with_name("source.json"))
