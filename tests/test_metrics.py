"""synprobe.harness.metrics: hand-computed examples, properties and error cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from synprobe.errors import SynprobeError
from synprobe.harness.metrics import (
    MetricError,
    accuracy_matrix,
    accuracy_vs_frequency,
    average_accuracy,
    backward_transfer,
    elr_fractions,
    feldman_zhang,
    forgetting_avalanche,
    forgetting_chaudhry,
    forgetting_events,
    forgetting_max_earlier,
    forgetting_since_trained,
    forward_transfer,
    ka_summary,
    min_acc,
    ood_gap,
    per_class_accuracy,
    seen_class_accuracy,
    spearman,
    wc_acc,
)

approx = pytest.approx

# The worked 3x3 example. R[i, j] = accuracy on task j after training task i.
#
#            task0  task1  task2
R3 = np.array(
    [
        [0.90, 0.10, 0.20],  # after task 0
        [0.95, 0.80, 0.30],  # after task 1 (task 0 went *up*: the max-based forgetting sees 0.95)
        [0.70, 0.50, 0.95],  # after task 2 (final model)
    ]
)
B3 = np.array([0.10, 0.10, 0.20])  # random-init accuracy per task
#
# ACC (final row)      = (0.70 + 0.50 + 0.95) / 3                   = 2.15 / 3 = 0.71666...
# A (lower triangle)   = (0.90 + 0.95 + 0.80 + 0.70 + 0.50 + 0.95) / 6 = 4.80 / 6 = 0.8
# BWT                  = ((0.70 - 0.90) + (0.50 - 0.80)) / 2       = (-0.2 - 0.3) / 2 = -0.25
# FWT, b omitted       = (R[0,1] + R[1,2]) / 2 = (0.10 + 0.30) / 2 = 0.2
# FWT with b           = ((0.10 - 0.10) + (0.30 - 0.20)) / 2       = 0.05
# Chaudhry f_0 = max(0.90, 0.95) - 0.70 = 0.25;  f_1 = max(0.80) - 0.50 = 0.30;  F = 0.275
# Avalanche f_0 = 0.90 - 0.70 = 0.20;            f_1 = 0.80 - 0.50 = 0.30;        F = 0.25 = -BWT


def test_accuracy_matrix_metrics_by_hand():
    assert average_accuracy(R3) == approx(2.15 / 3)
    assert average_accuracy(R3, mode="lower") == approx(0.8)
    assert backward_transfer(R3) == approx(-0.25)
    assert forward_transfer(R3) == approx(0.2)
    assert forward_transfer(R3, B3) == approx(0.05)
    assert forgetting_chaudhry(R3) == approx(0.275)
    assert forgetting_chaudhry(R3, per_task=True) == approx([0.25, 0.30])
    assert forgetting_avalanche(R3) == approx(0.25)
    assert forgetting_avalanche(R3, per_task=True) == approx([0.20, 0.30])


def test_single_task_matrix():
    R = [[0.6]]
    assert average_accuracy(R) == approx(0.6)
    assert average_accuracy(R, mode="lower") == approx(0.6)
    for f in (backward_transfer, forward_transfer, forgetting_chaudhry, forgetting_avalanche):
        assert math.isnan(f(R))
    assert forgetting_chaudhry(R, per_task=True).shape == (0,)


def test_chaudhry_can_be_negative_with_positive_backward_transfer():
    # Task 0 keeps improving after its own training: 0.5 -> 0.6 -> 0.9 (final). max over l in {0, 1} is 0.6.
    R = np.array([[0.5, 0.0, 0.0], [0.6, 0.8, 0.0], [0.9, 0.8, 0.7]])
    assert forgetting_chaudhry(R, per_task=True) == approx([0.6 - 0.9, 0.0])
    assert forgetting_avalanche(R, per_task=True) == approx([0.5 - 0.9, 0.0])


def test_accuracy_matrix_from_log():
    # 5 test samples: tasks 0, 0, 1, 1, 2.
    tasks = [0, 0, 1, 1, 2]
    log = [
        [1, 1, 0, 0, 0],  # after task 0: task0 2/2, task1 0/2, task2 0/1
        [1, 0, 1, 1, 0],  # after task 1: task0 1/2, task1 2/2, task2 0/1
        [0, 0, 1, 0, 1],  # after task 2: task0 0/2, task1 1/2, task2 1/1
    ]
    R = accuracy_matrix(tasks, np.array(log, dtype=bool))
    assert R == approx(np.array([[1.0, 0.0, 0.0], [0.5, 1.0, 0.0], [0.0, 0.5, 1.0]]))
    assert accuracy_matrix(tasks, log) == approx(R)  # 0/1 ints work too


# ------------------------------------------------------------------------------ knowledge accumulation


def test_ka_summary_by_hand():
    # trapezoids over x = 1..4: (0.2+0.5)/2 + (0.5+0.6)/2 + (0.6+0.8)/2 = 0.35 + 0.55 + 0.70 = 1.6; / (4 - 1)
    s = ka_summary([0.2, 0.5, 0.6, 0.8])
    assert s["final"] == approx(0.8)
    assert s["max"] == approx(0.8)
    assert s["auc"] == approx(1.6 / 3)
    assert s["reach"][0.5] == 2 and s["reach"][0.75] == 4 and math.isnan(s["reach"][0.9])
    # uneven x: (10 * 0.35 + 10 * 0.55 + 20 * 0.70) / 40 = 23 / 40
    s = ka_summary([0.2, 0.5, 0.6, 0.8], steps=[0, 10, 20, 40], levels=(0.55,))
    assert s["auc"] == approx(23 / 40)
    assert s["reach"] == {0.55: 20.0}
    assert ka_summary([0.4])["auc"] == approx(0.4)


def test_per_class_and_seen_class_accuracy():
    y_true = [0, 0, 1, 1, 1, 3]
    y_pred = [0, 1, 1, 1, 0, 3]
    a = per_class_accuracy(y_true, y_pred, 4)  # class 0: 1/2, class 1: 2/3, class 2: no samples, class 3: 1/1
    assert a[[0, 1, 3]] == approx([0.5, 2 / 3, 1.0]) and math.isnan(a[2])
    seen = np.array([True, True, True, False])
    assert seen_class_accuracy(a, seen) == approx((0.5 + 2 / 3) / 2)  # class 2 is NaN, class 3 unseen
    curve = seen_class_accuracy(np.stack([a, a]), np.array([[True, False, False, False], [True, True, True, True]]))
    assert curve == approx([0.5, (0.5 + 2 / 3 + 1.0) / 3])
    assert math.isnan(seen_class_accuracy(a, np.array([False, False, True, False])))


def test_spearman_by_hand():
    # per-class acc vs train counts, class 3 has no test samples (NaN) and is dropped; ranks agree exactly.
    assert accuracy_vs_frequency([0.9, 0.5, 0.7, np.nan], [100, 10, 50, 5]) == approx(1.0)
    assert accuracy_vs_frequency([0.1, 0.5, 0.3], [100, 10, 50]) == approx(-1.0)
    # ties: ranks x = [1, 2.5, 2.5, 4], y = [1, 2, 3, 4]; centred products sum 4.5; sums of squares 4.5 and 5
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == approx(4.5 / math.sqrt(4.5 * 5))
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    assert math.isnan(spearman([1.0], [2.0]))


# -------------------------------------------------------------------------------------- stability gap

# 3 tasks, 6 evaluations; task 0 trained during evals 0-1, task 1 during 2-3, task 2 during 4-5.
E3 = [1, 3, 5]
A3 = np.array(
    [
        [0.5, 0.9, 0.3, 0.6, 0.7, 0.2],
        [0.0, 0.1, 0.4, 0.8, 0.5, 0.6],
        [0.0, 0.0, 0.1, 0.2, 0.6, 0.9],
    ]
)
# At n = 5 (current task k = 2): min-ACC_0 = min(A[0, 2:6]) = 0.2; min-ACC_1 = min(A[1, 4:6]) = 0.5
#   min-ACC = (0.2 + 0.5) / 2 = 0.35;  WC-ACC = (0.9 + 0.2 + 0.5) / 3 = 1.6 / 3
# At n = 3 (k = 1): min-ACC_0 = min(0.3, 0.6) = 0.3; WC-ACC = (0.8 + 0.3) / 2 = 0.55
# At n = 2 (k = 1): min-ACC_0 = 0.3; WC-ACC = (0.4 + 0.3) / 2 = 0.35
# At n = 1 (k = 0): min-ACC undefined; WC-ACC = A[0, 1] = 0.9


def test_stability_gap_by_hand():
    assert min_acc(A3, E3) == approx(0.35)
    per = min_acc(A3, E3, per_task=True)
    assert per[:2] == approx([0.2, 0.5]) and math.isnan(per[2])
    assert wc_acc(A3, E3) == approx(1.6 / 3)
    assert min_acc(A3, E3, step=3) == approx(0.3)
    assert wc_acc(A3, E3, step=3) == approx(0.55)
    assert wc_acc(A3, E3, step=2) == approx(0.35)
    assert math.isnan(min_acc(A3, E3, step=1))
    assert wc_acc(A3, E3, step=1) == approx(0.9)


# ---------------------------------------------------------------------------------------- memorization


def test_elr_fractions_by_hand():
    y_true = [0, 1, 2, 3, 0, 1]
    y_obs = [0, 1, 2, 0, 1, 2]  # samples 3, 4, 5 are noisy
    pred = np.array(
        [
            [0, 1, 0, 3, 0, 0],  # noisy: 3 -> true, 4 -> true, 5 -> other; clean: 0 ok, 1 ok, 2 wrong
            [0, 1, 2, 0, 1, 2],  # everything predicted as its observed label: all noisy samples memorized
        ]
    )
    f = elr_fractions(pred, y_obs, y_true)
    assert f["n_noisy"] == 3 and f["n_clean"] == 3
    assert f["noisy_memorized"] == approx([0.0, 1.0])
    assert f["noisy_correct"] == approx([2 / 3, 0.0])
    assert f["noisy_other"] == approx([1 / 3, 0.0])
    assert f["clean_correct"] == approx([2 / 3, 1.0])
    assert f["clean_incorrect"] == approx([1 / 3, 0.0])
    one = elr_fractions(pred[0], y_obs, y_true)
    assert isinstance(one["noisy_memorized"], float) and one["noisy_correct"] == approx(2 / 3)
    clean_only = elr_fractions([0, 1], [0, 1], [0, 1])
    assert math.isnan(clean_only["noisy_memorized"]) and clean_only["clean_correct"] == 1.0


def test_forgetting_events_by_hand():
    h = np.array(
        [
            # s0 s1 s2 s3
            [1, 0, 1, 0],
            [0, 0, 1, 1],
            [1, 0, 1, 1],
            [0, 0, 1, 0],
        ],
        dtype=bool,
    )
    # s0: 1->0 twice; s1 never learned (Toneva count = 4 epochs); s2 unforgettable; s3: one 1->0
    r = forgetting_events(h)
    assert r["events"].tolist() == [2, 0, 0, 1]
    assert r["never_learned"].tolist() == [False, True, False, False]
    assert r["count"].tolist() == [2, 4, 0, 1]
    assert r["unforgettable"].tolist() == [False, False, True, False]


def test_feldman_zhang_by_hand():
    in_subset = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=bool)
    correct = np.array([[1, 1, 1], [1, 0, 0], [0, 1, 1], [1, 0, 0]], dtype=bool)
    # s0: in runs 0,1 -> 1, 1 (p=1); out runs 2,3 -> 0, 1 (p=0.5); mem = 0.5
    # s1: in runs 0,2 -> 1, 1 (p=1); out runs 1,3 -> 0, 0 (p=0);   mem = 1
    # s2: never in a training subset -> NaN
    mem = feldman_zhang(in_subset, correct)
    assert mem[:2] == approx([0.5, 1.0]) and math.isnan(mem[2])


def test_ood_gap():
    g = ood_gap(0.9, {"font": 0.6, "color": 0.8})
    assert g["font"] == approx(0.3) and g["color"] == approx(0.1) and g["mean"] == approx(0.2)
    r = ood_gap(0.8, {"font": 0.6}, relative=True)
    assert r["font"] == approx(0.25)
    curve = ood_gap(np.array([0.5, 0.9]), {"font": np.array([0.5, 0.6])})
    assert curve["font"] == approx([0.0, 0.3])
    assert ood_gap(0.9, {}) == {}


# ------------------------------------------------------------------------------------------ properties

unit = st.floats(0, 1, allow_nan=False, width=64)


@st.composite
def acc_matrices(draw, min_t: int = 1, max_t: int = 6):
    t = draw(st.integers(min_t, max_t))
    return draw(arrays(np.float64, (t, t), elements=unit))


@given(acc_matrices())
def test_bounds(R):
    assert 0 <= average_accuracy(R) <= 1
    assert 0 <= average_accuracy(R, mode="lower") <= 1 + 1e-12
    if R.shape[0] >= 2:
        for f in (backward_transfer, forward_transfer, forgetting_chaudhry, forgetting_avalanche):
            assert -1 <= f(R) <= 1
        assert -1 <= forward_transfer(R, np.full(R.shape[0], 0.5)) <= 1


@given(acc_matrices(min_t=2))
def test_forgetting_relations(R):
    assert forgetting_avalanche(R) == approx(-backward_transfer(R))
    assert np.all(forgetting_chaudhry(R, per_task=True) >= forgetting_avalanche(R, per_task=True) - 1e-12)


@given(acc_matrices(min_t=2))
def test_chaudhry_nonnegative_without_positive_backward_transfer(R):
    # If the final accuracy on each task is no higher than right after learning it, the max-based forgetting is >= 0.
    T = R.shape[0]
    R = R.copy()
    R[-1, :-1] = np.minimum(R[-1, :-1], np.diag(R)[:-1])
    assert np.all(forgetting_chaudhry(R, per_task=True) >= 0)
    assert forgetting_chaudhry(R) >= 0
    assert T >= 2


@given(acc_matrices(min_t=2))
def test_perfectly_stable_learner_forgets_nothing(R):
    # Accuracy on task j never changes after it is learned: R[i, j] = R[j, j] for i >= j.
    T = R.shape[0]
    S = R.copy()
    for j in range(T):
        S[j:, j] = R[j, j]
    assert forgetting_chaudhry(S) == approx(0.0, abs=1e-12)
    assert forgetting_avalanche(S) == approx(0.0, abs=1e-12)
    assert backward_transfer(S) == approx(0.0, abs=1e-12)
    assert average_accuracy(S) == approx(np.diag(R).mean())


@given(st.data())
def test_accuracy_matrix_matches_loop(data):
    T = data.draw(st.integers(1, 4))
    n = data.draw(st.integers(T, 20))
    tasks = np.array(
        data.draw(
            st.permutations(
                list(range(T)) + data.draw(st.lists(st.integers(0, T - 1), min_size=n - T, max_size=n - T))
            )
        )
    )
    log = data.draw(arrays(bool, (T, n)))
    R = accuracy_matrix(tasks, log)
    for i in range(T):
        for j in range(T):
            assert R[i, j] == approx(log[i, tasks == j].mean())


@given(arrays(np.float64, st.integers(1, 12), elements=unit), st.data())
def test_ka_auc_between_min_and_max(curve, data):
    steps = np.cumsum(data.draw(arrays(np.float64, curve.size, elements=st.floats(0.1, 10, width=64))))
    s = ka_summary(curve, steps)
    assert curve.min() - 1e-12 <= s["auc"] <= curve.max() + 1e-12
    assert ka_summary(np.full(curve.size, 0.3), steps)["auc"] == approx(0.3)


@given(arrays(np.int64, st.integers(2, 15), elements=st.integers(-5, 5)), st.data())
def test_spearman_properties(x, data):
    # small integers: plenty of ties, and exp() keeps distinct values distinct
    x = x.astype(float)
    y = data.draw(arrays(np.int64, x.size, elements=st.integers(-5, 5))).astype(float)
    rho = spearman(x, y)
    if not math.isnan(rho):
        assert -1 - 1e-12 <= rho <= 1 + 1e-12
        assert spearman(y, x) == approx(rho)
        assert spearman(np.exp(x), y) == approx(rho)  # invariant under increasing transforms
        assert spearman(-x, y) == approx(-rho)
    if np.unique(x).size > 1:
        assert spearman(x, x) == approx(1.0)


@given(st.data())
def test_memorization_bounds(data):
    K = data.draw(st.integers(1, 8))
    n = data.draw(st.integers(1, 10))
    m = data.draw(arrays(bool, (K, n)))
    c = data.draw(arrays(bool, (K, n)))
    mem = feldman_zhang(m, c)
    ok = ~np.isnan(mem)
    assert np.all(np.abs(mem[ok]) <= 1)
    assert np.array_equal(ok, m.any(axis=0) & (~m).any(axis=0))
    r = forgetting_events(c)
    assert np.all(r["events"] <= K // 2)
    assert np.all(r["count"] <= K)
    assert np.all(r["events"][r["never_learned"]] == 0)


@given(st.data())
def test_stability_gap_bounds(data):
    K = data.draw(st.integers(1, 4))
    lengths = data.draw(st.lists(st.integers(1, 4), min_size=K, max_size=K))
    ends = np.cumsum(lengths) - 1
    A = data.draw(arrays(np.float64, (K, int(ends[-1]) + 1), elements=unit))
    for n in range(A.shape[1]):
        w = wc_acc(A, ends, step=n)
        assert 0 <= w <= 1
        m = min_acc(A, ends, step=n)
        k = int(np.searchsorted(ends, n))
        assert w <= (A[k, n] + k * (m if k else 0)) / (k + 1) + 1e-12


# ---------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "call",
    [
        lambda: average_accuracy(np.zeros((2, 3))),
        lambda: average_accuracy(np.zeros(3)),
        lambda: average_accuracy(np.zeros((0, 0))),
        lambda: average_accuracy(R3, mode="mean"),
        lambda: forward_transfer(R3, [0.1, 0.2]),
        lambda: backward_transfer([[0.1, 0.2]]),
        lambda: accuracy_matrix([0, 1], np.ones((2, 3), bool)),
        lambda: accuracy_matrix([0, 2], np.ones((2, 2), bool)),
        lambda: accuracy_matrix([0, 0], np.ones((2, 2), bool)),  # task 1 has no samples
        lambda: accuracy_matrix([0.0, 1.0], np.ones((2, 2), bool)),
        lambda: accuracy_matrix([0, 1], np.full((2, 2), 0.5)),
        lambda: ka_summary([]),
        lambda: ka_summary([0.1, 0.2], steps=[2, 1]),
        lambda: ka_summary([0.1, 0.2], steps=[1, 2, 3]),
        lambda: per_class_accuracy([0, 1], [0], 2),
        lambda: per_class_accuracy([0, 5], [0, 1], 2),
        lambda: seen_class_accuracy([0.1, 0.2], np.array([True, False, True])),
        lambda: seen_class_accuracy([0.1, 0.2], [1, 0]),
        lambda: accuracy_vs_frequency([0.1, 0.2], [1, 2, 3]),
        lambda: min_acc(A3, [1, 3]),
        lambda: min_acc(A3, [1, 3, 4]),
        lambda: min_acc(A3, [3, 1, 5]),
        lambda: wc_acc(A3, E3, step=6),
        lambda: wc_acc(A3[0], E3),
        lambda: elr_fractions([0, 1, 2], [0, 1], [0, 1]),
        lambda: elr_fractions([0, 1], [0, 1], [0, 1, 2]),
        lambda: forgetting_events([True, False]),
        lambda: forgetting_events(np.zeros((0, 3), bool)),
        lambda: feldman_zhang(np.ones((2, 3), bool), np.ones((3, 3), bool)),
        lambda: feldman_zhang(np.full((2, 3), 2), np.ones((2, 3), bool)),
        lambda: ood_gap(0.9, [0.5]),
        lambda: ood_gap(np.zeros(3), {"font": np.zeros(2)}),
    ],
)
def test_errors(call):
    with pytest.raises(MetricError) as info:
        call()
    assert isinstance(info.value, SynprobeError) and isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


# --- the three forgetting definitions on a recurring stream (issue 14) ----------------------------------

# Two tasks of the same classes, recurring: task 1's classes were already learnt in task 0 (0.8),
# dropped while task 0 was trained again. R[l, j]: accuracy on task j's test set after training task l.
R_RECURRING = np.array(
    [
        [0.9, 0.8, 0.1],
        [0.5, 0.6, 0.2],
        [0.4, 0.3, 0.7],
    ]
)


def test_the_three_forgettings_on_a_worked_recurring_example():
    # since trained: max over l in [j, T-2]: j=0 -> max(0.9, 0.5) - 0.4 = 0.5; j=1 -> 0.6 - 0.3 = 0.3
    assert forgetting_since_trained(R_RECURRING, per_task=True) == approx([0.5, 0.3])
    # all earlier models: j=1 -> max(0.8, 0.6) - 0.3 = 0.5 (the peak before task 1 was trained counts)
    assert forgetting_max_earlier(R_RECURRING, per_task=True) == approx([0.5, 0.5])
    # first minus last (Avalanche): R[j, j] - R[T-1, j]
    assert forgetting_avalanche(R_RECURRING, per_task=True) == approx([0.5, 0.3])
    assert forgetting_max_earlier(R_RECURRING) == approx(0.5) and forgetting_since_trained(R_RECURRING) == approx(0.4)
    assert forgetting_chaudhry(R_RECURRING) == forgetting_since_trained(R_RECURRING)  # the older name


@given(st.integers(1, 6).flatmap(lambda t: arrays(np.float64, (t, t), elements=st.floats(0, 1))))
def test_forgettings_are_ordered_and_agree_when_nothing_is_learnt_early(R):
    earlier = forgetting_max_earlier(R, per_task=True)
    since = forgetting_since_trained(R, per_task=True)
    assert np.all(earlier >= since - 1e-12) and np.all(since >= forgetting_avalanche(R, per_task=True) - 1e-12)
    lower = np.tril(R)  # class-incremental: nothing of task j is known before it is trained
    assert forgetting_max_earlier(lower, per_task=True) == approx(forgetting_since_trained(lower, per_task=True))
