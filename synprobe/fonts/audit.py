"""Glyph audit of font files: which characters each font truly draws, and near-duplicate fonts.

Used by :mod:`synprobe.fonts` (``add_fonts``, ``audit_dir``), by ``synprobe fonts check`` and by
``tools/collect_fonts.py``; :mod:`synprobe.fonts.legibility` draws its glyphs with
:func:`open_face` and :func:`glyph_bitmap`. Needs ``freetype-py``, ``numpy`` and ``opencv``;
importing :mod:`synprobe.fonts` loads only numpy.

A character counts as drawn by a font when all of these hold (FreeType, no hinting):

1. the cmap maps it to a glyph (``get_char_index != 0``);
2. the glyph's unscaled outline has at least one contour;
3. the outline differs from the ``.notdef`` glyph's (no disguised tofu);
4. a render at 32 px gives a bitmap with at least one non-zero pixel.

Caps-only and small-caps Latin fonts: the shapes of a lowercase letter and its capital are
compared as size-normalised 24x24 renders (mean |diff|). If at least half of the letters whose
lowercase form differs structurally from the capital (a/A, b/B, d/D, ...) are within
``CASE_THRESHOLD`` (0.10), the font is caps-like and every lowercase letter within 0.20 of its
capital is removed (so the labels 'a' and 'A' stay truthful). In other fonts only those
structurally distinct letters within ``CASE_SAME`` (0.02, i.e. the same drawing) are removed, and
a lowercase letter mapped to the very same glyph or outline as its capital always is.
Calibrated on the bundled set: ordinary text faces give 0.10-0.40 for a/A-type pairs, caps-only
faces 0.00-0.01, small caps (Latin Modern Caps, Go Smallcaps) 0.03-0.13 (round letters highest).

A script counts as covered when >= 80 % of its alphabet is drawn (>= 95 % for CJK), counted
before the caps-only removal: a caps-only font covers Latin with its 26 capitals.
"""

from __future__ import annotations

import ctypes
import hashlib
from pathlib import Path

import numpy as np

from synprobe.errors import FontError
from synprobe.scripts import ALPHABETS

__all__ = [
    "CASE_THRESHOLD",
    "DUP_THRESHOLD",
    "audit_font",
    "dedup",
    "glyph_bitmap",
    "open_face",
    "probe_font",
    "probe_mad",
]

CJK = ("korean", "chinese", "japanese")
COVER_MIN = {s: (0.95 if s in CJK else 0.80) for s in ALPHABETS}
# Lowercase letters whose form is not just a smaller capital in ordinary fonts.
DISTINCT_LOWER = "abdefghilmnqrty"
CASE_SAME = 0.02  # mean |diff| of normalised 24x24 renders: lowercase is the capital's shape
CASE_THRESHOLD = 0.10  # ... in a caps-like font: lowercase matches the capital (small caps)
CASE_FRACTION = 0.5  # share of DISTINCT_LOWER within CASE_THRESHOLD making a font caps-like
CASE_CAPSLIKE_DROP = 0.20  # in a caps-like font, lowercase within this of its capital is dropped
DUP_THRESHOLD = 0.05  # mean |diff| of normalised 16x16 probe renders: near-duplicate fonts
PROBE_SIZE = 16
RENDER_PX = 32

_NO_SCALE = 1  # FT_LOAD_NO_SCALE
_NO_HINTING = 2
_RENDER = 4


def open_face(path: Path):
    """A FreeType face of the font at ``path``, sized for RENDER_PX renders; a one-line FontError
    for a file FreeType cannot open or a bitmap-only face."""
    import freetype

    try:
        face = freetype.Face(str(path))
    except Exception as e:
        raise FontError(f"{path}: not a font FreeType can open ({e})") from None
    if not face.is_scalable:
        raise FontError(f"{path}: bitmap-only face (no outlines); synprobe needs outline fonts")
    try:
        face.set_char_size(RENDER_PX * 64)
    except Exception as e:
        raise FontError(f"{path}: set_char_size fails ({e}); not a usable outline font") from None
    return face


def _outline_key(face, gi: int) -> bytes | None:
    """Hash of the unscaled outline of glyph gi; None when it has no contours."""
    face.load_glyph(gi, _NO_SCALE | _NO_HINTING)
    o = face.glyph._FT_GlyphSlot.contents.outline
    if o.n_contours <= 0 or o.n_points <= 0:
        return None
    h = hashlib.blake2b(digest_size=16)
    h.update(ctypes.string_at(o.points, o.n_points * ctypes.sizeof(o.points._type_)))
    h.update(ctypes.string_at(o.contours, o.n_contours * ctypes.sizeof(o.contours._type_)))
    h.update(ctypes.string_at(o.tags, o.n_points))
    return h.digest()


def glyph_bitmap(face, gi: int, px: int = RENDER_PX) -> np.ndarray:
    """uint8 (rows, width) render of glyph ``gi`` at ``px`` pixels, unhinted ((0, 0) when blank)."""
    face.set_pixel_sizes(0, px)
    face.load_glyph(gi, _RENDER | _NO_HINTING)
    bm = face.glyph._FT_GlyphSlot.contents.bitmap
    rows, width, pitch = bm.rows, bm.width, bm.pitch
    if rows == 0 or width == 0 or not bm.buffer:
        return np.zeros((0, 0), np.uint8)
    raw = ctypes.string_at(bm.buffer, rows * abs(pitch))
    return np.frombuffer(raw, np.uint8).reshape(rows, abs(pitch))[:, :width]


