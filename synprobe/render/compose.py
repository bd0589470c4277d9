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

import numpy as np

from synprobe.fonts import FontRegistry
from synprobe.recipe import OCCLUDER_KINDS, Recipe
from synprobe.render.backend import kernels
from synprobe.render.contract import N_PARAMS, normal_lut
from synprobe.render.glyphs import GlyphCache, level_for
from synprobe.render.patterns import pattern_params
from synprobe.rng import stream_seed
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
        self.registry = FontRegistry.load() if registry is None else registry
        self.vocab = vocab if vocab is not None else Vocab.build(recipe, self.registry)
        reg = self.registry

        def resolve(font_id):
            e = reg.entry(font_id)
            b = reg.entry(e.bold) if e.bold else None
            return e.path, (b.path if b else None), e.bold

        self.glyphs = GlyphCache(resolve, reg.supports)
        # vocabulary index -> the cache's font / char codes (see GlyphCache.code)
        self._font_codes = np.array([self.glyphs.font_code(f) for f in self.vocab.fonts], np.int64)
        self._char_codes = np.array([self.glyphs.char_code(c) for c in self.vocab.chars], np.int64)

    def sample(self, seed: int, index: np.ndarray) -> dict[str, np.ndarray]:
        """Attribute table of samples ``index`` (see :func:`synprobe.sampling.sample_table`)."""
        return sample_table(self.recipe, self.vocab, seed, np.asarray(index))

    # ------------------------------------------------------------------ geometry

    def _glyph_ids(self, font, char, bold, level, active) -> np.ndarray:
        """Atlas ids (n, slots) of symbol glyphs; -1 where inactive. Known glyphs are found in one
        vectorised lookup; missing ones are rasterised (once per process, then atlas-cached)."""
        g = self.glyphs
        ids = np.full(font.shape, -1, np.int64)
        if active.any():
            code = g.code(self._font_codes[font[active]], self._char_codes[char[active]],
                          bold[active].astype(np.int64), level[active].astype(np.int64))
            uniq, inverse = np.unique(code, return_inverse=True)
            ids[active] = g.ids(uniq, rasterise=True)[inverse.reshape(-1)]
        return ids

    def _geometry(self, ids, scale, rot, slant, tx, ty):
        """Inverse affine maps (n, L, 6) and covered output boxes (n, L, 4) of glyph layers, by
        Synbols' law: scale sets the longest side of the upright ink box; the glyph is rotated,
        then slanted (``slant_mode``); translation moves the *transformed* ink box across the free
        space of each axis, ``(t + 1) / 2 * (side - box side)``, so t in [-1, 1] keeps that box
        inside the image whenever it fits."""
        H, W = self.recipe.resolution
        _, _, hw, geom = self.glyphs.arrays()
        safe = np.maximum(ids, 0)
        cx, cy, size = geom[safe, 0], geom[safe, 1], geom[safe, 2]
        k = scale * min(H, W) / size
        cos, sin = np.cos(rot), np.sin(rot)
        # forward linear map glyph -> image, y pointing down, so a positive rotation turns clockwise
        # on screen (Synbols' cairo convention)
        if self.recipe.symbol.slant_mode == "italic":  # R(rot) . [[1, -s], [0, 1]]: the top leans right
            a, b = k * cos, -k * (sin + cos * slant)
            c, d = k * sin, k * (cos - sin * slant)
        else:  # Synbols: [[1, 0], [s, 1]] . R(rot), cairo's Matrix(1, 0.2, 0, 1) after the rotation
            a, b = k * cos, -k * sin
            c, d = k * (slant * cos + sin), k * (cos - slant * sin)
        # half sides of the transformed ink box (the ink spans cx +- (cx - 0.5) in the mask, whose
        # first and last rows and columns are empty), then its centre in the image
        hx, hy = cx - 0.5, cy - 0.5
        ex, ey = np.abs(a) * hx + np.abs(b) * hy, np.abs(c) * hx + np.abs(d) * hy
        ox = ex - 0.5 + (tx + 1) / 2 * (W - 2 * ex)
        oy = ey - 0.5 + (ty + 1) / 2 * (H - 2 * ey)
        fx, fy = ox - (a * cx + b * cy), oy - (c * cx + d * cy)
        det = a * d - b * c
        det = np.where(det == 0, 1e-12, det)
        ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
        inv = np.stack([ia, ib, -(ia * fx + ib * fy), ic, id_, -(ic * fx + id_ * fy)], -1)
        h, w = hw[safe, 0], hw[safe, 1]
        xs = np.stack([np.zeros_like(a), w - 1.0, np.zeros_like(a), w - 1.0], -1)
        ys = np.stack([np.zeros_like(a), np.zeros_like(a), h - 1.0, h - 1.0], -1)
        X = a[..., None] * xs + b[..., None] * ys + fx[..., None]
        Y = c[..., None] * xs + d[..., None] * ys + fy[..., None]
        box = np.stack([np.floor(Y.min(-1)), np.ceil(Y.max(-1)) + 1, np.floor(X.min(-1)), np.ceil(X.max(-1)) + 1], -1)
        box = np.clip(np.nan_to_num(box), 0, [H, H, W, W]).astype(np.int64)
        return inv, box

    def _occluder_ids(self, t, active, m) -> np.ndarray:
        """Atlas ids (n, K) of occluders: shapes, or glyphs (regular weight)."""
        n, K = active.shape
        ids = np.full((n, K), -1, np.int64)
        level = level_for(np.nan_to_num(t["occluder_scale"].astype(np.float64)) * m)
        glyph = active & (t["occluder_kind"] == OCCLUDER_KINDS.index("glyph"))
        ids[glyph] = self._glyph_ids(t["occluder_font"], t["occluder_char"], np.zeros((n, K), bool), level,
                                     glyph)[glyph]
        for code, kind in enumerate(OCCLUDER_KINDS):
            if kind == "glyph":
                continue
            sel = active & (t["occluder_kind"] == code)
            for lv in np.unique(level[sel]).tolist():
                ids[sel & (level == lv)] = self.glyphs.id("<shape>", kind, False, lv)
        return ids

    def render(self, t: dict[str, np.ndarray], seed: int, index: np.ndarray, out=None, masks_out=None):
        """Render rows of an attribute table.

        Args:
            t: attribute table (from :meth:`sample`), n rows.
            seed, index: dataset seed and the rows' sample indices (they key the pixel noise).
            out, masks_out: C-contiguous arrays of the returned shapes to render into (default: new).

        Returns:
            (x, masks): uint8 (n, H, W, C) with C = 1 if gray else 3; masks uint8 (n, H, W, S)
            or None when the recipe has ``masks = false``.
        """
        rc = self.recipe
        H, W = rc.resolution
        n = len(t["n_symbols"])
        glyphs = self.glyphs
        S, K = rc.max_symbols, rc.max_occluders
        m = float(min(H, W))
        active = np.zeros((n, S + K), bool)
        active[:, :S] = np.arange(S)[None, :] < t["n_symbols"][:, None]
        active[:, S:] = np.arange(K)[None, :] < t["n_occluders"][:, None]
        num = lambda a: np.nan_to_num(np.asarray(a, np.float64))  # noqa: E731 - inactive slots hold NaN
        ids = self._glyph_ids(t["font"], t["char"], t["bold"], level_for(num(t["scale"]) * m), active[:, :S])
        geo = [num(t[c]) for c in ("scale", "rotation", "slant", "translation_x", "translation_y")]
        if K:
            oids = self._occluder_ids(t, active[:, S:], m)
            ids = np.concatenate([ids, oids], 1)
            geo = [np.concatenate([g, num(t["occluder_" + c]) if c != "slant" else np.zeros((n, K))], 1)
                   for g, c in zip(geo, ("scale", "rotation", "slant", "translation_x", "translation_y"))]
        inv, box = self._geometry(ids, *geo)
        data, off, hw, _ = glyphs.arrays()

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
            pick = rows if layer == 0 else (rows, slot)
            kk, pp, tex, row = pattern_params(t[pre + "kind"][pick], t[pre + "seed"][pick], spec, H, W,
                                              t[pre + "angle"][pick])
            kinds[rows, layer], params[rows, layer] = kk, pp
            if len(tex):
                tex_row[rows, layer] = np.where(row >= 0, row + n_tex, -1)
                textures.append(tex)
                n_tex += len(tex)
        tex = np.concatenate(textures) if textures else np.zeros((1, 1, 1, 3), np.float32)

        x = np.empty((n, H, W, 1 if rc.gray else 3), np.uint8) if out is None else out
        masks = None if not rc.masks else np.empty((n, H, W, S), np.uint8) if masks_out is None else masks_out
        kernels().render(x, masks, ids, inv, box, (data, off, hw), active, kinds, params, tex, tex_row, rc.gray,
                         t["inverse_color"].astype(bool), rc.max_contrast, t["pixel_noise"].astype(np.float64),
                         stream_seed(seed, rc.stream_key), np.asarray(index, np.int64), normal_lut(), S)
        return x, masks

