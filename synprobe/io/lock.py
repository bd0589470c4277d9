"""One writer per output file: an advisory lock held for a whole generation run.

    >>> from pathlib import Path
    >>> with output_lock(Path("/tmp/doc.h5")):   # doctest: +SKIP
    ...     ...                                  # a second run on /tmp/doc.h5 gets OutputLocked

The lock is ``fcntl.flock`` on ``.OUT.lock`` beside the output (the folder ``OUT.partial/`` may be
removed and re-created under it by ``--overwrite``). The holder writes its pid into the file so
that a refused run can name it. The kernel drops the lock when the holder dies, even by ``kill -9``:
a stale lock file is harmless and is taken over by the next run. The file is removed on release;
a run that opened it just before the removal notices (the path no longer names the inode it
locked) and tries again.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from synprobe.errors import SynprobeError

__all__ = ["OutputLocked", "lock_path", "output_lock"]


class OutputLocked(SynprobeError):
    """Another process is writing the same output."""


def lock_path(out: Path) -> Path:
    return out.with_name(f".{out.name}.lock")


@contextlib.contextmanager
def output_lock(out: Path):
    """Hold the output's lock for the duration of the ``with`` block, or raise :class:`OutputLocked`."""
    import fcntl

    path = lock_path(out)
    for _ in range(100):  # retried only when the file was removed between open and lock
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise OutputLocked(f"{out}: another synprobe process (pid {holder}) is writing it; wait for it to "
                               "finish or stop it first") from None
        except OSError as e:
            os.close(fd)
            raise SynprobeError(f"{path}: cannot lock the output ({e.strerror})") from None
        if _same_file(fd, path):
            break
        os.close(fd)
    else:  # pragma: no cover - a lock file removed 100 times in a row
        raise SynprobeError(f"{path}: could not take the output lock")
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            if _same_file(fd, path):
                os.unlink(path)
        os.close(fd)  # releases the lock


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