def _normalised(img: np.ndarray, size: int, keep_aspect: bool) -> np.ndarray:
    """Crop to ink, scale into a size x size float image in [0, 1]."""
    import cv2

    out = np.zeros((size, size), np.float32)
    if img.size == 0 or not img.any():
        return out
    ys, xs = np.nonzero(img)
    crop = img[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255.0
    h, w = crop.shape
    if not keep_aspect:
        return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    s = size / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    r = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA)
    y0, x0 = (size - nh) // 2, (size - nw) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = r
    return out


def _case_like(face, lo: str, up: str) -> float:
    """Mean |diff| between normalised renders of a lowercase letter and its capital."""
    a = _normalised(glyph_bitmap(face, face.get_char_index(ord(lo)), 48), 24, False)
    b = _normalised(glyph_bitmap(face, face.get_char_index(ord(up)), 48), 24, False)
    return float(np.abs(a - b).mean())


def audit_font(path: str | Path) -> dict[str, tuple[str, ...]]:
    """Characters the font at ``path`` truly draws, per covered script (see module doc).

    Returns ``{script: chars}`` only for scripts the font covers; the dict is empty when it
    covers none. Raises :class:`FontError` for a bitmap-only or unreadable face.
    """
    face = open_face(Path(path))
    notdef = _outline_key(face, 0)
    drawn: dict[str, list[str]] = {}
    cache: dict[str, bool] = {}
    keys: dict[str, tuple[int, bytes | None]] = {}
    for script, alpha in ALPHABETS.items():
        chars = []
        for ch in alpha.chars:
            ok = cache.get(ch)
            if ok is None:
                ok = False
                gi = face.get_char_index(ord(ch))
                if gi:
                    key = _outline_key(face, gi)
                    keys[ch] = (gi, key)
                    if key is not None and key != notdef:
                        ok = bool(glyph_bitmap(face, gi).any())
                cache[ch] = ok
            if ok:
                chars.append(ch)
        if len(chars) >= COVER_MIN[script] * len(alpha.chars):
            drawn[script] = chars
    if "latin" in drawn:  # coverage is decided above; the table keeps only truthful chars
        drawn = _fix_case(face, drawn, keys)
    return {s: tuple(c) for s, c in drawn.items()}


def _fix_case(face, drawn: dict[str, list[str]], keys) -> dict[str, list[str]]:
    """Drop lowercase letters that look like their capitals (caps-only/small-caps fonts)."""
    lat = set(drawn["latin"])
    pairs = [c for c in "abcdefghijklmnopqrstuvwxyz" if c in lat and c.upper() in lat]
    same = {c for c in pairs if keys[c][0] == keys[c.upper()][0] or keys[c][1] == keys[c.upper()][1]}
    dist = {c: _case_like(face, c, c.upper()) for c in pairs if c not in same}
    probe = [c for c in DISTINCT_LOWER if c in dist or c in same]
    matches = [c for c in probe if c in same or dist[c] < CASE_THRESHOLD]
    if probe and len(matches) >= CASE_FRACTION * len(probe):
        same |= {c for c, d in dist.items() if d < CASE_CAPSLIKE_DROP}  # caps-like font
    else:
        same |= {c for c in probe if c in dist and dist[c] < CASE_SAME}
    if not same:
        return drawn
    # drop in every script (vietnamese etc. hold the same ASCII letters)
    return {s: [c for c in cs if c not in same] for s, cs in drawn.items()}


def probe_font(path: str | Path, coverage: dict[str, str]) -> dict[str, np.ndarray]:
    """Per covered script, the normalised 16x16 renders of the script's probe characters.

    The probe is the 52 Latin letters for Latin and the first 30 characters of the alphabet for
    other scripts; a character the font does not draw gives a blank image.
    """
    face = open_face(Path(path))
    out = {}
    for script, chars in coverage.items():
        probe = ALPHABETS[script].chars[: 52 if script == "latin" else 30]
        imgs = []
        for ch in probe:
            if ch in chars:
                imgs.append(_normalised(glyph_bitmap(face, face.get_char_index(ord(ch))), PROBE_SIZE, True))
            else:
                imgs.append(np.zeros((PROBE_SIZE, PROBE_SIZE), np.float32))
        out[script] = np.stack(imgs)
    return out


def probe_mad(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference between two probes (the near-duplicate metric)."""
    return float(np.abs(a - b).mean())


def dedup(
    probes: dict[str, dict[str, np.ndarray]], order: list[str], threshold: float = DUP_THRESHOLD
) -> dict[str, dict[str, str]]:
    """Near-duplicates, per script: ``{font_id: {script: reason}}``.

    ``order`` lists font ids best first (most scripts first, then id); for each script a font is
    marked when its probe is within ``threshold`` of an earlier, unmarked font's probe.
    """
    marked: dict[str, dict[str, str]] = {}
    for script in ALPHABETS:
        ids = [fid for fid in order if script in probes.get(fid, {})]
        if not ids:
            continue
        kept_ids: list[str] = []
        kept = np.zeros((len(ids), probes[ids[0]][script].size), np.float32)
        for fid in ids:
            flat = probes[fid][script].reshape(-1)
            if kept_ids:
                d = np.abs(kept[: len(kept_ids)] - flat).mean(axis=1)
                j = int(d.argmin())
                if d[j] < threshold:
                    marked.setdefault(fid, {})[script] = (
                        f"near-duplicate of {kept_ids[j]} ({script} probe MAD {d[j]:.4f})"
                    )
                    continue
            kept[len(kept_ids)] = flat
            kept_ids.append(fid)
    return marked
