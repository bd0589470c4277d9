"""``synprobe.load``: in-memory splits, stable class tables, targets that match ``y``, both file layouts."""

from __future__ import annotations

import functools
import importlib
import json

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synprobe.errors import FormatError, SynprobeError
from synprobe.load import Dataset, LoadError, load, read_table
from synprobe.load._images import XReader
from synprobe.load._lazy import LazyRows

N = 300


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A tiny default-recipe file, uncompressed (raw reads) and lzf (h5py reads)."""
    from synprobe.generator import generate

    d = tmp_path_factory.mktemp("load")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYNPROBE_HOME", str(tmp_path_factory.mktemp("home")))
        mp.setenv("SOURCE_DATE_EPOCH", "0")
        generate("default", N, d / "a.h5", workers=1, resolution=8)
        generate("default", N, d / "z.h5", workers=1, resolution=8, compression="lzf")
    return d / "a.h5", d / "z.h5"


@pytest.fixture(scope="module")
def path(files):
    return files[0]


@pytest.fixture(scope="module")
def y_json(path):
    with h5py.File(path, "r") as f:
        return [json.loads(s) for s in f["y"][()]]


def write_synbols(path, n=48, h=12, w=12, seed=0):
    """A file in Synbols 1.0.2's layout: x, mask, y JSON strings ("True"/"False" booleans), splits."""
    rng = np.random.default_rng(seed)
    chars, fonts = list("abcdefgh"), ["Arial", "Courier", "Times", "Ubuntu Mono"]
    ys = []
    for i in range(n):
        ch, fo = chars[rng.integers(len(chars))], fonts[rng.integers(len(fonts))]
        sym = {"char": ch, "font": fo, "alphabet": "latin", "is_bold": str(bool(rng.integers(2))),
               "is_slant": "False", "scale": float(rng.uniform(0.5, 1.0)), "rotation": float(rng.normal(0, 0.3)),
               "translation": [float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1))],
               "foreground": {"style": "gradient", "seed": int(rng.integers(2**31))}}
        y = dict(sym, background={"style": ["gradient", "camouflage"][i % 2], "seed": i},
                 inverse_color=False, pixel_noise_scale=0.01, resolution=[w, h], seed=int(rng.integers(2**31)),
                 symbols=[sym] * int(1 + i % 3))
        ys.append(json.dumps(y))
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8), chunks=(10, h, w, 3),
                         compression="gzip")
        f.create_dataset("mask", data=np.zeros((n, h, w, 1), np.uint8))
        f.create_dataset("y", data=np.array(ys, dtype=object), dtype=h5py.special_dtype(vlen=str))
        for name in ("random", "stratified_font"):
            part = rng.permutation(np.arange(n) % 3)
            d = f.create_dataset(f"split/{name}", data=np.eye(3, dtype=bool)[part])
            d.attrs["ratios"] = [0.6, 0.2, 0.2]
    return path, [json.loads(s) for s in ys]


@pytest.fixture(scope="module")
def synbols(tmp_path_factory):
    return write_synbols(tmp_path_factory.mktemp("synbols") / "synbols.h5")


def _one_line(e: pytest.ExceptionInfo) -> str:
    assert isinstance(e.value, SynprobeError)
    msg = str(e.value)
    assert msg and "\n" not in msg
    return msg


# --------------------------------------------------------------------------- shapes and splits


@pytest.mark.parametrize("split", ["train", "val", "test", "all"])
def test_shapes_dtypes_and_rows(path, split):
    ds = load(path, split)
    assert isinstance(ds, Dataset)
    assert ds.x.dtype == np.uint8 and ds.x.shape[1:] == (8, 8, 3) and ds.x.flags.c_contiguous
    assert ds.y.dtype == np.int64 and ds.y.shape == (len(ds),) and ds.index.dtype == np.int64
    with h5py.File(path, "r") as f:
        if split == "all":
            want = np.arange(N)
        else:
            want = np.flatnonzero(f["split/random"][()][:, ["train", "val", "test"].index(split)])
        np.testing.assert_array_equal(ds.index, want)
        np.testing.assert_array_equal(ds.x, f["x"][()][want])
    assert len(ds) == len(want) == len(ds.x)
    for v in ds.attrs.values():
        assert len(v) == len(ds)
    img, t = ds[0]
    assert img.shape == (8, 8, 3) and isinstance(t, int) and 0 <= t < len(ds.classes)
    xb, yb = ds[:5]
    assert xb.shape == (5, 8, 8, 3) and yb.shape == (5,)
    x, y = ds.numpy()
    assert x is ds.x and y is ds.y


