"""Synbols' laws in the renderer: geometry (translation of the transformed ink box), the slant's
direction, cairo's gradient laws, and random streams keyed by the recipe as well as the seed."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_render import PLAIN as RENDER_PLAIN

from synprobe.recipe import load_recipe, recipe_from_dict
from synprobe.render.compose import Renderer
from synprobe.render.patterns import _PATTERN_SEED, KIND_LINEAR, KIND_RADIAL, _gradient_params
from synprobe.rng import Draws
from synprobe.sampling import Vocab, sample_table

SANS = "dejavu-core/dejavu-sans"

# test_render's plain set-up (pixel value == coverage), one upright sans face, never bold
PLAIN = {**RENDER_PLAIN, "symbol": {**RENDER_PLAIN["symbol"], "font": SANS, "bold": False}}


def _draw(registry, resolution, char, rotation, slant, tx, ty, scale, slant_mode="synbols"):
    """Coverage mask (H, W) of one glyph with the given attributes."""
    d = {**PLAIN, "resolution": resolution,
         "symbol": {**PLAIN["symbol"], "char": char, "rotation": rotation, "slant": slant, "scale": scale,
                    "translation_x": tx, "translation_y": ty, "slant_mode": slant_mode}}
    r = Renderer(recipe_from_dict(d), registry=registry)
    idx = np.arange(1)
    _, m = r.render(r.sample(0, idx), 0, idx)
    return m[0, :, :, 0].astype(np.float64)


@pytest.mark.parametrize("rotation", [0.6, -0.9, 1.3])
@pytest.mark.parametrize("corner", [(-1.0, -1.0), (1.0, 1.0), (1.0, -1.0), (-1.0, 1.0)])
def test_rotated_narrow_glyph_at_the_extremes_stays_in_the_frame(registry, rotation, corner):
    """A rotated, slanted 'l' (narrow and tall) at translation +-1: Synbols moves the ink box measured
    after rotation and slant, so nothing is cut off -- all its coverage is in the image."""
    kw = dict(char="l", rotation=rotation, slant=0.2, scale=0.8)
    centre = _draw(registry, 64, tx=0.0, ty=0.0, **kw)
    edge = _draw(registry, 64, tx=corner[0], ty=corner[1], **kw)
    assert abs(edge.sum() - centre.sum()) <= 0.01 * centre.sum()
    # and it reaches the side it was sent to (the free space is used to its end)
    ys, xs = np.nonzero(edge > 0)
    assert (xs.min() <= 1) if corner[0] < 0 else (xs.max() >= 62)
    assert (ys.min() <= 1) if corner[1] < 0 else (ys.max() >= 62)


def test_narrow_glyphs_travel_further_than_wide_ones(registry):
    """Per-axis free space: at the same translation an 'l' moves further sideways than an 'M'."""
    def centre_x(char):
        m = _draw(registry, 64, char, rotation=0.0, slant=0.0, tx=0.9, ty=0.0, scale=0.6)
        xs = np.nonzero(m.sum(0))[0]
        return (xs.min() + xs.max()) / 2
    assert centre_x("l") > centre_x("M") + 5


def _shear_moments(m: np.ndarray) -> tuple[float, float, float]:
    """Coverage-weighted cov(x, y), var(x), var(y) in image coordinates (y down)."""
    ys, xs = np.mgrid[: m.shape[0], : m.shape[1]]
    w = m / m.sum()
    mx, my = (w * xs).sum(), (w * ys).sum()
    return (w * (xs - mx) * (ys - my)).sum(), (w * (xs - mx) ** 2).sum(), (w * (ys - my) ** 2).sum()


def test_slant_is_synbols_vertical_shear(registry):
    """Synbols' slant (cairo Matrix(1, 0.2, 0, 1)): y' = y + 0.2 x. Verticals stay vertical (the
    width does not change), horizontals tilt down to the right: cov(x, y) grows by 0.2 var(x)."""
    upright = _draw(registry, 64, "H", rotation=0.0, slant=0.0, tx=0.0, ty=0.0, scale=0.6)
    slanted = _draw(registry, 64, "H", rotation=0.0, slant=0.2, tx=0.0, ty=0.0, scale=0.6)
    c0, vx0, _ = _shear_moments(upright)
    c1, vx1, _ = _shear_moments(slanted)
    assert abs(c0) < 0.02 * vx0  # 'H' is symmetric
    assert (c1 - c0) / vx1 == pytest.approx(0.2, abs=0.03)
    cols_up, cols_sl = np.nonzero(upright.sum(0))[0], np.nonzero(slanted.sum(0))[0]
    assert abs(len(cols_up) - len(cols_sl)) <= 1
    assert len(np.nonzero(slanted.sum(1))[0]) > len(np.nonzero(upright.sum(1))[0]) + 3  # taller


def test_italic_slant_mode_leans_the_top_right(registry):
    """The named option ``slant_mode = "italic"``: x' = x - 0.2 y (y down): the top moves right."""
    upright = _draw(registry, 64, "H", rotation=0.0, slant=0.0, tx=0.0, ty=0.0, scale=0.6)
    italic = _draw(registry, 64, "H", rotation=0.0, slant=0.2, tx=0.0, ty=0.0, scale=0.6, slant_mode="italic")
    c0, _, _ = _shear_moments(upright)
    c1, _, vy1 = _shear_moments(italic)
    assert (c1 - c0) / vy1 == pytest.approx(-0.2, abs=0.03)
    rows_up, rows_it = np.nonzero(upright.sum(1))[0], np.nonzero(italic.sum(1))[0]
    assert abs(len(rows_up) - len(rows_it)) <= 1  # horizontals stay horizontal


