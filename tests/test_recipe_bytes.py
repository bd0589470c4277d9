"""The bytes of every bundled recipe, pinned: refactors must not change what is drawn.

Five samples of each recipe at seed 7, hashed over every dataset of the HDF5 file (images, masks,
labels and the attribute table; not the file's attributes, which hold timestamps and versions).
Empty datasets add nothing: the zero-size ``mask`` placeholder of files without masks (there for
Synbols' own loader, see docs/format.md) holds no content, so its arrival left every pin as it was.
A change that is meant to change the bytes bumps ``SAMPLES_VERSION`` and updates this table,
saying why in its commit.
"""

from __future__ import annotations

import hashlib

import h5py
import numpy as np
import pytest

from synprobe.generator import generate
from synprobe.recipe import list_recipes

PINNED = {
    "all-chars": "e504c6592bde760d",
    "balanced-font-chars": "8c4b96bee3203b5a",
    "camouflage": "0bcc165d4c4d848c",
    "counting": "be779e040e942584",
    "counting-crowded": "74459718c40ec8d9",
    "counting-fix-scale": "28f834831c60f8bf",
    "default": "38a472b07f02d713",
    "default-arabic": "ca4f969ce29181cd",
    "default-bengali": "e01d488ca366e2e1",
    "default-bw": "e53350c58c427368",
    "default-chinese": "215d2a65860c0ab5",
    "default-cyrillic": "ce26085faf7357ee",
    "default-devanagari": "db2f0df7346358ab",
    "default-greek": "e9105c8000ae6a97",
    "default-gujarati": "81c01ec30c942820",
    "default-hebrew": "59fd20855df4ab05",
    "default-japanese": "a5f1a530f076ce67",
    "default-khmer": "66695bc3d9c562b7",
    "default-korean": "e2f8a76cbb74ed0b",
    "default-latin": "935b396283919614",
    "default-malayalam": "fa3ac52a8d43582d",
    "default-tamil": "6e94a0e246011ed3",
    "default-telugu": "c5d9f1547c8f267e",
    "default-thai": "6cc40e563c6e6ab0",
    "default-vietnamese": "b7f6ed6abfe69003",
    "korean-1k": "e826042a6dccd149",
    "large-translation": "726c13a7ba58b598",
    "less-variations": "540d8f6eebf31c62",
    "many-small-occlusion": "d14f6e61ae6adb87",
    "missing-symbol": "0ee54202590d40cb",
    "natural-patterns": "4faccb5806a6d549",
    "non-camou-bw": "c5f0aaf0ca235a87",
    "non-camou-shade": "ac1ed76b2de906fc",
    "pixel-noise": "c75ef986e205c237",
    "plain": "e159b67d7a334651",
    "segmentation": "3e4a291806174df5",
    "some-large-occlusion": "cf676e61cbd5bba0",
    "tiny": "b033ec7a04eee86c",
}


def as_bytes(a) -> bytes:
    """The content of an array; variable-length strings by value, not by their pointers."""
    a = np.asarray(a)
    if a.dtype == object:
        return b"\0".join(v if isinstance(v, bytes) else str(v).encode() for v in a.ravel())
    return np.ascontiguousarray(a).tobytes()


def content_hash(path) -> str:
    h = hashlib.sha256()
    with h5py.File(path) as f:

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.size > 0:
                h.update(name.encode())
                h.update(as_bytes(obj[()]))

        f.visititems(visit)
    return h.hexdigest()[:16]


def test_every_bundled_recipe_is_pinned():
    assert sorted(PINNED) == sorted(list_recipes())


@pytest.mark.parametrize("name", sorted(PINNED))
def test_recipe_bytes_unchanged(name, tmp_path):
    out = tmp_path / f"{name}.h5"
    generate(name, 5, out, workers=1, seed=7)
    assert content_hash(out) == PINNED[name]
