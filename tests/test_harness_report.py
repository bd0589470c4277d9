"""Run directories: reading (synprobe.harness.rundir), plots, ``synprobe report``.

``make_run`` fabricates a small run directory exactly as docs/runs.md specifies, without torch.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from synprobe.cli import main
from synprobe.harness import metrics as M
from synprobe.harness.errors import HarnessError
from synprobe.harness.plots import MATPLOTLIB_MISSING, plot_overlay, plot_run
from synprobe.harness.report import format_table, report, rows_json
from synprobe.harness.rundir import FORMAT, Rows, read_run

PNG = b"\x89PNG\r\n\x1a\n"
OOD = ("ood_stratified_font", "ood_scale")
MEMO_KEYS = ("noisy_memorized", "noisy_correct", "noisy_other", "clean_correct", "clean_incorrect")


def _null(v):
    if isinstance(v, dict):
        return {k: _null(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_null(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    return None if isinstance(v, float) and math.isnan(v) else v


def _dump(path, obj) -> None:
    path.write_text(json.dumps(_null(obj), allow_nan=False), encoding="utf-8")


def _acc(t: int, s: int) -> float:
    """Fabricated accuracy after task t (-1 = before training) on eval set number s (0 = iid)."""
    return round(0.25 + 0.7 * (1 - math.exp(-(t + 1) / 6)) - 0.12 * s, 6)


def make_run(root, name="run", *, n_tasks=20, k=4, ood=OOD, memorization=False, step_evals=False, matrix=True,
             model="resnet20", replay="none", samples_per_s=1234.5, eval_every_tasks=1, seed=0):
    """Write a run directory per docs/runs.md: start + task-end evals of iid and ``ood`` sets, one task row per
    task (2 of ``k`` classes each), optional memorization rows, "step" evals and accuracy matrix."""
    rng = np.random.default_rng(seed)
    d = root / name
    d.mkdir(parents=True)
    sets = ("iid", *ood)
    train = {"model": model, "model_args": {}, "optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4,
             "batch_size": 32, "epochs": 1, "steps": None, "clip": None, "masking": "seen", "loss": "ce",
             "elr_lambda": 3.0, "elr_beta": 0.7, "replay": replay, "replay_args": {},
             "eval_every_tasks": eval_every_tasks,
             "eval_every_steps": 2 if step_evals else 0, "eval_sets": list(sets), "tasks": None, "augment": "none",
             "amp": False}
    config = {"format": FORMAT, "synprobe_version": "0.1.0", "torch_version": "2.14.1", "numpy_version": "2.4.6",
              "python": "3.11.9", "device": "cpu", "seed": seed, "created": "2025-01-01T00:00:00", "argv": None,
              "train": train,
              "stream": {"source": "stream.npz", "kind": "recurring", "n_tasks": n_tasks, "seed": seed, "spec": {},
                         "classes": list(range(10, 10 + k)), "class_names": [chr(97 + i) for i in range(k)],
                         "n_classes": k, "eval_sets": {s: 40 for s in sets}, "skipped_eval_sets": {},
                         "noisy": memorization},
              "data": {"file": "d.h5", "sha256": "0" * 64, "n_rows": 1000, "target": "char",
                       "image_shape": [32, 32, 3]}}
    _dump(d / "config.json", config)
    rows, step, samples, time = [], 0, 0, 0.0
    seen = np.zeros(k, bool)

    def evals(t, at):
        for s, name_ in enumerate(sets):
            pc = [_acc(t, s) + 0.01 * c for c in range(k)]
            if s > 0:
                pc[-1] = None  # a class without rows in that OOD set
            seen_acc = float(np.mean([pc[c] for c in np.flatnonzero(seen) if pc[c] is not None])) if seen.any() \
                else None
            rows.append({"kind": "eval", "task": t, "epoch": None if at != "epoch" else 0, "step": step,
                         "samples": samples, "time": time, "at": at, "set": name_, "n": 40, "acc": _acc(t, s),
                         "loss": 2.0 - _acc(t, s), "seen_acc": seen_acc, "per_class": pc})

    evals(-1, "start")
    for t in range(n_tasks):
        cl = sorted(rng.choice(k, size=2, replace=False).tolist())
        seen[cl] = True
        for _ in range(2 if step_evals else 1):
            step, samples, time = step + 2, samples + 64, time + 0.05
            if step_evals:
                evals(t, "step")
        rows.append({"kind": "task", "task": t, "step": step, "samples": samples, "time": time, "n_samples": 128,
                     "n_replayed": 32 if replay != "none" else 0, "classes": cl, "train_loss": 1.0 / (t + 1),
                     "train_acc": 0.9})
        if memorization:
            f = min(0.6, 0.03 * (t + 1))
            rows.append({"kind": "memorization", "task": t, "epoch": None, "step": step, "samples": samples,
                         "time": time, "n_noisy": 10 + t, "n_clean": 90 + 5 * t, "noisy_memorized": f,
                         "noisy_correct": 0.7 - f, "noisy_other": 0.3, "clean_correct": 0.8, "clean_incorrect": 0.2})
        if (t + 1) % eval_every_tasks == 0 or t == n_tasks - 1:
            evals(t, "task_end")
    (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    fields = ["task", "epoch", "step", "samples", "time", "at", "set", "n", "acc", "loss", "seen_acc"]
    with open(d / "metrics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(fields)
        w.writerows([[r[c] for c in fields] for r in rows if r["kind"] == "eval"])

    at = np.array([r["task"] for r in rows if r["kind"] == "eval" and r["at"] == "task_end" and r["set"] == "iid"])
    ka = M.ka_summary([_acc(t, 0) for t in at], steps=at + 1)  # x = tasks trained, as synprobe run writes it
    task_rows = [r for r in rows if r["kind"] == "task"]
    counts = np.zeros(k, np.int64)
    for r in task_rows:
        counts[r["classes"]] += 1
    per_class_final = [_acc(n_tasks - 1, 0) + 0.01 * c for c in range(k)]
    mx = None
    if matrix:
        i, j = np.meshgrid(at, np.arange(n_tasks), indexing="ij")
        R = np.where(j <= i, 0.9 - 0.02 * (i - j) + 0.05 * (i == j + 1), 0.1) + 0.001 * rng.random(i.shape)
        np.save(d / "accuracy_matrix.npy", R)
        if R.shape[0] == R.shape[1]:
            mx = {"ACC": M.average_accuracy(R), "BWT": M.backward_transfer(R), "FWT": M.forward_transfer(R),
                  "forgetting_since_trained": M.forgetting_since_trained(R),
                  "forgetting_max_earlier": M.forgetting_max_earlier(R),
                  "forgetting_avalanche": M.forgetting_avalanche(R)}
        else:  # evaluated every few tasks: the GEM metrics need one row per task
            mx = {"ACC": float(R[-1].mean()), "BWT": None, "FWT": None, "forgetting_since_trained": None,
                  "forgetting_max_earlier": None, "forgetting_avalanche": None}
    last_memo = next((dict((k_, v) for k_, v in r.items() if k_ != "kind") for r in reversed(rows)
                      if r["kind"] == "memorization"), None)
    summary = {"final": {s: _acc(n_tasks - 1, i) for i, s in enumerate(sets)},
               "ka": {"final": ka["final"], "max": ka["max"], "auc": ka["auc"],
                      "tasks_to": {str(lv): v for lv, v in ka["reach"].items()}},
               "seen_acc_final": float(np.mean(per_class_final)), "per_class_final": per_class_final,
               "class_task_counts": counts.tolist(),
               "acc_vs_frequency_spearman": M.accuracy_vs_frequency(per_class_final, counts), "matrix": mx,
               "stability": {"min_acc": 0.41, "wc_acc": 0.52} if step_evals else None,
               "ood_gap": M.ood_gap(_acc(n_tasks - 1, 0), {s: _acc(n_tasks - 1, i + 1) for i, s in enumerate(ood)}),
               "memorization": last_memo, "forgetting_events": None, "time_s": time, "train_samples": samples,
               "samples_per_s": samples_per_s, "device": "cpu", "tasks": n_tasks, "iid_set": "iid"}
    _dump(d / "summary.json", summary)
    return d


def _summary(d) -> dict:
    return json.loads((d / "summary.json").read_text())


def _png_ok(p) -> bool:
    return p.is_file() and p.stat().st_size > 100 and p.read_bytes()[:8] == PNG


# ----------------------------------------------------------------------------- read_run


def test_read_run_parses_every_file(tmp_path):
    d = make_run(tmp_path, "full", n_tasks=20, k=4)
    run = read_run(d)
    assert run.name == "full" and run.n_classes == 4 and run.config["train"]["model"] == "resnet20"
    assert run.summary["samples_per_s"] == 1234.5
    assert run.eval_sets == ["iid", *OOD]
    assert len(run.evals) == 21 * 3 and run.evals["per_class"].shape == (63, 4)
    assert run.evals["task"].dtype == np.int64 and run.evals["acc"].dtype == np.float64
    iid = run.curve("iid")
    np.testing.assert_array_equal(iid["task"], np.arange(-1, 20))
    np.testing.assert_allclose(iid["acc"], [_acc(t, 0) for t in range(-1, 20)])
    assert math.isnan(iid["seen_acc"][0]) and np.isfinite(iid["seen_acc"][1:]).all()  # null before training
    assert np.isnan(run.evals["epoch"]).all()
    ood = run.evals.where(set=OOD[0])
    assert np.isnan(ood["per_class"][:, -1]).all() and np.isfinite(ood["per_class"][:, :-1]).all()
    assert len(run.tasks) == 20 and run.tasks["classes"].shape == (20, 4)
    assert (run.tasks["classes"].sum(1) == 2).all()
    np.testing.assert_array_equal(run.tasks["classes"].sum(0), run.summary["class_task_counts"])
    assert run.matrix.shape == (20, 20) and run.matrix.dtype == np.float64
    assert len(run.memorization) == 0 and "noisy_memorized" in run.memorization


def test_read_run_memorization_and_step_rows(tmp_path):
    run = read_run(make_run(tmp_path, "m", n_tasks=6, memorization=True, step_evals=True, matrix=False))
    assert run.matrix is None
    assert len(run.memorization) == 6
    np.testing.assert_allclose(run.memorization["noisy_memorized"], [0.03 * (t + 1) for t in range(6)])
    assert run.memorization["n_noisy"].tolist() == list(range(10, 16))
    steps = run.evals.where(at="step")
    assert len(steps) == 6 * 2 * 3 and (np.diff(steps.where(set="iid")["step"]) > 0).all()
    assert len(run.curve("iid")) == 7  # start + task ends; step rows are not on the KA curve


def test_rows_where_and_select():
    r = Rows({"set": np.array(["iid", "ood", "iid"]), "acc": np.array([0.1, 0.2, 0.3])})
    assert len(r) == 3 and r.where(set="iid")["acc"].tolist() == [0.1, 0.3]
    assert r.where(set=("iid", "ood")).columns.keys() == r.columns.keys() and len(r.where(set=["ood"])) == 1
    with pytest.raises(HarnessError, match="no column 'x'; expected one of: set, acc"):
        r["x"]


@given(rows=st.lists(st.fixed_dictionaries({
    "task": st.integers(-1, 1000), "step": st.integers(0, 10**9), "set": st.sampled_from(["iid", "ood_a", "ood_b"]),
    "acc": st.floats(0, 1), "seen_acc": st.none() | st.floats(0, 1),
    "per_class": st.none() | st.lists(st.none() | st.floats(0, 1), min_size=3, max_size=3)}), max_size=12))
def test_eval_rows_round_trip(tmp_path_factory, rows):
    d = make_run(tmp_path_factory.mktemp("rt"), n_tasks=1, k=3, ood=())
    lines = [{"kind": "eval", "epoch": None, "samples": 0, "time": 0.0, "at": "task_end", "n": 5, "loss": None,
              **r} for r in rows]
    (d / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    run = read_run(d)
    assert len(run.evals) == len(rows) and sum(len(run.evals.where(set=s)) for s in run.eval_sets) == len(rows)
    assert run.evals["task"].tolist() == [r["task"] for r in rows]
    assert run.evals["step"].tolist() == [r["step"] for r in rows]
    np.testing.assert_array_equal(run.evals["acc"], np.array([r["acc"] for r in rows], float))
    exp_seen = [math.nan if r["seen_acc"] is None else r["seen_acc"] for r in rows]
    np.testing.assert_array_equal(run.evals["seen_acc"], np.array(exp_seen, float))
    exp_pc = [[math.nan] * 3 if r["per_class"] is None else [math.nan if v is None else v for v in r["per_class"]]
              for r in rows]
    np.testing.assert_array_equal(run.evals["per_class"], np.array(exp_pc, float).reshape(len(rows), 3))
    assert np.isnan(run.evals["loss"]).all()


def test_read_run_errors_name_the_file(tmp_path):
    with pytest.raises(HarnessError, match="no such run directory"):
        read_run(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(HarnessError, match=r"empty: no config.json; not a run directory"):
        read_run(tmp_path / "empty")
    (tmp_path / "f").write_text("x")
    with pytest.raises(HarnessError, match="not a directory"):
        read_run(tmp_path / "f")


def _corrupt_line(d, n: int, text: str) -> None:
    lines = (d / "metrics.jsonl").read_text().splitlines(keepends=True)
    lines[n - 1] = text + "\n"
    (d / "metrics.jsonl").write_text("".join(lines))


@pytest.mark.parametrize("edit, needle", [
    (lambda d: _corrupt_line(d, 7, '{"kind": "eval", "task": 1, '), r"metrics.jsonl:7: not a JSON object"),
    (lambda d: _corrupt_line(d, 3, '[1, 2]'), r"metrics.jsonl:3: expected a JSON object with a 'kind' field"),
    (lambda d: _corrupt_line(d, 2, '{"kind": "eval", "task": 0}'), r"metrics.jsonl:2: eval row lacks field 'step'"),
    (lambda d: _corrupt_line(d, 1, json.dumps({"kind": "eval", "task": -1, "step": 0, "samples": 0, "at": "start",
                                               "set": "iid", "n": 4, "acc": "high"})),
     r"metrics.jsonl:1: field 'acc' is 'high'; expected a number"),
    (lambda d: _corrupt_line(d, 1, json.dumps({"kind": "eval", "task": 0.5, "step": 0, "samples": 0, "at": "start",
                                               "set": "iid", "n": 4, "acc": 0.1})),
     r"metrics.jsonl:1: field 'task' is 0.5; expected an int"),
    (lambda d: _corrupt_line(d, 1, json.dumps({"kind": "eval", "task": -1, "step": 0, "samples": 0, "at": "start",
                                               "set": "iid", "n": 4, "acc": 0.1, "per_class": [0.1]})),
     r"metrics.jsonl:1: per_class has 1 values; expected K=4 \(config.json stream.n_classes\)"),
    (lambda d: _corrupt_line(d, 4, json.dumps({"kind": "task", "task": 0, "step": 1, "samples": 1, "time": 0.0,
                                               "n_samples": 1, "n_replayed": 0, "classes": [4], "train_loss": 1.0,
                                               "train_acc": 0.5})),
     r"metrics.jsonl:4: classes is \[4\]; expected a list of class positions in \[0, 4\)"),
    (lambda d: (d / "config.json").write_text("{oops"), r"config.json: not valid JSON"),
    (lambda d: (d / "config.json").write_text('{"format": "synprobe.run/9"}'),
     r"config.json: format 'synprobe.run/9' unsupported; expected 'synprobe.run/1'"),
    (lambda d: (d / "summary.json").write_text("[]"), r"summary.json: expected a JSON object, got list"),
    (lambda d: (d / "accuracy_matrix.npy").write_bytes(b"garbage"), r"accuracy_matrix.npy: not a .npy array"),
    (lambda d: np.save(d / "accuracy_matrix.npy", np.zeros(3)), r"accuracy_matrix.npy: expected a 2-d float array"),
    (lambda d: (d / "metrics.jsonl").unlink(), r"no metrics.jsonl; the run is incomplete"),
    (lambda d: (d / "summary.json").unlink(), r"no summary.json; the run is incomplete"),
])
def test_read_run_format_errors(tmp_path, edit, needle):
    d = make_run(tmp_path, n_tasks=3, ood=())
    edit(d)
    with pytest.raises(HarnessError, match=needle) as e:
        read_run(d)
    assert "\n" not in str(e.value)


def test_partial_run_reads_and_plots(tmp_path):
    d = make_run(tmp_path, n_tasks=5, ood=())
    (d / "summary.json").unlink()
    with open(d / "metrics.jsonl", "a") as f:
        f.write('{"kind": "eval", "task": 5, "st')  # killed mid-write
    run = read_run(d, partial=True)
    assert run.summary is None and len(run.curve("iid")) == 6
    names = {p.name for p in plot_run(d)}
    assert names == {"ka.png", "per_class_vs_frequency.png", "accuracy_matrix.png"}
    (d / "summary.json").write_text("{}")
    with pytest.raises(HarnessError, match=r"metrics.jsonl:12: not a JSON object"):  # strict: the cut line is an error
        read_run(d)


def test_unknown_row_kinds_are_skipped(tmp_path):
    d = make_run(tmp_path, n_tasks=3, ood=())
    with open(d / "metrics.jsonl", "a") as f:
        f.write('{"kind": "future_thing", "x": 1}\n')
    assert len(read_run(d).evals) == 4


# ----------------------------------------------------------------------------- plots


def test_plot_run_writes_the_plots_with_data(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib not installed: pip install -e '.[view]'")
    a = make_run(tmp_path, "memo", n_tasks=8, memorization=True)
    got = plot_run(a)
    assert [p.name for p in got] == ["ka.png", "per_class_vs_frequency.png", "accuracy_matrix.png",
                                     "memorization.png"]
    assert all(p.parent == a / "plots" and _png_ok(p) for p in got)
    assert not (a / "plots" / "stability.png").exists()
    b = make_run(tmp_path, "steps", n_tasks=5, step_evals=True, matrix=False, ood=())
    got = plot_run(b, out_dir=tmp_path / "elsewhere")
    assert [p.name for p in got] == ["ka.png", "per_class_vs_frequency.png", "stability.png"]
    assert all(_png_ok(p) for p in got) and not (b / "plots").exists()
    assert sorted(p.name for p in (tmp_path / "elsewhere").iterdir()) == sorted(p.name for p in got)  # no tmp left


def test_plot_titles_are_readable(tmp_path, monkeypatch):
    """The accuracy-matrix title was 7 pt (the others 8 or 9): every title is now 11 pt and fits its figure."""
    pytest.importorskip("matplotlib", reason="matplotlib not installed")
    from synprobe.harness import plots

    figs, save = [], plots._save
    monkeypatch.setattr(plots, "_save", lambda fig, path, dpi: figs.append((path.name, fig)) or save(fig, path, dpi))
    a = make_run(tmp_path, "a-run-with-a-long-name", n_tasks=30, memorization=True, step_evals=True)
    plot_run(a)
    plot_overlay([a, make_run(tmp_path, "b", n_tasks=6, memorization=True)], tmp_path / "report")
    assert {"accuracy_matrix.png", "ka.png", "ka_overlay.png"} <= {name for name, _ in figs}
    for name, fig in figs:
        for ax in fig.axes:
            if not ax.get_title():
                continue  # the colour bar
            assert ax.title.get_fontsize() >= 11, name
            box = ax.title.get_window_extent(fig.canvas.get_renderer())
            assert box.x0 >= 0 and box.x1 <= fig.bbox.x1 + 1, f"{name}: the title does not fit"


def test_matrix_of_a_run_evaluated_every_few_tasks(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib not installed: pip install -e '.[view]'")
    d = make_run(tmp_path, n_tasks=7, eval_every_tasks=3, ood=())
    run = read_run(d)
    assert run.matrix.shape == (3, 7) and run.curve("iid")["task"].tolist() == [-1, 2, 5, 6]
    assert [p.name for p in plot_run(d)] == ["ka.png", "per_class_vs_frequency.png", "accuracy_matrix.png"]
    (row,) = report([d])
    assert row["ACC"] == pytest.approx(np.mean(run.matrix[-1])) and row["ka_auc"] == _summary(d)["ka"]["auc"]
    assert row["BWT"] is None and "ACC" in format_table([row]) and "BWT" not in format_table([row])


def test_plot_run_without_per_class_data(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib not installed: pip install -e '.[view]'")
    d = make_run(tmp_path, n_tasks=3, ood=(), matrix=False)
    s = _summary(d)
    s["per_class_final"] = [None] * 4
    _dump(d / "summary.json", s)
    assert [p.name for p in plot_run(d)] == ["ka.png"]


def test_plot_overlay_mixed_runs(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib not installed: pip install -e '.[view]'")
    runs = [make_run(tmp_path, "k4", k=4, n_tasks=6), make_run(tmp_path, "k6", k=6, n_tasks=9, memorization=True)]
    got = plot_overlay(runs, tmp_path / "out" / "deep")
    assert [p.name for p in got] == ["ka_overlay.png", "memorization_overlay.png"] and all(map(_png_ok, got))
    got = plot_overlay(runs[:1], tmp_path / "out2")
    assert [p.name for p in got] == ["ka_overlay.png"]


def test_without_matplotlib_says_how_to_install(tmp_path, monkeypatch):
    d = make_run(tmp_path, n_tasks=3)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(HarnessError, match=r"synprobe plots need matplotlib: pip install -e '\.\[view\]' \(from the"):
        plot_run(d)
    r = CliRunner().invoke(main, ["report", str(d), "-o", str(tmp_path / "rep")])
    assert r.exit_code == 1 and f"Error: {MATPLOTLIB_MISSING}" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "rep").exists()
    r = CliRunner().invoke(main, ["report", str(d), "--no-plots"])
    assert r.exit_code == 0 and "resnet20" in r.output and not (tmp_path / "rep").exists()


def test_readers_never_import_torch():
    code = ("import sys; import synprobe.harness.rundir, synprobe.harness.plots, synprobe.harness.report, "
            "synprobe.cli.report; assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------- report


def test_report_rows_hold_the_summary_numbers(tmp_path):
    d = make_run(tmp_path, "resnet20-seen", n_tasks=20, memorization=True)
    s = _summary(d)
    (row,) = report([d])
    assert (row["name"], row["model"], row["masking"], row["loss"], row["replay"]) == \
        ("resnet20-seen", "resnet20", "seen", "ce", "none")
    assert row["n_classes"] == 4 and row["tasks"] == 20 and row["samples_per_s"] == 1234.5
    assert row["final_iid"] == pytest.approx(_acc(19, 0)) == s["final"]["iid"]
    assert row["final"] == s["final"]
    assert row["ka_auc"] == s["ka"]["auc"] and 0.7 < row["ka_auc"] < 0.8
    assert row["tasks_to"] == {"0.5": 3, "0.75": 8, "0.9": 16} == s["ka"]["tasks_to"]  # tasks trained
    assert row["seen_acc"] == s["seen_acc_final"]
    R = np.load(d / "accuracy_matrix.npy")
    assert row["ACC"] == pytest.approx(M.average_accuracy(R)) and row["BWT"] == pytest.approx(M.backward_transfer(R))
    assert row["forgetting_since_trained"] == pytest.approx(M.forgetting_since_trained(R))
    assert row["forgetting_max_earlier"] == pytest.approx(M.forgetting_max_earlier(R))
    assert row["forgetting_avalanche"] == pytest.approx(M.forgetting_avalanche(R))
    assert row["forgetting_since_trained"] > row["forgetting_avalanche"]  # the bump after each task's own training
    assert row["ood_gap"] == pytest.approx({OOD[0]: 0.12, OOD[1]: 0.24, "mean": 0.18})
    assert row["memorized"] == pytest.approx(0.6) == s["memorization"]["noisy_memorized"]
    text = format_table([row])
    for needle in ("resnet20-seen", "resnet20", "seen/ce/none", "1,234", f"{row['final_iid']:.3f}",
                   f"{row['ka_auc']:.3f}", f"{row['ACC']:.3f}", f"{row['BWT']:+.3f}",
                   f"{row['forgetting_since_trained']:.3f}", f"{row['forgetting_max_earlier']:.3f}",
                   f"{row['forgetting_avalanche']:.3f}", "+0.120", "+0.240", "0.600", "gap stratified_font",
                   "gap scale", "gap mean", "+0.180", "memorized", "F since", "F earlier", "F avalanche"):
        assert needle in text, needle
    header, rule, line = text.splitlines()
    names = ["run", "model", "opt", "mlr", "K", "tasks", "sps", "iid", "auc", "t5", "t75", "t9"]
    cells = dict(zip(names, line.split()))
    assert (cells["K"], cells["tasks"], cells["t5"], cells["t75"], cells["t9"]) == ("4", "20", "3", "8", "16")
    assert len(header) == len(rule) and set(rule) <= {"-", " "}


def test_report_without_optional_data_uses_none(tmp_path):
    d = make_run(tmp_path, "plain", n_tasks=4, ood=(), matrix=False)
    s = _summary(d)
    s["seen_acc_final"] = None
    s["ka"]["tasks_to"] = {"0.5": 1, "0.75": None, "0.9": None}
    _dump(d / "summary.json", s)
    (row,) = report([d])
    assert row["ood_gap"] == {} and row["memorized"] is None and row["seen_acc"] is None
    matrix_keys = ("ACC", "BWT", "FWT", "forgetting_since_trained", "forgetting_max_earlier", "forgetting_avalanche")
    assert all(row[k] is None for k in matrix_keys)
    assert row["tasks_to"] == {"0.5": 1, "0.75": None, "0.9": None}
    text = format_table([row])
    header = text.splitlines()[0].split()
    assert header == ["run", "model", "optim/lr", "mask/loss/replay", "K", "tasks", "samples/s", "iid", "KA", "auc",
                      "t@0.5", "t@0.75", "t@0.9"]  # optional columns with no value are left out
    assert text.splitlines()[2].split()[-3:] == ["1", "-", "-"]
    assert "nan" not in rows_json([row]).lower() and json.loads(rows_json([row]))[0]["ACC"] is None


def test_report_recomputes_ka_when_summary_lacks_it(tmp_path):
    d = make_run(tmp_path, n_tasks=6, ood=())
    s = _summary(d)
    written = s.pop("ka")
    _dump(d / "summary.json", s)
    (row,) = report([d])
    exp = M.ka_summary([_acc(t, 0) for t in range(6)], steps=np.arange(1, 7))
    assert row["ka_auc"] == pytest.approx(exp["auc"]) and row["tasks_to"] == {"0.5": 3, "0.75": None, "0.9": None}
    assert row["ka_auc"] == pytest.approx(written["auc"]) and row["tasks_to"] == written["tasks_to"]


def test_report_uses_the_runs_primary_set(tmp_path):
    d = make_run(tmp_path, n_tasks=4)
    s = _summary(d)
    s["iid_set"] = OOD[1]
    _dump(d / "summary.json", s)
    run = read_run(d)
    assert run.iid_set == OOD[1] and run.curve()["acc"].tolist() == [_acc(t, 2) for t in range(-1, 4)]
    (row,) = report([run])
    assert row["iid_set"] == OOD[1] and row["final_iid"] == s["final"][OOD[1]]
    s.pop("iid_set")
    _dump(d / "summary.json", s)
    assert read_run(d).iid_set == "iid"


def test_report_nan_in_summary_becomes_null(tmp_path):
    d = make_run(tmp_path, n_tasks=3, ood=())
    text = (d / "summary.json").read_text().replace('"samples_per_s": 1234.5', '"samples_per_s": NaN')
    (d / "summary.json").write_text(text)  # a writer that forgot allow_nan=False
    (row,) = report([d])
    assert row["samples_per_s"] is None and "1,234" not in format_table([row])


@given(vals=st.lists(st.none() | st.floats(allow_nan=True, allow_infinity=True), min_size=9, max_size=9),
       gaps=st.dictionaries(st.sampled_from(["ood_a", "b", "ood_c"]), st.none() | st.floats(-1, 1), max_size=3))
def test_format_table_and_json_take_any_values(vals, gaps):
    keys = ("samples_per_s", "final_iid", "ka_auc", "seen_acc", "ACC", "BWT", "forgetting_since_trained",
            "forgetting_max_earlier", "memorized")
    row = {"name": "r", "model": "mlp", "masking": "none", "loss": "ce", "replay": "none", "n_classes": 3,
           "tasks": 2, "tasks_to": {"0.5": None}, "forgetting_avalanche": None, "ood_gap": gaps,
           **dict(zip(keys, vals))}
    text = format_table([row, {**row, "name": "second"}])
    lines = text.splitlines()
    assert len(lines) == 4 and len({len(ln) for ln in lines[:2]}) == 1
    out = json.loads(rows_json([row]))[0]
    for k, v in zip(keys, vals):
        assert out[k] == (v if v is not None and math.isfinite(v) else None)


# ----------------------------------------------------------------------------- CLI


def test_cli_report_table_and_overlays(tmp_path, runner, monkeypatch):
    pytest.importorskip("matplotlib", reason="matplotlib not installed: pip install -e '.[view]'")
    a = make_run(tmp_path / "runs", "k4-memo", k=4, n_tasks=8, memorization=True)
    b = make_run(tmp_path / "runs", "k6-plain", k=6, n_tasks=5, ood=(), matrix=False, model="mlp", replay="random")
    r = runner.invoke(main, ["report", str(a), str(b), "-o", str(tmp_path / "rep")])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith("run ") and lines[2].startswith("k4-memo ") and lines[3].startswith("k6-plain ")
    assert [lines[2].split()[i] for i in (1, 3, 4)] == ["resnet20", "seen/ce/none", "4"]
    assert [lines[3].split()[i] for i in (1, 3, 4)] == ["mlp", "seen/ce/random", "6"]
    assert "/" in lines[2].split()[2]  # optimizer/lr
    rep = tmp_path / "rep"
    assert lines[-1] == f"plots: {rep / 'ka_overlay.png'}, {rep / 'memorization_overlay.png'}"
    assert _png_ok(tmp_path / "rep" / "ka_overlay.png") and _png_ok(tmp_path / "rep" / "memorization_overlay.png")
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(main, ["report", str(b)])
    assert r.exit_code == 0 and "plots: report/ka_overlay.png" in r.output
    assert _png_ok(tmp_path / "report" / "ka_overlay.png")
    assert not (tmp_path / "report" / "memorization_overlay.png").exists()


def test_cli_report_json(tmp_path, runner):
    pytest.importorskip("matplotlib", reason="matplotlib not installed: pip install -e '.[view]'")
    a = make_run(tmp_path, "a", n_tasks=5)
    b = make_run(tmp_path, "b", n_tasks=5, k=7, ood=(), matrix=False)
    r = runner.invoke(main, ["report", str(a), str(b), "--json", "-o", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [x["name"] for x in rows] == ["a", "b"] and [x["n_classes"] for x in rows] == [4, 7]
    assert rows[0]["samples_per_s"] == 1234.5 and rows[1]["ACC"] is None and rows[1]["ood_gap"] == {}
    assert rows[0]["ka_auc"] == _summary(a)["ka"]["auc"]
    assert "plots: " in r.stderr and (tmp_path / "o" / "ka_overlay.png").is_file()


@pytest.mark.parametrize("setup, needle", [
    (lambda p: None, "no such run directory"),
    (lambda p: p.mkdir(), "no config.json; not a run directory"),
    (lambda p: _corrupt_line(make_run(p.parent, p.name, n_tasks=3), 5, "{not json"), "metrics.jsonl:5: not a JSON"),
])
def test_cli_report_errors(tmp_path, runner, setup, needle):
    p = tmp_path / "bad"
    setup(p)
    good = make_run(tmp_path, "good", n_tasks=3)
    r = runner.invoke(main, ["report", str(good), str(p), "--no-plots"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    (err,) = [ln for ln in r.output.splitlines() if ln.startswith("Error")]
    assert needle in err and str(p) in err


def test_cli_report_usage(runner):
    r = runner.invoke(main, ["report", ])
    assert r.exit_code == 2 and "Missing argument 'RUN_DIR...'" in r.output
    r = runner.invoke(main, ["report", "--help"])
    assert r.exit_code == 0 and "--json" in r.output and "-o, --out" in r.output


def test_a_summary_from_before_both_forgettings_reads_its_one_as_since_trained(tmp_path):
    d = make_run(tmp_path)
    p = d / "summary.json"
    s = json.loads(p.read_text())
    mx = s["matrix"]
    mx["forgetting_chaudhry"] = mx.pop("forgetting_since_trained")  # the key runs wrote before
    del mx["forgetting_max_earlier"]
    p.write_text(json.dumps(s))
    (row,) = report([d])
    assert row["forgetting_since_trained"] == mx["forgetting_chaudhry"]
    assert row["forgetting_max_earlier"] is None
