"""The C kernels give the same bytes as the numba kernels; choosing and building them."""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from synprobe.errors import SynprobeError
from synprobe.recipe import recipe_from_dict
from synprobe.render import backend, ckernels
from synprobe.render.compose import Renderer
from synprobe.render.contract import N_PARAMS

RECIPES = ["default", "default-bw", "counting", "some-large-occlusion", "camouflage", "natural-patterns",
           "pixel-noise", "segmentation"]


@pytest.fixture(scope="module")
def ck():
    k, why = ckernels.load()
    if k is None:  # reported by -ra; CI has a compiler, so there this always runs
        pytest.skip(f"C kernels unavailable here: {why}")
    return k


@pytest.fixture
def use(monkeypatch):
    """use('c' | 'numba'): the kernels Renderer.render picks up."""
    return lambda name: monkeypatch.setenv("SYNPROBE_KERNELS", name)


def _render(use, name, recipe, seed, index):
    use(name)
    r = Renderer(recipe)
    return r.render(r.sample(seed, index), seed, index)


@pytest.mark.parametrize("name", RECIPES)
def test_bundled_recipes_render_the_same_bytes_with_c_and_numba(ck, use, name):
    from synprobe.recipe import load_recipe

    recipe, idx = load_recipe(name), np.arange(40, 90)
    (xc, mc), (xn, mn) = (_render(use, k, recipe, 7, idx) for k in ("c", "numba"))
    assert xc.tobytes() == xn.tobytes()
    assert (mc is None) == (mn is None) and (mc is None or mc.tobytes() == mn.tobytes())


@given(h=st.integers(8, 40), w=st.integers(8, 40), gray=st.booleans(), contrast=st.booleans(),
       noise=st.sampled_from([0.0, 0.01, 0.3]), inverse=st.floats(0, 1), symbols=st.integers(1, 3),
       occluders=st.integers(0, 2), seed=st.integers(0, 2**63 - 1), start=st.integers(0, 10**9))
def test_any_size_and_option_renders_the_same_bytes(ck, use, h, w, gray, contrast, noise, inverse, symbols,
                                                    occluders, seed, start):
    recipe = recipe_from_dict({
        "resolution": [h, w], "gray": gray, "max_contrast": contrast, "pixel_noise": noise,
        "inverse_color": {"dist": "bernoulli", "p": inverse}, "masks": True,
        "n_symbols": {"dist": "choice", "values": list(range(1, symbols + 1))},
        "occlusion": {"count": occluders, "kind": {"dist": "choice", "values": ["square", "circle", "glyph"]}},
        "background": {"kind": {"dist": "choice", "values": ["solid", "linear", "radial", "noise", "camouflage"]},
                       "n_strokes": 40, "stroke_angle": {"dist": "uniform", "low": -3.2, "high": 3.2}},
        "symbol": {"foreground": {"kind": {"dist": "choice", "values": ["solid", "linear", "radial",
                                                                         "multigradient", "camouflage"]},
                                  "n_strokes": 40, "stroke_width": 0.15}},
    })
    idx = np.arange(start, start + 12)
    (xc, mc), (xn, mn) = (_render(use, k, recipe, seed, idx) for k in ("c", "numba"))
    assert xc.tobytes() == xn.tobytes() and mc.tobytes() == mn.tobytes()


@given(m=st.integers(1, 5000), key=st.integers(0, 2**64 - 1))
def test_noise_draws_are_the_same(ck, m, key):
    lut = backend.normal_lut()
    a, b = np.empty(m, np.float32), np.empty(m, np.float32)
    ck.normal_noise(a, key, lut)
    backend.NumbaKernels().normal_noise(b, key, lut)
    assert a.tobytes() == b.tobytes()


@given(b=st.integers(1, 6), h=st.integers(1, 20), w=st.integers(1, 20), data=st.data())
def test_pattern_evaluation_is_the_same(ck, b, h, w, data):
    kinds = np.array(data.draw(st.lists(st.integers(0, 2), min_size=b, max_size=b)), np.int64)
    size = b * N_PARAMS
    params = np.array(data.draw(st.lists(st.floats(-3, 3), min_size=size, max_size=size))).reshape(b, N_PARAMS)
    out_c, out_n = np.empty((b, h, w, 3), np.float32), np.empty((b, h, w, 3), np.float32)
    ck.eval_patterns(out_c, kinds, params)
    backend.NumbaKernels().eval_patterns(out_n, kinds, params)
    assert out_c.tobytes() == out_n.tobytes()


