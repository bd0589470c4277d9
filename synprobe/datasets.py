"""Named datasets: a catalog, a verified download cache, and local generation on a miss.

    >>> from synprobe.datasets import fetch, list_catalog
    >>> sorted(list_catalog())[:3]                                  # doctest: +SKIP
    ['camouflage', 'counting', 'default']
    >>> path = fetch("default-1k")       # cached HDF5 file (format v1)  # doctest: +SKIP

How :func:`fetch` gets a catalog entry (sections below follow this order):

1. catalog  ``synprobe/catalog.toml`` plus the tables of ``$SYNPROBE_CATALOG`` (same names win)
2. cache    ``$SYNPROBE_CACHE/datasets/<name>/<config_id>/<name>.h5``, where ``config_id`` hashes
            (recipe, n, seed, resolution, format); a finished file there is returned at once
3. download under ``<dir>/.lock``: each URL in turn into ``<name>.h5.incomplete`` (resumed with an
            HTTP Range request when a partial file is there), size + sha256 checked, fsync, rename
4. generate when no URL is listed or none answers (or ``$SYNPROBE_OFFLINE`` is set):
            :func:`synprobe.generator.generate` writes atomically (and resumes after a crash)

Verification failures delete the bad file and raise; an interrupted transfer keeps its
``.incomplete`` file so that the next call resumes it.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import logging
import os
import re
import sys
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from synprobe.checksum import file_sha256
from synprobe.errors import SynprobeError

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

CATALOG = Path(__file__).with_name("catalog.toml")  # bundled catalog (shipped inside the package)
BLOCK = 1 << 20  # bytes per read while downloading
TIMEOUT = 60  # seconds without data before a connection counts as lost
RETRIES = 3  # automatic resumes (HTTP Range) after a lost connection, per URL and call

logger = logging.getLogger(__name__)


class InvalidCatalog(SynprobeError, ValueError):
    """A catalog TOML file is malformed (message: file, entry.field, what is allowed)."""


class UnknownDataset(SynprobeError, LookupError):
    """A name is neither a file nor a catalog entry."""


class DownloadError(SynprobeError, OSError):
    """A download could not be completed (the partial file is kept for resuming)."""


class VerificationError(SynprobeError, ValueError):
    """A downloaded file has the wrong size or sha256 (it has been deleted)."""


def _env_catalog() -> Path | None:
    from synprobe.config import catalog_override

    return catalog_override()


def _env_offline() -> bool:
    from synprobe.config import offline

    return offline()


# --------------------------------------------------------------------------- catalog

_KEYS = ("recipe", "n", "seed", "resolution", "description", "urls", "sha256", "size")


@dataclass(frozen=True)
class CatalogEntry:
    """One named dataset: how to generate it, and optionally where a verified copy is hosted."""

    name: str
    recipe: str  # bundled recipe name or recipe TOML path
    n: int  # number of samples
    seed: int = 0  # dataset seed
    resolution: tuple[int, int] | None = None  # (H, W) override of the recipe's resolution
    description: str = ""
    urls: tuple[str, ...] = ()  # http(s):// or file:// mirrors, tried in order
    sha256: str | None = None  # hex digest of the hosted file
    size: int | None = None  # bytes of the hosted file
    source: str = field(default="<catalog>", compare=False)  # file the entry was read from

    def __post_init__(self):
        def bad(key, msg):
            raise InvalidCatalog(f"{self.source}: {self.name}.{key}: {msg}")

        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", self.name):
            bad("name", "use letters, digits, '-', '_' and '.'")
        if not isinstance(self.recipe, str) or not self.recipe:
            bad("recipe", f"expected a recipe name (see `synprobe recipes`) or a TOML path, got {self.recipe!r}")
        for key, lo in (("n", 1), ("seed", 0)):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < lo:
                bad(key, f"expected an integer >= {lo}, got {v!r}")
        res = self.resolution
        if res is not None:
            res = (res, res) if isinstance(res, int) and not isinstance(res, bool) else tuple(res)
            if len(res) != 2 or not all(isinstance(v, int) and 8 <= v <= 256 for v in res):
                bad("resolution", f"expected an integer or [H, W] in 8..256, got {self.resolution!r}")
            object.__setattr__(self, "resolution", res)
        object.__setattr__(self, "urls", tuple(self.urls))
        for u in self.urls:
            if not isinstance(u, str) or not u.startswith(("http://", "https://", "file://")):
                bad("urls", f"expected http://, https:// or file:// URLs, got {u!r}")
        if self.urls or self.sha256 is not None:
            if not isinstance(self.sha256, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", self.sha256):
                bad("sha256", f"expected 64 hex digits (required with urls), got {self.sha256!r}")
            object.__setattr__(self, "sha256", self.sha256.lower())
        if self.urls or self.size is not None:
            if not isinstance(self.size, int) or isinstance(self.size, bool) or self.size < 1:
                bad("size", f"expected the file size in bytes (required with urls), got {self.size!r}")

    def config(self) -> dict:
        """What defines the samples: hashed into the cache path."""
        from synprobe.io.h5 import FORMAT

        res = list(self.resolution) if self.resolution else None
        return {"recipe": self.recipe, "n": self.n, "seed": self.seed, "resolution": res, "format": FORMAT,
                "recipe_json": _recipe_fingerprint(self.recipe, self.resolution), "fonts": _fonts_fingerprint()}

    @property
    def config_id(self) -> str:
        """First 16 hex digits of the sha256 of the canonical JSON of :meth:`config`."""
        text = json.dumps(self.config(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _recipe_fingerprint(recipe: str, resolution) -> str:
    """sha256 of the resolved recipe: editing a recipe file gives a new cache folder."""
    from synprobe.recipe import recipe_json, resolve_recipe

    try:
        text = recipe_json(resolve_recipe(recipe, resolution))
    except SynprobeError:
        text = recipe  # reported when the dataset is generated
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _fonts_fingerprint() -> str:
    """sha256 of the samplable fonts (bundled + user-added): adding fonts gives a new cache folder."""
    from synprobe.fonts import FontRegistry

    reg = FontRegistry.load()
    return hashlib.sha256(json.dumps([[f, reg.entry(f).sha256] for f in reg.ids()]).encode()).hexdigest()[:16]


def _read_catalog(path: Path) -> dict[str, CatalogEntry]:
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise InvalidCatalog(f"{path}: not valid TOML: {e}") from None
    except OSError as e:
        raise InvalidCatalog(f"{path}: cannot read the catalog ({e.strerror or e}); check SYNPROBE_CATALOG") from None
    out = {}
    for name, t in doc.items():
        if not isinstance(t, dict):
            raise InvalidCatalog(f"{path}: {name}: expected a table [{name}] with keys {', '.join(_KEYS)}")
        for k in t:
            if k not in _KEYS:
                near = difflib.get_close_matches(k, _KEYS, n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise InvalidCatalog(f"{path}: {name}.{k}: unknown key{hint}; allowed: {', '.join(_KEYS)}")
        for k in ("recipe", "n"):
            if k not in t:
                raise InvalidCatalog(f"{path}: {name}.{k}: missing (required)")
        out[name] = CatalogEntry(name=name, source=str(path), **t)
    return out


def list_catalog() -> dict[str, CatalogEntry]:
    """Catalog name -> entry: the bundled catalog, updated with ``$SYNPROBE_CATALOG``'s tables."""
    entries = _read_catalog(CATALOG)
    extra = _env_catalog()
    if extra is not None:
        entries.update(_read_catalog(extra))
    return entries


