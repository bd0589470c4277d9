"""Replay strategies for the training harness, in pure numpy (no torch).

A strategy keeps a memory of ``(position, label)`` pairs from earlier tasks and, before each task, says which of
them to append to the task's own samples. Positions are int64 indices into the harness's in-memory data array (a
sample that recurs keeps its position); labels are the observed int64 class positions ``0..K-1`` (possibly noisy).
The training loop drives it, one task at a time, ``t = 0, 1, 2, ...``::

    replay = make_replay("frequency", seed=0)
    for t, task in enumerate(stream):
        pos, lab = replay.samples(t, task.classes, n_task=len(task.positions))
        train(np.concatenate([task.positions, pos]), np.concatenate([task.labels, lab]))
        replay.update(t, task.positions, task.labels, task.classes)   # the task's own samples only
    checkpoint["replay"] = replay.state()                              # resume: replay.load_state(...)

Strategies (``REPLAYS``):

* ``none`` (:class:`NoReplay`): never replays.
* ``random`` (:class:`RandomClassReplay`, SCoLe's random replay): ``k ~ Binomial(C, budget)`` distinct classes drawn
  uniformly among the classes seen before and absent from task ``t`` (``C`` = number of classes of task ``t``;
  fewer if fewer are available); all their stored samples are returned.
* ``frequency`` (:class:`FrequencyReplay`, SCoLe's frequency replay): candidates are classes seen before, absent
  from task ``t``, seen in at least ``min_count`` tasks and with ``count / t`` in ``(low, high]``; at most ``C`` of
  them, least frequent first (ties in seeded random order); all their stored samples are returned.
* ``reservoir`` (:class:`ReservoirReplay`, classic experience replay): a reservoir sample (Vitter's algorithm R)
  of at most ``size`` samples over every sample given to ``update``; before a task it returns
  ``round(ratio * n_task)`` of them (half rounded up, at most the buffer), drawn without replacement.

Class memory (``random`` and ``frequency``), updated by ``update`` for each class ``c`` of the task: the candidates
are the task's samples labelled ``c`` (distinct positions) whose position is not already in ``c``'s memory; samples
labelled with a class outside the task's classes are not stored. If ``c``'s memory is empty, up to ``per_class``
candidates drawn uniformly fill it. Otherwise ``r = min(max(per_class // (occ + 1), 10), per_class, candidates)``
candidates drawn uniformly refresh it, where ``occ`` is the number of earlier tasks that had ``c``: they first fill
free slots up to ``per_class``, and the rest overwrite distinct stored samples chosen uniformly. So a class never
holds more than ``per_class`` samples, and never the same position twice.

All randomness comes from ``rng_for(seed, "harness/replay/<name>")``; the same seed and calls give the same
samples, and :meth:`Replay.state` includes the generator state, so a resumed run continues identically.
"""

from __future__ import annotations

import numpy as np

from synprobe.harness.errors import HarnessError
from synprobe.rng import rng_for

__all__ = [
    "REPLAYS",
    "FrequencyReplay",
    "NoReplay",
    "RandomClassReplay",
    "Replay",
    "ReservoirReplay",
    "make_replay",
]

REPLAYS = ("none", "random", "frequency", "reservoir")

_EMPTY = np.zeros(0, np.int64)
_M64 = (1 << 64) - 1


# ---------------------------------------------------------------------------------------------- validation


