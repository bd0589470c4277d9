"""Dataset generation: byte-identical output, kill -9 and resume, refusals, labels, splits."""

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

import synprobe.generator as gen
from synprobe.errors import FormatError, SynprobeError
from synprobe.io.assemble import Assembler
from synprobe.io.h5 import open_dataset

generate = gen.generate

SYNBOLS_KEYS = {"char", "font", "is_bold", "is_slant", "rotation", "scale", "translation", "foreground",
                "background", "inverse_color", "pixel_noise_scale", "resolution", "seed", "symbols"}

# a small but varied recipe: several symbols, occluders, masks
MIXED = {
    "name": "mixed",
    "resolution": [16, 20],
    "n_symbols": {"dist": "randint", "low": 1, "high": 3},
    "masks": True,
    "occlusion": {"count": {"dist": "randint", "low": 0, "high": 2}, "kind": {"dist": "choice",
                  "values": ["square", "glyph"]}},
    "background": {"kind": {"dist": "choice", "values": ["noise", "camouflage", "solid"]}, "n_strokes": 20},
}


def _bytes(p: Path) -> bytes:
    return Path(p).read_bytes()


# --------------------------------------------------------------------------- reproducibility


@pytest.mark.parametrize("recipe", ["default", MIXED], ids=["default", "mixed"])
def test_bytes_do_not_depend_on_workers_or_chunks(tmp_path, recipe):
    kw = dict(seed=11, resolution=16 if recipe == "default" else None)
    a = generate(recipe, 300, tmp_path / "a.h5", workers=1, chunk=64, **kw)
    generate(recipe, 300, tmp_path / "b.h5", workers=2, chunk=128, **kw)
    generate(recipe, 300, tmp_path / "c.h5", workers=2, chunk=64, **kw)
    assert a.n == 300
    ref = _bytes(tmp_path / "a.h5")
    assert _bytes(tmp_path / "b.h5") == ref
    assert _bytes(tmp_path / "c.h5") == ref
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob(".*.tmp"))


def test_seed_changes_the_data(tmp_path):
    generate("default", 64, tmp_path / "a.h5", seed=0, workers=1, resolution=16)
    generate("default", 64, tmp_path / "b.h5", seed=1, workers=1, resolution=16)
    with open_dataset(tmp_path / "a.h5") as fa, open_dataset(tmp_path / "b.h5") as fb:
        assert not np.array_equal(fa["x"][()], fb["x"][()])


def test_file_matches_in_memory_rendering(tmp_path, registry):
    from synprobe.recipe import resolve_recipe
    from synprobe.render.compose import Renderer

    generate(MIXED, 130, tmp_path / "a.h5", seed=3, workers=1, chunk=64)
    r = Renderer(resolve_recipe(MIXED), registry=registry)
    idx = np.array([0, 63, 64, 129])
    _, x, m = gen.render_samples(r, 3, idx)
    with open_dataset(tmp_path / "a.h5") as f:
        np.testing.assert_array_equal(f["x"][idx.tolist()], x)
        np.testing.assert_array_equal(f["mask"][idx.tolist()], m)


# --------------------------------------------------------------------------- refusals


def test_refuses_to_overwrite(tmp_path):
    out = tmp_path / "a.h5"
    generate("default", 64, out, workers=1, resolution=8)
    before = _bytes(out)
    with pytest.raises(SynprobeError, match="already exists.*--overwrite"):
        generate("default", 64, out, workers=1, resolution=8, seed=1)
    assert _bytes(out) == before
    generate("default", 64, out, workers=1, resolution=8, seed=1, overwrite=True)
    assert _bytes(out) != before


def test_missing_output_folder(tmp_path):
    with pytest.raises(SynprobeError, match="does not exist"):
        generate("default", 64, tmp_path / "nope" / "a.h5", workers=1)


@pytest.mark.parametrize("kw", [dict(n=0), dict(n=-3), dict(n=2.5), dict(seed=-1), dict(seed=True),
                                dict(compression="zstd"), dict(chunk=0), dict(chunk=-64), dict(workers=0)])
def test_bad_arguments(tmp_path, kw):
    args = dict(n=64, workers=1, resolution=8) | kw
    n = args.pop("n")
    with pytest.raises(SynprobeError) as ei:
        generate("default", n, tmp_path / "a.h5", **args)
    assert "\n" not in str(ei.value)
    assert not (tmp_path / "a.h5").exists()


def _interrupted(tmp_path, monkeypatch, **kw) -> Path:
    """Run to the end of the render phase, then fail while finishing the file: leaves a complete OUT.partial/."""
    out = tmp_path / "a.h5"

    def boom(*a, **k):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(Assembler, "finish", boom)
        with pytest.raises(KeyboardInterrupt):
            generate("default", 192, out, workers=1, chunk=64, resolution=8, **kw)
    assert not out.exists() and (tmp_path / "a.h5.partial").is_dir()
    return out


