"""A continual-learning stream as index arrays (CSR): no copies of the data, no per-task lists.

    >>> import numpy as np
    >>> from synprobe.scenarios.stream import Stream
    >>> s = Stream(indices=np.array([4, 5, 9]), offsets=np.array([0, 2, 3]),
    ...            class_indices=np.array([0, 1]), class_offsets=np.array([0, 1, 2]))
    >>> len(s), s.task(1).train.tolist(), s.task(1).classes.tolist()
    (2, [9], [1])
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from synprobe.io import validate
from synprobe.scenarios._common import ScenarioError, csr_take

__all__ = ["Stream", "Task", "with_eval_sets"]

FORMAT = "synprobe.stream/1"
_EMPTY = np.zeros(0, np.int64)


class Task(NamedTuple):
    """One task: read-only int64 views into the stream's arrays."""

    train: np.ndarray  # rows of the dataset file
    val: np.ndarray  # rows of the dataset file (empty without a val part)
    classes: np.ndarray  # class ids (the target's class table), sorted


def _ro(a, name: str, dtype=np.int64) -> np.ndarray:
    try:
        a = np.ascontiguousarray(a, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise ScenarioError(f"Stream.{name}: not an array of {np.dtype(dtype).name}: {e}") from None
    if a.ndim != 1:
        raise ScenarioError(f"Stream.{name}: expected a 1-d array, got shape {a.shape}")
    a = a.view()  # read-only view: the stream never changes, callers' arrays keep their flags
    a.flags.writeable = False
    return a


def _check_offsets(off: np.ndarray, n: int, name: str) -> None:
    if len(off) == 0 or off[0] != 0 or off[-1] != n or (len(off) > 1 and np.any(np.diff(off) < 0)):
        raise ScenarioError(f"Stream.{name}: offsets must start at 0, never decrease and end at {n}")


@dataclass(frozen=True, eq=False)
class Stream:
    """T tasks over the rows of a dataset file.

    Attributes:
        indices: int64, every task's training rows, concatenated (task t is
            ``indices[offsets[t]:offsets[t+1]]``).
        offsets: int64 (T+1,) task boundaries.
        class_indices, class_offsets: the classes of each task, CSR the same way.
        val_indices, val_offsets: optional per-task validation rows (disjoint from the task's
            training rows), CSR; None when the stream has no val part.
        eval_sets: name -> int64 rows (``"iid"`` test, ``"ood_<split>"`` held-out tests).
        labels_true, labels_observed: optional int64, aligned with ``indices`` (one label per
            training occurrence), for label noise; None when the dataset's labels are used.
        spec: the resolved, JSON-able description of how the stream was built.
        seed: the seed every random choice came from.
    """

    indices: np.ndarray
    offsets: np.ndarray
    class_indices: np.ndarray
    class_offsets: np.ndarray
    val_indices: np.ndarray | None = None
    val_offsets: np.ndarray | None = None
    eval_sets: dict = field(default_factory=dict)
    labels_true: np.ndarray | None = None
    labels_observed: np.ndarray | None = None
    spec: dict = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self):
        s = object.__setattr__
        for name in ("indices", "offsets", "class_indices", "class_offsets"):
            s(self, name, _ro(getattr(self, name), name))
        t = len(self.offsets) - 1
        _check_offsets(self.offsets, len(self.indices), "offsets")
        if len(self.class_offsets) != t + 1:
            raise ScenarioError(f"Stream.class_offsets: {len(self.class_offsets)} entries for {t} tasks; "
                                f"expected {t + 1}")
        _check_offsets(self.class_offsets, len(self.class_indices), "class_offsets")
        if (self.val_indices is None) != (self.val_offsets is None):
            raise ScenarioError("Stream.val_indices and val_offsets: give both or neither")
        if self.val_indices is not None:
            s(self, "val_indices", _ro(self.val_indices, "val_indices"))
            s(self, "val_offsets", _ro(self.val_offsets, "val_offsets"))
            if len(self.val_offsets) != t + 1:
                raise ScenarioError(f"Stream.val_offsets: {len(self.val_offsets)} entries for {t} tasks; "
                                    f"expected {t + 1}")
            _check_offsets(self.val_offsets, len(self.val_indices), "val_offsets")
        for name in ("labels_true", "labels_observed"):
            a = getattr(self, name)
            if a is not None:
                a = _ro(a, name)
                if len(a) != len(self.indices):
                    raise ScenarioError(f"Stream.{name}: {len(a)} labels for {len(self.indices)} indices")
                s(self, name, a)
        if not isinstance(self.eval_sets, dict):
            raise ScenarioError("Stream.eval_sets: expected a dict name -> int array")
        s(self, "eval_sets", {str(k): _ro(v, f"eval_sets[{k!r}]") for k, v in self.eval_sets.items()})
        try:
            spec = json.loads(json.dumps(self.spec))
        except (TypeError, ValueError) as e:
            raise ScenarioError(f"Stream.spec: not JSON-able: {e}") from None
        s(self, "spec", spec)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            raise ScenarioError(f"Stream.seed: {self.seed!r} must be an integer")
        s(self, "seed", int(self.seed))

    # ---- access -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.offsets) - 1

    def task(self, t: int) -> Task:
        """(train rows, val rows, classes) of task ``t`` (negative counts from the end); views."""
        n = len(self)
        if isinstance(t, bool) or not isinstance(t, int | np.integer) or not -n <= t < n:
            raise ScenarioError(f"task {t!r}: expected an integer in [-{n}, {n})")
        t = int(t) % n
        o, c = self.offsets, self.class_offsets
        val = _EMPTY if self.val_indices is None else self.val_indices[self.val_offsets[t]:self.val_offsets[t + 1]]
        return Task(self.indices[o[t]:o[t + 1]], val, self.class_indices[c[t]:c[t + 1]])

    def __getitem__(self, key):
        """``stream[t]`` is :meth:`task`; ``stream[a:b:s]`` (or an int array) a sub-stream."""
        if isinstance(key, slice):
            return self.select(np.arange(len(self))[key])
        if isinstance(key, np.ndarray | list):
            return self.select(key)
        return self.task(key)

    def __iter__(self):
        for t in range(len(self)):
            yield self.task(t)

    def __repr__(self) -> str:
        val = 0 if self.val_indices is None else len(self.val_indices)
        return (f"Stream({self.spec.get('kind', '?')}: {len(self)} tasks, {len(self.indices):,} training rows, "
                f"{val:,} val rows, eval sets {sorted(self.eval_sets)}, seed={self.seed})")

    def task_ids(self) -> np.ndarray:
        """int64 task number of every entry of :attr:`indices`."""
        return np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.offsets))

    def class_counts(self, n_classes: int | None = None) -> np.ndarray:
        """How many tasks each class occurs in (bincount of :attr:`class_indices`)."""
        return np.bincount(self.class_indices, minlength=n_classes or 0)

    def select(self, tasks) -> Stream:
        """A stream of the given tasks (int array, in that order); eval sets and spec kept."""
        tasks = np.asarray(tasks, np.int64)
        n = len(self)
        if tasks.ndim != 1 or (len(tasks) and (tasks.min() < -n or tasks.max() >= n)):
            raise ScenarioError(f"select: task numbers must be a 1-d int array in [-{n}, {n})")
        tasks = tasks % max(n, 1)

        def take(v, o):
            return csr_take(v, o[:-1][tasks], np.diff(o)[tasks])

        idx, off = take(self.indices, self.offsets)
        ci, co = take(self.class_indices, self.class_offsets)
        vi = vo = None
        if self.val_indices is not None:
            vi, vo = take(self.val_indices, self.val_offsets)
        lt = None if self.labels_true is None else take(self.labels_true, self.offsets)[0]
        lo = None if self.labels_observed is None else take(self.labels_observed, self.offsets)[0]
        spec = dict(self.spec, selected_tasks=tasks.tolist() if len(tasks) <= 10_000 else "many")
        return Stream(idx, off, ci, co, vi, vo, dict(self.eval_sets), lt, lo, spec, self.seed)

    # ---- files --------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write an ``.npz`` (no pickle; byte-identical for identical streams); returns the path."""
        path = Path(path)
        meta = {"format": FORMAT, "seed": self.seed, "spec": self.spec, "eval_sets": list(self.eval_sets)}
        arrays = {"indices": self.indices, "offsets": self.offsets,
                  "class_indices": self.class_indices, "class_offsets": self.class_offsets}
        for name in ("val_indices", "val_offsets", "labels_true", "labels_observed"):
            if getattr(self, name) is not None:
                arrays[name] = getattr(self, name)
        for i, name in enumerate(self.eval_sets):
            arrays[f"eval_{i}"] = self.eval_sets[name]
        arrays["meta"] = np.array(json.dumps(meta, sort_keys=True, ensure_ascii=False))
        tmp = path.with_name(path.name + ".tmp")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
            for name, a in arrays.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
                info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                z.writestr(info, buf.getvalue())
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path) -> Stream:
        """Read a stream written by :meth:`save`, validated before and after ``np.load`` (zip
        directory and array headers, meta JSON, dtypes, CSR offsets, ranges): anything else is a
        one-line :class:`ScenarioError` naming the file."""
        path = Path(path)
        validate.check_npz(path, ScenarioError)
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except MemoryError:
            raise ScenarioError(f"{path}: not enough memory to read it") from None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise ScenarioError(validate.one_line(f"{path}: not a stream file ({e})")) from None
        meta = _meta(path, arrays.pop("meta", None))
        names = meta["eval_sets"]
        required = ("indices", "offsets", "class_indices", "class_offsets", *(f"eval_{i}" for i in range(len(names))))
        for name in required:
            if name not in arrays:
                raise ScenarioError(f"{path}: not a {FORMAT} file (no {name!r} array)")
        for name, a in arrays.items():
            if a.dtype.kind not in "iu" or a.ndim != 1:
                raise ScenarioError(f"{path}: {name} is {a.dtype} {a.shape}; expected a 1-d integer array")
        _check_ranges(path, arrays, meta["spec"])
        evals = {name: arrays.pop(f"eval_{i}") for i, name in enumerate(names)}
        try:
            return cls(arrays.pop("indices"), arrays.pop("offsets"), arrays.pop("class_indices"),
                       arrays.pop("class_offsets"), arrays.get("val_indices"), arrays.get("val_offsets"),
                       evals, arrays.get("labels_true"), arrays.get("labels_observed"),
                       meta["spec"], meta["seed"])
        except ScenarioError as e:
            raise ScenarioError(validate.one_line(f"{path}: {e}")) from None


