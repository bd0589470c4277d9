"""The machinery every label-noise model shares: the :class:`NoisyLabels` result, :class:`NoiseError`,
argument validation, and exact counting and seeded choosing (``flip_count``, largest-remainder rounding,
weighted sampling without replacement).

The models live in ``_conditional.py`` (class-conditional) and ``_instance.py`` (instance- and
attribute-dependent), registered by name in ``_registry.py``; import them all from :mod:`synprobe.noise`,
whose docstring states the conventions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from synprobe.errors import SynprobeError
from synprobe.rng import check_seed as check_one_seed


class NoiseError(SynprobeError, ValueError):
    """A label-noise argument is out of range (the message names it and the allowed values)."""


@dataclass(frozen=True, eq=False)
class NoisyLabels:
    """Labels before and after a noise model.

    Attributes:
        true: int64 (n,) clean labels in [0, n_classes).
        observed: int64 (n,) labels after noise.
        flipped: bool (n,), exactly ``observed != true``.
        model: name of the noise model (a key of :data:`synprobe.noise.MODELS`).
        params: the model's arguments as JSON-safe values (matrices as nested lists).
        seed: the seed the labels were drawn from.
        n_classes: number of classes K.
    """

    true: np.ndarray
    observed: np.ndarray
    flipped: np.ndarray
    model: str
    params: dict = field(default_factory=dict)
    seed: int | tuple = 0
    n_classes: int = 0

    def __len__(self) -> int:
        return len(self.true)

    @property
    def n_flipped(self) -> int:
        """Number of samples whose observed label differs from the true one."""
        return int(self.flipped.sum())

    @property
    def rate(self) -> float:
        """Actual flip fraction ``mean(observed != true)`` (0.0 for no samples)."""
        return self.n_flipped / len(self) if len(self) else 0.0

    def counts(self) -> np.ndarray:
        """int64 (K, K) matrix: ``C[i, j]`` = number of samples with true class i observed as j."""
        k = self.n_classes
        return np.bincount(self.true * k + self.observed, minlength=k * k).reshape(k, k)

    def transition(self) -> np.ndarray:
        """Empirical row-stochastic float64 (K, K) matrix ``T[true, observed]``.

        Rows of classes absent from ``true`` are NaN (there is no evidence about them).
        """
        c = self.counts().astype(np.float64)
        rows = c.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return c / rows

    def summary(self) -> dict:
        """JSON-safe provenance: model, params, seed, n, n_flipped and the actual rate."""
        seed = list(self.seed) if isinstance(self.seed, tuple) else self.seed
        return {
            "model": self.model,
            "params": self.params,
            "seed": seed,
            "n_classes": self.n_classes,
            "n": len(self),
            "n_flipped": self.n_flipped,
            "rate": self.rate,
        }


# --- validation -------------------------------------------------------------------------------------------


def check_seed(seed) -> int | tuple:
    """``seed`` as an int, or a non-empty tuple or list of ints as a tuple (e.g. ``(seed, task)``);
    each int >= 0 as :func:`synprobe.rng.check_seed` checks it."""
    try:
        if isinstance(seed, (tuple, list)) and seed:
            return tuple(check_one_seed(s, NoiseError) for s in seed)
        return check_one_seed(seed, NoiseError)
    except NoiseError:  # one message for both shapes, naming the tuple form
        raise NoiseError(
            f"seed: expected an int >= 0 or a non-empty tuple of them (e.g. (seed, task)), got {seed!r}"
        ) from None


def check_labels(labels, n_classes) -> tuple[np.ndarray, int]:
    """``labels`` as int64 (n,) in [0, n_classes), and ``n_classes`` as an int >= 1."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise NoiseError(f"n_classes: expected an int >= 1, got {n_classes!r}")
    y = np.asarray(labels)
    if y.ndim != 1 or not (np.issubdtype(y.dtype, np.integer) or y.size == 0):
        raise NoiseError(f"labels: expected a 1-D integer array, got dtype {y.dtype} with shape {y.shape}")
    y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        bad = int(y.min()) if y.min() < 0 else int(y.max())
        hint = " (drop samples without a value first, e.g. ds.subset(ds.y >= 0))" if bad < 0 else ""
        raise NoiseError(
            f"labels: values must lie in [0, {n_classes - 1}] for n_classes={n_classes}, found {bad}{hint}"
        )
    return y, int(n_classes)


def check_rate(rate, name: str = "rate") -> float:
    """``rate`` as a float in [0, 1]; the error names the argument ``name``."""
    if (
        isinstance(rate, bool)
        or not isinstance(rate, (int, float, np.integer, np.floating))
        or not 0.0 <= float(rate) <= 1.0
    ):
        raise NoiseError(f"{name}: expected a number in [0, 1], got {rate!r}")
    return float(rate)


def need_other_class(n_classes: int, count: int) -> None:
    """Raise when ``count`` samples must flip to another class but there is only one class."""
    if count and n_classes < 2:
        raise NoiseError(f"n_classes: flipping to another class needs n_classes >= 2, got {n_classes}")