def test_splits_partition_the_file(path):
    parts = [load(path, s) for s in ("train", "val", "test")]
    idx = np.sort(np.concatenate([p.index for p in parts]))
    np.testing.assert_array_equal(idx, np.arange(N))
    assert [len(p) for p in parts] == [180, 60, 60]


def test_repr_names_counts_shape_target_classes_split(path):
    r = repr(load(path, "train", target="font"))
    assert "a.h5" in r and "'train'" in r and "'random'" in r and "180 of 300" in r
    assert "8x8x3" in r and "'font'" in r and "classes" in r
    assert "regression" in repr(load(path, "val", target="scale"))


# --------------------------------------------------------------------------- class tables and targets


@pytest.mark.parametrize("target", ["char", "font", "script", "bold", "foreground_kind"])
def test_class_table_shared_across_splits_and_in_file_order(path, target):
    tables = {s: load(path, s, target=target).classes for s in ("train", "val", "test", "all")}
    assert len(set(tables.values())) == 1
    t = read_table(path)
    if target in t.categories:
        cats = t.categories[target]
        present = set(t.first(target)[t.first(target) >= 0].tolist())
        assert tables["all"] == tuple(cats[k] for k in sorted(present))  # file order, present only


@pytest.mark.parametrize("split", ["train", "test"])
def test_targets_match_y_json(path, y_json, split):
    for target, key in (("char", "char"), ("font", "font"), ("script", "script"), ("bold", "is_bold"),
                        ("is_bold", "is_bold"), ("background_kind", None)):
        ds = load(path, split, target=target)
        got = [ds.classes[k] for k in ds.y.tolist()]
        if key is None:
            want = [y_json[i]["background"]["style"] for i in ds.index.tolist()]
        else:
            want = [str(y_json[i][key]) for i in ds.index.tolist()]
        assert got == want, target
    ds = load(path, split, target="scale", target_kind="regression")
    assert ds.y.dtype == np.float64 and ds.classes == ()
    np.testing.assert_array_equal(ds.y, [y_json[i]["scale"] for i in ds.index.tolist()])
    for target in ("n_symbols", "count"):
        ds = load(path, split, target=target)
        np.testing.assert_array_equal(ds.class_values[ds.y], [y_json[i]["n_symbols"] for i in ds.index.tolist()])


def test_decode_gives_category_names(path, y_json):
    ds = load(path, "val")
    assert ds.decode("font").tolist() == [y_json[i]["font"] for i in ds.index.tolist()]
    assert ds.decode("char").tolist() == [ds.classes[k] for k in ds.y.tolist()]
    with pytest.raises(LoadError) as e:
        ds.decode("scale")
    assert "not a categorical" in _one_line(e)


@pytest.mark.parametrize("spec", ["scale:bins=10", "rotation:quantiles=4", "scale: bins=3"])
def test_binned_numeric_targets(path, y_json, spec):
    col = spec.split(":")[0]
    dss = [load(path, s, target=spec) for s in ("train", "test", "all")]
    assert len({d.classes for d in dss}) == 1 and all(np.array_equal(d.bin_edges, dss[0].bin_edges) for d in dss)
    for ds in dss:
        edges = ds.bin_edges
        assert len(ds.classes) == len(edges) - 1 and ds.y.min() >= 0 and ds.y.max() < len(ds.classes)
        v = np.array([y_json[i][col] for i in ds.index.tolist()])
        assert (edges[ds.y] <= v).all() and (v <= edges[ds.y + 1]).all()
        inner = ds.y < len(ds.classes) - 1
        assert (v[inner] < edges[ds.y[inner] + 1]).all()
    if "quantiles" in spec:
        counts = dss[-1].class_counts()
        assert counts.min() >= N // 4 - 2


def test_continuous_target_defaults_to_regression(path):
    ds = load(path, "train", target="rotation")
    assert ds.target_kind == "regression" and ds.y.dtype == np.float64


def test_multi_symbol_file_targets_first_symbol_and_count(tmp_path):
    from synprobe.generator import generate

    p = tmp_path / "c.h5"
    generate("counting", 60, p, workers=1, resolution=8)
    with h5py.File(p, "r") as f:
        ys = [json.loads(s) for s in f["y"][()]]
        slots = f["attrs/char"].shape[1]  # (N, S) symbol columns
    ds = load(p, "all", target="count")
    np.testing.assert_array_equal(ds.class_values[ds.y], [y["n_symbols"] for y in ys])
    ds = load(p, "all", target="char")
    assert [ds.classes[k] for k in ds.y.tolist()] == [y["char"] for y in ys]
    assert ds.attrs["char"].shape == (60, slots) and ds.decode("char").shape == (60, slots)


