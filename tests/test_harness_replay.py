"""synprobe.harness.replay: invariants over random streams, hand-worked examples, statistics and errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from synprobe.harness.errors import HarnessError
from synprobe.harness.replay import (
    REPLAYS,
    FrequencyReplay,
    NoReplay,
    RandomClassReplay,
    Replay,
    ReservoirReplay,
    make_replay,
)

# ---------------------------------------------------------------------------------------------- strategies


@st.composite
def streams(draw, *, max_tasks: int = 25, max_classes: int = 8, max_samples: int = 40):
    """A list of tasks ``(positions, labels, classes)``: int64 arrays, classes sorted and recurring.

    Hypothesis draws the structure (classes per task, sample counts, noise rate); a numpy generator keyed by a
    drawn seed fills in the samples. Positions come from a small pool so the same sample recurs, sometimes with
    another (noisy) label, and may repeat inside a task.
    """
    k = draw(st.integers(1, max_classes))
    n_tasks = draw(st.integers(1, max_tasks))
    task_classes = draw(
        st.lists(st.sets(st.integers(0, k - 1), min_size=1, max_size=4), min_size=n_tasks, max_size=n_tasks)
    )
    sizes = draw(st.lists(st.integers(0, max_samples), min_size=n_tasks, max_size=n_tasks))
    noise = draw(st.sampled_from([0.0, 0.1, 0.5]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    tasks = []
    for cls, n in zip(task_classes, sizes):
        classes = np.array(sorted(cls), np.int64)
        positions = rng.integers(0, 80, n).astype(np.int64)
        labels = classes[rng.integers(0, len(classes), n)]
        flip = rng.random(n) < noise
        labels[flip] = rng.integers(0, k, int(flip.sum()))
        tasks.append((positions, labels.astype(np.int64), classes))
    return tasks


def replays():
    """(name, kwargs) for every strategy, with options that make small streams replay something."""
    return st.one_of(
        st.just(("none", {})),
        st.builds(
            lambda pc, b: ("random", {"per_class": pc, "budget": b}),
            st.integers(1, 12),
            st.sampled_from([0.0, 0.3, 1.0]),
        ),
        st.builds(
            lambda pc, m, w: ("frequency", {"per_class": pc, "min_count": m, "low": w[0], "high": w[1]}),
            st.integers(1, 12),
            st.integers(1, 3),
            st.sampled_from([(0.0, 1.0), (0.1, 0.5), (0.01, 0.1)]),
        ),
        st.builds(
            lambda s, r: ("reservoir", {"size": s, "ratio": r}),
            st.integers(1, 60),
            st.sampled_from([0.0, 0.5, 1.0, 3.0]),
        ),
    )


def run(replay: Replay, stream, stop: int | None = None, start: int = 0):
    """Drive ``replay`` over tasks ``start..stop``; return every samples() output."""
    out = []
    for t, (pos, lab, cls) in enumerate(stream[start:stop], start):
        out.append(replay.samples(t, cls, n_task=len(pos)))
        replay.update(t, pos, lab, cls)
    return out


def pairs(pos, lab) -> Counter:
    return Counter(zip(pos.tolist(), lab.tolist()))


def by_class(pos, lab) -> dict[int, list[int]]:
    d: dict[int, list[int]] = {}
    for p, c in zip(pos.tolist(), lab.tolist()):
        d.setdefault(c, []).append(p)
    return d


# ---------------------------------------------------------------------------------------------- properties


@given(
    streams(),
    st.sampled_from(["random", "frequency"]),
    st.integers(1, 12),
    st.integers(1, 3),
    st.sampled_from([(0.0, 1.0), (0.1, 0.5), (0.2, 0.34)]),
    st.sampled_from([0.0, 0.4, 1.0]),
)
def test_class_memory_invariants(stream, name, per_class, min_count, window, budget):
    opts = {"per_class": per_class}
    if name == "random":
        opts["budget"] = budget
    else:
        opts.update(min_count=min_count, low=window[0], high=window[1])
    replay = make_replay(name, seed=3, **opts)
    seen: set[tuple[int, int]] = set()  # (position, label) pairs of earlier tasks
    count: Counter = Counter()  # class -> earlier tasks that had it
    for t, (pos, lab, cls) in enumerate(stream):
        mem = by_class(*replay.memory())
        p, y = replay.samples(t, cls, n_task=len(pos))
        assert p.dtype == y.dtype == np.int64 and p.shape == y.shape
        assert set(zip(p.tolist(), y.tolist())) <= seen  # only earlier samples, with their stored labels
        chosen = replay.last_classes.tolist()
        assert chosen == sorted(set(chosen)) and len(chosen) <= len(cls)
        assert not set(chosen) & set(cls.tolist())  # never a class of the current task
        assert all(count[c] >= 1 for c in chosen)
        # every sample stored for each chosen class, nothing else
        assert by_class(p, y) == {c: mem[c] for c in chosen if c in mem}
        if name == "frequency":
            cand = [
                c for c in count if c not in cls and count[c] >= min_count and window[0] < count[c] / t <= window[1]
            ]
            assert set(chosen) <= set(cand)
            assert len(chosen) == min(len(cls), len(cand))
            if chosen and len(chosen) < len(cand):  # the least frequent first
                assert max(count[c] for c in chosen) <= min(count[c] for c in cand if c not in chosen)
        elif budget == 0.0:
            assert chosen == []
        elif budget == 1.0:
            assert len(chosen) == min(len(cls), len([c for c in count if c not in cls]))

        replay.update(t, pos, lab, cls)
        new = by_class(*replay.memory())
        for c, stored in new.items():
            assert len(stored) == len(set(stored)) <= per_class
            assert all((q, c) in seen or (c in cls and ((pos == q) & (lab == c)).any()) for q in stored)
        for c in cls.tolist():  # the refresh rule of the module docstring
            old, task = set(mem.get(c, [])), set(pos[lab == c].tolist())
            cand = task - old
            r = per_class if not old else max(per_class // (count[c] + 1), 10)
            r = min(r, per_class, len(cand))
            after = set(new.get(c, []))
            assert len(after - old) == r and after - old <= cand
            assert len(after) == len(old) + min(r, per_class - len(old))
        assert set(new) <= set(mem) | set(cls.tolist())  # other classes untouched
        assert all(new[c] == mem[c] for c in mem if c not in cls)
        seen |= set(zip(pos.tolist(), lab.tolist()))
        count.update(cls.tolist())


@given(streams(max_samples=60), st.integers(1, 60), st.sampled_from([0.0, 0.5, 1.0, 3.0]), st.booleans())
def test_reservoir_invariants(stream, size, ratio, pass_n_task):
    replay = ReservoirReplay(seed=5, size=size, ratio=ratio)
    seen: Counter = Counter()
    n_seen = 0
    for t, (pos, lab, cls) in enumerate(stream):
        mem = pairs(*replay.memory())
        p, y = replay.samples(t, cls, n_task=len(pos) if pass_n_task else None)
        n = len(pos) if pass_n_task else sum(mem.values())
        assert len(p) == min(int(np.floor(ratio * n + 0.5)), sum(mem.values()))
        assert not pairs(p, y) - mem  # distinct buffer slots: a sub-multiset of the buffer
        replay.update(t, pos, lab, cls)
        seen += pairs(pos, lab)
        n_seen += len(pos)
        buf = pairs(*replay.memory())
        assert sum(buf.values()) == min(size, n_seen)
        assert not buf - seen  # only seen pairs, never more copies than the stream had
    assert replay.stats()["stream_seen"] == n_seen


@given(streams(), replays())
def test_same_seed_same_outputs_and_state_round_trip(stream, spec):
    name, opts = spec
    a, b = make_replay(name, seed=11, **opts), make_replay(name, seed=11, **opts)
    out_a, out_b = run(a, stream), run(b, stream)
    for (pa, ya), (pb, yb) in zip(out_a, out_b):
        np.testing.assert_array_equal(pa, pb)
        np.testing.assert_array_equal(ya, yb)
    # resume halfway from a checkpoint written with np.savez (no pickle) into a replay with another seed
    half = len(stream) // 2
    c = make_replay(name, seed=11, **opts)
    run(c, stream, stop=half)
    state = c.state()
    assert all(isinstance(v, str | int | np.ndarray) for v in state.values())
    buf = io.BytesIO()
    np.savez(buf, **state)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        loaded = {k: z[k] for k in z.files}
    d = make_replay(name, seed=99, **opts)
    d.load_state(loaded)
    rest_c, rest_d = run(c, stream, start=half), run(d, stream, start=half)
    for (pc, yc), (pd, yd), (pa, ya) in zip(rest_c, rest_d, out_a[half:]):
        np.testing.assert_array_equal(pc, pd)
        np.testing.assert_array_equal(yd, yc)
        np.testing.assert_array_equal(pd, pa)
        np.testing.assert_array_equal(yd, ya)
    assert c.stats() == d.stats() == a.stats()
    json.dumps(a.stats())


@given(streams(), replays())
def test_stats_are_json_and_count_what_was_replayed(stream, spec):
    replay = make_replay(spec[0], **spec[1])
    total = sum(len(p) for p, _ in run(replay, stream))
    s = json.loads(json.dumps(replay.stats()))
    pos, lab = replay.memory()
    counts = Counter(lab.tolist())
    assert s["name"] == spec[0] and s["tasks_seen"] == len(stream) and s["replayed_samples"] == total
    assert s["memory_size"] == len(pos) and s["classes_stored"] == len(counts)
    assert s["per_class_max"] == max(counts.values(), default=0)
    assert s["per_class_min"] == min(counts.values(), default=0)


# ---------------------------------------------------------------------------------------------- examples


def _class_stream(n_tasks, classes_at, n_per_class=4):
    """Tasks with ``classes_at(t)`` as classes and ``n_per_class`` fresh samples per class."""
    out, nxt = [], 0
    for t in range(n_tasks):
        cls = np.array(sorted(classes_at(t)), np.int64)
        lab = np.repeat(cls, n_per_class)
        out.append((np.arange(nxt, nxt + len(lab), dtype=np.int64), lab, cls))
        nxt += len(lab)
    return out


def test_frequency_defaults_worked_example():
    # class 9 in tasks 0-2 (count 3), 8 in 0-3 (4), 7 in 0-4 (5), 6 in 0-1 (2, below min_count); else class 0.
    extra = {9: 3, 8: 4, 7: 5, 6: 2}
    stream = _class_stream(41, lambda t: {0, 1} if t == 40 else {0} | {c for c, n in extra.items() if t < n})
    replay = FrequencyReplay(seed=0)
    chosen = {}
    for t, (pos, lab, cls) in enumerate(stream):
        p, y = replay.samples(t, cls, n_task=len(pos))
        chosen[t] = replay.last_classes.tolist()
        assert sorted(set(y.tolist())) == chosen[t]
        replay.update(t, pos, lab, cls)
    assert chosen[29] == []  # 3/29 > 0.1
    assert chosen[30] == [9]  # 3/30 = 0.1 is in (0.01, 0.1]; 8: 4/30 is not
    assert chosen[39] == [9]  # C = 1: the least frequent of 9 (3/39) and 8 (4/39 <= 0.1)
    assert chosen[40] == [8, 9]  # C = 2; 7: 5/40 > 0.1; 6 never (count 2 < min_count)
    assert all(6 not in c for c in chosen.values())


def test_frequency_window_is_open_below_and_closed_above():
    # at t = 4: class 1 seen once (1/4 = 0.25), class 2 twice (2/4 = 0.5), class 3 three times (0.75)
    stream = _class_stream(5, lambda t: {0} | {c for c in (1, 2, 3) if t < c} if t < 4 else {0, 5, 6})
    for low, high, expected in [(0.25, 0.75, [2, 3]), (0.2, 0.5, [1, 2]), (0.5, 1.0, [3]), (0.0, 0.25, [1])]:
        replay = FrequencyReplay(seed=0, min_count=1, low=low, high=high)
        run(replay, stream, stop=4)
        replay.samples(4, stream[4][2])
        assert replay.last_classes.tolist() == expected, (low, high)


def test_frequency_ties_broken_by_the_seed():
    stream = _class_stream(7, lambda t: {t} if t < 6 else {9})  # classes 0..5 once each, then C = 1
    picks = []
    for seed in range(20):
        replay = FrequencyReplay(seed=seed, min_count=1, low=0.0, high=1.0)
        run(replay, stream, stop=6)
        replay.samples(6, stream[6][2])
        picks.append(replay.last_classes.tolist())
        again = FrequencyReplay(seed=seed, min_count=1, low=0.0, high=1.0)
        run(again, stream, stop=6)
        again.samples(6, stream[6][2])
        assert again.last_classes.tolist() == picks[-1]
    assert all(len(p) == 1 for p in picks) and len({p[0] for p in picks}) >= 3


def test_refresh_sizes_follow_scole():
    # class 0 with 300 fresh samples per task: fill 200, then replace max(200 // (occ + 1), 10) each time
    stream = [
        (np.arange(300 * t, 300 * (t + 1), dtype=np.int64), np.zeros(300, np.int64), np.array([0])) for t in range(40)
    ]
    replay = RandomClassReplay(seed=0, budget=0.0)
    old: set[int] = set()
    for t, (pos, lab, cls) in enumerate(stream):
        replay.update(t, pos, lab, cls)
        new = set(replay.memory()[0].tolist())
        assert len(new) == 200 and len(new - old) == (200 if t == 0 else max(200 // (t + 1), 10))
        old = new
    # a class that first had 5 samples refills free slots before overwriting: 5 + max(200 // 2, 10)
    small = RandomClassReplay(seed=0)
    small.update(0, np.arange(5), np.zeros(5, np.int64), [0])
    small.update(1, np.arange(5, 305), np.zeros(300, np.int64), [0])
    assert len(small.memory()[0]) == 105 and set(range(5)) <= set(small.memory()[0].tolist())


def test_random_replay_draws_budget_times_c_classes_on_average():
    rng = np.random.default_rng(0)
    stream = _class_stream(400, lambda t: set(rng.choice(20, 5, replace=False).tolist()), n_per_class=2)
    replay = RandomClassReplay(seed=4, budget=0.5, per_class=2)
    counts = Counter()
    ks = []
    for t, (pos, lab, cls) in enumerate(stream):
        replay.samples(t, cls)
        if len([c for c in counts if c not in cls]) >= 5:  # never capped by availability
            ks.append(len(replay.last_classes))
        replay.update(t, pos, lab, cls)
        counts.update(cls.tolist())
    assert len(ks) > 350
    assert abs(np.mean(ks) - 2.5) < 0.25  # SE ~ 0.06
    assert 0.6 < np.var(ks) / 1.25 < 1.6  # Binomial(5, 0.5) variance 1.25


def test_different_seeds_give_different_replays():
    rng = np.random.default_rng(1)
    stream = _class_stream(60, lambda t: set(rng.choice(12, 3, replace=False).tolist()), n_per_class=30)
    for name, opts in [
        ("random", {"per_class": 10}),
        ("frequency", {"low": 0.0, "high": 0.5, "per_class": 10}),
        ("reservoir", {"size": 50}),
    ]:
        a, b = run(make_replay(name, seed=0, **opts), stream), run(make_replay(name, seed=1, **opts), stream)
        assert sum(len(p) for p, _ in a) > 0
        assert any(not np.array_equal(pa, pb) for (pa, _), (pb, _) in zip(a, b)), name


def test_reservoir_is_uniform_over_the_stream():
    # one long run: 10,000 distinct samples in 4 tasks, buffer 1000; 40 bins of 250 stream items, 25 expected each
    stream = [
        (np.arange(2500 * t, 2500 * (t + 1), dtype=np.int64), np.zeros(2500, np.int64), np.array([0]))
        for t in range(4)
    ]
    replay = ReservoirReplay(seed=0, size=1000)
    run(replay, stream)
    bins = np.bincount(replay.memory()[0] // 250, minlength=40)
    assert bins.sum() == 1000 and ((bins - 25) ** 2 / 25).sum() < 90  # chi-square, 39 dof
    # many seeds, 60 items in two tasks of 30 (the first 10 fill a buffer of 10): each kept with p = 1/6,
    # including the last items of a task (the last writer of a slot wins)
    kept = np.zeros(60)
    for seed in range(400):
        r = ReservoirReplay(seed=seed, size=10)
        r.update(0, np.arange(30), np.zeros(30, np.int64), [0])
        r.update(1, np.arange(30, 60), np.zeros(30, np.int64), [0])
        kept[r.memory()[0]] += 1
    expected = 400 / 6
    assert ((kept - expected) ** 2 / expected).sum() < 120  # 59 dof
    assert abs(kept[20:30].mean() - expected) < 12 and abs(kept[50:].mean() - expected) < 12


def test_reservoir_keeps_the_second_item_half_the_time():
    # buffer of 1: item 1 replaces item 0 with probability exactly 1/2 (r uniform in [0, 1])
    kept = 0
    for seed in range(400):
        r = ReservoirReplay(seed=seed, size=1)
        r.update(0, np.array([0, 1]), np.array([0, 0]), [0])
        kept += int(r.memory()[0][0])
    assert 150 < kept < 250  # Binomial(400, 1/2): sd 10


def test_no_replay_replays_nothing():
    replay = NoReplay(seed=0)
    stream = _class_stream(5, lambda t: {t % 2})
    assert all(len(p) == len(y) == 0 for p, y in run(replay, stream))
    assert replay.stats()["memory_size"] == 0 and replay.state()["t"] == 5


def test_state_is_a_copy():
    replay = RandomClassReplay(seed=0, per_class=3)
    replay.update(0, np.arange(6), np.array([0, 0, 0, 1, 1, 1]), [0, 1])
    state = replay.state()
    before = replay.memory()
    state["mem_positions"][:] = -1
    np.testing.assert_array_equal(replay.memory()[0], before[0])


def test_registry_matches_train_config():
    from synprobe.harness.config import REPLAYS as CONFIG_REPLAYS

    assert REPLAYS == CONFIG_REPLAYS
    assert [make_replay(n).name for n in REPLAYS] == list(REPLAYS)


def test_import_does_not_pull_torch():
    code = "import sys, synprobe.harness.replay; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("lru", {}, r"replay 'lru' unknown; expected one of: none, random, frequency, reservoir"),
        ("random", {"size": 3}, r"'size' is not an option of replay 'random'; expected: per_class, budget"),
        ("none", {"budget": 0.5}, r"'budget' is not an option of replay 'none'; expected: \(no options\)"),
        ("random", {"per_class": 0}, r"per_class: 0 must be an integer >= 1"),
        ("random", {"per_class": 2.5}, r"per_class: 2.5 must be an integer >= 1"),
        ("random", {"budget": 1.5}, r"budget: 1.5 must be a number in \[0.0, 1.0\]"),
        ("random", {"budget": True}, r"budget: True must be a number"),
        ("frequency", {"low": 0.2, "high": 0.1}, r"low: 0.2 must be < high \(0.1\)"),
        ("frequency", {"low": -0.1}, r"low: -0.1 must be a number in \[0.0, 1.0\]"),
        ("frequency", {"high": float("nan")}, r"high: nan must be a number"),
        ("frequency", {"min_count": 0}, r"min_count: 0 must be an integer >= 1"),
        ("reservoir", {"size": 0}, r"size: 0 must be an integer >= 1"),
        ("reservoir", {"ratio": -1}, r"ratio: -1 must be a number >= 0.0"),
        ("reservoir", {"seed": -1}, r"seed: -1 must be an integer >= 0"),
    ],
)
def test_bad_options(name, kwargs, match):
    with pytest.raises(HarnessError, match=match):
        make_replay(name, **kwargs)


def test_bad_calls():
    replay = RandomClassReplay(seed=0)
    assert issubclass(HarnessError, ValueError)
    with pytest.raises(HarnessError, match=r"t: samples\(\) got 1, expected 0"):
        replay.samples(1, [0])
    with pytest.raises(HarnessError, match=r"labels: expected length 3 \(one per position\), got 2"):
        replay.update(0, [1, 2, 3], [0, 0], [0])
    with pytest.raises(HarnessError, match=r"positions: expected a 1-d integer array, got dtype float64"):
        replay.update(0, [1.0, 2.0], [0, 0], [0])
    with pytest.raises(HarnessError, match=r"classes: expected a 1-d integer array"):
        replay.samples(0, [[0, 1]])
    replay.update(0, [1, 2], [0, 0], [0])
    with pytest.raises(HarnessError, match=r"t: update\(\) got 0, expected 1"):
        replay.update(0, [1, 2], [0, 0], [0])
    with pytest.raises(HarnessError, match=r"n_task: -1 must be an integer >= 0"):
        ReservoirReplay().samples(0, [0], n_task=-1)


def test_bad_states():
    state = RandomClassReplay(seed=0, per_class=5).state()
    with pytest.raises(HarnessError, match=r"name: saved by 'random', cannot load into 'frequency'"):
        FrequencyReplay(per_class=5).load_state(state)
    with pytest.raises(HarnessError, match=r"per_class: saved with 5, this replay has 200"):
        RandomClassReplay().load_state(state)
    with pytest.raises(HarnessError, match=r"missing key 'mem_positions'"):
        RandomClassReplay(per_class=5).load_state({k: v for k, v in state.items() if k != "mem_positions"})
    with pytest.raises(HarnessError, match=r"size: saved with 2000, this replay has 10"):
        ReservoirReplay(size=10).load_state(ReservoirReplay().state())
