"""``synprobe sweep``: the sweep file's checks, its cells, and sweeps run locally and on a local Ray that give the
numbers of the same runs made one by one, retry failed cells, and resume after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synprobe.cli import main
from synprobe.sweep import SweepError, load_sweep, run_sweep, sweep_from_dict

BASE = {"stream": "scole-10c-2pt", "data": "d.h5", "tasks": 3, "model": "mlp", "device": "cpu"}
SWEEP_2X2 = """
[sweep]
seeds = [0, 1]
plots = false

[base]
stream = "scole-10c-2pt"
data = "{data}"
tasks = {tasks}
model = "mlp"
device = "cpu"

[grid]
masking = ["none", "group"]
"""


def _spec(tmp_path, text: str):
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


def _rows(path):
    """metrics.jsonl without its wall-clock times."""
    return [{k: v for k, v in json.loads(line).items() if k != "time"} for line in path.read_text().splitlines()]


# ----------------------------------------------------------------------------- the sweep file


def test_cells_are_grid_combinations_times_seeds(tmp_path):
    s = sweep_from_dict(
        {
            "sweep": {"seeds": "0-2", "num_cpus": 2},
            "base": BASE,
            "grid": {"masking": ["none", "group"], "batch-size": [8, 16]},
        },
        root=tmp_path,
    )
    assert len(s.cells) == 12 and len({c.name for c in s.cells}) == 12
    c = s.cells[0]
    assert c.name == "masking-none_batch_size-8/seed-0" and c.group == "masking-none_batch_size-8"
    assert c.config.batch_size == 8 and c.config.masking == "none" and c.config.seed == 0
    assert c.config.threads == 2  # a cell's thread count is fixed: its CPUs unless the options say otherwise
    assert c.data == str((tmp_path / "d.h5").resolve()) and c.stream == "scole-10c-2pt"
    assert [x.config.seed for x in s.cells[:3]] == [0, 1, 2]
    alone = sweep_from_dict({"base": {**BASE, "threads": 3}}, root=tmp_path)
    assert [c.name for c in alone.cells] == ["seed-0"] and alone.cells[0].config.threads == 3


def test_values_that_would_share_a_folder_name_are_numbered(tmp_path):
    s = sweep_from_dict(
        {
            "base": {k: v for k, v in BASE.items() if k != "data"},
            "grid": {"data": ["a/x.h5", "b/x.h5"], "model_args": [{"hidden": [8]}, {"hidden": [16]}]},
        },
        root=tmp_path,
    )
    assert [c.group for c in s.cells] == [
        "data-0_model_args-hidden=8",
        "data-0_model_args-hidden=16",
        "data-1_model_args-hidden=8",
        "data-1_model_args-hidden=16",
    ]


def test_a_config_file_gives_settings_that_options_override(tmp_path):
    (tmp_path / "train.toml").write_text("[train]\nlr = 0.5\nepochs = 2\n")
    s = sweep_from_dict({"base": {**BASE, "config": "train.toml", "epochs": 3}}, root=tmp_path)
    assert s.cells[0].config.lr == 0.5 and s.cells[0].config.epochs == 3


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"base": BASE, "gird": {}}, "gird: unknown table (did you mean 'grid'?)"),
        ({"base": {**BASE, "maskng": "group"}}, "base.maskng: unknown option (did you mean 'masking'?)"),
        ({"base": BASE, "grid": {"lr": 0.1}}, "grid.lr: expected a non-empty list"),
        ({"base": BASE, "grid": {"tasks": [1]}}, "grid.tasks: also set in [base]"),
        ({"base": {**BASE, "seed": 1}}, "base.seed: seeds are set in [sweep]"),
        ({"base": {"data": "d.h5"}}, "base.stream: missing"),
        ({"base": BASE, "sweep": {"seeds": [1, 1]}}, "sweep.seeds: [1, 1]: expected distinct integers"),
        ({"base": BASE, "sweep": {"seed": [1]}}, "sweep.seed: unknown setting (did you mean 'seeds'?)"),
        ({"base": BASE, "sweep": {"num_gpus": -1}}, "sweep.num_gpus: -1: expected a number >= 0"),
        ({"base": BASE, "sweep": {"retries": 1.5}}, "sweep.retries: 1.5: expected an integer >= 0"),
        ({"base": BASE, "grid": {"masking": ["none", "gruop"]}}, "cell masking-gruop: train config: masking: unknown"),
        ({"base": {**BASE, "eval_sets": 5}}, "train config: eval_sets: expected a list"),  # was a TypeError
        ({"base": {**BASE, "device": None}, "grid": {}}, "base.device: None: expected a name"),
        ({"base": {"stream": "s", "data": "d"}, "grid": {"device": [3]}}, "cell device-3: grid.device: 3: expected"),
        ({"base": {**BASE, "data": 5}}, "base.data: 5: expected a file name"),  # was taken as a path
    ],
)
def test_bad_sweep_files_fail_in_one_line_naming_the_field(tmp_path, doc, needle):
    with pytest.raises(SweepError) as e:
        sweep_from_dict(doc, source="s.toml", root=tmp_path)
    assert needle in str(e.value) and "\n" not in str(e.value) and str(e.value).startswith("s.toml")


@given(
    st.dictionaries(
        st.sampled_from(["lr", "batch_size", "epochs", "masking"]),
        st.lists(st.integers(1, 4), min_size=1, max_size=3, unique=True),
        max_size=3,
    ),
    st.lists(st.integers(0, 9), min_size=1, max_size=3, unique=True),
)
def test_cell_count_and_unique_names(grid, seeds):
    grid = {k: (["none", "group", "seen"][: len(v)] if k == "masking" else v) for k, v in grid.items()}
    base = {k: v for k, v in BASE.items() if k not in grid}
    s = sweep_from_dict({"sweep": {"seeds": seeds}, "base": base, "grid": grid})
    n = len(seeds)
    for v in grid.values():
        n *= len(v)
    assert len(s.cells) == n and len({c.name for c in s.cells}) == n


def test_cli_errors_are_one_line(tmp_path, runner, tiny_h5):
    bad = _spec(tmp_path, "[base]\nstream = 'scole-10c-2pt'\ndata = 'd.h5'\nlr = 0.1\n[grid]\nlrr = [1]\n")
    for args, needle in (
        ([str(bad)], "grid.lrr: unknown option (did you mean 'lr'?)"),
        ([str(tmp_path / "nope.toml")], "nope.toml: no such sweep file"),
        ([str(bad).replace("s.toml", "t.toml")], "no such sweep file"),
    ):
        r = runner.invoke(main, ["sweep", *args, "-o", str(tmp_path / "o")])
        assert r.exit_code == 1 and needle in r.output and "Traceback" not in r.output
    missing = _spec(tmp_path, SWEEP_2X2.format(data="missing.h5", tasks=1))
    r = runner.invoke(main, ["sweep", str(missing), "-o", str(tmp_path / "o")])
    assert r.exit_code == 1 and "missing.h5: no such dataset file" in r.output
    good = _spec(tmp_path, SWEEP_2X2.format(data=tiny_h5, tasks=1))
    r = runner.invoke(main, ["sweep", str(good), "-o", str(tmp_path / "o"), "--address", "x:1"])
    assert r.exit_code == 1 and "--address: only with --backend ray" in r.output


# ----------------------------------------------------------------------------- running locally


@pytest.mark.usefixtures("one_torch_thread")
def test_local_sweep_resumes_and_refuses_another_sweeps_runs(tmp_path, tiny_h5, runner):
    spec = _spec(tmp_path, SWEEP_2X2.format(data=tiny_h5, tasks=2))
    out = tmp_path / "runs"
    r = runner.invoke(main, ["sweep", str(spec), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "4 runs (4 trained, 0 already finished" in r.output and r.output.count("final iid accuracy") == 4
    doc = json.loads((out / "sweep.json").read_text())
    assert doc["format"] == "synprobe.sweep/1" and len(doc["cells"]) == 4
    done = out / "masking-group" / "seed-1"
    stamp = (done / "summary.json").stat().st_mtime_ns
    (out / "masking-none" / "seed-0" / "summary.json").unlink()  # a damaged run is trained again
    r = runner.invoke(main, ["sweep", str(spec), "-o", str(out)])
    assert r.exit_code == 0 and "1 trained, 3 already finished" in r.output and "training again" in r.output
    assert (done / "summary.json").stat().st_mtime_ns == stamp
    from synprobe.io.lock import output_lock

    with output_lock(out):  # another sweep command at work on the folder
        r = runner.invoke(main, ["sweep", str(spec), "-o", str(out)])
    assert r.exit_code == 1 and f"pid {os.getpid()}" in r.output and "Traceback" not in r.output
    spec.write_text(SWEEP_2X2.format(data=tiny_h5, tasks=1))  # edited: the finished runs are not this sweep's
    r = runner.invoke(main, ["sweep", str(spec), "-o", str(out)])
    assert r.exit_code == 1 and "tasks 2, the cell's 1" in r.output and "--overwrite" in r.output


def test_failed_cells_are_retried_then_reported(tmp_path, tiny_h5, monkeypatch):
    from synprobe.sweep import _driver

    calls = []

    def flaky(stream, data, cfg, out, **kw):
        calls.append(cfg.seed)
        if cfg.seed == 1 or calls.count(cfg.seed) == 1:
            raise RuntimeError(f"boom {cfg.seed}")
        return {"final": {"iid": 0.5}, "iid_set": "iid", "time_s": 0.1, "device": "cpu"}

    real = _driver.run
    monkeypatch.setattr(_driver, "run", flaky)
    s = sweep_from_dict({"sweep": {"seeds": [0, 1], "retries": 2}, "base": {**BASE, "data": str(tiny_h5)}})
    lines = []
    got = run_sweep(s, tmp_path / "o", echo=lines.append)
    assert got["done"] == ["seed-0"] and got["failed"] == {"seed-1": "RuntimeError: boom 1"}
    assert sorted(calls) == [0, 0, 1, 1, 1]  # seed 0 once more, seed 1 retried twice
    assert [x for x in lines if "FAILED" in x] == ["[2/2] seed-1: FAILED after 3 attempts: RuntimeError: boom 1"]
    # errors in the user's input fail the same way every time: not retried
    s = sweep_from_dict({"sweep": {"retries": 3}, "base": {**BASE, "data": str(tiny_h5), "stream": "nope.npz"}})
    monkeypatch.setattr(_driver, "run", real)
    got = run_sweep(s, tmp_path / "p", echo=lines.append)
    assert "nope.npz" in got["failed"]["seed-0"] and "FAILED after 1 attempt: " in lines[-1]


def test_report_of_a_sweep_folder_says_which_runs_are_missing(tmp_path, runner):
    out = tmp_path / "sw"
    out.mkdir()
    (out / "sweep.json").write_text(json.dumps({"format": "synprobe.sweep/1", "cells": [{"name": "a/seed-0"}]}))
    r = runner.invoke(main, ["report", str(out), "--group", "--no-plots"])
    assert (
        r.exit_code == 1 and "1 runs not finished, left out: a/seed-0" in r.output and "no finished runs" in r.output
    )


# ----------------------------------------------------------------------------- Ray


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()


@pytest.mark.usefixtures("one_torch_thread")
def test_2x2_sweep_on_ray_equals_the_runs_made_one_by_one(tmp_path, tiny_h5, runner, local_ray):
    """2 seeds x masking none/group: each run's metrics are those of `synprobe run` alone with the same seed and
    thread count, and `report --group` of the sweep is the one of the four runs made one by one."""
    spec = _spec(tmp_path, SWEEP_2X2.format(data=tiny_h5, tasks=3))
    sweep_dir, alone = tmp_path / "sweep", tmp_path / "alone"
    r = runner.invoke(main, ["sweep", str(spec), "-o", str(sweep_dir), "--backend", "ray"])
    assert r.exit_code == 0 and "4 trained" in r.output, r.output
    for masking in ("none", "group"):
        for seed in (0, 1):
            name = f"masking-{masking}/seed-{seed}"
            one = runner.invoke(
                main,
                [
                    "run",
                    "scole-10c-2pt",
                    "--data",
                    str(tiny_h5),
                    "--tasks",
                    "3",
                    "--model",
                    "mlp",
                    "--device",
                    "cpu",
                    "--masking",
                    masking,
                    "--seed",
                    str(seed),
                    "--threads",
                    "1",
                    "-q",
                    "--no-plots",
                    "-o",
                    str(alone / name),
                ],
            )
            assert one.exit_code == 0, one.output
            assert _rows(sweep_dir / name / "metrics.jsonl") == _rows(alone / name / "metrics.jsonl")
            assert {p.name for p in (sweep_dir / name).iterdir()} == {p.name for p in (alone / name).iterdir()}
    runs_alone = [str(alone / f"masking-{m}" / f"seed-{s}") for m in ("none", "group") for s in (0, 1)]
    tables = []
    for args in ([str(sweep_dir)], runs_alone):
        got = runner.invoke(main, ["report", *args, "--group", "--json", "--no-plots"])
        assert got.exit_code == 0, got.output
        tables.append(
            [{k: v for k, v in row.items() if k not in ("path", "samples_per_s")} for row in json.loads(got.output)]
        )
    assert tables[0] == tables[1] and [r["name"] for r in tables[0]] == ["masking-none/*", "masking-group/*"]
    assert all(r["n_seeds"] == 2 and r["final_iid_std"] is not None for r in tables[0])
    plots = runner.invoke(main, ["report", str(sweep_dir), "--group", "-o", str(tmp_path / "rep")])
    assert plots.exit_code == 0 and (tmp_path / "rep" / "ka_group_overlay.png").stat().st_size > 1000


def _kill_group(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and what it started (its local Ray)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


@pytest.mark.parametrize("backend", ["local", pytest.param("ray", marks=pytest.mark.slow)])
def test_a_killed_sweep_resumes(tmp_path, tiny_h5, backend, request):
    """kill -9 the sweep (and its processes) once its first run is finished; running it again trains only the
    runs that were not, and keeps the finished one as it was."""
    if backend == "ray":
        request.getfixturevalue("local_ray")  # the resumed sweep runs on it
    spec = _spec(tmp_path, SWEEP_2X2.format(data=tiny_h5, tasks=3).replace('model = "mlp"', "epochs = 4"))
    out = tmp_path / "runs"
    cmd = [
        sys.executable,
        "-c",
        "from synprobe.cli import main; main()",
        "sweep",
        str(spec),
        "-o",
        str(out),
        "--backend",
        backend,
        "--jobs",
        "1",
        "-q",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    first = out / "masking-none" / "seed-0" / "summary.json"
    try:
        deadline = time.monotonic() + 300
        while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        _kill_group(proc)
    assert first.exists(), "the sweep never finished its first run"
    unfinished = [c.name for c in load_sweep(spec).cells if not (out / c.name / "summary.json").exists()]
    assert unfinished, "every run finished before the kill: nothing left to resume"
    stamp = first.stat().st_mtime_ns
    lines = []
    got = run_sweep(load_sweep(spec), out, backend=backend, echo=lines.append)
    assert sorted(got["done"]) == sorted(unfinished) and "masking-none/seed-0" in got["skipped"]
    assert first.stat().st_mtime_ns == stamp and not got["failed"]
    assert not list(out.rglob("*.incomplete"))


def test_ray_address_comes_from_the_option_else_ray_address(tmp_path, tiny_h5, runner, monkeypatch):
    import synprobe.sweep

    seen = []
    monkeypatch.setattr(
        synprobe.sweep,
        "run_sweep",
        lambda spec, out, **kw: seen.append(kw["address"]) or {"done": [], "skipped": [], "failed": {}, "wall_s": 0.0},
    )
    spec = _spec(tmp_path, SWEEP_2X2.format(data=tiny_h5, tasks=1))
    monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
    for extra in ([], ["--address", "other:6379"]):
        assert (
            runner.invoke(main, ["sweep", str(spec), "-o", str(tmp_path / "o"), "--backend", "ray", *extra]).exit_code
            == 0
        )
    assert seen == ["ray://head:10001", "other:6379"]


def test_without_ray_one_line_says_how_to_install(tmp_path, tiny_h5, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    s = sweep_from_dict({"base": {**BASE, "data": str(tiny_h5)}})
    with pytest.raises(SweepError, match=r"needs Ray: pip install -e '\.\[ray\]'"):
        run_sweep(s, tmp_path / "o", backend="ray")


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 3),
    st.floats(-1, 2),
    st.text(max_size=4),
    st.lists(st.integers(0, 2), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)
_KEYS = st.sampled_from(
    [
        "stream",
        "data",
        "device",
        "config",
        "lr",
        "masking",
        "eval_sets",
        "model_args",
        "seeds",
        "retries",
        "num_cpus",
        "num_gpus",
        "plots",
        "seed",
        "tasks",
        "threads",
    ]
)


@given(
    st.dictionaries(_KEYS, _VALUES, max_size=3),
    st.dictionaries(_KEYS, st.lists(_VALUES, max_size=2), max_size=2),
    st.dictionaries(_KEYS, _VALUES, max_size=2),
)
def test_any_sweep_document_is_a_sweep_or_one_line_error(tmp_path_factory, base, grid, sweep):
    root = tmp_path_factory.mktemp("fuzz")
    doc = {"sweep": sweep, "base": {"stream": "scole-10c-2pt", "data": "d.h5", **base}, "grid": grid}
    try:
        s = sweep_from_dict(doc, source="f.toml", root=root)
    except SweepError as e:
        assert "\n" not in str(e) and str(e).startswith("f.toml")
    else:
        assert all(isinstance(c.stream, str) and isinstance(c.data, str) for c in s.cells)


def test_a_cell_that_no_node_can_hold_is_refused(tmp_path):
    from synprobe.sweep._driver import check_fits

    s = sweep_from_dict({"sweep": {"num_gpus": 0.25, "num_cpus": 2}, "base": BASE}, source="s.toml")
    check_fits([{"CPU": 1.0}, {"CPU": 16.0, "GPU": 1.0}], s)
    with pytest.raises(
        SweepError, match=r"s.toml: sweep.num_gpus = 0.25, but the largest node of this Ray has 0 GPUs"
    ):
        check_fits([{"CPU": 2.0}], s)
    with pytest.raises(SweepError, match="sweep.num_cpus = 2, but .* has 1 CPUs"):
        check_fits([{"CPU": 1.0, "GPU": 1.0}], s)
