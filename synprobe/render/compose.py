"""The renderer: attribute rows -> images (+ per-symbol masks).

    >>> import numpy as np
    >>> from synprobe.recipe import load_recipe
    >>> from synprobe.render.compose import Renderer
    >>> r = Renderer(load_recipe("default"))
    >>> x, masks = r.render(r.sample(seed=0, index=np.arange(4)))
    >>> x.shape, x.dtype
    ((4, 32, 32, 3), dtype('uint8'))

Layers, bottom to top: background pattern, symbols 0..S-1 (each a warped glyph coverage mask
filled with its own pattern), occluders 0..K-1. Then, as Synbols does: grey conversion, colour
inversion, per-image contrast stretch, Gaussian pixel noise, clip, round to uint8. Masks hold each
symbol's coverage after every layer above it (so occlusion is accounted for), as uint8 0..255.
"""

from __future__ import annotations

import functools
from statistics import NormalDist

import numpy as np

from synprobe.recipe import OCCLUDER_KINDS, Recipe
from synprobe.render.glyphs import GlyphCache, level_for
from synprobe.render.patterns import render_patterns
from synprobe.rng import BLOCK, block_generator
from synprobe.sampling import Vocab, sample_table

__all__ = ["Renderer"]


class Renderer:
    """Renders samples of one recipe. Holds the glyph cache; create one per process.

    Args:
        recipe: a validated recipe.
        registry: font registry (default: bundled + user fonts).
        vocab: sampling tables (default: built from the recipe and registry).
    """

    def __init__(self, recipe: Recipe, registry=None, vocab: Vocab | None = None):
        self.recipe = recipe
        if registry is None:
            from synprobe.fonts import FontRegistry

            registry = FontRegistry.load()
        self.registry = registry
        self.vocab = vocab if vocab is not None else Vocab.build(recipe, self.registry)
        reg = self.registry

        def resolve(font_id):
            e = reg.entry(font_id)
            b = reg.entry(e.bold) if e.bold else None
            return e.path, (b.path if b else None), e.bold

        self.glyphs = GlyphCache(resolve, reg.supports)

    def sample(self, seed: int, index: np.ndarray) -> dict[str, np.ndarray]:
        """Attribute table of samples ``index`` (see :func:`synprobe.sampling.sample_table`)."""
        return sample_table(self.recipe, self.vocab, seed, np.asarray(index))

    # ------------------------------------------------------------------ geometry

    def _warp_layers(self, t: dict, prefix: str, count: np.ndarray, slots: int, glyph_of) -> np.ndarray:
        """Warped coverage masks, uint8 (n, slots, H, W); zero for inactive slots."""
        import cv2

        H, W = self.recipe.resolution
        n = len(count)
        out = np.zeros((n, slots, H, W), np.uint8)
        if slots == 0:
            return out
        m = float(min(H, W))
        scale = np.nan_to_num(t[prefix + "scale"].astype(np.float64), nan=1.0)
        rot = np.nan_to_num(t[prefix + "rotation"].astype(np.float64))
        slant = np.nan_to_num(t["slant"].astype(np.float64)) if prefix == "" else np.zeros_like(scale)
        tx = np.nan_to_num(t[prefix + "translation_x"].astype(np.float64))
        ty = np.nan_to_num(t[prefix + "translation_y"].astype(np.float64))
        e = scale * m  # target ink size, px
        cos, sin = np.cos(rot), np.sin(rot)
        # L0 = R(rot) @ Shear(slant): rotation counter-clockwise on screen (y down)
        a0, b0 = cos, sin - cos * slant
        c0, d0 = -sin, cos + sin * slant
        ox = (W - 1) / 2 + tx * (W - e) / 2
        oy = (H - 1) / 2 + ty * (H - e) / 2
        level = level_for(e)
        cols = [x.tolist() for x in (a0, b0, c0, d0, ox, oy, e, level)]
        counts = count.tolist()
        mat = np.empty((2, 3), np.float64)
        for i in range(n):
            for j in range(counts[i]):
                g = glyph_of(i, j, cols[7][i][j])
                k = cols[6][i][j] / g.size
                a, b, c, d = cols[0][i][j] * k, cols[1][i][j] * k, cols[2][i][j] * k, cols[3][i][j] * k
                mat[0, 0], mat[0, 1], mat[0, 2] = a, b, cols[4][i][j] - (a * g.cx + b * g.cy)
                mat[1, 0], mat[1, 1], mat[1, 2] = c, d, cols[5][i][j] - (c * g.cx + d * g.cy)
                cv2.warpAffine(g.mask, mat, (W, H), dst=out[i, j], flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return out

    # ------------------------------------------------------------------ render

    def render(self, t: dict[str, np.ndarray], seed: int | None = None, index: np.ndarray | None = None):
        """Render rows of an attribute table.

        Args:
            t: attribute table (from :meth:`sample`), n rows.
            seed, index: dataset seed and sample indices, needed for pixel noise (default: the
                table's own ``_seed``/``_index`` entries set by :meth:`sample_and_render`).

        Returns:
            (x, masks): uint8 (n, H, W, C) with C = 1 if gray else 3; masks uint8 (n, H, W, S)
            or None when the recipe has ``masks = false``.
        """
        rc = self.recipe
        H, W = rc.resolution
        n = len(t["n_symbols"])
        vocab, glyphs = self.vocab, self.glyphs
        S, K = rc.max_symbols, rc.max_occluders

        chars, fonts, bold = t["char"].tolist(), t["font"].tolist(), t["bold"].tolist()
        vchars, vfonts = vocab.chars, vocab.fonts
        sym_alpha = self._warp_layers(
            t, "", t["n_symbols"], S,
            lambda i, j, lv: glyphs.get(vfonts[fonts[i][j]], vchars[chars[i][j]], bold[i][j], lv),
        )
        if K:
            okind = t["occluder_kind"].tolist()
            ochar, ofont = t["occluder_char"].tolist(), t["occluder_font"].tolist()

            def occ_glyph(i, j, lv):
                kind = OCCLUDER_KINDS[okind[i][j]]
                if kind == "glyph":
                    return glyphs.get(vfonts[ofont[i][j]], vchars[ochar[i][j]], False, lv)
                return glyphs.shape(kind, lv)

            occ_alpha = self._warp_layers(t, "occluder_", t["n_occluders"], K, occ_glyph)
        else:
            occ_alpha = np.zeros((n, 0, H, W), np.uint8)

        img = render_patterns(t["background_kind"], t["background_seed"], rc.background, H, W, t["background_angle"])
        layers = [(sym_alpha[:, j], t["n_symbols"] > j, "foreground_", rc.symbol.foreground) for j in range(S)]
        layers += [(occ_alpha[:, j], t["n_occluders"] > j, "occluder_fg_", rc.occlusion.foreground) for j in range(K)]
        for j, (alpha, active, pre, spec) in enumerate(layers):
            slot = j if j < S else j - S
            rows = np.nonzero(active)[0]
            if len(rows) == 0:
                continue
            fg = render_patterns(t[pre + "kind"][rows, slot], t[pre + "seed"][rows, slot], spec, H, W,
                                 t[pre + "angle"][rows, slot])
            a = alpha[rows].astype(np.float32)[..., None] * np.float32(1 / 255)
            if len(rows) == n:
                img += a * (fg - img)
            else:
                img[rows] += a * (fg - img[rows])

        masks = _visible_masks(sym_alpha, occ_alpha) if rc.masks else None
        x = self._post(img, t, seed, index)
        return x, masks

    def _post(self, img: np.ndarray, t: dict, seed, index) -> np.ndarray:
        rc = self.recipe
        if rc.gray:
            img = img.mean(axis=3, keepdims=True)
        inv = t["inverse_color"]
        if inv.any():
            img[inv] = 1.0 - img[inv]
        if rc.max_contrast:
            lo = img.min(axis=(1, 2, 3), keepdims=True)
            hi = img.max(axis=(1, 2, 3), keepdims=True)
            img = (img - lo) * (1.0 / np.maximum(hi - lo, 1e-6))
        sigma = t["pixel_noise"].astype(np.float32)
        if np.any(sigma > 0):
            if seed is None or index is None:
                raise ValueError("pixel noise needs the dataset seed and sample indices")
            img += _pixel_noise(seed, np.asarray(index), img.shape[1:]) * sigma[:, None, None, None]
        np.clip(img, 0.0, 1.0, out=img)
        img *= 255.0
        img += 0.5
        return img.astype(np.uint8)


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


@functools.lru_cache(maxsize=1)
def _normal_lut() -> np.ndarray:
    """Standard normal quantiles at the 65,536 midpoints (i + 0.5) / 65536, float32."""
    nd = NormalDist()
    return np.array([nd.inv_cdf((i + 0.5) / 65536) for i in range(65536)], np.float32)


def _pixel_noise(seed: int, index: np.ndarray, shape: tuple) -> np.ndarray:
    """Standard normal noise (n, *shape), float32; row i depends only on (seed, index[i]).

    Each block of BLOCK samples draws 16-bit uniforms from its own Philox stream and maps them
    through the normal quantile table (exact to 1/65536 in probability; |z| <= 4.3).
    """
    per = int(np.prod(shape))
    lut = _normal_lut()
    out = np.empty((len(index), per), np.float32)
    blocks = index // BLOCK
    for b in np.unique(blocks):
        rows = np.nonzero(blocks == b)[0]
        u = np.frombuffer(block_generator(seed, "pixel_noise", int(b)).bytes(2 * BLOCK * per), np.uint16)
        u = u.reshape(BLOCK, per)
        pos = index[rows] % BLOCK
        if len(rows) == BLOCK and np.array_equal(pos, np.arange(BLOCK)):
            np.take(lut, u, out=out[rows[0] : rows[0] + BLOCK])
        else:
            out[rows] = lut[u[pos]]
    return out.reshape(len(index), *shape)
