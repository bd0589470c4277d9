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
    "all-chars": "7a042817c9d414ef",
    "balanced-font-chars": "34146db5ea072dec",
    "camouflage": "d93b9653a0654cb7",
    "counting-crowded": "974c9e9e24f41568",
    "counting-fix-scale": "e500c8ceb40d0cd0",
    "counting": "ac5a963843a2fa95",
    "default-arabic": "11085b04e8ac5b37",
    "default-bengali": "445d9183aad57c78",
    "default-bw": "f979db9c158093a9",
    "default-chinese": "215d2a65860c0ab5",
    "default-cyrillic": "505e6fedd2fa21a9",
    "default-devanagari": "27b3a060bc256038",
    "default-greek": "d6f1be5db9360e0d",
    "default-gujarati": "0f66a88b536a8bcd",
    "default-hebrew": "59fd20855df4ab05",
    "default-japanese": "a5f1a530f076ce67",
    "default-khmer": "66695bc3d9c562b7",
    "default-korean": "e2f8a76cbb74ed0b",
    "default-latin": "299ce260c11419af",
    "default-malayalam": "33d4b28dee5685ed",
    "default-tamil": "b11de60214b9855b",
    "default-telugu": "36770062c9748d22",
    "default-thai": "5bfe147d34a026b4",
    "default-vietnamese": "8d7753a7205668b1",
    "default": "e6540966dc9b22ef",
    "korean-1k": "e826042a6dccd149",
    "large-translation": "c075c4d43ebec212",
    "less-variations": "592c509255694bcc",
    "many-small-occlusion": "5890859b9a30cb15",
    "missing-symbol": "4a75cbd31646ed1c",
    "natural-patterns": "a6fd9507544197a9",
    "non-camou-bw": "fa2f33b3c99abc72",
    "non-camou-shade": "5c42a51bebbecf6b",
    "pixel-noise": "ea4ef625a667ec91",
    "plain": "554c793344469b28",
    "segmentation": "767e4a6750c34c01",
    "some-large-occlusion": "71c7ba942c180da2",
    "tiny": "8b19cf18caeb57b0",
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