def test_unknown_slant_mode_is_one_clear_error():
    with pytest.raises(Exception, match=r"symbol.slant_mode: unknown 'itallic' \(did you mean 'italic'\?\)"):
        recipe_from_dict({"symbol": {"slant_mode": "itallic"}})


# ---------------------------------------------------------------- gradients


def _ramp_identity(p: np.ndarray) -> np.ndarray:
    """Colour stops 0, 0.5, 1 on every channel: the output is the gradient position t."""
    p = p.copy()
    p[:, :9] = np.repeat([0.0, 0.5, 1.0], 3)
    return p


def _eval(kind, p, h, w):
    from synprobe.render.backend import kernels

    out = np.empty((len(p), h, w, 3), np.float32)
    kernels().eval_patterns(out, np.full(len(p), kind, np.int64), np.ascontiguousarray(p))
    return out[..., 0].astype(np.float64)


@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=4, unique=True),
       st.integers(8, 40), st.integers(8, 40))
def test_linear_gradient_is_cairos(seeds, h, w):
    """Linear: start U(0,1)^2, direction U(0, 2 pi), length N(1, 0.2) in units of the shorter side;
    t = (p - start) . v / |v|^2, padded to [0, 1]."""
    d = Draws(_PATTERN_SEED, np.array(seeds, np.uint64))
    got = _eval(KIND_LINEAR, _ramp_identity(_gradient_params(d, h, w, "linear")), h, w)
    m = min(h, w)
    sx, sy = d.uniform("x1"), d.uniform("y1")
    ang, length = d.uniform("angle") * 2 * math.pi, 1 + 0.2 * d.normal("length")
    vx, vy = length * np.cos(ang), length * np.sin(ang)
    py, px = (np.mgrid[:h, :w] + 0.5) / m
    want = ((px[None] - sx[:, None, None]) * vx[:, None, None] + (py[None] - sy[:, None, None]) * vy[:, None, None])
    want = np.clip(want / (vx**2 + vy**2)[:, None, None], 0, 1)
    np.testing.assert_allclose(got, want, atol=2e-5)


@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=3, unique=True), st.integers(8, 24))
def test_radial_gradient_is_cairos(seeds, side):
    """Radial: from a circle of radius 2 at U(0,1)^2 to a circle of radius 0.1 at U(0,1)^2; a pixel
    takes the largest t whose circle passes through it (here: the last circle that holds it)."""
    d = Draws(_PATTERN_SEED, np.array(seeds, np.uint64))
    got = _eval(KIND_RADIAL, _ramp_identity(_gradient_params(d, side, side, "radial")), side, side)
    c1 = np.stack([d.uniform("x1"), d.uniform("y1")], -1)
    c2 = np.stack([d.uniform("x2"), d.uniform("y2")], -1)
    ts = np.linspace(0, 1, 20001)
    py, px = (np.mgrid[:side, :side] + 0.5) / side
    for k in range(len(seeds)):
        centre = c1[k][None] + ts[:, None] * (c2[k] - c1[k])[None]  # (T, 2)
        radius = 2.0 + ts * (0.1 - 2.0)
        dist = np.hypot(px[..., None] - centre[:, 0], py[..., None] - centre[:, 1])  # (h, w, T)
        inside = dist <= radius
        want = np.where(inside.all(-1), 1.0, ts[np.argmin(inside, -1) - 1])
        np.testing.assert_allclose(got[k], want, atol=1e-4)


# ---------------------------------------------------------------- recipe-keyed streams


def _table(recipe, seed=0, n=64):
    return sample_table(recipe, Vocab.build(recipe), seed, np.arange(n))


def test_two_recipes_at_one_seed_are_independent():
    a, b = load_recipe("default"), load_recipe("default-latin")
    ta, tb = _table(a), _table(b)
    for col in ("rotation", "scale", "translation_x", "translation_y", "background_seed"):
        assert not np.array_equal(ta[col], tb[col]), col
    assert abs(np.corrcoef(ta["rotation"][:, 0], tb["rotation"][:, 0])[0, 1]) < 0.4


def test_pairing_is_explicit_through_the_stream_name():
    a = load_recipe("default")
    paired = replace(load_recipe("default-latin"), stream="default")
    ta, tp = _table(a), _table(paired)
    for col in ("rotation", "scale", "translation_x", "translation_y", "background_seed", "inverse_color"):
        np.testing.assert_array_equal(ta[col], tp[col])


def test_the_same_recipe_at_another_resolution_keeps_its_draws():
    a = load_recipe("default")
    big = recipe_from_dict({**{f: getattr(a, f) for f in ("name", "symbol", "background")}, "resolution": 64})
    ta, tb = _table(a), _table(big)
    np.testing.assert_array_equal(ta["rotation"], tb["rotation"])


def test_streams_differ_by_name_and_seed():
    a = load_recipe("default")
    t0, t1 = _table(a, seed=0), _table(replace(a, name="other"), seed=0)
    assert not np.array_equal(t0["rotation"], t1["rotation"])
    assert not np.array_equal(t0["rotation"], _table(a, seed=1)["rotation"])