def catalog_entry(name: str) -> CatalogEntry:
    """The catalog entry ``name``; :class:`UnknownDataset` (with close matches) otherwise."""
    entries = list_catalog()
    if name in entries:
        return entries[name]
    near = difflib.get_close_matches(name, list(entries), n=3)
    hint = f" (did you mean {', '.join(map(repr, near))}?)" if near else ""
    raise UnknownDataset(f"{name}: no such file or catalog dataset{hint}; catalog: {', '.join(entries)} "
                         "(add entries with SYNPROBE_CATALOG=my.toml)")


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


def _fsync_dir(d: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):  # not possible on Windows
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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


class _Unreachable(Exception):
    """The URL gave no data at all (refused, DNS, HTTP 4xx/5xx): try the next one."""


class _Interrupted(Exception):
    """The connection was lost part-way: resume with a Range request."""


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
    _fsync_dir(final.parent)


def _transfer(url: str, entry: CatalogEntry, tmp: Path, have: int, progress: bool) -> None:
    """Append the rest of ``url`` from byte ``have`` to ``tmp`` (or rewrite it from 0)."""
    from http.client import HTTPException

    from tqdm import tqdm

    stream, start, total = _open(url, have)
    with stream:
        if total is not None and total != entry.size:
            tmp.unlink(missing_ok=True)
            raise VerificationError(f"{url}: size mismatch: expected {entry.size} bytes, the server has {total}; "
                                    "nothing was kept (fix the catalog entry or the mirror)")
        with open(tmp, "ab" if start else "wb") as f, tqdm(
            total=entry.size, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
            desc=f"download {entry.name}", disable=not progress, dynamic_ncols=True,
        ) as bar:
            try:
                while buf := stream.read(BLOCK):
                    f.write(buf)
                    bar.update(len(buf))
            except (OSError, HTTPException) as e:
                raise _Interrupted(f"{type(e).__name__}: {e}") from None
            finally:
                f.flush()
                os.fsync(f.fileno())
    if tmp.stat().st_size < entry.size:
        raise _Interrupted("the server closed the connection early")


