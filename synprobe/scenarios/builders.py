"""Stream builders: each one only decides which classes or which samples every task holds; the
shared assemblers own all indexing (rows, budgets, val parts), vectorised over tasks.

Builders take the TRAIN part of a dataset (``d = load(path, "train")``: ``d.y`` labels and
``d.index`` file rows), so held-out rows never enter a stream:

    >>> import numpy as np
    >>> from synprobe.scenarios.builders import recurring
    >>> y = np.repeat(np.arange(5), 20)                  # 5 classes, 20 samples each
    >>> s = recurring(y, classes_per_task=2, n_tasks=3, samples_per_class=10, seed=0)
    >>> [len(t.train) for t in s], [len(t.val) for t in s]
    ([18, 18, 18], [2, 2, 2])

Layout: this module holds the builders (``recurring``, ``recur``, ``class_incremental``,
``instance_incremental``, ``domain_incremental``, ``drift``);
``_assemble.py`` the argument checks, random subsets and the assemblers;
``_files.py`` the dataset-file helpers (``train_from_file``,
``eval_sets_from_file``, ``attach_eval_sets``). Import everything from here.
"""

from __future__ import annotations

import numpy as np

from synprobe.rng import check_seed, rng_for
from synprobe.scenarios._assemble import (
    assemble_classes,
    assemble_samples,
    check_fraction,
    check_int,
    labels_index,
    pack_stream,
    random_subsets,
    task_classes,
)
from synprobe.scenarios._common import ScenarioError, csr_take
from synprobe.scenarios._files import (
    attach_eval_sets,
    eval_sets_from_file,
    held_out_counts,
    held_out_splits,
    train_from_file,
)
from synprobe.scenarios.laws import Law, Uniform, law_from_spec
from synprobe.scenarios.stream import Stream

__all__ = [
    "attach_eval_sets",
    "class_incremental",
    "recur",
    "domain_incremental",
    "drift",
    "eval_sets_from_file",
    "held_out_counts",
    "held_out_splits",
    "instance_incremental",
    "recurring",
    "train_from_file",
]

SCHEDULES = ("linear", "cosine", "triangle", "random")


# ---- builders -------------------------------------------------------------------------------
def _class_list(y, classes, n_classes, seed):
    present = np.unique(y[y >= 0])
    if classes is not None:
        cl = np.asarray(classes, np.int64)
        missing = np.setdiff1d(cl, present)
        if cl.ndim != 1 or len(np.unique(cl)) != len(cl) or len(missing):
            raise ScenarioError(f"classes: expected distinct labels present in the train part; "
                                f"not present: {missing[:5].tolist()}")
        if n_classes is not None:
            raise ScenarioError("classes and n_classes: give one or the other")
        return cl
    if n_classes is None:
        return present
    n_classes = check_int(n_classes, "n_classes")
    if n_classes > len(present):
        raise ScenarioError(f"n_classes={n_classes} exceeds the {len(present)} classes of the train part")
    return np.sort(rng_for(seed, "scenario/classes", ScenarioError).choice(present, n_classes, replace=False))


def recurring(labels, index=None, *, n_classes=None, classes=None, classes_per_task=None, n_tasks=1000,
              law: Law | str | dict = "uniform", samples_per_class=None, val_fraction=0.1, seed=0) -> Stream:
    """SCoLe-style recurring stream: every task is C distinct classes drawn by ``law``, with all
    their train samples (or ``samples_per_class`` of each, without replacement within the task,
    redrawn every task); a val part of round(val_fraction * k) samples per class of the task.

    Args:
        labels, index: ``Dataset.y`` and ``Dataset.index`` of the TRAIN part (index defaults
            to 0..n-1). Samples with label -1 are never used.
        n_classes: None (every class) or a seeded random subset of that many classes.
        classes: explicit class list, in the order the law sees them (instead of n_classes).
        classes_per_task: C (None only for the CIR law).
        n_tasks: T.
        law: a :mod:`~synprobe.scenarios.laws` law, a name, or a spec dict.
        samples_per_class: None or a per-task budget per class.
        val_fraction: in [0, 1); 0 gives no val part.
        seed: every random choice derives from it.
    """
    seed = check_seed(seed, ScenarioError)
    y, idx = labels_index(labels, index)
    law = law_from_spec(law if law is not None else Uniform())
    n_tasks = check_int(n_tasks, "n_tasks")
    val_fraction = check_fraction(val_fraction)
    if samples_per_class is not None:
        samples_per_class = check_int(samples_per_class, "samples_per_class")
    cl = _class_list(y, classes, n_classes, seed)
    if len(cl) == 0:
        raise ScenarioError("labels: no sample has a class (all labels are -1 or the train part is empty)")
    pos_ci, co, info = law.draw(len(cl), classes_per_task, n_tasks, rng_for(seed, "scenario/law", ScenarioError))
    tr, tr_off, va, va_off = assemble_classes(y, idx, cl, pos_ci, co, samples_per_class, val_fraction,
                                               rng_for(seed, "scenario/samples", ScenarioError))
    spec = {"kind": "recurring", "classes": cl.tolist(), "classes_per_task": classes_per_task,
            "n_tasks": n_tasks, "law": law.spec(), "law_info": info, "samples_per_class": samples_per_class,
            "val_fraction": val_fraction, "n_samples": int(len(y))}
    return pack_stream(tr, tr_off, va, va_off, cl[pos_ci], co, val_fraction, spec, seed)


