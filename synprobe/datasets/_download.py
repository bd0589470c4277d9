"""The transfer of one URL for :mod:`synprobe.datasets`: open, stream, verify.

Holds the opening of a ``file://`` or ``http(s)://`` URL (resumed with an HTTP Range request from a
byte offset), the streaming into ``<name>.h5.incomplete`` with fsync, and the size + sha256 check.
:class:`DownloadError` and :class:`VerificationError` live here so that these can raise them; the
retries and the rename are in ``_fetch``, the lock in ``_cache``.
"""

from __future__ import annotations

import os
import re
from http.client import HTTPException
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse
from urllib.request import Request, url2pathname, urlopen

from tqdm import tqdm

from synprobe._version import __version__
from synprobe.checksum import file_sha256
from synprobe.datasets._catalog import CatalogEntry
from synprobe.errors import SynprobeError

BLOCK = 1 << 20  # bytes per read while downloading
TIMEOUT = 60  # seconds without data before a connection counts as lost


class DownloadError(SynprobeError, OSError):
    """A download could not be completed (the partial file is kept for resuming)."""


class VerificationError(SynprobeError, ValueError):
    """A downloaded file has the wrong size or sha256 (it has been deleted)."""


class Unreachable(Exception):
    """The URL gave no data at all (refused, DNS, HTTP 4xx/5xx): try the next one."""


class Interrupted(Exception):
    """The connection was lost part-way: resume with a Range request."""


def transfer(url: str, entry: CatalogEntry, tmp: Path, have: int, progress: bool) -> None:
    """Append the rest of ``url`` from byte ``have`` to ``tmp`` (or rewrite it from 0)."""
    stream, start, total = open_url(url, have)
    with stream:
        if total is not None and total != entry.size:
            tmp.unlink(missing_ok=True)
            raise VerificationError(
                f"{url}: size mismatch: expected {entry.size} bytes, the server has {total}; "
                "nothing was kept (fix the catalog entry or the mirror)"
            )
        with (
            open(tmp, "ab" if start else "wb") as f,
            tqdm(
                total=entry.size,
                initial=start,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=f"download {entry.name}",
                disable=not progress,
                dynamic_ncols=True,
            ) as bar,
        ):
            left = entry.size - start  # never more than the catalog's size, whatever the server sends
            try:
                while left > 0 and (buf := stream.read(min(BLOCK, left))):
                    f.write(buf)
                    bar.update(len(buf))
                    left -= len(buf)
                extra = stream.read(1) if left == 0 else b""
            except (OSError, HTTPException) as e:
                raise Interrupted(f"{type(e).__name__}: {e}") from None
            finally:
                f.flush()
                os.fsync(f.fileno())
    if extra:
        tmp.unlink(missing_ok=True)
        raise VerificationError(
            f"{url}: the server sends more than the catalog's {entry.size} bytes; "
            "nothing was kept (fix the catalog entry or the mirror)"
        )
    if tmp.stat().st_size < entry.size:
        raise Interrupted("the server closed the connection early")


def open_url(url: str, offset: int):
    """(readable stream, byte offset it starts at, total file size or None)."""
    if url.startswith("file://"):
        path = url2pathname(urlparse(url).path)
        try:
            f = open(path, "rb")
        except OSError as e:
            raise Unreachable(f"{url}: {e.strerror or e}") from None
        total = os.fstat(f.fileno()).st_size
        start = offset if offset <= total else 0
        f.seek(start)
        return f, start, total

    for start in dict.fromkeys((offset, 0)):  # the offset asked for, then (once) from the beginning
        headers = {"User-Agent": f"synprobe/{__version__}"}
        if start:
            headers["Range"] = f"bytes={start}-"
        try:
            r = urlopen(Request(url, headers=headers), timeout=TIMEOUT)
        except HTTPError as e:
            e.close()
            if e.code == 416 and start:  # range not satisfiable: start again from zero
                continue
            raise Unreachable(f"{url}: HTTP {e.code} {e.reason}") from None
        except (URLError, OSError, HTTPException) as e:
            raise Unreachable(f"{url}: {getattr(e, 'reason', None) or e}") from None
        if r.status == 206:
            m = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", r.headers.get("Content-Range", ""))
            if m and int(m[1]) == start:
                return r, start, None if m[2] == "*" else int(m[2])
            r.close()  # a part of the file other than the one asked for: start again from zero
            continue
        length = r.headers.get("Content-Length")
        return r, 0, int(length) if length and length.isdigit() else None
    raise Unreachable(f"{url}: the server answers with another byte range than the one asked for (Content-Range)")


def verify(url: str, entry: CatalogEntry, tmp: Path) -> None:
    """Size, then sha256; a bad file is deleted (a bad prefix must not be resumed)."""
    size = tmp.stat().st_size
    if size != entry.size:
        tmp.unlink()
        raise VerificationError(
            f"{url}: size mismatch: expected {entry.size} bytes, got {size}; the bad file was deleted"
        )
    digest = file_sha256(tmp)
    if digest != entry.sha256:
        tmp.unlink()
        raise VerificationError(
            f"{url}: sha256 mismatch: expected {entry.sha256}, got {digest}; the bad file was deleted"
        )
