"""Damaged and hostile files (issue 12, item 7): every reader either succeeds or raises a one-line
SynprobeError naming the file; never another exception, never unbounded memory.

The corpus starts from one small valid dataset (64 images, 8x8) and one small stream file, mutated
with h5py / zipfile (named cases), cut at or flipped at hypothesis-drawn byte offsets, or replaced by
things that are not files at all. Each corpus file goes through every reading entry point.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synprobe.errors import SynprobeError

N = 64


# --------------------------------------------------------------------------- the two valid files


@pytest.fixture(scope="session")
def base_h5(tmp_path_factory) -> Path:
    from synprobe.generator import generate

    out = tmp_path_factory.mktemp("damaged") / "base.h5"
    generate("default", N, out, workers=1, resolution=8)
    return out


@pytest.fixture(scope="session")
def base_npz(tmp_path_factory) -> Path:
    from synprobe.scenarios import recurring, with_eval_sets

    y = np.random.default_rng(0).permutation(np.repeat(np.arange(8), 8))
    s = recurring(y, classes_per_task=2, n_tasks=6, seed=0)
    rest = np.setdiff1d(np.arange(N), np.concatenate([s.indices, s.val_indices if s.val_indices is not None else []]))
    s = with_eval_sets(s, {"iid": rest[:4]})
    return s.save(tmp_path_factory.mktemp("damaged_npz") / "s.npz")


# --------------------------------------------------------------------------- entry points


def _open(p):
    from synprobe.io.h5 import open_dataset

    open_dataset(p).close()


def _info(p):
    from synprobe.io.h5 import read_info

    read_info(p)


def _load_x(p):
    from synprobe.load import load

    assert load(p, split="all").x.dtype == np.uint8


def _load_split(p):
    from synprobe.load import load

    load(p, split="test", target="font")


def _table(p):
    from synprobe.load import read_table

    read_table(p)


def _describe(p):
    from synprobe.info import describe

    describe(p)


H5_READERS = {"open_dataset": _open, "read_info": _info, "load.x": _load_x, "load.test": _load_split,
              "read_table": _table, "describe": _describe}


def _stream(p):
    from synprobe.scenarios import Stream

    Stream.load(p)


def _check_library(fn, p: Path) -> str:
    """Run one entry point: 'ok' or the error's class name; fails on anything but a one-line
    SynprobeError naming the file."""
    try:
        fn(p)
    except SynprobeError as e:
        msg = str(e)
        assert "\n" not in msg, f"{fn.__name__}({p.name}): multi-line message {msg!r}"
        assert str(p) in msg, f"{fn.__name__}({p.name}): message does not name the file: {msg!r}"
        return type(e).__name__
    return "ok"


def _check_cli(runner, args: list, p: Path) -> str:
    from synprobe.cli import main

    r = runner.invoke(main, [str(a) for a in args])
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        import traceback

        tb = "".join(traceback.format_exception(r.exception))
        pytest.fail(f"synprobe {' '.join(map(str, args))}: traceback\n{tb}")
    if r.exit_code == 0:
        return "ok"
    lines = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
    # exit 2: click's own check of a path argument (a directory), one line too
    assert r.exit_code in (1, 2) and len(lines) == 1, f"synprobe {args}: exit {r.exit_code}, output {r.output!r}"
    assert str(p) in lines[0], f"synprobe {args}: error does not name the file: {lines[0]!r}"
    return "error"


def _check_h5_everywhere(p: Path, runner, out: Path, cli: bool = True) -> dict:
    got = {name: _check_library(fn, p) for name, fn in H5_READERS.items()}
    if cli:
        got["cli info"] = _check_cli(runner, ["info", p], p)
        got["cli info --json"] = _check_cli(runner, ["info", "--json", p], p)
        got["cli preview"] = _check_cli(runner, ["preview", p, "-o", out / "p.png", "--rows", "2", "--cols", "2"], p)
        got["cli view"] = _check_cli(runner, ["view", p, "-o", out / "v.png", "--rows", "1", "--cols", "2"], p)
        q = p  # split writes into the file: a copy of a regular file
        if p.is_file():
            q = out / f"split_{p.name}"
            shutil.copyfile(p, q)
        got["cli split"] = _check_cli(runner, ["split", q, "--kind", "stratified", "--by", "font", "--name", "t"], q)
    return got


# --------------------------------------------------------------------------- HDF5 mutations


def _replace(f, name, data=None, **kw):
    """Replace dataset ``name`` by a new one (data or shape/dtype), keeping its attributes."""
    old = dict(f[name].attrs) if name in f else {}
    if name in f:
        del f[name]
    d = f.create_dataset(name, data=data, **kw)
    for k, v in old.items():
        d.attrs[k] = v


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _to_synbols(f):
    """Synbols 1.0.2's layout: no root attributes, no attrs/."""
    for k in list(f.attrs):
        del f.attrs[k]
    del f["attrs"]