def check_matrix(T, n_classes: int, name: str = "T") -> np.ndarray:
    """``T`` as a float64 (K, K) row-stochastic matrix (rows within 1e-6 of 1, then renormalised)."""
    m = np.asarray(T, dtype=np.float64)
    if m.shape != (n_classes, n_classes):
        raise NoiseError(
            f"{name}: expected a square {n_classes}x{n_classes} matrix T[true, noisy], got shape {m.shape}"
        )
    bad = ~np.isfinite(m).all(axis=1) | (np.nan_to_num(m, nan=-1.0) < 0).any(axis=1)
    if bad.any():
        raise NoiseError(f"{name}: row {int(np.argmax(bad))} has negative or non-finite entries; entries must be >= 0")
    sums = m.sum(axis=1)
    off = np.abs(sums - 1.0) > 1e-6
    if off.any():
        i = int(np.argmax(off))
        raise NoiseError(
            f"{name}: row {i} sums to {sums[i]:.9g}, expected 1 within 1e-6 (row-stochastic, "
            f"T[true, noisy]; cleanlab's matrices are column-stochastic: pass their transpose)"
        )
    return m / m.sum(axis=1, keepdims=True)


def noisy_result(y, observed, model, params, seed, k) -> NoisyLabels:
    """The read-only :class:`NoisyLabels` of a model's draw (``flipped`` is ``observed != y``)."""
    for a in (y, observed):
        a.flags.writeable = False
    flipped = observed != y
    flipped.flags.writeable = False
    return NoisyLabels(true=y, observed=observed, flipped=flipped, model=model, params=params, seed=seed, n_classes=k)


# --- counting and choosing --------------------------------------------------------------------------------


def flip_count(rate: float, n: int) -> int:
    """Number of samples an exact model flips: ``floor(rate * n + 0.5)`` (round half up)."""
    return int(math.floor(check_rate(rate) * int(n) + 0.5))


def largest_remainder(quota: np.ndarray, total, rng: np.random.Generator) -> np.ndarray:
    """Integers summing to ``total`` along the last axis, each floor(q) or floor(q) + 1 (largest remainders
    get the +1; ties at random; zero quotas never while a positive remainder is left).

    ``quota`` is (K,) with an int ``total``, or (R, K) with ``total`` (R,) for one rounding per row.
    """
    q = np.atleast_2d(quota)
    base = np.floor(q).astype(np.int64)
    frac = np.where(q > 0, q - base, -1.0)
    left = np.asarray(total).reshape(-1) - base.sum(axis=1)
    order = np.lexsort((rng.random(q.shape), -frac), axis=-1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(q.shape[1])[None, :].repeat(len(q), axis=0), axis=-1)
    base += rank < left[:, None]
    if (left < 0).any():  # float round-off pushed the floors past the total: take back the smallest
        order = np.lexsort((rng.random(q.shape), np.where(base > 0, frac, np.inf)), axis=-1)
        np.put_along_axis(rank, order, np.arange(q.shape[1])[None, :].repeat(len(q), axis=0), axis=-1)
        base -= rank < -left[:, None]
    return base.reshape(np.shape(quota))


def grouped(y: np.ndarray, members: np.ndarray, k: int, rng: np.random.Generator):
    """``members`` in random order within each class, grouped by class: (order, start of each class,
    rank of each position within its class)."""
    perm = rng.permutation(members)
    order = perm[np.argsort(y[perm], kind="stable")]
    start = np.concatenate([[0], np.cumsum(np.bincount(y[order], minlength=k))])
    rank = np.arange(len(order)) - start[y[order]]
    return order, start, rank


def choose(
    y: np.ndarray, eligible: np.ndarray, rate: float, stratify: bool, k: int, rng: np.random.Generator
) -> np.ndarray:
    """Sorted indices of exactly ``flip_count(rate, len(eligible))`` samples of ``eligible``, without
    replacement; with ``stratify`` class c gets its largest-remainder share of ``rate * n_c``."""
    count = flip_count(rate, len(eligible))
    if not stratify:
        return np.sort(rng.permutation(eligible)[:count])
    order, start, rank = grouped(y, eligible, k, rng)
    want = largest_remainder(rate * np.diff(start).astype(np.float64), count, rng)
    return np.sort(order[rank < want[y[order]]])


def draw_other(true: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """A label drawn uniformly from the K-1 classes other than each ``true``."""
    return (true + rng.integers(1, k, size=len(true))) % k if len(true) else true.copy()


def draw_rows(m: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw from row ``m[r]`` of the row-stochastic (K, K) matrix for each r in ``rows``, without
    building an (n, K) array: rows are offset by their index so one searchsorted serves them all."""
    k = m.shape[1]
    cdf = np.cumsum(m, axis=1)
    last = k - 1 - np.argmax(m[:, ::-1] > 0, axis=1)  # past a row's last positive entry its cdf is 1
    cdf[np.arange(k)[None, :] >= last[:, None]] = 1.0
    flat = (cdf + np.arange(len(m))[:, None]).ravel()
    return np.searchsorted(flat, rows + rng.random(len(rows)), side="right") - rows * k


def top_k_weighted(log_w: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Weighted sampling of ``count`` indices without replacement (Gumbel-top-k, i.e. Efraimidis-Spirakis):
    successive draws proportional to ``exp(log_w)`` among those left; zero weights come last, at random."""
    g = log_w + rng.gumbel(size=len(log_w))
    return np.sort(np.lexsort((rng.random(len(log_w)), -g))[:count])