def test_unfinished_run_needs_resume_or_overwrite(tmp_path, monkeypatch):
    out = _interrupted(tmp_path, monkeypatch)
    with pytest.raises(SynprobeError, match="--resume"):
        generate("default", 192, out, workers=1, chunk=64, resolution=8)
    r = generate("default", 192, out, workers=1, chunk=64, resolution=8, resume=True)
    assert r.resumed_chunks == 3
    assert not (tmp_path / "a.h5.partial").exists()


@pytest.mark.parametrize("change, word", [(dict(seed=5), "seed"), (dict(n=256), "n"),
                                          (dict(resolution=16), "recipe"), (dict(chunk=128), "chunk")])
def test_resume_with_different_arguments_is_refused(tmp_path, monkeypatch, change, word):
    out = _interrupted(tmp_path, monkeypatch)
    args = dict(n=192, workers=1, chunk=64, resolution=8) | change
    n = args.pop("n")
    with pytest.raises(SynprobeError) as ei:
        generate("default", n, out, resume=True, **args)
    msg = str(ei.value)
    assert "\n" not in msg and "cannot resume" in msg and f"different {word}" in msg
    assert (tmp_path / "a.h5.partial" / "meta.json").is_file()  # nothing was destroyed


def test_resume_without_partial_is_refused(tmp_path):
    with pytest.raises(SynprobeError, match="nothing to resume"):
        generate("default", 64, tmp_path / "a.h5", workers=1, resume=True)


def test_resume_ignores_half_written_chunk_file(tmp_path, monkeypatch):
    out = _interrupted(tmp_path, monkeypatch)
    chunks = tmp_path / "a.h5.partial" / "chunks"
    (chunks / "0000002.npy").rename(chunks / "0000002.tmp.npy")  # as if killed inside np.save
    generate("default", 192, out, workers=1, chunk=64, resolution=8, resume=True)
    ref = generate("default", 192, tmp_path / "ref.h5", workers=1, chunk=64, resolution=8)
    assert _bytes(out) == _bytes(ref.path)


@pytest.mark.parametrize("compression", ["lzf", "gzip"])
def test_compressed_output_holds_the_same_data_and_resumes_byte_identical(tmp_path, monkeypatch, compression):
    import h5py

    plain = generate("default", 192, tmp_path / "plain.h5", workers=1, chunk=64, resolution=8).path
    out = _interrupted(tmp_path, monkeypatch, compression=compression)  # fails after all chunks rendered
    generate("default", 192, out, workers=2, chunk=64, resolution=8, compression=compression, resume=True)
    ref = generate("default", 192, tmp_path / "ref.h5", workers=2, chunk=64, resolution=8,
                   compression=compression).path
    assert _bytes(out) == _bytes(ref)
    with h5py.File(plain) as a, h5py.File(out) as b:
        assert b["x"].compression == compression and a["x"].compression is None
        np.testing.assert_array_equal(a["x"][:], b["x"][:])
        assert a["y"][:].tolist() == b["y"][:].tolist()
        assert sorted(a["attrs"]) == sorted(b["attrs"])
        for name in a["attrs"]:
            np.testing.assert_array_equal(a["attrs"][name][:], b["attrs"][name][:])
        for name in a["split"]:
            np.testing.assert_array_equal(a["split"][name][:], b["split"][name][:])


# --------------------------------------------------------------------------- kill -9 and resume

CLI = [sys.executable, "-c", "from synprobe.cli import main; main()"]
N_KILL = 8064  # 6 chunks of 1344 at 32x32: long enough to be killed mid-run
KILL_ARGS = ["default", "-n", str(N_KILL), "--workers", "1", "--seed", "4", "-q", "--no-preview"]


