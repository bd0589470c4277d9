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

__all__ = ["char_labels", "grid", "preview_file", "preview_recipe"]


def grid(x: np.ndarray, rows: int, cols: int, cell: int = 96, gap: int = 2, labels=None) -> np.ndarray:
    """Tile images into one RGB picture.

    Args:
        x: uint8 (n, H, W, C) with C = 1 or 3; n <= rows * cols (missing cells stay dark).
        rows, cols: grid shape. cell: displayed size of the longer image side (nearest-neighbour).
        gap: pixels between cells.
        labels: None (no labels), or one short string per image, written in a strip under its cell
            (characters outside printable ASCII as ``U+XXXX``, which the small font always has).

    Returns:
        uint8 (rows * (ch + lh + gap) + gap, cols * (cw + gap) + gap, 3), where ``lh`` is the label
        strip's height (0 without labels).
    """
    n, h, w, c = x.shape
    if c == 1:
        x = np.repeat(x, 3, axis=3)
    f = max(1, -(-cell // max(h, w)))  # ceil: cells at least `cell` pixels
    ch, cw = h * f, w * f
    lh = 0 if labels is None else _label_height(cw)
    out = np.full((rows * (ch + lh + gap) + gap, cols * (cw + gap) + gap, 3), 40, np.uint8)
    for i in range(min(n, rows * cols)):
        r, k = divmod(i, cols)
        top, left = gap + r * (ch + lh + gap), gap + k * (cw + gap)
        out[top : top + ch, left : left + cw] = x[i].repeat(f, 0).repeat(f, 1)
    if labels is not None:
        out = _draw_labels(out, list(labels)[: min(n, rows * cols)], cols, (ch, cw, lh, gap))
    return out


def _label_height(cell_width: int) -> int:
    return int(np.clip(cell_width // 6, 10, 16))


def _printable(label: str) -> str:
    return "".join(ch if ch.isascii() and ch.isprintable() else f"U+{ord(ch):04X}" for ch in str(label))


def _draw_labels(img: np.ndarray, labels: list, cols: int, geometry: tuple) -> np.ndarray:
    """Write each label, light grey and centred, in the strip under its cell."""
    from PIL import Image, ImageDraw, ImageFont

    ch, cw, lh, gap = geometry
    try:
        font = ImageFont.load_default(size=lh - 2)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        font = ImageFont.load_default()
    pic = Image.fromarray(img)
    draw = ImageDraw.Draw(pic)
    for i, label in enumerate(labels):
        r, k = divmod(i, cols)
        centre = (gap + k * (cw + gap) + cw / 2, gap + r * (ch + lh + gap) + ch + lh / 2)
        draw.text(centre, _printable(label), fill=(220, 220, 220), font=font, anchor="mm")
    return np.asarray(pic).copy()


def char_labels(f, path, n: int) -> list[str] | None:
    """The first symbol's character of each of the first ``n`` rows of an open dataset file (None when
    the file has no ``attrs/char`` column with categories, e.g. a Synbols file)."""
    if "attrs" not in f or "char" not in f["attrs"]:
        return None
    with validate.guard(path, "attrs/char"):
        d = f["attrs/char"]
        cats = validate.categories(d, path, "char")
        if cats is None:
            return None
        codes = d[:n]
    codes = codes.reshape(len(codes), -1)[:, 0]
    validate.check_codes(path, "char", codes, len(cats))
    return [cats[c] if c >= 0 else "" for c in codes]


def _save(img: np.ndarray, out) -> Path:
    from PIL import Image

    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    Image.fromarray(img).save(tmp, format="PNG")
    tmp.replace(out)
    return out


def preview_file(path, out, rows: int = 8, cols: int = 12, cell: int = 96, labels: bool = True) -> Path:
    """Grid of the first rows*cols images of a dataset file, each labelled with its character
    (``labels=False``: the bare grid of :func:`grid`)."""
    with open_dataset(path, codes=False) as f, validate.guard(path, "x"):
        x = f["x"][: rows * cols]
        names = char_labels(f, path, len(x)) if labels else None
    return _save(grid(x, rows, cols, cell, labels=names), out)


def preview_recipe(recipe, out, rows: int = 8, cols: int = 12, seed: int = 0, cell: int = 96,
                   labels: bool = True) -> Path:
    """Grid of rows*cols images rendered from a recipe (nothing is written but the PNG), each labelled
    with its character unless ``labels=False``."""
    r = Renderer(resolve_recipe(recipe))
    table, x, _ = render_samples(r, seed, np.arange(rows * cols))
    names = None
    if labels:
        codes = table["char"].reshape(len(x), -1)[:, 0]
        names = [r.vocab.chars[c] if c >= 0 else "" for c in codes]
    return _save(grid(x, rows, cols, cell, labels=names), out)