def test_subset_keeps_the_class_table(path):
    ds = load(path, "train", target="font")
    sub = ds.subset(ds.y < 5)
    assert sub.classes == ds.classes and (sub.y < 5).all() and len(sub) == int((ds.y < 5).sum())
    np.testing.assert_array_equal(sub.x, ds.x[ds.y < 5])
    np.testing.assert_array_equal(sub.index, ds.index[ds.y < 5])
    assert len(ds.subset(np.array([0, 2, 4]))) == 3 and len(sub.attrs["char"]) == len(sub)
    with pytest.raises(LoadError) as e:
        ds.subset(np.ones(3, bool))
    _one_line(e)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("kwargs, needle", [
    ({"split": "validation"}, "'train', 'val', 'test', 'all'"),
    ({"split_name": "stratified_size"}, "random"),
    ({"target": "colour"}, "columns: "),
    ({"target": "scal"}, "did you mean 'scale'"),
    ({"target": "scale:bins=0"}, "positive integer"),
    ({"target": "scale:bins=x"}, "positive integer"),
    ({"target": "scale:width=3"}, "bins=K or quantiles=K"),
    ({"target": "scale:bins=3,quantiles=3"}, "not both"),
    ({"target": "char:bins=5"}, "categorical"),
    ({"target": "char", "target_kind": "regression"}, "categorical"),
    ({"target": "scale", "target_kind": "classification"}, "scale:bins=10"),
    ({"target_kind": "ordinal"}, "'classification' or 'regression'"),
    ({"target": ""}, "column name"),
])
def test_errors_are_one_line(path, kwargs, needle):
    with pytest.raises(LoadError) as e:
        load(path, **kwargs)
    assert needle in _one_line(e)
    assert isinstance(e.value, ValueError)


def test_unknown_split_name_lists_the_files_splits(path):
    with pytest.raises(LoadError) as e:
        load(path, "train", split_name="nope")
    assert "no split 'nope'" in _one_line(e) and "random" in str(e.value)
    assert len(load(path, "all", split_name="nope")) == N  # "all" needs no split


def test_missing_and_non_dataset_files(tmp_path):
    with pytest.raises(SynprobeError) as e:
        load(tmp_path / "missing.h5")
    assert "no such file" in _one_line(e)
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(FormatError) as e:
        load(tmp_path / "junk.h5")
    _one_line(e)


def test_resolver_maps_names_to_paths(path, monkeypatch):
    L = importlib.import_module("synprobe.load")  # not `import synprobe.load as L`: synprobe.load may be the function

    seen = []
    assert len(load("tiny-default", "val", resolver=lambda name: seen.append(name) or path)) == 60
    monkeypatch.setattr(L, "resolver", None)
    L.set_resolver(lambda name: path)
    assert len(load("tiny-default", "test")) == 60
    L.set_resolver(None)
    with pytest.raises(LoadError) as e:
        load("tiny-default")
    assert "no such file" in _one_line(e)
    assert seen == ["tiny-default"]


# --------------------------------------------------------------------------- image reads


def test_lzf_file_reads_through_h5py(files):
    a, z = (load(p, "train") for p in files)
    assert XReader(h5py.File(files[0], "r")["x"], files[0]).runs is not None
    assert XReader(h5py.File(files[1], "r")["x"], files[1]).runs is None
    np.testing.assert_array_equal(a.x, z.x)
    np.testing.assert_array_equal(a.y, z.y)


@pytest.mark.parametrize("raw", [True, False])
def test_row_selections_of_every_density(path, raw):
    rng = np.random.default_rng(0)
    with h5py.File(path, "r") as f:
        d = f["x"]
        ref = d[()]
        r = XReader(d, path)
        r.chunk = 16  # several blocks even in a tiny file
        if not raw:
            r.runs = None
        for rows in (np.arange(N), np.arange(5, 40), np.array([0]), np.array([N - 1]), np.array([], np.int64),
                     np.sort(rng.choice(N, 3, replace=False)), np.sort(rng.choice(N, 150, replace=False)),
                     np.sort(rng.choice(N, 290, replace=False)), np.arange(0, N, 7)):
            np.testing.assert_array_equal(r.read(rows), ref[rows])
        np.testing.assert_array_equal(r.read(), ref)


