"""Sharded generation: shards merged into one file are the bytes of a local run; the Ray driver too.

The shard API is tested without Ray (hypothesis over shard boundaries); the Ray tests start one
local Ray with 2 CPUs for the module.
"""

from __future__ import annotations

import filecmp
import json
import random
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_recipe_bytes import content_hash

from synprobe.cli import main
from synprobe.config import ray_address
from synprobe.errors import FormatError, SynprobeError
from synprobe.generator import generate
from synprobe.io.assemble import slab_rows
from synprobe.shards import generate_ray, generate_shard, merge_shards, read_shard, shard_ranges, verify_shard

N = 700  # tiny: 8x8 grey


def same_file(a: Path, b: Path) -> bool:
    """Byte for byte; the content hash too (it names what differs when the bytes do not)."""
    return content_hash(a) == content_hash(b) and filecmp.cmp(a, b, shallow=False)


@pytest.fixture(scope="module")
def local_tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "tiny.h5"
    with pytest.MonkeyPatch.context() as mp:  # (module scope: set up before the autouse fixture sets it)
        mp.setenv("SOURCE_DATE_EPOCH", "0")
        generate("tiny", N, out, seed=5, workers=1)
    return out


def _shards(folder: Path, cuts: list[int], recipe="tiny", n=N, seed=5, **kw) -> list[Path]:
    bounds = [0, *cuts, n]
    paths = [folder / f"s{a}.h5" for a in bounds[:-1]]
    for p, a, b in zip(paths, bounds, bounds[1:]):
        generate_shard(recipe, n, a, b, p, seed=seed, **kw)
    return paths


# --------------------------------------------------------------------------- the shard API (no Ray)


@given(cuts=st.sets(st.integers(1, N - 1), max_size=6), seed=st.integers(0, 2**32))
def test_shards_merged_are_the_bytes_of_a_local_run(local_tiny, cuts, seed):
    with tempfile.TemporaryDirectory() as d:
        paths = _shards(Path(d), sorted(cuts))
        random.Random(seed).shuffle(paths)  # any order
        merge_shards(paths, Path(d) / "merged.h5")
        assert same_file(Path(d) / "merged.h5", local_tiny)


@pytest.mark.parametrize("compression", [None, "lzf"])
def test_merge_with_masks_and_compression(tmp_path, compression):
    generate("segmentation", N, tmp_path / "local.h5", seed=1, resolution=8, compression=compression)
    (tmp_path / "s").mkdir()
    _shards(tmp_path / "s", [1, 400], "segmentation", N, 1, resolution=8)
    merge_shards(tmp_path / "s", tmp_path / "merged.h5", compression=compression)  # a folder of shards
    assert same_file(tmp_path / "merged.h5", tmp_path / "local.h5")


