"""The numba kernels (the C twin in _kernels.c gives the same bytes, see
:mod:`synprobe.render.backend`): pattern evaluation, compositing and post-processing.

One pass per image does what would otherwise be a dozen numpy passes over the batch: evaluate
the analytic patterns (solid colour, linear and radial 3-stop gradients) of the background and of
every layer, composite the layers through their coverage masks, then grey conversion, inversion,
contrast stretch, Gaussian pixel noise and rounding to uint8.

Pattern parameters are rows laid out as :mod:`synprobe.render.contract` says, computed by
:func:`synprobe.render.patterns.pattern_params` from the recorded pattern seeds. Other kinds
(multigradient, noise, camouflage, image) are rendered by numpy into float32 textures; their row
in the texture stack is given instead.

Pixel noise for sample i is a counter-based hash keyed by (dataset seed, i), mapped through a
4,096-entry normal quantile table, so it depends on nothing but (seed, i).

The functions below are numba's source, marked with :func:`_jit`; :func:`compiled` imports numba
(~0.2 s) and compiles them (or loads numba's cache) on first use, so a process that renders with
the C kernels never pays for numba. The contract's constants are globals here: numba freezes them
into the compiled code.
"""

from __future__ import annotations

import functools
import types

import numpy as np

from synprobe.config import use_numba_cache
from synprobe.render.contract import GEOMETRY, KIND_RADIAL, KIND_SOLID, KIND_TEXTURE, NORMAL_LUT_SIZE

__all__ = ["NumbaKernels", "compiled"]

_JIT: dict[str, dict] = {}  # the functions numba compiles -> their numba.njit options


def _jit(**options):
    """Mark a function as a numba kernel (see :func:`compiled`)."""

    def mark(fn):
        _JIT[fn.__name__] = options
        return fn

    return mark


@functools.cache
def compiled() -> types.SimpleNamespace:
    """The compiled kernels, by name (``compiled().composite``), numba imported here on first use.

    Each marked function is compiled as a copy whose globals hold the compiled twins of the
    others, so kernels call kernels; the module's own functions stay plain Python.
    """
    use_numba_cache()
    import numba

    ns = dict(globals())
    for name, options in _JIT.items():
        src = ns[name]
        ns[name] = numba.njit(cache=True, **options)(types.FunctionType(src.__code__, ns, name, src.__defaults__))
    return types.SimpleNamespace(**{name: ns[name] for name in _JIT})


class NumbaKernels:
    """The numba kernels behind the same interface as :class:`~synprobe.render.ckernels.CKernels`.

    Args:
        why: set when ``auto`` fell back to them: why the C kernels could not be built.
    """

    name = "numba"

    def __init__(self, why: str = ""):
        self.why = why

    def render(self, out, masks, ids, inv, box, atlas, active, kinds, params, tex, tex_row, gray, inverse,
               contrast, sigma, seed, index, lut, n_symbols):
        """Render a batch into ``out`` uint8 (n, H, W, C) and, unless None, ``masks`` uint8 (n, H, W, S).

        Args: layer ``l`` of sample ``s`` is glyph ``ids[s, l]`` (-1: none) of the atlas
        ``(data, off, hw)`` warped by ``inv`` within ``box`` (see :func:`warp_layers`); the
        rest as :func:`composite`; layers ``0..n_symbols-1`` are symbols, the others occluders.
        """
        k = compiled()
        n, L = ids.shape
        H, W = out.shape[1:3]
        alpha = np.zeros((n, L, H, W), np.uint8)
        k.warp_layers(alpha, ids, inv, box, *atlas)
        k.composite(out, alpha, active, kinds, params, tex, tex_row, gray, inverse, contrast, sigma, np.uint64(seed),
                    index, lut)
        if masks is not None:
            masks[:] = _visible_masks(alpha[:, :n_symbols], alpha[:, n_symbols:])

    def strokes(self, out, seg, col, r):
        """Camouflage strokes into ``out`` float32 (b, H, W, 3): ``seg`` float32 (b, n, 4) end points
        (pixels), ``col`` uint8 (b, n, 3), ``r`` half width (see :func:`strokes`)."""
        compiled().strokes(out, np.ascontiguousarray(seg, np.float32), np.ascontiguousarray(col, np.uint8),
                           np.float32(r))

    def eval_patterns(self, out, kinds, params):
        compiled().eval_patterns(out, kinds, params)

    def normal_noise(self, out, key, lut):
        compiled()._normal_noise(out, np.uint64(key), lut)


