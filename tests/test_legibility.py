"""Legibility audit: shipped verdicts, numpy inference, tiers in recipes, stale files.

Uses the shipped ``fonts/legibility.json`` and ``fonts/legibility_model.npz`` (no retraining).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synprobe.errors import InvalidRecipe
from synprobe.fonts import FontRegistry, add_fonts
from synprobe.fonts.legibility import (
    TIERS,
    font_canvases,
    forward,
    load_model,
    merge_twins,
    pair_scores,
    views,
)
from synprobe.paths import bundled
from synprobe.recipe import FONT_TIERS, load_recipe, recipe_from_dict
from synprobe.sampling import Vocab, sample_table

FONTS = bundled("fonts")
LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
DOC = json.loads((FONTS / "legibility.json").read_text(encoding="utf-8"))
PAIR = DOC["thresholds"]["pair"]
DINGBATS = "urw-base35/d050000l"
GREEK_MAPPED = "linex/ellhnikh"
CAPS_ONLY = "bebas-neue/bebas-neue"  # caps-like by fontaudit's check (see below)


@pytest.fixture(scope="module")
def reg() -> FontRegistry:
    return FontRegistry.load(user=False)


# --- verdicts on known fonts ---------------------------------------------------------------
def test_file_is_current(reg):
    assert DOC["manifest_sha256"] == reg.manifest_sha256
    assert reg.legibility_notes == []
    assert set(DOC["fonts"]) == set(reg.ids())


def test_dingbat_font_is_illegible(reg):
    assert reg.tier(DINGBATS, "latin") == "illegible"
    assert reg.legible(DINGBATS) == ""
    assert DINGBATS not in reg.ids("latin", tiers=("legible", "decorative"))


def test_greek_mapped_font_does_not_give_f_or_l(reg):
    ok = reg.legible(GREEK_MAPPED)
    assert reg.tier(GREEK_MAPPED, "latin") == "illegible" or not {"F", "L"} & set(ok)


def test_caps_only_font_is_legible_without_lowercase(reg):
    from synprobe.fonts.audit import audit_font

    drawn = "".join(audit_font(reg.entry(CAPS_ONLY).path)["latin"])
    assert drawn == "ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # the caps-like check removed every lowercase
    assert reg.tier(CAPS_ONLY, "latin") == "legible"
    ok = set(reg.legible(CAPS_ONLY)) & set(LATIN)
    assert sum(c.isupper() for c in ok) >= 24 and not any(c.islower() for c in ok)


def test_every_font_has_a_tier_and_scores_in_range(reg):
    for fid in reg.ids():
        e = DOC["fonts"][fid]
        assert e["tier"] in TIERS and set(e["tiers"]) == set(reg.scripts(fid))
        for script, sc in e["scores"].items():
            assert set(sc) <= set(reg.chars(fid, script))
            assert all(0 <= v <= 1.0005 for v in sc.values())


# --- sampling --------------------------------------------------------------------------------
def test_default_never_samples_an_illegible_pair():
    r = load_recipe("default")
    v = Vocab.build(r)
    t = sample_table(r, v, seed=0, index=np.arange(20_000))
    on = t["font"] >= 0
    pairs = set(zip(np.asarray(v.fonts)[t["font"][on]].tolist(), np.asarray(v.chars)[t["char"][on]].tolist()))
    assert len(pairs) > 1000
    for fid, ch in pairs:
        e = DOC["fonts"][fid]
        assert e["tiers"]["latin"] == "legible", fid
        assert e["scores"]["latin"][ch] >= PAIR, (fid, ch)


@settings(max_examples=6, deadline=None)
@given(sel=st.sampled_from(sorted(FONT_TIERS)), script=st.sampled_from(["latin", "greek", "cyrillic"]))
def test_tier_selection(reg, sel, script):
    r = recipe_from_dict({"symbol": {"script": script, "fonts": sel}})
    v = Vocab.build(r, reg)
    assert v.fonts and all(reg.tier(f, script) in FONT_TIERS[sel] for f in v.fonts)
    for pool in v.pools.values():
        rows, cols = np.nonzero(np.diff(pool.font_cdf, prepend=0, axis=1) > 0)
        for c, f in zip(np.asarray(v.chars)[pool.chars[rows]], np.asarray(v.fonts)[cols]):
            assert c in reg.legible(f), (f, c)


def test_all_is_legible_plus_decorative(reg):
    fonts = {sel: set(Vocab.build(recipe_from_dict({"symbol": {"fonts": sel}}), reg).fonts) for sel in FONT_TIERS}
    assert fonts["all"] == fonts["legible"] | fonts["decorative"]
    assert not fonts["legible"] & fonts["decorative"]


def test_explicit_illegible_font_is_rejected():
    with pytest.raises(InvalidRecipe, match=rf"symbol\.font: font '{DINGBATS}' is illegible"):
        recipe_from_dict({"symbol": {"font": DINGBATS}})
    with pytest.raises(InvalidRecipe, match="symbol.fonts: unknown 'legibel'"):
        recipe_from_dict({"symbol": {"fonts": "legibel"}})


def test_explicit_illegible_pair_is_rejected(reg):
    fid, ch = next((f, c) for f in reg.ids("latin", tiers=("legible",)) for c in reg.chars(f, "latin")
                   if c not in reg.legible(f))
    with pytest.raises(InvalidRecipe, match=rf"symbol\.char: .*font '{fid}'"):
        recipe_from_dict({"symbol": {"font": fid, "char": ch}})


def test_cli_list_shows_tiers():
    from click.testing import CliRunner

    from synprobe.cli.fonts import fonts

    res = CliRunner().invoke(fonts, ["list", "--script", "latin", "--tier", "illegible"])
    assert res.exit_code == 0, res.output
    assert any(line.startswith(DINGBATS) and " illegible " in line for line in res.output.splitlines())
    data = json.loads(CliRunner().invoke(fonts, ["list", "--json", "--script", "latin"]).stdout)
    tiers = {r["id"]: r["tier"] for r in data["fonts"]}
    assert tiers[DINGBATS] == "illegible" and tiers[CAPS_ONLY] == "legible"
    assert sum(data["tiers"]["latin"].values()) == data["counts"]["latin"]


# --- inference -------------------------------------------------------------------------------
def test_numpy_forward_equals_torch(reg):
    torch = pytest.importorskip("torch", reason="the torch reference needs the train extra")
    from synprobe.fonts.legibility_train import load_net

    params = load_model()["latin"]
    fid = reg.ids("latin", tiers=("legible",))[0]
    x = views(font_canvases(reg.entry(fid).path, "aBcDeFgH")).reshape(-1, 1, 32, 32)
    with torch.no_grad():
        ref = load_net(params)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(forward(params, x), ref, rtol=1e-4, atol=1e-4)


def test_user_fonts_get_the_same_audit(tmp_path, monkeypatch, reg):
    monkeypatch.setenv("SYNPROBE_HOME", str(tmp_path / "home"))
    src = tmp_path / "src"
    src.mkdir()
    good = reg.ids("latin", tiers=("legible",))[0]
    for fid in (good, DINGBATS):
        (src / ("my-" + reg.entry(fid).path.name)).write_bytes(reg.entry(fid).path.read_bytes())
    ids = sorted(add_fonts(src))
    r = FontRegistry.load()
    tiers = {reg.entry(f).path.name: r.tier(i, "latin") for i, f in
             zip(ids, sorted((good, DINGBATS), key=lambda f: "my-" + reg.entry(f).path.name))}
    assert tiers[reg.entry(good).path.name] in ("legible", "decorative")
    assert tiers[reg.entry(DINGBATS).path.name] == "illegible"


@given(st.lists(st.floats(0.001, 1), min_size=52, max_size=52))
def test_merged_score_holds_own_and_twin(p):
    classes = LATIN
    probs = np.array([p]) / np.sum(p)
    twins = DOC["case_twins"]["latin"]
    merged = merge_twins(probs, classes, twins)
    assert np.all(merged >= probs - 1e-12) and np.all(merged <= 1 + 1e-9)
    for a, b in twins:
        i, j = classes.index(a), classes.index(b)
        assert merged[0, i] == merged[0, j] == pytest.approx(probs[0, i] + probs[0, j])
    scores, case = pair_scores(np.repeat(probs, 52, 0), classes, classes, twins)
    assert all(scores[c] == round(float(merged[0, i]), 3) for i, c in enumerate(classes))
    assert set(case) <= {c for t in twins for c in t}


# --- stale or missing file -------------------------------------------------------------------
def _folder(tmp_path, legibility: bool):
    """A copy of the bundled folder whose manifest.json differs by one byte."""
    d = tmp_path / "fonts"
    d.mkdir()
    (d / "files").symlink_to(FONTS / "files")
    raw = (FONTS / "manifest.json").read_bytes() + b"\n"
    (d / "manifest.json").write_bytes(raw)
    cov = json.loads((FONTS / "coverage.json").read_text(encoding="utf-8"))
    import hashlib

    cov["manifest_sha256"] = hashlib.sha256(raw).hexdigest()
    (d / "coverage.json").write_text(json.dumps(cov), encoding="utf-8")
    if legibility:
        shutil.copy(FONTS / "legibility.json", d / "legibility.json")
    return d


def test_stale_legibility_file_is_named(tmp_path, monkeypatch):
    import synprobe.fonts._registry as registry

    d = _folder(tmp_path, legibility=True)
    monkeypatch.setattr(registry, "bundled", lambda name: d)
    r = FontRegistry.load(user=False)
    assert len(r.legibility_notes) == 1
    note = r.legibility_notes[0]
    assert "stale" in note and "run `python tools/audit_legibility.py --write`" in note
    assert r.tier(DINGBATS, "latin") == "illegible"  # entries whose font file is unchanged still hold


def test_missing_legibility_file_stops_sampling(tmp_path, monkeypatch):
    import synprobe.fonts._registry as registry

    d = _folder(tmp_path, legibility=False)
    monkeypatch.setattr(registry, "bundled", lambda name: d)
    r = FontRegistry.load(user=False)
    assert r.tier(DINGBATS) == "unaudited"
    with pytest.raises(InvalidRecipe, match="legibility.json: missing.*audit_legibility.py --write"):
        Vocab.build(load_recipe("default"), r)
