"""Named datasets: a catalog, a verified download cache, and local generation on a miss.

    >>> from synprobe.datasets import fetch, list_catalog
    >>> sorted(list_catalog())[:3]                                  # doctest: +SKIP
    ['camouflage', 'counting', 'default']
    >>> path = fetch("default-1k")       # cached HDF5 file (format v1)  # doctest: +SKIP

How :func:`fetch` gets a catalog entry (the sections of these modules follow this order):

1. catalog  ``synprobe/catalog.toml`` plus the tables of ``$SYNPROBE_CATALOG`` (same names win)
2. cache    ``$SYNPROBE_CACHE/datasets/<name>/<config_id>/<name>.h5``, where ``config_id`` hashes
            (recipe, n, seed, resolution, format); a finished file there is returned at once
3. download under ``<dir>/.lock``: each URL in turn into ``<name>.h5.incomplete`` (resumed with an
            HTTP Range request when a partial file is there), size + sha256 checked, fsync, rename
4. generate when no URL is listed or none answers (or ``$SYNPROBE_OFFLINE`` is set):
            :func:`synprobe.generator.generate` writes atomically (and resumes after a crash)

Verification failures delete the bad file and raise; an interrupted transfer keeps its
``.incomplete`` file so that the next call resumes it.

The catalog (entries, validation, listing) is in :mod:`synprobe.datasets_catalog` and the transfer
of one URL (``file://`` or HTTP Range, size + sha256 check) in :mod:`synprobe.datasets_download`;
the cache, the lock, the retries and generation are here. Import everything from this module.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path

from synprobe.datasets_catalog import (
    CatalogEntry,
    InvalidCatalog,
    UnknownDataset,
    catalog_entry,
    entry_dict,
    list_catalog,
)
from synprobe.datasets_download import (
    DownloadError,
    VerificationError,
    _Interrupted,
    _transfer,
    _Unreachable,
    _verify,
)
from synprobe.errors import SynprobeError
from synprobe.paths import fsync_path

__all__ = [
    "CatalogEntry",
    "DownloadError",
    "InvalidCatalog",
    "UnknownDataset",
    "VerificationError",
    "cache_path",
    "cache_status",
    "catalog_entry",
    "entry_dict",
    "fetch",
    "list_catalog",
]

RETRIES = 3  # automatic resumes (HTTP Range) after a lost connection, per URL and call

logger = logging.getLogger(__name__)


def _env_offline() -> bool:
    from synprobe.config import offline

    return offline()


# --------------------------------------------------------------------------- cache


def cache_path(name: str) -> Path:
    """Where ``fetch(name)`` puts the file: ``$SYNPROBE_CACHE/datasets/<name>/<config_id>/<name>.h5``."""
    from synprobe.config import cache_home

    e = catalog_entry(name)
    return cache_home() / "datasets" / e.name / e.config_id / f"{e.name}.h5"


def cache_status(name: str) -> str:
    """``"cached"``, ``"partial"`` (an interrupted download or generation) or ``"missing"``."""
    p = cache_path(name)
    if p.is_file():
        return "cached"
    if _incomplete(p).exists() or p.with_name(p.name + ".partial").exists():
        return "partial"
    return "missing"


def _incomplete(final: Path) -> Path:
    return final.with_name(final.name + ".incomplete")


def _is_complete(path: Path) -> bool:
    """A finished dataset file (``open_dataset`` succeeds)."""
    from synprobe.io.h5 import open_dataset

    if not path.is_file():
        return False
    try:
        open_dataset(path).close()
    except (SynprobeError, OSError):
        return False
    return True


@contextlib.contextmanager
def _locked(path: Path, progress: bool):
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
                    _note(f"waiting for another process holding {path}", progress)
            unlock = lambda: (f.seek(0), msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1))
        else:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                _note(f"waiting for another process holding {path}", progress)
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            unlock = lambda: fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        try:
            yield
        finally:
            unlock()
    finally:
        f.close()


def _note(msg: str, progress: bool) -> None:
    logger.info(msg)
    if progress:
        print(msg, file=sys.stderr, flush=True)


def _write_source(final: Path, info: dict) -> None:
    """``source.json`` next to the file: where it came from (informative, written atomically)."""
    tmp = final.with_name(".source.json.tmp")
    tmp.write_text(json.dumps({**info, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=1))
    os.replace(tmp, final.with_name("source.json"))


# --------------------------------------------------------------------------- fetch


def fetch(name_or_path, *, progress: bool = True, force: bool = False, generate_workers: int | None = None) -> Path:
    """Path of a dataset file: an existing file as is, or a catalog entry from the cache.

    On a cache miss the entry is downloaded (verified against its size and sha256) or, when no
    URL is listed or none answers, generated locally from its recipe and seed.

    Args:
        name_or_path: path of an existing ``.h5`` file, or a catalog name (``synprobe datasets``).
        progress: show progress bars and notes on stderr.
        force: fetch again even if a finished file is cached (downloads restart from zero).
        generate_workers: processes when generating locally (default: all cores).

    Returns:
        The path of a finished dataset file (format v1, see ``docs/format.md``).
    """
    p = Path(name_or_path)
    if p.is_file():
        return p
    entry = catalog_entry(str(name_or_path))
    final = cache_path(entry.name)
    if not force and _is_complete(final):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with _locked(final.parent / ".lock", progress):
        if force:
            final.unlink(missing_ok=True)
            _incomplete(final).unlink(missing_ok=True)
        elif _is_complete(final):  # another process finished it while we waited
            return final
        elif final.exists():
            _note(f"{final}: not a finished dataset file; fetching {entry.name} again", progress)
            final.unlink()
        unreachable = _download_any(entry, final, progress)
        if unreachable is None:
            return final
        _generate(entry, final, progress, generate_workers, force, unreachable)
    return final


def _download_any(entry: CatalogEntry, final: Path, progress: bool) -> list[str] | None:
    """Try each URL; None once ``final`` is in place, else why each URL was unreachable.

    Raises the failure of the last URL if any URL answered but failed (verification or a lost
    connection): those are not silently replaced by a locally generated file.
    """
    if not entry.urls:
        return []
    if _env_offline():
        return ["SYNPROBE_OFFLINE is set"]
    unreachable, failed = [], []
    for url in entry.urls:
        try:
            _download(url, entry, final, progress)
        except _Unreachable as e:
            unreachable.append(str(e))
            continue
        except (DownloadError, VerificationError) as e:
            failed.append(e)
            continue
        _write_source(final, {"source": url, "sha256": entry.sha256, "size": entry.size})
        return None
    if len(failed) == 1 and not unreachable:
        raise failed[0]
    if failed:
        raise type(failed[-1])(f"{entry.name}: every URL failed: " + "; ".join([*map(str, failed), *unreachable]))
    return unreachable



def _download(url: str, entry: CatalogEntry, final: Path, progress: bool) -> None:
    tmp = _incomplete(final)
    why = ""
    for _attempt in range(RETRIES + 1):
        have = tmp.stat().st_size if tmp.exists() else 0
        if have > entry.size:  # not a prefix of this file
            tmp.unlink()
            have = 0
        if have == entry.size:
            break
        try:
            _transfer(url, entry, tmp, have, progress)
            break
        except _Interrupted as e:
            why = str(e)
    else:
        have = tmp.stat().st_size if tmp.exists() else 0
        raise DownloadError(f"{url}: connection lost at {have}/{entry.size} bytes ({why}); {tmp} is kept: "
                            f"run again to resume")
    _verify(url, entry, tmp)
    os.replace(tmp, final)
    fsync_path(final.parent)



# --------------------------------------------------------------------------- generate


def _generate(entry: CatalogEntry, final: Path, progress: bool, workers, force: bool, why: list[str]) -> None:
    """Generate ``final`` locally (``generate`` writes ``.<name>.h5.tmp`` and renames it)."""
    from synprobe.generator import generate

    partial = final.with_name(final.name + ".partial")
    resume = partial.exists() and not force
    kw = dict(seed=entry.seed, resolution=entry.resolution, workers=workers, progress=progress)
    try:
        generate(entry.recipe, entry.n, final, resume=resume, overwrite=not resume, **kw)
    except SynprobeError:
        if not resume:
            raise
        _note(f"{partial}: cannot resume; generating {entry.name} from the start", progress)
        generate(entry.recipe, entry.n, final, overwrite=True, **kw)
    _incomplete(final).unlink(missing_ok=True)  # a download that never finished is useless now
    _write_source(final, {"source": "generated", "recipe": entry.recipe, "seed": entry.seed, "n": entry.n})
    reason = f" ({'; '.join(why)})" if why else ""
    _note(f"no download available for {entry.name}{reason}: generated locally from recipe {entry.recipe}, "
          f"seed {entry.seed} -> {final}", progress or bool(why))  # a URL that failed is always said
