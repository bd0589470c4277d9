"""Distributions for recipe attributes, sampled from counter-based draws.

A recipe attribute is a constant or one of these. In TOML a distribution is an inline table with a
``dist`` key:

    rotation = {dist = "normal", mean = 0.0, std = 0.3}
    scale = {dist = "lognormal", median = 0.6, sigma = 0.2}
    bold = {dist = "bernoulli", p = 0.5}
    kind = {dist = "choice", values = ["solid", "gradient"], weights = [1, 3]}

In Python the same classes are used directly, and :class:`Func` wraps a callable ``f(rng)`` that
returns one value per sample (for joint or custom laws); it gets a ``numpy.random.Generator``
seeded from (dataset seed, sample index, attribute name), so it stays reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from synprobe.rng import Draws

__all__ = [
    "Bernoulli",
    "Choice",
    "Const",
    "Dist",
    "Func",
    "LogNormal",
    "Mixture",
    "Normal",
    "RandInt",
    "Uniform",
    "DISTS",
]


class Dist:
    """Base class. Subclasses implement :meth:`sample` and :meth:`contains`."""

    kind: ClassVar[str] = ""
    numeric: ClassVar[bool] = True

    def sample(self, draws: Draws, name: str, slots: int | None = None) -> np.ndarray:
        """Values for every index of ``draws``: shape (n,) or (n, slots)."""
        raise NotImplementedError

    def contains(self, values: np.ndarray) -> np.ndarray:
        """Boolean mask: which values lie in the support."""
        raise NotImplementedError

    def values(self) -> tuple | None:
        """The finite support, if there is one (for categorical attributes)."""
        return None

    def to_dict(self) -> Any:
        d = {"dist": self.kind}
        for f in fields(self):
            v = getattr(self, f.name)
            d[f.name] = list(v) if isinstance(v, tuple) else v
        return d


@dataclass(frozen=True)
class Const(Dist):
    value: Any
    kind: ClassVar[str] = "const"

    def sample(self, draws, name, slots=None):
        shape = (len(draws),) if slots is None else (len(draws), slots)
        return np.full(shape, self.value, dtype=_dtype(self.value))

    def contains(self, values):
        return np.asarray(values) == self.value

    def values(self):
        return (self.value,)

    def to_dict(self):
        return self.value


@dataclass(frozen=True)
class Uniform(Dist):
    low: float
    high: float
    kind: ClassVar[str] = "uniform"

    def sample(self, draws, name, slots=None):
        return self.low + (self.high - self.low) * draws.uniform(name, slots)

    def contains(self, values):
        v = np.asarray(values)
        return (v >= self.low) & (v <= self.high)


@dataclass(frozen=True)
class Normal(Dist):
    mean: float = 0.0
    std: float = 1.0
    min: float = -math.inf
    max: float = math.inf
    kind: ClassVar[str] = "normal"

    def sample(self, draws, name, slots=None):
        return np.clip(self.mean + self.std * draws.normal(name, slots), self.min, self.max)

    def contains(self, values):
        v = np.asarray(values)
        return np.isfinite(v) & (v >= self.min) & (v <= self.max)

    def to_dict(self):
        d = {"dist": "normal", "mean": self.mean, "std": self.std}
        d.update({k: getattr(self, k) for k in ("min", "max") if math.isfinite(getattr(self, k))})
        return d


@dataclass(frozen=True)
class LogNormal(Dist):
    """``median * exp(N(0, sigma))`` (Synbols' scale law is median 0.6, sigma 0.2)."""

    median: float = 1.0
    sigma: float = 1.0
    kind: ClassVar[str] = "lognormal"

    def sample(self, draws, name, slots=None):
        return self.median * np.exp(self.sigma * draws.normal(name, slots))

    def contains(self, values):
        v = np.asarray(values)
        return np.isfinite(v) & (v > 0) if self.median > 0 else v < 0


@dataclass(frozen=True)
class RandInt(Dist):
    """Integers uniform on [low, high], both ends included."""

    low: int
    high: int
    kind: ClassVar[str] = "randint"

    def sample(self, draws, name, slots=None):
        u = draws.uniform(name, slots)
        return np.minimum(self.low + (u * (self.high - self.low + 1)).astype(np.int64), self.high)

    def contains(self, values):
        v = np.asarray(values)
        return (v >= self.low) & (v <= self.high) & (v == np.round(v))

    def values(self):
        return tuple(range(self.low, self.high + 1))


@dataclass(frozen=True)
class Bernoulli(Dist):
    p: float = 0.5
    kind: ClassVar[str] = "bernoulli"

    def sample(self, draws, name, slots=None):
        return draws.uniform(name, slots) < self.p

    def contains(self, values):
        v = np.asarray(values)
        ok = (v == True) | (v == False)  # noqa: E712
        if self.p == 0:
            ok &= v == False  # noqa: E712
        if self.p == 1:
            ok &= v == True  # noqa: E712
        return ok

    def values(self):
        return (False, True)


@dataclass(frozen=True)
class Choice(Dist):
    values_: tuple = field(metadata={"toml": "values"})
    weights: tuple | None = None
    kind: ClassVar[str] = "choice"

    @property
    def numeric(self):  # type: ignore[override]
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.values_)

    def probabilities(self) -> np.ndarray:
        w = np.ones(len(self.values_)) if self.weights is None else np.asarray(self.weights, float)
        return w / w.sum()

    def sample_index(self, draws: Draws, name: str, slots: int | None = None) -> np.ndarray:
        """Index into ``values_`` per sample (int64)."""
        cdf = np.cumsum(self.probabilities())
        cdf[-1] = 1.0
        idx = np.searchsorted(cdf, draws.uniform(name, slots), side="right")
        return np.minimum(idx, len(cdf) - 1)

    def sample(self, draws, name, slots=None):
        arr = np.asarray(self.values_, dtype=_dtype(self.values_[0]) if self.numeric else object)
        return arr[self.sample_index(draws, name, slots)]

    def contains(self, values):
        allowed = [v for v, p in zip(self.values_, self.probabilities()) if p > 0]
        return np.isin(np.asarray(values, dtype=object), np.asarray(allowed, dtype=object))

    def values(self):
        return tuple(self.values_)

    def to_dict(self):
        d = {"dist": "choice", "values": list(self.values_)}
        if self.weights is not None:
            d["weights"] = list(self.weights)
        return d


