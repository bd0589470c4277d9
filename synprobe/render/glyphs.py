"""Glyph coverage masks, rasterised once per (font file, char, bold, size level) and cached.

A mask is an antialiased uint8 coverage bitmap rendered by FreeType without hinting, so that
its ink box's longest side is close to ``level_px(level)`` pixels. Per sample the renderer only
warps a cached mask (rotation, shear, scale, translation) with one bilinear ``cv2.warpAffine``;
levels are spaced by sqrt(2) so the warp never shrinks by more than 1.41x (no aliasing) and never
enlarges.

Occluder shapes (square, triangle, circle) are served by the same cache as synthetic glyphs.
"""

from __future__ import annotations

import ctypes
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synprobe.errors import FontCoverageError, FontError

__all__ = ["Glyph", "GlyphCache", "level_for", "level_px", "load_atlas", "save_atlas", "SHAPES"]

RENDER_VERSION = 1  # bump when rasterisation changes: it keys the on-disk atlas cache
ATLAS_FORMAT = 2  # bump when the on-disk atlas layout changes (save_atlas / load_atlas)

SHAPES = ("square", "triangle", "circle")
_MIN_LEVEL, _MAX_LEVEL = 6, 18  # 8 px .. 512 px
ATLAS_MAX_LEVEL = 12  # the on-disk atlas keeps glyphs up to 64 px: larger ones are cheap to redo
# next to the images they go into, and would make the atlas huge (512 MB for 20k images at 256x256)
_NAMED = 0x110000  # char codes from here on: interned names (shape kinds), not code points
_NO_SCALE = 1 | 2 | 8  # FT_LOAD_NO_SCALE | FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP
_SCALED = 2 | 8  # FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP


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
    """Per-process glyph atlas: every mask in one flat uint8 buffer, addressed by glyph id.

    The compiled renderer reads masks straight from :meth:`arrays`. A key (font, char, bold,
    level) — or (``"<shape>"``, kind, False, level) — is also an int64 *code* (:meth:`code`), so
    whole batches are looked up at once (:meth:`ids`) and atlases merge without Python loops.

    Args:
        resolve: maps a font id to (regular file, bold file or None, bold font id or None).
        supports: ``supports(font_id, char) -> bool`` from the audited coverage table.
    """

    def __init__(self, resolve, supports):
        self._resolve = resolve
        self._supports = supports
        self._faces: dict[Path, object] = {}
        self._ink: dict[tuple, int] = {}  # (font file, char) -> unscaled ink extent
        self._fonts: dict[str, int] = {}  # interned font names: code bits 31..50
        self._names: dict[str, int] = {}  # interned multi-character "chars" (shape kinds)
        self._font_list: list[str] = []
        self._name_list: list[str] = []
        self._index: dict[int, int] = {}  # code -> glyph id, of glyphs rasterised in this process
        self._n = 0  # glyphs held (ids 0.._n-1); atlas glyphs are found through _sorted only
        self._codes = np.zeros(4096, np.int64)  # glyph id -> code
        self._sorted = (np.zeros(0, np.int64), np.zeros(0, np.int64))  # codes ascending, their ids
        self._n_sorted = 0  # glyph ids below this are in _sorted
        self._data = np.zeros(1 << 20, np.uint8)
        self._used = 0
        self._off = np.zeros(4096, np.int64)
        self._hw = np.zeros((4096, 2), np.int64)
        self._geom = np.zeros((4096, 3), np.float64)  # cx, cy, size

    def __len__(self) -> int:
        return self._n

    # ------------------------------------------------------------------ codes

    def font_code(self, font: str) -> int:
        code = self._fonts.get(font)
        if code is None:
            code = self._fonts[font] = len(self._font_list)
            self._font_list.append(font)
        return code

    def char_code(self, char: str) -> int:
        if len(char) == 1:
            return ord(char)
        code = self._names.get(char)
        if code is None:
            code = self._names[char] = len(self._name_list)
            self._name_list.append(char)
        return _NAMED + code

    @staticmethod
    def code(font_code, char_code, bold, level):
        """Glyph code(s) from font/char codes, bold and level (scalars or arrays)."""
        return (font_code << 31) | (char_code << 7) | (bold << 6) | level

    def key(self, code: int) -> tuple:
        """The (font, char, bold, level) key of a code."""
        c = (code >> 7) & 0xFFFFFF
        char = chr(c) if c < _NAMED else self._name_list[c - _NAMED]
        return self._font_list[code >> 31], char, bool((code >> 6) & 1), int(code & 63)

    def ids(self, codes: np.ndarray, rasterise: bool = False) -> np.ndarray:
        """Glyph ids of an int64 array of codes, found in one search. Codes not in the atlas give -1,
        or with ``rasterise`` are rasterised now (one by one, as :meth:`id` does)."""
        self._merge_sorted()
        known, gids = self._sorted
        if len(known):
            pos = np.minimum(np.searchsorted(known, codes), len(known) - 1)
            out = np.where(known[pos] == codes, gids[pos], -1)
        else:
            out = np.full(codes.shape, -1, np.int64)
        if rasterise:  # not in the merged atlas: only glyphs appended in this loop can be known
            for j in np.flatnonzero(out < 0).tolist():
                code = int(codes.flat[j])
                gid = self._index.get(code)
                out.flat[j] = self._new(code) if gid is None else gid
        return out

    def _merge_sorted(self) -> None:
        n = len(self)
        if self._n_sorted == n:
            return
        new = self._codes[self._n_sorted : n]
        order = np.argsort(new, kind="stable")
        new, new_ids = new[order], np.arange(self._n_sorted, n, dtype=np.int64)[order]
        known, gids = self._sorted
        at = np.searchsorted(known, new)
        self._sorted = np.insert(known, at, new), np.insert(gids, at, new_ids)
        self._n_sorted = n

    # ------------------------------------------------------------------ glyphs

    def _append(self, code: int, g: Glyph) -> int:
        gid = self._n
        size = g.mask.size
        self._reserve(size, gid + 1)
        self._data[self._used : self._used + size] = g.mask.ravel()
        self._off[gid] = self._used
        self._hw[gid] = g.mask.shape
        self._geom[gid] = (g.cx, g.cy, g.size)
        self._codes[gid] = code
        self._used += size
        self._index[code] = gid
        self._n += 1
        return gid

    def id(self, font: str, char: str, bold: bool, level: int) -> int:
        """Glyph id of a key, rasterising it on first use."""
        return self._id_of(self.code(self.font_code(font), self.char_code(char), int(bool(bold)), int(level)))

    def _id_of(self, code: int) -> int:
        gid = self._index.get(code)
        if gid is None:
            known, gids = self._sorted
            pos = int(np.searchsorted(known, code))
            if pos < len(known) and known[pos] == code:
                return int(gids[pos])
            gid = self._new(code)
        return gid

    def _new(self, code: int) -> int:
        """Rasterise a glyph the cache does not hold; its id."""
        font, char, bold, level = self.key(code)
        g = _shape(char, level_px(level)) if font == "<shape>" else self._render(font, char, bold, level)
        return self._append(code, g)

    def get(self, font: str, char: str, bold: bool, level: int) -> Glyph:
        """The mask of a key (a view into the atlas)."""
        gid = self.id(font, char, bold, level)
        (h, w), (cx, cy, size), off = self._hw[gid], self._geom[gid], self._off[gid]
        return Glyph(self._data[off : off + h * w].reshape(h, w), float(cx), float(cy), float(size))

    def shape(self, kind: str, level: int) -> Glyph:
        return self.get("<shape>", kind, False, level)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(data uint8, offset int64 (g,), hw int64 (g, 2), geometry float64 (g, 3): cx, cy, size)."""
        n = self._n
        return self._data, self._off[:n], self._hw[:n], self._geom[:n]

    # ------------------------------------------------------------------ between processes, on disk

    def count(self, max_level: int) -> int:
        """Number of glyphs of level <= ``max_level``."""
        return int(((self._codes[: len(self)] & 63) <= max_level).sum())

    def export(self, since: int = 0, max_level: int | None = None) -> dict:
        """Glyphs with id >= ``since`` (default: all), and level <= ``max_level`` if given, packed:
        names travel with the codes, so a process with other interned codes (another worker, a
        later run) can :meth:`add` them."""
        n = len(self)
        ids = np.arange(since, n)
        if max_level is not None:
            ids = ids[(self._codes[since:n] & 63) <= max_level]
        codes = self._codes[ids]
        cids, char = np.unique((codes >> 7) & 0xFFFFFF, return_inverse=True)
        chars = [chr(c) if c < _NAMED else self._name_list[c - _NAMED] for c in cids.tolist()]
        if len(ids) == n - since:  # every glyph from ``since`` on: one contiguous slice
            start = int(self._off[since]) if since < n else self._used
            data = self._data[start : self._used]
        elif not len(ids):
            data = np.zeros(0, np.uint8)
        else:  # runs of consecutive ids, one slice each
            sizes = self._hw[ids, 0] * self._hw[ids, 1]
            cut = np.flatnonzero(np.diff(ids) != 1) + 1
            data = np.concatenate([np.zeros(0, np.uint8)] + [
                self._data[self._off[r[0]] : self._off[r[-1]] + sizes[j + len(r) - 1]]
                for r, j in zip(np.split(ids, cut), np.concatenate([[0], cut]).tolist())])
        return {"fonts": list(self._font_list), "font": (codes >> 31).astype(np.int32), "chars": chars,
                "char": char.astype(np.int32).reshape(-1), "bold": ((codes >> 6) & 1).astype(bool),
                "level": (codes & 63).astype(np.int8), "hw": self._hw[ids].copy(), "geom": self._geom[ids].copy(),
                "data": data}

    def add(self, packed: dict) -> None:
        """Insert glyphs packed by :meth:`export` (another process, the disk); known ones are skipped."""
        fmap = np.array([self.font_code(f) for f in packed["fonts"]] or [0], np.int64)
        cmap = np.array([self.char_code(c) for c in packed["chars"]] or [0], np.int64)
        codes = self.code(fmap[packed["font"]], cmap[packed["char"]], packed["bold"].astype(np.int64),
                          packed["level"].astype(np.int64))
        new = self.ids(codes) < 0 if len(self) else np.ones(len(codes), bool)
        if not new.any():
            return
        hw = packed["hw"]
        sizes = hw[:, 0] * hw[:, 1]
        starts = np.concatenate([[0], np.cumsum(sizes)])[:-1]
        g0, m, src = len(self), int(new.sum()), packed["data"]
        total = int(sizes[new].sum())
        self._reserve(total, g0 + m)
        dst_off = self._used + np.concatenate([[0], np.cumsum(sizes[new])])[:-1]
        if m == len(codes) and self._used == 0 and len(src) == total:  # the first atlas: adopt, no copy
            self._data = src  # (an append outgrows it and copies it into a growable buffer)
        elif m == len(codes):  # everything new: one copy
            self._data[self._used : self._used + total] = src[:total]
        else:
            for a, b, size in zip(starts[new].tolist(), dst_off.tolist(), sizes[new].tolist()):
                self._data[b : b + size] = src[a : a + size]
        self._off[g0 : g0 + m] = dst_off
        self._hw[g0 : g0 + m] = hw[new]
        self._geom[g0 : g0 + m] = packed["geom"][new]
        self._codes[g0 : g0 + m] = codes[new]
        self._used += total
        self._n += m
        self._merge_sorted()  # one vectorised merge (a dict of every atlas code took 50 ms to build)

    def _reserve(self, nbytes: int, nglyphs: int) -> None:
        if self._used + nbytes > len(self._data):
            data = np.empty(max(2 * len(self._data), self._used + nbytes), np.uint8)
            data[: self._used] = self._data[: self._used]
            self._data = data
        if nglyphs > len(self._off):
            extra = max(len(self._off), nglyphs - len(self._off))
            self._off = np.concatenate([self._off, np.zeros(extra, np.int64)])
            self._hw = np.concatenate([self._hw, np.zeros((extra, 2), np.int64)])
            self._geom = np.concatenate([self._geom, np.zeros((extra, 3), np.float64)])
            self._codes = np.concatenate([self._codes, np.zeros(extra, np.int64)])

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
        face = self._face(path)
        key = (path, char)
        ink = self._ink.get(key)
        if ink is None:
            ink = self._ink[key] = ink_extent(face, char)
        return render_glyph(face, char, level_px(level), embolden=synthetic, ink=ink)


def ink_extent(face, char: str) -> int:
    """Longest side of ``char``'s exact ink box in font units (unscaled outline; >= 1)."""
    import freetype as ft

    f = face._FT_Face
    err = ft.FT_Load_Char(f, ord(char), _NO_SCALE)
    if err:
        raise ft.FT_Exception(err)
    bb = ft.FT_BBox()
    ft.FT_Outline_Get_BBox(ctypes.byref(f.contents.glyph.contents.outline), ctypes.byref(bb))
    return max(bb.xMax - bb.xMin, bb.yMax - bb.yMin, 1)


