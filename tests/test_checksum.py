"""One streamed sha256 for every file the project checks; the cached variant follows file changes."""

from __future__ import annotations

import hashlib
import os

from synprobe.checksum import BLOCK, file_sha256, file_sha256_cached


def test_streamed_hash_equals_hashlib_across_block_boundaries(tmp_path):
    p = tmp_path / "f.bin"
    data = os.urandom(BLOCK + 123)
    p.write_bytes(data)
    assert file_sha256(p) == hashlib.sha256(data).hexdigest() == file_sha256_cached(p)


def test_cached_hash_is_recomputed_when_the_file_changes(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"one")
    first = file_sha256_cached(p)
    p.write_bytes(b"two!")  # another size: another cache key
    assert file_sha256_cached(p) == hashlib.sha256(b"two!").hexdigest() != first
