"""The ceiling of any training harness on this machine: bare training steps of ``scole_cnn``.

    python bench/bench_train_step.py             # batch 64, torch threads = all cores, fp32
    python bench/bench_train_step.py --bf16      # + the same steps under bf16 autocast

No data handling, no evaluation, no metrics: random tensors already in memory (channels-last, as
``synprobe run`` feeds them), then forward + cross-entropy + backward + SGD step, repeated. What a
harness can reach on the protocol of ``bench/bench_train.py`` is below this number (the protocol
also evaluates after every task), whatever the harness. Also timed: ``torch.func`` vmap over K
stacked copies of the network (training several seeds in one process), against K sequential steps.
From bare steps and a bare evaluation forward it computes the ceiling of ``bench_train.py``'s protocol
(training samples/s if the harness cost nothing) and its ratio to Avalanche's measured rate
(``bench/results/train_cpu.json``). Results: stdout and ``bench/results/train_step_cpu.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time
from pathlib import Path

from _machine import machine_info  # bench/ is on sys.path when a bench script runs

ROOT = Path(__file__).resolve().parents[1]


def bare_steps(torch, batch: int, steps: int, bf16: bool) -> float:
    from synprobe.harness.models import build_model

    m = build_model("scole_cnn", (3, 32, 32), 10).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(m(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(20):
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - t)


def bare_eval(torch, batch: int, steps: int, bf16: bool) -> float:
    """Images/s of the evaluation forward pass (inference mode, channels-last, argmax)."""
    from synprobe.harness.models import build_model

    m = build_model("scole_cnn", (3, 32, 32), 10).to(memory_format=torch.channels_last).eval()
    x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for _ in range(20):
            m(x).argmax(1)
        t = time.perf_counter()
        for _ in range(steps):
            m(x).argmax(1)
    return batch * steps / (time.perf_counter() - t)


def vmapped_steps(torch, k: int, batch: int, steps: int) -> float:
    from torch.func import functional_call, grad_and_value, stack_module_state, vmap

    from synprobe.harness.models import build_model

    models = [build_model("scole_cnn", (3, 32, 32), 10) for _ in range(k)]
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")

    def loss_fn(p, b, xb, yb):
        return torch.nn.functional.cross_entropy(functional_call(base, (p, b), (xb,)), yb)

    g = vmap(grad_and_value(loss_fn))
    x, y = torch.randn(k, batch, 3, 32, 32), torch.randint(0, 10, (k, batch))

    def step():
        grads, _ = g(params, buffers, x, y)
        with torch.no_grad():
            for n in params:
                params[n].sub_(0.01 * grads[n])

    for _ in range(5):
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return k * batch * steps / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeat", type=int, default=3, help="the fastest of R timings is reported")
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--eval-batch", type=int, default=128, help="evaluation minibatch (synprobe's CPU default)")
    ap.add_argument("--eval-per-sample", type=float, default=1.858,
                    help="evaluation images per training sample in bench_train.py's protocol: 101 evaluations "
                         "of the 1,415 iid test rows per 76,933 training samples (100 tasks)")
    ap.add_argument("--vmap", default="1,2,4", help="K values for the torch.func comparison ('' to skip)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/train_step_cpu.json")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    res = {"machine": {**machine_info(), "torch": torch.__version__, "threads": a.threads}, "batch": a.batch}
    res["fp32_samples_per_s"] = max(bare_steps(torch, a.batch, a.steps, False) for _ in range(a.repeat))
    print(f"bare fp32 training steps, batch {a.batch}, {a.threads} threads: "
          f"{res['fp32_samples_per_s']:,.0f} samples/s")
    if a.bf16:
        res["bf16_samples_per_s"] = max(bare_steps(torch, a.batch, a.steps, True) for _ in range(a.repeat))
        print(f"bare bf16-autocast training steps: {res['bf16_samples_per_s']:,.0f} samples/s")
    res["eval_images_per_s"] = max(bare_eval(torch, a.eval_batch, a.steps, False) for _ in range(a.repeat))
    print(f"bare fp32 evaluation forward, batch {a.eval_batch}: {res['eval_images_per_s']:,.0f} images/s")
    # the protocol of bench_train.py: r evaluation images per training sample
    ceiling = 1 / (1 / res["fp32_samples_per_s"] + a.eval_per_sample / res["eval_images_per_s"])
    res["protocol_ceiling_samples_per_s"] = ceiling
    print(f"ceiling on bench_train.py's protocol ({a.eval_per_sample} evaluation images per training sample), "
          f"no harness overhead at all: {ceiling:,.0f} samples/s")
    peer_file = ROOT / "bench/results/train_cpu.json"
    if peer_file.exists():
        peer = next((r for r in json.loads(peer_file.read_text())["rows"] if r["side"] == "avalanche"), None)
        if peer:
            res["peer_samples_per_s"] = peer["samples_per_s"]
            print(f"= {ceiling / peer['samples_per_s']:.2f}x Avalanche's {peer['samples_per_s']:,.0f} samples/s "
                  f"({peer_file.relative_to(ROOT)}); 3x would be {3 * peer['samples_per_s']:,.0f}")
    res["vmap"] = []
    for k in [int(v) for v in a.vmap.split(",") if v.strip()]:
        v = max(vmapped_steps(torch, k, a.batch, a.steps // k) for _ in range(a.repeat))
        res["vmap"].append({"k": k, "samples_per_s": v})
        print(f"torch.func vmap over {k} stacked networks: {v:,.0f} samples/s")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1))
    print(f"results: {a.out}")


if __name__ == "__main__":
    main()
