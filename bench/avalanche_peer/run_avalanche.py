"""Peer benchmark: Avalanche 0.6.0's ``Naive`` strategy over a synprobe stream, on CPU.

Run with the peer venv (``bash bench/avalanche_peer/setup.sh``)::

    $AVALANCHE_VENV/bin/python bench/avalanche_peer/run_avalanche.py --data default.h5 --stream s.npz \\
        --tasks 100 --json bench/results/avalanche_naive.json

Same protocol as ``synprobe run STREAM --model scole_cnn --optimizer sgd --lr 0.01 --batch-size 64 --epochs 1
--clip 10 --eval-sets iid --eval-every-tasks 1``: the stream's classes relabelled 0..K-1 in sorted class-id order,
one Avalanche experience per task holding that task's training rows, one test experience holding the stream's
``iid`` eval rows of those classes, x/255 then (x - 0.5)/0.5, SGD (momentum 0) with gradient-norm clipping by a
four-line plugin (Avalanche 0.6.0 has none built in), and the default evaluator replaced by stream accuracy on
the test stream, evaluated before training and after every task. No logger by default (``--text-log FILE``
adds a ``TextLogger`` writing to FILE).

Timed: the train + eval loop only (``loop_s``); imports (``import_s``), data loading (``load_s``) and
benchmark building (``build_s``) are reported apart. ``--normalise build`` (default) normalises the images
once while building, into float32 tensors held by a ``TensorDataset`` (the fastest natural choice for the
peer: no per-sample transform); ``--normalise transform`` keeps uint8 HWC arrays and applies torchvision's
``ToTensor`` + ``Normalize`` per sample, the usual torchvision-style set-up.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import importlib.metadata as md  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from avalanche.benchmarks.scenarios.dataset_scenario import benchmark_from_datasets  # noqa: E402
from avalanche.benchmarks.utils import TransformGroups, as_classification_dataset  # noqa: E402
from avalanche.core import SupervisedPlugin  # noqa: E402
from avalanche.evaluation.metrics import accuracy_metrics  # noqa: E402
from avalanche.logging import TextLogger  # noqa: E402
from avalanche.training.plugins import EvaluationPlugin  # noqa: E402
from avalanche.training.supervised import Naive  # noqa: E402

import synprobe  # noqa: E402
from synprobe.scenarios import Stream  # noqa: E402

IMPORT_S = time.perf_counter() - T_START


class GradClip(SupervisedPlugin):
    """Clips the global gradient norm between backward and the optimizer step."""

    def __init__(self, max_norm: float):
        super().__init__()
        self.max_norm = max_norm

    def before_update(self, strategy, *args, **kwargs):
        torch.nn.utils.clip_grad_norm_(strategy.model.parameters(), self.max_norm)


class ArrayDataset(torch.utils.data.Dataset):
    """uint8 HWC images (N, H, W, C) with int64 labels (N,), one (image, label) pair per index."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x, self.targets = x, torch.from_numpy(y)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.targets[i]


