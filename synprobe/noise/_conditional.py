"""The class-conditional label-noise models: :func:`uniform_all`, :func:`uniform_other`, :func:`pair_flip`,
:func:`asymmetric` and :func:`from_matrix`, each registered in :data:`MODELS` by name.

Import them from :mod:`synprobe.noise`, whose docstring states the conventions.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from synprobe.noise._core import (
    NoiseError,
    NoisyLabels,
    check_labels,
    check_matrix,
    check_rate,
    check_seed,
    choose,
    draw_other,
    draw_rows,
    flip_count,
    grouped,
    largest_remainder,
    need_other_class,
    noisy_result,
)
from synprobe.noise._registry import noise_model


@noise_model
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
    y, k = check_labels(labels, n_classes)
    rate, seed = check_rate(rate), check_seed(seed)
    rng = np.random.default_rng(seed)
    idx = choose(y, np.arange(len(y)), rate, stratify, k, rng)
    observed = y.copy()
    observed[idx] = rng.integers(0, k, size=len(idx))
    params = {"rate": rate, "stratify": stratify, "n_resampled": len(idx)}
    return noisy_result(y, observed, "uniform_all", params, seed, k)


def _flip_exact(model, labels, n_classes, rate, seed, stratify, relabel) -> NoisyLabels:
    """Exactly ``flip_count(rate, n)`` samples, chosen without replacement, get ``relabel(y, K, rng)``."""
    y, k = check_labels(labels, n_classes)
    rate, seed = check_rate(rate), check_seed(seed)
    need_other_class(k, flip_count(rate, len(y)))
    rng = np.random.default_rng(seed)
    idx = choose(y, np.arange(len(y)), rate, stratify, k, rng)
    observed = y.copy()
    observed[idx] = relabel(y[idx], k, rng)
    return noisy_result(y, observed, model, {"rate": rate, "stratify": stratify}, seed, k)


@noise_model
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
    return _flip_exact(
        "uniform_other", labels, n_classes, rate, seed, stratify, lambda y, k, rng: draw_other(y, k, rng)
    )


@noise_model
def pair_flip(labels, n_classes: int, rate: float, seed, *, stratify: bool = False) -> NoisyLabels:
    """Pair flip (Han et al. 2018): exactly ``flip_count(rate, n)`` samples go from c to (c + 1) mod K.

    Expected matrix ``T[i, i] = 1 - rate``, ``T[i, (i + 1) mod K] = rate``. Args as :func:`uniform_other`.
    """
    return _flip_exact("pair_flip", labels, n_classes, rate, seed, stratify, lambda y, k, rng: (y + 1) % k)


@noise_model
def asymmetric(
    labels, n_classes: int, mapping: Mapping[int, int], rate: float, seed, *, stratify: bool = True
) -> NoisyLabels:
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
    y, k = check_labels(labels, n_classes)
    rate, seed = check_rate(rate), check_seed(seed)
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
    idx = choose(y, eligible, rate, stratify, k, rng)
    observed = y.copy()
    observed[idx] = table[y[idx]]
    params = {"rate": rate, "mapping": {int(s): int(t) for s, t in mapping.items()}, "stratify": stratify}
    return noisy_result(y, observed, "asymmetric", params, seed, k)


@noise_model
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
    y, k = check_labels(labels, n_classes)
    seed = check_seed(seed)
    m = check_matrix(T, k)
    rng = np.random.default_rng(seed)
    observed = y.copy()
    if exact:
        order, start, _ = grouped(y, np.arange(len(y)), k, rng)
        sizes = largest_remainder(np.diff(start)[:, None] * m, np.diff(start), rng)
        bounds = (np.cumsum(sizes, axis=1) + start[:-1, None]).ravel()
        cls = y[order]
        observed[order] = np.searchsorted(bounds, np.arange(len(y)), side="right") - cls * k
    else:
        observed = draw_rows(m, y, rng)
    params = {"T": m.tolist(), "exact": bool(exact)}
    return noisy_result(y, observed, "from_matrix", params, seed, k)
