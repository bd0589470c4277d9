"""File checksums: one streamed sha256 for fonts, downloads, dataset files and streams.

    >>> from synprobe.checksum import file_sha256      # doctest: +SKIP
    >>> file_sha256("default.h5")[:12]                  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

__all__ = ["file_sha256", "file_sha256_cached"]

BLOCK = 1 << 22  # bytes per read


def file_sha256(path) -> str:
    """Hex sha256 of a file's bytes, read in 4 MiB blocks (any size, constant memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(BLOCK):
            h.update(block)
    return h.hexdigest()


@functools.lru_cache(maxsize=64)
def _cached(path: str, mtime_ns: int, size: int) -> str:
    return file_sha256(path)


def file_sha256_cached(path) -> str:
    """:func:`file_sha256`, computed once per file version (path, mtime, size) in this process: for the
    training harness, which checks the same dataset file for every run of a memorization estimate."""
    st = os.stat(path)
    return _cached(str(Path(path).resolve()), st.st_mtime_ns, st.st_size)