# --------------------------------------------------------------------------- Synbols 1.0.2 layout


def test_synbols_layout_loads(synbols):
    path, ys = synbols
    ds = load(path, "train")
    assert ds.layout == "synbols" and ds.x.shape[1:] == (12, 12, 3) and ds.x.dtype == np.uint8
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(ds.index, np.flatnonzero(f["split/random"][()][:, 0]))
        np.testing.assert_array_equal(ds.x, f["x"][()][ds.index])
    assert ds.classes == tuple(sorted({y["char"] for y in ys}))  # whole-file table
    assert [ds.classes[k] for k in ds.y.tolist()] == [ys[i]["char"] for i in ds.index.tolist()]
    for target, key in (("font", "font"), ("is_bold", "is_bold"), ("bold", "is_bold")):
        d = load(path, "test", split_name="stratified_font", target=target)
        assert [d.classes[k] for k in d.y.tolist()] == [ys[i][key] for i in d.index.tolist()]
    d = load(path, "all", target="count")
    np.testing.assert_array_equal(d.class_values[d.y], [len(y["symbols"]) for y in ys])
    d = load(path, "all", target="translation_x")
    np.testing.assert_array_equal(d.y, [y["translation"][0] for y in ys])
    d = load(path, "val", target="background_kind")
    assert [d.classes[k] for k in d.y.tolist()] == [ys[i]["background"]["style"] for i in d.index.tolist()]
    assert d.attrs["is_bold"].dtype == bool and d.attrs["scale"].dtype == np.float64
    assert d.decode("font").tolist() == [ys[i]["font"] for i in d.index.tolist()]
    assert "synbols.h5" in repr(d)


def test_synbols_errors_and_cache(synbols):
    path, _ = synbols
    with pytest.raises(LoadError) as e:
        load(path, "train", split_name="compositional")
    assert "random, stratified_font" in _one_line(e)
    with pytest.raises(LoadError) as e:
        load(path, target="weight")
    assert "columns: " in _one_line(e) and "font" in str(e.value)
    assert read_table(path).columns is read_table(path).columns  # parsed once


def test_synbols_table_disk_cache(synbols, monkeypatch):
    L = importlib.import_module("synprobe.load._table")  # the table cache and the Synbols parser

    path, ys = synbols
    L._CACHE.clear()
    first = read_table(path)
    from synprobe.config import cache_home

    assert len(list((cache_home() / "tables").glob("*.npz"))) == 1
    L._CACHE.clear()
    monkeypatch.setattr(L, "parse_synbols_y", lambda *a: pytest.fail("parsed again"))
    again = read_table(path)
    assert again.categories == first.categories and list(again.columns) == list(first.columns)
    for k, v in first.columns.items():
        np.testing.assert_array_equal(again.columns[k], v)
    L._CACHE.clear()
    for p in (cache_home() / "tables").glob("*.npz"):
        p.write_bytes(b"damaged")
    with pytest.raises(pytest.fail.Exception):  # a damaged entry is parsed again, not trusted
        read_table(path)


# --------------------------------------------------------------------------- torch


def test_torch_dataset(path):
    torch = pytest.importorskip("torch", reason="torch not installed: pip install -e '.[train]'")
    ds = load(path, "train")
    td = ds.torch()
    assert len(td) == len(ds)
    img, t = td[3]
    assert img.dtype == torch.uint8 and tuple(img.shape) == (3, 8, 8) and t == int(ds.y[3])
    assert torch.equal(img, torch.from_numpy(ds.x[3]).permute(2, 0, 1))
    xb, yb = next(iter(torch.utils.data.DataLoader(td, batch_size=16)))
    assert tuple(xb.shape) == (16, 3, 8, 8) and yb.dtype == torch.int64
    tf = ds.torch(transform=lambda im: im.float() / 255)
    assert tf[0][0].dtype == torch.float32
    reg = load(path, "val", target="scale").torch()
    assert reg[0][1].dtype == torch.float32
    import pickle

    assert len(pickle.loads(pickle.dumps(td))) == len(ds)  # DataLoader workers under spawn


def test_torch_missing_is_a_clear_error(path, monkeypatch):
    import sys

    L = importlib.import_module("synprobe.load._dataset")  # where TorchDataset is built on first use

    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(L.__dict__, "_TorchDatasetClass", raising=False)
    with pytest.raises(SynprobeError) as e:
        load(path, "val").torch()
    assert "pip install -e '.[train]'" in _one_line(e)