def _visible_masks(sym_alpha: np.ndarray, occ_alpha: np.ndarray) -> np.ndarray:
    """Per-symbol coverage after occlusion: a_j * prod over layers above j of (1 - a_l)."""
    n, S, H, W = sym_alpha.shape
    remaining = np.ones((n, H, W), np.float32)
    for j in range(occ_alpha.shape[1] - 1, -1, -1):
        remaining *= 1.0 - occ_alpha[:, j] * np.float32(1 / 255)
    out = np.empty((n, H, W, S), np.uint8)
    for j in range(S - 1, -1, -1):
        a = sym_alpha[:, j] * np.float32(1 / 255)
        out[..., j] = np.rint(a * remaining * 255)
        remaining *= 1.0 - a
    return out



@_jit(inline="always")
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@_jit()
def _fill_pattern(dst, kind, p, tex, ti, H, W):
    """dst float32 (3, H * W) planes <- pattern (kind, params p), or texture tex[ti] (H, W, 3)."""
    if kind == KIND_TEXTURE:
        for i in range(H):
            for j in range(W):
                for c in range(3):
                    dst[c, i * W + j] = tex[ti, i, j, c]
        return
    if kind == KIND_SOLID:
        for c in range(3):
            dst[c, :] = np.float32(p[c])
        return
    c0r, c0g, c0b = np.float32(p[0]), np.float32(p[1]), np.float32(p[2])
    d1r, d1g, d1b = np.float32(p[3] - p[0]), np.float32(p[4] - p[1]), np.float32(p[5] - p[2])
    d2r, d2g, d2b = np.float32(p[6] - p[3]), np.float32(p[7] - p[4]), np.float32(p[8] - p[5])
    if kind == KIND_RADIAL:  # two-circle radial gradient: see fill_rows in _kernels.c (same operations)
        f0 = np.float32(0.0)
        g = GEOMETRY
        im, qx0, qy0 = np.float32(p[g]), np.float32(p[g + 1]), np.float32(p[g + 2])
        dx, dy, r1, dr = np.float32(p[g + 3]), np.float32(p[g + 4]), np.float32(p[g + 5]), np.float32(p[g + 6])
        A = dx * dx + dy * dy - dr * dr
        ia = np.float32(1.0) / A if A != f0 else f0
        for i in range(H):
            base = i * W
            qy = np.float32(i) * im + qy0
            brow, crow = qy * dy + r1 * dr, qy * qy - r1 * r1
            for j in range(W):
                qx = np.float32(j) * im + qx0
                B, C = qx * dx + brow, qx * qx + crow
                sq = np.sqrt(max(B * B - A * C, f0))
                ta, tb = (B + sq) * ia, (B - sq) * ia
                hi, lo = max(ta, tb), min(ta, tb)
                t = lo if r1 + hi * dr < f0 else hi
                t2 = np.float32(2.0) * min(max(t, f0), np.float32(1.0))
                f1 = min(max(t2, f0), np.float32(1.0))
                f2 = min(max(t2 - np.float32(1.0), f0), np.float32(1.0))
                dst[0, base + j] = c0r + d1r * f1 + d2r * f2
                dst[1, base + j] = c0g + d1g * f1 + d2g * f2
                dst[2, base + j] = c0b + d1b * f1 + d2b * f2
        return
    a, b, cc = np.float32(p[GEOMETRY]), np.float32(p[GEOMETRY + 1]), np.float32(p[GEOMETRY + 2])
    for i in range(H):
        base = i * W
        t0 = b * np.float32(i) + cc
        for j in range(W):
            t2 = np.float32(2.0) * (a * np.float32(j) + t0)
            f1 = min(max(t2, np.float32(0.0)), np.float32(1.0))
            f2 = min(max(t2 - np.float32(1.0), np.float32(0.0)), np.float32(1.0))
            dst[0, base + j] = c0r + d1r * f1 + d2r * f2
            dst[1, base + j] = c0g + d1g * f1 + d2g * f2
            dst[2, base + j] = c0b + d1b * f1 + d2b * f2


