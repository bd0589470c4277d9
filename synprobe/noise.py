"""Label noise: corrupt class labels with a named, seeded, exactly counted noise model.

    >>> import numpy as np
    >>> from synprobe.noise import uniform_other, from_matrix
    >>> y = np.repeat(np.arange(4), 25)                    # 100 labels, 4 classes
    >>> noisy = uniform_other(y, 4, rate=0.2, seed=0)
    >>> int(noisy.flipped.sum()), noisy.rate               # exactly round(0.2 * 100) flips
    (20, 0.2)
    >>> bool(np.all(noisy.observed[noisy.flipped] != noisy.true[noisy.flipped]))
    True
    >>> T = np.array([[0.8, 0.2, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    >>> from_matrix(y, 4, T, seed=0).transition()[0].tolist()   # T[true, noisy], row-stochastic
    [0.8, 0.2, 0.0, 0.0]

Conventions (see docs/noise.md):

- Every matrix is **row-stochastic** and indexed ``T[true, noisy]`` (Co-teaching, ELR, DivideMix),
  not cleanlab's column-stochastic ``noise_matrix[noisy][true]``.
- ``rate`` is a fraction in [0, 1]. Exact models flip exactly ``flip_count(rate, n)`` =
  ``floor(rate * n + 0.5)`` samples (half rounds up), chosen without replacement; with
  ``stratify=True`` each class gets its largest-remainder share of that total.
- ``flipped`` is always ``observed != true``; a resampled label that lands on the true class is
  not a flip (unlike ELR's ``noise_indx``).
- Randomness comes only from ``seed`` (an int >= 0 or a tuple of them, e.g. ``(seed, task)``),
  through ``numpy.random.default_rng`` / ``SeedSequence``; the same call gives the same labels.
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from synprobe.errors import SynprobeError

__all__ = [
    "MODELS",
    "NoiseError",
    "NoisyLabels",
    "apply_noise",
    "asymmetric",
    "attribute_dependent",
    "confusion_from_prototypes",
    "difficulty",
    "flip_count",
    "from_matrix",
    "instance_dependent",
    "pair_flip",
    "uniform_all",
    "uniform_other",
]


class NoiseError(SynprobeError, ValueError):
    """A label-noise argument is out of range (the message names it and the allowed values)."""


@dataclass(frozen=True, eq=False)
class NoisyLabels:
    """Labels before and after a noise model.

    Attributes:
        true: int64 (n,) clean labels in [0, n_classes).
        observed: int64 (n,) labels after noise.
        flipped: bool (n,), exactly ``observed != true``.
        model: name of the noise model (a key of :data:`MODELS`).
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
        return {"model": self.model, "params": self.params, "seed": seed, "n_classes": self.n_classes,
                "n": len(self), "n_flipped": self.n_flipped, "rate": self.rate}


# --- validation -------------------------------------------------------------------------------------------


def _check_seed(seed) -> int | tuple:
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    if isinstance(seed, (tuple, list)) and seed and all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 0 for s in seed):
        return tuple(int(s) for s in seed)
    raise NoiseError(f"seed: expected an int >= 0 or a non-empty tuple of them (e.g. (seed, task)), got {seed!r}")


def _check_labels(labels, n_classes) -> tuple[np.ndarray, int]:
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise NoiseError(f"n_classes: expected an int >= 1, got {n_classes!r}")
    y = np.asarray(labels)
    if y.ndim != 1 or not (np.issubdtype(y.dtype, np.integer) or y.size == 0):
        raise NoiseError(f"labels: expected a 1-D integer array, got dtype {y.dtype} with shape {y.shape}")
    y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        bad = int(y.min()) if y.min() < 0 else int(y.max())
        hint = " (drop samples without a value first, e.g. ds.subset(ds.y >= 0))" if bad < 0 else ""
        raise NoiseError(f"labels: values must lie in [0, {n_classes - 1}] for n_classes={n_classes}, "
                         f"found {bad}{hint}")
    return y, int(n_classes)


def _check_rate(rate, name: str = "rate") -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.integer, np.floating)) \
            or not 0.0 <= float(rate) <= 1.0:
        raise NoiseError(f"{name}: expected a number in [0, 1], got {rate!r}")
    return float(rate)