@dataclass(frozen=True)
class Mixture(Dist):
    """Component ``i`` with probability ``weights[i]`` (default equal), then its own law.

    E.g. Synbols' missing-symbol translation: ``Mixture((Uniform(-0.9, 0.9), Const(10.0)), (0.9, 0.1))``.
    """

    components: tuple
    weights: tuple | None = None
    kind: ClassVar[str] = "mixture"

    @property
    def numeric(self):  # type: ignore[override]
        return all(c.numeric for c in self.components)

    def sample(self, draws, name, slots=None):
        pick = Choice(tuple(range(len(self.components))), self.weights).sample_index(draws, name + "/component", slots)
        out = None
        for i, comp in enumerate(self.components):
            v = np.asarray(comp.sample(draws, f"{name}/{i}", slots))
            out = v if out is None else np.where(pick == i, v, out)
        return out

    def contains(self, values):
        ok = np.zeros(np.shape(values), bool)
        for c in self.components:
            ok |= c.contains(values)
        return ok

    def values(self):
        vals = [c.values() for c in self.components]
        if any(v is None for v in vals):
            return None
        return tuple(dict.fromkeys(x for v in vals for x in v))

    def to_dict(self):
        d = {"dist": "mixture", "components": [c.to_dict() for c in self.components]}
        if self.weights is not None:
            d["weights"] = list(self.weights)
        return d


@dataclass(frozen=True)
class Func(Dist):
    """A callable ``f(rng) -> value`` evaluated once per sample (Python API only)."""

    fn: Callable[[np.random.Generator], Any]
    kind: ClassVar[str] = "func"

    def sample(self, draws, name, slots=None):
        seeds = draws.bits(name, slots).reshape(len(draws), -1)
        out = [[self.fn(np.random.default_rng(int(s))) for s in row] for row in seeds]
        arr = np.asarray(out)
        return arr[:, 0] if slots is None else arr

    def contains(self, values):
        return np.ones(np.shape(values), dtype=bool)

    def to_dict(self):
        return {"dist": "func", "fn": getattr(self.fn, "__qualname__", repr(self.fn))}


def _dtype(v: Any):
    if isinstance(v, bool):
        return bool
    if isinstance(v, int):
        return np.int64
    if isinstance(v, float):
        return np.float64
    return object


DISTS: dict[str, type[Dist]] = {
    c.kind: c for c in (Const, Uniform, Normal, LogNormal, RandInt, Bernoulli, Choice, Mixture)
}