@_jit()
def warp_layers(alpha, gid, inv, box, data, off, hw):
    """Bilinear warp of atlas glyphs into coverage layers.

    Args:
        alpha: uint8 (n, L, H, W), zero on entry; layer l of sample s gets glyph gid[s, l].
        gid: int64 (n, L) glyph ids (-1: layer not drawn).
        inv: float64 (n, L, 6) inverse affine map, output pixel (col j, row i) -> glyph pixel
            (x, y) = (m0 j + m1 i + m2, m3 j + m4 i + m5); pixel centres at integers.
        box: int64 (n, L, 4) output rows [i0, i1) and columns [j0, j1) that can be covered.
        data, off, hw: the glyph atlas (see GlyphCache.arrays).
    """
    n, L = gid.shape
    for s in range(n):
        for ly in range(L):
            g = gid[s, ly]
            if g < 0:
                continue
            m = inv[s, ly]
            h, w, o = hw[g, 0], hw[g, 1], off[g]
            xmax, ymax = np.float64(w - 1), np.float64(h - 1)
            for i in range(box[s, ly, 0], box[s, ly, 1]):
                for j in range(box[s, ly, 2], box[s, ly, 3]):
                    x = m[0] * j + m[1] * i + m[2]
                    y = m[3] * j + m[4] * i + m[5]
                    if x < 0.0 or y < 0.0 or x >= xmax or y >= ymax:
                        continue  # the glyph's 1-pixel empty border makes everything outside 0
                    x0, y0 = int(x), int(y)
                    fx, fy = x - x0, y - y0
                    p = o + y0 * w + x0
                    top = data[p] * (1.0 - fx) + data[p + 1] * fx
                    bot = data[p + w] * (1.0 - fx) + data[p + w + 1] * fx
                    alpha[s, ly, i, j] = np.uint8(top * (1.0 - fy) + bot * fy + 0.5)


@_jit()
def eval_patterns(out, kinds, params):
    """out float32 (b, H, W, 3) <- analytic pattern kinds (b,) with params (b, N_PARAMS); rows of
    kind KIND_TEXTURE (a texture the caller supplies) are left zero."""
    b, H, W = out.shape[0], out.shape[1], out.shape[2]
    tex = np.zeros((1, H, W, 3), np.float32)
    planes = np.empty((3, H * W), np.float32)
    for s in range(b):
        _fill_pattern(planes, kinds[s], params[s], tex, 0, H, W)  # a texture row reads the zero texture
        for i in range(H):
            for j in range(W):
                for c in range(3):
                    out[s, i, j, c] = planes[c, i * W + j]


