"""Renderer: shapes and dtypes, masks, drawn == recorded, occlusion, batch independence, coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import recipe_dicts

from synprobe.errors import FontCoverageError
from synprobe.recipe import recipe_from_dict
from synprobe.render.compose import Renderer
from synprobe.render.glyphs import GlyphCache


def _renderer(d: dict, registry) -> Renderer:
    return Renderer(recipe_from_dict(d), registry=registry)


def _rows(t: dict, sel) -> dict:
    return {k: v[sel] for k, v in t.items()}


# Black background, white glyph, nothing after compositing: pixel value == coverage.
PLAIN = {
    "resolution": 32,
    "n_symbols": 1,
    "inverse_color": False,
    "pixel_noise": 0.0,
    "max_contrast": False,
    "masks": True,
    "background": {"kind": "solid", "color": [0.0, 0.0, 0.0]},
    "symbol": {"foreground": {"kind": "solid", "color": [1.0, 1.0, 1.0]}},
}


@given(recipe_dicts(max_side=40), st.integers(0, 2**32))
def test_shapes_and_dtypes(registry, d, seed):
    r = _renderer(d, registry)
    rc = r.recipe
    idx = np.arange(5) + seed % 1000
    x, masks = r.render(r.sample(seed, idx), seed, idx)
    h, w = rc.resolution
    assert x.dtype == np.uint8 and x.shape == (5, h, w, 1 if rc.gray else 3)
    if rc.masks:
        assert masks.dtype == np.uint8 and masks.shape == (5, h, w, rc.max_symbols)
    else:
        assert masks is None


@given(recipe_dicts(max_side=32), st.integers(0, 2**32))
def test_masks_are_zero_for_absent_symbols(registry, d, seed):
    d = {**d, "masks": True}
    r = _renderer(d, registry)
    idx = np.arange(8)
    t = r.sample(seed, idx)
    _, masks = r.render(t, seed, idx)
    for i in range(8):
        n = int(t["n_symbols"][i])
        assert not masks[i, :, :, n:].any()
    # the sum over symbols of visible coverage never exceeds full coverage (layers are exclusive)
    assert (masks.astype(np.int32).sum(-1) <= 255 + masks.shape[-1]).all()


def test_pixels_equal_coverage(registry):
    """What is drawn is what is recorded: with black bg / white fg, intensity == mask."""
    d = {**PLAIN, "symbol": {**PLAIN["symbol"], "rotation": {"dist": "normal", "mean": 0.0, "std": 0.5},
                             "scale": {"dist": "uniform", "low": 0.2, "high": 1.0}}}
    for gray in (False, True):
        r = _renderer({**d, "gray": gray}, registry)
        idx = np.arange(256)
        x, m = r.render(r.sample(7, idx), 7, idx)
        diff = np.abs(x.astype(np.int16) - m[..., :1].astype(np.int16))
        assert diff.max() <= 2, diff.max()
        assert (m[..., 0].reshape(256, -1).max(1) > 32).all()  # every glyph shows up


def test_recorded_scale_and_translation_are_drawn(registry):
    """Upright glyphs: ink box longest side ~ scale * side; its centre ~ the recorded translation
    across the free space of each axis (side - ink box side)."""
    d = {**PLAIN, "symbol": {**PLAIN["symbol"], "rotation": 0.0, "slant": 0.0,
                             "scale": {"dist": "uniform", "low": 0.3, "high": 0.7},
                             "translation_x": {"dist": "uniform", "low": -0.5, "high": 0.5},
                             "translation_y": {"dist": "uniform", "low": -0.5, "high": 0.5}}}
    r = _renderer(d, registry)
    idx = np.arange(200)
    t = r.sample(1, idx)
    _, m = r.render(t, 1, idx)
    for i in range(len(idx)):
        mi = m[i, :, :, 0]
        ys, xs = np.nonzero(mi)
        e = t["scale"][i, 0] * 32
        size = max(ys.max() - ys.min(), xs.max() - xs.min()) + 1
        assert e - 1.5 <= size <= e + 4, (i, size, e)
        # Synbols' law: each axis moves the ink box across that axis's free space
        wx, hy = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
        ox = 15.5 + t["translation_x"][i, 0] * (32 - wx) / 2
        oy = 15.5 + t["translation_y"][i, 0] * (32 - hy) / 2
        assert abs((xs.min() + xs.max()) / 2 - ox) <= 1.5
        assert abs((ys.min() + ys.max()) / 2 - oy) <= 1.5
        # fits inside the image with a margin: the border stays empty
        assert not (mi[0].any() or mi[-1].any() or mi[:, 0].any() or mi[:, -1].any())


@given(st.integers(0, 2**32), st.sampled_from(["square", "triangle", "circle", "glyph"]))
def test_occluders_only_hide(registry, seed, kind):
    d = {**PLAIN, "occlusion": {"count": 2, "kind": kind, "scale": 0.5,
                                "translation_x": {"dist": "uniform", "low": -0.5, "high": 0.5},
                                "translation_y": {"dist": "uniform", "low": -0.5, "high": 0.5}}}
    r = _renderer(d, registry)
    idx = np.arange(16)
    t = r.sample(seed, idx)
    _, with_occ = r.render(t, seed, idx)
    bare = {k: v.copy() for k, v in t.items()}
    bare["n_occluders"][:] = 0
    _, without = r.render(bare, seed, idx)
    assert (with_occ <= without).all()
    assert with_occ.astype(np.int64).sum() < without.astype(np.int64).sum()  # something is hidden


@given(recipe_dicts(max_side=32), st.integers(0, 2**32), st.integers(0, 7))
def test_render_is_batch_independent(registry, d, seed, i):
    r = _renderer(d, registry)
    idx = np.arange(100, 108)
    t = r.sample(seed, idx)
    xb, mb = r.render(t, seed, idx)
    x1, m1 = r.render(_rows(t, slice(i, i + 1)), seed, idx[i : i + 1])
    np.testing.assert_array_equal(xb[i : i + 1], x1)
    if mb is not None:
        np.testing.assert_array_equal(mb[i : i + 1], m1)


def test_fresh_renderer_gives_same_pixels(registry):
    d = {"resolution": 24, "n_symbols": 2, "occlusion": {"count": 1, "kind": "glyph"}, "masks": True}
    idx = np.arange(40)
    a = _renderer(d, registry)
    b = _renderer(d, registry)
    xa, ma = a.render(a.sample(5, idx), 5, idx)
    xb, mb = b.render(b.sample(5, idx[::-1]), 5, idx[::-1])
    np.testing.assert_array_equal(xa, xb[::-1])
    np.testing.assert_array_equal(ma, mb[::-1])


def test_pixel_noise_needs_seed_and_index(registry):
    r = _renderer({"pixel_noise": 0.05}, registry)
    t = r.sample(0, np.arange(4))
    with pytest.raises((ValueError, TypeError)):  # noise is keyed by (seed, index): both are required
        r.render(t)


def test_unaudited_pair_raises_font_coverage_error(registry):
    latin_only = next(f for f in registry.ids("latin") if not registry.supports(f, "\u05d0"))
    cache = GlyphCache(lambda f: (registry.entry(f).path, None, None), registry.supports)
    with pytest.raises(FontCoverageError) as ei:
        cache.get(latin_only, "\u05d0", False, 10)
    assert latin_only in str(ei.value) and "U+05D0" in str(ei.value)
    assert cache.get(latin_only, "a", False, 10).mask.any()


def test_renderer_refuses_pair_outside_vocab_coverage(registry):
    """A table row pointing at a (font, char) pair the audit rejects fails loudly, not silently."""
    r = _renderer({"resolution": 16}, registry)
    t = r.sample(0, np.arange(1))
    fonts, chars = r.vocab.fonts, r.vocab.chars
    bad = next((fi, ci) for fi, f in enumerate(fonts) for ci, c in enumerate(chars) if not registry.supports(f, c))
    t["font"][0, 0], t["char"][0, 0] = bad
    with pytest.raises(FontCoverageError):
        r.render(t, 0, np.arange(1))


def test_pixel_noise_kernel_is_standard_normal_and_keyed():
    """The kernel's draws: N(0, 1) moments and tails, no correlation between neighbours (values
    drawn from the same hash included), the same key gives the same draws, another key others."""
    from synprobe.render.contract import normal_lut as noise_table
    from synprobe.render.kernels import compiled

    _normal_noise = compiled()._normal_noise

    lut = noise_table()
    a = np.empty(300_001, np.float32)  # odd length: the last hash is used in part
    _normal_noise(a, np.uint64(12345), lut)
    assert abs(a.mean()) < 0.01 and abs(a.std() - 1) < 0.01
    assert abs((np.abs(a) > 2).mean() - 0.0455) < 0.003  # two-sided 2-sigma tail of N(0, 1)
    for lag in (1, 2, 3):
        assert abs(np.corrcoef(a[:-lag], a[lag:])[0, 1]) < 0.01
    b = np.empty_like(a)
    _normal_noise(b, np.uint64(12345), lut)
    c = np.empty_like(a)
    _normal_noise(c, np.uint64(12346), lut)
    assert np.array_equal(a, b) and abs(np.corrcoef(a, c)[0, 1]) < 0.01


@pytest.mark.parametrize("sigma", [0.02, 0.08])
def test_pixel_noise_residual_has_the_recorded_scale(registry, sigma):
    """Image with noise minus the same image without: residuals of std pixel_noise * 255 (pixels
    away from the 0/255 clip), zero mean; the noise depends on (seed, index) only."""
    # colours on whole grey levels (0.4 * 255 = 102, 0.6 * 255 = 153): the clean image is not rounded
    grey = {**PLAIN, "background": {"kind": "solid", "color": [0.4, 0.4, 0.4]},
            "symbol": {"foreground": {"kind": "solid", "color": [0.6, 0.6, 0.6]}}}
    idx = np.arange(40)
    clean = _renderer(grey, registry)
    noisy = _renderer({**grey, "pixel_noise": sigma}, registry)
    t = noisy.sample(3, idx)
    x0, _ = clean.render({**t, "pixel_noise": np.zeros_like(t["pixel_noise"])}, 3, idx)
    x1, _ = noisy.render(t, 3, idx)
    assert (t["pixel_noise"] == sigma).all()
    ok = (x0 > 60) & (x0 < 195)
    res = x1.astype(float)[ok] - x0[ok]
    assert abs(res.mean()) < 0.1 and abs(res.std() - sigma * 255) < 0.03 * sigma * 255
    x2, _ = noisy.render(_rows(t, slice(20, 40)), 3, idx[20:])  # rendered alone: same noise
    assert np.array_equal(x2, x1[20:])
    x3, _ = noisy.render(t, 4, idx)  # another dataset seed: other noise
    assert (x3 != x1).mean() > 0.5


@pytest.mark.parametrize("angle, along", [(0.0, 2), (math.pi / 2, 1)])
def test_camouflage_strokes_follow_their_angle(angle, along):
    """Strokes at angle 0 are horizontal: colours change less along x (axis 2) than along y, and
    the other way round at 90 degrees; every pixel is covered, values stay in [0, 1]."""
    from synprobe.recipe import PatternSpec
    from synprobe.render.patterns import render_patterns

    b = 8
    t = render_patterns(["camouflage"] * b, np.arange(b, dtype=np.uint32), PatternSpec(), 64, 64,
                        angles=np.full(b, angle))
    gx = np.abs(np.diff(t, axis=2)).mean()
    gy = np.abs(np.diff(t, axis=1)).mean()
    ratio = (gx / gy) if along == 2 else (gy / gx)
    assert ratio < 0.5, ratio
    assert (t.max(-1) > 0).mean() > 0.99 and 0 <= t.min() and t.max() <= 1