def render_glyph(face, char: str, size_px: float, *, embolden: bool = False, ink: int | None = None) -> Glyph:
    """Rasterise ``char`` so that its ink box's longest side is ``size_px`` (before emboldening).

    Calls FreeType through freetype-py's raw bindings (no wrapper objects per call: ~2x less
    Python time per glyph than its object API, same FreeType calls, same bytes).

    Args:
        face: an open ``freetype.Face``.
        char: one character the face draws (checked by the caller against the audit).
        size_px: wanted longest ink side, in pixels.
        embolden: thicken the outline (FreeType's synthetic bold, strength em / 24).
        ink: :func:`ink_extent` of (face, char) when the caller has it (it does not depend on the size).
    """
    import freetype as ft

    if ink is None:
        ink = ink_extent(face, char)
    f = face._FT_Face
    fc = f.contents
    err = ft.FT_Set_Char_Size(f, max(int(round(64 * size_px * fc.units_per_EM / ink)), 1), 0, 72, 72)
    err = err or ft.FT_Load_Char(f, ord(char), _SCALED)
    if err:
        raise ft.FT_Exception(err)
    slot = fc.glyph
    sc = slot.contents
    if embolden:
        strength = int(round(fc.size.contents.metrics.y_ppem * 64 / 24))
        ft.FT_Outline_Embolden(ctypes.byref(sc.outline), strength)
    bb = ft.FT_BBox()  # exact ink box, 26.6 pixels, y up
    ft.FT_Outline_Get_BBox(ctypes.byref(sc.outline), ctypes.byref(bb))
    err = ft.FT_Render_Glyph(slot, ft.FT_RENDER_MODE_NORMAL)
    if err:
        raise ft.FT_Exception(err)
    bm = sc.bitmap
    rows, width, pitch = bm.rows, bm.width, abs(bm.pitch)
    if rows == 0 or width == 0:
        raise FontCoverageError(f"{face.family_name!r} renders {char!r} empty")
    arr = np.zeros((rows + 2, width + 2), np.uint8)  # one empty pixel of border all round
    raw = np.frombuffer(ctypes.string_at(bm.buffer, rows * pitch), np.uint8)
    arr[1:-1, 1:-1] = raw.reshape(rows, pitch)[:, :width]
    # ink-box centre in mask pixel coordinates (pixel j spans [j - .5, j + .5]); +1 for the border
    x0, x1, y0, y1 = bb.xMin, bb.xMax, bb.yMin, bb.yMax
    cx = (x0 + x1) / 128.0 - sc.bitmap_left + 0.5
    cy = sc.bitmap_top - (y0 + y1) / 128.0 + 0.5
    return Glyph(arr, cx, cy, max(x1 - x0, y1 - y0) / 64.0)


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


