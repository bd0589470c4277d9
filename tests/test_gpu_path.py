"""The GPU path, checked on the CPU (issue 18): the device and precision that ran are said and recorded, duplicate
positions in index writes have defined results, every generator follows the run's seed, evaluations do not read
the device per batch, and the smoke script runs in its reduced form. Tests marked ``cuda`` need a CUDA device
(``pytest -m cuda``); without one they are skipped with the reason printed (``-ra``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from synprobe.harness import device as hdev
from synprobe.harness.errors import HarnessError
from synprobe.harness.losses import ELRTargets
from synprobe.harness.scatter import PresentationEvents, last_occurrence
from synprobe.harness.syncs import count_syncs
from synprobe.harness.train import run
from synprobe.scenarios.recipe import build

FAST = dict(device="cpu", progress=False, plots=False)
ROOT = Path(__file__).resolve().parents[1]
NO_CUDA = "needs a usable CUDA device: " + (hdev.cuda_problem(torch) or "")

pytestmark = pytest.mark.usefixtures("one_torch_thread")
data = pytest.fixture(scope="module", name="data")(lambda tiny_h5: tiny_h5)


@pytest.fixture(scope="module")
def stream(data):
    return build("scole-10c-2pt", data, overrides={"n_tasks": 6, "ood": ["stratified_font"]})


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "time"} for r in rows]


# ----------------------------------------------------------------------------- 1. device, said and recorded


def test_cpu_run_says_and_records_the_device_and_precision(data, stream, tmp_path, capfd):
    run(stream, data, out=tmp_path / "a", tasks=1, **FAST)
    run(stream, data, out=tmp_path / "b", tasks=1, amp="bf16", **FAST)
    err = capfd.readouterr().err
    assert "synprobe: device cpu; precision fp32 (--amp auto)" in err
    assert "synprobe: device cpu; precision bf16 autocast (--amp bf16)" in err
    a, b = (json.loads((tmp_path / d / "config.json").read_text()) for d in "ab")
    assert (a["device_used"], a["amp_used"], b["amp_used"]) == ("cpu", "fp32", "bf16")
    assert a["train"]["amp"] == "auto"  # what was asked stays in train; what ran is amp_used
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["amp_used"] == "fp32"


def _no_cuda_build(monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", None)


def test_auto_falls_back_to_the_cpu_out_loud_and_cuda_is_an_error(monkeypatch):
    _no_cuda_build(monkeypatch)
    r = hdev.resolve("auto", "auto")
    assert r.device.type == "cpu" and r.amp == "fp32" and r.fallback == "this torch build has no CUDA"
    assert r.note == ("device cpu (--device auto: no usable CUDA: this torch build has no CUDA); precision fp32 "
                      "(--amp auto)")
    for d in ("cuda", "cuda:1"):
        with pytest.raises(HarnessError) as e:
            hdev.resolve(d, "auto")
        assert f"--device {d}: CUDA is not usable here: this torch build has no CUDA" in str(e.value)
        assert "\n" not in str(e.value)
    with pytest.raises(HarnessError, match="expected auto, cpu, cuda or cuda:N"):
        hdev.resolve("gpu", "auto")


def test_a_driver_too_old_or_a_broken_device_is_unusable(monkeypatch):
    """``torch.cuda.is_available()`` False with a warning (old driver), or True but no kernel runs."""
    monkeypatch.setattr(torch.version, "cuda", "12.4")

    def old_driver():
        warnings.warn("CUDA initialization: The NVIDIA driver on your system is too old (found version 11040).\n"
                      "Please update your GPU driver", UserWarning, stacklevel=2)
        return False

    monkeypatch.setattr(torch.cuda, "is_available", old_driver)
    r = hdev.resolve("auto", "auto")
    assert r.device.type == "cpu" and "driver on your system is too old (found version 11040)" in r.note
    with pytest.raises(HarnessError, match="driver on your system is too old"):
        hdev.resolve("cuda", "auto")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)

    def broken(*a, **k):
        raise RuntimeError("CUDA error: no kernel image is available for execution on the device")

    monkeypatch.setattr(torch, "zeros", broken)
    assert "CUDA does not run: CUDA error: no kernel image" in hdev.resolve("auto", "off").note
    with pytest.raises(HarnessError, match="cuda:3 does not exist"):
        hdev.resolve("cuda:3", "auto")


def test_cli_note_on_stderr_and_cuda_error_in_one_line(data, tmp_path, runner):
    from synprobe.cli import main

    args = ["run", "scole-10c-2pt", "--data", str(data), "--tasks", "1", "-q", "--no-plots", "--threads", "1"]
    r = runner.invoke(main, [*args, "-o", str(tmp_path / "a"), "--device", "cpu"])
    assert r.exit_code == 0 and "synprobe: device cpu; precision fp32" in r.output and ", fp32)" in r.output
    if hdev.cuda_problem(torch) is not None:
        bad = runner.invoke(main, [*args, "-o", str(tmp_path / "b"), "--device", "cuda"])
        assert bad.exit_code == 1 and bad.output.count("\n") == 1 and "CUDA is not usable here" in bad.output
        assert not (tmp_path / "b").exists()  # refused before anything is written


# ----------------------------------------------------------------------------- 2. precision per device


@pytest.mark.parametrize("native, amp, want", [
    (True, "auto", "bf16"), (False, "auto", "fp16"), (True, "fp16", "fp16"), (True, "off", "fp32"),
    (True, "bf16", "bf16"), (False, "bf16", "error"),
])
def test_amp_on_cuda_is_bf16_only_where_native(monkeypatch, native, amp, want):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: native)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d=None: (8, 0) if native else (7, 5))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d=None: "Tesla T4")
    dev = torch.device("cuda", 0)
    if want == "error":
        with pytest.raises(HarnessError, match=r"Tesla T4 \(compute capability 7.5\) has no native bf16"):
            hdev.resolve_amp(torch, amp, dev)
    else:
        assert hdev.resolve_amp(torch, amp, dev) == want


def test_amp_on_the_cpu():
    cpu = torch.device("cpu")
    assert [hdev.resolve_amp(torch, a, cpu) for a in ("auto", "bf16", "off")] == ["fp32", "bf16", "fp32"]
    with pytest.raises(HarnessError, match="--amp fp16: only on CUDA"):
        hdev.resolve_amp(torch, "fp16", cpu)


# ----------------------------------------------------------------------------- 3. duplicate positions


@st.composite
def positions(draw):
    n = draw(st.integers(1, 12))
    b = draw(st.integers(1, 40))  # often more entries than rows: duplicates forced
    pos = draw(st.lists(st.integers(0, n - 1), min_size=b, max_size=b))
    ok = draw(st.lists(st.booleans(), min_size=b, max_size=b))
    return n, torch.tensor(pos), torch.tensor(ok)


@given(positions())
@settings(max_examples=60, deadline=None)
def test_last_occurrence_matches_a_python_reference(case):
    n, pos, _ = case
    last = {p: i for i, p in enumerate(pos.tolist())}
    assert last_occurrence(pos, torch.full((n,), 99, dtype=torch.int64)).tolist() == [last[p] for p in pos.tolist()]


def _events_reference(n, batches):
    """Per batch: every occurrence judged against the state before it; last = the last occurrence's result;
    learned = correct at any occurrence."""
    count, pres, last, learned = [0] * n, [0] * n, [False] * n, [False] * n
    for pos, ok in batches:
        before = list(last)
        for p, o in zip(pos, ok):
            count[p] += int(before[p] and not o)
            pres[p] += 1
            last[p] = o
            learned[p] = learned[p] or o
    return count, pres, last, learned


@given(st.lists(positions(), min_size=1, max_size=4), st.integers(0, 2**31 - 1))
@settings(max_examples=40, deadline=None)
def test_forgetting_events_with_duplicates_match_the_reference(cases, seed):
    n = max(c[0] for c in cases)
    ev = PresentationEvents(n, "cpu")
    batches = [(pos.tolist(), ok.tolist()) for _, pos, ok in cases]
    for pos, ok in batches:
        ev.update(torch.tensor(pos), torch.tensor(ok))
    count, pres, last, learned = _events_reference(n, batches)
    assert ev.count.tolist() == count and ev.presentations.tolist() == pres
    assert ev.last.tolist() == last and ev.learned.tolist() == learned


def test_learned_is_any_occurrence_not_the_last_writer():
    """Before: ``learned[pb] |= ok`` kept only the last occurrence's result (and an unspecified one on CUDA)."""
    ev = PresentationEvents(3, "cpu")
    ev.update(torch.tensor([1, 1]), torch.tensor([True, False]))
    assert ev.learned.tolist() == [False, True, False] and ev.last.tolist() == [False, False, False]
    ev.update(torch.tensor([1, 1]), torch.tensor([False, False]))
    assert ev.count.tolist() == [0, 0, 0]  # judged against the state before the batch: last was wrong
    ev.update(torch.tensor([2, 2, 2]), torch.tensor([True, True, False]))
    ev.update(torch.tensor([2, 2]), torch.tensor([False, True]))
    assert ev.count[2] == 0 and ev.presentations[2] == 5  # last after batch 3 was False: no forgetting


