"""The adapters against the real libraries: Avalanche 0.6.0, Continuum 1.2.7, Hugging Face datasets.

Checked: classes relabelled as ``synprobe run`` does (``synprobe.harness.data.prepare`` is the reference),
``targets``, observed (noisy) labels, eval sets restricted to the stream's classes, no image copies (every
dataset indexes the one image array), HF features/ClassLabel names/parts, and an Avalanche ``Naive`` run
whose accuracy matrix equals ``synprobe run``'s when both see the same minibatches.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st_

from synprobe.harness.data import prepare
from synprobe.load import load
from synprobe.scenarios.recipe import build

data = pytest.fixture(scope="module", name="data")(lambda tiny_h5: tiny_h5)  # the session's tiny dataset


def _need(module: str):
    """The library, or a skip that prints why (only when the import itself fails)."""
    try:
        with warnings.catch_warnings():  # avalanche's dependencies warn about optional solvers on import
            warnings.simplefilter("ignore")
            return importlib.import_module(module)
    except ImportError as e:
        print(f"skipping: {module} does not import: {e}")
        pytest.skip(f"{module} does not import: {e}")


@pytest.fixture(scope="module")
def stream(data):
    return build("scole-10c-2pt", data, overrides={"n_tasks": 5, "ood": ["stratified_font"]})


@pytest.fixture(scope="module")
def noisy(data):
    return build("noisy-40-sym", data, overrides={"n_tasks": 3, "ood": ["stratified_font"]})


def _same_as_run(sd, rd):
    """The adapter's resolution and ``synprobe run``'s agree on every label and image."""
    assert sd.classes.tolist() == rd.classes.tolist() and list(sd.class_names) == rd.class_names
    np.testing.assert_array_equal(sd.label, rd.label)
    np.testing.assert_array_equal(sd.true, rd.true)
    np.testing.assert_array_equal(sd.x[sd.pos], rd.x[rd.pos])
    assert set(sd.evals) == set(rd.evals) and sd.skipped == rd.skipped
    for n, (p, y) in sd.evals.items():
        np.testing.assert_array_equal(y, rd.evals[n][1])
        np.testing.assert_array_equal(sd.rows[p], rd.rows[rd.evals[n][0]])


def test_resolve_matches_synprobe_run_from_a_path_and_a_dataset(data, stream, noisy):
    from synprobe.adapters import resolve

    for st in (stream, noisy):
        _same_as_run(resolve(st, data), prepare(st, data))
    full = load(data, "all")
    sd = resolve(stream, full)
    assert sd.x is full.x  # a loaded Dataset's images are used as they are
    _same_as_run(sd, prepare(stream, data))


def test_resolve_errors_are_one_line(data, stream):
    from synprobe.adapters import AdapterError, resolve

    with pytest.raises(AdapterError, match="lacks file row .* split='all'"):
        resolve(stream, load(data, "test"))
    with pytest.raises(AdapterError, match="target='font'.*target='char'"):
        resolve(stream, load(data, "all", target="font"))
    with pytest.raises(AdapterError, match="'ood_nope' is not an eval set"):
        resolve(stream, data, eval_sets=["ood_nope"])
    with pytest.raises(AdapterError, match="tasks: 9 is not in 1..5"):
        resolve(stream, data, tasks=9)
    with pytest.raises(AdapterError, match="no such dataset file"):
        resolve(stream, data.parent / "nope.h5")


def test_avalanche_benchmark_targets_eval_sets_and_no_copies(data, stream):
    _need("avalanche")
    from synprobe.adapters import to_avalanche

    bm = to_avalanche(stream, data)
    rd = prepare(stream, data)
    assert len(bm.train_stream) == len(stream) and bm.classes == rd.classes.tolist()
    assert bm.eval_set_names == list(rd.evals) and len(bm.test_stream) == len(rd.evals)
    for t, exp in enumerate(bm.train_stream):
        sl = rd.task_slice(t)
        assert list(exp.dataset.targets) == rd.label[sl].tolist()
        base = exp.dataset._datasets[0]
        assert base.x is bm.stream_data.x  # every experience indexes the one array: no image copy
        x0, y0, task_label = exp.dataset[0]
        expect = (rd.x[rd.pos[sl][0]].astype(np.float32) / 255 - 0.5) / 0.5
        np.testing.assert_allclose(x0.numpy(), expect.transpose(2, 0, 1), atol=1e-6)
        assert y0 == rd.label[sl][0] and task_label == 0
    for e, name in enumerate(bm.eval_set_names):
        labels = list(bm.test_stream[e].dataset.targets)
        assert labels == rd.evals[name][1].tolist() == list(getattr(bm, f"{name}_stream")[0].dataset.targets)
        assert set(labels) <= set(range(len(bm.classes)))  # restricted to the stream's classes


def test_avalanche_honours_noisy_labels(data, noisy):
    _need("avalanche")
    from synprobe.adapters import to_avalanche

    bm = to_avalanche(noisy, data)
    got = np.concatenate([np.asarray(list(e.dataset.targets)) for e in bm.train_stream])
    true = np.concatenate([e.dataset._datasets[0].true_targets.numpy() for e in bm.train_stream])
    sd = bm.stream_data
    np.testing.assert_array_equal(got, sd.label)
    np.testing.assert_array_equal(true, sd.true)
    assert (got != true).mean() > 0.2  # noisy-40-sym flips ~40 % of the labels; the benchmark trains on them


def test_continuum_scenario_is_index_views(data, stream, noisy):
    _need("continuum")
    from synprobe.adapters import IndexedRows, to_continuum

    cs = to_continuum(noisy, data)
    sd = cs.stream_data
    assert len(cs.train) == len(noisy)
    for t, ts in enumerate(cs.train):
        assert isinstance(ts._x, IndexedRows) and np.shares_memory(ts._x.base, sd.x)  # a view, no copy
        pos, lab = sd.task(t)
        np.testing.assert_array_equal(ts._x.pos, pos)
        np.testing.assert_array_equal(ts._y, lab)  # observed (noisy) labels
        x0, y0, t0 = ts[0]
        assert tuple(x0.shape) == (sd.x.shape[3], *sd.x.shape[1:3]) and float(x0.min()) >= -1 and t0 == t
    assert set(cs.test) == set(sd.evals) and len(cs.valid) == len(noisy)  # noisy-40-sym has val parts
    for ts, (p, y) in zip(cs.valid, sd.val, strict=True):
        np.testing.assert_array_equal(ts._x.pos, p)
        np.testing.assert_array_equal(ts._y, y)
    rd = prepare(stream, data)
    cs = to_continuum(stream, data)
    for name, ts in cs.test.items():
        np.testing.assert_array_equal(ts._y, rd.evals[name][1])


def test_continuum_memory_is_positions_not_images(data):
    """A recurring stream re-uses rows in many tasks: with index views the entries cost positions only."""
    _need("continuum")
    import tracemalloc

    from synprobe.adapters import to_continuum

    st = build("scole-10c-2pt", data, overrides={"n_tasks": 200, "ood": ["stratified_font"]})
    full = load(data, "all")  # the images, loaded before measuring
    tracemalloc.start()
    cs = to_continuum(st, full)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    entries = len(st.indices)
    per_image = full.x[0].nbytes
    assert len(cs.train) == 200 and entries * per_image > 4 * peak  # a per-entry copy would cost >4x what it did
    assert peak < 64 * entries + 2_000_000


def test_hf_parts_features_and_class_names(data, tmp_path):
    datasets = _need("datasets")
    from synprobe.adapters import to_hf

    dd = to_hf(data, cache_dir=tmp_path)
    assert isinstance(dd, datasets.DatasetDict) and set(dd) == {"train", "val", "test"}
    for part, ds in dd.items():
        d = load(data, part)
        assert len(ds) == len(d) and ds["row"] == d.index.tolist()
        f = ds.features
        assert isinstance(f["image"], datasets.Image)
        assert isinstance(f["char"], datasets.ClassLabel) and f["char"].names == list(d.categories["char"])
        assert f["char"].int2str(ds[0]["char"]) == d.decode("char")[0]
        assert isinstance(f["rotation"], datasets.Value) and ds[0]["rotation"] == pytest.approx(d.attrs["rotation"][0])
        img = np.asarray(ds[0]["image"])
        np.testing.assert_array_equal(img.reshape(d.x[0].shape), d.x[0])  # PNG round trip is lossless
    one = to_hf(load(data, "val"), cache_dir=tmp_path)
    assert one["row"] == dd["val"]["row"]


def test_hf_bad_parts_and_split(data, tmp_path):
    from synprobe.adapters import AdapterError, to_hf

    with pytest.raises(AdapterError, match="'tran' is not a part"):
        to_hf(data, parts=["tran"], cache_dir=tmp_path)
    with pytest.raises(AdapterError, match="no split 'randm'.*did you mean 'random'"):
        to_hf(data, split_name="randm", cache_dir=tmp_path)


def _naive_matrix(bm, strategy, order_seed: int) -> np.ndarray:
    """Avalanche's (E, T) accuracy matrix on the iid set: per-class accuracy from its own evaluation plugin,
    averaged over each task's classes weighted by their iid rows (``synprobe run``'s ``accuracy_matrix``).

    Each experience is presented in ``synprobe run``'s minibatch order (one ``torch.randperm`` per task from a
    generator seeded like the run's), with Avalanche's shuffling off, so both see the same minibatches."""
    import torch
    from avalanche.benchmarks.scenarios.dataset_scenario import benchmark_from_datasets

    sd = bm.stream_data
    gen = torch.Generator().manual_seed(order_seed)
    train = [e.dataset.subset(torch.randperm(len(e.dataset), generator=gen).tolist()) for e in bm.train_stream]
    b = benchmark_from_datasets(train=train, test=[bm.iid_stream[0].dataset])
    n_c = np.bincount(sd.evals["iid"][1], minlength=len(bm.classes))
    task_cls = [np.unique(sd.task(t)[1]) for t in range(sd.n_tasks)]
    out = []
    for exp in b.train_stream:
        strategy.train(exp, shuffle=False)
        res = strategy.eval(b.test_stream)
        pc = {int(k.rsplit("/", 1)[1]): v for k, v in res.items() if k.startswith("Top1_ClassAcc_Stream")}
        out.append([sum(pc.get(k, 0.0) * n_c[k] for k in c) / max(n_c[c].sum(), 1) for c in task_cls])
    return np.array(out)


def test_avalanche_naive_matches_synprobe_run(data, tmp_path, one_torch_thread):
    """Same stream, seed, model (scole_cnn), SGD lr, batch, 1 epoch, no clipping, no augmentation: with the same
    minibatches both libraries do the same float32 arithmetic on the CPU, so the matrices agree to 1e-6 (one
    flipped prediction would move a cell by several hundredths: few iid rows per task). With Avalanche's own
    shuffling instead, cells differ by up to 0.5 on this tiny stream (diagonal mean 0.264 vs 0.262; measured), far
    too noisy for a cell-wise comparison: hence the same minibatch order."""
    _need("avalanche")
    import torch
    from avalanche.evaluation.metrics import class_accuracy_metrics
    from avalanche.training.plugins import EvaluationPlugin
    from avalanche.training.supervised import Naive

    from synprobe.adapters import to_avalanche
    from synprobe.harness.models import build_model
    from synprobe.harness.train import run

    st = build("scole-10c-2pt", data, overrides={"n_tasks": 8, "ood": ["stratified_font"]})
    cfg = dict(model="scole_cnn", seed=0, lr=0.05, batch_size=16, epochs=1, clip=None, channels_last=False)
    run(
        st,
        data,
        out=tmp_path / "run",
        eval_sets=["iid"],
        device="cpu",
        progress=False,
        plots=False,
        announce=False,
        **cfg,
    )
    expect = np.load(tmp_path / "run" / "accuracy_matrix.npy")

    bm = to_avalanche(st, data, eval_sets=["iid"])
    h, w, c = bm.stream_data.x.shape[1:]
    torch.manual_seed(0)  # synprobe run seeds torch with the run's seed right before building the model
    model = build_model("scole_cnn", (c, h, w), len(bm.classes))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No loggers specified")
        ev = EvaluationPlugin(class_accuracy_metrics(stream=True), loggers=[])
    strategy = Naive(
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
        criterion=torch.nn.CrossEntropyLoss(),
        train_mb_size=16,
        train_epochs=1,
        eval_mb_size=512,
        device="cpu",
        evaluator=ev,
    )
    got = _naive_matrix(bm, strategy, order_seed=0)
    assert got.shape == expect.shape == (8, 8)
    assert expect.max() > 0.3  # the run learns something: the comparison is not between two untrained models
    np.testing.assert_allclose(got, expect, atol=1e-6)


@given(st_.data())
def test_indexed_rows_equal_the_fancy_index_they_replace(d):
    base = np.arange(7 * 2 * 3, dtype=np.uint8).reshape(7, 2, 3)
    pos = np.array(d.draw(st_.lists(st_.integers(0, 6), max_size=12)), np.int64)
    from synprobe.adapters import IndexedRows

    v = IndexedRows(base, pos)
    assert len(v) == len(pos) and v.shape == (len(pos), 2, 3) and v.dtype == base.dtype
    np.testing.assert_array_equal(np.asarray(v), base[pos])
    if len(pos):
        sel = np.array(d.draw(st_.lists(st_.integers(0, len(pos) - 1), max_size=8)), np.int64)
        np.testing.assert_array_equal(np.asarray(v[sel]), base[pos][sel])
        i = d.draw(st_.integers(0, len(pos) - 1))
        assert v[i] is not None and np.shares_memory(v[i], base)  # one item: a view of the base row


@pytest.mark.parametrize(
    "module, fn", [("avalanche", "to_avalanche"), ("continuum", "to_continuum"), ("datasets", "to_hf")]
)
def test_a_missing_library_is_one_line_naming_the_extra(data, stream, monkeypatch, module, fn):
    import sys

    import synprobe.adapters as adapters
    from synprobe.errors import SynprobeError

    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)  # "import module" now raises ImportError
    args = (data,) if fn == "to_hf" else (stream, data)
    extra = {"datasets": "hf"}.get(module, module)
    with pytest.raises(SynprobeError, match=rf"pip install -e '\.\[{extra}\]'"):
        getattr(adapters, fn)(*args)


def test_avalanche_transform_gets_the_uint8_image(data, stream):
    _need("avalanche")
    from synprobe.adapters import to_avalanche

    seen = []
    bm = to_avalanche(stream, data, tasks=1, eval_sets=["iid"], transform=lambda a: seen.append(a) or a.shape)
    x, y, _ = bm.train_stream[0].dataset[0]
    assert x == seen[0].shape and seen[0].dtype == np.uint8 and seen[0].ndim == 3
    assert len(bm.train_stream) == 1 and bm.eval_set_names == ["iid"]


def test_streams_without_eval_sets_and_with_only_unusable_ones(data, stream):
    _need("avalanche")
    from synprobe.adapters import AdapterError, to_avalanche
    from synprobe.scenarios import Stream

    bare = Stream(stream.indices, stream.offsets, stream.class_indices, stream.class_offsets, spec=stream.spec)
    bm = to_avalanche(bare[:2], data)
    assert len(bm.train_stream) == 2 and bm.eval_set_names == [] and "test" not in bm.streams
    other = np.flatnonzero(~np.isin(load(data, "all").y, np.asarray(stream.spec["classes"])))[:5]
    held_out = Stream(
        stream.indices,
        stream.offsets,
        stream.class_indices,
        stream.class_offsets,
        eval_sets={"ood_x": other},
        spec=stream.spec,
    )
    with pytest.raises(AdapterError, match="none left with rows of the stream's classes.*ood_x"):
        to_avalanche(held_out, data)


def test_continuum_refuses_an_empty_task_in_one_line(data, stream):
    _need("continuum")
    from synprobe.adapters import AdapterError, to_continuum
    from synprobe.scenarios import Stream

    off = np.concatenate([[0], stream.offsets])  # task 0 now has no entries
    co = np.concatenate([[0], stream.class_offsets])
    empty_first = Stream(stream.indices, off, stream.class_indices, co, spec=stream.spec)
    with pytest.raises(AdapterError, match="task 0 has no training entries"):
        to_continuum(empty_first, data)
