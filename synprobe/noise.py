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

Layout: this module holds the class-conditional models (``uniform_all``, ``uniform_other``,
``pair_flip``, ``asymmetric``, ``from_matrix``) and the dispatch (:data:`MODELS`, :func:`apply_noise`);
:mod:`synprobe.noise_instance` the instance- and attribute-dependent models; :mod:`synprobe.noise_core`
the result type, errors, validation and sampling helpers. Import everything from here.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping

import numpy as np

from synprobe.noise_core import (
    NoiseError,
    NoisyLabels,
    _check_labels,
    _check_matrix,
    _check_rate,
    _check_seed,
    _choose,
    _draw_rows,
    _grouped,
    _largest_remainder,
    _need_other_class,
    _result,
    _uniform_other,
    flip_count,
)
from synprobe.noise_instance import attribute_dependent, confusion_from_prototypes, difficulty, instance_dependent

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