@pytest.mark.slow
def test_merge_across_slabs_with_masks_and_compression(tmp_path):
    """Shards that straddle the writer's slabs (16 MB of pixels), with masks, compressed."""
    n = slab_rows(16, 16, 3) + 300
    generate("segmentation", n, tmp_path / "local.h5", seed=1, resolution=16, compression="lzf")
    (tmp_path / "s").mkdir()
    _shards(tmp_path / "s", [n // 3, slab_rows(16, 16, 3) + 1], "segmentation", n, 1, resolution=16)
    merge_shards(tmp_path / "s", tmp_path / "merged.h5", compression="lzf")
    assert same_file(tmp_path / "merged.h5", tmp_path / "local.h5")


def test_a_shard_says_what_it_holds(tmp_path):
    info = generate_shard("tiny", N, 100, 250, tmp_path / "s.h5", seed=5)
    assert (info.start, info.stop, info.n, info.seed) == (100, 250, N, 5)
    assert read_shard(tmp_path / "s.h5") == info == verify_shard(tmp_path / "s.h5")
    assert shard_ranges(10, 4) == [(0, 4), (4, 8), (8, 10)]


def _run_cli(runner, *args):
    return runner.invoke(main, ["generate", *args, "--no-preview", "-q"])


@pytest.mark.parametrize(
    "case, message",
    [
        ("overlap", "overlap"),
        ("gap", "rows [300, 400) of 700 are in no shard"),
        ("tail", "rows [400, 700) of 700 are in no shard"),
        ("seed", "its seed differs"),
        ("recipe", "its recipe differs"),
        ("n", "its n differs"),
    ],
)
def test_shards_that_do_not_make_one_run_are_refused(tmp_path, case, message):
    a = generate_shard("tiny", N, 0, 300, tmp_path / "a.h5", seed=5).path
    others = {
        "overlap": lambda: [generate_shard("tiny", N, 250, N, tmp_path / "b.h5", seed=5).path],
        "gap": lambda: [generate_shard("tiny", N, 400, N, tmp_path / "b.h5", seed=5).path],
        "tail": lambda: [generate_shard("tiny", N, 300, 400, tmp_path / "b.h5", seed=5).path],
        "seed": lambda: [generate_shard("tiny", N, 300, N, tmp_path / "b.h5", seed=6).path],
        "recipe": lambda: [generate_shard("default", N, 300, N, tmp_path / "b.h5", seed=5, resolution=8).path],
        "n": lambda: [generate_shard("tiny", N + 1, 300, N + 1, tmp_path / "b.h5", seed=5).path],
    }
    with pytest.raises(SynprobeError, match=message.replace("[", r"\[").replace(")", r"\)")) as e:
        merge_shards([a, *others[case]()], tmp_path / "out.h5")
    assert "\n" not in str(e.value)
    assert not (tmp_path / "out.h5").exists()


def test_a_damaged_shard_is_refused_and_nothing_is_written(tmp_path):
    paths = _shards(tmp_path, [300])
    with h5py.File(paths[1], "r+") as f:
        f["x"][0, 0, 0, 0] ^= 1
    assert verify_shard(paths[1]) is None
    with pytest.raises(FormatError, match=r"s300\.h5: damaged shard file \(x does not match its checksum\)"):
        merge_shards(paths, tmp_path / "out.h5")
    assert not (tmp_path / "out.h5").exists() and not list(tmp_path.glob(".out.h5*"))
    (tmp_path / "nope.h5").write_bytes(b"not a shard")
    with pytest.raises(FormatError, match=r"nope\.h5: not a synprobe shard file"):
        merge_shards([tmp_path / "s0.h5", tmp_path / "nope.h5"], tmp_path / "out.h5")
    with pytest.raises(SynprobeError, match=r"gone\.h5: no such shard file"):
        merge_shards([tmp_path / "gone.h5"], tmp_path / "out.h5")


@pytest.mark.parametrize("bad", [dict(start=300, stop=300), dict(start=-1, stop=5), dict(start=0, stop=N + 1)])
def test_empty_or_outside_row_ranges_are_refused(tmp_path, bad):
    with pytest.raises(SynprobeError, match=r"expected 0 <= start < stop <= n"):
        generate_shard("tiny", N, bad["start"], bad["stop"], tmp_path / "s.h5")


def test_merge_keeps_an_existing_output_unless_overwrite(tmp_path, local_tiny):
    paths = _shards(tmp_path, [])
    (tmp_path / "out.h5").write_bytes(b"mine")
    with pytest.raises(SynprobeError, match="already exists; pass --overwrite"):
        merge_shards(paths, tmp_path / "out.h5")
    merge_shards(paths, tmp_path / "out.h5", overwrite=True)
    assert same_file(tmp_path / "out.h5", local_tiny)


def test_backend_options_of_the_other_backend_are_refused(runner, tmp_path):
    r = _run_cli(runner, "tiny", "-n", "10", "-o", str(tmp_path / "a.h5"), "--backend", "ray", "--workers", "2")
    assert r.exit_code == 2 and "--workers: applies to --backend local" in r.output
    r = _run_cli(runner, "tiny", "-n", "10", "-o", str(tmp_path / "a.h5"), "--address", "auto")
    assert r.exit_code == 2 and "--address: applies to --backend ray only" in r.output


def test_ray_address_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", " ray://head:10001 ")
    assert ray_address() == "ray://head:10001"
    monkeypatch.delenv("RAY_ADDRESS")
    assert ray_address() is None


def test_a_missing_ray_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(SynprobeError, match=r"needs Ray: pip install -e '\.\[ray\]'"):
        generate_ray("tiny", 10, tmp_path / "a.h5")
    assert not (tmp_path / "a.h5").exists()


# --------------------------------------------------------------------------- the Ray driver


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for this module's tests, shut down after them (tests/test_sweep.py starts its own)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_backend_ray_writes_the_bytes_of_a_local_run(local_ray, runner, tmp_path, local_tiny):
    out = tmp_path / "ray.h5"
    r = _run_cli(
        runner, "tiny", "-n", str(N), "--seed", "5", "-o", str(out), "--backend", "ray", "--shard-rows", "150"
    )
    assert r.exit_code == 0, r.output
    assert same_file(out, local_tiny)
    assert not (tmp_path / "ray.h5.shards").exists()


def test_resume_keeps_verified_shards_and_renders_the_rest(local_ray, tmp_path, local_tiny):
    out = tmp_path / "r.h5"
    shards = tmp_path / "r.h5.shards"

    def interrupted(*a, **kw):  # Ctrl-C once every shard is written, before the merge
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as mp, pytest.raises(KeyboardInterrupt):
        mp.setattr("synprobe.shards._ray.merge_shards", interrupted)
        generate_ray("tiny", N, out, seed=5, shard_rows=100)
    names = sorted(p.name for p in shards.glob("*.h5"))
    assert len(names) == 7 and not out.exists()
    (shards / names[2]).unlink()  # lost
    with h5py.File(shards / names[4], "r+") as f:  # damaged
        f["attrs/rotation"][3] = np.nan
    with pytest.raises(SynprobeError, match="an unfinished run is there; pass --resume"):
        generate_ray("tiny", N, out, seed=5, shard_rows=100)
    with pytest.raises(SynprobeError, match="cannot resume, the run was started with a different seed"):
        generate_ray("tiny", N, out, seed=6, shard_rows=100, resume=True)
    res = generate_ray("tiny", N, out, seed=5, shard_rows=100, resume=True)
    assert res.resumed_chunks == 5  # the 7 shards less the lost and the damaged one
    assert same_file(out, local_tiny)
    assert not shards.exists()
    with pytest.raises(SynprobeError, match="nothing to resume"):
        generate_ray("tiny", N, tmp_path / "other.h5", seed=5, resume=True)


def test_a_shard_records_the_run(tmp_path):
    info = generate_shard("tiny", N, 0, 10, tmp_path / "s.h5", seed=5)
    assert json.loads(info.run["recipe"])["resolution"] == [8, 8]
    assert set(info.checksums) >= {"x", "y", "attrs/char"}


def test_an_unfinished_local_run_is_not_discarded_without_overwrite(tmp_path, local_tiny):
    partial = tmp_path / "o.h5.partial"
    partial.mkdir()
    (partial / "meta.json").write_text("{}")
    with pytest.raises(SynprobeError, match=r"o\.h5\.partial: an unfinished local run is there"):
        generate_ray("tiny", N, tmp_path / "o.h5", seed=5)  # refused before anything is rendered
    assert not (tmp_path / "o.h5.shards").exists()
    paths = _shards(tmp_path, [])
    with pytest.raises(SynprobeError, match="an unfinished local run is there"):
        merge_shards(paths, tmp_path / "o.h5")
    merge_shards(paths, tmp_path / "o.h5", overwrite=True)
    assert same_file(tmp_path / "o.h5", local_tiny) and not partial.exists()


def test_a_shard_process_saves_the_glyphs_it_rasterised(tmp_path, monkeypatch):
    """The machine's glyph atlas (per node on a cluster) gets the glyphs a shard rasterised."""
    from synprobe.fonts import FontRegistry

    monkeypatch.setenv("SYNPROBE_CACHE", str(tmp_path / "cache"))
    generate_shard("tiny", N, 0, 50, tmp_path / "s.h5", seed=5, registry=FontRegistry.load(user=False))
    assert list((tmp_path / "cache" / "glyphs").glob("atlas-*.npz"))


def test_an_error_on_a_ray_node_is_one_line(local_ray):
    from synprobe.shards._ray import _result

    def on_a_node():
        raise SynprobeError("fonts: not installed on this node")

    with pytest.raises(SynprobeError) as e:
        _result(local_ray, local_ray.remote(on_a_node).remote())
    assert str(e.value) == "on a Ray node: fonts: not installed on this node"


def test_a_run_that_cannot_fit_on_the_disk_is_refused_before_rendering(tmp_path):
    with pytest.raises(SynprobeError, match="not enough free disk space: the shards and the merged file need about"):
        generate_ray("default", 10**10, tmp_path / "big.h5")  # ~60 TB
    assert not (tmp_path / "big.h5.shards").exists()
