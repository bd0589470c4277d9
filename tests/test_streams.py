"""Streams (synprobe.scenarios): laws, builders, the Stream container, files, eval sets."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from synprobe.errors import SynprobeError
from synprobe.scenarios import (
    CIR,
    Cycle,
    Forgetting,
    Incremental,
    ProbReduction,
    ScenarioError,
    ScoleEntropy,
    Stream,
    Uniform,
    Weights,
    Zipf,
    class_incremental,
    domain_incremental,
    drift,
    eval_sets_from_file,
    instance_incremental,
    recurring,
    train_from_file,
    with_eval_sets,
)

STATIC = [Uniform(), ScoleEntropy(e=2), ScoleEntropy(e=1, f=0.05), Zipf(a=1.1), Forgetting(), Incremental(),
          Cycle(replace=0.3), Cycle(), ProbReduction(r=2.0)]


def _labels(n_classes, per_class, seed=0):
    y = np.repeat(np.arange(n_classes), per_class)
    return np.random.default_rng(seed).permutation(y)


def _chi2_ok(observed, expected) -> bool:
    """Pearson chi-square below df + 6 sqrt(2 df) (about 6 sigma; fixed seeds, so deterministic)."""
    observed, expected = np.asarray(observed, float), np.asarray(expected, float)
    keep = expected > 0
    stat = float(((observed[keep] - expected[keep]) ** 2 / expected[keep]).sum())
    df = int(keep.sum()) - 1
    return stat < df + 6 * math.sqrt(2 * df)


@given(law=st.sampled_from(STATIC), n=st.integers(4, 20), c=st.integers(1, 4), t=st.integers(1, 60),
       seed=st.integers(0, 2**32))
def test_every_task_has_c_distinct_classes(law, n, c, t, seed):
    c = min(c, n // 2)
    y = _labels(n, 5)
    s = recurring(y, classes_per_task=c, n_tasks=t, law=law, seed=seed)
    assert len(s) == t
    for task in s:
        assert len(task.classes) == c and len(np.unique(task.classes)) == c
        assert set(np.unique(y[task.train])) <= set(task.classes.tolist())
        assert len(np.intersect1d(task.train, task.val)) == 0
        assert len(task.train) + len(task.val) == 5 * c  # all samples of its classes


@given(n=st.integers(3, 20), c=st.integers(1, 3), t=st.integers(1, 40), k=st.integers(1, 12),
       f=st.sampled_from([0.0, 0.1, 0.25, 0.5]), seed=st.integers(0, 2**32))
def test_budget_without_replacement_and_val_disjoint(n, c, t, k, f, seed):
    c = min(c, n)
    y = _labels(n, 12, seed % 7)
    index = np.arange(len(y)) * 3 + 100  # file rows differ from positions
    s = recurring(y, index, classes_per_task=c, n_tasks=t, samples_per_class=k, val_fraction=f, seed=seed)
    v = int(math.floor(f * k + 0.5))
    yrow = np.full(index.max() + 1, -1)
    yrow[index] = y
    for task in s:
        both = np.concatenate([task.train, task.val])
        assert len(np.unique(both)) == len(both) == k * c  # no repeats inside a task
        assert len(task.val) == v * c
        assert np.isin(both, index).all()
        counts = np.bincount(yrow[both], minlength=n)[task.classes]
        assert (counts == k).all()


def test_uniform_subset_law_of_budget_draw():
    """Each of the 6 samples of a class is drawn equally often (k = 2 of 6, and k = 4 of 6)."""
    y = np.repeat(np.arange(2), 6)
    for k in (2, 4):
        s = recurring(y, classes_per_task=1, n_tasks=6000, samples_per_class=k, val_fraction=0, seed=1)
        cnt = np.bincount(s.indices, minlength=12)
        tasks_per_class = np.bincount(s.class_indices, minlength=2)
        assert _chi2_ok(cnt, np.repeat(tasks_per_class * k / 6, 6))


@pytest.mark.parametrize("law", [ScoleEntropy(e=2), Zipf(a=1.3), Weights(p=tuple(range(1, 11)))])
def test_frequencies_match_the_law_c1(law):
    """C = 1: a class's frequency is its probability (recorded in the spec)."""
    y = _labels(10, 3)
    t = 20_000
    s = recurring(y, classes_per_task=1, n_tasks=t, law=law, seed=3)
    p = np.array(s.spec["law_info"]["class_probabilities"])
    assert _chi2_ok(s.class_counts(10), p * t)