def scole_cnn(n_classes: int) -> torch.nn.Module:
    """synprobe's ``scole_cnn`` for 3x32x32 input; a local copy of the architecture if synprobe lacks it."""
    try:
        from synprobe.harness.models import build_model
    except ImportError:
        nn = torch.nn
        return nn.Sequential(nn.Conv2d(3, 10, 5), nn.MaxPool2d(2), nn.ReLU(), nn.Conv2d(10, 20, 5), nn.MaxPool2d(2),
                             nn.ReLU(), nn.Flatten(), nn.Linear(500, 50), nn.ReLU(), nn.Linear(50, n_classes))
    return build_model("scole_cnn", (3, 32, 32), n_classes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="synprobe .h5 file the stream indexes")
    ap.add_argument("--stream", required=True, help="stream .npz (synprobe scenario build)")
    ap.add_argument("--tasks", type=int, default=100, help="first N tasks of the stream")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch intra-op threads")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--eval-batch-size", type=int, default=512)
    ap.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd", help="SGD (momentum 0) or Adam")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--clip", type=float, default=10.0, help="gradient-norm clip; 0 = off")
    ap.add_argument("--normalise", choices=("build", "transform"), default="build")
    ap.add_argument("--text-log", help="add an Avalanche TextLogger writing to this file")
    ap.add_argument("--json", help="write the result here")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)

    # --- load ------------------------------------------------------------------------------------------------
    t0 = time.perf_counter()
    s = Stream.load(a.stream)
    n_tasks = min(a.tasks, len(s))
    classes = sorted(int(c) for c in s.spec["classes"])
    tasks = [np.asarray(s.task(t)[0], np.int64) for t in range(n_tasks)]
    d = synprobe.load(a.data, split="all", target=s.spec.get("target", "char"))
    relabel = np.full(int(d.y.max()) + 1, -1, np.int64)
    relabel[classes] = np.arange(len(classes))
    test_rows = np.asarray(s.eval_sets["iid"], np.int64)
    test_rows = test_rows[np.isin(d.y[test_rows], classes)]
    pool = np.unique(np.concatenate(tasks))  # every training row of the first n_tasks tasks
    x_pool, y_pool = d.x[pool], relabel[d.y[pool]]
    x_test, y_test = d.x[test_rows], relabel[d.y[test_rows]]
    load_s = time.perf_counter() - t0

    # --- benchmark: one experience per task (subsets of one dataset), one test experience ----------------------
    t0 = time.perf_counter()
    if a.normalise == "build":
        def tensors(x, y):
            xt = torch.from_numpy(x).permute(0, 3, 1, 2).float().div_(255).sub_(0.5).div_(0.5).contiguous()
            ds = torch.utils.data.TensorDataset(xt, torch.from_numpy(y))
            ds.targets = y.tolist()
            return as_classification_dataset(ds)
        full, test = tensors(x_pool, y_pool), tensors(x_test, y_test)
    else:
        from torchvision import transforms as tv
        tf = tv.Compose([tv.ToTensor(), tv.Normalize((0.5,) * 3, (0.5,) * 3)])
        groups = TransformGroups({"train": tf, "eval": tf})
        full = as_classification_dataset(ArrayDataset(x_pool, y_pool), transform_groups=groups)
        test = as_classification_dataset(ArrayDataset(x_test, y_test), transform_groups=groups)
    train_sets = [full.subset(np.searchsorted(pool, rows).tolist()) for rows in tasks]
    bm = benchmark_from_datasets(train=train_sets, test=[test])
    build_s = time.perf_counter() - t0

    # --- strategy ----------------------------------------------------------------------------------------------
    model = scole_cnn(len(classes))
    loggers = []
    log_file = None
    if a.text_log:
        log_file = open(a.text_log, "w")  # noqa: SIM115 (closed at the end)
        loggers.append(TextLogger(log_file))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No loggers specified")
        evaluator = EvaluationPlugin(accuracy_metrics(stream=True), loggers=loggers)
    if a.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.0)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    strategy = Naive(model=model, optimizer=opt, criterion=torch.nn.CrossEntropyLoss(), train_mb_size=a.batch_size,
                     train_epochs=1, eval_mb_size=a.eval_batch_size, device="cpu",
                     plugins=[GradClip(a.clip)] if a.clip > 0 else None, evaluator=evaluator)

    def iid_acc(metrics: dict) -> float:
        return float(next(v for k, v in metrics.items() if k.startswith("Top1_Acc_Stream/eval_phase/test_stream")))

    # --- timed loop: eval before training, then train + eval per task ---------------------------------------------
    curve, train_s, eval_s, samples = [], 0.0, 0.0, 0
    t_loop = time.perf_counter()
    curve.append(iid_acc(strategy.eval(bm.test_stream)))
    eval_s += time.perf_counter() - t_loop
    for exp in bm.train_stream:
        t0 = time.perf_counter()
        strategy.train(exp)
        t1 = time.perf_counter()
        curve.append(iid_acc(strategy.eval(bm.test_stream)))
        train_s += t1 - t0
        eval_s += time.perf_counter() - t1
        samples += len(exp.dataset)
    loop_s = time.perf_counter() - t_loop
    if log_file:
        log_file.close()

    # --- result ------------------------------------------------------------------------------------------------
    out = {
        "peer": "avalanche-lib", "avalanche_version": md.version("avalanche-lib"), "strategy": "Naive",
        "torch_version": torch.__version__, "numpy_version": np.__version__, "python": platform.python_version(),
        "threads": torch.get_num_threads(), "seed": a.seed, "tasks": n_tasks, "n_classes": len(classes),
        "classes": classes, "train_samples": samples, "test_rows": len(test_rows), "batch_size": a.batch_size,
        "optimizer": a.optimizer, "lr": a.lr, "clip": a.clip or None, "normalise": a.normalise,
        "logger": "TextLogger" if a.text_log else None,
        "import_s": IMPORT_S, "load_s": load_s, "build_s": build_s, "loop_s": loop_s, "train_s": train_s,
        "eval_s": eval_s, "samples_per_s": samples / loop_s, "train_samples_per_s": samples / train_s,
        "final_iid": curve[-1], "iid_curve": curve, "argv": sys.argv,
    }
    print(f"avalanche {out['avalanche_version']} Naive: {n_tasks} tasks, {samples:,} samples, loop {loop_s:.1f} s "
          f"(train {train_s:.1f} s, eval {eval_s:.1f} s): {out['samples_per_s']:,.0f} samples/s "
          f"({out['train_samples_per_s']:,.0f} train-only); final iid acc {curve[-1]:.3f}; build {build_s:.2f} s")
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