def _synbols_y(label: bytes, row: int = 0):
    def fn(f):
        _to_synbols(f)
        y = f["y"][()].tolist()
        y[row] = label
        _replace(f, "y", data=np.array(y, dtype=object), dtype=h5py.string_dtype())
    return fn


MUTATIONS = {
    # missing pieces
    "no_x": lambda f: f.__delitem__("x"),
    "no_y": lambda f: f.__delitem__("y"),
    "no_attrs_char": lambda f: f.__delitem__("attrs/char"),
    "no_split_random": lambda f: f.__delitem__("split/random"),
    "no_format_attr": lambda f: f.attrs.__delitem__("format"),
    "no_complete_attr": lambda f: f.attrs.__delitem__("complete"),
    "complete_false": lambda f: f.attrs.__setitem__("complete", False),
    "format_int": lambda f: f.attrs.__setitem__("format", 5),
    "format_array": lambda f: f.attrs.__setitem__("format", np.array([b"synprobe-h5/1", b"x"])),
    "complete_string": lambda f: f.attrs.__setitem__("complete", "yes"),
    "complete_array": lambda f: f.attrs.__setitem__("complete", np.array([True, True])),
    # dtypes and shapes
    "x_float32": lambda f: _replace(f, "x", data=f["x"][()].astype(np.float32)),
    "x_3d": lambda f: _replace(f, "x", data=f["x"][()][..., 0]),
    "x_2_channels": lambda f: _replace(f, "x", data=f["x"][()][..., :2]),
    "x_zero_rows": lambda f: _replace(f, "x", data=f["x"][()][:0]),
    "x_zero_width": lambda f: _replace(f, "x", shape=(N, 8, 0, 3), dtype=np.uint8),
    "x_group": lambda f: (f.__delitem__("x"), f.create_group("x")),
    "y_int": lambda f: _replace(f, "y", data=np.arange(N)),
    "y_short": lambda f: _replace(f, "y", data=f["y"][()][:-1], dtype=h5py.string_dtype()),
    "attrs_char_short": lambda f: _replace(f, "attrs/char", data=f["attrs/char"][()][:-3]),
    "attrs_scale_long": lambda f: _replace(f, "attrs/scale", data=np.concatenate([f["attrs/scale"][()]] * 2)),
    "attrs_char_float": lambda f: _replace(f, "attrs/char", data=f["attrs/char"][()].astype(np.float64)),
    "attrs_scale_strings": lambda f: _replace(f, "attrs/scale", data=np.array([b"1.0"] * N)),
    "attrs_scale_3d": lambda f: _replace(f, "attrs/scale", data=np.zeros((N, 1, 1))),
    "attrs_is_dataset": lambda f: (f.__delitem__("attrs"), f.create_dataset("attrs", data=np.arange(3))),
    "split_2_columns": lambda f: _replace(f, "split/random", data=f["split/random"][()][:, :2]),
    "split_int8": lambda f: _replace(f, "split/random", data=f["split/random"][()].astype(np.int8)),
    "split_short": lambda f: _replace(f, "split/random", data=f["split/random"][()][:-1]),
    "split_member_group": lambda f: f.create_group("split/sub"),
    "mask_bad_shape": lambda f: _replace(f, "mask", data=np.zeros((N, 4, 4, 1), np.uint8)),
    "mask_short": lambda f: _replace(f, "mask", data=np.zeros((N - 1, 8, 8, 1), np.uint8)),
    "mask_float32_4d": lambda f: _replace(f, "mask", data=np.zeros((N, 8, 8, 1), np.float32)),
    # category tables
    "categories_not_list": lambda f: f["attrs/char"].attrs.__setitem__("categories", '{"a": 1}'),
    "categories_ints": lambda f: f["attrs/char"].attrs.__setitem__("categories", "[1, 2, 3]"),
    "categories_not_json": lambda f: f["attrs/font"].attrs.__setitem__("categories", "[[not json"),
    "categories_nested_10k": lambda f: f["attrs/char"].attrs.__setitem__("categories", _nested(10_000)),
    "categories_nested_100": lambda f: f["attrs/char"].attrs.__setitem__("categories", _nested(100)),
    "categories_2mb": lambda f: f["attrs/char"].attrs.__setitem__("categories", json.dumps(["a" * (17 << 20)])),
    "categories_int_attr": lambda f: f["attrs/char"].attrs.__setitem__("categories", 7),
    "codes_too_high": lambda f: f["attrs/char"].__setitem__(0, 10**6),
    "codes_below_minus_one": lambda f: f["attrs/font"].__setitem__(3, -7),
    "scale_extreme": lambda f: f["attrs/scale"].__setitem__(slice(0, 2), [-1.7e308, 1.7e308]),
    "recipe_nested": lambda f: f.attrs.__setitem__("recipe", _nested(10_000)),
    "versions_not_json": lambda f: f.attrs.__setitem__("versions", "{oops"),
    # declared sizes beyond the file
    "x_1e9_rows_chunked": lambda f: _replace(f, "x", shape=(10**9, 8, 8, 3), dtype=np.uint8, chunks=(256, 8, 8, 3)),
    "x_1e9_rows_contiguous": lambda f: _replace(f, "x", shape=(10**9, 8, 8, 3), dtype=np.uint8),
    "x_1e9_rows_gzip": lambda f: _replace(f, "x", shape=(10**9, 8, 8, 3), dtype=np.uint8, chunks=(256, 8, 8, 3),
                                          compression="gzip"),
    "y_1e9_rows": lambda f: _replace(f, "y", shape=(10**9,), dtype=h5py.string_dtype()),
    "column_1e9_rows": lambda f: _replace(f, "attrs/scale", shape=(10**9,), dtype=np.float64),
    "all_1e9_rows": lambda f: _all_huge(f),
    "synbols_1e9_rows": lambda f: (_to_synbols(f), _all_huge(f)),
    "x_gzip_missing_chunks": lambda f: _x_gzip_partial(f),
    "x_huge_chunk": lambda f: _replace(f, "x", shape=(N, 4096, 4096, 3), dtype=np.uint8, chunks=(2, 4096, 4096, 3),
                                       compression="gzip"),
    # links
    "x_soft_link": lambda f: (f.__delitem__("x"), f.__setitem__("x", h5py.SoftLink("/y"))),
    "x_external_link": lambda f: (f.__delitem__("x"), f.__setitem__("x", h5py.ExternalLink("/dev/zero", "/x"))),
    # Synbols layout
    "synbols_ok": _to_synbols,
    "synbols_label_nested_10k": _synbols_y(_nested(10_000).encode()),
    "synbols_label_not_object": _synbols_y(b"[1, 2]"),
    "synbols_label_not_json": _synbols_y(b"{oops"),
    "synbols_label_2mb": _synbols_y(json.dumps({"char": "a" * (2 << 20)}).encode()),
    "synbols_label_nan": _synbols_y(b'{"char": "a", "scale": NaN}'),
    "synbols_y_int": lambda f: (_to_synbols(f), _replace(f, "y", data=np.arange(N))),
    "synbols_no_y": lambda f: (_to_synbols(f), f.__delitem__("y")),
}


