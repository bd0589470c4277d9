"""Glyph coverage masks, rasterised once per (font file, char, bold, size level) and cached.

A mask is an antialiased uint8 coverage bitmap rendered by FreeType without hinting, so that
its ink box's longest side is close to ``level_px(level)`` pixels. Per sample the renderer only
warps a cached mask (rotation, shear, scale, translation) with one bilinear ``cv2.warpAffine``;
levels are spaced by sqrt(2) so the warp never shrinks by more than 1.41x (no aliasing) and never
enlarges.

Occluder shapes (square, triangle, circle) are served by the same cache as synthetic glyphs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synprobe.errors import FontCoverageError, FontError

__all__ = ["Glyph", "GlyphCache", "level_for", "level_px", "SHAPES"]

SHAPES = ("square", "triangle", "circle")
_MIN_LEVEL, _MAX_LEVEL = 6, 18  # 8 px .. 512 px


def level_px(level: int) -> float:
    """Ink size (longest side, px) of cache level ``level``: 2 ** (level / 2)."""
    return 2.0 ** (level / 2)


def level_for(size_px: np.ndarray) -> np.ndarray:
    """Smallest level whose ink size is >= ``size_px`` (vectorised; int64)."""
    lv = np.ceil(2.0 * np.log2(np.maximum(size_px, 1e-6)) - 1e-9).astype(np.int64)
    return np.clip(lv, _MIN_LEVEL, _MAX_LEVEL)


@dataclass(frozen=True)
class Glyph:
    """A cached coverage mask.

    Attributes:
        mask: uint8 (h, w) coverage, 0..255, with a one-pixel empty border.
        cx, cy: centre of the ink box in mask pixel coordinates (pixel centres at integers).
        size: longest side of the ink box, in pixels.
    """

    mask: np.ndarray
    cx: float
    cy: float
    size: float


def _from_bitmap(mask: np.ndarray) -> Glyph:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        raise ValueError("empty")
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    mask = np.pad(mask[y0 : y1 + 1, x0 : x1 + 1], 1)
    w, h = x1 - x0 + 1, y1 - y0 + 1
    return Glyph(np.ascontiguousarray(mask), (w - 1) / 2 + 1, (h - 1) / 2 + 1, float(max(w, h)))


class GlyphCache:
    """Per-process cache of glyph masks.

    Args:
        resolve: maps a font id to (regular file, bold file or None); usually
            ``FontRegistry.entry``-based, see :func:`synprobe.render.compose.Renderer`.
        supports: ``supports(font_id, char) -> bool`` from the audited coverage table.
    """

    def __init__(self, resolve, supports):
        self._resolve = resolve
        self._supports = supports
        self._faces: dict[Path, object] = {}
        self._cache: dict[tuple, Glyph] = {}

    def __len__(self) -> int:
        return len(self._cache)

    def get(self, font: str, char: str, bold: bool, level: int) -> Glyph:
        key = (font, char, bold, level)
        g = self._cache.get(key)
        if g is None:
            g = self._cache[key] = self._render(font, char, bold, level)
        return g

    def shape(self, kind: str, level: int) -> Glyph:
        key = ("<shape>", kind, False, level)
        g = self._cache.get(key)
        if g is None:
            g = self._cache[key] = _shape(kind, level_px(level))
        return g

    def _face(self, path: Path):
        import freetype

        face = self._faces.get(path)
        if face is None:
            try:
                face = self._faces[path] = freetype.Face(str(path))
            except Exception as e:  # freetype.FT_Exception, OSError
                raise FontError(f"{path}: cannot open font file ({e}); run `synprobe fonts check`") from None
        return face

    def _render(self, font: str, char: str, bold: bool, level: int) -> Glyph:
        if not self._supports(font, char):
            raise FontCoverageError(
                f"font {font!r} does not draw {char!r} (U+{ord(char):04X}) according to its audit; "
                "see `synprobe fonts list`"
            )
        regular, bold_file, bold_id = self._resolve(font)
        synthetic = False
        path = regular
        if bold:
            if bold_file is not None and self._supports(bold_id, char):
                path = bold_file
            else:
                synthetic = True
        return render_glyph(self._face(path), char, level_px(level), embolden=synthetic)


def render_glyph(face, char: str, size_px: float, *, embolden: bool = False) -> Glyph:
    """Rasterise ``char`` so that its ink box's longest side is about ``size_px``."""
    import freetype as ft

    flags = ft.FT_LOAD_NO_HINTING | ft.FT_LOAD_NO_BITMAP
    face.set_char_size(64 * 64)
    face.load_char(char, flags)
    bb = face.glyph.outline.get_bbox()
    ink = max(bb.xMax - bb.xMin, bb.yMax - bb.yMin, 1)
    em = 64 * 64 * size_px / (ink / 64.0)  # 26.6 char size giving the wanted ink size
    face.set_char_size(max(int(round(em)), 1))
    face.load_char(char, flags)
    slot = face.glyph
    if embolden:
        strength = int(round(face.size.y_ppem * 64 / 24))
        ft.FT_Outline_Embolden(ft.byref(slot.outline._FT_Outline), strength)
    bb = slot.outline.get_bbox()  # exact ink box, 26.6 pixels, y up
    slot.render(ft.FT_RENDER_MODE_NORMAL)
    bm = slot.bitmap
    if bm.rows == 0 or bm.width == 0:
        raise FontCoverageError(f"{face.family_name!r} renders {char!r} empty")
    buf = np.frombuffer(bytes(bm._FT_Bitmap.buffer[: bm.rows * abs(bm.pitch)]), np.uint8)
    arr = np.pad(buf.reshape(bm.rows, abs(bm.pitch))[:, : bm.width], 1)
    # ink-box centre in mask pixel coordinates (pixel j spans [j - .5, j + .5]); +1 for the pad
    cx = (bb.xMin + bb.xMax) / 128.0 - slot.bitmap_left - 0.5 + 1
    cy = slot.bitmap_top - (bb.yMin + bb.yMax) / 128.0 - 0.5 + 1
    size = max(bb.xMax - bb.xMin, bb.yMax - bb.yMin) / 64.0
    return Glyph(np.ascontiguousarray(arr), cx, cy, size)


def _shape(kind: str, size_px: float) -> Glyph:
    import cv2

    n = int(math.ceil(size_px)) + 2
    sup = 4  # supersampled, then area-averaged: antialiased edges
    canvas = np.zeros((n * sup, n * sup), np.uint8)
    s, o = size_px * sup, sup  # shape spans [o, o + s)
    if kind == "square":
        pts = [(o, o), (o + s, o), (o + s, o + s), (o, o + s)]
    elif kind == "triangle":
        pts = [(o + s / 2, o + s * (1 - math.sqrt(3) / 2)), (o + s, o + s), (o, o + s)]
    elif kind == "circle":
        cv2.circle(canvas, (int(o + s / 2) << 4, int(o + s / 2) << 4), int(s / 2 * 16), 255, -1, cv2.LINE_8, 4)
        pts = None
    else:
        raise ValueError(f"unknown occluder shape {kind!r}; expected one of {SHAPES}")
    if pts is not None:
        cv2.fillPoly(canvas, [np.round(np.array(pts) * 16).astype(np.int32)], 255, cv2.LINE_8, 4)
    small = cv2.resize(canvas, (n, n), interpolation=cv2.INTER_AREA)
    return _from_bitmap(small)
