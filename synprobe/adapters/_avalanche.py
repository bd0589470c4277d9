"""``to_avalanche``: a synprobe stream as an Avalanche 0.6.0 benchmark, every experience an index view.

One training experience per task (its entries with the labels trained on: observed, possibly noisy), one
``valid`` experience per task when the stream has val parts, and the eval sets: ``test_stream`` holds one
experience per eval set (in the stream's order, named by ``benchmark.eval_set_names``) and each set is also
a one-experience stream of its own name (``benchmark.iid_stream``, ``benchmark.ood_<split>_stream``).
Every dataset is a ``TorchRows`` over the same image array: no image is copied.
"""

from __future__ import annotations

import warnings

from synprobe.adapters._resolve import AdapterError, StreamData, resolve
from synprobe.adapters._views import torch_rows_class
from synprobe.errors import SynprobeError

_RESERVED = ("train", "valid", "test")


def _avalanche():
    # importing avalanche warns about optional solvers of its dependencies (qpsolvers, JAXopt) that these
    # benchmarks never use; the warnings say nothing a user can act on, so they are silenced here, once
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from avalanche.benchmarks.scenarios.dataset_scenario import benchmark_from_datasets
            from avalanche.benchmarks.utils.classification_dataset import TaskAwareClassificationDataset
            from avalanche.benchmarks.utils.data_attribute import DataAttribute, TaskLabels
            from avalanche.benchmarks.utils.flat_data import ConstantSequence
    except ImportError:
        raise SynprobeError(
            "to_avalanche needs avalanche-lib: pip install -e '.[avalanche]' (from the synprobe checkout)"
        ) from None

    def as_dataset(rows):
        """Avalanche's classification dataset over ``rows``: ``targets`` and task label 0 (one head, no task id,
        as ``synprobe run``); strategies read minibatches as (x, y, task label)."""
        return TaskAwareClassificationDataset(
            [rows],
            data_attributes=[
                DataAttribute(rows.targets.tolist(), "targets"),
                TaskLabels(ConstantSequence(0, len(rows))),
            ],
        )

    return benchmark_from_datasets, as_dataset


def to_avalanche(stream, data, *, tasks: int | None = None, eval_sets=None, transform=None):
    """An Avalanche benchmark (``CLScenario``) of ``stream`` over ``data``.

    Args:
        stream: a Stream, a ``.npz`` stream file or a scenario recipe name/path.
        data: the dataset file's path, or a Dataset from ``synprobe.load(path, "all", target=...)``.
        tasks: only the first N tasks (classes stay the whole stream's, as in ``synprobe run --tasks``).
        eval_sets: eval-set names to include; None = all the stream's.
        transform: ``fn(uint8 (H, W, C) array) -> tensor``; None = ``synprobe run``'s normalisation.

    Returns:
        The benchmark, with ``train_stream``, ``valid_stream`` (streams with val parts), ``test_stream``
        (streams with eval sets) and a ``<name>_stream`` per eval set, plus ``classes``/``class_names`` (label k
        is class id ``classes[k]``), ``eval_set_names``, ``skipped_eval_sets`` and ``stream_data`` (the resolved
        arrays).
    """
    benchmark_from_datasets, as_dataset = _avalanche()
    sd = resolve(stream, data, tasks, eval_sets)
    rows_cls = torch_rows_class()

    def ds(pos, labels, true=None):
        return as_dataset(rows_cls(sd.x, pos, labels, true, transform))

    streams = {"train": [ds(*sd.task(t), sd.true[sd.offsets[t] : sd.offsets[t + 1]]) for t in range(sd.n_tasks)]}
    if sd.has_val:
        streams["valid"] = [ds(p, y) for p, y in sd.val]
    if sd.skipped and not sd.evals:
        raise AdapterError(
            "eval_sets: none left with rows of the stream's classes; skipped: "
            + "; ".join(f"{k} ({v})" for k, v in sd.skipped.items())
        )
    if sd.evals:  # a stream without eval sets gets no test stream
        streams["test"] = [ds(p, y) for p, y in sd.evals.values()]
    for name, (p, y) in sd.evals.items():
        if name not in _RESERVED and name.isidentifier():
            streams[name] = [ds(p, y)]
    bm = benchmark_from_datasets(**streams)
    _describe(bm, sd)
    return bm


def _describe(bm, sd: StreamData) -> None:
    """What a user needs next to the streams: the class table, the eval sets, the resolved arrays."""
    bm.classes, bm.class_names = sd.classes.tolist(), list(sd.class_names)
    bm.eval_set_names, bm.skipped_eval_sets = list(sd.evals), dict(sd.skipped)
    bm.stream_data = sd
