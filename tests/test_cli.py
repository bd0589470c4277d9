"""The ``synprobe`` command line: help everywhere, the happy paths, and no tracebacks on bad input."""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from synprobe.cli import main


def _walk(group: click.Group, prefix=()):
    yield prefix
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from _walk(cmd, prefix + (name,))
        else:
            yield prefix + (name,)


COMMANDS = list(_walk(main))


def _ok(result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def _error_line(result) -> str:
    """The single ``Error: ...`` line of a failed command; no traceback anywhere."""
    assert "Traceback" not in result.output
    errors = [ln for ln in result.output.splitlines() if ln.startswith("Error")]
    assert len(errors) == 1, result.output
    return errors[0]


def test_every_command_is_reachable():
    names = {" ".join(c) for c in COMMANDS}
    assert {"generate", "preview", "info", "recipes", "fonts", "fonts list"} <= names


@pytest.mark.parametrize("path", COMMANDS, ids=lambda c: " ".join(c) or "synprobe")
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(runner, path, flag):
    out = _ok(runner.invoke(main, [*path, flag]))
    assert "Usage:" in out


def test_version(runner):
    import synprobe

    assert synprobe.__version__ in _ok(runner.invoke(main, ["--version"]))


def test_recipes(runner):
    out = _ok(runner.invoke(main, ["recipes"]))
    assert "default" in out and "32x32" in out
    rows = json.loads(_ok(runner.invoke(main, ["recipes", "--json"])))
    assert any(r["name"] == "default" and r["resolution"] == [32, 32] for r in rows)


def test_generate_info_preview(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = _ok(runner.invoke(main, ["generate", "default", "-n", "70", "-o", "d.h5", "--workers", "1",
                                   "--resolution", "12x16", "--seed", "3", "-q"]))
    assert "wrote d.h5 (70 images" in out
    assert (tmp_path / "d.h5").is_file() and (tmp_path / "d_preview.png").is_file()

    text = _ok(runner.invoke(main, ["info", "d.h5"]))
    assert "70 images of 12x16x3" in text and "seed: 3" in text and "random" in text
    info = json.loads(_ok(runner.invoke(main, ["info", "d.h5", "--json"])))
    assert info["n"] == 70 and info["x_shape"] == [70, 12, 16, 3] and info["seed"] == 3
    assert info["split_counts"]["random"] == {"train": 42, "val": 14, "test": 14}
    assert "char" in info["attributes"]

    _ok(runner.invoke(main, ["preview", "d.h5", "-o", "from_file.png", "--rows", "2", "--cols", "3"]))
    _ok(runner.invoke(main, ["preview", "default", "-o", "from_recipe.png", "--rows", "2", "--cols", "2"]))
    from PIL import Image

    for name in ("from_file.png", "from_recipe.png", "d_preview.png"):
        with Image.open(tmp_path / name) as im:
            assert im.mode == "RGB" and im.size[0] > 0

    err = _error_line(runner.invoke(main, ["generate", "default", "-n", "70", "-o", "d.h5", "-q"]))
    assert "already exists" in err
    err = _error_line(runner.invoke(main, ["info", "missing.h5"]))
    assert "missing.h5" in err


def test_preview_recipe_file(runner, tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text('resolution = 16\n[background]\nkind = "noise"\n', encoding="utf-8")
    _ok(runner.invoke(main, ["preview", str(p), "-o", str(tmp_path / "g.png"), "--rows", "1", "--cols", "2"]))
    assert (tmp_path / "g.png").is_file()


def test_bad_recipe_file_gives_one_line(runner, tmp_path):
    p = tmp_path / "typo.toml"
    p.write_text('[symbol]\nforeground.kind = "gradiant"\n', encoding="utf-8")
    result = runner.invoke(main, ["preview", str(p), "-o", str(tmp_path / "g.png")])
    assert result.exit_code == 1
    line = _error_line(result)
    assert "symbol.foreground.kind" in line and "expected one of" in line


def test_info_on_a_non_dataset(runner, tmp_path):
    p = tmp_path / "x.h5"
    p.write_bytes(b"not hdf5")
    result = runner.invoke(main, ["info", str(p)])
    assert result.exit_code == 1
    assert str(p) in _error_line(result)


_counter = itertools.count()

N_VALUES = st.sampled_from(["1", "3", "0", "-5", "abc", "1e3", "", " 2"])
SEEDS = st.sampled_from(["0", "7", "-1", "x", str(2**63), str(2**63 - 1)])
RESOLUTIONS = st.sampled_from(["0", "300", "axb", "16x", "-5", "8", "8x12", "12X8", "7", "257", "x16", ""])
RECIPES = st.sampled_from(["default", "defualt", "", "nope.toml", "/etc/passwd", "generators/default.toml"])


@given(
    n=st.none() | N_VALUES,
    seed=st.none() | SEEDS,
    res=st.none() | RESOLUTIONS,
    recipe=st.none() | RECIPES,
    out=st.sampled_from(["ok", "missing-dir", "dir", "none"]),
    extra=st.lists(st.sampled_from(["--resume", "--overwrite", "--no-preview", "--compression=lzf",
                                    "--compression=zip", "--workers=1", "--workers=0", "--bogus"]),
                   max_size=3, unique=True),
)
def test_generate_fuzzed_arguments_never_trace_back(runner, n, seed, res, recipe, out, extra):
    tmp = Path(tempfile.mkdtemp(prefix=f"cli{next(_counter)}-"))
    args = ["generate"]
    if recipe is not None:
        args.append(recipe)
    for opt, val in (("-n", n), ("--seed", seed), ("--resolution", res)):
        if val is not None:
            args += [opt, val]
    target = {"ok": tmp / "o.h5", "missing-dir": tmp / "no" / "such" / "o.h5", "dir": tmp, "none": None}[out]
    if target is not None:
        args += ["-o", str(target)]
    args += ["-q", *extra]
    if "--workers=1" not in extra:
        args.append("--workers=1")
    result = runner.invoke(main, args)
    assert result.exit_code in (0, 1, 2), (args, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
    if result.exit_code:
        _error_line(result)
    else:
        assert target is not None and target.is_file()


@given(
    cmd=st.sampled_from([["info"], ["info", "--json"], ["preview"], ["recipes", "--json"], ["fonts", "list"]]),
    arg=st.sampled_from(["default", "missing.h5", "", "a/b/c", "--rows=0", "--cols=65", "--cell=7", "--seed=-1"]),
)
def test_other_commands_fuzzed(runner, cmd, arg):
    tmp = Path(tempfile.mkdtemp(prefix=f"cli{next(_counter)}-"))
    args = [*cmd, arg]
    if cmd[0] == "preview":
        args += ["-o", str(tmp / "g.png"), "--rows=1", "--cols=1"]
    result = runner.invoke(main, args)
    assert result.exit_code in (0, 1, 2), (args, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
    if result.exit_code:
        _error_line(result)
