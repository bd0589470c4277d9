"""A newcomer's first hour: messages that say what to type next, `synprobe doctor`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from synprobe.cli import main

CLI = [sys.executable, "-c", "from synprobe.cli import main; main()"]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_says_how_to_finish_or_discard(tmp_path, workers):
    """Was click's bare 'Aborted!' -- and, with a cold cache, often nothing at all: the interrupt
    landed in a weakref callback, was dropped, and the run went on to the end."""
    out = tmp_path / "d.h5"
    proc = subprocess.Popen(CLI + ["generate", "default", "-n", "400000", "--workers", workers, "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)  # a background job starts with SIGINT ignored
    partial = tmp_path / "d.h5.partial" / "chunks"
    t0 = time.monotonic()
    while not (partial.is_dir() and any(p.suffix == ".npy" for p in partial.iterdir())):
        assert proc.poll() is None and time.monotonic() - t0 < 60, proc.stderr.read()
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "run the same command with --resume to finish, or with --overwrite to start again" in err
    assert "Traceback" not in err and "Aborted!" not in err
    assert (tmp_path / "d.h5.partial").is_dir() and not out.exists()


def test_an_unwritable_output_folder_is_one_line(runner, tmp_path):
    """Was: "...partial: No such file or directory" for -o /proc/x.h5."""
    r = runner.invoke(main, ["generate", "default", "-n", "10", "-o", "/proc/x.h5"])
    assert r.exit_code == 1
    assert "/proc: cannot write the output there" in r.output and "choose another folder with -o" in r.output


def test_an_unknown_recipe_names_one_match_not_the_whole_list(runner):
    r = runner.invoke(main, ["generate", "defualt", "-n", "10", "-o", "x.h5"])
    assert r.exit_code == 1
    line = r.output.strip()
    assert "did you mean 'default'?" in line and "`synprobe recipes` lists the" in line
    assert len(line) < 200 and "counting-crowded" not in line


def test_doctor_prints_what_a_bug_report_needs(runner):
    r = runner.invoke(main, ["doctor", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert set(d) == {"synprobe", "python", "packages", "kernels", "torch", "fonts", "cache", "environment"}
    assert d["kernels"]["in use"] in ("c", "numba")
    assert len(d["fonts"]["manifest sha256"]) == 64
    assert d["cache"]["SYNPROBE_CACHE"] == os.environ["SYNPROBE_CACHE"]
    text = runner.invoke(main, ["doctor"]).output
    assert "kernels:" in text and "in use:" in text


def test_previews_are_ignored_by_git():
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        pytest.skip("not a git checkout (an installed sdist)")
    r = subprocess.run(["git", "check-ignore", "-q", "default_preview.png"], cwd=root)
    assert r.returncode == 0, "README's quick start leaves default_preview.png untracked in git status"


def test_stream_pictures_speak_class_names(tmp_path):
    """`scenario show` labelled classes 2, 11, 14...; now the letters, and integer colour-bar ticks."""
    from synprobe.generator import generate
    from synprobe.scenarios.plot import class_labels, plot_stream
    from synprobe.scenarios.recipe import build
    from synprobe.scripts import ALPHABETS

    data = tmp_path / "a.h5"
    generate("default", 800, data, workers=1, resolution=8)
    stream = build("class-inc-5x2", data)
    names = stream.spec["class_names"]
    assert len(names) == len(set(stream.class_indices.tolist())) and set(names) <= set(ALPHABETS["latin"].chars)
    classes = np.unique(stream.class_indices)
    assert class_labels(stream, classes) == names
    assert plot_stream(stream, tmp_path / "t.png").stat().st_size > 0


@pytest.fixture(scope="module")
def small_h5(tmp_path_factory):
    from synprobe.generator import generate

    out = tmp_path_factory.mktemp("first_hour") / "d.h5"
    generate("default", 60, out, workers=1, resolution=8)
    return out


def test_info_json_holds_fonts_as_json_not_a_string(runner, small_h5):
    """Was ``"fonts": "[[\\"adf-accanthis/...\\", ...]]"``: a JSON string inside the JSON."""
    d = json.loads(runner.invoke(main, ["info", str(small_h5), "--json"]).output)
    assert isinstance(d["fonts"], list) and len(d["fonts"]) > 100
    font_id, sha = d["fonts"][0]
    assert "/" in font_id and len(sha) == 64
    assert isinstance(d["recipe"], dict)


def test_report_names_a_missing_run_before_matplotlib(runner, tmp_path, monkeypatch):
    """Was "synprobe plots need matplotlib" for ``synprobe report runs/nope`` without matplotlib."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    r = runner.invoke(main, ["report", str(tmp_path / "nope")])
    assert r.exit_code == 1
    assert "nope: no such run directory" in r.output and "matplotlib" not in r.output