@pytest.mark.parametrize("law", [ScoleEntropy(e=2), Zipf(a=1.0)])
def test_frequencies_match_scole_draw(law):
    """C = 3: same inclusion frequencies as numpy.random.choice(replace=False, p) per task."""
    y = _labels(12, 3)
    t = 20_000
    s = recurring(y, classes_per_task=3, n_tasks=t, law=law, seed=5)
    p = np.array(s.spec["law_info"]["class_probabilities"])
    rng = np.random.default_rng(11)
    ref = np.bincount(np.concatenate([rng.choice(12, 3, replace=False, p=p) for _ in range(t)]), minlength=12)
    # two-sample chi-square against the reference counts
    assert _chi2_ok(s.class_counts(12), ref)


def test_scole_entropy_exact_formula():
    y = _labels(100, 1)
    s = recurring(y, classes_per_task=1, n_tasks=1, law=ScoleEntropy(e=1), seed=0)
    p = np.sort(s.spec["law_info"]["class_probabilities"])
    assert p[0] == pytest.approx(0.0001 / 0.505) and p[-1] == pytest.approx(0.01 / 0.505)  # ratio 100
    y = _labels(10, 1)
    p = np.sort(recurring(y, classes_per_task=1, n_tasks=1, law=ScoleEntropy(e=2), seed=0)
                .spec["law_info"]["class_probabilities"])
    assert p[0] == pytest.approx(0.0487, abs=1e-4) and p[-1] == pytest.approx(0.161, abs=1e-3)


def test_forgetting_and_incremental_halves():
    y = _labels(10, 2)
    s = recurring(y, classes_per_task=2, n_tasks=100, law=Forgetting(), seed=0)
    assert set(s[50:].class_indices.tolist()) <= set(range(5))
    assert set(s[:50].class_indices.tolist()) - set(range(5))
    s = recurring(y, classes_per_task=2, n_tasks=100, law=Incremental(), seed=0)
    assert set(s[:50].class_indices.tolist()) <= set(range(5))
    assert set(s[50:].class_indices.tolist()) <= set(range(5, 10))


def test_prob_reduction_balances_and_cycle_repeats():
    y = _labels(10, 2)
    s = recurring(y, classes_per_task=2, n_tasks=1000, law=ProbReduction(r=100.0), seed=0)
    assert np.ptp(s.class_counts(10)) <= 2  # a strong reduction is almost round-robin
    s = recurring(y, classes_per_task=2, n_tasks=50, law=Cycle(), seed=0)
    cl = s.class_indices.reshape(50, 2)
    assert (cl[:5] == cl[5:10]).all() and len(np.unique(cl[:5])) == 10


def test_cir_law():
    y = _labels(20, 2)
    s = recurring(y, classes_per_task=None, n_tasks=200, law=CIR(first="geometric", first_param=0.05, repeat=0.3),
                  seed=0)
    first = np.array(s.spec["law_info"]["first_occurrence"])
    assert len(s) == s.spec["law_info"]["kept_tasks"] <= 200
    assert s.class_counts(20).min() >= 1
    for f in ("uniform", "poisson", "zipf"):
        recurring(y, n_tasks=50, law=CIR(first=f), seed=1)
    big = CIR(first="uniform", repeat=0.25).draw(50, None, 400, np.random.default_rng(0))
    ci, co, info = big
    first = np.array(info["first_occurrence"])
    counts = np.bincount(ci, minlength=50)
    later = 400 - 1 - first  # tasks after the first occurrence
    assert abs((counts - 1).sum() / later.sum() - 0.25) < 0.02


def test_class_subset_and_explicit_classes():
    y = _labels(30, 2)
    s = recurring(y, n_classes=8, classes_per_task=3, n_tasks=200, seed=4)
    assert len(s.spec["classes"]) == 8 and set(s.class_indices.tolist()) <= set(s.spec["classes"])
    s2 = recurring(y, n_classes=8, classes_per_task=3, n_tasks=200, seed=4)
    assert s2.spec["classes"] == s.spec["classes"]


