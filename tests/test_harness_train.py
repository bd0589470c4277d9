"""The training loop end to end on a tiny dataset: files, determinism, budgets, strategies, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from synprobe.harness.config import TrainConfig
from synprobe.harness.errors import HarnessError
from synprobe.harness.train import run
from synprobe.scenarios.recipe import build

FAST = dict(device="cpu", progress=False, plots=False)


pytestmark = pytest.mark.usefixtures("one_torch_thread")
data = pytest.fixture(scope="module", name="data")(lambda tiny_h5: tiny_h5)  # the session's tiny dataset


@pytest.fixture(scope="module")
def stream(data):
    return build("scole-10c-2pt", data, overrides={"n_tasks": 6, "ood": ["stratified_font"]})


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "time"} for r in rows]


def test_run_writes_every_file_and_checkpoint_reproduces_accuracy(data, stream, tmp_path):
    out = tmp_path / "run"
    s = run(stream, data, out=out, model="scole_cnn", **FAST)
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "metrics.jsonl", "metrics.csv", "summary.json", "accuracy_matrix.npy",
            "forgetting_events.npz", "checkpoint.pt"} <= names
    assert "plots" not in names  # plots=False
    assert not (tmp_path / "run.incomplete").exists()
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["format"] == "synprobe.run/1" and cfg["stream"]["n_tasks"] == 6 and cfg["train"]["model"] == "scole_cnn"
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in rows if r["kind"] == "eval" and r["set"] == "iid"]
    assert [r["task"] for r in evals] == [-1, 0, 1, 2, 3, 4, 5]
    assert sum(r["kind"] == "task" for r in rows) == 6
    assert np.load(out / "accuracy_matrix.npy").shape == (6, 6)
    summ = json.loads((out / "summary.json").read_text())
    assert summ["final"]["iid"] == pytest.approx(evals[-1]["acc"]) == pytest.approx(s["final"]["iid"])
    assert summ["train_samples"] == len(stream.indices[: stream.offsets[6]])
    # the checkpoint is a plain dict that rebuilds the final model exactly
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    from synprobe.harness.data import DeviceData, prepare
    from synprobe.harness.models import build_model

    m = build_model(ck["model_name"], tuple(ck["in_shape"]), ck["n_classes"], **ck["model_args"])
    m.load_state_dict(ck["model"])
    m.eval()
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    opt.load_state_dict(ck["optimizer"])  # the optimizer state round-trips too
    rd = prepare(stream, data)
    X = DeviceData(rd.x, torch.device("cpu"))
    p, y = rd.evals["iid"]
    with torch.inference_mode():
        pred = m(X.batch(torch.from_numpy(p))).argmax(1).numpy()
    assert (pred == y).mean() == pytest.approx(summ["final"]["iid"])


def test_same_seed_same_metrics(data, stream):
    a = run(stream, data, tasks=3, seed=7, **FAST)
    b = run(stream, data, tasks=3, seed=7, **FAST)
    c = run(stream, data, tasks=3, seed=8, **FAST)
    assert _strip(a["rows"]) == _strip(b["rows"])
    assert _strip(a["rows"]) != _strip(c["rows"])


def test_training_learns_a_small_task(data, stream):
    s = run(stream, data, tasks=1, epochs=40, lr=0.05, momentum=0.9, eval_sets=["iid"], **FAST)
    task = [r for r in s["rows"] if r["kind"] == "task"][0]
    assert task["train_acc"] > 0.6  # over all 40 epochs; chance is 0.5
    assert s["forgetting_events"]["never_learned"] < 0.5


def test_forgetting_event_presentations_count_every_occurrence(data, stream, tmp_path):
    run(stream, data, out=tmp_path / "r", tasks=4, epochs=2, **FAST)
    ev = np.load(tmp_path / "r" / "forgetting_events.npz")
    occ = stream.indices[: stream.offsets[4]]
    rows, counts = np.unique(occ, return_counts=True)
    assert np.array_equal(ev["rows"], rows)
    assert np.array_equal(ev["presentations"], 2 * counts)
    assert (ev["counts"] >= 0).all() and (ev["counts"] <= ev["presentations"] // 2 + 1).all()


def test_steps_budget_and_step_evaluations(data, tmp_path):
    st = build("class-inc-5x2", data, overrides={"ood": ["stratified_font"]})
    s = run(st, data, steps=3, batch_size=8, eval_every_steps=2, masking="seen", **FAST)
    tasks = [r for r in s["rows"] if r["kind"] == "task"]
    assert [r["step"] for r in tasks] == [3, 6, 9, 12, 15]
    steps = [r["step"] for r in s["rows"] if r["kind"] == "eval" and r["at"] == "step" and r["set"] == "iid"]
    assert steps == [2, 4, 6, 8, 10, 12, 14]
    assert s["stability"] is not None and 0 <= s["stability"]["min_acc"] <= 1
    assert s["matrix"] is not None
    assert set(s["matrix"]) >= {"ACC", "BWT", "FWT", "forgetting_since_trained", "forgetting_max_earlier"}


def test_replay_adds_samples(data, stream):
    s = run(stream, data, replay="random", replay_args={"budget": 1.0}, **FAST)
    tasks = [r for r in s["rows"] if r["kind"] == "task"]
    assert tasks[0]["n_replayed"] == 0 and any(r["n_replayed"] > 0 for r in tasks[1:])
    own = np.diff(stream.offsets)[:6]
    assert [r["n_samples"] - r["n_replayed"] for r in tasks] == own.tolist()


def test_noisy_stream_records_memorization(data):
    st = build("noisy-40-sym", data, overrides={"n_tasks": 3, "ood": ["stratified_font"]})
    s = run(st, data, loss="elr", epochs=2, eval_every_epochs=1, **FAST)
    memo = [r for r in s["rows"] if r["kind"] == "memorization"]
    assert len(memo) == 3 * 2  # per task: the epoch-1 eval and the task-end eval (none before training)
    for r in memo:
        assert r["noisy_memorized"] + r["noisy_correct"] + r["noisy_other"] == pytest.approx(1)
        assert r["clean_correct"] + r["clean_incorrect"] == pytest.approx(1)
    rows, first = np.unique(st.indices, return_index=True)
    assert memo[-1]["n_noisy"] == int((st.labels_true[first] != st.labels_observed[first]).sum())
    fe = s["forgetting_events"]
    assert fe["mean_noisy"] >= 0 and fe["mean_clean"] >= 0
    n_noisy, n_clean = memo[-1]["n_noisy"], memo[-1]["n_clean"]
    assert fe["mean"] == pytest.approx((fe["mean_noisy"] * n_noisy + fe["mean_clean"] * n_clean) / fe["samples"])


@pytest.mark.parametrize("kw, needle", [
    ({"model": "resnet"}, "expected one of"),
    ({"masking": "grup"}, "did you mean 'group'"),
    ({"lr": -1}, "lr"),
    ({"tasks": 99}, "exceeds the stream's 6 tasks"),
    ({"eval_sets": ["ood_nope"]}, "not an eval set"),
    ({"replay": "random", "replay_args": {"budgett": 1}}, "budgett"),
    ({"amp": "fp8"}, "expected one of: auto, bf16, fp16, off"),
    ({"amp": "fp16"}, "--amp fp16: only on CUDA"),
    ({"tail": "pad"}, "expected one of: keep, wrap"),
])
def test_bad_settings_are_one_line_errors(data, stream, kw, needle):
    with pytest.raises(HarnessError, match=None) as e:
        run(stream, data, **kw, **FAST)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_bf16_autocast_on_cpu_trains(data, stream):
    s = run(stream, data, tasks=2, amp="bf16", eval_batch_size=7, **FAST)
    tasks = [r for r in s["rows"] if r["kind"] == "task"]
    assert all(np.isfinite(r["train_loss"]) for r in tasks) and 0 <= s["final"]["iid"] <= 1


def test_mismatched_data_file(data, stream, tmp_path):
    from synprobe.generator import generate

    other = tmp_path / "other.h5"
    generate("default", 2400, other, workers=1, resolution=16, seed=1)
    with pytest.raises(HarnessError, match="rebuild the stream"):
        run(stream, other, **FAST)
    small = tmp_path / "small.h5"
    generate("default", 100, small, workers=1, resolution=16)
    with pytest.raises(HarnessError, match="rows"):
        run(stream, small, **FAST)


def test_existing_run_dir_is_refused(data, stream, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    with pytest.raises(HarnessError, match="--overwrite"):
        run(stream, data, out=out, tasks=1, **FAST)
    run(stream, data, out=out, tasks=1, overwrite=True, **FAST)
    assert (out / "summary.json").exists()


def test_config_file_errors_name_the_file(data, tmp_path, runner):
    from synprobe.cli import main

    cfg = tmp_path / "bad.toml"
    cfg.write_text('[train]\nlr = "fast"\n')
    r = runner.invoke(main, ["run", "scole-10c-2pt", "--data", str(data), "-o", str(tmp_path / "o"), "--config",
                             str(cfg), "--device", "cpu"])
    assert r.exit_code == 1 and f"{cfg}: train config: lr: 'fast' is not a number" in r.output


def test_train_config_round_trip_and_unknown_field():
    c = TrainConfig(model="mlp", eval_sets=["iid"], masking="group")
    assert TrainConfig.from_dict(c.to_dict()) == c
    with pytest.raises(HarnessError, match="did you mean 'epochs'"):
        TrainConfig.from_dict({"epoch": 3})


def test_cli_run_end_to_end(data, tmp_path, runner):
    from synprobe.cli import main

    out = tmp_path / "cli"
    r = runner.invoke(main, ["run", "scole-10c-2pt", "--data", str(data), "-o", str(out), "--tasks", "2",
                             "--device", "cpu", "-q", "--no-plots", "--model-arg", "hidden=20", "--threads", "1"])
    assert r.exit_code == 0, r.output
    assert "final accuracy: iid" in r.output
    assert json.loads((out / "config.json").read_text())["train"]["model_args"] == {"hidden": 20}
    bad = runner.invoke(main, ["run", "scole-10c-2pt", "--data", str(data), "-o", str(tmp_path / "x"),
                               "--model", "nope", "--device", "cpu"])
    assert bad.exit_code == 1 and "Error: model 'nope' unknown" in bad.output and "Traceback" not in bad.output
    bad = runner.invoke(main, ["run", "nope.npz", "--data", str(data), "-o", str(tmp_path / "y")])
    assert bad.exit_code == 1 and "nope.npz" in bad.output
    bad = runner.invoke(main, ["run", "scole-10c-2pt", "--data", str(data), "-o", str(tmp_path / "z"),
                               "--device", "cuda:0"] if not torch.cuda.is_available() else ["--help"])
    assert torch.cuda.is_available() or (bad.exit_code == 1 and "CUDA is not usable here" in bad.output)


def test_cli_seeds_and_grouped_report(data, tmp_path, runner):
    from synprobe.cli import main

    out = tmp_path / "multi"
    args = ["run", "scole-10c-2pt", "--data", str(data), "-o", str(out), "--tasks", "2", "--device", "cpu", "-q",
            "--no-plots", "--threads", "1"]
    r = runner.invoke(main, [*args, "--seeds", "3-4"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["seed-3", "seed-4"]
    finals = [json.loads((out / f"seed-{s}" / "summary.json").read_text())["final"]["iid"] for s in (3, 4)]
    assert f"2 seeds, final iid accuracy {np.mean(finals):.3f} ± {np.std(finals, ddof=1):.3f}" in r.output
    assert json.loads((out / "seed-4" / "config.json").read_text())["seed"] == 4
    rep = runner.invoke(main, ["report", str(out / "seed-3"), str(out / "seed-4"), "--group", "--json", "--no-plots"])
    assert rep.exit_code == 0, rep.output
    (row,) = json.loads(rep.output)
    assert row["n_seeds"] == 2 and row["seeds"] == [3, 4]
    assert row["final_iid"] == pytest.approx(np.mean(finals))
    assert row["final_iid_std"] == pytest.approx(np.std(finals, ddof=1))
    table = runner.invoke(main, ["report", str(out / "seed-3"), str(out / "seed-4"), "--group", "--no-plots"])
    assert "seeds" in table.output and "± iid" in table.output and "multi/*" in table.output
    for bad in (["--seeds", "1,x"], ["--seeds", "2,2"], ["--seeds", "1", "--seed", "1"]):
        e = runner.invoke(main, [*args[:5], str(tmp_path / "bad"), *args[6:], *bad])
        assert e.exit_code == 1 and "--seed" in e.output and "Traceback" not in e.output


def test_seeds_in_parallel_processes_equal_the_sequential_runs(data, tmp_path, runner):
    """--jobs 2 trains two seeds at once in spawned processes; each run is the one a sequential
    run with the same thread count gives (metrics identical but for wall-clock times)."""
    from synprobe.cli import main
    from synprobe.harness.seeds import run_seeds

    args = ["scole-10c-2pt", "--data", str(data), "--tasks", "3", "--device", "cpu", "-q", "--no-plots",
            "--threads", "1", "--seeds", "0,5"]
    seq = runner.invoke(main, ["run", *args[:1], "-o", str(tmp_path / "seq"), *args[1:]])
    par = runner.invoke(main, ["run", *args[:1], "-o", str(tmp_path / "par"), *args[1:], "--jobs", "2"])
    assert seq.exit_code == 0 and par.exit_code == 0, par.output
    for s in (0, 5):
        texts = [(tmp_path / d / f"seed-{s}" / "metrics.jsonl").read_text() for d in ("seq", "par")]
        rows = [_strip([json.loads(x) for x in t.splitlines()]) for t in texts]
        assert rows[0] == rows[1] and len(rows[0]) > 3
        cfg = json.loads((tmp_path / "par" / f"seed-{s}" / "config.json").read_text())
        assert cfg["seed"] == s and cfg["train"]["threads"] == 1
    assert "2 seeds, final iid accuracy" in par.output and par.output.count("samples/s") == 2
    # without --threads each job gets its share of the cores; a failing seed fails the call in one line
    got = run_seeds("scole-10c-2pt", data, TrainConfig(tasks=1), tmp_path / "api", [1, 2], jobs=2, device="cpu",
                    plots=False)
    assert sorted(got) == [1, 2] and all("rows" not in v for v in got.values())
    import os

    share = max(1, (os.cpu_count() or 1) // 2)
    assert json.loads((tmp_path / "api" / "seed-1" / "config.json").read_text())["train"]["threads"] == share
    bad = runner.invoke(main, ["run", "scole-10c-2pt", "--data", str(tmp_path / "missing.h5"), "-o",
                               str(tmp_path / "bad"), "--seeds", "0-1", "--jobs", "2"])
    assert bad.exit_code == 1 and "missing.h5" in bad.output and "Traceback" not in bad.output
    for opts, word in ((["--jobs", "0", "--seeds", "0-1"], "--jobs"), (["--jobs", "2"], "--jobs")):
        e = runner.invoke(main, ["run", "scole-10c-2pt", "--data", str(data), "-o", str(tmp_path / "e"), *opts])
        assert e.exit_code == 1 and word in e.output and "Traceback" not in e.output


def test_tasks_prefix_keeps_every_class_of_the_stream(data):
    st = build("class-inc-5x2", data, overrides={"ood": ["stratified_font"]})
    s = run(st, data, tasks=2, **FAST)
    pc = [r for r in s["rows"] if r["kind"] == "eval"][-1]["per_class"]
    assert len(pc) == 10  # the head and the all-class evaluation cover the 8 classes not trained yet too
    trained = sorted({c for r in s["rows"] if r["kind"] == "task" for c in r["classes"]})
    assert len(trained) == 4


def test_stability_plot_from_a_real_run(data, tmp_path):
    from synprobe.harness.plots import _task_curves
    from synprobe.harness.rundir import read_run

    st = build("class-inc-5x2", data, overrides={"ood": ["stratified_font"]})
    out = tmp_path / "r"
    run(st, data, out=out, steps=2, batch_size=8, eval_every_steps=1, device="cpu", progress=False)
    assert (out / "plots" / "stability.png").stat().st_size > 1000
    r = read_run(out)
    iid = r.evals.where(set="iid", at=("start", "step", "task_end"))
    curves = _task_curves(r, iid)
    R = np.load(out / "accuracy_matrix.npy")
    ends = np.flatnonzero(iid["at"] == "task_end")
    assert curves.shape == (5, len(iid)) and np.allclose(curves[:, ends].T, R)  # same numbers as the matrix