@_jit()
def composite(out, alpha, active, kinds, params, tex, tex_row, gray, inverse, contrast, sigma, seed, index, lut):
    """Render a batch.

    Args:
        out: uint8 (n, H, W, C) destination, C = 1 (gray) or 3.
        alpha: uint8 (n, L, H, W) coverage of layers 1..L (symbols, then occluders).
        active: bool (n, L) whether layer l is drawn in sample i.
        kinds: int64 (n, L + 1) pattern kind per layer; layer 0 is the background.
        params: float64 (n, L + 1, N_PARAMS) pattern parameters.
        tex: float32 (T, H, W, 3) textures; tex_row: int64 (n, L + 1) row in tex (-1: none).
        gray: bool; inverse: bool (n,); contrast: bool (per-image min-max stretch).
        sigma: float64 (n,) pixel-noise std in [0, 1] units; seed: dataset seed (uint64);
        index: int64 (n,) sample indices; lut: float32 (4096,) normal quantile table (see
            :func:`synprobe.render.contract.normal_lut`).
    """
    n, L, H, W = alpha.shape
    P = H * W
    C = out.shape[3]
    img = np.empty((3, P), np.float32)
    fg = np.empty((3, P), np.float32)
    a = np.empty(P, np.float32)
    noise = np.empty(P * C, np.float32)
    pair = np.empty(2, np.int32)
    pair_f = pair.view(np.float32)
    flat = out.reshape(n, P * C)
    inv255 = np.float32(1.0 / 255.0)
    for s in range(n):
        _fill_pattern(img, kinds[s, 0], params[s, 0], tex, tex_row[s, 0], H, W)
        for ly in range(L):
            if not active[s, ly]:
                continue
            _fill_pattern(fg, kinds[s, ly + 1], params[s, ly + 1], tex, tex_row[s, ly + 1], H, W)
            al = alpha[s, ly].reshape(P)
            for k in range(P):
                a[k] = np.float32(al[k]) * inv255
            for c in range(3):
                for k in range(P):
                    img[c, k] += a[k] * (fg[c, k] - img[c, k])
        if gray:
            for k in range(P):
                img[0, k] = (img[0, k] + img[1, k] + img[2, k]) * np.float32(1.0 / 3.0)
        if inverse[s]:
            for c in range(C):
                for k in range(P):
                    img[c, k] = np.float32(1.0) - img[c, k]
        # clamp to [0, 1] (rounding can leave -1e-8), so the int32 views below order like floats
        for c in range(C):
            for k in range(P):
                img[c, k] = min(max(img[c, k], np.float32(0.0)), np.float32(1.0))
        lo, hi = np.float32(0.0), np.float32(1.0)
        if contrast:  # min/max over int32 views of non-negative floats: exact and vectorised
            bits = img[:C].reshape(C * P).view(np.int32)
            ilo, ihi = bits[0], bits[0]
            for k in range(C * P):
                ilo = min(ilo, bits[k])
                ihi = max(ihi, bits[k])
            pair[0], pair[1] = ilo, ihi
            lo, hi = pair_f[0], pair_f[1]
            if hi - lo < np.float32(1e-6):
                hi = lo + np.float32(1e-6)
        scale = np.float32(255.0) / (hi - lo)
        sg = np.float32(sigma[s] * 255.0)
        if sg > 0:
            key = _mix(np.uint64(seed) ^ _mix(np.uint64(index[s]) + np.uint64(0x9E3779B97F4A7C15)))
            _normal_noise(noise, key, lut)
        else:
            noise[:] = 0.0
        _quantize(flat[s], img, noise, lo, scale, sg, C, P)


@_jit(inline="always")
def _q(v):
    return np.uint8(np.int32(min(max(v, np.float32(0.0)), np.float32(255.0))))


@_jit()
def _quantize(dst, img, noise, lo, scale, sg, C, P):
    """dst uint8 (P * C,) interleaved <- round((img - lo) * scale + sg * noise), clipped to 0..255."""
    half = np.float32(0.5)
    if C == 3:
        for k in range(P):
            dst[3 * k] = _q((img[0, k] - lo) * scale + sg * noise[k] + half)
            dst[3 * k + 1] = _q((img[1, k] - lo) * scale + sg * noise[P + k] + half)
            dst[3 * k + 2] = _q((img[2, k] - lo) * scale + sg * noise[2 * P + k] + half)
    else:
        for k in range(P):
            dst[k] = _q((img[0, k] - lo) * scale + sg * noise[k] + half)


