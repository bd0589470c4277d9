"""Run callbacks and loggers: the hooks' order and counts, and each logger holds the numbers of metrics.jsonl."""

from __future__ import annotations

import csv
import json
import re
import sys

import pytest

from synprobe.harness.callbacks import Callback
from synprobe.harness.errors import HarnessError
from synprobe.harness.loggers import CSVLogger, MLflowLogger, TensorBoardLogger, WandbLogger, make_loggers
from synprobe.harness.train import run
from synprobe.scenarios.recipe import build

FAST = dict(device="cpu", progress=False, plots=False, announce=False)
pytestmark = pytest.mark.usefixtures("one_torch_thread")
data = pytest.fixture(scope="module", name="data")(lambda tiny_h5: tiny_h5)


@pytest.fixture(scope="module")
def stream(data):
    return build("scole-10c-2pt", data, overrides={"n_tasks": 3, "ood": ["stratified_font"]})


def _rows(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _evals(rows, name="iid"):
    return [r for r in rows if r["kind"] == "eval" and r["set"] == name]


class Recorder(Callback):
    """Every call, in order; and a callback that tries to change the rows it gets."""

    def __init__(self):
        self.calls, self.rows = [], []

    def on_run_start(self, record, run_dir):
        self.calls.append("start")
        self.record, self.run_dir = record, run_dir
        record["train"]["lr"] = 99.0

    def on_evaluation(self, rows):
        self.calls.append("evaluation")
        self.rows += [dict(r) for r in rows]
        for r in rows:
            r["acc"] = -1.0

    def on_task_end(self, row):
        self.calls.append("task")
        self.rows.append(dict(row))
        row["train_loss"] = -1.0

    def on_run_end(self, summary):
        self.calls.append("end")
        self.summary = summary


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "time"} for r in rows]


def test_callbacks_see_every_row_in_order_and_change_no_number(data, stream, tmp_path):
    rec = Recorder()
    s = run(stream, data, out=tmp_path / "a", callbacks=[rec], **FAST)
    plain = run(stream, data, out=tmp_path / "b", **FAST)
    # one start, then per task: the task row, then its task-end evaluation; one end
    assert rec.calls == ["start", "evaluation"] + ["task", "evaluation"] * 3 + ["end"]
    assert rec.run_dir == tmp_path / "a.incomplete"  # written inside, renamed after on_run_end
    assert rec.record["stream"]["n_tasks"] == 3
    assert _strip(rec.rows) == _strip(_rows(tmp_path / "a")) == _strip(s["rows"])
    assert _strip(s["rows"]) == _strip(plain["rows"])  # the callback changed nothing the run computes
    assert json.loads((tmp_path / "a" / "config.json").read_text())["train"]["lr"] == 0.01
    assert rec.summary["final"] == s["final"] == plain["final"]


def test_step_and_epoch_evaluations_are_one_call_each(data, stream):
    rec = Recorder()
    s = run(stream, data, callbacks=[rec], epochs=2, eval_every_epochs=1, batch_size=16, eval_every_steps=3, **FAST)
    evals = {(r["at"], r["step"], r["task"]) for r in s["rows"] if r["kind"] == "eval"}
    assert rec.calls.count("evaluation") == len(evals)
    assert rec.calls.count("task") == 3 and rec.run_dir is None  # out=None: no folder


def test_a_failing_run_tells_the_callbacks(data, stream, tmp_path):
    seen = []

    class Boom(Callback):
        def on_task_end(self, row):
            raise RuntimeError("boom")

    class Watch(Callback):
        def on_run_error(self, error):
            seen.append(str(error))

    with pytest.raises(RuntimeError, match="boom"):
        run(stream, data, out=tmp_path / "r", callbacks=[Watch(), Boom()], **FAST)
    assert seen == ["boom"]
    with pytest.raises(TypeError, match="Callback"):
        run(stream, data, callbacks=[print], **FAST)