def _start(out: Path) -> subprocess.Popen:
    env = dict(os.environ, SOURCE_DATE_EPOCH="0")
    return subprocess.Popen(CLI + ["generate", *KILL_ARGS, "-o", str(out)], env=env, cwd=out.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"generate exited early (rc={proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
        assert time.monotonic() - t0 < timeout, "no chunk was written in time"
        time.sleep(0.01)
    if proc.returncode is None:  # not reaped yet (poll() reaps a finished process)
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()


def _assert_not_a_dataset(out: Path) -> None:
    partial = out.with_name(out.name + ".partial")
    assert not out.exists()
    for p in [partial, *partial.iterdir()]:
        with pytest.raises(FormatError):
            open_dataset(p)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "ref.h5"
    os.environ["SOURCE_DATE_EPOCH"] = "0"
    generate("default", N_KILL, out, seed=4, workers=1)
    return _bytes(out)


def test_kill_after_first_chunk_then_resume(tmp_path, reference):
    out = tmp_path / "a.h5"
    chunks = tmp_path / "a.h5.partial" / "chunks"
    proc = _start(out)
    _kill_when(proc, lambda: chunks.is_dir() and any(p.name.endswith(".npy") and ".tmp" not in p.name
                                                     for p in chunks.iterdir()))
    _assert_not_a_dataset(out)
    r = generate("default", N_KILL, out, seed=4, workers=1, resume=True)
    assert r.resumed_chunks >= 1
    assert _bytes(out) == reference
    assert not (tmp_path / "a.h5.partial").exists()


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.05, 0.2, 0.4, 0.6, 0.8, 1.0, 1.3, 1.6, 2.0, 3.0])
def test_kill_at_any_moment_then_finish(tmp_path, reference, delay):
    out = tmp_path / "a.h5"
    proc = _start(out)
    t0 = time.monotonic()
    _kill_when(proc, lambda: time.monotonic() - t0 >= delay or proc.poll() is not None)
    partial = tmp_path / "a.h5.partial"
    if out.exists():  # finished before the kill
        assert _bytes(out) == reference
        return
    if partial.exists() and (partial / "meta.json").exists():
        generate("default", N_KILL, out, seed=4, workers=1, resume=True)
    else:
        generate("default", N_KILL, out, seed=4, workers=1, overwrite=True)
    assert _bytes(out) == reference


# --------------------------------------------------------------------------- labels, columns, splits


def test_y_json_has_synbols_keys_consistent_with_columns(tmp_path):
    generate(MIXED, 200, tmp_path / "a.h5", seed=2, workers=1, chunk=64)
    with open_dataset(tmp_path / "a.h5") as f:
        y = [json.loads(s) for s in f["y"].asstr()[()]]
        cols = {k: f["attrs"][k][()] for k in f["attrs"]}
        cats = {k: json.loads(f["attrs"][k].attrs["categories"]) for k in f["attrs"]
                if "categories" in f["attrs"][k].attrs}
        assert f.attrs["seed"] == 2 and f.attrs["n"] == 200 and f.attrs["complete"]
        from synprobe.io.h5 import SAMPLES_VERSION

        assert f.attrs["samples_version"] == SAMPLES_VERSION
        assert len(f["y"]) == len(f["x"]) == 200
    assert len(y) == 200
    for i, s in enumerate(y):
        assert SYNBOLS_KEYS <= s.keys(), SYNBOLS_KEYS - s.keys()
        assert s["seed"] == 2
        assert s["n_symbols"] == len(s["symbols"]) == cols["n_symbols"][i]
        assert s["inverse_color"] == bool(cols["inverse_color"][i])
        assert s["pixel_noise_scale"] == pytest.approx(cols["pixel_noise"][i])
        assert s["background"]["style"] == cats["background_kind"][cols["background_kind"][i]]
        assert sorted(s["resolution"]) == [16, 20]
        for j, sym in enumerate(s["symbols"]):
            assert sym["char"] == cats["char"][cols["char"][i, j]]
            assert sym["font"] == cats["font"][cols["font"][i, j]]
            assert sym["is_bold"] == bool(cols["bold"][i, j])
            assert sym["is_slant"] == (cols["slant"][i, j] != 0)
            assert sym["rotation"] == pytest.approx(cols["rotation"][i, j])
            assert sym["scale"] == pytest.approx(cols["scale"][i, j])
            assert sym["translation"] == pytest.approx([cols["translation_x"][i, j], cols["translation_y"][i, j]])
            assert sym["foreground"]["style"] == cats["foreground_kind"][cols["foreground_kind"][i, j]]
        top = {k: s[k] for k in ("char", "font", "is_bold", "rotation", "scale")}
        assert top == {k: s["symbols"][0][k] for k in top}
        assert len(s["occluders"]) == cols["n_occluders"][i]


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 101, 250])
def test_random_split_is_an_exact_partition(tmp_path, n):
    generate("default", n, tmp_path / "a.h5", seed=9, workers=1, resolution=8)
    with open_dataset(tmp_path / "a.h5") as f:
        m = f["split/random"][()]
    assert m.shape == (n, 3) and m.dtype == bool
    assert (m.sum(1) == 1).all()
    n_train, n_val = round(0.6 * n), round(0.2 * n)
    assert m.sum(0).tolist() == [n_train, n_val, n - n_train - n_val]


def test_package_versions_are_cached_until_a_path_entry_changes(tmp_path, monkeypatch):
    import importlib.metadata as md
    import os
    import sys

    from synprobe.io.assemble import _versions

    extra = tmp_path / "site-packages"
    extra.mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(extra)])
    first = _versions()
    assert first["numpy"] == md.version("numpy")
    calls = []
    monkeypatch.setattr(md, "version", lambda pkg: calls.append(pkg) or "9.9")
    assert _versions() == first and calls == []  # from the cache
    os.utime(extra, ns=(0, 10**18))  # a package installed into a path entry
    assert _versions()["numpy"] == "9.9" and calls