@_jit()
def _normal_noise(out, key, lut):
    """out[k] ~ N(0, 1), a pure function of (key, k): one lowbias32 hash per two values, 12 bits
    each, looked up in the equiprobable normal table (see :func:`synprobe.render.contract.normal_lut`)."""
    k32 = np.uint32(key >> np.uint64(32)) ^ np.uint32(key & np.uint64(0xFFFFFFFF))
    m = out.shape[0]
    for k in range((m + 1) // 2):
        x = np.uint32(k32 ^ np.uint32(np.uint32(k) * np.uint32(0x9E3779B9)))
        x = np.uint32(x ^ (x >> np.uint32(16)))
        x = np.uint32(x * np.uint32(0x7FEB352D))
        x = np.uint32(x ^ (x >> np.uint32(15)))
        x = np.uint32(x * np.uint32(0x846CA68B))
        x = np.uint32(x ^ (x >> np.uint32(16)))
        out[2 * k] = lut[np.int32(x & np.uint32(NORMAL_LUT_SIZE - 1))]
        if 2 * k + 1 < m:
            out[2 * k + 1] = lut[np.int32((x >> np.uint32(16)) & np.uint32(NORMAL_LUT_SIZE - 1))]


@_jit()
def strokes(out, seg, col, r):
    """Camouflage strokes (see ``sp_strokes`` in _kernels.c: the same arithmetic, the same bytes).

    Args:
        out: float32 (b, H, W, 3) destination.
        seg: float32 (b, n, 4) segment end points ax, ay, bx, by in pixels (pixel centres at +0.5).
        col: uint8 (b, n, 3) stroke colours.
        r: float32 half stroke width, px.
    """
    b, H, W = out.shape[0], out.shape[1], out.shape[2]
    n = seg.shape[1]
    P = H * W
    canvas = np.empty((3, P), np.float32)
    inv255 = np.float32(1.0 / 255.0)
    zero, one, half = np.float32(0.0), np.float32(1.0), np.float32(0.5)
    R = np.float32(r) + half
    for m in range(b):
        canvas[:] = zero
        for s in range(n):
            ax, ay, bx, by = seg[m, s, 0], seg[m, s, 1], seg[m, s, 2], seg[m, s, 3]
            dx, dy = bx - ax, by - ay
            len2 = dx * dx + dy * dy
            inv = one / len2 if len2 > zero else zero
            cr = np.float32(col[m, s, 0]) * inv255
            cg = np.float32(col[m, s, 1]) * inv255
            cb = np.float32(col[m, s, 2]) * inv255
            i0 = max(int(np.floor(min(ay, by) - R - one)), 0)
            i1 = min(int(np.ceil(max(ay, by) + R + one)), H)
            j0 = max(int(np.floor(min(ax, bx) - R - one)), 0)
            j1 = min(int(np.ceil(max(ax, bx) + R + one)), W)
            for i in range(i0, i1):
                uy = (np.float32(i) + half) - ay
                for j in range(j0, j1):
                    ux = (np.float32(j) + half) - ax
                    t = min(max((ux * dx + uy * dy) * inv, zero), one)
                    ex, ey = ux - t * dx, uy - t * dy
                    cov = min(max(R - np.sqrt(ex * ex + ey * ey), zero), one)
                    k = i * W + j
                    canvas[0, k] += cov * (cr - canvas[0, k])
                    canvas[1, k] += cov * (cg - canvas[1, k])
                    canvas[2, k] += cov * (cb - canvas[2, k])
        for k in range(P):
            i, j = k // W, k % W
            out[m, i, j, 0] = canvas[0, k]
            out[m, i, j, 1] = canvas[1, k]
            out[m, i, j, 2] = canvas[2, k]
