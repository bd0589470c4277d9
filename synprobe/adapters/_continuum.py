"""``to_continuum``: a synprobe stream as a Continuum 1.2.7 ``ContinualScenario`` without a per-entry copy.

Continuum's ``ContinualScenario`` takes one in-memory dataset ``(x, y, t)`` with a task id per entry and
slices it per task (``x[indexes]``). Given a plain array, a recurring stream (a row in many tasks) would need
one image copy per entry; here ``x`` is an :class:`~synprobe.adapters._views.IndexedRows` view, so the
entries cost 8 bytes of position each and a task's slice is another view. Val parts and eval sets are
``TaskSet``s over views of the same array.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from synprobe.adapters._resolve import AdapterError, StreamData, resolve
from synprobe.adapters._views import MEAN, STD, IndexedRows
from synprobe.errors import SynprobeError


class ContinuumStreams(NamedTuple):
    """What :func:`to_continuum` returns: the training scenario, its val parts, its eval sets."""

    train: object  # continuum.scenarios.ContinualScenario, one task per stream task
    valid: list | None  # per task a continuum TaskSet of its val part (None: the stream has none)
    test: dict  # eval-set name -> TaskSet (rows of the stream's classes only)
    stream_data: StreamData  # the resolved arrays (classes, skipped eval sets, ...)


def _continuum():
    try:
        from continuum.datasets import InMemoryDataset
        from continuum.scenarios import ContinualScenario
        from continuum.tasks import TaskSet, TaskType
        from torchvision import transforms
    except ImportError:
        raise SynprobeError(
            "to_continuum needs continuum: pip install -e '.[continuum]' (from the synprobe checkout)"
        ) from None
    return InMemoryDataset, ContinualScenario, TaskSet, TaskType, transforms


def to_continuum(stream, data, *, tasks: int | None = None, eval_sets=None, transformations=None) -> ContinuumStreams:
    """Continuum objects for ``stream`` over ``data`` (a file path or a ``synprobe.load(..., "all")`` Dataset).

    ``transformations``: Continuum's list of transforms (applied to a PIL image); None = ``ToTensor`` and
    ``synprobe run``'s normalisation ((x - 0.5) / 0.5). ``tasks`` and ``eval_sets`` as in ``to_avalanche``.
    """
    InMemoryDataset, ContinualScenario, TaskSet, TaskType, tv = _continuum()
    sd = resolve(stream, data, tasks, eval_sets)
    empty = np.flatnonzero(np.diff(sd.offsets) == 0)
    if len(empty):
        raise AdapterError(
            f"task {int(empty[0])} has no training entries; Continuum's ContinualScenario needs "
            "at least one per task (select the other tasks: stream[...])"
        )
    if transformations is None:
        c = sd.x.shape[3]
        transformations = [tv.ToTensor(), tv.Normalize((MEAN,) * c, (STD,) * c)]
    x = sd.x[..., 0] if sd.x.shape[3] == 1 else sd.x  # a view: PIL reads (H, W) for one channel
    train = ContinualScenario(
        InMemoryDataset(IndexedRows(x, sd.pos), sd.label, sd.task_ids()), transformations=transformations
    )
    trsf = tv.Compose(transformations)

    def task_set(pos, labels, t):
        return TaskSet(
            IndexedRows(x, pos),
            np.asarray(labels),
            np.full(len(pos), t, np.int64),
            trsf=trsf,
            data_type=TaskType.IMAGE_ARRAY,
        )

    valid = [task_set(p, y, t) for t, (p, y) in enumerate(sd.val)] if sd.has_val else None
    test = {name: task_set(p, y, -1) for name, (p, y) in sd.evals.items()}
    return ContinuumStreams(train, valid, test, sd)
