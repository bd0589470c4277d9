"""Image grids of datasets and recipes (``synprobe preview``).

>>> from synprobe.preview import preview_recipe
>>> preview_recipe("default", "grid.png", rows=4, cols=4)        # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synprobe.generator import render_samples
from synprobe.io import validate
from synprobe.io.h5 import open_dataset
from synprobe.recipe import resolve_recipe
from synprobe.render.compose import Renderer

__all__ = ["grid", "preview_file", "preview_recipe"]


def grid(x: np.ndarray, rows: int, cols: int, cell: int = 96, gap: int = 2) -> np.ndarray:
    """Tile images into one RGB picture.

    Args:
        x: uint8 (n, H, W, C) with C = 1 or 3; n <= rows * cols (missing cells stay dark).
        rows, cols: grid shape. cell: displayed size of the longer image side (nearest-neighbour).
        gap: pixels between cells.

    Returns:
        uint8 (rows * (ch + gap) + gap, cols * (cw + gap) + gap, 3).
    """
    n, h, w, c = x.shape
    if c == 1:
        x = np.repeat(x, 3, axis=3)
    f = max(1, -(-cell // max(h, w)))  # ceil: cells at least `cell` pixels
    ch, cw = h * f, w * f
    out = np.full((rows * (ch + gap) + gap, cols * (cw + gap) + gap, 3), 40, np.uint8)
    for i in range(min(n, rows * cols)):
        r, k = divmod(i, cols)
        big = x[i].repeat(f, 0).repeat(f, 1)
        out[gap + r * (ch + gap) : gap + r * (ch + gap) + ch, gap + k * (cw + gap) : gap + k * (cw + gap) + cw] = big
    return out


def _save(img: np.ndarray, out) -> Path:
    from PIL import Image

    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    Image.fromarray(img).save(tmp, format="PNG")
    tmp.replace(out)
    return out


def preview_file(path, out, rows: int = 8, cols: int = 12, cell: int = 96) -> Path:
    """Grid of the first rows*cols images of a dataset file."""
    with open_dataset(path, codes=False) as f, validate.guard(path, "x"):
        x = f["x"][: rows * cols]
    return _save(grid(x, rows, cols, cell), out)


def preview_recipe(recipe, out, rows: int = 8, cols: int = 12, seed: int = 0, cell: int = 96) -> Path:
    """Grid of rows*cols images rendered from a recipe (nothing is written but the PNG)."""
    r = Renderer(resolve_recipe(recipe))
    _, x, _ = render_samples(r, seed, np.arange(rows * cols))
    return _save(grid(x, rows, cols, cell), out)
