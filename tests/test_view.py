"""``synprobe view``: one PNG with an image grid and per-split attribute histograms."""

from __future__ import annotations

import json
import re
import sys

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from synprobe.cli.view import view
from synprobe.errors import SynprobeError

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    from synprobe.generator import generate

    out = tmp_path_factory.mktemp("view") / "a.h5"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYNPROBE_HOME", str(tmp_path_factory.mktemp("home")))
        mp.setenv("SOURCE_DATE_EPOCH", "0")
        generate("default", 300, out, workers=1, resolution=8)
    return out


def _mpl():
    pytest.importorskip("matplotlib", reason="matplotlib not installed: pip install -e '.[view]'")


def _png(p):
    from PIL import Image

    assert p.read_bytes()[:8] == PNG
    with Image.open(p) as im:
        assert im.width > 400 and im.height > 400
    assert not list(p.parent.glob(".*.tmp"))


@pytest.mark.parametrize("args", [[], ["--by", "char,scale,bold,n_symbols"], ["--by", "font", "--split", "random",
                                                                            "--rows", "2", "--cols", "5"]])
def test_view_writes_a_png(path, tmp_path, args):
    _mpl()
    out = tmp_path / "v.png"
    r = CliRunner().invoke(view, [str(path), "-o", str(out), *args])
    assert r.exit_code == 0, (r.output, r.exception)
    assert f"wrote {out}" in r.output
    _png(out)


@pytest.mark.parametrize("args, needle", [
    (["--by", "colour"], "unknown attribute 'colour'"),
    (["--split", "stratified_size"], "no split 'stratified_size'"),
])
def test_view_errors_are_one_line(path, tmp_path, args, needle):
    _mpl()
    r = CliRunner().invoke(view, [str(path), "-o", str(tmp_path / "v.png"), *args])
    assert r.exit_code == 1 and "Traceback" not in r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith("Error")]
    assert len(lines) == 1 and needle in lines[0], r.output


def test_view_missing_file(tmp_path):
    r = CliRunner().invoke(view, [str(tmp_path / "none.h5"), "-o", str(tmp_path / "v.png")])
    assert r.exit_code == 1 and "no such file" in r.output and "Traceback" not in r.output


def test_view_without_matplotlib_says_how_to_install(path, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    from synprobe.view import view_file

    hint = "synprobe view needs matplotlib: pip install -e '.[view]' (from the synprobe checkout)"
    with pytest.raises(SynprobeError, match=re.escape(hint)):
        view_file(path, tmp_path / "v.png")
    r = CliRunner().invoke(view, [str(path), "-o", str(tmp_path / "v.png")])
    assert r.exit_code == 1
    assert f"Error: {hint}" in r.output


def test_view_synbols_layout_and_no_splits(tmp_path):
    _mpl()
    rng = np.random.default_rng(1)
    n = 30
    ys = [json.dumps({"char": "abc"[i % 3], "font": "Arial", "is_bold": "False", "scale": float(rng.uniform()),
                      "rotation": 0.0, "translation": [0.0, 0.0], "symbols": [{}]}) for i in range(n)]
    p = tmp_path / "s.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", data=rng.integers(0, 256, (n, 16, 16, 1), dtype=np.uint8))
        f.create_dataset("y", data=np.array(ys, dtype=object), dtype=h5py.special_dtype(vlen=str))
    out = tmp_path / "s.png"
    r = CliRunner().invoke(view, [str(p), "-o", str(out), "--by", "char,scale,is_bold"])
    assert r.exit_code == 0, (r.output, r.exception)
    _png(out)
