"""Procedural picture bank for image patterns (``generators/textures/``), made offline.

    python tools/make_textures.py          # rewrites generators/textures/*.png (deterministic)

Synbols' natural-patterns used photographs it could not redistribute; these are computed here
(fractal noise, marble, wood, cells, stripes, checks, blobs) so they are ours to ship
(Apache-2.0, like the code) and the same bytes on every machine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parents[1] / "generators" / "textures"
SIZE = 160


def fbm(rng, size, octaves=5):
    """Fractal value noise in [0, 1], (size, size)."""
    out = np.zeros((size, size))
    amp, total = 1.0, 0.0
    for o in range(octaves):
        cells = 2 ** (o + 2)
        grid = rng.random((cells + 1, cells + 1))
        img = Image.fromarray((grid * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC)
        out += amp * np.asarray(img, float) / 255
        total += amp
        amp *= 0.55
    out /= total
    return (out - out.min()) / (out.max() - out.min() + 1e-9)


def palette(rng, t):
    """Map t in [0, 1] through a random 4-stop colour ramp -> (size, size, 3) uint8."""
    stops = rng.random((4, 3))
    pos = np.linspace(0, 1, 4)
    rgb = np.stack([np.interp(t, pos, stops[:, c]) for c in range(3)], -1)
    return (rgb * 255).astype(np.uint8)


def make(kind: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    if kind == "clouds":
        t = fbm(rng, SIZE)
    elif kind == "marble":
        t = 0.5 + 0.5 * np.sin(2 * np.pi * (3 * x + 4 * fbm(rng, SIZE)))
    elif kind == "wood":
        r = np.hypot(x - rng.random(), y - rng.random())
        t = (8 * r + 2 * fbm(rng, SIZE)) % 1.0
    elif kind == "cells":
        pts = rng.random((24, 2))
        d = np.min(np.hypot(x[..., None] - pts[:, 0], y[..., None] - pts[:, 1]), -1)
        t = d / d.max()
    elif kind == "stripes":
        a = rng.random() * np.pi
        t = 0.5 + 0.5 * np.sin(2 * np.pi * (6 + 6 * rng.random()) * (x * np.cos(a) + y * np.sin(a)))
    elif kind == "checks":
        k = rng.integers(4, 12)
        t = ((np.floor(x * k) + np.floor(y * k)) % 2) * 0.7 + 0.3 * fbm(rng, SIZE)
    else:  # blobs
        t = (fbm(rng, SIZE, octaves=3) > 0.5) * 0.6 + 0.4 * fbm(rng, SIZE)
    return palette(rng, t)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    kinds = ("clouds", "marble", "wood", "cells", "stripes", "checks", "blobs")
    for i, kind in enumerate(kinds):
        for j in range(3):
            Image.fromarray(make(kind, 1000 * i + j)).save(OUT / f"{kind}-{j}.png", optimize=True)
    (OUT / "LICENSE.txt").write_text(
        "These pictures are computed by tools/make_textures.py (procedural noise, no photographs).\n"
        "They are part of synprobe and distributed under its licence (Apache-2.0).\n")
    print(f"wrote {len(kinds) * 3} textures to {OUT}")


if __name__ == "__main__":
    main()