@given(n=st.integers(2, 12), inc=st.integers(1, 4), first=st.integers(0, 3), seed=st.integers(0, 2**32))
def test_class_incremental_partitions_classes(n, inc, first, seed):
    y = _labels(n, 4)
    if first > n or (n - first) % inc:
        with pytest.raises(ScenarioError):
            class_incremental(y, increment=inc, initial_increment=first, seed=seed)
        return
    s = class_incremental(y, increment=inc, initial_increment=first, seed=seed)
    assert sorted(s.class_indices.tolist()) == list(range(n))
    assert sorted(np.concatenate([s.indices, s.val_indices]).tolist()) == list(range(len(y)))
    for task in s:
        assert set(y[task.train]) <= set(task.classes.tolist())
    assert sorted(s.spec["class_order"]) == list(range(n))


def test_instance_domain_drift():
    y = _labels(5, 40)
    s = instance_incremental(len(y), 7, labels=y, seed=0)
    rows = np.concatenate([s.indices, s.val_indices])
    assert sorted(rows.tolist()) == list(range(len(y)))
    dom = np.arange(len(y)) % 4
    s = domain_incremental(y, dom, recurrence=2, seed=0)
    assert len(s) == 8
    for t, task in enumerate(s):
        g = s.spec["groups"][s.spec["sequence"][t]]
        assert set(dom[np.concatenate([task.train, task.val])].tolist()) == set(g)
    vals = np.random.default_rng(0).normal(size=len(y))
    s = drift(vals, 20, window=0.2, schedule="cosine", periods=2, labels=y, seed=0)
    for t, task in enumerate(s):
        lo, hi = s.spec["ranges"][t]
        both = np.concatenate([task.train, task.val])
        assert ((vals[both] >= lo) & (vals[both] <= hi)).all()
        assert ((vals >= lo) & (vals <= hi)).sum() == len(both)  # ties never split: whole window
    s = drift(vals, 10, window=0.3, samples_per_task=15, seed=0)
    assert all(len(t.train) + len(t.val) == 15 for t in s)


def test_same_seed_same_bytes_and_round_trip(tmp_path):
    y = _labels(10, 20)
    a = recurring(y, classes_per_task=3, n_tasks=50, samples_per_class=5, law=ScoleEntropy(e=2), seed=9)
    b = recurring(y, classes_per_task=3, n_tasks=50, samples_per_class=5, law=ScoleEntropy(e=2), seed=9)
    a = with_eval_sets(a, {"iid": np.array([1000, 1001])})
    b = with_eval_sets(b, {"iid": np.array([1000, 1001])})
    a.save(tmp_path / "a.npz")
    b.save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    c = Stream.load(tmp_path / "a.npz")
    for name in ("indices", "offsets", "class_indices", "class_offsets", "val_indices", "val_offsets"):
        assert np.array_equal(getattr(c, name), getattr(a, name))
    assert c.spec == a.spec and c.seed == 9 and list(c.eval_sets) == ["iid"]
    assert np.array_equal(c.eval_sets["iid"], [1000, 1001])
    d = recurring(y, classes_per_task=3, n_tasks=50, samples_per_class=5, law=ScoleEntropy(e=2), seed=10)
    assert not np.array_equal(d.indices, a.indices)
    with np.load(tmp_path / "a.npz", allow_pickle=False) as z:  # plain npz, no pickle
        assert "indices" in z.files


def test_stream_with_noise_labels_round_trip(tmp_path):
    s = Stream(np.array([3, 4, 5]), np.array([0, 1, 3]), np.array([0, 1]), np.array([0, 1, 2]),
               labels_true=np.array([0, 1, 1]), labels_observed=np.array([0, 0, 1]), spec={"kind": "x"}, seed=1)
    s2 = Stream.load(s.save(tmp_path / "s.npz"))
    assert np.array_equal(s2.labels_observed, [0, 0, 1]) and s2.val_indices is None
    assert s2.task(-1).train.tolist() == [4, 5] and s2.task(0).val.tolist() == []
    assert not s2.indices.flags.writeable
    sub = s2[[1]]
    assert sub.indices.tolist() == [4, 5] and sub.labels_true.tolist() == [1, 1]