def _elr_reference(t, pos, p, beta):
    t = t.copy()
    new = beta * t[pos] + (1 - beta) * p / p.sum(1, keepdims=True)  # every occurrence from the old target
    for i, q in enumerate(pos):
        t[q] = new[i]  # in order: the last occurrence wins
    return t


@given(positions(), st.integers(0, 2**31 - 1))
@settings(max_examples=40, deadline=None)
def test_elr_targets_with_duplicates_match_the_reference(case, seed):
    n, pos, _ = case
    g = torch.Generator().manual_seed(seed)
    elr = ELRTargets(n, 4, "cpu", beta=0.7, lam=3.0)
    t = np.zeros((n, 4), np.float32)
    for _ in range(2):
        z = torch.randn(len(pos), 4, generator=g) * 3
        elr.penalty(z, pos)
        p = torch.softmax(z, 1).clamp(1e-4, 1 - 1e-4).numpy()
        t = _elr_reference(t, pos.numpy(), p, 0.7)
    assert np.allclose(elr.t.numpy(), t, atol=1e-6)


def _duplicate_case(device):
    g = torch.Generator().manual_seed(3)
    pos = torch.randint(0, 50, (4096,), generator=g)  # ~80 occurrences per row
    ok = torch.rand(4096, generator=g) < 0.5
    z = torch.randn(4096, 10, generator=g)
    ev, elr = PresentationEvents(50, device), ELRTargets(50, 10, device, 0.7, 3.0)
    for _ in range(3):
        ev.update(pos.to(device), ok.to(device))
        loss = elr.penalty(z.to(device), pos.to(device))
    return [x.cpu() for x in (ev.count, ev.presentations, ev.last, ev.learned, elr.t, loss)]


