"""Bundled font set, font registry, glyph audit and the ``synprobe fonts`` CLI."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synprobe.errors import FontCoverageError, FontError
from synprobe.fonts import FontRegistry, add_fonts, verify
from synprobe.paths import bundled
from synprobe.scripts import ALPHABETS

FONTS = bundled("fonts")
MANIFEST = json.loads((FONTS / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def reg() -> FontRegistry:
    return FontRegistry.load(user=False)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SYNPROBE_HOME", str(tmp_path_factory.mktemp("home")))


_OPENED: list[str] | None = None  # files opened while a test records (audit hook below)


def _record_opens(event, args):
    if event == "open" and _OPENED is not None and isinstance(args[0], str | bytes | os.PathLike):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_record_opens)  # hooks cannot be removed: this one records only inside a test's block


def test_registry_loads_without_opening_fonts():
    """Loading reads the JSON tables only (its speed is measured by bench/bench_generate.py's
    start-up figures, not by a timed test)."""
    global _OPENED
    _OPENED = []
    try:
        r = FontRegistry.load()
    finally:
        opened, _OPENED = _OPENED, None
    assert [p for p in opened if p.endswith(".json")], "the registry read no JSON table?"
    fonts = [p for p in opened if p.lower().endswith((".ttf", ".otf", ".ttc", ".pfb", ".woff2"))]
    assert not fonts, fonts[:3]
    assert len(r) == len(MANIFEST["fonts"])
    assert len(r.manifest_sha256) == 64


def test_counts_per_script(reg):
    assert len(reg.ids("latin")) >= 200
    assert len({reg.entry(i).family for i in reg.ids("latin")}) >= 200
    for script in ALPHABETS:
        assert len(reg.ids(script)) >= 3 or script in MANIFEST["missing"], script


def test_manifest_files_and_licenses():
    ids = [e["id"] for e in MANIFEST["fonts"]]
    assert len(ids) == len(set(ids)) and ids == sorted(ids)
    for e in MANIFEST["fonts"]:
        p = FONTS / e["file"]
        assert hashlib.sha256(p.read_bytes()).hexdigest() == e["sha256"], e["id"]
        assert (FONTS / e["license_file"]).is_file(), e["id"]
        assert e["role"] in ("regular", "bold")
        if e["bold"]:
            b = next(x for x in MANIFEST["fonts"] if x["id"] == e["bold"])
            assert b["role"] == "bold" and b["style"] == "Bold"


def test_verify_clean(reg):
    assert verify(reg) == []


def test_bold_not_sampled_by_default(reg):
    bolds = set(reg.ids(role="bold"))
    assert bolds and not bolds & set(reg.ids())
    assert bolds <= set(reg.ids(role=None))


_SAMPLE = sorted(FontRegistry.load(user=False).ids(role=None))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(_SAMPLE))
def test_coverage_matches_fresh_audit(reg, fid):
    from synprobe.fonts.audit import audit_font

    fresh = audit_font(reg.entry(fid).path)
    for script in reg.scripts(fid):
        assert reg.chars(fid, script) == "".join(fresh[script]), (fid, script)


def test_require_and_supports(reg):
    fid = reg.ids("latin")[0]
    assert reg.supports(fid, reg.chars(fid, "latin")[0])
    reg.require(fid, reg.chars(fid, "latin")[0])
    with pytest.raises(FontCoverageError, match="U\\+0E01.*--script thai"):
        reg.require(fid if "thai" not in reg.scripts(fid) else reg.ids("latin")[1], "ก")
    with pytest.raises(FontError, match="did you mean"):
        reg.entry(fid + "x")
    latin = reg.ids("latin")[:5]
    common = reg.common_chars(latin, "latin")
    assert all(all(reg.supports(i, c) for i in latin) for c in common)


def test_no_near_duplicates_among_kept_latin(reg):
    import random

    from synprobe.fonts.audit import DUP_THRESHOLD, probe_font, probe_mad

    ids = list(reg.ids("latin"))
    sample = random.Random(0).sample(ids, 40)
    probes = {i: probe_font(reg.entry(i).path, {"latin": reg.chars(i, "latin")})["latin"]
              for i in sample}
    for a in range(len(sample)):
        for b in range(a + 1, len(sample)):
            assert probe_mad(probes[sample[a]], probes[sample[b]]) >= DUP_THRESHOLD


def test_dedup_flags_vera_clone():
    cov = json.loads((FONTS / "coverage.json").read_text(encoding="utf-8"))
    flagged = [k for k, v in cov["dropped"].items() if "near-duplicate" in v]
    assert flagged  # e.g. a Bitstream Vera clone vs DejaVu


def test_caps_only_font_has_no_lowercase(reg):
    caps = [i for i in reg.ids("latin") if re.search(r"bebas|(^|[-/])caps(-|$)", i)]
    if not caps:
        pytest.skip("no caps-only font bundled")
    for fid in caps:
        chars = reg.chars(fid, "latin")
        upper = [c for c in chars if c.isupper()]
        lower = [c for c in chars if c.islower()]
        assert len(upper) == 26 and len(lower) <= 6, (fid, chars)
    bebas = [i for i in caps if "bebas" in i]
    if bebas:
        assert reg.chars(bebas[0], "latin") == "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def test_ordinary_font_keeps_lowercase(reg):
    fid = "dejavu-core/dejavu-sans"
    if fid not in reg:
        pytest.skip("DejaVu Sans not bundled")
    assert len(reg.chars(fid, "latin")) == 52


def test_add_fonts(tmp_path, monkeypatch, reg):
    home = tmp_path / "home"
    monkeypatch.setenv("SYNPROBE_HOME", str(home))
    src = tmp_path / "src"
    src.mkdir()
    e = reg.entry(reg.ids("latin")[0])
    (src / ("My" + e.path.name)).write_bytes(e.path.read_bytes())
    ids = add_fonts(src)
    assert len(ids) == 1 and ids[0].startswith("user/")
    r = FontRegistry.load()
    assert ids[0] in r.ids("latin")
    assert r.entry(ids[0]).license == "user-supplied"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "junk.ttf").write_bytes(b"not a font at all")
    with pytest.raises(FontError, match="junk.ttf"):
        add_fonts(bad)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FontError, match="no .ttf"):
        add_fonts(empty)


def test_cli_list_and_add(tmp_path, monkeypatch):
    from synprobe.cli.fonts import fonts

    runner = CliRunner()
    res = runner.invoke(fonts, ["list", "--script", "thai"])
    assert res.exit_code == 0, res.output
    assert "fonts per script: thai=" in res.output
    res = runner.invoke(fonts, ["list", "--json"])
    data = json.loads(res.output)
    assert data["counts"]["latin"] >= 200
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.otf").write_bytes(b"nope")
    res = runner.invoke(fonts, ["add", str(bad)])
    assert res.exit_code == 1 and "Error:" in res.output and "Traceback" not in res.output


def test_cli_check_agrees_with_committed_coverage():
    from synprobe.cli.fonts import fonts

    res = CliRunner().invoke(fonts, ["check", "--no-legibility"])  # the re-audit trains: minutes
    assert res.exit_code == 0, res.output
    assert "agree" in res.output and "legibility: re-audit skipped (--no-legibility)" in res.output
    assert f"auditing {len(MANIFEST['fonts']):,} fonts of" in res.stderr  # not a silent minute (issue 17)
