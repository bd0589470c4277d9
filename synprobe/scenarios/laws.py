"""Class-occurrence laws for recurring streams: which classes each task holds.

A law draws, for T tasks over N classes (positions 0..N-1 of the builder's class list), the
classes of every task as CSR arrays ``(class_indices, class_offsets)``, sorted within a task.
Every law except :class:`CIR` gives each task exactly C **distinct** classes.

Static laws (fixed class probabilities p, possibly restricted per phase) draw all tasks at once
with the Gumbel-top-k trick: the C largest of ``log p + Gumbel noise`` are distributed exactly
like C successive draws without replacement with probabilities proportional to p, i.e.
``numpy.random.choice(N, C, replace=False, p=p)`` as SCoLe does, one task per row.

    >>> import numpy as np
    >>> ci, co, info = Uniform().draw(10, 3, 4, np.random.default_rng(0))
    >>> np.diff(co).tolist()
    [3, 3, 3, 3]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from synprobe.scenarios._common import ScenarioError

__all__ = [
    "CIR",
    "Cycle",
    "Forgetting",
    "Incremental",
    "LAWS",
    "Law",
    "ProbReduction",
    "ScoleEntropy",
    "Uniform",
    "Weights",
    "Zipf",
    "law_from_spec",
]

_BLOCK = 1 << 21  # Gumbel keys drawn per block of tasks: about 16 MiB of float64


def _gumbel_topk(logw: np.ndarray, c: int, n_tasks: int, rng, allowed=None) -> np.ndarray:
    """(T, C) sorted class positions: per task the C largest of logw + Gumbel noise.

    ``allowed(a, b)`` optionally returns a bool (b-a, N) mask of classes each task may hold.
    """
    n = len(logw)
    out = np.empty((n_tasks, c), np.int64)
    step = max(1, _BLOCK // max(n, 1))
    for a in range(0, n_tasks, step):
        b = min(n_tasks, a + step)
        keys = rng.gumbel(size=(b - a, n))
        keys += logw
        if allowed is not None:
            keys[~allowed(a, b)] = -np.inf
        top = np.argpartition(keys, n - c, axis=1)[:, n - c:] if c < n else np.broadcast_to(np.arange(n), (b - a, n))
        out[a:b] = np.sort(top, axis=1)
    return out


def _csr_fixed(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t, c = table.shape
    return table.reshape(-1), np.arange(t + 1, dtype=np.int64) * c


def _check_c(n: int, c, what: str) -> int:
    if c is None or isinstance(c, bool) or not isinstance(c, int | np.integer) or c < 1:
        raise ScenarioError(f"classes_per_task: {c!r} must be an integer >= 1 for the {what} law")
    if c > n:
        raise ScenarioError(f"classes_per_task={c} exceeds the {n} classes available to the {what} law")
    return int(c)


def _positive(x, name: str, strict=True) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float | np.integer | np.floating) or not math.isfinite(x) \
            or (x <= 0 if strict else x < 0):
        raise ScenarioError(f"{name}: {x!r} must be a finite number {'>' if strict else '>='} 0")
    return float(x)


class Law:
    """Base class. Subclasses implement :meth:`draw` and :meth:`spec`."""

    name = "law"

    def draw(self, n_classes: int, classes_per_task: int | None, n_tasks: int, rng: np.random.Generator):
        """Returns (class_indices int64, class_offsets int64 (T'+1,), info dict for the spec)."""
        raise NotImplementedError

    def spec(self) -> dict:
        return {"name": self.name}


class _Static(Law):
    """A law with fixed per-class probabilities (log weights), optionally restricted per phase."""

    def log_weights(self, n: int, rng) -> np.ndarray:
        return np.zeros(n)

    def allowed(self, n: int, t: int):
        return None  # or fn(a, b) -> bool mask (b-a, n)

    def draw(self, n_classes, classes_per_task, n_tasks, rng):
        c = _check_c(n_classes, classes_per_task, self.name)
        logw = self.log_weights(n_classes, rng)
        if int(np.isfinite(logw).sum()) < c:
            raise ScenarioError(f"{self.name}: only {int(np.isfinite(logw).sum())} classes have a non-zero "
                                f"probability; classes_per_task={c} needs at least {c}")
        p = np.exp(logw - logw[np.isfinite(logw)].max())
        p /= p.sum()
        table = _gumbel_topk(logw, c, n_tasks, rng, self.allowed(n_classes, n_tasks))
        ci, co = _csr_fixed(table)
        return ci, co, {"class_probabilities": [round(float(v), 12) for v in p]}


@dataclass(frozen=True)
class Uniform(_Static):
    """Every class equally likely (SCoLe's default ``--class_sampling uniform``)."""

    name = "uniform"


@dataclass(frozen=True)
class Weights(_Static):
    """Explicit class probabilities (any non-negative weights; normalised)."""

    p: tuple = ()
    name = "weights"

    def log_weights(self, n, rng):
        p = np.asarray(self.p, np.float64)
        if p.shape != (n,) or not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
            raise ScenarioError(f"weights: expected {n} finite non-negative weights with a positive sum, "
                                f"got shape {p.shape}")
        with np.errstate(divide="ignore"):
            return np.log(p / p.sum())

    def spec(self):
        return {"name": self.name, "p": [float(v) for v in self.p]}


@dataclass(frozen=True)
class ScoleEntropy(_Static):
    """SCoLe's ``--entropy_decrease e``: p_i ∝ (1/N − i·f/N), renormalised, raised to the power
    e and renormalised, then assigned to the classes in a seeded random order.

    ``f`` defaults to SCoLe's rule: 0.01 when N = 100, else 0.05. A negative base term (SCoLe's
    quirk for N > 21 with f = 0.05) is an error here: pass a smaller ``f``.
    """

    e: float = 1.0
    f: float | None = None
    name = "scole_entropy"

    def log_weights(self, n, rng):
        e = _positive(self.e, "scole_entropy.e", strict=False)
        f = (0.01 if n == 100 else 0.05) if self.f is None else _positive(self.f, "scole_entropy.f", strict=False)
        base = (1.0 - np.arange(n) * f) / n
        if np.any(base < 0):
            raise ScenarioError(f"scole_entropy: f={f} makes the base term negative for classes "
                                f"i > {int(1 / f)} of N={n}; use f <= {1 / max(n - 1, 1):.6g}")
        p = base / base.sum()
        p = p**e
        p /= p.sum()
        with np.errstate(divide="ignore"):
            return np.log(p[rng.permutation(n)])

    def spec(self):
        return {"name": self.name, "e": self.e, "f": self.f}


@dataclass(frozen=True)
class Zipf(_Static):
    """p ∝ 1/rank^a, ranks 1..N assigned to the classes in a seeded random order."""

    a: float = 1.0
    name = "zipf"

    def log_weights(self, n, rng):
        a = _positive(self.a, "zipf.a", strict=False)
        logp = -a * np.log(np.arange(1, n + 1, dtype=np.float64))
        return logp[rng.permutation(n)]

    def spec(self):
        return {"name": self.name, "a": self.a}


@dataclass(frozen=True)
class Forgetting(_Static):
    """SCoLe's ``--forgetting``: from task T//2 on, only classes 0..N//2-1 are drawn (``base``
    law's probabilities, restricted)."""

    base: _Static = field(default_factory=Uniform)
    name = "forgetting"

    def log_weights(self, n, rng):
        return self.base.log_weights(n, rng)

    def allowed(self, n, t):
        half_t, half_n = t // 2, n // 2
        cls = np.arange(n) < half_n

        def mask(a, b):
            m = np.ones((b - a, n), bool)
            m[max(half_t - a, 0):] &= cls
            return m
        return mask

    def draw(self, n_classes, classes_per_task, n_tasks, rng):
        if classes_per_task is not None and classes_per_task > n_classes // 2:
            raise ScenarioError(f"{self.name}: classes_per_task={classes_per_task} exceeds the {n_classes // 2} "
                                f"classes a task may draw from (half of {n_classes})")
        return super().draw(n_classes, classes_per_task, n_tasks, rng)

    def spec(self):
        return {"name": self.name, "base": self.base.spec()}


@dataclass(frozen=True)
class Incremental(Forgetting):
    """SCoLe's ``--scenario incremental``: tasks 0..T//2-1 draw from classes 0..N//2-1, the
    others from classes N//2..N-1."""

    name = "incremental"

    def allowed(self, n, t):
        half_t, half_n = t // 2, n // 2
        first = np.arange(n) < half_n

        def mask(a, b):
            m = np.empty((b - a, n), bool)
            k = min(max(half_t - a, 0), b - a)
            m[:k] = first
            m[k:] = ~first
            return m
        return mask



@dataclass(frozen=True)
class ProbReduction(Law):
    """SCoLe's ``--prob_reduction r``: each time a class is drawn, its probability is divided by
    r (then renormalised). Sequential: one Gumbel-top-k per task on the current weights."""

    r: float = 2.0
    base: _Static = field(default_factory=Uniform)
    name = "prob_reduction"

    def draw(self, n_classes, classes_per_task, n_tasks, rng):
        c = _check_c(n_classes, classes_per_task, self.name)
        logr = math.log(_positive(self.r, "prob_reduction.r"))
        logw = self.base.log_weights(n_classes, rng).copy()
        out = np.empty((n_tasks, c), np.int64)
        n = n_classes
        step = max(1, _BLOCK // max(n, 1))
        for a in range(0, n_tasks, step):
            b = min(n_tasks, a + step)
            g = rng.gumbel(size=(b - a, n))
            for i in range(b - a):
                g[i] += logw
                top = np.argpartition(g[i], n - c)[n - c:]
                logw[top] -= logr
                top.sort()
                out[a + i] = top
        ci, co = _csr_fixed(out)
        return ci, co, {}

    def spec(self):
        return {"name": self.name, "r": self.r, "base": self.base.spec()}


@dataclass(frozen=True)
class Cycle(Law):
    """A fixed cycle: a seeded class order cut into ceil(N/C) groups of C (the last one wraps
    around), task t holding group t mod ceil(N/C); each slot is then, with probability
    ``replace``, swapped for a class drawn uniformly among those the task does not keep."""

    replace: float = 0.0
    name = "cycle"

    def draw(self, n_classes, classes_per_task, n_tasks, rng):
        c = _check_c(n_classes, classes_per_task, self.name)
        rho = float(self.replace)
        if not 0.0 <= rho <= 1.0:
            raise ScenarioError(f"cycle.replace: {self.replace!r} must be a probability in [0, 1]")
        n = n_classes
        perm = rng.permutation(n)
        period = -(-n // c)
        groups = np.concatenate([perm, perm[:period * c - n]]).reshape(period, c)
        table = groups[np.arange(n_tasks) % period]
        if rho > 0:
            step = max(1, _BLOCK // max(n, 1))
            for a in range(0, n_tasks, step):
                b = min(n_tasks, a + step)
                sub = table[a:b]
                swap = rng.random(sub.shape) < rho
                keys = rng.gumbel(size=(b - a, n))
                rows = np.broadcast_to(np.arange(b - a)[:, None], sub.shape)
                keys[rows[~swap], sub[~swap]] = -np.inf  # kept classes cannot come back twice
                order = np.argsort(-keys, axis=1)[:, :c]
                rank = np.cumsum(swap, axis=1) - 1
                repl = np.take_along_axis(order, np.where(swap, rank, 0), axis=1)
                table[a:b] = np.where(swap, repl, sub)
        table = np.sort(table, axis=1)
        ci, co = _csr_fixed(table)
        return ci, co, {"cycle": groups.tolist()}

    def spec(self):
        return {"name": self.name, "replace": self.replace}


_FIRST = ("uniform", "poisson", "zipf", "geometric")


@dataclass(frozen=True)
class CIR(Law):
    """Class-incremental with repetition (Hemati et al. 2023, sampling-based generator).

    Each class first occurs at a task drawn from ``first`` (a pmf over tasks 0..T-1: uniform,
    poisson(λ = first_param), zipf(a = first_param) or geometric(p = first_param), truncated to
    T and renormalised); after that it is present in each later task independently with its
    repetition probability (``repeat``: a probability for every class, ``"random"`` for a
    seeded Uniform(0, 1) per class, or one probability per class). Tasks left empty are dropped,
    so the stream may have fewer than T tasks, and tasks hold varying numbers of classes
    (``classes_per_task`` must be None).
    """

    first: str = "uniform"
    first_param: float | None = None
    repeat: object = 0.2
    name = "cir"

    def first_pmf(self, t: int) -> np.ndarray:
        k = np.arange(t, dtype=np.float64)
        if self.first not in _FIRST:
            raise ScenarioError(f"cir.first: {self.first!r}; expected one of {', '.join(map(repr, _FIRST))}")
        if self.first == "uniform":
            logp = np.zeros(t)
        elif self.first == "poisson":
            lam = _positive(self.first_param if self.first_param is not None else max(t / 4, 1.0), "cir.first_param")
            logp = k * math.log(lam) - lam - np.array([math.lgamma(x + 1) for x in k])
        elif self.first == "zipf":
            a = _positive(self.first_param if self.first_param is not None else 1.0, "cir.first_param", strict=False)
            logp = -a * np.log(k + 1)
        else:
            p = self.first_param if self.first_param is not None else 0.01
            if not isinstance(p, int | float) or not 0 < p <= 1:
                raise ScenarioError(f"cir.first_param: {p!r} must be a probability in (0, 1] for geometric")
            logp = k * math.log1p(-p) if p < 1 else np.where(k == 0, 0.0, -np.inf)
        p = np.exp(logp - logp.max())
        return p / p.sum()

    def draw(self, n_classes, classes_per_task, n_tasks, rng):
        if classes_per_task is not None:
            raise ScenarioError("cir: tasks hold varying numbers of classes; pass classes_per_task=None")
        n, t = n_classes, n_tasks
        pmf = self.first_pmf(t)
        if isinstance(self.repeat, str):
            if self.repeat != "random":
                raise ScenarioError(f"cir.repeat: {self.repeat!r}; expected a probability, 'random' or one per class")
            rep = rng.random(n)
        else:
            rep = np.broadcast_to(np.asarray(self.repeat, np.float64), (n,)) if np.ndim(self.repeat) == 0 \
                else np.asarray(self.repeat, np.float64)
            if rep.shape != (n,) or np.any(~(rep >= 0)) or np.any(rep > 1):
                raise ScenarioError(f"cir.repeat: expected a probability or {n} probabilities in [0, 1]")
        first = np.searchsorted(np.cumsum(pmf), rng.random(n) * pmf.sum(), side="right").clip(0, t - 1)
        cols = []
        step = max(1, _BLOCK // max(n, 1))
        present_rows = []
        for a in range(0, t, step):
            b = min(t, a + step)
            rows = np.arange(a, b)[:, None]
            m = (rng.random((b - a, n)) < rep) & (rows > first)
            m |= rows == first
            r, c = np.nonzero(m)
            present_rows.append(r + a)
            cols.append(c)
        r = np.concatenate(present_rows)
        ci = np.concatenate(cols).astype(np.int64)
        counts = np.bincount(r, minlength=t)
        kept = np.flatnonzero(counts)
        co = np.zeros(len(kept) + 1, np.int64)
        np.cumsum(counts[kept], out=co[1:])
        return ci, co, {"first_occurrence": first.tolist(), "repeat_probabilities": [float(v) for v in rep],
                        "kept_tasks": int(len(kept)), "dropped_empty_tasks": int(t - len(kept))}

    def spec(self):
        rep = self.repeat
        if not isinstance(rep, str) and np.ndim(rep) != 0:
            rep = [float(v) for v in rep]
        return {"name": self.name, "first": self.first, "first_param": self.first_param,
                "repeat": float(rep) if not isinstance(rep, str | list) else rep}


# law name (a recipe's ``law.name``, a spec's ``name``) -> law class
LAWS = {"uniform": Uniform, "weights": Weights, "scole_entropy": ScoleEntropy, "zipf": Zipf,
        "forgetting": Forgetting, "incremental": Incremental, "prob_reduction": ProbReduction,
        "cycle": Cycle, "cir": CIR}


def law_from_spec(spec) -> Law:
    """A law from a name (``"uniform"``) or a dict ``{"name": "zipf", "a": 1.2}`` (its spec())."""
    if isinstance(spec, Law):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or spec.get("name") not in LAWS:
        name = spec.get("name") if isinstance(spec, dict) else spec
        raise ScenarioError(f"law {name!r}: expected one of {', '.join(map(repr, LAWS))}")
    kw = {k: v for k, v in spec.items() if k != "name"}
    if "base" in kw:
        kw["base"] = law_from_spec(kw["base"])
    if "p" in kw:
        kw["p"] = tuple(kw["p"])
    try:
        return LAWS[spec["name"]](**kw)
    except TypeError as e:
        raise ScenarioError(f"law {spec['name']!r}: {e}") from None