def test_duplicates_do_not_depend_on_the_thread_count():
    torch.set_num_threads(2)
    try:
        two = _duplicate_case("cpu")
    finally:
        torch.set_num_threads(1)
    for a, b in zip(two, _duplicate_case("cpu")):
        assert torch.equal(a, b)


@pytest.mark.cuda
@pytest.mark.skipif(hdev.cuda_problem(torch) is not None, reason=NO_CUDA)
def test_cuda_duplicate_writes_equal_the_cpu():
    for a, b in zip(_duplicate_case("cuda"), _duplicate_case("cpu")):
        assert torch.allclose(a.double(), b.double(), atol=1e-5), (a, b)


def test_wrapped_tail_forces_duplicates_in_a_run(data, stream):
    """--tail wrap with batches larger than a task: every batch full, rows repeated inside it."""
    s = run(stream, data, tasks=3, batch_size=512, tail="wrap", loss="elr", augment="shift", **FAST)
    tasks = [r for r in s["rows"] if r["kind"] == "task"]
    assert all(r["n_samples"] < 512 for r in tasks)  # so each batch repeats rows
    assert s["train_samples"] == 512 * 3 and [r["step"] for r in tasks] == [1, 2, 3]
    keep = run(stream, data, tasks=3, batch_size=512, **FAST)
    assert keep["train_samples"] == sum(r["n_samples"] for r in tasks)


# ----------------------------------------------------------------------------- 4. seeding