def _all_huge(f):
    """A few-KB file declaring 10**9 rows everywhere, consistently (nothing written)."""
    big = 10**9
    del f["split"]
    _replace(f, "x", shape=(big, 8, 8, 3), dtype=np.uint8, chunks=(256, 8, 8, 3))
    _replace(f, "y", shape=(big,), dtype=h5py.string_dtype())
    for name in list(f.get("attrs", {})):
        d = f["attrs"][name]
        _replace(f, f"attrs/{name}", shape=(big, *d.shape[1:]), dtype=d.dtype)


def _x_gzip_partial(f):
    x = f["x"][()]
    _replace(f, "x", shape=x.shape, dtype=np.uint8, chunks=(8, 8, 8, 3), compression="gzip")
    f["x"][:16] = x[:16]  # 6 of 8 chunks never written: they would read as black images


# Cases that must load (a file without splits: everything but load(split="test")); cases whose damage
# only `info` sees (it shows the raw text); every other case must be refused by load().
MUST_LOAD = {"no_split_random", "synbols_ok", "synbols_label_nan", "recipe_nested", "versions_not_json",
             "scale_extreme"}


@pytest.fixture(scope="session")
def corpus(base_h5, tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("corpus")
    out = {}
    for name, fn in MUTATIONS.items():
        p = d / f"{name}.h5"
        shutil.copyfile(base_h5, p)
        with h5py.File(p, "r+") as f:
            fn(f)
        out[name] = p
    raw = base_h5.read_bytes()
    (d / "empty.h5").write_bytes(b"")
    (d / "text.h5").write_text("not an HDF5 file\n")
    (d / "random.h5").write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    (d / "signature_only.h5").write_bytes(raw[:8])
    (d / "half.h5").write_bytes(raw[: len(raw) // 2])
    (d / "directory.h5").mkdir()
    os.mkfifo(d / "fifo.h5")
    for name in ("empty", "text", "random", "signature_only", "half", "directory", "fifo"):
        out[name] = d / f"{name}.h5"
    out["missing"] = d / "missing.h5"
    return out


def test_valid_file_loads_everywhere(base_h5, runner, tmp_path):
    got = _check_h5_everywhere(base_h5, runner, tmp_path)
    assert set(got.values()) == {"ok"}, got


@pytest.mark.parametrize("name", [*MUTATIONS, "empty", "text", "random", "signature_only", "half", "directory",
                                  "fifo", "missing"])
def test_damaged_h5(name, corpus, runner, tmp_path):
    p = corpus[name]
    got = _check_h5_everywhere(p, runner, tmp_path)
    if name in MUST_LOAD:
        assert {k for k, v in got.items() if v != "ok"} <= {"load.test", "cli view", "cli split"}, got
    else:
        assert got["load.x"] != "ok", got


def test_messages_say_what_is_wrong(corpus):
    from synprobe.errors import IncompleteFileError
    from synprobe.io.h5 import open_dataset

    want = {
        "x_float32": "dtype float32; expected uint8", "y_short": "expected (64,)",
        "attrs_char_short": "attrs/char has shape (61,)", "split_2_columns": "split/random",
        "categories_nested_10k": "nested", "codes_too_high": "attrs/char holds code 1000000",
        "x_1e9_rows_chunked": "the file stores 0 bytes", "all_1e9_rows": "x declares shape (1000000000, 8, 8, 3)",
        "x_1e9_rows_gzip": "more than any compression",
        "x_gzip_missing_chunks": "6 of its 8 chunks are not stored", "x_external_link": "ExternalLink",
        "fifo": "not a regular file", "directory": "is a directory", "empty": "empty file",
    }
    for name, text in want.items():
        with pytest.raises(SynprobeError) as e:
            open_dataset(corpus[name]).close()
        assert text in str(e.value), (name, str(e.value))
    with pytest.raises(IncompleteFileError):
        open_dataset(corpus["complete_false"])


def _damage(raw: bytes, flips: list, cut: float | None) -> bytes:
    """``raw`` with bytes XORed at relative positions (``flips``: (where in [0, 1), bits)), then cut
    at relative position ``cut`` (None: not cut)."""
    b = bytearray(raw)
    for where, bits in flips:
        b[int(where * len(b))] ^= bits
    return bytes(b if cut is None else b[: int(cut * len(b))])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0, 1, exclude_max=True))
def test_truncated_h5(cut, base_h5, tmp_path_factory, runner):
    raw = base_h5.read_bytes()
    p = tmp_path_factory.mktemp("cut") / "cut.h5"
    p.write_bytes(raw[: int(cut * len(raw))])
    got = _check_h5_everywhere(p, runner, p.parent, cli=False)
    assert "ok" not in got.values(), got


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=8))
def test_flipped_bytes_h5(flips, base_h5, tmp_path_factory, runner):
    p = tmp_path_factory.mktemp("flip") / "flip.h5"
    p.write_bytes(_damage(base_h5.read_bytes(), flips, None))
    _check_h5_everywhere(p, runner, p.parent, cli=False)  # any outcome but a traceback


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=32),
       cut=st.none() | st.floats(0, 1))