def _meta(path: Path, a) -> dict:
    """The ``meta`` member of a stream file: format, seed, spec (an object) and eval set names."""
    if a is None or a.shape not in ((), (1,)) or a.dtype.kind not in "US":  # save() writes shape (1,)
        got = "missing" if a is None else f"{a.dtype} {a.shape}"
        raise ScenarioError(f"{path}: not a {FORMAT} file (meta is {got}; expected one JSON string)")
    meta = validate.loads_json(a.reshape(()).item(), f"{path}: meta", error=ScenarioError)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        fmt = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ScenarioError(validate.one_line(f"{path}: not a {FORMAT} file (meta format {fmt!r})"))
    spec, seed, names = meta.get("spec"), meta.get("seed"), meta.get("eval_sets")
    if not isinstance(spec, dict):
        raise ScenarioError(f"{path}: meta.spec is a {type(spec).__name__}; expected a JSON object")
    for key in ("recipe", "law", "law_info", "data", "noise"):
        if spec.get(key) is not None and not isinstance(spec[key], dict):
            raise ScenarioError(f"{path}: meta.spec.{key} is a {type(spec[key]).__name__}; expected a JSON object")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ScenarioError(validate.one_line(f"{path}: meta.seed is {seed!r}; expected an integer >= 0"))
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise ScenarioError(f"{path}: meta.eval_sets: expected a list of distinct names")
    return meta