def _need_other_class(n_classes: int, count: int) -> None:
    if count and n_classes < 2:
        raise NoiseError(f"n_classes: flipping to another class needs n_classes >= 2, got {n_classes}")


def _check_matrix(T, n_classes: int, name: str = "T") -> np.ndarray:
    m = np.asarray(T, dtype=np.float64)
    if m.shape != (n_classes, n_classes):
        raise NoiseError(f"{name}: expected a square {n_classes}x{n_classes} matrix T[true, noisy], got shape "
                         f"{m.shape}")
    bad = ~np.isfinite(m).all(axis=1) | (np.nan_to_num(m, nan=-1.0) < 0).any(axis=1)
    if bad.any():
        raise NoiseError(f"{name}: row {int(np.argmax(bad))} has negative or non-finite entries; entries must be >= 0")
    sums = m.sum(axis=1)
    off = np.abs(sums - 1.0) > 1e-6
    if off.any():
        i = int(np.argmax(off))
        raise NoiseError(f"{name}: row {i} sums to {sums[i]:.9g}, expected 1 within 1e-6 (row-stochastic, "
                         f"T[true, noisy]; cleanlab's matrices are column-stochastic: pass their transpose)")
    return m / m.sum(axis=1, keepdims=True)


def _result(y, observed, model, params, seed, k) -> NoisyLabels:
    for a in (y, observed):
        a.flags.writeable = False
    flipped = observed != y
    flipped.flags.writeable = False
    return NoisyLabels(true=y, observed=observed, flipped=flipped, model=model, params=params, seed=seed,
                       n_classes=k)


# --- counting and choosing --------------------------------------------------------------------------------


def flip_count(rate: float, n: int) -> int:
    """Number of samples an exact model flips: ``floor(rate * n + 0.5)`` (round half up)."""
    return int(math.floor(_check_rate(rate) * int(n) + 0.5))


def _largest_remainder(quota: np.ndarray, total, rng: np.random.Generator) -> np.ndarray:
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


def _grouped(y: np.ndarray, members: np.ndarray, k: int, rng: np.random.Generator):
    """``members`` in random order within each class, grouped by class: (order, start of each class,
    rank of each position within its class)."""
    perm = rng.permutation(members)
    order = perm[np.argsort(y[perm], kind="stable")]
    start = np.concatenate([[0], np.cumsum(np.bincount(y[order], minlength=k))])
    rank = np.arange(len(order)) - start[y[order]]
    return order, start, rank