def test_auto_picks_c_when_a_compiler_works(ck, monkeypatch):
    monkeypatch.delenv("SYNPROBE_KERNELS", raising=False)
    assert backend.kernels().name == "c"


def test_without_a_compiler_auto_falls_back_to_numba_and_c_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("SYNPROBE_CACHE", str(tmp_path))
    monkeypatch.setenv("CC", "false")  # a "compiler" that always fails
    backend._kernels.cache_clear()
    try:
        k, why = ckernels.load()
        assert k is None and why.startswith("false failed")
        monkeypatch.setenv("SYNPROBE_KERNELS", "auto")
        assert backend.kernels().name == "numba"
        monkeypatch.setenv("SYNPROBE_KERNELS", "c")
        with pytest.raises(SynprobeError, match=r"^SYNPROBE_KERNELS=c: the C kernels cannot be built: false failed"):
            backend.kernels()
        monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
        monkeypatch.setattr(ckernels.shutil, "which", lambda _: None)
        assert ckernels.load() == (None, "no C compiler found (set CC)")
    finally:
        backend._kernels.cache_clear()
    assert not list(tmp_path.glob("kernels/*"))  # a failed build leaves nothing behind


NO_KERNELS = (r"^no rendering kernels: the C kernels cannot be built \(no C compiler found \(set CC\)\) and numba is "
              r"not installed; install a C compiler \(e\.g\. apt install gcc, or set CC\) or numba "
              r"\(pip install -e '\.\[numba\]' from the synprobe checkout\)$")


def test_without_a_compiler_and_without_numba_one_line_says_what_to_install(monkeypatch):
    """numba is an extra: with neither it nor a compiler, ``auto`` names both ways out;
    ``SYNPROBE_KERNELS=numba`` without numba names the extra."""
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba -> ImportError
    monkeypatch.setattr(ckernels, "load", lambda: (None, "no C compiler found (set CC)"))
    backend._kernels.cache_clear()
    try:
        assert not backend.numba_installed()
        monkeypatch.setenv("SYNPROBE_KERNELS", "auto")
        with pytest.raises(SynprobeError, match=NO_KERNELS):
            backend.kernels()
        monkeypatch.setenv("SYNPROBE_KERNELS", "numba")
        with pytest.raises(SynprobeError) as e:
            backend.kernels()
        assert str(e.value) == ("SYNPROBE_KERNELS=numba: numba is not installed: "
                                "pip install -e '.[numba]' from the synprobe checkout")
    finally:
        backend._kernels.cache_clear()