def _open(url: str, offset: int):
    """(readable stream, byte offset it starts at, total file size or None)."""
    if url.startswith("file://"):
        from urllib.parse import urlparse
        from urllib.request import url2pathname

        path = url2pathname(urlparse(url).path)
        try:
            f = open(path, "rb")
        except OSError as e:
            raise _Unreachable(f"{url}: {e.strerror or e}") from None
        total = os.fstat(f.fileno()).st_size
        start = offset if offset <= total else 0
        f.seek(start)
        return f, start, total

    from http.client import HTTPException
    from urllib.error import HTTPError, URLError
    from urllib.request import Request, urlopen

    from synprobe import __version__

    headers = {"User-Agent": f"synprobe/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        r = urlopen(Request(url, headers=headers), timeout=TIMEOUT)
    except HTTPError as e:
        e.close()
        if e.code == 416 and offset:  # range not satisfiable: start again from zero
            return _open(url, 0)
        raise _Unreachable(f"{url}: HTTP {e.code} {e.reason}") from None
    except (URLError, OSError, HTTPException) as e:
        raise _Unreachable(f"{url}: {getattr(e, 'reason', None) or e}") from None
    if r.status == 206:
        m = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", r.headers.get("Content-Range", ""))
        if m and int(m[1]) == offset:
            return r, offset, None if m[2] == "*" else int(m[2])
        r.close()
        return _open(url, 0)
    length = r.headers.get("Content-Length")
    return r, 0, int(length) if length and length.isdigit() else None


def _verify(url: str, entry: CatalogEntry, tmp: Path) -> None:
    """Size, then sha256; a bad file is deleted (a bad prefix must not be resumed)."""
    size = tmp.stat().st_size
    if size != entry.size:
        tmp.unlink()
        raise VerificationError(f"{url}: size mismatch: expected {entry.size} bytes, got {size}; "
                                "the bad file was deleted")
    digest = file_sha256(tmp)
    if digest != entry.sha256:
        tmp.unlink()
        raise VerificationError(f"{url}: sha256 mismatch: expected {entry.sha256}, got {digest}; "
                                "the bad file was deleted")


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
          f"seed {entry.seed} -> {final}", progress)


# --------------------------------------------------------------------------- listing


def entry_dict(entry: CatalogEntry) -> dict:
    """A JSON-ready dict of an entry (``urls`` as a list)."""
    d = asdict(entry)
    d["urls"] = list(entry.urls)
    d["resolution"] = list(entry.resolution) if entry.resolution else None
    return d
