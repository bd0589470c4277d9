"""Label-noise models: exact counts, T[true, noisy] convention, determinism, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from synprobe.errors import SynprobeError
from synprobe.noise import (
    MODELS,
    NoiseError,
    NoisyLabels,
    apply_noise,
    asymmetric,
    attribute_dependent,
    confusion_from_prototypes,
    difficulty,
    flip_count,
    from_matrix,
    instance_dependent,
    pair_flip,
    uniform_all,
    uniform_other,
)


@st.composite
def label_sets(draw, *, min_classes: int = 2, max_classes: int = 8, max_n: int = 300):
    """(labels int64 (n,), n_classes, rate, seed) with labels in [0, K)."""
    k = draw(st.integers(min_classes, max_classes))
    n = draw(st.integers(0, max_n))
    seed = draw(st.integers(0, 2**32))
    labels = np.random.default_rng(seed).integers(0, k, size=n)
    rate = draw(st.one_of(st.sampled_from([0.0, 1.0, 0.5]), st.floats(0, 1, allow_nan=False)))
    return labels, k, rate, seed


def _expected(rate: float, n: int) -> int:
    return math.floor(rate * n + 0.5)  # round half up, written independently of flip_count


def _check_invariants(r: NoisyLabels, labels, k):
    assert r.true.dtype == r.observed.dtype == np.int64 and r.flipped.dtype == np.bool_
    assert np.array_equal(r.true, labels)
    assert np.array_equal(r.flipped, r.observed != r.true)
    assert r.observed.min(initial=0) >= 0 and r.observed.max(initial=0) < k
    assert r.rate == pytest.approx(r.flipped.mean() if len(r) else 0.0)
    t = r.transition()
    present = np.bincount(labels, minlength=k) > 0
    assert np.allclose(t[present].sum(axis=1), 1.0)
    assert np.isnan(t[~present]).all()


# --- exact counts ----------------------------------------------------------------------------------------


@given(label_sets(), st.booleans())
def test_uniform_other_exact_count_never_keeps_label(case, stratify):
    labels, k, rate, seed = case
    r = uniform_other(labels, k, rate, seed, stratify=stratify)
    _check_invariants(r, labels, k)
    assert r.n_flipped == _expected(rate, len(labels))


@given(label_sets(), st.booleans())
def test_pair_flip_exact_count_and_targets(case, stratify):
    labels, k, rate, seed = case
    r = pair_flip(labels, k, rate, seed, stratify=stratify)
    _check_invariants(r, labels, k)
    assert r.n_flipped == _expected(rate, len(labels))
    assert np.array_equal(r.observed[r.flipped], (r.true[r.flipped] + 1) % k)


@given(label_sets(), st.booleans())
def test_uniform_all_resamples_exact_count_flips_fewer(case, stratify):
    labels, k, rate, seed = case
    r = uniform_all(labels, k, rate, seed, stratify=stratify)
    _check_invariants(r, labels, k)
    assert r.params["n_resampled"] == _expected(rate, len(labels))
    assert r.n_flipped <= r.params["n_resampled"]


def test_uniform_all_flip_rate_is_rate_times_k_minus_1_over_k():
    y = np.repeat(np.arange(10), 5000)
    r = uniform_all(y, 10, 0.4, seed=0)
    assert r.params["n_resampled"] == 20000
    assert r.rate == pytest.approx(0.36, abs=0.01)  # ~ 0.4 * 9 / 10, the literature's 36%


@given(label_sets(min_classes=3), st.data())
def test_asymmetric_only_mapped_classes_flip(case, data):
    labels, k, rate, seed = case
    src = data.draw(st.lists(st.integers(0, k - 1), unique=True, min_size=1, max_size=k))
    mapping = {s: data.draw(st.integers(0, k - 1).filter(lambda t, s=s: t != s)) for s in src}
    stratify = data.draw(st.booleans())
    r = asymmetric(labels, k, mapping, rate, seed, stratify=stratify)
    _check_invariants(r, labels, k)
    eligible = np.isin(labels, src)
    assert r.n_flipped == _expected(rate, int(eligible.sum()))
    assert not r.flipped[~eligible].any()
    assert all(r.observed[i] == mapping[int(r.true[i])] for i in np.flatnonzero(r.flipped))
    if stratify:  # every source class within one sample of rate * n_c
        for s in src:
            n_c = int((labels == s).sum())
            assert abs(int(r.flipped[labels == s].sum()) - rate * n_c) < 1 + 1e-9


def test_stratified_counts_per_class():
    y = np.repeat(np.arange(4), [10, 20, 30, 40])
    r = uniform_other(y, 4, 0.3, seed=3, stratify=True)
    assert [int(r.flipped[y == c].sum()) for c in range(4)] == [3, 6, 9, 12]


# --- from_matrix and the row/column convention -----------------------------------------------------------


def _random_row_stochastic(k: int, seed: int, zeros: bool = True) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.random((k, k)) ** 3
    if zeros:
        m[rng.random((k, k)) < 0.3] = 0.0
    m[np.arange(k), np.arange(k)] += 1e-3
    return m / m.sum(axis=1, keepdims=True)


@given(label_sets(max_n=400), st.integers(0, 1000))
def test_from_matrix_exact_counts_are_largest_remainder(case, tseed):
    labels, k, _, seed = case
    T = _random_row_stochastic(k, tseed)
    r = from_matrix(labels, k, T, seed)
    _check_invariants(r, labels, k)
    counts = r.counts()
    n_c = np.bincount(labels, minlength=k)
    assert np.array_equal(counts.sum(axis=1), n_c)
    quota = n_c[:, None] * T
    assert np.all((counts == np.floor(quota)) | (counts == np.floor(quota) + 1))
    assert not counts[T == 0].any()


def test_from_matrix_non_symmetric_convention():
    # T[true, noisy]: class 0 sends 30% to class 2; nothing is sent from 2 to 0.
    T = np.array([[0.7, 0.0, 0.3], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    y = np.repeat(np.arange(3), 1000)
    for exact in (True, False):
        r = from_matrix(y, 3, T, seed=5, exact=exact)
        assert not np.any((r.true == 2) & (r.observed == 0))
        assert not r.flipped[y != 0].any()
        assert np.allclose(r.transition(), T, atol=0 if exact else 0.05)
    assert from_matrix(y, 3, T, seed=5).counts()[0].tolist() == [700, 0, 300]


def test_from_matrix_sampled_is_close_to_T():
    T = _random_row_stochastic(5, 1)
    y = np.repeat(np.arange(5), 4000)
    r = from_matrix(y, 5, T, seed=2, exact=False)
    assert np.abs(r.transition() - T).max() < 0.03
    assert np.abs(from_matrix(y, 5, T, seed=2).transition() - T).max() <= 1 / 4000


@given(label_sets(max_n=400), st.integers(0, 1000))
def test_from_matrix_sampled_never_uses_zero_entries(case, tseed):
    labels, k, _, seed = case
    T = _random_row_stochastic(k, tseed)
    r = from_matrix(labels, k, T, seed, exact=False)
    _check_invariants(r, labels, k)
    assert not r.counts()[T == 0].any()


@pytest.mark.parametrize(("T", "match"), [
    (np.eye(3)[:2], r"T: expected a square 3x3"),
    (np.array([[1, 0, 0], [0.5, 0.6, -0.1], [0, 0, 1]]), r"T: row 1 has negative"),
    (np.array([[1, 0, 0], [0, 1, 0], [0.3, 0.3, 0.3]]), r"T: row 2 sums to 0.9"),
    (np.array([[1, 0, 0], [0, np.nan, 1], [0, 0, 1]]), r"T: row 1 has negative or non-finite"),
])
def test_from_matrix_validation(T, match):
    with pytest.raises(NoiseError, match=match) as e:
        from_matrix([0, 1, 2], 3, T, seed=0)
    assert "\n" not in str(e.value)


def test_column_stochastic_matrix_is_rejected_with_hint():
    cs = np.array([[0.6, 0.1, 0.0], [0.4, 0.9, 0.5], [0.0, 0.0, 0.5]])  # columns sum to 1
    with pytest.raises(NoiseError, match="transpose"):
        from_matrix([0, 1, 2], 3, cs, seed=0)
    assert from_matrix(np.repeat(np.arange(3), 10), 3, cs.T, seed=0).counts()[1].tolist() == [1, 9, 0]


# --- instance- and attribute-dependent -------------------------------------------------------------------


@given(label_sets(max_n=200), st.integers(1, 6))
def test_instance_dependent_exact_count(case, d):
    labels, k, rate, seed = case
    x = np.random.default_rng(seed + 1).normal(size=(len(labels), d))
    r = instance_dependent(labels, k, x, rate, seed)
    _check_invariants(r, labels, k)
    assert r.n_flipped == _expected(rate, len(labels))


def test_instance_dependent_sampled_mean_rate_and_feature_dependence():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, size=6000)
    x = rng.normal(size=(6000, 8))
    r = instance_dependent(y, 5, x, 0.3, seed=1, exact=False)
    assert r.rate == pytest.approx(0.3, abs=0.02)
    # the new label depends on the features: large identical features of one class all go to one place,
    # and other features to other places
    same = instance_dependent(np.zeros(500, np.int64), 5, np.full((500, 8), 100.0), 0.5, seed=4)
    assert len(np.unique(same.observed[same.flipped])) == 1
    x2 = np.repeat(np.random.default_rng(1).normal(size=(50, 8)) * 100, 10, axis=0)
    spread = instance_dependent(np.zeros(500, np.int64), 5, x2, 1.0, seed=4)
    assert len(np.unique(spread.observed)) > 1
    assert all(len(np.unique(spread.observed[i:i + 10])) == 1 for i in range(0, 500, 10))


def test_instance_dependent_images_are_flattened():
    y = np.arange(20) % 4
    imgs = np.random.default_rng(0).integers(0, 255, size=(20, 4, 4, 3), dtype=np.uint8)
    r = instance_dependent(y, 4, imgs / 255.0, 0.5, seed=0)
    assert r.n_flipped == 10 and r.params["n_features"] == 48


@given(label_sets(max_n=200), st.booleans())
def test_attribute_dependent_exact_count(case, with_confusion):
    labels, k, rate, seed = case
    scores = np.random.default_rng(seed).normal(size=len(labels))
    conf = _random_row_stochastic(k, seed % 1000, zeros=False) if with_confusion else None
    r = attribute_dependent(labels, k, scores, rate, seed, confusion=conf)
    _check_invariants(r, labels, k)
    assert r.n_flipped == _expected(rate, len(labels))


def test_attribute_dependent_concentrates_on_high_scores():
    rng = np.random.default_rng(0)
    n = 5000
    y = rng.integers(0, 10, size=n)
    scores = rng.normal(size=n)
    r = attribute_dependent(y, 10, scores, 0.2, seed=11, strength=1.0)
    hard = scores > np.quantile(scores, 0.8)
    easy = scores < np.quantile(scores, 0.2)
    assert r.flipped[hard].mean() > 3 * r.flipped[easy].mean()
    # Mann-Whitney-style: a flipped sample is harder than a clean one far more often than not
    ranks = np.argsort(np.argsort(scores))
    auc = (ranks[r.flipped].mean() - (r.n_flipped - 1) / 2) / (n - r.n_flipped)
    assert auc > 0.7
    flat = attribute_dependent(y, 10, scores, 0.2, seed=11, strength=0.0)
    assert abs(flat.flipped[hard].mean() - flat.flipped[easy].mean()) < 0.05


def test_attribute_dependent_follows_confusion():
    conf = np.array([[0, 1, 0], [0, 0, 1], [0.5, 0.5, 0]])  # 0 -> 1, 1 -> 2, 2 -> {0, 1}
    y = np.repeat(np.arange(3), 100)
    r = attribute_dependent(y, 3, np.arange(300.0), 0.5, seed=0, confusion=conf)
    moved = r.counts()
    assert moved[0, 2] == moved[1, 0] == 0 and moved[2, 2] == 100 - r.flipped[y == 2].sum()
    with pytest.raises(NoiseError, match="confusion: row 0 has no mass off the diagonal"):
        attribute_dependent(y, 3, np.zeros(300), 1.0, seed=0, confusion=np.eye(3))


def test_difficulty_standardises_and_signs():
    attrs = {"scale": np.array([0.2, 0.4, 0.6, 0.8]), "occlusion": np.array([0.0, 0.0, 1.0, 1.0]),
             "const": np.ones(4)}
    d = difficulty(attrs, {"scale": -1.0})
    assert np.argmax(d) == 0 and d.mean() == pytest.approx(0) and d.std() == pytest.approx(1)
    both = difficulty(attrs, {"scale": -1.0, "occlusion": 2.0, "const": 5.0})
    assert np.allclose(both, d + 2 * np.array([-1, -1, 1, 1]))
    two_slots = {"scale": np.stack([attrs["scale"], np.full(4, np.nan)], axis=1)}  # (n, S): first symbol
    assert np.allclose(difficulty(two_slots, {"scale": -1.0}), d)
    with pytest.raises(NoiseError, match="did you mean 'scale'"):
        difficulty(attrs, {"scael": 1.0})
    with pytest.raises(NoiseError, match=r"attrs\['x'\]: 1 non-finite"):
        difficulty({"x": np.array([1.0, np.nan])}, {"x": 1.0})


def test_confusion_from_prototypes_prefers_close_classes():
    # class 0 and 1 are near-identical dark images, class 2 is bright
    imgs = np.zeros((30, 4, 4, 1), dtype=np.uint8)
    imgs[10:20] = 10
    imgs[20:] = 250
    y = np.repeat(np.arange(4)[:3], 10)
    c = confusion_from_prototypes(imgs, y, 4, temperature=0.1)
    assert np.allclose(c.sum(axis=1), 1) and np.allclose(np.diag(c), 0)
    assert c[0, 1] > 0.99 and c[1, 0] > 0.99 and c[2, 1] > c[2, 0]
    assert c[:3, 3].max() == 0 and np.allclose(c[3, :3], 1 / 3)  # absent class 3
    scaled = confusion_from_prototypes(imgs.astype(np.float64) / 255.0, y, 4, temperature=0.1)
    assert np.allclose(scaled, c)  # relative distances: the image range does not matter
    single = confusion_from_prototypes(imgs[:10], y[:10], 3)
    assert np.allclose(single, (1 - np.eye(3)) / 2)
    r = attribute_dependent(y, 4, np.zeros(30), 0.5, seed=0, confusion=c)
    assert r.counts()[0, 1] + r.counts()[0, 0] == 10


# --- determinism, dispatch, validation -------------------------------------------------------------------

_CALLS = {
    "uniform_all": {"rate": 0.3},
    "uniform_other": {"rate": 0.3},
    "pair_flip": {"rate": 0.3},
    "asymmetric": {"mapping": {0: 1, 2: 3}, "rate": 0.5},
    "from_matrix": {"T": _random_row_stochastic(4, 0)},
    "instance_dependent": {"features": np.random.default_rng(0).normal(size=(400, 3)), "rate": 0.3},
    "attribute_dependent": {"scores": np.random.default_rng(1).normal(size=400), "rate": 0.3},
}
_Y = np.random.default_rng(2).integers(0, 4, size=400)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_deterministic_by_seed_and_seeds_differ(model):
    a = apply_noise(model, _Y, 4, seed=7, **_CALLS[model])
    b = apply_noise(model, _Y.tolist(), 4, seed=7, **_CALLS[model])
    c = apply_noise(model, _Y, 4, seed=(7, 1), **_CALLS[model])
    assert a.model == model and a.seed == 7 and c.seed == (7, 1)
    assert np.array_equal(a.observed, b.observed)
    assert not np.array_equal(a.observed, c.observed)
    assert not a.observed.flags.writeable
    assert a.summary()["n_flipped"] == a.n_flipped


@pytest.mark.parametrize("model", sorted(set(MODELS) - {"from_matrix"}))
@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_rate_edges(model, rate):
    r = apply_noise(model, _Y, 4, seed=0, **{**_CALLS[model], "rate": rate})
    if rate == 0:
        assert r.n_flipped == 0
    elif model == "asymmetric":
        assert r.flipped.tolist() == np.isin(_Y, [0, 2]).tolist()
    elif model == "uniform_all":
        assert r.params["n_resampled"] == 400
    else:
        assert r.flipped.all()


def test_identity_matrix_and_empty_labels():
    assert from_matrix(_Y, 4, np.eye(4), seed=0).n_flipped == 0
    r = uniform_other(np.array([], dtype=np.int64), 3, 0.5, seed=0)
    assert len(r) == 0 and r.rate == 0.0 and r.transition().shape == (3, 3)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: uniform_other(_Y, 4, 1.5, 0), r"rate: expected a number in \[0, 1\], got 1.5"),
    (lambda: uniform_other(_Y, 4, 0.1, -1), r"seed: expected an int >= 0"),
    (lambda: uniform_other(_Y, 4, 0.1, None), r"seed: expected"),
    (lambda: uniform_other([0, 5], 4, 0.1, 0), r"labels: values must lie in \[0, 3\]"),
    (lambda: uniform_other([0, -1], 4, 0.1, 0), r"ds.subset\(ds.y >= 0\)"),
    (lambda: uniform_other([0.5], 4, 0.1, 0), r"labels: expected a 1-D integer array"),
    (lambda: uniform_other([0, 0], 1, 0.5, 0), r"n_classes >= 2"),
    (lambda: asymmetric(_Y, 4, {1: 1}, 0.1, 0), r"maps a class to itself"),
    (lambda: asymmetric(_Y, 4, {1: 9}, 0.1, 0), r"mapping: classes must be ints in \[0, 3\]"),
    (lambda: instance_dependent(_Y, 4, np.ones((3, 2)), 0.1, 0), r"features: expected .* n = 400"),
    (lambda: attribute_dependent(_Y, 4, np.ones(3), 0.1, 0), r"scores: expected finite floats of shape \(400,\)"),
    (lambda: attribute_dependent(_Y, 4, np.ones(400), 0.1, 0, strength=-1), r"strength: expected a number >= 0"),
    (lambda: confusion_from_prototypes(np.ones((400, 2)), _Y, 4, 0), r"temperature: expected a number > 0"),
    (lambda: apply_noise("pairflip", _Y, 4, rate=0.1, seed=0), r"did you mean 'pair_flip'.*uniform_all"),
    (lambda: apply_noise("pair_flip", _Y, 4, rate=0.1, sed=0), r"pair_flip: .*accepted arguments: rate, seed"),
])
def test_errors_are_one_line_value_errors(call, match):
    with pytest.raises(NoiseError, match=match) as e:
        call()
    assert isinstance(e.value, ValueError) and isinstance(e.value, SynprobeError)
    assert "\n" not in str(e.value)


def test_largest_remainder_hits_the_total_even_past_round_off():
    from synprobe.noise._core import largest_remainder as _largest_remainder

    rng = np.random.default_rng(0)
    q = np.array([2.9999999999, 3.0000000001, 0.0, 1.5])
    for total in (6, 7, 8):
        got = _largest_remainder(q, total, rng)
        assert got.sum() == total and np.all(np.abs(got - q) < 1 + 1e-9) and got[2] == 0
    rows = _largest_remainder(np.array([[0.5, 0.5, 0.0], [3.0, 0.0, 0.0]]), np.array([1, 2]), rng)
    assert rows.sum(axis=1).tolist() == [1, 2] and rows[0, 2] == 0


def test_flip_count_rounds_half_up():
    assert [flip_count(0.5, n) for n in (1, 3, 5)] == [1, 2, 3]
    assert flip_count(0.25, 10) == 3 and flip_count(0.0, 10) == 0 and flip_count(1.0, 7) == 7