def _int_option(name: str, v, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
        raise HarnessError(f"{name}: {v!r} must be an integer >= {lo}")
    return int(v)


def _num_option(name: str, v, lo: float, hi: float = np.inf) -> float:
    ok = not isinstance(v, bool) and isinstance(v, int | float | np.integer | np.floating) and np.isfinite(v)
    if not ok or not lo <= v <= hi:
        span = f"in [{lo}, {hi}]" if np.isfinite(hi) else f">= {lo}"
        raise HarnessError(f"{name}: {v!r} must be a number {span}")
    return float(v)


def _int_array(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1 or not (np.issubdtype(a.dtype, np.integer) or a.size == 0):
        raise HarnessError(f"{name}: expected a 1-d integer array, got dtype {a.dtype} and shape {a.shape}")
    return a.astype(np.int64)  # a copy: the caller's arrays are never aliased


def _check_saved(d: dict, option: str, value: int) -> None:
    """A saved state must come from a replay built with the same size ``option``."""
    if int(d[option]) != value:
        raise HarnessError(f"replay state: {option}: saved with {int(d[option])}, this replay has {value}; "
                           f"build it with the same {option}")


def _rng_to_array(rng: np.random.Generator) -> np.ndarray:
    """The PCG64 state as uint64 words (state hi/lo, inc hi/lo, has_uint32, uinteger): checkpoint-friendly."""
    s = rng.bit_generator.state
    state, inc = s["state"]["state"], s["state"]["inc"]
    return np.array([state >> 64, state & _M64, inc >> 64, inc & _M64, s["has_uint32"], s["uinteger"]], np.uint64)


def _rng_from_array(rng: np.random.Generator, a) -> None:
    w = [int(v) for v in np.asarray(a, np.uint64)]
    if len(w) != 6:
        raise HarnessError(f"replay state: rng: expected 6 uint64 words, got {len(w)}")
    rng.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3]},
        "has_uint32": w[4],
        "uinteger": w[5],
    }


# ---------------------------------------------------------------------------------------------- base class


class Replay:
    """Base class of the replay strategies; subclasses fill in the ``_draw``/``_store``/``_memory`` hooks.

    Calls must come in task order: ``samples(t, ...)`` (optional, any number of times) then ``update(t, ...)``,
    with ``t`` = the number of earlier ``update`` calls; anything else raises :class:`HarnessError`.

    Args:
        seed: integer >= 0; the strategy's generator is ``rng_for(seed, "harness/replay/<name>")``.
    """

    name: str = ""
    options: tuple[str, ...] = ()  # keyword arguments besides seed (make_replay checks them)

    def __init__(self, seed: int = 0):
        self.seed = _int_option("seed", seed, 0)
        self._rng = rng_for(self.seed, f"harness/replay/{self.name}")
        self._t = 0  # number of update() calls so far = the next task index
        self._replayed = 0  # samples returned by samples() so far

    def samples(self, t: int, classes: np.ndarray, *, n_task: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The samples to append to task ``t``'s own samples; call it before training task ``t``.

        Args:
            t: the task index (counts from 0; must equal the number of earlier ``update`` calls).
            classes: int64 array ``(C,)``, the classes of task ``t`` (sorted class positions).
            n_task: number of the task's own samples; only ``reservoir`` uses it (None = the buffer size).

        Returns:
            ``(positions, labels)``: two int64 arrays of shape ``(n,)``, copies of stored pairs from earlier tasks.
        """
        self._check_t(t, "samples")
        classes = np.unique(_int_array(classes, "classes"))
        if n_task is not None:
            n_task = _int_option("n_task", n_task, 0)
        pos, lab = self._draw(t, classes, n_task)
        self._replayed += len(pos)
        return pos, lab

    def update(self, t: int, positions: np.ndarray, labels: np.ndarray, classes: np.ndarray) -> None:
        """Store task ``t``'s OWN samples (not the replayed ones); call it after training task ``t``.

        Args:
            t: the task index (must equal the number of earlier ``update`` calls).
            positions: int64 array ``(n,)``, the task's sample positions.
            labels: int64 array ``(n,)``, their observed labels.
            classes: int64 array ``(C,)``, the task's classes.
        """
        self._check_t(t, "update")
        positions, labels = _int_array(positions, "positions"), _int_array(labels, "labels")
        if len(positions) != len(labels):
            raise HarnessError(f"labels: expected length {len(positions)} (one per position), got {len(labels)}")
        self._store(t, positions, labels, np.unique(_int_array(classes, "classes")))
        self._t += 1

    def state(self) -> dict:
        """A plain dict (str, ints, int64/uint64 arrays, all copies) for the checkpoint; see :meth:`load_state`."""
        return {
            "name": self.name,
            "t": self._t,
            "replayed": self._replayed,
            "rng": _rng_to_array(self._rng),
            **self._state(),
        }

    def load_state(self, d: dict) -> None:
        """Restore a :meth:`state` dict of the same strategy and capacity; later calls continue identically."""
        missing = [k for k in self.state() if k not in d]
        if missing:
            raise HarnessError(f"replay state: missing key {missing[0]!r}; expected the dict of {self.name}.state()")
        if d["name"] != self.name:
            raise HarnessError(f"replay state: name: saved by {d['name']!r}, cannot load into {self.name!r}")
        self._load(d)
        self._t, self._replayed = int(d["t"]), int(d["replayed"])
        _rng_from_array(self._rng, d["rng"])

    def stats(self) -> dict:
        """JSON-able summary: memory size, per-class counts of the memory, samples replayed so far."""
        _, counts = np.unique(self._memory()[1], return_counts=True)
        return {
            "name": self.name,
            "tasks_seen": self._t,
            "replayed_samples": self._replayed,
            "memory_size": int(counts.sum()),
            "classes_stored": len(counts),
            "per_class_min": int(counts.min()) if len(counts) else 0,
            "per_class_mean": float(counts.mean()) if len(counts) else 0.0,
            "per_class_max": int(counts.max()) if len(counts) else 0,
            **self._extra_stats(),
        }

    def memory(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the stored ``(positions, labels)``, two int64 arrays ``(m,)`` (for tests and inspection)."""
        pos, lab = self._memory()
        return pos.copy(), lab.copy()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in ("seed", *self.options))
        return f"{type(self).__name__}({args})"

    # --- hooks
    def _check_t(self, t, what: str) -> None:
        if isinstance(t, bool) or not isinstance(t, int | np.integer) or t != self._t:
            raise HarnessError(
                f"t: {what}() got {t!r}, expected {self._t} (tasks go in order 0, 1, ...; update(t) ends task t)"
            )

    def _draw(self, t: int, classes: np.ndarray, n_task: int | None) -> tuple[np.ndarray, np.ndarray]:
        return _EMPTY.copy(), _EMPTY.copy()

    def _store(self, t: int, positions: np.ndarray, labels: np.ndarray, classes: np.ndarray) -> None:
        pass

    def _memory(self) -> tuple[np.ndarray, np.ndarray]:
        return _EMPTY, _EMPTY

    def _state(self) -> dict:
        return {}

    def _load(self, d: dict) -> None:
        pass

    def _extra_stats(self) -> dict:
        return {}


