"""A stream resolved against its images for the adapters: one shared image array and int index arrays.

:func:`resolve` follows ``synprobe run``'s rules (``synprobe.harness.data.prepare``) so that an adapter's
benchmark trains and evaluates on what a run does: the run's classes are the whole stream's (the recipe's
``classes`` and ``class_order`` and every class a task holds), relabelled 0..K-1 in sorted class-id order;
training entries carry the observed (possibly noisy) label; eval sets keep only rows of those K classes and
are left out (``skipped``) when none remain. Nothing here copies an image: tasks, val parts and eval sets are
positions into one uint8 array (the loaded rows of a file, or a :class:`~synprobe.load.Dataset`'s ``x``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synprobe.checksum import file_sha256_cached
from synprobe.errors import SynprobeError
from synprobe.load import Dataset, load, read_table
from synprobe.scenarios import ScenarioError, Stream
from synprobe.scenarios.recipe import build


class AdapterError(SynprobeError, ValueError):
    """A stream and its data that do not fit together, or a missing optional library; one line."""


@dataclass(frozen=True, eq=False)
class StreamData:
    """A stream's tasks, val parts and eval sets as positions into one image array ``x``.

    Attributes:
        x: uint8 (n, H, W, C) images (shared, never copied by the adapters).
        rows: int64 (n,) file row of each image.
        classes: int64 (K,) class ids of the target's class table, in label order 0..K-1.
        class_names: the K class names.
        offsets: int64 (T+1,) task boundaries into ``pos``/``label``/``true``.
        pos, label, true: int64 per training entry: image position, label trained on (observed), true label.
        val: T (positions, labels) pairs (empty arrays when the stream has no val part).
        evals: eval-set name -> (positions, labels), restricted to the K classes.
        skipped: eval sets left out, name -> reason.
        has_val: whether the stream has val parts.
    """

    x: np.ndarray
    rows: np.ndarray
    classes: np.ndarray
    class_names: tuple
    offsets: np.ndarray
    pos: np.ndarray
    label: np.ndarray
    true: np.ndarray
    val: list
    evals: dict
    skipped: dict
    has_val: bool
    target: str

    @property
    def n_tasks(self) -> int:
        return len(self.offsets) - 1

    def task(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(positions, observed labels) of task ``t``'s training entries."""
        s = slice(int(self.offsets[t]), int(self.offsets[t + 1]))
        return self.pos[s], self.label[s]

    def task_ids(self) -> np.ndarray:
        """int64 task number of every training entry."""
        return np.repeat(np.arange(self.n_tasks, dtype=np.int64), np.diff(self.offsets))


def _stream(stream, path) -> Stream:
    """A Stream from a Stream, a ``.npz`` stream file or a scenario recipe name/path (built over ``path``)."""
    if isinstance(stream, Stream):
        return stream
    p = Path(stream)
    try:
        return Stream.load(p) if p.suffix == ".npz" else build(stream, path)
    except ScenarioError as e:
        raise AdapterError(str(e)) from None


def _check_file(stream: Stream, path: Path) -> None:
    """Refuse a stream built over another file (recorded row count or hash), as ``synprobe run`` does."""
    rec = stream.spec.get("data") or {}
    n = read_table(path).n
    if rec.get("n_rows") is not None and int(rec["n_rows"]) != n:
        raise AdapterError(
            f"stream built over {rec.get('file', 'another file')} with {rec['n_rows']:,} rows, "
            f"but {path} has {n:,}; rebuild the stream over this file"
        )
    if rec.get("sha256") and rec["sha256"] != file_sha256_cached(path):
        raise AdapterError(
            f"stream built over {rec.get('file', 'another file')}, which is not {path} "
            "(sha256 differs); rebuild the stream over this file"
        )