def _choose(y: np.ndarray, eligible: np.ndarray, rate: float, stratify: bool, k: int,
            rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of exactly ``flip_count(rate, len(eligible))`` samples of ``eligible``, without
    replacement; with ``stratify`` class c gets its largest-remainder share of ``rate * n_c``."""
    count = flip_count(rate, len(eligible))
    if not stratify:
        return np.sort(rng.permutation(eligible)[:count])
    order, start, rank = _grouped(y, eligible, k, rng)
    want = _largest_remainder(rate * np.diff(start).astype(np.float64), count, rng)
    return np.sort(order[rank < want[y[order]]])


def _uniform_other(true: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """A label drawn uniformly from the K-1 classes other than each ``true``."""
    return (true + rng.integers(1, k, size=len(true))) % k if len(true) else true.copy()


def _draw_rows(m: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw from row ``m[r]`` of the row-stochastic (K, K) matrix for each r in ``rows``, without
    building an (n, K) array: rows are offset by their index so one searchsorted serves them all."""
    k = m.shape[1]
    cdf = np.cumsum(m, axis=1)
    last = k - 1 - np.argmax(m[:, ::-1] > 0, axis=1)  # past a row's last positive entry its cdf is 1
    cdf[np.arange(k)[None, :] >= last[:, None]] = 1.0
    flat = (cdf + np.arange(len(m))[:, None]).ravel()
    return np.searchsorted(flat, rows + rng.random(len(rows)), side="right") - rows * k


def _top_k_weighted(log_w: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Weighted sampling of ``count`` indices without replacement (Gumbel-top-k, i.e. Efraimidis-Spirakis):
    successive draws proportional to ``exp(log_w)`` among those left; zero weights come last, at random."""
    g = log_w + rng.gumbel(size=len(log_w))
    return np.sort(np.lexsort((rng.random(len(log_w)), -g))[:count])


# --- class-conditional models ----------------------------------------------------------------------------


def uniform_all(labels, n_classes: int, rate: float, seed, *, stratify: bool = False) -> NoisyLabels:
    """Symmetric noise over **all** K classes (Zhang et al. 2017; ELR's and DivideMix's ``sym``).

    Exactly ``flip_count(rate, n)`` samples are *resampled*, each to a class drawn uniformly from all
    K classes, which may be the true one. So ``rate`` is the resampling probability, not the flip rate:
    the actual flip rate is about ``rate * (K - 1) / K`` (36% for rate 0.4, K = 10), and
    ``flipped`` marks only the samples whose label changed. The expected matrix is
    ``(1 - rate) I + rate / K``.

    Args:
        labels: int (n,) true labels in [0, n_classes).
        n_classes: K.
        rate: fraction of samples resampled, in [0, 1].
        seed: int >= 0 or tuple of ints.
        stratify: split the resampled count over classes in proportion to their sizes.

    Returns:
        NoisyLabels; ``params["n_resampled"]`` is the number of resampled samples.
    """
    y, k = _check_labels(labels, n_classes)
    rate, seed = _check_rate(rate), _check_seed(seed)
    rng = np.random.default_rng(seed)
    idx = _choose(y, np.arange(len(y)), rate, stratify, k, rng)
    observed = y.copy()
    observed[idx] = rng.integers(0, k, size=len(idx))
    params = {"rate": rate, "stratify": stratify, "n_resampled": len(idx)}
    return _result(y, observed, "uniform_all", params, seed, k)


def _flip_exact(model, labels, n_classes, rate, seed, stratify, relabel) -> NoisyLabels:
    """Exactly ``flip_count(rate, n)`` samples, chosen without replacement, get ``relabel(y, K, rng)``."""
    y, k = _check_labels(labels, n_classes)
    rate, seed = _check_rate(rate), _check_seed(seed)
    _need_other_class(k, flip_count(rate, len(y)))
    rng = np.random.default_rng(seed)
    idx = _choose(y, np.arange(len(y)), rate, stratify, k, rng)
    observed = y.copy()
    observed[idx] = relabel(y[idx], k, rng)
    return _result(y, observed, model, {"rate": rate, "stratify": stratify}, seed, k)


def uniform_other(labels, n_classes: int, rate: float, seed, *, stratify: bool = False) -> NoisyLabels:
    """Symmetric noise over the **other** K-1 classes (Co-teaching's ``symmetric``; Toneva et al. 2019).

    Exactly ``flip_count(rate, n)`` samples, chosen without replacement, get a label drawn uniformly
    from the K-1 classes other than their own, so ``rate`` is the actual flip rate. The expected
    matrix is ``T[i, i] = 1 - rate``, ``T[i, j] = rate / (K - 1)``.

    Args:
        labels: int (n,) true labels in [0, n_classes).
        n_classes: K (>= 2 when anything flips).
        rate: fraction flipped, in [0, 1].
        seed: int >= 0 or tuple of ints.
        stratify: split the flip count over classes in proportion to their sizes.
    """
    return _flip_exact("uniform_other", labels, n_classes, rate, seed, stratify,
                       lambda y, k, rng: _uniform_other(y, k, rng))


def pair_flip(labels, n_classes: int, rate: float, seed, *, stratify: bool = False) -> NoisyLabels:
    """Pair flip (Han et al. 2018): exactly ``flip_count(rate, n)`` samples go from c to (c + 1) mod K.

    Expected matrix ``T[i, i] = 1 - rate``, ``T[i, (i + 1) mod K] = rate``. Args as :func:`uniform_other`.
    """
    return _flip_exact("pair_flip", labels, n_classes, rate, seed, stratify, lambda y, k, rng: (y + 1) % k)


def asymmetric(labels, n_classes: int, mapping: Mapping[int, int], rate: float, seed, *,
               stratify: bool = True) -> NoisyLabels:
    """Class-map noise (Patrini et al. 2017 style, e.g. CIFAR-10 truck -> automobile).

    Only samples whose true class is a key of ``mapping`` are eligible; exactly
    ``flip_count(rate, n_eligible)`` of them are sent to ``mapping[class]``. With ``stratify`` (the
    default, as ELR) each source class loses its largest-remainder share ``rate * n_c``; classes
    outside the map never flip, so the overall flip rate is ``rate * n_eligible / n``.

    Args:
        labels: int (n,) true labels in [0, n_classes).
        n_classes: K.
        mapping: {source class: target class}, both in [0, K), source != target.
        rate: fraction of eligible samples flipped, in [0, 1].
        seed: int >= 0 or tuple of ints.
        stratify: split the flip count over source classes in proportion to their sizes.
    """
    y, k = _check_labels(labels, n_classes)
    rate, seed = _check_rate(rate), _check_seed(seed)
    if not isinstance(mapping, Mapping):
        raise NoiseError(f"mapping: expected a dict {{source class: target class}}, got {type(mapping).__name__}")
    table = np.arange(k)
    for s, t in mapping.items():
        for v in (s, t):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < k:
                raise NoiseError(f"mapping: classes must be ints in [0, {k - 1}], got {s!r}: {t!r}")
        if s == t:
            raise NoiseError(f"mapping: {s!r}: {t!r} maps a class to itself; leave it out instead")
        table[s] = t
    rng = np.random.default_rng(seed)
    eligible = np.flatnonzero(table[y] != y)
    idx = _choose(y, eligible, rate, stratify, k, rng)
    observed = y.copy()
    observed[idx] = table[y[idx]]
    params = {"rate": rate, "mapping": {int(s): int(t) for s, t in mapping.items()}, "stratify": stratify}
    return _result(y, observed, "asymmetric", params, seed, k)


def from_matrix(labels, n_classes: int, T, seed, exact: bool = True) -> NoisyLabels:
    """Class-conditional noise from any row-stochastic ``T[true, noisy] = P(noisy | true)``.

    With ``exact`` the ``n_c`` samples of true class c are shuffled and split into blocks whose sizes
    are the largest-remainder rounding of ``n_c * T[c, :]`` (sum ``n_c``; ties broken at random), so
    the empirical matrix equals T up to that rounding. Without it, each sample draws its own label
    from ``T[y]`` (Co-teaching's ``multiclass_noisify``).

    Args:
        labels: int (n,) true labels in [0, n_classes).
        n_classes: K.
        T: (K, K) matrix, entries >= 0, rows summing to 1 within 1e-6 (rows are then renormalised).
            cleanlab's ``noise_matrix`` is column-stochastic: pass ``noise_matrix.T``.
        seed: int >= 0 or tuple of ints.
        exact: exact per-class counts (True) or independent draws (False).
    """
    y, k = _check_labels(labels, n_classes)
    seed = _check_seed(seed)
    m = _check_matrix(T, k)
    rng = np.random.default_rng(seed)
    observed = y.copy()
    if exact:
        order, start, _ = _grouped(y, np.arange(len(y)), k, rng)
        sizes = _largest_remainder(np.diff(start)[:, None] * m, np.diff(start), rng)
        bounds = (np.cumsum(sizes, axis=1) + start[:-1, None]).ravel()
        cls = y[order]
        observed[order] = np.searchsorted(bounds, np.arange(len(y)), side="right") - cls * k
    else:
        observed = _draw_rows(m, y, rng)
    params = {"T": m.tolist(), "exact": bool(exact)}
    return _result(y, observed, "from_matrix", params, seed, k)


# --- instance- and attribute-dependent models -------------------------------------------------------------


def _truncated_normal(mean: float, std: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws of N(mean, std^2) conditioned on [0, 1] (rejection; acceptance >= 1/2 for mean in [0, 1])."""
    out = np.empty(n)
    todo = np.arange(n)
    while len(todo):
        x = rng.normal(mean, std, size=len(todo))
        ok = (x >= 0) & (x <= 1)
        out[todo[ok]] = x[ok]
        todo = todo[~ok]
    return out


def instance_dependent(labels, n_classes: int, features, rate: float, seed, *, std: float = 0.1,
                       exact: bool = True) -> NoisyLabels:
    """Instance-dependent noise following Xia et al. 2020 ("Part-dependent label noise", their generator).

    Procedure (the random streams come from ``SeedSequence(seed).spawn``, so adding classes does not
    change the draws of the others):

    1. Per-sample flip rates ``q_i ~ N(rate, std^2)`` truncated to [0, 1] (rejection sampling).
    2. Per class c a weight matrix ``W_c ~ N(0, 1)`` of shape (d, K) (drawn for present classes only).
    3. Scores ``s_i = x_i @ W_{y_i}`` (length K), ``s_i[y_i] = -inf``; ``p_i = softmax(s_i)`` is the
       distribution of the new label over the other classes.
    4. ``exact=True``: exactly ``flip_count(rate, n)`` samples are chosen by weighted sampling without
       replacement with weights ``q_i`` (larger ``q_i``, likelier flip), and each gets a label drawn
       from ``p_i``. ``exact=False``: Xia's original draw ``y~_i ~ q_i p_i + (1 - q_i) e_{y_i}``, i.e.
       each sample flips independently with probability ``q_i``. The truncation moves the mean of
       ``q`` towards 1/2 near the ends (rate 0 with std 0.1 gives about 8% flips, not 0);
       ``params["mean_flip_prob"]`` records the realised mean of ``q``.

    Features are used as given (Xia used normalised flattened images); logits grow with their scale
    and with d, which makes ``p_i`` peak on one class. The cost is O(n d K): pass compact features
    (attributes, a random projection, a small embedding) when K and d are large.

    Args:
        labels: int (n,) true labels in [0, n_classes).
        n_classes: K (>= 2 when anything flips).
        features: float (n, d) (trailing dimensions are flattened, e.g. images (n, H, W, C)).
        rate: mean flip rate, in [0, 1].
        seed: int >= 0 or tuple of ints.
        std: standard deviation of the per-sample flip rate before truncation (Xia: 0.1), > 0.
        exact: flip exactly ``flip_count(rate, n)`` samples (True) or draw each independently (False).
    """
    y, k = _check_labels(labels, n_classes)
    rate, seed = _check_rate(rate), _check_seed(seed)
    x = np.asarray(features, dtype=np.float64)
    if x.ndim < 2 or len(x) != len(y) or not np.all(np.isfinite(x)):
        raise NoiseError(f"features: expected a finite float array (n, d) with n = {len(y)}, got shape {x.shape}")
    x = x.reshape(len(y), math.prod(x.shape[1:]))
    if not (isinstance(std, (int, float)) and 0 < std < math.inf):
        raise NoiseError(f"std: expected a number > 0, got {std!r}")
    _need_other_class(k, flip_count(rate, len(y)) if exact else len(y))
    s_q, s_pick, *s_w = np.random.SeedSequence(seed).spawn(2 + k)
    q = _truncated_normal(rate, std, len(y), np.random.default_rng(s_q))
    rng = np.random.default_rng(s_pick)
    if exact:
        with np.errstate(divide="ignore"):
            idx = _top_k_weighted(np.log(q), flip_count(rate, len(y)), rng)
    else:
        idx = np.flatnonzero(rng.random(len(y)) < q)
    observed = y.copy()
    new = np.empty(len(idx), dtype=np.int64)
    for c in np.unique(y[idx]):
        rows = np.flatnonzero(y[idx] == c)
        w = np.random.default_rng(s_w[c]).standard_normal((x.shape[1], k))
        s = x[idx[rows]] @ w
        s[:, c] = -np.inf
        p = np.exp(s - s.max(axis=1, keepdims=True))
        cdf = np.cumsum(p, axis=1)
        u = rng.random(len(rows)) * cdf[:, -1]
        new[rows] = np.minimum((cdf <= u[:, None]).sum(axis=1), k - 1)
    observed[idx] = new
    params = {"rate": rate, "std": float(std), "exact": bool(exact), "n_features": int(x.shape[1]),
              "mean_flip_prob": float(q.mean()) if len(q) else rate}
    return _result(y, observed, "instance_dependent", params, seed, k)


def attribute_dependent(labels, n_classes: int, scores, rate: float, seed, confusion=None, *,
                        strength: float = 1.0) -> NoisyLabels:
    """Noise that hits hard samples: flips concentrate where the difficulty ``scores`` are high.

    Exactly ``flip_count(rate, n)`` samples are chosen by weighted sampling without replacement
    (successive draws proportional to the weight among those left) with weight
    ``w_i = exp(strength * z_i)``, where ``z`` is ``scores`` standardised (mean 0, std 1; all 0 when
    the scores are constant). ``strength = 0`` is uniform choice; at 1, a sample one standard
    deviation harder is e (2.7) times likelier per draw. Each chosen sample gets a label drawn from
    ``confusion[y_i]`` with the diagonal removed (renormalised), or uniformly among the other classes
    when ``confusion`` is None.

    Args:
        labels: int (n,) true labels in [0, n_classes).
        n_classes: K (>= 2 when anything flips).
        scores: float (n,) per-sample difficulty, larger = harder (see :func:`difficulty`).
        rate: fraction flipped, in [0, 1].
        seed: int >= 0 or tuple of ints.
        confusion: optional (K, K) row-stochastic ``C[true, noisy]`` of visually confusable classes
            (see :func:`confusion_from_prototypes`); every row of a class that flips needs mass off
            the diagonal.
        strength: slope of the log-weight per standard deviation of score, >= 0.
    """
    y, k = _check_labels(labels, n_classes)
    rate, seed = _check_rate(rate), _check_seed(seed)
    sc = np.asarray(scores, dtype=np.float64)
    if sc.shape != y.shape or not np.all(np.isfinite(sc)):
        raise NoiseError(f"scores: expected finite floats of shape ({len(y)},), got shape {sc.shape}")
    if not (isinstance(strength, (int, float)) and 0 <= strength < math.inf):
        raise NoiseError(f"strength: expected a number >= 0, got {strength!r}")
    count = flip_count(rate, len(y))
    _need_other_class(k, count)
    off = None
    if confusion is not None:
        off = _check_matrix(confusion, k, "confusion")
        np.fill_diagonal(off, 0.0)
    rng = np.random.default_rng(seed)
    sd = sc.std() if len(sc) else 0.0
    z = (sc - sc.mean()) / sd if sd > 0 else np.zeros_like(sc)
    idx = _top_k_weighted(strength * z, count, rng)
    observed = y.copy()
    if off is None:
        observed[idx] = _uniform_other(y[idx], k, rng)
    elif count:
        mass = off.sum(axis=1)
        if np.any(mass[y[idx]] <= 0):
            c = int(y[idx][np.argmax(mass[y[idx]] <= 0)])
            raise NoiseError(f"confusion: row {c} has no mass off the diagonal, so class {c} cannot flip")
        observed[idx] = _draw_rows(off / np.where(mass > 0, mass, 1.0)[:, None], y[idx], rng)
    params = {"rate": rate, "strength": float(strength), "confusion": None if off is None else off.tolist()}
    return _result(y, observed, "attribute_dependent", params, seed, k)


def difficulty(attrs: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """Combine attribute columns into a difficulty score: ``sum_k weights[k] * standardise(attrs[k])``.

    Each named column is standardised (mean 0, std 1; a constant column contributes 0); a positive
    weight makes large values harder (e.g. ``{"occlusion": 1}``), a negative one small values
    (``{"scale": -1}``: small glyphs are hard).

    Args:
        attrs: name -> numeric (n,) column (e.g. ``Dataset.attrs``); (n, S) columns give their first
            slot (the first symbol). Columns must be finite.
        weights: name -> float weight; at least one.

    Returns:
        float64 (n,) scores.
    """
    if not weights:
        raise NoiseError("weights: expected at least one {attribute: weight}")
    total = None
    for name, w in weights.items():
        if name not in attrs:
            near = difflib.get_close_matches(name, list(attrs), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise NoiseError(f"weights: unknown attribute {name!r}{hint}; expected one of {sorted(attrs)}")
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
            raise NoiseError(f"weights[{name!r}]: expected a finite number, got {w!r}")
        col = np.asarray(attrs[name], dtype=np.float64)
        if col.ndim > 1:  # symbol- or occluder-level (n, S): the first slot, as load()'s targets
            col = col.reshape(len(col), -1)[:, 0]
        if col.ndim != 1 or (total is not None and col.shape != total.shape):
            raise NoiseError(f"attrs[{name!r}]: expected a 1-D column like the others, got shape {col.shape}")
        if not np.all(np.isfinite(col)):
            raise NoiseError(f"attrs[{name!r}]: {int((~np.isfinite(col)).sum())} non-finite values; "
                             f"fill them first (e.g. np.nan_to_num)")
        sd = col.std() if len(col) else 0.0
        z = (col - col.mean()) / sd if sd > 0 else np.zeros_like(col)
        total = w * z if total is None else total + w * z
    return total


def confusion_from_prototypes(images, labels, n_classes: int, temperature: float = 0.1) -> np.ndarray:
    """Confusion matrix of visually close classes, from distances between per-class mean images.

    ``m_c`` is the mean image of class c (flattened); ``d[c, j] = ||m_c - m_j||`` divided by the median
    distance between two different present classes (so the temperature does not depend on the image
    size, range or dataset); ``C[c, j] = softmax_{j != c}(-d[c, j] / temperature)``, ``C[c, c] = 0``.
    Closer classes are more confusable; a smaller temperature concentrates on the nearest (at 0.1 a
    class twice as far as another gets e^-10 of its mass). Classes without samples get no mass from
    the others, and their own row is uniform over the other classes.

    Mean images show glyph shapes when the glyph is the main source of variation (``plain``,
    ``default-bw``); with random colours and backgrounds they are blurred. Then pass the images of a
    plain dataset with the same class table, or masks, or any per-sample features.

    Args:
        images: (n, ...) images or features (uint8 or float); summed in 4,096-row blocks.
        labels: int (n,) labels in [0, n_classes).
        n_classes: K >= 2.
        temperature: > 0, in units of the median distance.

    Returns:
        float64 (K, K) row-stochastic ``C[true, noisy]`` with a zero diagonal.
    """
    y, k = _check_labels(labels, n_classes)
    if k < 2:
        raise NoiseError(f"n_classes: a confusion matrix needs n_classes >= 2, got {k}")
    if isinstance(temperature, bool) or not (isinstance(temperature, (int, float)) and 0 < temperature < math.inf):
        raise NoiseError(f"temperature: expected a number > 0, got {temperature!r}")
    x = np.asarray(images)
    if x.ndim < 2 or len(x) != len(y):
        raise NoiseError(f"images: expected an array (n, ...) with n = {len(y)}, got shape {x.shape}")
    x = x.reshape(len(y), math.prod(x.shape[1:]))
    sums = np.zeros((k, x.shape[1]))
    for start in range(0, len(y), 4096):  # one-hot matmul per block: no float copy of the whole set
        yb = y[start:start + 4096]
        onehot = np.zeros((k, len(yb)), dtype=np.float32)
        onehot[yb, np.arange(len(yb))] = 1.0
        sums += onehot @ x[start:start + 4096].astype(np.float32)
    n_c = np.bincount(y, minlength=k)
    present = np.flatnonzero(n_c)
    protos = sums[present] / n_c[present, None]
    sq = (protos**2).sum(axis=1)
    d = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * protos @ protos.T, 0.0))
    pairs = d[~np.eye(len(present), dtype=bool)]
    scale = np.median(pairs) if len(pairs) else 0.0
    logits = np.full((k, k), -np.inf)
    logits[np.ix_(present, present)] = -d / (temperature * scale) if scale > 0 else 0.0
    np.fill_diagonal(logits, -np.inf)
    empty = ~np.isfinite(logits).any(axis=1)  # absent classes (or a single present one)
    logits[empty] = 0.0
    logits[empty, empty.nonzero()[0]] = -np.inf
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --- dispatch ---------------------------------------------------------------------------------------------

MODELS: dict[str, Callable[..., NoisyLabels]] = {
    f.__name__: f for f in (uniform_all, uniform_other, pair_flip, asymmetric, from_matrix,
                            instance_dependent, attribute_dependent)
}


def apply_noise(model: str, labels, n_classes: int, **kw) -> NoisyLabels:
    """Run the noise model named ``model`` (a key of :data:`MODELS`) with keyword arguments ``kw``.

    >>> apply_noise("pair_flip", [0, 1, 2, 3], 4, rate=0.5, seed=1).n_flipped
    2
    """
    fn = MODELS.get(model)
    if fn is None:
        near = difflib.get_close_matches(str(model), list(MODELS), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise NoiseError(f"model: unknown {model!r}{hint}; expected one of {', '.join(MODELS)}")
    try:
        inspect.signature(fn).bind(labels, n_classes, **kw)
    except TypeError as e:
        accepted = [p for p in inspect.signature(fn).parameters if p not in ("labels", "n_classes")]
        raise NoiseError(f"{model}: {e}; accepted arguments: {', '.join(accepted)}") from None
    return fn(labels, n_classes, **kw)
