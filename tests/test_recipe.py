"""Recipe schema: bundled recipes validate, dict round-trips, one-line errors with field paths."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import bad_recipe_dicts, dists, recipe_dicts

from synprobe.dists import Normal
from synprobe.errors import InvalidRecipe
from synprobe.recipe import (
    PATTERN_KINDS,
    Recipe,
    list_recipes,
    load_recipe,
    recipe_from_dict,
    recipe_to_dict,
    resolve_recipe,
)
from synprobe.sampling import Vocab, sample_table


def _one_line(e: BaseException) -> str:
    msg = str(e)
    assert "\n" not in msg, msg
    return msg


# --------------------------------------------------------------------------- bundled recipes


def test_there_are_bundled_recipes():
    assert "default" in list_recipes()


@pytest.mark.parametrize("name", sorted(list_recipes()))
def test_bundled_recipe_validates_and_samples(name, registry):
    r = load_recipe(name)
    assert isinstance(r, Recipe)
    assert r.name == name
    assert recipe_from_dict(recipe_to_dict(r)) == r
    t = sample_table(r, Vocab.build(r, registry), seed=0, index=__import__("numpy").arange(16))
    assert len(t["n_symbols"]) == 16


def test_default_recipe_matches_docs():
    r = load_recipe("default")
    assert r.resolution == (32, 32)
    assert r.max_symbols == 1 and r.max_occluders == 0


# --------------------------------------------------------------------------- round trips


@given(recipe_dicts())
def test_recipe_dict_round_trip(d):
    r = recipe_from_dict(d)
    again = recipe_from_dict(recipe_to_dict(r))
    assert again == r
    assert recipe_to_dict(again) == recipe_to_dict(r)


@given(recipe_dicts())
def test_recipe_dataclass_revalidates_to_itself(d):
    r = recipe_from_dict(d)
    assert recipe_from_dict(r) == r
    assert resolve_recipe(r) == r


@given(dists(min_value=-2.0, max_value=2.0))
def test_dist_round_trip_in_a_field(dist):
    r = recipe_from_dict({"symbol": {"rotation": dist.to_dict()}})
    assert r.symbol.rotation == dist


@given(st.integers(8, 256), st.integers(8, 256))
def test_resolution_override(h, w):
    assert resolve_recipe("default", resolution=(h, w)).resolution == (h, w)
    assert resolve_recipe("default", resolution=h).resolution == (h, h)


# --------------------------------------------------------------------------- errors


@given(bad_recipe_dicts())
def test_bad_recipe_names_source_and_field_path(bad):
    with pytest.raises(InvalidRecipe) as ei:
        recipe_from_dict(bad.data, source="bad.toml")
    msg = _one_line(ei.value)
    assert msg.startswith(f"bad.toml: {bad.path}: "), msg
    assert ei.value.source == "bad.toml" and ei.value.path == bad.path
    for s in bad.expect:
        assert s in msg, (s, msg)


def test_invalid_recipe_is_a_value_error():
    with pytest.raises(ValueError):
        recipe_from_dict({"resolution": 3})


def test_toml_typo_in_pattern_kind(tmp_path):
    p = tmp_path / "typo.toml"
    p.write_text('resolution = 16\n[symbol]\nforeground.kind = "gradiant"\n', encoding="utf-8")
    with pytest.raises(InvalidRecipe) as ei:
        load_recipe(p)
    msg = _one_line(ei.value)
    assert msg.startswith(f"{p}: symbol.foreground.kind"), msg
    assert "unknown 'gradiant'" in msg
    assert "expected one of" in msg
    for k in PATTERN_KINDS:
        assert repr(k) in msg


def test_toml_syntax_error(tmp_path):
    p = tmp_path / "broken.toml"
    p.write_text("resolution = = 3\n[symbol\n", encoding="utf-8")
    with pytest.raises(InvalidRecipe) as ei:
        load_recipe(p)
    msg = _one_line(ei.value)
    assert msg.startswith(str(p)) and "TOML" in msg


def test_toml_not_utf8(tmp_path):
    p = tmp_path / "latin1.toml"
    p.write_bytes(b'description = "caf\xe9"\n')
    with pytest.raises(InvalidRecipe) as ei:
        load_recipe(p)
    assert _one_line(ei.value).startswith(str(p))


def test_unknown_recipe_name_suggests_close_match():
    with pytest.raises(InvalidRecipe) as ei:
        load_recipe("defualt")
    msg = _one_line(ei.value)
    assert msg.startswith("defualt: ")
    assert "'default'" in msg


def test_recipe_file_name_becomes_recipe_name(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text("resolution = [16, 24]\n", encoding="utf-8")
    r = load_recipe(p)
    assert r.name == "mine" and r.resolution == (16, 24)


def test_bad_resolution_override_names_the_option():
    with pytest.raises(InvalidRecipe) as ei:
        resolve_recipe("default", resolution=4)
    assert _one_line(ei.value).startswith("--resolution: resolution[0]")


# --------------------------------------------------------------------------- known bugs


def test_zero_scale_is_rejected_by_validation():
    with pytest.raises(InvalidRecipe) as ei:
        recipe_from_dict({"symbol": {"scale": 0.0}}, source="s.toml")
    assert str(ei.value).startswith("s.toml: symbol.scale")


def test_normal_with_min_above_max_is_rejected():
    with pytest.raises(InvalidRecipe) as ei:
        recipe_from_dict({"symbol": {"rotation": {"dist": "normal", "std": 1.0, "min": 1.0, "max": 0.0}}})
    assert "symbol.rotation" in str(ei.value)


def test_normal_support_contains_its_samples_when_bounds_ordered():
    import numpy as np

    from synprobe.rng import Draws

    d = Normal(0.0, 1.0, -0.5, 0.5)
    v = d.sample(Draws(0, np.arange(1000)), "x")
    assert d.contains(v).all()
    assert math.isclose(float(v.min()), -0.5) and math.isclose(float(v.max()), 0.5)


def test_picture_folders_are_recorded_portably(tmp_path):
    """Bundled pictures are recorded as ``bundled:...`` (a dataset's recorded recipe is the same on
    every install); a user's folder by its absolute path; both generate."""
    import shutil

    from synprobe.generator import generate
    from synprobe.paths import bundled
    from synprobe.recipe import recipe_from_dict, recipe_json

    nat = load_recipe("natural-patterns")
    assert nat.background.image_dir == "bundled:textures" and "/textures" not in recipe_json(nat).replace(
        "bundled:textures", "")
    mine = tmp_path / "pics"
    shutil.copytree(bundled("generators") / "textures", mine)
    for path, recorded in (("bundled:textures", "bundled:textures"), (str(mine), str(mine.resolve())),
                            ("pics", str(mine.resolve()))):
        r = recipe_from_dict({"resolution": 8, "background": {"kind": "image", "image_dir": path}}, base=tmp_path)
        assert r.background.image_dir == recorded
    a = generate({"resolution": 8, "background": {"kind": "image", "image_dir": "bundled:textures"}}, 40,
                 tmp_path / "a.h5", workers=1)
    b = generate({"resolution": 8, "background": {"kind": "image", "image_dir": str(mine)}}, 40,
                 tmp_path / "b.h5", workers=1)
    import h5py

    with h5py.File(a.path) as fa, h5py.File(b.path) as fb:  # same pictures, same images
        assert (fa["x"][:] == fb["x"][:]).all()
    with pytest.raises(InvalidRecipe, match="bundled:textures"):
        recipe_from_dict({"background": {"kind": "image", "image_dir": "bundled:nope"}})