def _images(stream: Stream, data, need: np.ndarray, target: str):
    """(x, sorted rows, class id of each row, class names) covering ``need``, from a path or a Dataset."""
    if isinstance(data, Dataset):
        if data.target != target:
            raise AdapterError(
                f"data: a Dataset loaded with target={data.target!r}, but the stream's target is "
                f"{target!r}; load(..., target={target!r})"
            )
        order = np.argsort(data.index, kind="stable")
        rows = data.index[order]
        at = np.searchsorted(rows, need).clip(0, max(len(rows) - 1, 0))
        if len(need) and (len(rows) == 0 or (rows[at] != need).any()):
            miss = int(need[rows[at] != need][0]) if len(rows) else int(need[0])
            raise AdapterError(
                f"data: the Dataset (split {data.split!r}) lacks file row {miss}, which the stream "
                "uses; load the file with split='all'"
            )
        # positions stay the Dataset's own (no reordering copy of x): map rows back through ``order``
        return data.x, data.index, data.y, data.classes, order
    path = Path(data)
    if not path.is_file():
        raise AdapterError(f"data {path}: no such dataset file")
    _check_file(stream, path)
    d = load(path, "all", target=target, rows=need)
    return d.x, d.index, d.y, d.classes, None


def resolve(stream, data, tasks: int | None = None, eval_sets=None) -> StreamData:
    """Resolve ``stream`` (Stream, ``.npz`` or recipe) over ``data`` (a file path or a ``synprobe.load`` Dataset).

    ``tasks``: only the first N tasks (the classes stay the whole stream's); ``eval_sets``: names, None = all.
    """
    stream = _stream(stream, data.path if isinstance(data, Dataset) else data)
    listed = [np.asarray(stream.spec.get(k) or [], np.int64) for k in ("classes", "class_order")]
    classes = np.unique(np.concatenate([*listed, stream.class_indices]))
    if tasks is not None:
        if not 0 < tasks <= len(stream):
            raise AdapterError(f"tasks: {tasks} is not in 1..{len(stream)} (the stream's tasks)")
        stream = stream[:tasks]
    names = list(stream.eval_sets) if eval_sets is None else list(eval_sets)
    for n in names:
        if n not in stream.eval_sets:
            raise AdapterError(
                f"eval_sets: {n!r} is not an eval set of the stream; it has: {', '.join(stream.eval_sets) or 'none'}"
            )
    target = stream.spec.get("target", "char")
    val_rows = stream.val_indices if stream.val_indices is not None else np.zeros(0, np.int64)
    need = np.unique(np.concatenate([stream.indices, val_rows, *(stream.eval_sets[n] for n in names)]))
    x, index, y, class_table, order = _images(stream, data, need, target)
    rows = index if order is None else index[order]
    lut = np.full(max(len(class_table), int(classes.max(initial=-1)) + 1), -1, np.int64)
    lut[classes] = np.arange(len(classes))

    def at(r):  # positions in x of file rows r
        p = np.searchsorted(rows, np.asarray(r, np.int64))
        return p if order is None else order[p]

    def relabel(ids, what):
        ids = np.asarray(ids, np.int64)
        out = np.where((ids >= 0) & (ids < len(lut)), lut[ids.clip(0, len(lut) - 1)], -1)
        if (out < 0).any():
            raise AdapterError(f"{what} has labels outside the stream's {len(classes)} classes")
        return out

    pos = at(stream.indices)
    true = relabel(y[pos] if stream.labels_true is None else stream.labels_true, "the training data")
    label = true if stream.labels_observed is None else relabel(stream.labels_observed, "labels_observed")
    val = []
    for t in range(len(stream)):
        vp = at(stream.task(t).val)
        val.append((vp, relabel(y[vp], f"task {t}'s val part")))
    evals, skipped = {}, {}
    for n in names:
        ep = at(stream.eval_sets[n])
        keep = (y[ep] >= 0) & (lut[y[ep].clip(0, len(lut) - 1)] >= 0)
        if keep.any():
            evals[n] = (ep[keep], lut[y[ep[keep]]])
        else:
            skipped[n] = "no rows of the stream's classes (held-out classes cannot be predicted)"
    return StreamData(
        x=x,
        rows=index,
        classes=classes,
        class_names=tuple(str(class_table[c]) for c in classes),
        offsets=np.asarray(stream.offsets, np.int64),
        pos=pos,
        label=label,
        true=true,
        val=val,
        evals=evals,
        skipped=skipped,
        has_val=stream.val_indices is not None and len(stream.val_indices) > 0,
        target=target,
    )