class NoReplay(Replay):
    """``none``: replays nothing and stores nothing."""

    name = "none"


# ---------------------------------------------------------------------------------------------- class memory


class _ClassMemoryReplay(Replay):
    """A memory of at most ``per_class`` distinct positions per class, refreshed as the module docstring says."""

    def __init__(self, seed: int = 0, per_class: int = 200):
        super().__init__(seed)
        self.per_class = _int_option("per_class", per_class, 1)
        self._mem: dict[int, np.ndarray] = {}  # class -> int64 positions (the stored label is the class)
        self._count: dict[int, int] = {}  # class -> number of tasks (update calls) that had it
        self.last_classes = _EMPTY.copy()  # int64, sorted: the classes chosen by the last samples() call

    def _choose(self, t: int, classes: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _available(self, classes: np.ndarray) -> np.ndarray:
        seen = np.array(sorted(self._count), np.int64)
        return seen[~np.isin(seen, classes)]

    def _draw(self, t, classes, n_task):
        self.last_classes = np.sort(self._choose(t, classes)).astype(np.int64)
        chosen = [c for c in self.last_classes.tolist() if c in self._mem]
        pos = np.concatenate([self._mem[c] for c in chosen]) if chosen else _EMPTY.copy()
        return pos, np.repeat(np.array(chosen, np.int64), [len(self._mem[c]) for c in chosen])

    def _store(self, t, positions, labels, classes):
        order = np.argsort(labels, kind="stable")
        sorted_labels, sorted_pos = labels[order], positions[order]
        for c in classes.tolist():
            occ = self._count.get(c, 0)
            self._count[c] = occ + 1
            lo, hi = np.searchsorted(sorted_labels, [c, c + 1])
            self._refresh(c, occ, sorted_pos[lo:hi])

    def _refresh(self, c: int, occ: int, task_pos: np.ndarray) -> None:
        old = self._mem.get(c, _EMPTY)
        cand = np.setdiff1d(task_pos, old)  # distinct, not stored yet
        r = self.per_class if len(old) == 0 else max(self.per_class // (occ + 1), 10)
        r = min(r, self.per_class, len(cand))
        if r == 0:
            return
        new = self._rng.choice(cand, r, replace=False)
        n_add = min(r, self.per_class - len(old))  # free slots first
        pos = np.concatenate([old, new[:n_add]])
        if r > n_add:  # then overwrite distinct old samples
            pos[self._rng.choice(len(old), r - n_add, replace=False)] = new[n_add:]
        self._mem[c] = pos

    def _memory(self):
        classes = sorted(self._mem)
        if not classes:
            return _EMPTY, _EMPTY
        pos = np.concatenate([self._mem[c] for c in classes])
        return pos, np.repeat(np.array(classes, np.int64), [len(self._mem[c]) for c in classes])

    def _state(self):
        classes = np.array(sorted(self._mem), np.int64)
        pos, _ = self._memory()
        seen = np.array(sorted(self._count), np.int64)
        return {
            "per_class": self.per_class,
            "mem_classes": classes,
            "mem_lengths": np.array([len(self._mem[c]) for c in classes.tolist()], np.int64),
            "mem_positions": pos.copy(),
            "count_classes": seen,
            "count_values": np.array([self._count[c] for c in seen.tolist()], np.int64),
            "last_classes": self.last_classes.copy(),
        }

    def _load(self, d):
        _check_saved(d, "per_class", self.per_class)
        classes, lengths = np.asarray(d["mem_classes"], np.int64), np.asarray(d["mem_lengths"], np.int64)
        pos = np.array(d["mem_positions"], np.int64)
        if len(classes) != len(lengths) or lengths.sum() != len(pos):
            raise HarnessError("replay state: mem_classes, mem_lengths and mem_positions do not match")
        self._mem = dict(zip(classes.tolist(), np.split(pos, np.cumsum(lengths)[:-1])))
        self._count = dict(zip(np.asarray(d["count_classes"]).tolist(), np.asarray(d["count_values"]).tolist()))
        self.last_classes = np.array(d["last_classes"], np.int64)

    def _extra_stats(self):
        return {
            "per_class_capacity": self.per_class,
            "classes_seen": len(self._count),
            "last_classes": self.last_classes.tolist(),
        }


class RandomClassReplay(_ClassMemoryReplay):
    """``random`` (SCoLe's random replay): ``Binomial(C, budget)`` random seen classes absent from the task.

    Args:
        seed: integer >= 0.
        per_class: memory capacity per class, integer >= 1 (SCoLe: 200).
        budget: number in [0, 1]; the expected number of replayed classes is ``budget * C`` (when available).
    """

    name = "random"
    options = ("per_class", "budget")

    def __init__(self, seed: int = 0, per_class: int = 200, budget: float = 0.5):
        super().__init__(seed, per_class)
        self.budget = _num_option("budget", budget, 0.0, 1.0)

    def _choose(self, t, classes):
        avail = self._available(classes)
        k = min(int(self._rng.binomial(len(classes), self.budget)), len(avail))
        return self._rng.choice(avail, k, replace=False)


class FrequencyReplay(_ClassMemoryReplay):
    """``frequency`` (SCoLe's frequency replay): the rarest seen classes whose frequency lies in a window.

    Before task ``t`` (``t`` tasks done), a class ``c`` is a candidate if it is absent from task ``t``,
    ``count[c] >= min_count`` and ``low < count[c] / t <= high`` (``count[c]`` = earlier tasks that had ``c``).
    At most ``C`` candidates are replayed, smallest count first, ties in seeded random order.

    Args:
        seed: integer >= 0.
        per_class: memory capacity per class, integer >= 1 (SCoLe: 200).
        min_count: integer >= 1 (SCoLe: 3).
        low: number in [0, 1], < high (SCoLe: 0.01).
        high: number in [0, 1] (SCoLe: 0.1).
    """

    name = "frequency"
    options = ("per_class", "min_count", "low", "high")

    def __init__(self, seed: int = 0, per_class: int = 200, min_count: int = 3, low: float = 0.01, high: float = 0.1):
        super().__init__(seed, per_class)
        self.min_count = _int_option("min_count", min_count, 1)
        self.low = _num_option("low", low, 0.0, 1.0)
        self.high = _num_option("high", high, 0.0, 1.0)
        if self.low >= self.high:
            raise HarnessError(f"low: {low!r} must be < high ({high!r})")

    def _choose(self, t, classes):
        avail = self._available(classes)
        counts = np.array([self._count[c] for c in avail.tolist()], np.int64)
        freq = counts / max(t, 1)
        ok = (counts >= self.min_count) & (freq > self.low) & (freq <= self.high)
        cand, cnt = avail[ok], counts[ok]
        perm = self._rng.permutation(len(cand))
        order = perm[np.argsort(cnt[perm], kind="stable")]
        return cand[order[: len(classes)]]


# ---------------------------------------------------------------------------------------------- reservoir


class ReservoirReplay(Replay):
    """``reservoir``: classic experience replay over a uniform reservoir sample of the whole stream.

    ``update`` runs Vitter's algorithm R over the task's samples, vectorised: stream item ``i`` (0-based, counted
    over all updates) beyond the first ``size`` draws ``r`` uniform in ``[0, i]`` and, if ``r < size``, replaces
    slot ``r``; when several items of a task hit one slot the last one wins, exactly as the sequential loop.
    A recurring sample is a new stream item, so the buffer may hold a position more than once.

    Args:
        seed: integer >= 0.
        size: buffer capacity, integer >= 1 (CIR's long-stream runs: 2000).
        ratio: number >= 0; ``samples`` returns ``round(ratio * n_task)`` buffer samples (at most the buffer).
    """

    name = "reservoir"
    options = ("size", "ratio")

    def __init__(self, seed: int = 0, size: int = 2000, ratio: float = 1.0):
        super().__init__(seed)
        self.size = _int_option("size", size, 1)
        self.ratio = _num_option("ratio", ratio, 0.0)
        self._pos, self._lab = _EMPTY.copy(), _EMPTY.copy()
        self._n_seen = 0  # stream items given to update() so far

    def _draw(self, t, classes, n_task):
        n = len(self._pos) if n_task is None else n_task
        k = min(int(np.floor(self.ratio * n + 0.5)), len(self._pos))
        idx = self._rng.choice(len(self._pos), k, replace=False)
        return self._pos[idx], self._lab[idx]

    def _store(self, t, positions, labels, classes):
        fill = min(self.size - len(self._pos), len(positions))
        self._pos = np.concatenate([self._pos, positions[:fill]])
        self._lab = np.concatenate([self._lab, labels[:fill]])
        rest = len(positions) - fill
        if rest:
            i = self._n_seen + fill + np.arange(rest, dtype=np.int64)  # stream index of each remaining item
            r = self._rng.integers(0, i + 1)  # uniform in [0, i]
            hit = np.flatnonzero(r < self.size)[::-1]  # latest first, so np.unique keeps the last writer
            slots, first = np.unique(r[hit], return_index=True)
            src = fill + hit[first]
            self._pos[slots], self._lab[slots] = positions[src], labels[src]
        self._n_seen += len(positions)

    def _memory(self):
        return self._pos, self._lab

    def _state(self):
        return {"size": self.size, "n_seen": self._n_seen, "positions": self._pos.copy(), "labels": self._lab.copy()}

    def _load(self, d):
        _check_saved(d, "size", self.size)
        pos, lab = np.array(d["positions"], np.int64), np.array(d["labels"], np.int64)
        if len(pos) != len(lab) or len(pos) > self.size:
            raise HarnessError(f"replay state: positions and labels must have one equal length <= {self.size}")
        self._pos, self._lab, self._n_seen = pos, lab, int(d["n_seen"])

    def _extra_stats(self):
        return {"capacity": self.size, "stream_seen": self._n_seen}


# ---------------------------------------------------------------------------------------------- factory

_BY_NAME = {cls.name: cls for cls in (NoReplay, RandomClassReplay, FrequencyReplay, ReservoirReplay)}


def make_replay(name: str, seed: int = 0, **kwargs) -> Replay:
    """Build the replay strategy ``name`` (one of ``REPLAYS``) with its keyword options.

    >>> make_replay("random", seed=1, budget=0.25)
    RandomClassReplay(seed=1, per_class=200, budget=0.25)
    """
    cls = _BY_NAME.get(name)
    if cls is None:
        raise HarnessError(f"replay {name!r} unknown; expected one of: {', '.join(REPLAYS)}")
    for key in kwargs:
        if key not in cls.options:
            allowed = ", ".join(cls.options) or "(no options)"
            raise HarnessError(f"replay_args: {key!r} is not an option of replay {name!r}; expected: {allowed}")
    return cls(seed=seed, **kwargs)