def test_dropout_model_gives_identical_runs_and_leaves_the_callers_rng_alone(data, stream):
    kw = dict(tasks=2, model="scole_cnn", model_args={"dropout": 0.5}, **FAST)
    state = torch.random.get_rng_state()
    a = run(stream, data, seed=3, **kw)
    torch.rand(7)  # the caller's generator moves on; the run must not care
    b = run(stream, data, seed=3, **kw)
    c = run(stream, data, seed=4, **kw)
    assert _strip(a["rows"]) == _strip(b["rows"]) != _strip(c["rows"])
    torch.random.set_rng_state(state)
    run(stream, data, seed=3, **kw)
    assert torch.equal(torch.random.get_rng_state(), state)  # restored after the run


# ----------------------------------------------------------------------------- 5. --memorization on a clean stream


def test_cli_memorization_on_a_stream_without_noise(data, tmp_path, runner):
    from synprobe.cli import main

    r = runner.invoke(main, ["run", "scole-10c-2pt", "--data", str(data), "-o", str(tmp_path / "m"), "--tasks", "2",
                             "--device", "cpu", "-q", "--no-plots", "--threads", "1", "--memorization"])
    assert r.exit_code == 0, r.output
    assert "memorization: noisy memorized n/a, noisy correct n/a, clean correct " in r.output
    assert json.loads((tmp_path / "m" / "summary.json").read_text())["memorization"]["n_noisy"] == 0


# ----------------------------------------------------------------------------- 6. syncs, cadence, reuse


def test_host_reads_grow_with_tasks_not_with_batches_or_steps(data, stream):
    counts = {}
    for name, kw in {"big eval batches": dict(eval_batch_size=500), "eval batches of 7": dict(eval_batch_size=7),
                     "3 epochs": dict(epochs=3, eval_batch_size=500),
                     "every strategy": dict(loss="elr", replay="reservoir", masking="group", augment="shift",
                                            epochs=2, schedule="cosine")}.items():
        with count_syncs("cpu") as c:
            run(stream, data, tasks=3, **kw, **FAST)
        counts[name] = c.count
    assert len(set(counts.values())) == 1, counts
    with count_syncs("cpu") as c:
        run(stream, data, tasks=5, eval_batch_size=500, **FAST)
    # 2 more tasks: one read per task row and one per evaluation (.cpu + .numpy/.tolist: 2 each)
    assert c.count - counts["big eval batches"] == 2 * 4, dict(c.kinds)


def test_memorization_follows_the_full_evaluation_cadence(data):
    st_ = build("noisy-40-sym", data, overrides={"n_tasks": 4, "ood": ["stratified_font"]})
    s = run(st_, data, ood_every_tasks=2, **FAST)
    memo = [r["task"] for r in s["rows"] if r["kind"] == "memorization"]
    ood = [r["task"] for r in s["rows"] if r["kind"] == "eval" and r["set"] != "iid" and r["at"] == "task_end"]
    assert memo == ood == [1, 3]


def test_memorization_estimate_reads_the_file_once_and_shares_the_images(data, monkeypatch):
    from synprobe.harness import data as hdata
    from synprobe.harness.memorization import estimate

    calls = {"prepare": 0, "DeviceData": 0}
    real_prepare, real_dd = hdata.prepare, hdata.DeviceData

    def prepare(*a, **k):
        calls["prepare"] += 1
        return real_prepare(*a, **k)

    class DD(real_dd):
        def __init__(self, *a, **k):
            calls["DeviceData"] += 1
            super().__init__(*a, **k)

    monkeypatch.setattr(hdata, "prepare", prepare)
    monkeypatch.setattr(hdata, "DeviceData", DD)
    st_ = build("noisy-40-sym", data, overrides={"n_tasks": 2, "ood": ["stratified_font"]})
    estimate(st_, data, runs=3, subset=0.6, device="cpu", progress=False, model="mlp", model_args={"hidden": [16]})
    assert calls == {"prepare": 1, "DeviceData": 1}


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_cuda_optimizer_path_follows_the_schedule_like_the_cpu_one(optimizer):
    """The CUDA path's fused optimizer with a tensor learning rate updated in place (run here with torch's CPU
    fused kernels) takes the same steps as the CPU path's float learning rate under the cosine schedule."""
    from synprobe.harness.config import TrainConfig
    from synprobe.harness.train import _cosine, _optimizer, _set_lr

    cfg = TrainConfig(optimizer=optimizer, lr=0.05, momentum=0.9 if optimizer == "sgd" else 0.0, weight_decay=0.01)
    g = torch.Generator().manual_seed(0)
    start = torch.randn(50, generator=g)
    grads = [torch.randn(50, generator=g) for _ in range(8)]
    out = []
    for fused in (False, True):
        p = torch.nn.Parameter(start.clone())
        opt = _optimizer(torch, cfg, [p], torch.device("cpu"), fused=fused)
        assert isinstance(opt.param_groups[0]["lr"], torch.Tensor) == fused
        for step, gr in enumerate(grads, 1):
            p.grad = gr.clone()
            opt.step()
            _set_lr(opt, cfg.lr * _cosine(step, len(grads)))
        out.append(p.detach())
    assert torch.allclose(out[0], out[1], atol=1e-6) and not torch.equal(out[0], start)