def test_install_hints_say_what_works_from_a_clone():
    """``pip install 'synprobe[train]'`` finds nothing (synprobe is not on a package index): every hint is
    ``install_hint``'s ``pip install -e '.[train]'`` (from the synprobe checkout)."""
    from synprobe.errors import install_hint
    from synprobe.harness.plots import MATPLOTLIB_MISSING
    from synprobe.view import MATPLOTLIB_MISSING as VIEW_MISSING

    assert install_hint("train") == "pip install -e '.[train]' (from the synprobe checkout)"
    assert MATPLOTLIB_MISSING.endswith(install_hint("view")) and VIEW_MISSING.endswith(install_hint("view"))
    root = Path(__file__).resolve().parent.parent
    not_yet = {"synprobe/errors.py"}  # install_hint's docstring quotes the form that fails
    files = [root / "README.md", *(root / "docs").glob("*.md"), *(root / "synprobe").rglob("*.py")]
    stale = [f"{p.relative_to(root)}:{n}" for p in files if p.relative_to(root).as_posix() not in not_yet
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if "'synprobe[" in line]
    assert not stale, stale


def test_resume_of_a_finished_file_says_it_is_complete(runner, small_h5, tmp_path):
    """Was "already exists; pass --overwrite to replace it", as if the run had not finished."""
    out = tmp_path / "d.h5"
    out.write_bytes(small_h5.read_bytes())
    r = runner.invoke(main, ["generate", "default", "-n", "60", "--resolution", "8", "-o", str(out), "--resume"])
    assert r.exit_code == 1
    assert "already complete, nothing to resume" in r.output and "--overwrite instead of --resume" in r.output
    other = tmp_path / "notes.h5"
    other.write_text("not a dataset")
    r = runner.invoke(main, ["generate", "default", "-n", "60", "-o", str(other), "--resume"])
    assert "already exists; pass --overwrite" in r.output and "complete" not in r.output


def test_preview_tiles_carry_their_character(runner, small_h5, tmp_path):
    """Preview tiles had no label; ``grid()`` without labels is the same bare grid as before."""
    from PIL import Image

    from synprobe.io.h5 import open_dataset
    from synprobe.preview import char_labels, grid

    with open_dataset(small_h5) as f:
        x = f["x"][:6]
        cats = json.loads(f["attrs/char"].attrs["categories"])
        want = [cats[c] for c in f["attrs/char"][:6].reshape(6, -1)[:, 0]]
        assert char_labels(f, small_h5, 6) == want
    bare = grid(x, 2, 3, cell=32)
    assert bare.shape == (2 * (32 + 2) + 2, 3 * (32 + 2) + 2, 3)
    labelled = grid(x, 2, 3, cell=32, labels=want)
    assert labelled.shape[0] > bare.shape[0] and labelled.shape[1] == bare.shape[1]
    assert np.array_equal(labelled[2:34, 2:34], bare[2:34, 2:34])  # the image itself is untouched
    strip = labelled[34:44, 2:34]
    assert (strip > 120).any(), "no label text drawn under the first tile"
    for flag, height in (("--labels", labelled.shape[0]), ("--no-labels", bare.shape[0])):
        png = tmp_path / f"p{flag}.png"
        r = runner.invoke(main, ["preview", str(small_h5), "-o", str(png), "--rows", "2", "--cols", "3",
                                 "--cell", "32", flag])
        assert r.exit_code == 0, r.output
        assert np.asarray(Image.open(png)).shape[0] == height
    png = tmp_path / "bare.png"
    runner.invoke(main, ["preview", str(small_h5), "-o", str(png), "--rows", "2", "--cols", "3", "--cell", "32",
                         "--no-labels"])
    assert np.array_equal(np.asarray(Image.open(png)), bare)


def test_readme_shows_the_product_first():
    """README opens with a picture strip (a preview grid, a KA curve, a memorization plot) that
    tools/make_gallery.py makes, each picture small."""
    import importlib.util

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("make_gallery", root / "tools" / "make_gallery.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    readme = (root / "README.md").read_text(encoding="utf-8")
    head = readme[: readme.index("## Quick start")]
    for name in tool.STRIP:
        assert f"](docs/gallery/{name})" in head, name
        png = root / "docs" / "gallery" / name
        assert png.is_file() and png.stat().st_size < 150_000, name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