def test_flipped_and_cut_h5_many(flips, cut, base_h5, tmp_path_factory, runner):
    p = tmp_path_factory.mktemp("flipcut") / "f.h5"
    p.write_bytes(_damage(base_h5.read_bytes(), flips, cut))
    _check_h5_everywhere(p, runner, p.parent, cli=True)


# --------------------------------------------------------------------------- memory bounds

_LIMITED = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    from synprobe.errors import SynprobeError
    path, what = sys.argv[1], sys.argv[2]
    try:
        if what == "load":
            from synprobe.load import load
            load(path, split="all").x
        else:
            from synprobe.scenarios import Stream
            Stream.load(path)
    except SynprobeError as e:
        print("CLEAN:", e)
    else:
        print("LOADED")
""")


def _limited(path: Path, what: str) -> str:
    r = subprocess.run([sys.executable, "-c", _LIMITED, str(path), what], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


@pytest.mark.parametrize("name", ["all_1e9_rows", "synbols_1e9_rows", "x_1e9_rows_chunked", "x_1e9_rows_gzip",
                                  "column_1e9_rows"])
def test_huge_declared_size_refused_under_2gb(name, corpus):
    out = _limited(corpus[name], "load")
    assert out.startswith("CLEAN:") and str(corpus[name]) in out, out


# --------------------------------------------------------------------------- stream files


def _npz_replace(src: Path, dst: Path, **members):
    """Copy a stream file, replacing (or adding) members: name -> array, or raw bytes."""
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w") as zo:
        for info in zi.infolist():
            key = info.filename.removesuffix(".npy")
            if key not in members:
                zo.writestr(info, zi.read(info))
        for key, a in members.items():
            if a is None:
                continue
            if isinstance(a, bytes):
                zo.writestr(key + ".npy", a)
            else:
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.asarray(a), allow_pickle=False)
                zo.writestr(key + ".npy", buf.getvalue())


def _meta_of(src: Path) -> dict:
    with np.load(src, allow_pickle=False) as z:
        return json.loads(z["meta"].reshape(()).item())


def _with_meta(**changes):
    def fn(src, dst):
        m = _meta_of(src)
        m.update(changes)
        _npz_replace(src, dst, meta=np.array(json.dumps(m)))
    return fn


def _with_spec(**changes):
    def fn(src, dst):
        m = _meta_of(src)
        m["spec"] = {**m["spec"], **changes}
        _npz_replace(src, dst, meta=np.array(json.dumps(m)))
    return fn


def _bomb_header(src, dst):
    """A member whose .npy header declares 4 GB, followed by 1 MB of zeros, deflated."""
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, {"descr": "|u1", "fortran_order": False, "shape": (4 << 30,)})
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z, zipfile.ZipFile(src) as zi:
        for info in zi.infolist():
            if info.filename != "indices.npy":
                z.writestr(info.filename, zi.read(info))
        z.writestr("indices.npy", hdr.getvalue() + bytes(1 << 20))


def _bomb_zeros(src, dst, n: int = (4 << 30) - 128):
    """A real zip bomb: a member of ``n`` bytes of zeros (after its .npy header), deflated to a few
    MB, streamed in 16 MiB pieces so that the test itself stays light."""
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, {"descr": "|u1", "fortran_order": False, "shape": (n,)})
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z, zipfile.ZipFile(src) as zi:
        for info in zi.infolist():
            if info.filename != "indices.npy":
                z.writestr(info.filename, zi.read(info))
        with z.open("indices.npy", "w", force_zip64=True) as w:
            w.write(hdr.getvalue())
            left, piece = n, bytes(16 << 20)
            while left:
                k = min(left, len(piece))
                w.write(piece[:k])
                left -= k


def _int_member(name, fn):
    def make(src, dst):
        with np.load(src, allow_pickle=False) as z:
            a = z[name]
        _npz_replace(src, dst, **{name: fn(a)})
    return make


NPZ_MUTATIONS = {
    "meta_not_string": lambda s, d: _npz_replace(s, d, meta=np.arange(3)),
    "meta_int_json": lambda s, d: _npz_replace(s, d, meta=np.array("5")),
    "meta_not_json": lambda s, d: _npz_replace(s, d, meta=np.array("{oops")),
    "meta_nested_10k": lambda s, d: _npz_replace(s, d, meta=np.array(_nested(10_000))),
    "meta_missing": lambda s, d: _npz_replace(s, d, meta=None) or _drop(d, "meta"),
    "spec_string": _with_meta(spec="recurring"),
    "spec_recipe_string": _with_spec(recipe="scole"),
    "spec_data_list": _with_spec(data=[1, 2]),
    "seed_string": _with_meta(seed="0"),
    "seed_negative": _with_meta(seed=-1),
    "eval_sets_not_list": _with_meta(eval_sets="iid"),
    "eval_sets_missing_member": _with_meta(eval_sets=["iid", "ood"]),
    "format_wrong": _with_meta(format="other/1"),
    "class_indices_negative": _int_member("class_indices", lambda a: a - 100),
    "class_indices_huge": _int_member("class_indices", lambda a: a + 10**15),
    "class_indices_not_in_spec": _int_member("class_indices", lambda a: a + 1000),
    "class_indices_float": _int_member("class_indices", lambda a: a.astype(np.float64)),
    "class_indices_2d": _int_member("class_indices", lambda a: a.reshape(1, -1)),
    "indices_negative": _int_member("indices", lambda a: a - 1000),
    "indices_strings": _int_member("indices", lambda a: a.astype(str)),
    "offsets_short": _int_member("offsets", lambda a: a[:-1]),
    "offsets_decreasing": _int_member("offsets", lambda a: a[::-1].copy()),
    "no_indices": lambda s, d: _npz_replace(s, d, indices=None) or _drop(d, "indices"),
    "npy_not_array": lambda s, d: _npz_replace(s, d, indices=b"not an npy header at all"),
    "npy_object_array": lambda s, d: _npz_replace(s, d, indices=_object_npy()),
    "bomb_header_4gb": _bomb_header,
}


def _drop(dst: Path, key: str):
    tmp = dst.with_suffix(".tmp")
    with zipfile.ZipFile(dst) as zi, zipfile.ZipFile(tmp, "w") as zo:
        for info in zi.infolist():
            if info.filename != key + ".npy":
                zo.writestr(info, zi.read(info))
    tmp.replace(dst)


def _object_npy() -> bytes:
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, {"descr": "|O", "fortran_order": False, "shape": (3,)})
    return hdr.getvalue() + b"\x00" * 24


@pytest.fixture(scope="session")
def npz_corpus(base_npz, tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("npz_corpus")
    out = {}
    for name, fn in NPZ_MUTATIONS.items():
        p = d / f"{name}.npz"
        fn(base_npz, p)
        out[name] = p
    raw = base_npz.read_bytes()
    (d / "empty.npz").write_bytes(b"")
    (d / "text.npz").write_text("hello\n")
    (d / "half.npz").write_bytes(raw[: len(raw) // 2])
    (d / "directory.npz").mkdir()
    os.mkfifo(d / "fifo.npz")
    for name in ("empty", "text", "half", "directory", "fifo"):
        out[name] = d / f"{name}.npz"
    out["missing"] = d / "missing.npz"
    out["h5_as_stream"] = Path(__file__)  # a text file that is no zip
    return out


def _check_stream_everywhere(p: Path, runner, out: Path) -> dict:
    return {"Stream.load": _check_library(_stream, p),
            "cli scenario show": _check_cli(runner, ["scenario", "show", p, "-o", out / "t.png"], p)}


def test_valid_stream_loads(base_npz, runner, tmp_path):
    assert set(_check_stream_everywhere(base_npz, runner, tmp_path).values()) == {"ok"}


@pytest.mark.parametrize("name", [*NPZ_MUTATIONS, "empty", "text", "half", "directory", "fifo", "missing",
                                  "h5_as_stream"])
def test_damaged_npz(name, npz_corpus, runner, tmp_path):
    got = _check_stream_everywhere(npz_corpus[name], runner, tmp_path)
    assert "ok" not in got.values(), got


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=8),
       cut=st.none() | st.floats(0, 1))
def test_flipped_and_cut_npz(flips, cut, base_npz, tmp_path_factory):
    p = tmp_path_factory.mktemp("npzflip") / "s.npz"
    p.write_bytes(_damage(base_npz.read_bytes(), flips, cut))
    _check_library(_stream, p)


def test_npz_bomb_header_refused_under_2gb(npz_corpus):
    p = npz_corpus["bomb_header_4gb"]
    out = _limited(p, "stream")
    assert out.startswith("CLEAN:") and str(p) in out, out


@pytest.mark.slow
def test_npz_zip_bomb_4gb_refused_under_2gb(base_npz, tmp_path):
    p = tmp_path / "bomb.npz"
    _bomb_zeros(base_npz, p)
    assert p.stat().st_size < 32 << 20  # deflate level 1: ~18 MB for 4 GiB
    out = _limited(p, "stream")
    assert out.startswith("CLEAN:") and "compressed member" in out, out


def test_npz_zip_bomb_small_refused(base_npz, tmp_path):
    """The same construction at 300 MiB (above the 256 MiB cap on compressed members): refused
    from the zip directory alone."""
    p = tmp_path / "bomb.npz"
    _bomb_zeros(base_npz, p, 300 << 20)
    with pytest.raises(SynprobeError, match="compressed member"):
        _stream(p)


# --------------------------------------------------------------------------- run directories


def _npy_declaring(shape, dtype="<f8") -> bytes:
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, {"descr": dtype, "fortran_order": False, "shape": shape})
    return hdr.getvalue() + bytes(64)


def _set_config(d: Path, **changes):
    cfg = json.loads((d / "config.json").read_text())
    for k, v in changes.items():
        if k == "n_classes":
            cfg["stream"]["n_classes"] = v
        else:
            cfg[k] = v
    (d / "config.json").write_text(json.dumps(cfg))


def _append_line(d: Path, text: str):
    with open(d / "metrics.jsonl", "a") as f:
        f.write(text + "\n")


RUN_MUTATIONS = {
    "config_nested_10k": lambda d: (d / "config.json").write_text(_nested(10_000)),
    "config_17mb": lambda d: (d / "config.json").write_text(json.dumps({"pad": "a" * (17 << 20)})),
    "config_fifo": lambda d: ((d / "config.json").unlink(), os.mkfifo(d / "config.json")),
    "n_classes_huge": lambda d: _set_config(d, n_classes=10**12),
    "n_classes_string": lambda d: _set_config(d, n_classes="4"),
    "metrics_line_nested_10k": lambda d: _append_line(d, '{"kind": "eval", "x": ' + _nested(10_000) + "}"),
    "metrics_fifo": lambda d: ((d / "metrics.jsonl").unlink(), os.mkfifo(d / "metrics.jsonl")),
    "summary_directory": lambda d: ((d / "summary.json").unlink(), (d / "summary.json").mkdir()),
    "summary_nested_100": lambda d: (d / "summary.json").write_text('{"a": ' + _nested(100) + "}"),
    "matrix_declares_8tb": lambda d: (d / "accuracy_matrix.npy").write_bytes(_npy_declaring((10**6, 10**6))),
    "matrix_object": lambda d: (d / "accuracy_matrix.npy").write_bytes(_npy_declaring((2, 2), "|O")),
}


@pytest.mark.parametrize("name", list(RUN_MUTATIONS))
def test_damaged_run_dirs(name, tmp_path, runner):
    from test_harness_report import make_run

    from synprobe.harness.rundir import read_run

    d = make_run(tmp_path, n_tasks=3, ood=())
    RUN_MUTATIONS[name](d)
    assert _check_library(read_run, d) != "ok"
    assert _check_cli(runner, ["report", d, "-o", tmp_path / "rep", "--no-plots"], d) == "error"
