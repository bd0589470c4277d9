"""The glyph atlas: integer glyph codes, merging between processes, the on-disk cache."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import synprobe.generator as gen
import synprobe.render.glyphs as glyphs_mod
from synprobe.config import glyph_cache_dir
from synprobe.fonts import FontRegistry
from synprobe.render.glyphs import GlyphCache, load_atlas, save_atlas

MIXED = {  # symbols, glyph and shape occluders: every kind of atlas entry
    "name": "atlas-mixed",
    "resolution": 20,
    "n_symbols": {"dist": "randint", "low": 1, "high": 3},
    "occlusion": {"count": {"dist": "randint", "low": 0, "high": 3},
                  "kind": {"dist": "choice", "values": ["square", "circle", "glyph"]}},
}


@pytest.fixture(scope="module")
def registry():
    return FontRegistry.load(user=False)


def _cache(registry) -> GlyphCache:
    def resolve(f):
        e = registry.entry(f)
        return e.path, (registry.entry(e.bold).path if e.bold else None), e.bold

    return GlyphCache(resolve, registry.supports)


def _keys(registry, n: int, seed: int) -> list[tuple]:
    rng = np.random.default_rng(seed)
    fonts = registry.ids("latin")
    out = []
    for _ in range(n):
        if rng.random() < 0.2:
            out.append(("<shape>", ["square", "triangle", "circle"][rng.integers(3)], False, int(rng.integers(6, 12))))
        else:
            f = fonts[rng.integers(len(fonts))]
            chars = [c for c in "aBx7" if registry.supports(f, c)]
            out.append((f, chars[rng.integers(len(chars))], bool(rng.integers(2)), int(rng.integers(6, 12))))
    return out


@given(st.integers(0, 2**16))
def test_codes_round_trip_keys(registry, seed):
    cache = _cache(registry)
    for key in _keys(registry, 20, seed):
        code = cache.code(cache.font_code(key[0]), cache.char_code(key[1]), int(key[2]), key[3])
        assert cache.key(code) == key


def test_export_add_merges_caches_with_other_interning(registry):
    """A worker's export lands in a cache that interned fonts and shapes in another order."""
    keys = list(dict.fromkeys(_keys(registry, 60, 1)))
    a, b = _cache(registry), _cache(registry)
    for k in keys:
        a.id(*k)
    for k in reversed(keys[:10]):  # b already holds some of them, interned in reverse order
        b.id(*k)
    b.add(a.export(since=5))  # the 5 first stay only in a; the ones b knows are skipped
    assert len(b) == len(set(keys[:10]) | set(keys[5:]))
    for k in keys[5:]:
        ga, gb = a.get(*k), b.get(*k)
        np.testing.assert_array_equal(ga.mask, gb.mask)
        assert (ga.cx, ga.cy, ga.size) == (gb.cx, gb.cy, gb.size)
    codes = np.array([b.code(b.font_code(k[0]), b.char_code(k[1]), int(k[2]), k[3]) for k in keys[5:]])
    np.testing.assert_array_equal(b.ids(codes), [b.id(*k) for k in keys[5:]])
    assert (b.ids(np.array([codes.max() + 1])) == -1).all()  # unknown code: -1, nothing rasterised


def test_atlas_file_round_trip_and_refuses_a_mismatched_data_file(registry, tmp_path):
    a = _cache(registry)
    keys = list(dict.fromkeys(_keys(registry, 40, 2)))
    for k in keys:
        a.id(*k)
    path = tmp_path / "atlas.npz"
    save_atlas(path, a.export())
    save_atlas(path, a.export())  # saving again replaces the pair, the old data file goes
    assert len(list(tmp_path.glob("atlas.npz.*.u8"))) == 1
    b = _cache(registry)
    b.add(load_atlas(path))
    for k in keys:
        np.testing.assert_array_equal(a.get(*k).mask, b.get(*k).mask)
    assert len(b) == len(keys)  # every key was found, none rasterised again
    data = next(tmp_path.glob("atlas.npz.*.u8"))
    data.write_bytes(data.read_bytes()[:-1])
    assert load_atlas(path) is None  # a data file that does not match its index is not used
    data.unlink()
    assert load_atlas(path) is None


@pytest.mark.parametrize("workers", [1, 2])
def test_warm_atlas_rasterises_nothing_and_gives_the_same_bytes(tmp_path, monkeypatch, workers):
    cold = gen.generate(MIXED, 200, tmp_path / "cold.h5", seed=3, workers=workers, chunk=64)
    assert cold.n == 200
    assert len(list(glyph_cache_dir().glob("atlas-*.npz"))) == 1  # SYNPROBE_CACHE is per test (conftest)

    def refuse(*a, **k):
        raise AssertionError("a glyph was rasterised although the atlas holds it")

    monkeypatch.setattr(glyphs_mod, "render_glyph", refuse)
    monkeypatch.setattr(glyphs_mod, "_shape", refuse)
    gen.generate(MIXED, 200, tmp_path / "warm.h5", seed=3, workers=workers, chunk=64)
    assert (tmp_path / "warm.h5").read_bytes() == (tmp_path / "cold.h5").read_bytes()


def test_export_up_to_a_level_keeps_exactly_those_glyphs(registry):
    """The disk atlas keeps small glyphs only (large ones are cheap next to their images and would
    make it huge); the filtered export carries the right masks whatever the interleaving."""
    from synprobe.render.glyphs import ATLAS_MAX_LEVEL

    a = _cache(registry)
    font = registry.ids("latin")[0]
    keys = [(font, c, b, lv) for lv in (ATLAS_MAX_LEVEL - 1, ATLAS_MAX_LEVEL + 2, ATLAS_MAX_LEVEL)
            for c in "ab" for b in (False, True)]
    for k in keys:
        a.id(*k)
    for since in (0, 3, len(keys)):
        p = a.export(since=since, max_level=ATLAS_MAX_LEVEL)
        want = [k for k in keys[since:] if k[3] <= ATLAS_MAX_LEVEL]
        assert len(p["font"]) == len(want) and int((p["hw"][:, 0] * p["hw"][:, 1]).sum()) == len(p["data"])
        b = _cache(registry)
        b.add(p)
        assert len(b) == len(want)
        for k in want:
            np.testing.assert_array_equal(a.get(*k).mask, b.get(*k).mask)
    assert len(a.export(max_level=ATLAS_MAX_LEVEL - 5)["font"]) == 0