# --------------------------------------------------------------------------- lazy


@pytest.mark.parametrize("split", ["train", "test", "all"])
def test_lazy_holds_the_same_images_without_reading_them(path, split):
    eager, lazy = load(path, split), load(path, split, lazy=True)
    assert lazy.lazy and not eager.lazy and repr(lazy) == repr(eager)
    assert lazy.x.shape == eager.x.shape and len(lazy) == len(eager)
    assert np.array_equal(lazy.numpy()[0], eager.x) and np.array_equal(lazy.y, eager.y)
    for i in (0, 5, -1):
        assert np.array_equal(lazy[i][0], eager[i][0]) and lazy[i][1] == eager[i][1]
    pos = np.array([7, 2, 2, 11])
    assert np.array_equal(lazy.x[pos], eager.x[pos]) and np.array_equal(lazy.x[3:9], eager.x[3:9])
    sub = lazy.subset(lazy.y % 2 == 0)
    assert sub.lazy and np.array_equal(np.asarray(sub.x), eager.subset(eager.y % 2 == 0).x)


def test_lazy_rows_and_several_runs_of_chunks(path):
    """rows= with lazy; and a file whose chunks lie in several runs (mapped run by run)."""
    rows = np.array([250, 3, 99, 100])
    lazy, eager = load(path, "all", rows=rows, lazy=True), load(path, "all", rows=rows)
    assert np.array_equal(np.asarray(lazy.x), eager.x) and np.array_equal(lazy.index, eager.index)
    x = lazy.x
    (s, e, off), rb = x.runs[0], int(np.prod(x.row_shape))
    split = LazyRows(x.path, [(s, 120, off), (120, e, off + 120 * rb)], x.row_shape, x.dtype, np.arange(N))
    assert np.array_equal(split[[299, 0, 119, 120]], load(path, "all").x[[299, 0, 119, 120]])


@given(
    st.lists(st.integers(-N, N - 1), max_size=40),
    st.lists(st.integers(0, N - 1), min_size=1, max_size=40, unique=True),
)
@settings(max_examples=25, deadline=None)
def test_lazy_indexing_and_take_agree_with_the_array(path, pos, keep):
    """Any positions (repeated, unsorted, negative) read what the in-memory array holds; take()
    composes like indexing, without reading."""
    eager, lazy = _all(path), load(path, "all", lazy=True)
    p = np.array(pos, np.int64)
    assert np.array_equal(lazy.x[p], eager.x[p])
    k = np.array(keep, np.int64)
    sub = lazy.x.take(k)
    assert sub.shape == (len(k), *eager.x.shape[1:]) and np.array_equal(sub[p % len(k)], eager.x[k][p % len(k)])


@functools.cache
def _all(path):  # one in-memory load per file for the property test
    return load(path, "all")


def test_lazy_pickles_without_pixels(path):
    import pickle

    lazy = load(path, "all", lazy=True)
    blob = pickle.dumps(lazy.x)
    assert len(blob) < 8 * N + 1024 < lazy.x.nbytes  # row numbers, path, offsets; no pixels
    back = pickle.loads(blob)
    assert back._maps is None and np.array_equal(back[[1, 2]], lazy.x[[1, 2]])


def test_lazy_on_a_compressed_file_is_a_clear_error(files):
    with pytest.raises(LoadError) as e:
        load(files[1], "train", lazy=True)
    assert "x is compressed (lzf)" in _one_line(e) and "without lazy=True" in str(e.value)


@given(st.lists(st.integers(0, N - 1), max_size=60))
@settings(max_examples=25, deadline=None)
def test_rows_reads_exactly_those_rows(path, rows):
    full = load(path, "all")
    d = load(path, "all", rows=np.array(rows, np.int64))
    want = np.unique(np.array(rows, np.int64))
    assert np.array_equal(d.index, want)
    assert np.array_equal(d.x, full.x[want]) and np.array_equal(d.y, full.y[want])


def test_rows_errors(path):
    with pytest.raises(LoadError, match="rows= needs split='all'"):
        load(path, "train", rows=[1])
    with pytest.raises(LoadError, match=r"rows must lie in \[0, "):
        load(path, "all", rows=[10**9])
    with pytest.raises(LoadError, match="1-d array of integer"):
        load(path, "all", rows=[[1, 2]])