def save_atlas(path: Path, packed: dict) -> None:
    """Write a packed atlas (see :meth:`GlyphCache.export`): the index as ``PATH`` (.npz) and the
    mask bytes as ``PATH.<token>.u8``, memory-mapped by :func:`load_atlas` (no copy at start-up).

    The data file is written first under a fresh token and the index, naming that token, replaces
    the old one atomically: a reader sees the old pair or the new pair, never a mix."""
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(8)
    data = path.with_name(f"{path.name}.{token}.u8")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(memoryview(np.ascontiguousarray(packed["data"])))
    os.replace(tmp, data)
    index = {k: v for k, v in packed.items() if k != "data"}
    with open(tmp, "wb") as f:
        np.savez(f, token=np.array(token), nbytes=np.int64(len(packed["data"])),
                 **{k: np.array(v, dtype=str) if isinstance(v, list) else v for k, v in index.items()})
    os.replace(tmp, path)
    for old in path.parent.glob(f"{path.name}.*.u8"):  # earlier data files (a reader may still map one)
        if old != data:
            old.unlink(missing_ok=True)


def load_atlas(path: Path) -> dict | None:
    """Read an atlas written by :func:`save_atlas`; None if missing, unreadable or inconsistent."""
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in ("font", "char", "bold", "level", "hw", "geom")}
            out["fonts"], out["chars"] = z["fonts"].tolist(), z["chars"].tolist()
            token, nbytes = str(z["token"]), int(z["nbytes"])
        data = path.with_name(f"{path.name}.{token}.u8")
        if data.stat().st_size != nbytes or int((out["hw"][:, 0] * out["hw"][:, 1]).sum()) != nbytes:
            return None
        out["data"] = np.memmap(data, np.uint8, "c") if nbytes else np.zeros(0, np.uint8)
        return out
    except (OSError, ValueError, KeyError):
        return None
