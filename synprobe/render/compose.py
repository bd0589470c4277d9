"""The renderer: attribute rows -> images (+ per-symbol masks).

    >>> import numpy as np
    >>> from synprobe.recipe import load_recipe
    >>> from synprobe.render.compose import Renderer
    >>> r = Renderer(load_recipe("default"))
    >>> x, masks = r.render(r.sample(seed=0, index=np.arange(4)), seed=0, index=np.arange(4))
    >>> x.shape, x.dtype
    ((4, 32, 32, 3), dtype('uint8'))

Layers, bottom to top: background pattern, symbols 0..S-1 (each a warped glyph coverage mask
filled with its own pattern), occluders 0..K-1. Then, as Synbols does: grey conversion, colour
inversion, per-image contrast stretch, Gaussian pixel noise, clip, round to uint8. Masks hold each
symbol's coverage after every layer above it (so occlusion is accounted for), as uint8 0..255.
"""

from __future__ import annotations

import functools

import numpy as np

from synprobe.recipe import OCCLUDER_KINDS, Recipe
from synprobe.render.glyphs import GlyphCache, level_for
from synprobe.render.patterns import N_PARAMS, pattern_params
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

    def glyph_keys(self, t: dict[str, np.ndarray]) -> list[tuple]:
        """Glyph-cache keys (font, char, bold, level) that rendering these rows will need."""
        H, W = self.recipe.resolution
        m = float(min(H, W))
        keys = set()
        vchars, vfonts = self.vocab.chars, self.vocab.fonts
        parts = [(t["font"], t["char"], t["bold"], t["scale"])]
        if "occluder_kind" in t:
            glyph = t["occluder_kind"] == OCCLUDER_KINDS.index("glyph")
            parts.append((t["occluder_font"][glyph], t["occluder_char"][glyph], np.zeros(glyph.sum(), bool),
                          t["occluder_scale"][glyph]))
        for font, char, bold, scale in parts:
            active = font >= 0
            if not active.any():
                continue
            lv = level_for(scale[active] * m)
            code = ((font[active].astype(np.int64) * len(vchars) + char[active]) * 2 + bold[active]) * 64 + lv
            for c in np.unique(code).tolist():
                rest, lvl = divmod(c, 64)
                rest, b = divmod(rest, 2)
                f, ch = divmod(rest, len(vchars))
                keys.add((vfonts[f], vchars[ch], bool(b), lvl))
        return sorted(keys)

    # ------------------------------------------------------------------ geometry

    def _warp_layers(self, t: dict, prefix: str, count: np.ndarray, out: np.ndarray, glyph_of) -> None:
        """Warp glyph coverage masks into ``out``, uint8 (n, slots, H, W) (zeroed by the caller)."""
        import cv2

        H, W = self.recipe.resolution
        n, slots = out.shape[:2]
        if slots == 0:
            return
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

    # ------------------------------------------------------------------ render

    def render(self, t: dict[str, np.ndarray], seed: int, index: np.ndarray):
        """Render rows of an attribute table.

        Args:
            t: attribute table (from :meth:`sample`), n rows.
            seed, index: dataset seed and the rows' sample indices (they key the pixel noise).

        Returns:
            (x, masks): uint8 (n, H, W, C) with C = 1 if gray else 3; masks uint8 (n, H, W, S)
            or None when the recipe has ``masks = false``.
        """
        from synprobe.render.kernels import composite

        rc = self.recipe
        H, W = rc.resolution
        n = len(t["n_symbols"])
        vocab, glyphs = self.vocab, self.glyphs
        S, K = rc.max_symbols, rc.max_occluders
        alpha = np.zeros((n, S + K, H, W), np.uint8)

        chars, fonts, bold = t["char"].tolist(), t["font"].tolist(), t["bold"].tolist()
        vchars, vfonts = vocab.chars, vocab.fonts
        self._warp_layers(
            t, "", t["n_symbols"], alpha[:, :S],
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

            self._warp_layers(t, "occluder_", t["n_occluders"], alpha[:, S:], occ_glyph)

        active = np.zeros((n, S + K), bool)
        active[:, :S] = np.arange(S)[None, :] < t["n_symbols"][:, None]
        active[:, S:] = np.arange(K)[None, :] < t["n_occluders"][:, None]
        kinds = np.zeros((n, S + K + 1), np.int64)
        params = np.zeros((n, S + K + 1, N_PARAMS))
        tex_row = np.full((n, S + K + 1), -1, np.int64)
        textures = []
        n_tex = 0
        layers = [(slice(None), 0, "background_", rc.background)]
        layers += [(j, j + 1, "foreground_", rc.symbol.foreground) for j in range(S)]
        layers += [(j, S + j + 1, "occluder_fg_", rc.occlusion.foreground) for j in range(K)]
        for slot, layer, pre, spec in layers:
            rows = np.arange(n) if layer == 0 else np.nonzero(active[:, layer - 1])[0]
            if len(rows) == 0:
                continue
            col = (lambda a: a[rows]) if layer == 0 else (lambda a: a[rows, slot])
            kk, pp, tex, row = pattern_params(col(t[pre + "kind"]), col(t[pre + "seed"]), spec, H, W,
                                              col(t[pre + "angle"]))
            kinds[rows, layer], params[rows, layer] = kk, pp
            if len(tex):
                tex_row[rows, layer] = np.where(row >= 0, row + n_tex, -1)
                textures.append(tex)
                n_tex += len(tex)
        tex = np.concatenate(textures) if textures else np.zeros((1, 1, 1, 3), np.float32)

        x = np.empty((n, H, W, 1 if rc.gray else 3), np.uint8)
        composite(x, alpha, active, kinds, params, tex, tex_row, rc.gray, t["inverse_color"].astype(bool),
                  rc.max_contrast, t["pixel_noise"].astype(np.float64), np.uint64(seed),
                  np.asarray(index, np.int64), _normal_lut())
        masks = _visible_masks(alpha[:, :S], alpha[:, S:]) if rc.masks else None
        return x, masks


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
    from synprobe.render.kernels import noise_table

    return noise_table()
