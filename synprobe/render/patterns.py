"""Foreground and background textures, generated for a batch at once.

Every pattern is a pure function of (kind, pattern seed, spec, size): its parameters (colours,
angles, centres, noise grids, crops) are counter-based draws keyed by the per-sample pattern seed
that the attribute table records, so an image can be re-rendered from its row alone.

    >>> import numpy as np
    >>> from synprobe.recipe import PatternSpec
    >>> from synprobe.render.patterns import render_patterns
    >>> out = render_patterns(["linear", "solid"], np.array([1, 2], np.uint32), PatternSpec(), 8, 8)
    >>> out.shape, out.dtype
    ((2, 8, 8, 3), dtype('float32'))
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np

from synprobe.recipe import PATTERN_KINDS, PatternSpec
from synprobe.rng import Draws

__all__ = ["render_patterns", "image_bank"]

_PATTERN_SEED = 0x5EED_0F_7E  # keys pattern-parameter draws (distinct from dataset seeds' use)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in unit square units: (h, w) arrays in [0, 1]."""
    ys = (np.arange(h, dtype=np.float32) + 0.5) / h
    xs = (np.arange(w, dtype=np.float32) + 0.5) / w
    return np.broadcast_to(ys[:, None], (h, w)), np.broadcast_to(xs[None, :], (h, w))