@pytest.mark.parametrize("call", [
    lambda y: recurring(y, classes_per_task=0, n_tasks=5),
    lambda y: recurring(y, classes_per_task=20, n_tasks=5),
    lambda y: recurring(y, classes_per_task=2, n_tasks=0),
    lambda y: recurring(y, classes_per_task=2, n_tasks=5, law="gumbel"),
    lambda y: recurring(y, classes_per_task=2, n_tasks=5, samples_per_class=99),
    lambda y: recurring(y, classes_per_task=2, n_tasks=5, val_fraction=1.5),
    lambda y: recurring(y, classes_per_task=2, n_tasks=5, seed=-1),
    lambda y: recurring(y, classes_per_task=2, n_tasks=5, law=CIR()),
    lambda y: recurring(y, classes_per_task=2, n_tasks=5, law=ScoleEntropy(e=1, f=0.5)),
    lambda y: recurring(y.astype(float), classes_per_task=2, n_tasks=5),
    lambda y: class_incremental(y, increment=3),
    lambda y: class_incremental(y, class_order=[0, 0, 1]),
    lambda y: domain_incremental(y, np.zeros(len(y)), groups=[[7]]),
    lambda y: drift(np.arange(len(y)), 5, schedule="zigzag"),
    lambda y: drift(np.arange(len(y)), 5, window=0.1, samples_per_task=999),
    lambda y: instance_incremental(len(y), 0),
    lambda y: Stream(np.arange(3), np.array([0, 5]), np.zeros(0), np.array([0, 0])),
])
def test_bad_specs_give_one_line_errors(call):
    y = _labels(4, 10)
    with pytest.raises(ScenarioError) as e:
        call(y)
    assert isinstance(e.value, SynprobeError) and isinstance(e.value, ValueError)
    assert "\n" not in str(e.value) and str(e.value)


def test_load_rejects_other_files(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.arange(3))
    with pytest.raises(ScenarioError, match="not a synprobe.stream"):
        Stream.load(tmp_path / "x.npz")
    (tmp_path / "y.npz").write_text("hello")
    with pytest.raises(ScenarioError):
        Stream.load(tmp_path / "y.npz")


def test_eval_sets_never_trained_on_end_to_end(tmp_path):
    from synprobe.generator import generate
    from synprobe.load import load

    path = tmp_path / "a.h5"
    generate("default", 600, path, workers=1, resolution=8)
    ev = eval_sets_from_file(path)
    assert np.array_equal(ev["iid"], np.intersect1d(load(path, "test").index, ev["iid"]))
    for name in ev:
        if name != "iid":
            assert np.array_equal(ev[name], load(path, "test", name[4:]).index)
    y, idx = train_from_file(path, target="char")
    assert np.isin(idx, load(path, "train").index).all()
    c = min(3, len(np.unique(y)))
    s = recurring(y, idx, classes_per_task=c, n_tasks=40, seed=0)
    s = with_eval_sets(s, ev)
    seen = np.concatenate([s.indices, s.val_indices])
    for name, rows in s.eval_sets.items():
        assert not np.isin(rows, seen).any(), name
    assert any(k.startswith("ood_") for k in s.eval_sets)
    # a stream over the random split's train part alone would train on held-out fonts: refused
    d = load(path, "train")
    s_all = class_incremental(d.y, d.index, increment=1, seed=0)
    with pytest.raises(ScenarioError, match="hold them out"):
        with_eval_sets(s_all, {k: v for k, v in ev.items() if k.startswith("ood_")})


def test_class_and_instance_incremental_recur():
    from synprobe.scenarios.builders import class_incremental, instance_incremental, recur

    y = np.repeat(np.arange(6), 10)
    once = class_incremental(y, increment=2, seed=3)
    twice = class_incremental(y, increment=2, recurrence=2, seed=3)
    assert len(twice) == 2 * len(once)
    for t in range(len(once)):
        for u in (t, t + len(once)):
            assert np.array_equal(twice.task(u).train, once.task(t).train)
            assert np.array_equal(twice.task(u).classes, once.task(t).classes)
    order = instance_incremental(60, 3, recurrence=[0, 2, 0], seed=1)
    base = instance_incremental(60, 3, seed=1)
    assert [len(order.task(t).train) for t in range(3)] == [len(base.task(t).train) for t in (0, 2, 0)]
    with pytest.raises(ScenarioError, match="recurrence"):
        recur(base, [0, 5])
