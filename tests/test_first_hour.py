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