# ----------------------------------------------------------------------------- 8. the smoke script


def test_gpu_smoke_script_reduced_on_the_cpu(data, tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(["bash", str(ROOT / "bench" / "gpu_smoke.sh"), "--cpu", "--data", str(data), "--out",
                        str(tmp_path / "smoke.json")], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads((tmp_path / "smoke.json").read_text())
    assert res["ok"] and res["mode"] == "cpu (reduced)"
    assert res["syncs"]["per_task_constant"] and {c["model"] for c in res["runs"]} >= {"scole_cnn", "resnet18"}
    assert "PASS" in r.stdout


def test_gpu_scole_script_reduced_on_the_cpu(data, tmp_path):
    """The SCoLe GPU script's reduced form: both models, 8 tasks, the CPU comparison equal to the run."""
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(["bash", str(ROOT / "bench" / "gpu_scole.sh"), "--cpu", "--data", str(data), "--out",
                        str(tmp_path / "scole.json")], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads((tmp_path / "scole.json").read_text())
    assert res["ok"] and res["mode"] == "cpu (reduced)" and "PASS" in r.stdout
    assert [c["model"] for c in res["checks"]] == ["scole_cnn", "resnet18"]
    assert all(c["mean_abs_diff"] == 0 and c["tasks"] > 0 for c in res["checks"])  # the CPU path is deterministic
    runs = {(x["model"], x["tasks"]) for x in res["runs"]}
    assert ("scole_cnn", 8) in runs and all(len(x["curve"]) == x["tasks"] for x in res["runs"])


# ----------------------------------------------------------------------------- CUDA only


@pytest.mark.cuda
@pytest.mark.skipif(hdev.cuda_problem(torch) is not None, reason=NO_CUDA)
@pytest.mark.parametrize("amp", ["auto", "fp16", "off"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_cuda_run_every_precision_and_optimizer(data, stream, tmp_path, amp, optimizer):
    s = run(stream, data, out=tmp_path / "r", tasks=2, amp=amp, optimizer=optimizer, schedule="cosine",
            loss="elr", masking="group", replay="reservoir", device="cuda", progress=False, plots=False)
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    assert cfg["device_used"] == "cuda" and cfg["amp_used"] == hdev.resolve_amp(torch, amp, torch.device("cuda"))
    assert all(np.isfinite(r["train_loss"]) for r in s["rows"] if r["kind"] == "task")


@pytest.mark.cuda
@pytest.mark.skipif(hdev.cuda_problem(torch) is not None, reason=NO_CUDA)
@pytest.mark.parametrize("amp", ["off", "auto", "fp16"])
def test_cuda_syncs_grow_with_tasks_not_steps(data, stream, amp):
    counts = []
    for epochs in (1, 3):
        with count_syncs("cuda") as c:
            run(stream, data, tasks=4, epochs=epochs, amp=amp, device="cuda", progress=False, plots=False,
                announce=False, loss="elr", masking="group", optimizer="adam", schedule="cosine")
        counts.append(c.count)
    assert counts[0] == counts[1], counts


@pytest.mark.cuda
@pytest.mark.skipif(hdev.cuda_problem(torch) is not None, reason=NO_CUDA)
def test_cuda_compiled_step_trains(data, stream):
    s = run(stream, data, tasks=2, compile=True, tail="wrap", device="cuda", progress=False, plots=False)
    assert all(np.isfinite(r["train_loss"]) for r in s["rows"] if r["kind"] == "task")
