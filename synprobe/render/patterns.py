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

import numpy as np

from synprobe.errors import InvalidRecipe
from synprobe.paths import resolve_portable
from synprobe.recipe import PATTERN_KINDS, PatternSpec
from synprobe.render.backend import kernels
from synprobe.render.contract import GEOMETRY, KIND_LINEAR, KIND_RADIAL, KIND_SOLID, KIND_TEXTURE, N_PARAMS, STOPS
from synprobe.rng import Draws

__all__ = ["image_bank", "pattern_params", "render_patterns"]

_PATTERN_SEED = 0x5EED_0F_7E  # keys pattern-parameter draws (distinct from dataset seeds' use)
_RADIAL_RADII = (2.0, 0.1)  # Synbols' radial gradient: from a circle of radius 2 to one of radius 0.1


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in unit square units: (h, w) arrays in [0, 1]."""
    ys = (np.arange(h, dtype=np.float32) + 0.5) / h
    xs = (np.arange(w, dtype=np.float32) + 0.5) / w
    return np.broadcast_to(ys[:, None], (h, w)), np.broadcast_to(xs[None, :], (h, w))


def _stops(d: Draws, tag: str = "") -> np.ndarray:
    """Three random colour stops per sample: float64 (b, 9)."""
    return d.uniform("colors" + tag, 9)


def _gradient_params(d: Draws, h: int, w: int, kind: str, tag: str = "") -> np.ndarray:
    """Kernel parameter rows (b, N_PARAMS) of linear or radial 3-stop gradients, by Synbols' laws
    (cairo gradients in unit coordinates, 1 unit = the shorter image side, colours padded beyond
    the ends):

    - linear: from a start point U(0, 1)^2 along a direction U(0, 2 pi) over a length N(1, 0.2);
    - radial: from a circle of radius 2 centred at U(0, 1)^2 to one of radius 0.1 centred at U(0, 1)^2.

    Parameter rows: see :mod:`synprobe.render.contract`.
    """
    m = float(min(h, w))
    p = np.zeros((len(d), N_PARAMS))
    p[:, STOPS:GEOMETRY] = _stops(d, tag)
    if kind == "linear":
        sx, sy = d.uniform("x1" + tag), d.uniform("y1" + tag)
        ang = d.uniform("angle" + tag) * 2 * math.pi
        length = 1.0 + 0.2 * d.normal("length" + tag)
        length = np.where(np.abs(length) < 1e-6, 1e-6, length)  # a zero-length gradient has no direction
        vx, vy = np.cos(ang) / length, np.sin(ang) / length  # direction / length: t = (p - s) . v / |v|^2
        g = p[:, GEOMETRY:]
        g[:, 0] = vx / m
        g[:, 1] = vy / m
        g[:, 2] = (0.5 / m - sx) * vx + (0.5 / m - sy) * vy
    else:
        x1, y1 = d.uniform("x1" + tag), d.uniform("y1" + tag)
        x2, y2 = d.uniform("x2" + tag), d.uniform("y2" + tag)
        r1, r2 = _RADIAL_RADII
        g = p[:, GEOMETRY:]
        g[:, 0], g[:, 1], g[:, 2] = 1.0 / m, 0.5 / m - x1, 0.5 / m - y1
        g[:, 3], g[:, 4], g[:, 5], g[:, 6] = x2 - x1, y2 - y1, r1, r2 - r1
    return p


def _eval(kinds: np.ndarray, params: np.ndarray, h: int, w: int) -> np.ndarray:
    """Evaluate analytic patterns with the compiled kernel: float32 (b, h, w, 3)."""
    out = np.empty((len(kinds), h, w, 3), np.float32)
    kernels().eval_patterns(out, np.asarray(kinds, np.int64), np.ascontiguousarray(params, np.float64))
    return out


def _multigradient(d: Draws, spec: PatternSpec, h: int, w: int) -> np.ndarray:
    linear = d.uniform("layer-kinds", spec.n_gradients) < 0.5
    out = None
    for layer in range(spec.n_gradients):
        tag = f"/{layer}"
        lin = linear[:, layer]
        params = np.where(lin[:, None], _gradient_params(d, h, w, "linear", tag),
                          _gradient_params(d, h, w, "radial", tag))
        g = _eval(np.where(lin, KIND_LINEAR, KIND_RADIAL), params, h, w)
        out = g if out is None else out + np.float32(spec.alpha) * (g - out)
    return out


def _ramp(t: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """3-stop colour ramp of a field t (b, h, w) in [0, 1]; colors float (b, 9) -> (b, h, w, 3)."""
    c = colors.reshape(-1, 1, 1, 3, 3).astype(np.float32)
    t = np.clip(t, 0, 1)[..., None]
    lo = t < 0.5
    return np.where(lo, c[..., 0, :] + (c[..., 1, :] - c[..., 0, :]) * (2 * t),
                    c[..., 1, :] + (c[..., 2, :] - c[..., 1, :]) * (2 * t - 1)).astype(np.float32)


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
    return _ramp(t, _stops(d))


def _camouflage(d: Draws, spec: PatternSpec, h: int, w: int, angles: np.ndarray) -> np.ndarray:
    """Many short coloured strokes at a common angle, antialiased, painted in order (compiled
    kernel: ``strokes``; was one OpenCV call per stroke, 2.5 ms an image)."""
    b, n = len(d), spec.n_strokes
    pos = d.uniform("stroke-pos", 2 * n).reshape(b, n, 2)
    jitter = d.normal("stroke-angle", n) * 0.05  # small: the orientation contrast is the cue
    length = spec.stroke_length * (0.5 + d.uniform("stroke-len", n))
    cols = (d.uniform("stroke-color", 3 * n).reshape(b, n, 3) * 255).astype(np.uint8)
    scale = float(min(h, w))
    a = np.asarray(angles, np.float64)[:, None] + jitter
    dx, dy = np.cos(a) * length * scale / 2, np.sin(a) * length * scale / 2
    cx, cy = pos[..., 0] * w, pos[..., 1] * h
    seg = np.stack([cx - dx, cy - dy, cx + dx, cy + dy], -1).astype(np.float32)
    out = np.empty((b, h, w, 3), np.float32)
    kernels().strokes(out, seg, cols, max(spec.stroke_width * scale, 1.0) / 2)
    return out


@functools.lru_cache(maxsize=8)
def image_bank(folder: str) -> tuple[np.ndarray, ...]:
    """The pictures of a folder (sorted by name), as float32 RGB arrays in [0, 1]."""
    from PIL import Image

    root = resolve_portable(folder)
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


def pattern_params(kinds, seeds: np.ndarray, spec: PatternSpec, h: int, w: int, angles=None):
    """Kernel inputs for one pattern per sample.

    Args:
        kinds: (b,) pattern kind names (from :data:`PATTERN_KINDS`) or int codes into it.
        seeds: uint32 (b,) per-sample pattern seeds (recorded in the attribute table).
        spec: the recipe's pattern spec (fixed parameters).
        h, w: image size.
        angles: float (b,) camouflage stroke angles (recorded attribute), radians.

    Returns:
        (kernel_kinds int64 (b,), params float64 (b, N_PARAMS), textures float32 (t, h, w, 3),
        texture_row int64 (b,), -1 where the kernel evaluates the pattern itself).
    """
    kinds = np.asarray(kinds)
    codes = kinds if kinds.dtype.kind in "iu" else np.array([PATTERN_KINDS.index(k) for k in kinds], int)
    b = len(codes)
    kk = np.full(b, KIND_TEXTURE, np.int64)
    params = np.zeros((b, N_PARAMS))
    row = np.full(b, -1, np.int64)
    textures = []
    n_tex = 0
    for code in np.unique(codes).tolist():
        sel = np.nonzero(codes == code)[0]
        d = Draws(_PATTERN_SEED, np.asarray(seeds)[sel].astype(np.uint64))
        kind = PATTERN_KINDS[code]
        if kind == "solid":
            kk[sel] = KIND_SOLID
            params[sel, STOPS : STOPS + 3] = spec.color if spec.color is not None else d.uniform("color", 3)
        elif kind in ("linear", "radial"):
            kk[sel] = KIND_LINEAR if kind == "linear" else KIND_RADIAL
            params[sel] = _gradient_params(d, h, w, kind)
        else:
            if kind == "multigradient":
                t = _multigradient(d, spec, h, w)
            elif kind == "noise":
                t = _noise(d, spec, h, w)
            elif kind == "camouflage":
                a = np.full(len(sel), math.pi / 4) if angles is None else np.asarray(angles)[sel]
                t = _camouflage(d, spec, h, w, a)
            elif kind == "image":
                t = _image(d, spec, h, w)
            else:  # pragma: no cover - kinds are validated with the recipe
                raise NotImplementedError(f"Cannot render pattern {kind!r}")
            textures.append(t)
            row[sel] = n_tex + np.arange(len(sel))
            n_tex += len(sel)
    tex = np.concatenate(textures) if textures else np.zeros((0, h, w, 3), np.float32)
    return kk, params, tex, row


def render_patterns(kinds, seeds: np.ndarray, spec: PatternSpec, h: int, w: int, angles=None) -> np.ndarray:
    """Render one pattern per sample as float32 (b, h, w, 3) in [0, 1] (see :func:`pattern_params`)."""
    kk, params, tex, row = pattern_params(kinds, seeds, spec, h, w, angles)
    out = _eval(kk, params, h, w)
    has_tex = row >= 0
    out[has_tex] = tex[row[has_tex]]
    return out