def test_generate_without_a_compiler_or_numba_prints_the_line(tmp_path):
    """End to end, in a process where numba does not import and the compiler fails: exit 1, one line."""
    (tmp_path / "numba.py").write_text("raise ImportError('No module named numba')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]), CC="false",
               SYNPROBE_CACHE=str(tmp_path / "cache"), SYNPROBE_KERNELS="auto")
    r = subprocess.run([sys.executable, "-c", "from synprobe.cli import main; main()", "generate", "tiny", "-n", "4",
                        "-o", str(tmp_path / "d.h5"), "--workers", "1"], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("Error: no rendering kernels: the C kernels cannot be built (false failed")
    assert r.stderr.count("\n") == 1 and "pip install -e '.[numba]'" in r.stderr


def test_an_unknown_choice_is_a_one_line_error(monkeypatch):
    monkeypatch.setenv("SYNPROBE_KERNELS", "fortran")
    with pytest.raises(SynprobeError, match=r"^SYNPROBE_KERNELS: unknown 'fortran'; expected one of auto, c, numba$"):
        backend.kernels()


def _build_in(cache: str) -> str:
    import os

    os.environ["SYNPROBE_CACHE"] = cache
    k, why = ckernels.load()
    return str(k.path) if k is not None else why


def test_processes_building_at_once_share_one_complete_library(ck, tmp_path):
    with mp.get_context("spawn").Pool(3) as pool:
        paths = pool.map(_build_in, [str(tmp_path)] * 3)
    assert len(set(paths)) == 1 and paths[0].endswith(".so")
    assert [p.name for p in (tmp_path / "kernels").iterdir()] == [paths[0].rsplit("/", 1)[1]]  # no temporaries


@pytest.mark.parametrize("name", RECIPES + ["missing-symbol", "counting-crowded", "many-small-occlusion"])
def test_labels_assembled_in_c_equal_the_python_reference(ck, name):
    import json

    from synprobe.recipe import load_recipe
    from synprobe.render.labels import label_starts, y_json_py

    r = Renderer(load_recipe(name))
    idx = np.arange(1000, 1300)
    t = r.sample(11, idx)
    from synprobe.render.labels import _c_tables, _resolution

    y = ck.labels(_c_tables(r), t, _resolution(r, 11), idx)
    assert y == y_json_py(r, t, 11, idx)
    objs = [json.loads(y[a:b]) for a, b in zip(label_starts(y), np.flatnonzero(np.frombuffer(y, np.uint8) == 0))]
    assert [o["index"] for o in objs] == idx.tolist()
    assert [o["n_symbols"] for o in objs] == t["n_symbols"].tolist()


@given(symbols=st.integers(1, 4), occluders=st.integers(0, 3), has_occ=st.booleans(), seed=st.integers(0, 2**40),
       n=st.integers(0, 40))
def test_labels_of_any_symbol_and_occluder_count_equal_the_python_reference(ck, symbols, occluders, has_occ, seed, n):
    from synprobe.render.labels import _c_tables, _resolution, y_json_py

    spec = {"n_symbols": {"dist": "choice", "values": list(range(1, symbols + 1))},
            "occlusion": {"count": {"dist": "choice", "values": list(range(occluders + 1))},
                          "kind": {"dist": "choice", "values": ["square", "glyph"]}}}
    if not has_occ:
        del spec["occlusion"]
    r = Renderer(recipe_from_dict(spec))
    idx = np.arange(seed % 1000, seed % 1000 + n)
    t = r.sample(seed, idx)
    assert ck.labels(_c_tables(r), t, _resolution(r, seed), idx) == y_json_py(r, t, seed, idx)


@pytest.mark.parametrize("recipe", ["default", "some-large-occlusion"])
def test_files_written_with_c_and_with_numba_are_byte_identical(ck, use, tmp_path, recipe):
    from synprobe.generator import generate

    for name in ("c", "numba"):
        use(name)
        generate(recipe, 700, tmp_path / f"{name}.h5", workers=1, resolution=16, chunk=256)
    assert (tmp_path / "c.h5").read_bytes() == (tmp_path / "numba.h5").read_bytes()


def test_the_shipped_normal_table_is_its_definition():
    lut = backend.normal_lut()
    assert lut.dtype == np.float32 and lut.shape == (4096,)
    assert lut.tobytes() == backend.compute_normal_lut().tobytes()


def test_a_damaged_cached_library_is_rebuilt(ck, monkeypatch, tmp_path):
    monkeypatch.setenv("SYNPROBE_CACHE", str(tmp_path))
    cc = ckernels._compiler()
    path = tmp_path / "kernels" / f"kernels-{ckernels._key(cc, ckernels._FLAGS + ckernels._NATIVE)}.so"
    path.parent.mkdir()
    path.write_bytes(ck.path.read_bytes()[:100])  # truncated, as a full disk would leave it
    k, why = ckernels.load()
    assert k is not None and why == "" and k.path == path and path.stat().st_size > 100
    a, b = np.empty(9, np.float32), np.empty(9, np.float32)
    k.normal_noise(a, 5, backend.normal_lut())
    backend.NumbaKernels().normal_noise(b, 5, backend.normal_lut())
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name", ["c", "numba"])
def test_pattern_evaluation_leaves_texture_rows_zero(use, name):
    use(name)
    out = np.full((3, 5, 7, 3), 9, np.float32)
    params = np.random.default_rng(0).random((3, 14))
    backend.kernels().eval_patterns(out, np.array([1, 3, 2], np.int64), params)
    assert (out[1] == 0).all() and not (out[0] == 0).all() and not (out[2] == 0).all()


def test_render_patterns_of_every_kind_at_any_size():
    from synprobe.recipe import PATTERN_KINDS, PatternSpec
    from synprobe.render.patterns import render_patterns

    kinds = [k for k in PATTERN_KINDS if k != "image"] * 3
    for h, w in ((8, 8), (17, 33), (64, 40)):
        out = render_patterns(kinds, np.arange(len(kinds), dtype=np.uint32), PatternSpec(n_strokes=50), h, w)
        assert out.shape == (len(kinds), h, w, 3) and np.isfinite(out).all() and (0 <= out).all() and (out <= 1).all()


def test_the_portable_build_gives_the_same_bytes(ck, tmp_path):
    """Without -march=native (no AVX2 on x86-64's baseline, any other CPU) the scalar code paths
    run: the same bytes as numba on a few recipes and every kernel."""
    from synprobe.recipe import load_recipe

    path = tmp_path / "portable.so"
    assert ckernels._build(ckernels._compiler(), ckernels._FLAGS, path) is None
    portable, nb = ckernels.CKernels(path), backend.NumbaKernels()
    captured = {}

    class Capture:  # keeps render's arguments; patterns (camouflage strokes) come from numba
        name = "capture"

        def render(self, *a):
            captured["a"] = a

        def __getattr__(self, attr):
            return getattr(nb, attr)

    for name in ("default", "counting", "camouflage", "some-large-occlusion"):
        r = Renderer(load_recipe(name))
        idx = np.arange(30)
        t = r.sample(3, idx)
        orig = backend._kernels
        try:
            backend._kernels = lambda choice: Capture()
            r.render(t, 3, idx)
        finally:
            backend._kernels = orig
        x, m, *rest = captured["a"]
        outs = []
        for k in (portable, nb):
            xo, mo = np.empty_like(x), None if m is None else np.empty_like(m)
            k.render(xo, mo, *rest)
            outs.append((xo.tobytes(), None if mo is None else mo.tobytes()))
        assert outs[0] == outs[1], name
    lut = backend.normal_lut()
    for m in (1, 2, 7, 4096, 3073):
        a, b = np.empty(m, np.float32), np.empty(m, np.float32)
        portable.normal_noise(a, 99, lut)
        nb.normal_noise(b, 99, lut)
        assert a.tobytes() == b.tobytes()
    seg = np.random.default_rng(1).random((3, 40, 4)).astype(np.float32) * 40
    col = np.random.default_rng(2).integers(0, 256, (3, 40, 3)).astype(np.uint8)
    o1, o2 = np.empty((3, 32, 33, 3), np.float32), np.empty((3, 32, 33, 3), np.float32)
    portable.strokes(o1, seg, col, 1.5)
    nb.strokes(o2, seg, col, 1.5)
    assert o1.tobytes() == o2.tobytes()


def test_generate_says_when_it_falls_back_to_numba(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from synprobe.cli import main

    monkeypatch.setenv("SYNPROBE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CC", "false")
    monkeypatch.delenv("SYNPROBE_KERNELS", raising=False)
    backend._kernels.cache_clear()
    try:
        r = CliRunner().invoke(main, ["generate", "default", "-n", "20", "-o", str(tmp_path / "a.h5"), "--workers",
                                      "1", "-q", "--no-preview"])
    finally:
        backend._kernels.cache_clear()
    assert r.exit_code == 0, r.output
    assert "note: rendered with the numba kernels" in r.stderr and "false failed" in r.stderr
    assert r.stderr.count("\n") == 1 and "wrote" in r.stdout


def test_the_c_kernels_hold_the_render_contract():
    """``_kernels.c`` repeats the contract's integers as ``#define``s: every one equals contract.py's."""
    import re
    from pathlib import Path

    from synprobe.render import contract

    source = (Path(contract.__file__).parent / "_kernels.c").read_text()
    defines = {name: int(value) for name, value in re.findall(r"^#define (\w+) (\d+)\b", source, re.M)}
    shared = {name: getattr(contract, name) for name in contract.__all__ if isinstance(getattr(contract, name), int)}
    assert shared and defines == shared
