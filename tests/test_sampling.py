"""Attribute sampling: determinism, batch independence, supports, coverage and uniformity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import recipe_dicts

from synprobe.recipe import OCCLUDER_KINDS, PATTERN_KINDS, load_recipe, recipe_from_dict
from synprobe.rng import Draws
from synprobe.sampling import COLUMNS, Vocab, sample_table
from synprobe.scripts import ALPHABETS, SCRIPTS


@pytest.fixture(scope="module")
def default():
    from synprobe.fonts import FontRegistry

    r = load_recipe("default")
    return r, Vocab.build(r, FontRegistry.load(user=False))


def _assert_tables_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_table(default):
    r, v = default
    _assert_tables_equal(sample_table(r, v, 3, np.arange(200)), sample_table(r, v, 3, np.arange(200)))


def test_different_seed_different_table(default):
    r, v = default
    a, b = sample_table(r, v, 0, np.arange(200)), sample_table(r, v, 1, np.arange(200))
    assert not np.array_equal(a["rotation"], b["rotation"])


def test_columns_have_declared_dtypes_and_shapes(default):
    r, v = default
    t = sample_table(r, v, 0, np.arange(10))
    for c in COLUMNS:
        if c.name not in t:
            assert c.level == "occluder"
            continue
        assert t[c.name].dtype == np.dtype(c.dtype), c.name
        want = {"image": (10,), "symbol": (10, r.max_symbols), "occluder": (10, r.max_occluders)}[c.level]
        assert t[c.name].shape == want, c.name


@given(st.integers(0, 400), st.integers(0, 400), st.integers(0, 2**32))
def test_subrange_equals_table_of_subrange(default, a, b, seed):
    r, v = default
    a, b = sorted((a, b))
    full = sample_table(r, v, seed, np.arange(0, 401))
    part = sample_table(r, v, seed, np.arange(a, b))
    _assert_tables_equal({k: x[a:b] for k, x in full.items()}, part)


@given(recipe_dicts(), st.lists(st.integers(0, 10**6), min_size=1, max_size=20), st.integers(0, 2**40))
def test_rows_do_not_depend_on_the_other_rows(registry, d, index, seed):
    r = recipe_from_dict(d)
    v = Vocab.build(r, registry)
    index = np.array(index)
    t = sample_table(r, v, seed, index)
    for i in (0, len(index) - 1):
        one = sample_table(r, v, seed, index[i : i + 1])
        _assert_tables_equal({k: x[i : i + 1] for k, x in t.items()}, one)


@given(st.integers(0, 2**63 - 1), st.lists(st.integers(0, 2**40), min_size=1, max_size=50))
def test_draws_are_per_index(seed, index):
    d = Draws(seed, np.array(index))
    u = d.uniform("x", 3)
    assert u.shape == (len(index), 3) and ((u >= 0) & (u < 1)).all()
    # slot j does not depend on how many slots were asked for
    np.testing.assert_array_equal(Draws(seed, np.array(index)).uniform("x", 5)[:, :3], u)
    np.testing.assert_array_equal(Draws(seed, np.array(index[::-1])).uniform("x", 3), u[::-1])


# --------------------------------------------------------------------------- supports


def _active(t: dict, level: str) -> np.ndarray:
    count = t["n_symbols"] if level == "symbol" else t["n_occluders"]
    slots = t["char"].shape[1] if level == "symbol" else t["occluder_kind"].shape[1]
    return np.arange(slots)[None, :] < count[:, None]


@given(recipe_dicts(), st.integers(0, 2**32))
def test_every_attribute_lies_in_its_support(registry, d, seed):
    r = recipe_from_dict(d)
    v = Vocab.build(r, registry)
    t = sample_table(r, v, seed, np.arange(300))
    sym, occ = r.symbol, r.occlusion

    assert r.n_symbols.contains(t["n_symbols"]).all()
    assert ((t["n_symbols"] >= 1) & (t["n_symbols"] <= r.max_symbols)).all()
    assert r.inverse_color.contains(t["inverse_color"]).all()
    assert r.pixel_noise.contains(t["pixel_noise"]).all()
    bg_kinds = {PATTERN_KINDS.index(k) for k in r.background.kind.values()}
    assert set(np.unique(t["background_kind"]).tolist()) <= bg_kinds

    on = _active(t, "symbol")
    for k in ("slant", "rotation", "scale", "translation_x", "translation_y"):
        assert getattr(sym, k).contains(t[k][on]).all(), k
        assert np.isnan(t[k][~on]).all(), k
    assert sym.bold.contains(t["bold"][on]).all()
    assert not t["bold"][~on].any()
    fk = {PATTERN_KINDS.index(k) for k in sym.foreground.kind.values()}
    assert set(np.unique(t["foreground_kind"][on]).tolist()) <= fk
    for k in ("char", "font", "script", "foreground_kind"):
        assert (t[k][~on] == -1).all(), k
        assert (t[k][on] >= 0).all(), k
    for code, ch in zip(t["script"][on].tolist(), t["char"][on].tolist(), strict=False):
        assert v.chars[ch] in ALPHABETS[SCRIPTS[code]].chars
    if sym.char is not None:
        assert {v.chars[c] for c in t["char"][on].tolist()} <= set(sym.char.values())
    else:
        assert {SCRIPTS[c] for c in np.unique(t["script"][on]).tolist()} <= set(sym.script.values())

    if r.max_occluders == 0:
        assert (t["n_occluders"] == 0).all()
        return
    assert occ.count.contains(t["n_occluders"]).all()
    on = _active(t, "occluder")
    kinds = {OCCLUDER_KINDS.index(k) for k in occ.kind.values()}
    assert set(np.unique(t["occluder_kind"][on]).tolist()) <= kinds
    assert (t["occluder_kind"][~on] == -1).all()
    for k in ("scale", "rotation", "translation_x", "translation_y"):
        assert getattr(occ, k).contains(t[f"occluder_{k}"][on]).all(), k
        assert np.isnan(t[f"occluder_{k}"][~on]).all(), k
    glyph = on & (t["occluder_kind"] == OCCLUDER_KINDS.index("glyph"))
    assert (t["occluder_char"][glyph] >= 0).all() and (t["occluder_char"][~glyph] == -1).all()
    for f, c in zip(t["occluder_font"][glyph].tolist(), t["occluder_char"][glyph].tolist(), strict=False):
        assert registry.supports(v.fonts[f], v.chars[c])


@given(recipe_dicts(), st.integers(0, 2**32))
def test_sampled_font_char_pairs_are_audited(registry, d, seed):
    r = recipe_from_dict(d)
    v = Vocab.build(r, registry)
    t = sample_table(r, v, seed, np.arange(200))
    on = _active(t, "symbol")
    pairs = set(zip(t["font"][on].tolist(), t["char"][on].tolist(), strict=False))
    assert pairs
    for f, c in pairs:
        assert registry.supports(v.fonts[f], v.chars[c]), (v.fonts[f], v.chars[c])


def test_default_pairs_are_audited_at_scale(default, registry):
    r, v = default
    t = sample_table(r, v, 0, np.arange(20000))
    for f, c in set(zip(t["font"][:, 0].tolist(), t["char"][:, 0].tolist(), strict=False)):
        assert registry.supports(v.fonts[f], v.chars[c])


def test_default_chars_are_uniform(default):
    """Pearson chi-square over the 52 Latin letters: statistic ~ chi2(51), mean 51, sd 10."""
    r, v = default
    n = 20000
    t = sample_table(r, v, 0, np.arange(n))
    counts = np.bincount(t["char"][:, 0], minlength=len(v.chars))
    assert len(v.chars) == len(ALPHABETS["latin"].chars) == 52
    expected = n / len(v.chars)
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 120, (chi2, counts)  # p < 1e-6 under the null
    assert counts.min() > 0


def test_default_fonts_are_spread(default):
    r, v = default
    t = sample_table(r, v, 0, np.arange(20000))
    used = np.unique(t["font"][:, 0])
    assert len(used) > len(v.fonts) * 0.8


def test_bernoulli_rates_match(default):
    r, v = default
    t = sample_table(r, v, 0, np.arange(20000))
    for k in ("inverse_color", "bold"):
        rate = float(t[k].mean())
        assert abs(rate - 0.5) < 0.02, (k, rate)


def test_mixture_samples_each_component_with_its_weight():
    from synprobe.dists import Const, Mixture, Uniform
    from synprobe.recipe import recipe_from_dict, recipe_to_dict
    from synprobe.rng import Draws

    law = {"dist": "mixture", "components": [{"dist": "uniform", "low": -0.9, "high": 0.9}, 10.0],
           "weights": [0.9, 0.1]}
    r = recipe_from_dict({"symbol": {"translation_x": law}})
    m = r.symbol.translation_x
    assert m == Mixture((Uniform(-0.9, 0.9), Const(10.0)), (0.9, 0.1))
    assert recipe_from_dict(recipe_to_dict(r)) == r
    v = m.sample(Draws(3, np.arange(20000)), "x")
    far = v == 10.0
    assert abs(far.mean() - 0.1) < 0.01  # ~7 standard deviations
    assert np.all(np.abs(v[~far]) <= 0.9) and m.contains(v).all()


def test_bold_synthetic_records_how_bold_was_drawn(registry):
    from synprobe.recipe import recipe_from_dict
    from synprobe.sampling import Vocab, sample_table

    with_bold = next(f for f in registry.ids("latin") if registry.entry(f).bold
                     and registry.supports(registry.entry(f).bold, "a"))
    without = next(f for f in registry.ids("latin") if not registry.entry(f).bold and registry.supports(f, "a"))
    for font, synthetic in ((with_bold, False), (without, True)):
        r = recipe_from_dict({"symbol": {"font": font, "char": "a", "bold": True}})
        t = sample_table(r, Vocab.build(r, registry), seed=0, index=np.arange(8))
        assert t["bold"].all() and (t["bold_synthetic"] == synthetic).all()