def recur(stream: Stream, recurrence=None) -> Stream:
    """The tasks of ``stream`` shown again: ``recurrence`` None (once), an int R (the whole
    sequence R times) or a list of task numbers (any order, any repetition)."""
    if recurrence is None:
        return stream
    n = len(stream)
    if isinstance(recurrence, int | np.integer) and not isinstance(recurrence, bool):
        seq = np.tile(np.arange(n), check_int(recurrence, "recurrence"))
    else:
        seq = np.asarray(recurrence, np.int64)
        if seq.ndim != 1 or len(seq) == 0 or seq.min() < 0 or seq.max() >= n:
            raise ScenarioError(f"recurrence: expected an int >= 1 or task numbers in [0, {n})")
    out = stream.select(seq)
    spec = dict(out.spec, recurrence=recurrence if isinstance(recurrence, int) else seq.tolist())
    spec.pop("selected_tasks", None)
    return Stream(out.indices, out.offsets, out.class_indices, out.class_offsets, out.val_indices, out.val_offsets,
                  out.eval_sets, out.labels_true, out.labels_observed, spec, out.seed)


def class_incremental(labels, index=None, *, increment=2, initial_increment=0, class_order=None,
                      val_fraction=0.1, recurrence=None, seed=0) -> Stream:
    """Disjoint class-incremental tasks: ``initial_increment`` classes first (if > 0), then
    ``increment`` classes per task (an int, or a list of task sizes), in ``class_order``
    (default: a seeded shuffle of the classes, recorded in the spec). All samples of a class."""
    seed = check_seed(seed, ScenarioError)
    y, idx = labels_index(labels, index)
    val_fraction = check_fraction(val_fraction)
    present = np.unique(y[y >= 0])
    if class_order is None:
        order = rng_for(seed, "scenario/class_order", ScenarioError).permutation(present)
    else:
        order = np.asarray(class_order, np.int64)
        if order.ndim != 1 or len(np.unique(order)) != len(order) or not np.isin(order, present).all():
            raise ScenarioError("class_order: expected distinct labels present in the train part")
    n = len(order)
    if isinstance(increment, list | tuple):
        sizes = [check_int(s, "increment[i]") for s in increment]
        if initial_increment:
            raise ScenarioError("initial_increment: not used when increment is a list of task sizes")
    else:
        inc = check_int(increment, "increment")
        first = check_int(initial_increment, "initial_increment", lo=0)
        rest = n - first
        if rest < 0 or rest % inc:
            raise ScenarioError(f"increment={inc}, initial_increment={first}: {n} classes do not split into "
                                f"tasks of that size ({rest} left after the first task)")
        sizes = ([first] if first else []) + [inc] * (rest // inc)
    if sum(sizes) != n:
        raise ScenarioError(f"increment: task sizes sum to {sum(sizes)}; the class order has {n} classes")
    co = np.zeros(len(sizes) + 1, np.int64)
    np.cumsum(sizes, out=co[1:])
    ci = np.concatenate([np.sort(order[co[t]:co[t + 1]]) for t in range(len(sizes))]) if sizes else order
    pos = np.searchsorted(present, ci)
    tr, tr_off, va, va_off = assemble_classes(y, idx, present, pos, co, None, val_fraction,
                                               rng_for(seed, "scenario/samples", ScenarioError))
    spec = {"kind": "class_incremental", "class_order": order.tolist(), "task_sizes": sizes,
            "val_fraction": val_fraction, "n_samples": int(len(y))}
    return recur(pack_stream(tr, tr_off, va, va_off, ci, co, val_fraction, spec, seed), recurrence)


def instance_incremental(n, n_tasks, *, labels=None, index=None, val_fraction=0.1, recurrence=None,
                         seed=0) -> Stream:
    """New instances only: a seeded permutation of the n samples cut into ``n_tasks`` parts of
    n // n_tasks samples (the first n % n_tasks parts get one more)."""
    seed = check_seed(seed, ScenarioError)
    n = check_int(n, "n", lo=0)
    n_tasks = check_int(n_tasks, "n_tasks")
    val_fraction = check_fraction(val_fraction)
    y = None
    if labels is not None:
        y, idx = labels_index(labels, index)
        if len(y) != n:
            raise ScenarioError(f"labels: {len(y)} labels for n={n}")
    else:
        idx = np.arange(n, dtype=np.int64) if index is None else np.asarray(index, np.int64)
        if idx.shape != (n,):
            raise ScenarioError(f"index: expected {n} rows, got shape {idx.shape}")
    if n_tasks > max(n, 1):
        raise ScenarioError(f"n_tasks={n_tasks} exceeds the {n} samples")
    pos = rng_for(seed, "scenario/instances", ScenarioError).permutation(n)
    sizes = np.full(n_tasks, n // n_tasks, np.int64)
    sizes[: n % n_tasks] += 1
    off = np.zeros(n_tasks + 1, np.int64)
    np.cumsum(sizes, out=off[1:])
    # sorted inside each task: file order, deterministic
    pos = np.sort(np.repeat(np.arange(n_tasks), sizes) * max(n, 1) + pos) % max(n, 1)
    ci, co = task_classes(y, pos, off)
    val_rng = rng_for(seed, "scenario/val", ScenarioError)
    tr, tr_off, va, va_off = assemble_samples(idx, pos, off, val_fraction, val_rng)
    spec = {"kind": "instance_incremental", "n": n, "n_tasks": n_tasks, "val_fraction": val_fraction}
    return recur(pack_stream(tr, tr_off, va, va_off, ci, co, val_fraction, spec, seed), recurrence)


def domain_incremental(labels, domains, index=None, *, groups=None, recurrence=None, val_fraction=0.1,
                       seed=0) -> Stream:
    """One domain group per task: every sample whose domain code (font group, script, pattern
    kind...) is in the group. ``groups``: a list of lists of domain values (default: each value
    alone, in a seeded order, recorded). ``recurrence``: None (each group once), an int R (the
    group sequence R times) or an explicit sequence of group numbers (domains may recur)."""
    seed = check_seed(seed, ScenarioError)
    y, idx = labels_index(labels, index)
    val_fraction = check_fraction(val_fraction)
    d = np.asarray(domains)
    if d.shape != y.shape:
        raise ScenarioError(f"domains: expected one code per sample ({len(y)}), got shape {d.shape}")
    values, codes = np.unique(d, return_inverse=True)
    if groups is None:
        groups = [[v] for v in rng_for(seed, "scenario/domains", ScenarioError).permutation(values).tolist()]
    gl = []
    for g in groups:
        g = list(g) if isinstance(g, list | tuple | np.ndarray) else [g]
        miss = [v for v in g if v not in set(values.tolist())]
        if miss or not g:
            raise ScenarioError(f"groups: domain values {miss[:5]} not in the data; known: {values[:10].tolist()}")
        gl.append(g)
    if recurrence is None:
        seq = np.arange(len(gl))
    elif isinstance(recurrence, int | np.integer) and not isinstance(recurrence, bool):
        seq = np.tile(np.arange(len(gl)), check_int(recurrence, "recurrence"))
    else:
        seq = np.asarray(recurrence, np.int64)
        if seq.ndim != 1 or len(seq) == 0 or seq.min() < 0 or seq.max() >= len(gl):
            raise ScenarioError(f"recurrence: expected an int or group numbers in [0, {len(gl)})")
    gid = np.full(len(values), -1, np.int64)
    for i, g in enumerate(gl):
        hit = np.searchsorted(values, np.asarray(g, values.dtype))
        if (gid[hit] >= 0).any():
            raise ScenarioError("groups: a domain value is in two groups")
        gid[hit] = i
    sg = gid[codes]
    order = np.argsort(sg, kind="stable")
    gs = sg[order]
    starts = np.searchsorted(gs, np.arange(len(gl)))
    ends = np.searchsorted(gs, np.arange(len(gl)), side="right")
    pos, off = csr_take(order, starts[seq], (ends - starts)[seq])
    ci, co = task_classes(y, pos, off)
    val_rng = rng_for(seed, "scenario/val", ScenarioError)
    tr, tr_off, va, va_off = assemble_samples(idx, pos, off, val_fraction, val_rng)
    jsonable = [[v.item() if hasattr(v, "item") else v for v in g] for g in gl]
    spec = {"kind": "domain_incremental", "groups": jsonable, "sequence": seq.tolist(), "val_fraction": val_fraction}
    return pack_stream(tr, tr_off, va, va_off, ci, co, val_fraction, spec, seed)


def _centers(schedule: str, t: int, periods: float, rng) -> np.ndarray:
    """Window centres in [0, 1] (quantile of the attribute) for tasks 0..T-1."""
    x = np.arange(t) / max(t - 1, 1)
    if schedule == "linear":  # low -> high, repeated `periods` times (sawtooth)
        return (x * periods) % 1.0 if periods != 1 else x
    if schedule == "cosine":  # low -> high -> low, `periods` round trips
        return (1 - np.cos(2 * np.pi * periods * x)) / 2
    if schedule == "triangle":
        ph = (x * periods) % 1.0
        return 1 - np.abs(2 * ph - 1)
    return rng.random(t)


def drift(values, n_tasks, *, window=0.2, schedule="linear", periods=1.0, labels=None, index=None,
          samples_per_task=None, val_fraction=0.1, seed=0) -> Stream:
    """Attribute drift: task t holds the samples whose ``values`` (a numeric attribute: scale,
    rotation...) lie in a window covering ``window`` of the attribute's quantile range, centred
    by ``schedule`` ("linear": low to high, "cosine"/"triangle": there and back, repeated
    ``periods`` times, so windows recur; "random": seeded centres). Window edges are values, so
    tied values are never split. ``samples_per_task``: None (the whole window) or a budget."""
    seed = check_seed(seed, ScenarioError)
    v = np.asarray(values, np.float64)
    if v.ndim != 1:
        raise ScenarioError(f"values: expected a 1-d numeric array, got shape {v.shape}")
    n_tasks = check_int(n_tasks, "n_tasks")
    val_fraction = check_fraction(val_fraction)
    if schedule not in SCHEDULES:
        raise ScenarioError(f"schedule {schedule!r}: expected one of {', '.join(map(repr, SCHEDULES))}")
    if isinstance(window, bool) or not isinstance(window, int | float) or not 0 < window <= 1:
        raise ScenarioError(f"window: {window!r} must be a fraction in (0, 1]")
    y = None
    if labels is not None:
        y, idx = labels_index(labels, index)
        if len(y) != len(v):
            raise ScenarioError(f"labels: {len(y)} labels for {len(v)} values")
    else:
        idx = np.arange(len(v), dtype=np.int64) if index is None else np.asarray(index, np.int64)
    ok = np.flatnonzero(np.isfinite(v))
    if len(ok) == 0:
        raise ScenarioError("values: no finite value")
    order = ok[np.argsort(v[ok], kind="stable")]
    sv = v[order]
    c = _centers(schedule, n_tasks, float(periods), rng_for(seed, "scenario/drift", ScenarioError))
    c = window / 2 + (1 - window) * c
    m = len(sv) - 1
    lo_v = sv[np.floor((c - window / 2) * m + 1e-9).astype(np.int64).clip(0, m)]
    hi_v = sv[np.ceil((c + window / 2) * m - 1e-9).astype(np.int64).clip(0, m)]
    lo = np.searchsorted(sv, lo_v, side="left")
    hi = np.searchsorted(sv, hi_v, side="right")
    if samples_per_task is None:
        pos, off = csr_take(order, lo, hi - lo)
    else:
        k = check_int(samples_per_task, "samples_per_task")
        if (hi - lo).min() < k:
            raise ScenarioError(f"samples_per_task={k} exceeds the {int((hi - lo).min())} samples of the "
                                f"smallest window; widen the window or lower the budget")
        p = random_subsets(rng_for(seed, "scenario/samples", ScenarioError), hi - lo, k) + lo[:, None]
        pos, off = order[p.reshape(-1)], np.arange(n_tasks + 1, dtype=np.int64) * k
    ci, co = task_classes(y, pos, off)
    val_rng = rng_for(seed, "scenario/val", ScenarioError)
    tr, tr_off, va, va_off = assemble_samples(idx, pos, off, val_fraction, val_rng)
    spec = {"kind": "drift", "n_tasks": n_tasks, "window": window, "schedule": schedule, "periods": periods,
            "ranges": np.stack([lo_v, hi_v], 1).tolist() if n_tasks <= 100_000 else None,
            "samples_per_task": samples_per_task, "val_fraction": val_fraction}
    return pack_stream(tr, tr_off, va, va_off, ci, co, val_fraction, spec, seed)