def _check_ranges(path: Path, arrays: dict, spec: dict) -> None:
    """Rows within the dataset (``spec.data.n_rows`` when recorded), class ids among
    ``spec.classes`` (when recorded) and below 2**31: no later bincount can blow up."""
    n_rows = (spec.get("data") or {}).get("n_rows")
    n_rows = n_rows if isinstance(n_rows, int) and not isinstance(n_rows, bool) and n_rows > 0 else None
    for name, a in arrays.items():
        if not len(a) or name.endswith("offsets") or name.startswith("labels_"):
            continue
        lo, hi = int(a.min()), int(a.max())
        top = (1 << 31) if name == "class_indices" else n_rows
        if lo < 0 or (top is not None and hi >= top):
            bad = lo if lo < 0 else hi
            what = "class id" if name == "class_indices" else "row"
            raise ScenarioError(f"{path}: {name} holds {what} {bad}; expected 0..{'' if top is None else top - 1}")
    classes = spec.get("classes")
    if isinstance(classes, list) and all(isinstance(c, int) for c in classes) and len(arrays["class_indices"]):
        extra = np.setdiff1d(arrays["class_indices"], np.asarray(classes, np.int64))
        if len(extra):
            raise ScenarioError(f"{path}: class_indices holds class {int(extra[0])}, not among meta.spec.classes")


def with_eval_sets(stream: Stream, sets: dict, check_disjoint: bool = True) -> Stream:
    """A copy of ``stream`` with evaluation sets added (``{"iid": rows, "ood_font": rows}``).

    With ``check_disjoint`` (default), an eval set sharing a row with any task's train or val
    part is an error: a held-out row must never be trained on.
    """
    new = {str(k): np.asarray(v, np.int64) for k, v in sets.items()}
    if check_disjoint and new:
        seen = np.unique(stream.indices if stream.val_indices is None
                         else np.concatenate([stream.indices, stream.val_indices]))
        for name, rows in new.items():
            bad = np.isin(rows, seen, assume_unique=False)
            if bad.any():
                raise ScenarioError(f"eval set {name!r}: {int(bad.sum())} of its {len(rows)} rows are in the "
                                    f"stream's training/val rows (first: {int(rows[bad][0])}); hold them out")
    return replace(stream, eval_sets={**stream.eval_sets, **new})
