"""Feldman–Zhang memorization from K subset trainings: files, subsets, scores, determinism, noisy > clean, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from synprobe.cli import main
from synprobe.harness import train
from synprobe.harness.errors import HarnessError
from synprobe.harness.memorization import draw_subsets, estimate, filter_stream
from synprobe.harness.metrics import feldman_zhang
from synprobe.scenarios import Stream
from synprobe.scenarios.recipe import build

FAST = dict(device="cpu", progress=False, model="mlp", model_args={"hidden": [32]}, threads=1)


pytestmark = pytest.mark.usefixtures("one_torch_thread")
data = pytest.fixture(scope="module", name="data")(lambda tiny_h5: tiny_h5)  # the session's tiny dataset


@pytest.fixture(scope="module")
def stream(data):
    return build("noisy-40-sym", data, overrides={"n_tasks": 3, "ood": ["stratified_font"]})


@pytest.fixture(scope="module")
def written(stream, data, tmp_path_factory):
    out = tmp_path_factory.mktemp("fzrun") / "fz"
    return out, estimate(stream, data, runs=3, subset=0.7, out=out, **FAST)


def test_files_and_consistent_shapes(written, stream):
    out, res = written
    assert {p.name for p in out.iterdir()} == {"config.json", "summary.json", "memorization.npz", "plots"}
    assert {p.name for p in (out / "plots").iterdir()} == {"mem_hist.png", "most_memorized.png"}
    assert not out.with_name("fz.incomplete").exists()
    with np.load(out / "memorization.npz") as f:
        z = {k: f[k] for k in f.files}
    rows = np.unique(stream.indices)
    n, k = len(rows), 3
    assert np.array_equal(z["rows"], rows)
    assert z["in_subset"].shape == z["correct"].shape == (k, n) and z["in_subset"].dtype == bool
    for name in ("mem", "observed", "true", "noisy"):
        assert z[name].shape == (n,), name
    m = len(z["eval_rows"])
    assert m > 0 and z["eval_true"].shape == (m,) and z["eval_correct"].shape == (k, m)
    assert np.isin(z["eval_rows"], stream.eval_sets["iid"]).all()
    assert np.array_equal(z["train_seeds"], [0, 1, 2])
    for name in z:  # the returned arrays are the saved ones
        assert np.array_equal(res["arrays"][name], z[name], equal_nan=True), name
    summ = json.loads((out / "summary.json").read_text())
    assert summ["runs"] == k and summ["n_rows"] == n and summ["subset_size"] == round(0.7 * n)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["format"] == "synprobe.memorization/1" and cfg["train"]["model"] == "mlp"
    assert cfg["memorization"]["runs"] == k and cfg["memorization"]["subset"] == 0.7


def test_labels_follow_the_stream(written, stream):
    _, res = written
    a = res["arrays"]
    rows, first = np.unique(stream.indices, return_index=True)
    lut = {int(c): i for i, c in enumerate(a["classes"])}
    assert [lut[int(c)] for c in stream.labels_observed[first]] == a["observed"].tolist()
    assert [lut[int(c)] for c in stream.labels_true[first]] == a["true"].tolist()
    assert np.array_equal(a["noisy"], a["observed"] != a["true"])
    assert res["n_noisy"] == stream.spec["noise"]["n_flipped"] > 0


def test_subsets_have_exact_size_and_scores_match_the_arrays(written):
    _, res = written
    a = res["arrays"]
    n = len(a["rows"])
    assert (a["in_subset"].sum(axis=1) == round(0.7 * n)).all()
    assert np.array_equal(a["mem"], feldman_zhang(a["in_subset"], a["correct"]), equal_nan=True)
    noisy, mem = a["noisy"], a["mem"]
    assert res["mem_mean"]["noisy"] == pytest.approx(np.nanmean(mem[noisy]))
    assert res["mem_mean"]["clean"] == pytest.approx(np.nanmean(mem[~noisy]))
    assert res["n_undefined"] == int(np.isnan(mem).sum())
    assert res["test_acc"]["per_run"] == pytest.approx(a["eval_correct"].mean(axis=1).tolist())
    assert res["test_acc"]["std"] == pytest.approx(np.std(a["test_acc"], ddof=1))


def test_each_run_trains_only_its_subset(stream, data, monkeypatch):
    calls, real = [], train.run

    def spy(sub, data_, cfg, out, **kw):
        trained = []

        def on_end(model, X, rd):
            trained.append(rd.rows[rd.pos])
            kw_on_end(model, X, rd)

        kw_on_end = kw.pop("on_end")
        s = real(sub, data_, cfg, out, on_end=on_end, **kw)
        calls.append((sub, kw["seed"], trained[0]))
        return s

    monkeypatch.setattr(train, "run", spy)
    res = estimate(stream, data, runs=3, subset=0.5, seed=11, **FAST)
    a = res["arrays"]
    assert len(calls) == 3
    for t, (sub, seed, trained_rows) in enumerate(calls):
        mine = a["rows"][a["in_subset"][t]]
        assert seed == t  # config seed 0 + t
        assert set(np.unique(sub.indices)) == set(mine) and set(np.unique(trained_rows)) == set(mine)
        assert len(sub) == len(stream) and np.array_equal(sub.class_indices, stream.class_indices)
        assert sub.spec["fz_subset"]["run"] == t
        keep = np.isin(stream.indices, mine)
        assert np.array_equal(sub.labels_observed, stream.labels_observed[keep])
    assert np.array_equal(a["in_subset"], draw_subsets(len(a["rows"]), round(0.5 * len(a["rows"])), 3, 11))


def test_same_seed_same_arrays_and_seed_none_follows_the_config(stream, data):
    kw = dict(runs=2, subset=0.6, **FAST)
    a = estimate(stream, data, seed=5, **kw)["arrays"]
    b = estimate(stream, data, seed=5, **kw)["arrays"]
    for name in a:
        assert np.array_equal(a[name], b[name], equal_nan=True), name
    c = estimate(stream, data, **kw)  # seed None: the subsets follow the config seed (0)
    n = len(a["rows"])
    assert np.array_equal(c["arrays"]["in_subset"], draw_subsets(n, round(0.6 * n), 2, 0))
    assert not np.array_equal(c["arrays"]["in_subset"], a["in_subset"])


def test_noisy_rows_are_more_memorized_than_clean_rows(tmp_path):
    """On a learnable set (10 letters, white on black, no geometry jitter), models that fit every label generalise
    to a left-out clean row but not to a left-out row's wrong label: mem(noisy) >> mem(clean).

    (The "default" glyphs at 16 px with a few hundred rows stay near chance on the test set, so there a left-out
    clean row is as unpredictable as a noisy one and both look memorized.)
    """
    from synprobe.generator import generate

    rec = {"resolution": 16, "inverse_color": False,
           "symbol": {"script": "latin", "char": {"dist": "choice", "values": list("abcdefghij")}, "bold": False,
                      "slant": 0.0, "rotation": 0.0, "scale": 0.8, "translation_x": 0.0, "translation_y": 0.0,
                      "foreground": {"kind": "solid", "color": [1.0, 1.0, 1.0]}},
           "background": {"kind": "solid", "color": [0.0, 0.0, 0.0]}}
    path = tmp_path / "easy.h5"
    generate(rec, 2400, path, workers=1)
    st_ = build("noisy-40-sym", path, overrides={"n_tasks": 1, "classes_per_task": 10, "samples_per_class": 30,
                                                 "ood": ["stratified_font"]})
    res = estimate(st_, path, runs=6, subset=0.7, device="cpu", progress=False, model="mlp", epochs=60,
                   optimizer="adam", lr=2e-3, threads=1)
    mm = res["mem_mean"]
    assert res["n_noisy"] > 50 and res["n_clean"] > 100
    assert mm["noisy"] > 0.75 and mm["clean"] < 0.6 and mm["noisy"] - mm["clean"] > 0.25, mm
    assert res["mem_gt_half"]["noisy"] > res["mem_gt_half"]["clean"] + 0.3
    assert res["test_acc"]["mean"] > 0.3  # chance is 0.1


@pytest.mark.parametrize("kw, needle", [
    ({"runs": 1}, "runs: 1 must be an integer >= 2"),
    ({"subset": 1.0}, "subset: 1.0 must be a fraction"),
    ({"subset": 0}, "subset: 0 must be a fraction"),
    ({"subset": 0.001}, "keeps 0"),
    ({"model": "nope"}, "nope"),
])
def test_bad_settings_are_one_line_errors(stream, data, kw, needle):
    with pytest.raises(HarnessError) as e:
        estimate(stream, data, **{**FAST, **kw})
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_existing_output_is_refused(written, stream, data):
    out, _ = written
    with pytest.raises(HarnessError, match="--overwrite"):
        estimate(stream, data, runs=2, out=out, **FAST)


# ------------------------------------------------------------------------------------------ properties


@st.composite
def streams(draw):
    """Small random CSR streams with observed/true labels (rows may recur across tasks)."""
    t = draw(st.integers(1, 5))
    sizes = draw(st.lists(st.integers(0, 6), min_size=t, max_size=t))
    n = sum(sizes)
    idx = draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))
    lab = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    off = np.concatenate([[0], np.cumsum(sizes)])
    return Stream(np.array(idx, np.int64), off, np.zeros(t, np.int64), np.arange(t + 1), labels_true=np.array(lab),
                  labels_observed=(np.array(lab) + 1) % 5, eval_sets={"iid": np.array([30, 31])}, spec={"kind": "x"})


@given(streams(), st.lists(st.integers(0, 20), max_size=15))
def test_filter_stream_keeps_exactly_the_subset_task_by_task(s, keep):
    f = filter_stream(s, keep, {"run": 0})
    assert len(f) == len(s) and f.spec["fz_subset"] == {"run": 0} and f.spec["kind"] == "x"
    assert np.array_equal(f.class_indices, s.class_indices) and f.eval_sets.keys() == s.eval_sets.keys()
    for t in range(len(s)):
        own = s.task(t).train
        m = np.isin(own, keep)
        assert np.array_equal(f.task(t).train, own[m])
        lo, hi = s.offsets[t], s.offsets[t + 1]
        assert np.array_equal(f.labels_true[f.offsets[t]:f.offsets[t + 1]], s.labels_true[lo:hi][m])
        assert np.array_equal(f.labels_observed[f.offsets[t]:f.offsets[t + 1]], s.labels_observed[lo:hi][m])


@given(st.integers(2, 60), st.integers(2, 6), st.integers(0, 2**31), st.data())
def test_draw_subsets_exact_size_and_seeded(n, runs, seed, data):
    size = data.draw(st.integers(1, n - 1))
    m = draw_subsets(n, size, runs, seed)
    assert m.shape == (runs, n) and (m.sum(axis=1) == size).all()
    assert np.array_equal(m, draw_subsets(n, size, runs, seed))


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_end_to_end_and_errors(stream, data, tmp_path, runner):
    path = stream.save(tmp_path / "s.npz")
    out = tmp_path / "cli"
    args = [str(path), "--data", str(data), "--device", "cpu", "-q", "--model", "mlp", "--threads", "1"]
    r = runner.invoke(main, ["memorization", *args, "-o", str(out), "--runs", "2", "--subset", "0.5", "--seed", "3",
                                     "--no-plots", "--model-arg", "hidden=[16]"])
    assert r.exit_code == 0, r.output
    assert "mean memorization: clean" in r.output and "test accuracy (iid)" in r.output
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["train"]["seed"] == 3 and cfg["memorization"]["subset_seed"] == 3
    assert cfg["train"]["model_args"] == {"hidden": [16]} and not (out / "plots").exists()
    with np.load(out / "memorization.npz") as z:
        assert z["in_subset"].shape[0] == 2 and np.array_equal(z["train_seeds"], [3, 4])
    for extra, needle in ((["--runs", "1"], "Error: runs: 1 must be an integer >= 2"),
                          (["--subset", "1.5"], "Error: subset: 1.5 must be a fraction"),
                          (["--runs", "2"], "already exists")):
        bad = runner.invoke(main, ["memorization", *args, "-o", str(out), *extra])
        assert bad.exit_code == 1 and needle in bad.output and "Traceback" not in bad.output, bad.output
    assert runner.invoke(main, ["memorization", "--help"]).exit_code == 0
