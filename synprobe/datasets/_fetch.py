"""How :func:`synprobe.datasets.fetch` gets a catalog entry: from the cache, a download, or generation.

:func:`fetch` returns a cached finished file at once; otherwise, holding the entry's lock, it tries
each URL (:func:`download`: resumed with HTTP Range up to ``RETRIES`` times, verified, renamed)
and generates the file locally from its recipe and seed when no URL is listed or none answers.
"""

from __future__ import annotations

import os
from pathlib import Path

from synprobe.config import offline
from synprobe.datasets._cache import cache_path, incomplete, is_complete, locked, note, write_source
from synprobe.datasets._catalog import CatalogEntry, catalog_entry
from synprobe.datasets._download import (
    DownloadError,
    Interrupted,
    Unreachable,
    VerificationError,
    transfer,
    verify,
)
from synprobe.errors import SynprobeError
from synprobe.generator import generate
from synprobe.paths import fsync_path

RETRIES = 3  # automatic resumes (HTTP Range) after a lost connection, per URL and call


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
    if not force and is_complete(final):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with locked(final.parent / ".lock", progress):
        if force:
            final.unlink(missing_ok=True)
            incomplete(final).unlink(missing_ok=True)
        elif is_complete(final):  # another process finished it while we waited
            return final
        elif final.exists():
            note(f"{final}: not a finished dataset file; fetching {entry.name} again", progress)
            final.unlink()
        unreachable = download_any(entry, final, progress)
        if unreachable is None:
            return final
        generate_locally(entry, final, progress, generate_workers, force, unreachable)
    return final


def download_any(entry: CatalogEntry, final: Path, progress: bool) -> list[str] | None:
    """Try each URL; None once ``final`` is in place, else why each URL was unreachable.

    Raises the failure of the last URL if any URL answered but failed (verification or a lost
    connection): those are not silently replaced by a locally generated file.
    """
    if not entry.urls:
        return []
    if offline():
        return ["SYNPROBE_OFFLINE is set"]
    unreachable, failed = [], []
    for url in entry.urls:
        try:
            download(url, entry, final, progress)
        except Unreachable as e:
            unreachable.append(str(e))
            continue
        except (DownloadError, VerificationError) as e:
            failed.append(e)
            continue
        write_source(final, {"source": url, "sha256": entry.sha256, "size": entry.size})
        return None
    if len(failed) == 1 and not unreachable:
        raise failed[0]
    if failed:
        raise type(failed[-1])(f"{entry.name}: every URL failed: " + "; ".join([*map(str, failed), *unreachable]))
    return unreachable


def download(url: str, entry: CatalogEntry, final: Path, progress: bool) -> None:
    """``url`` into ``final``: resumed up to ``RETRIES`` times, verified, then renamed into place."""
    tmp = incomplete(final)
    why = ""
    for _attempt in range(RETRIES + 1):
        have = tmp.stat().st_size if tmp.exists() else 0
        if have > entry.size:  # not a prefix of this file
            tmp.unlink()
            have = 0
        if have == entry.size:
            break
        try:
            transfer(url, entry, tmp, have, progress)
            break
        except Interrupted as e:
            why = str(e)
    else:
        have = tmp.stat().st_size if tmp.exists() else 0
        raise DownloadError(
            f"{url}: connection lost at {have}/{entry.size} bytes ({why}); {tmp} is kept: run again to resume"
        )
    verify(url, entry, tmp)
    os.replace(tmp, final)
    fsync_path(final.parent)


# --------------------------------------------------------------------------- generate


def generate_locally(entry: CatalogEntry, final: Path, progress: bool, workers, force: bool, why: list[str]) -> None:
    """Generate ``final`` locally (``generate`` writes ``.<name>.h5.tmp`` and renames it)."""
    partial = final.with_name(final.name + ".partial")
    resume = partial.exists() and not force
    kw = dict(seed=entry.seed, resolution=entry.resolution, workers=workers, progress=progress)
    try:
        generate(entry.recipe, entry.n, final, resume=resume, overwrite=not resume, **kw)
    except SynprobeError:
        if not resume:
            raise
        note(f"{partial}: cannot resume; generating {entry.name} from the start", progress)
        generate(entry.recipe, entry.n, final, overwrite=True, **kw)
    incomplete(final).unlink(missing_ok=True)  # a download that never finished is useless now
    write_source(final, {"source": "generated", "recipe": entry.recipe, "seed": entry.seed, "n": entry.n})
    reason = f" ({'; '.join(why)})" if why else ""
    note(
        f"no download available for {entry.name}{reason}: generated locally from recipe {entry.recipe}, "
        f"seed {entry.seed} -> {final}",
        progress or bool(why),
    )  # a URL that failed is always said