def test_tensorboard_event_files_hold_the_ka_curve(data, stream, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "r"
    run(stream, data, out=out, callbacks=[TensorBoardLogger()], **FAST)
    acc = EventAccumulator(str(out / "tensorboard"))
    acc.Reload()
    rows = _rows(out)
    for name in ("iid", "ood_stratified_font"):
        ev = _evals(rows, name)
        got = [(e.step, e.value) for e in acc.Scalars(f"eval/{name}/acc")]
        assert [s for s, _ in got] == [r["step"] for r in ev]
        assert [v for _, v in got] == pytest.approx([r["acc"] for r in ev], abs=1e-6)  # stored as float32
    tasks = [r for r in rows if r["kind"] == "task"]
    assert [e.value for e in acc.Scalars("task/train_loss")] == pytest.approx([r["train_loss"] for r in tasks])
    summary = json.loads((out / "summary.json").read_text())
    assert acc.Scalars("summary/ka/auc")[0].value == pytest.approx(summary["ka"]["auc"])
    assert "config" in {t.rsplit("/", 1)[0] for t in acc.Tags()["tensors"]}


def _wandb_values(path, key: str) -> list[float]:
    """The values logged under ``key`` in an offline ``.wandb`` file: its items are protobuf messages, the key
    (field 1 in summary items, 2 in history items) then the value as JSON text (field 16)."""
    raw = path.read_bytes()
    k = key.encode()
    pat = re.compile(b"[\x0a\x12]" + re.escape(bytes([len(k)]) + k + b"\x82\x01"), re.S)
    out = []
    for m in pat.finditer(raw):
        n = raw[m.end()]
        out.append(json.loads(raw[m.end() + 1 : m.end() + 1 + n]))
    return out


def test_wandb_offline_run_holds_the_metrics(data, stream, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    for var in ("WANDB_DIR", "WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb-home"))
    out = tmp_path / "r"
    run(stream, data, out=out, callbacks=[WandbLogger(project="synprobe-test")], **FAST)
    import wandb

    wandb.teardown()  # the wandb service writes the run file on its own time; this waits for it
    files = list((out / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(files) == 1
    # the file holds each history row, then summary updates that repeat the latest values
    expect = [r["acc"] for r in _evals(_rows(out))]
    got = _wandb_values(files[0], "eval/iid/acc")
    assert len(got) >= len(expect) and set(got) == set(expect)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ka"]["auc"] in _wandb_values(files[0], "summary/ka/auc")


def test_mlflow_metrics_read_back_with_its_client(data, stream, tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)  # the logger sets it; unset again afterwards

    out = tmp_path / "r"
    lg = MLflowLogger()
    run(stream, data, out=out, callbacks=[lg], **FAST)
    client = MlflowClient(tracking_uri=(out / "mlflow").as_uri())
    r = client.get_run(lg.run_id)
    assert r.info.status == "FINISHED" and r.info.run_name == "r"
    assert r.data.params["lr"] == "0.01" and r.data.params["run.n_tasks"] == "3"
    hist = client.get_metric_history(lg.run_id, "eval/iid/acc")
    rows = _evals(_rows(out))
    assert [(m.step, m.value) for m in hist] == [(x["step"], x["acc"]) for x in rows]
    assert r.data.metrics["summary/final/iid"] == rows[-1]["acc"]
    assert r.info.artifact_uri.startswith((out / "mlflow").resolve().as_uri())  # the final folder, not .incomplete


def test_mlflow_rerun_into_the_same_folder(data, stream, tmp_path, monkeypatch):
    """MLflow caches its file store per URI: a second run into a new folder of the same name (--overwrite) once
    failed with "'.../r.incomplete/mlflow' does not exist"."""
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    out = tmp_path / "r"
    for _ in range(2):
        lg = MLflowLogger()
        run(stream, data, out=out, callbacks=[lg], tasks=1, overwrite=True, **FAST)
    client = MlflowClient(tracking_uri=(out / "mlflow").as_uri())
    assert client.get_run(lg.run_id).info.status == "FINISHED"


def test_csv_logger_long_format(data, stream, tmp_path):
    out = tmp_path / "r"
    run(stream, data, out=out, callbacks=[CSVLogger(dir=tmp_path / "logs")], **FAST)
    lines = list(csv.DictReader((tmp_path / "logs" / "r" / "metrics.csv").read_text().splitlines()))
    acc = [(int(x["step"]), float(x["value"])) for x in lines if x["metric"] == "eval/iid/acc"]
    assert acc == [(r["step"], r["acc"]) for r in _evals(_rows(out))]
    kinds = {x["kind"] for x in lines}
    assert kinds == {"hparam", "eval", "task", "summary"}
    assert not (out / "csv").exists()  # dir= moved it out of the run folder


def test_a_missing_extra_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # what an install without wandb does: import wandb fails
    with pytest.raises(HarnessError) as e:
        make_loggers(["csv", "wandb"])
    assert str(e.value) == "--logger wandb needs wandb: pip install -e '.[loggers]' (from the synprobe checkout)"


def test_logger_names_and_args_are_checked():
    with pytest.raises(HarnessError, match="did you mean 'tensorboard'"):
        make_loggers(["tensorbord"])
    with pytest.raises(HarnessError, match="--logger-arg mlflow: no such logger"):
        make_loggers(["csv"], {"mlflow": {"experiment": "x"}})
    with pytest.raises(HarnessError, match="--logger-arg csv"):
        make_loggers(["csv"], {"csv": {"colour": "red"}})
    with pytest.raises(HarnessError, match="out=None"):
        CSVLogger().on_run_start({}, None)


def test_cli_logger_option(data, tmp_path):
    from click.testing import CliRunner

    from synprobe.cli import main

    out = tmp_path / "r"
    args = [
        "run",
        "scole-10c-2pt",
        "--data",
        str(data),
        "-o",
        str(out),
        "--tasks",
        "2",
        "--threads",
        "1",
        "--no-plots",
        "-q",
        "--logger",
        "tensorboard,csv",
        "--logger-arg",
        "csv.dir=" + str(tmp_path / "c"),
    ]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert (tmp_path / "c" / "r" / "metrics.csv").exists()
    r = CliRunner().invoke(main, ["run", "x", "--data", str(data), "-o", str(tmp_path / "s"), "--logger", "mlfow"])
    assert r.exit_code != 0 and "did you mean 'mlflow'" in r.output
    assert "--logger NAME[,NAME]" in CliRunner().invoke(main, ["run", "--help"]).output


def test_seeds_give_every_run_its_own_log(data, stream, tmp_path):
    from synprobe.harness.config import TrainConfig
    from synprobe.harness.seeds import run_seeds

    rec = Recorder()
    out = tmp_path / "s"
    run_seeds(
        stream,
        data,
        TrainConfig(tasks=1),
        out,
        [0, 1],
        device="cpu",
        plots=False,
        progress=False,
        callbacks=[TensorBoardLogger(), rec],
    )
    assert rec.calls.count("start") == rec.calls.count("end") == 2
    for s in (0, 1):
        assert len(list((out / f"seed-{s}" / "tensorboard").glob("events.out.tfevents.*"))) == 2


def test_a_slow_logger_start_is_not_the_runs_time(data, stream):
    import time

    class SlowStart(Callback):
        def on_run_start(self, record, run_dir):
            time.sleep(2.0)  # wandb's service takes seconds to start

    s = run(stream, data, tasks=1, callbacks=[SlowStart()], **FAST)
    assert s["rows"][0]["time"] < 2.0 and s["time_s"] < 2.0
