"""Instance- and attribute-dependent label noise, where the chance and target of a flip depend on the sample:
:func:`instance_dependent` (Xia et al. 2020) and :func:`attribute_dependent`, with the helpers that feed
the latter, :func:`difficulty` (scores from attribute columns) and :func:`confusion_from_prototypes`.
The two models are registered in :data:`MODELS` by name.

Import them from :mod:`synprobe.noise`, whose docstring states the conventions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from synprobe.errors import did_you_mean
from synprobe.noise._core import (
    NoiseError,
    NoisyLabels,
    check_labels,
    check_matrix,
    check_rate,
    check_seed,
    draw_other,
    draw_rows,
    flip_count,
    need_other_class,
    noisy_result,
    top_k_weighted,
)
from synprobe.noise._registry import noise_model


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


@noise_model
def instance_dependent(
    labels, n_classes: int, features, rate: float, seed, *, std: float = 0.1, exact: bool = True
) -> NoisyLabels:
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
    y, k = check_labels(labels, n_classes)
    rate, seed = check_rate(rate), check_seed(seed)
    x = np.asarray(features, dtype=np.float64)
    if x.ndim < 2 or len(x) != len(y) or not np.all(np.isfinite(x)):
        raise NoiseError(f"features: expected a finite float array (n, d) with n = {len(y)}, got shape {x.shape}")
    x = x.reshape(len(y), math.prod(x.shape[1:]))
    if not (isinstance(std, (int, float)) and 0 < std < math.inf):
        raise NoiseError(f"std: expected a number > 0, got {std!r}")
    need_other_class(k, flip_count(rate, len(y)) if exact else len(y))
    s_q, s_pick, *s_w = np.random.SeedSequence(seed).spawn(2 + k)
    q = _truncated_normal(rate, std, len(y), np.random.default_rng(s_q))
    rng = np.random.default_rng(s_pick)
    if exact:
        with np.errstate(divide="ignore"):
            idx = top_k_weighted(np.log(q), flip_count(rate, len(y)), rng)
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
    params = {
        "rate": rate,
        "std": float(std),
        "exact": bool(exact),
        "n_features": int(x.shape[1]),
        "mean_flip_prob": float(q.mean()) if len(q) else rate,
    }
    return noisy_result(y, observed, "instance_dependent", params, seed, k)


@noise_model
def attribute_dependent(
    labels, n_classes: int, scores, rate: float, seed, confusion=None, *, strength: float = 1.0
) -> NoisyLabels:
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
    y, k = check_labels(labels, n_classes)
    rate, seed = check_rate(rate), check_seed(seed)
    sc = np.asarray(scores, dtype=np.float64)
    if sc.shape != y.shape or not np.all(np.isfinite(sc)):
        raise NoiseError(f"scores: expected finite floats of shape ({len(y)},), got shape {sc.shape}")
    if not (isinstance(strength, (int, float)) and 0 <= strength < math.inf):
        raise NoiseError(f"strength: expected a number >= 0, got {strength!r}")
    count = flip_count(rate, len(y))
    need_other_class(k, count)
    off = None
    if confusion is not None:
        off = check_matrix(confusion, k, "confusion")
        np.fill_diagonal(off, 0.0)
    rng = np.random.default_rng(seed)
    sd = sc.std() if len(sc) else 0.0
    z = (sc - sc.mean()) / sd if sd > 0 else np.zeros_like(sc)
    idx = top_k_weighted(strength * z, count, rng)
    observed = y.copy()
    if off is None:
        observed[idx] = draw_other(y[idx], k, rng)
    elif count:
        mass = off.sum(axis=1)
        if np.any(mass[y[idx]] <= 0):
            c = int(y[idx][np.argmax(mass[y[idx]] <= 0)])
            raise NoiseError(f"confusion: row {c} has no mass off the diagonal, so class {c} cannot flip")
        observed[idx] = draw_rows(off / np.where(mass > 0, mass, 1.0)[:, None], y[idx], rng)
    params = {"rate": rate, "strength": float(strength), "confusion": None if off is None else off.tolist()}
    return noisy_result(y, observed, "attribute_dependent", params, seed, k)


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
            hint = did_you_mean(name, list(attrs))
            raise NoiseError(f"weights: unknown attribute {name!r}{hint}; expected one of {sorted(attrs)}")
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
            raise NoiseError(f"weights[{name!r}]: expected a finite number, got {w!r}")
        col = np.asarray(attrs[name], dtype=np.float64)
        if col.ndim > 1:  # symbol- or occluder-level (n, S): the first slot, as load()'s targets
            col = col.reshape(len(col), -1)[:, 0]
        if col.ndim != 1 or (total is not None and col.shape != total.shape):
            raise NoiseError(f"attrs[{name!r}]: expected a 1-D column like the others, got shape {col.shape}")
        if not np.all(np.isfinite(col)):
            raise NoiseError(
                f"attrs[{name!r}]: {int((~np.isfinite(col)).sum())} non-finite values; "
                f"fill them first (e.g. np.nan_to_num)"
            )
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
    y, k = check_labels(labels, n_classes)
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
        yb = y[start : start + 4096]
        onehot = np.zeros((k, len(yb)), dtype=np.float32)
        onehot[yb, np.arange(len(yb))] = 1.0
        sums += onehot @ x[start : start + 4096].astype(np.float32)
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