def _ramp(t: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """Piecewise-linear 3-stop colour ramp (stops at t = 0, 0.5, 1).

    Args:
        t: float32 (b, h, w), clipped to [0, 1].
        colors: float32 (b, 3 stops, 3 channels).

    Returns:
        float32 (b, h, w, 3): c0 + (c1 - c0) * clip(2t, 0, 1) + (c2 - c1) * clip(2t - 1, 0, 1).
    """
    b, h, w = t.shape
    basis = np.empty((b, h * w, 3), np.float32)
    basis[:, :, 0] = 1.0
    t2 = t.reshape(b, h * w) * np.float32(2)
    np.clip(t2, 0, 1, out=basis[:, :, 1])
    np.clip(t2 - 1, 0, 1, out=basis[:, :, 2])
    coef = np.stack([colors[:, 0], colors[:, 1] - colors[:, 0], colors[:, 2] - colors[:, 1]], 1)
    return np.matmul(basis, coef).reshape(b, h, w, 3)


def _gradient(d: Draws, h: int, w: int, kind: str, tag: str = "") -> np.ndarray:
    """Linear or radial 3-stop gradient, per sample. Returns (b, h, w, 3) float32."""
    colors = d.uniform("colors" + tag, 9).reshape(-1, 3, 3).astype(np.float32)
    ys, xs = _grid(h, w)
    if kind == "linear":
        ang = d.uniform("angle" + tag) * 2 * math.pi
        c, s = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
        proj = (xs - 0.5)[None] * c[:, None, None] + (ys - 0.5)[None] * s[:, None, None]
        span = 0.5 * (np.abs(c) + np.abs(s))[:, None, None]
        t = (proj + span) / (2 * span)
    else:
        cx = d.uniform("cx" + tag).astype(np.float32)[:, None, None]
        cy = d.uniform("cy" + tag).astype(np.float32)[:, None, None]
        r = (0.3 + 0.9 * d.uniform("radius" + tag)).astype(np.float32)[:, None, None]
        t = np.sqrt((xs[None] - cx) ** 2 + (ys[None] - cy) ** 2) / r
    return _ramp(t, colors)


def _solid(d: Draws, spec: PatternSpec, h: int, w: int) -> np.ndarray:
    if spec.color is not None:
        col = np.broadcast_to(np.asarray(spec.color, np.float32), (len(d), 3))
    else:
        col = d.uniform("color", 3).astype(np.float32)
    return np.broadcast_to(col[:, None, None, :], (len(d), h, w, 3)).copy()


def _multigradient(d: Draws, spec: PatternSpec, h: int, w: int) -> np.ndarray:
    kinds = d.uniform("layer-kinds", spec.n_gradients) < 0.5
    out = None
    for layer in range(spec.n_gradients):
        tag = f"/{layer}"
        lin = _gradient(d, h, w, "linear", tag)
        rad = _gradient(d, h, w, "radial", tag)
        g = np.where(kinds[:, layer, None, None, None], lin, rad)
        out = g if out is None else out + spec.alpha * (g - out)
    return out


def _upsample_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Bilinear interpolation matrix (n_out, n_in) mapping a coarse grid to pixel centres."""
    pos = (np.arange(n_out) + 0.5) / n_out * (n_in - 1)
    lo = np.clip(np.floor(pos).astype(int), 0, n_in - 2) if n_in > 1 else np.zeros(n_out, int)
    f = pos - lo
    m = np.zeros((n_out, n_in), np.float32)
    m[np.arange(n_out), lo] += 1 - f
    if n_in > 1:
        m[np.arange(n_out), lo + 1] += f
    return m


def _noise(d: Draws, spec: PatternSpec, h: int, w: int) -> np.ndarray:
    """Fractal value noise (octaves of bilinear-upsampled random grids), mapped by a colour ramp."""
    b = len(d)
    total = np.zeros((b, h, w), np.float32)
    amp, norm = 1.0, 0.0
    for o in range(spec.octaves):
        cells = spec.base_cells * 2**o + 1
        grid = d.uniform(f"octave{o}", cells * cells).reshape(b, cells, cells).astype(np.float32)
        mh, mw = _upsample_matrix(h, cells), _upsample_matrix(w, cells)
        total += amp * np.einsum("hi,bij,wj->bhw", mh, grid, mw, optimize=True)
        norm += amp
        amp *= 0.5
    total /= norm
    lo, hi = total.min(axis=(1, 2), keepdims=True), total.max(axis=(1, 2), keepdims=True)
    t = (total - lo) / np.maximum(hi - lo, 1e-6)
    return _ramp(t, d.uniform("colors", 9).reshape(-1, 3, 3).astype(np.float32))


def _camouflage(d: Draws, spec: PatternSpec, h: int, w: int, angles: np.ndarray) -> np.ndarray:
    """Many short coloured strokes at a common angle (plus noise), drawn antialiased."""
    import cv2

    b, n = len(d), spec.n_strokes
    pos = d.uniform("stroke-pos", 2 * n).reshape(b, n, 2)
    jitter = d.normal("stroke-angle", n) * 0.3
    length = spec.stroke_length * (0.5 + d.uniform("stroke-len", n))
    cols = (d.uniform("stroke-color", 3 * n).reshape(b, n, 3) * 255).astype(np.uint8)
    scale = float(min(h, w))
    thick = max(int(round(spec.stroke_width * scale)), 1)
    out = np.empty((b, h, w, 3), np.float32)
    sh = 4  # sub-pixel bits for cv2.line
    for i in range(b):
        canvas = np.zeros((h, w, 3), np.uint8)
        a = angles[i] + jitter[i]
        dx, dy = np.cos(a) * length[i] * scale / 2, np.sin(a) * length[i] * scale / 2
        cx, cy = pos[i, :, 0] * w, pos[i, :, 1] * h
        p0 = np.round(np.stack([cx - dx, cy - dy], 1) * 16).astype(np.int64).tolist()
        p1 = np.round(np.stack([cx + dx, cy + dy], 1) * 16).astype(np.int64).tolist()
        for a0, a1, c in zip(p0, p1, cols[i].tolist()):
            cv2.line(canvas, a0, a1, c, thick, cv2.LINE_AA, sh)
        out[i] = canvas
    return out * np.float32(1 / 255)


@functools.lru_cache(maxsize=8)
def image_bank(folder: str) -> tuple[np.ndarray, ...]:
    """The pictures of a folder (sorted by name), as float32 RGB arrays in [0, 1]."""
    from PIL import Image

    from synprobe.errors import InvalidRecipe

    root = Path(folder).expanduser()
    files = sorted(p for p in root.glob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp"))
    if not files:
        raise InvalidRecipe("<recipe>", "image_dir", f"{root}: no png/jpg pictures found")
    out = []
    for p in files:
        try:
            with Image.open(p) as im:
                out.append(np.asarray(im.convert("RGB"), np.float32) / 255)
        except OSError as e:
            raise InvalidRecipe("<recipe>", "image_dir", f"{p}: not a readable picture ({e})") from None
    return tuple(out)


def _image(d: Draws, spec: PatternSpec, h: int, w: int) -> np.ndarray:
    import cv2

    bank = image_bank(spec.image_dir)
    pick = (d.uniform("image") * len(bank)).astype(int).tolist()
    size = spec.min_crop + (1 - spec.min_crop) * d.uniform("crop-size")
    ox, oy = d.uniform("crop-x"), d.uniform("crop-y")
    out = np.empty((len(d), h, w, 3), np.float32)
    for i, k in enumerate(pick):
        img = bank[k]
        ih, iw = img.shape[:2]
        side = max(int(size[i] * min(ih, iw)), 1)
        y0, x0 = int(oy[i] * (ih - side)), int(ox[i] * (iw - side))
        crop = img[y0 : y0 + side, x0 : x0 + side]
        interp = cv2.INTER_AREA if side > max(h, w) else cv2.INTER_LINEAR
        out[i] = cv2.resize(crop, (w, h), interpolation=interp)
    return out


def render_patterns(
    kinds, seeds: np.ndarray, spec: PatternSpec, h: int, w: int, angles: np.ndarray | None = None
) -> np.ndarray:
    """Render one pattern per sample.

    Args:
        kinds: (b,) pattern kind names (from :data:`PATTERN_KINDS`), or int codes into it.
        seeds: uint32 (b,) per-sample pattern seeds (recorded in the attribute table).
        spec: the recipe's pattern spec (fixed parameters).
        h, w: output size.
        angles: float (b,) camouflage stroke angles (recorded attribute), radians.

    Returns:
        float32 (b, h, w, 3) in [0, 1].
    """
    kinds = np.asarray(kinds)
    codes = kinds if kinds.dtype.kind in "iu" else np.array([PATTERN_KINDS.index(k) for k in kinds], int)
    out = np.empty((len(seeds), h, w, 3), np.float32)
    for code in np.unique(codes):
        sel = np.nonzero(codes == code)[0]
        d = Draws(_PATTERN_SEED, np.asarray(seeds)[sel].astype(np.uint64))
        kind = PATTERN_KINDS[int(code)]
        if kind == "solid":
            out[sel] = _solid(d, spec, h, w)
        elif kind in ("linear", "radial"):
            out[sel] = _gradient(d, h, w, kind)
        elif kind == "multigradient":
            out[sel] = _multigradient(d, spec, h, w)
        elif kind == "noise":
            out[sel] = _noise(d, spec, h, w)
        elif kind == "camouflage":
            a = np.full(len(sel), math.pi / 4) if angles is None else np.asarray(angles)[sel]
            out[sel] = _camouflage(d, spec, h, w, a)
        elif kind == "image":
            out[sel] = _image(d, spec, h, w)
        else:  # pragma: no cover - kinds are validated with the recipe
            raise NotImplementedError(f"Cannot render pattern {kind!r}")
    return out
