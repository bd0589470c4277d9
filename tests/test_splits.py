"""Splits: partitions, held-out values and combinations, tails, ranges, environments; files and CLI.

Which kinds may exclude rows (all-False): percentile, interpolation and extrapolation (NaN
values only), and compute_split for missing values (code -1, NaN). Every other row is in
exactly one part.
"""

from __future__ import annotations

import json
import math

import h5py
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from synprobe.errors import SynprobeError
from synprobe.splits import (
    DEFAULT_SPLITS,
    KINDS,
    SplitError,
    compositional_split,
    compute_split,
    default_name,
    default_splits,
    environments_split,
    extrapolation_split,
    interpolation_split,
    percentile_split,
    random_split,
    stratified_split,
    write_split,
)

# --- strategies (local: only splits use them) -------------------------------------------------


@st.composite
def ratio_triples(draw, *, min_positive: float = 0.0):
    """(train, val, test) summing to 1, each 0 or >= min_positive; train > 0."""
    w = draw(st.lists(st.integers(0, 20), min_size=3, max_size=3).filter(lambda w: w[0] > 0))
    r = tuple(x / sum(w) for x in w)
    assume(all(x == 0 or x >= min_positive for x in r))
    return r


def categorical_arrays(*, min_values: int = 3, max_values: int = 40, max_size: int = 400):
    """Int arrays with at least ``min_values`` distinct values."""
    return st.lists(st.integers(0, max_values), min_size=min_values, max_size=max_size).filter(
        lambda v: len(set(v)) >= min_values).map(np.array)


def float_arrays(*, min_size: int = 3, max_size: int = 300, nan: bool = False):
    el = st.floats(-10, 10, allow_nan=False, width=32) | st.integers(-3, 3).map(float)
    if nan:
        el = el | st.just(math.nan)
    return st.lists(el, min_size=min_size, max_size=max_size).map(np.array)


def _parts(m: np.ndarray) -> np.ndarray:
    """Part id per row (-1 excluded), asserting no row is in two parts."""
    assert m.dtype == bool and m.ndim == 2 and m.shape[1] == 3
    assert (m.sum(axis=1) <= 1).all()
    return np.where(m.any(axis=1), m.argmax(axis=1), -1)


def _exact_partition(m):
    p = _parts(m)
    assert (p >= 0).all()
    return p


def _values_disjoint(values, p):
    sets = [set(values[p == i].tolist()) for i in range(3)]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    return sets


# --- random --------------------------------------------------------------------------------


@given(st.integers(0, 3000), st.integers(0, 2**32), ratio_triples())
def test_random_exact_counts_and_generator_identity(n, seed, r):
    m = random_split(n, r, seed)
    p = _exact_partition(m)
    n_train, n_val = round(r[0] * n), round(r[1] * n)
    assert (p == 0).sum() == min(n_train, n)
    assert (p == 1).sum() == min(n_val, n - min(n_train, n))
    for i in range(3):  # within one unit of r * n
        assert abs((p == i).sum() - r[i] * n) <= 1


# --- stratified ----------------------------------------------------------------------------


@given(categorical_arrays(), st.integers(0, 1000), ratio_triples())
def test_stratified_values_disjoint_and_counts(v, seed, r):
    p = _exact_partition(stratified_split(v, r, seed))
    sets = _values_disjoint(v, p)
    k = len(set(v.tolist()))
    for i in range(3):
        if r[i] > 0:
            assert sets[i], "every part with a positive ratio gets a value"
    if all(x == 0 or x * k >= 1 for x in r):  # no minimum-one adjustment needed
        for i in range(3):
            assert abs(len(sets[i]) - r[i] * k) < 1 + 1e-9


@given(categorical_arrays(), st.integers(0, 1000), ratio_triples())
def test_stratified_by_samples(v, seed, r):
    p = _exact_partition(stratified_split(v, r, seed, balance="samples"))
    sets = _values_disjoint(v, p)
    assert all(sets[i] for i in range(3) if r[i] > 0)
    counts = np.bincount(np.unique(v, return_inverse=True)[1].reshape(-1))
    target = np.array(r) * len(v)
    if 2 * counts.max() < target[target > 0].min():  # no repair move: greedy bound holds
        assert (np.abs(np.bincount(p, minlength=3) - target) <= 2 * counts.max()).all()


def test_stratified_strings_and_determinism():
    v = np.array([f"font{i % 300}" for i in range(3000)])
    a, b = stratified_split(v, seed=1), stratified_split(v, seed=1)
    assert (a == b).all()
    assert not (a == stratified_split(v, seed=2)).all()
    assert [len(s) for s in _values_disjoint(v, _parts(a))] == [180, 60, 60]


# --- percentile ----------------------------------------------------------------------------


@given(float_arrays(nan=True), ratio_triples(min_positive=0.05))
def test_percentile_tails_ordered(x, r):
    try:
        m = percentile_split(x, r)
    except SplitError:
        assert len(set(x[~np.isnan(x)].tolist())) < sum(v > 0 for v in r)
        return
    p = _parts(m)
    assert ((p == -1) == np.isnan(x)).all(), "exactly the NaN rows are excluded"
    val, train, test = x[p == 1], x[p == 0], x[p == 2]
    if len(val) and len(train):
        assert val.max() < train.min()
    if len(train) and len(test):
        assert train.max() < test.min()
    if len(val) and len(test):
        assert val.max() < test.min()


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=3, max_size=300, unique=True), ratio_triples())
def test_percentile_exact_counts_without_ties(xs, r):
    p = _exact_partition(percentile_split(np.array(xs), r))
    n = len(xs)
    n_val = round(r[1] * n)
    assert (p == 1).sum() == n_val and (p == 2).sum() == min(round(r[2] * n), n - n_val)


# --- compositional -------------------------------------------------------------------------


@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 15)), min_size=3, max_size=400),
       st.integers(0, 1000), ratio_triples())
def test_compositional_guarantees(pairs, seed, r):
    a, b = np.array(pairs).T
    npos = sum(x > 0 for x in r)
    assume(len(set(a.tolist())) >= npos and len(set(b.tolist())) >= npos)
    p = _exact_partition(compositional_split(a, b, r, seed))
    assert set(a[p == 0].tolist()) == set(a.tolist()), "every value of a is seen in train"
    assert set(b[p == 0].tolist()) == set(b.tolist()), "every value of b is seen in train"
    combos = [set(zip(a[p == i].tolist(), b[p == i].tolist())) for i in range(3)]
    assert not (combos[0] & combos[1]) and not (combos[0] & combos[2]) and not (combos[1] & combos[2])


@pytest.mark.parametrize("ka,kb", [(10, 15), (20, 30), (5, 5)])
def test_compositional_full_grid_exact(ka, kb):
    a, b = np.repeat(np.arange(ka), kb), np.tile(np.arange(kb), ka)
    p = _exact_partition(compositional_split(a, b, (0.6, 0.2, 0.2), seed=3))
    assert np.bincount(p, minlength=3).tolist() == [ka * kb * 3 // 5, ka * kb // 5, ka * kb // 5]


def test_compositional_seeds_differ():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 30, 5000), rng.integers(0, 40, 5000)
    assert (compositional_split(a, b, seed=4) == compositional_split(a, b, seed=4)).all()
    assert not (compositional_split(a, b, seed=4) == compositional_split(a, b, seed=5)).all()


# --- ranges and environments ---------------------------------------------------------------


@given(float_arrays(min_size=5), st.floats(-5, 5), st.floats(0, 5), st.integers(0, 100), ratio_triples())
def test_interpolation(x, lo, width, seed, r):
    hi = lo + width
    test = (x >= lo) & (x <= hi)
    if not test.any() or not (x < lo).any() or not (x > hi).any():
        with pytest.raises(SplitError, match="holdout"):
            interpolation_split(x, (lo, hi), r, seed)
        return
    p = _exact_partition(interpolation_split(x, (lo, hi), r, seed))
    assert ((p == 2) == test).all()
    n_in, frac = (~test).sum(), r[1] / (r[0] + r[1])
    assert abs((p == 1).sum() - frac * n_in) <= 0.5 + 1e-9


@given(float_arrays(min_size=2, nan=True), st.floats(-5, 5), st.floats(0, 5), st.integers(0, 100))
def test_extrapolation(x, lo, width, seed):
    hi = lo + width
    ok = ~np.isnan(x)
    inside = ok & (x >= lo) & (x <= hi)
    if not inside.any() or inside.sum() == ok.sum():
        with pytest.raises(SplitError, match="train_range"):
            extrapolation_split(x, (lo, hi), seed=seed)
        return
    p = _parts(extrapolation_split(x, (lo, hi), seed=seed))
    assert ((p == 2) == (ok & ~inside)).all() and ((p == -1) == ~ok).all()


def test_extrapolation_one_sided():
    x = np.linspace(0, 1, 101)
    p = _exact_partition(extrapolation_split(x, (-math.inf, 0.7)))
    assert (x[p == 2] > 0.7).all() and (x[p != 2] <= 0.7).all()


@given(categorical_arrays(max_values=8), st.data(), st.integers(0, 100))
def test_environments(v, data, seed):
    vals = sorted(set(v.tolist()))
    held = data.draw(st.lists(st.sampled_from(vals), min_size=1, max_size=len(vals) - 1, unique=True))
    rest = [x for x in vals if x not in held]
    val_values = None
    if len(rest) >= 2 and data.draw(st.booleans()):
        val_values = data.draw(st.lists(st.sampled_from(rest), min_size=1, max_size=len(rest) - 1, unique=True))
    p = _exact_partition(environments_split(v, held, val_values, seed=seed))
    assert ((p == 2) == np.isin(v, held)).all()
    if val_values is not None:
        assert ((p == 1) == np.isin(v, val_values)).all()
        _values_disjoint(v, p)


def test_environments_errors():
    v = np.array(["a", "a", "b", "c"])
    with pytest.raises(SplitError, match=r"test_values: z not among the column's values: a, b, c"):
        environments_split(v, ["z"])
    with pytest.raises(SplitError, match="every value"):
        environments_split(v, ["a", "b", "c"])
    with pytest.raises(SplitError, match="shares values"):
        environments_split(v, ["a"], ["a"])
    with pytest.raises(SplitError, match="at least one"):
        environments_split(v, [])


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("ratios", [(0.5, 0.5), (0.7, 0.2, 0.2), (-0.1, 0.6, 0.5), ("a", 0.5, 0.5),
                                    (math.nan, 0.5, 0.5), None])
def test_bad_ratios(ratios):
    for fn in (lambda: random_split(10, ratios), lambda: stratified_split(np.arange(10), ratios)):
        with pytest.raises(SplitError, match="ratios: .* summing to 1") as e:
            fn()
        assert isinstance(e.value, SynprobeError) and isinstance(e.value, ValueError)
        assert "\n" not in str(e.value)


def test_fewer_unique_values_than_parts():
    with pytest.raises(SplitError, match="2 unique value"):
        stratified_split(np.array([1, 1, 2]))
    with pytest.raises(SplitError, match="2 unique value"):
        percentile_split(np.array([0.0, 1.0, 1.0]))
    with pytest.raises(SplitError, match="b: 1 unique"):
        compositional_split(np.arange(5), np.zeros(5))
    assert _exact_partition(stratified_split(np.array([1, 2]), (0.5, 0.5, 0.0))).tolist() != []


def test_bad_seed_and_balance():
    with pytest.raises(SplitError, match="seed"):
        random_split(5, seed=-1)
    with pytest.raises(SplitError, match="balance: unknown 'x'; expected 'values' or 'samples'"):
        stratified_split(np.arange(5), balance="x")


# --- files ---------------------------------------------------------------------------------


@pytest.fixture
def small_file(tmp_path):
    """A hand-made finished dataset: 200 samples, categorical char/font, numeric scale, occluders."""
    from synprobe.io.h5 import FORMAT

    rng = np.random.default_rng(0)
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.zeros((200, 2, 2, 1), np.uint8))
        f.create_dataset("y", data=np.array(["{}"] * 200, dtype=object), dtype=h5py.string_dtype())
        for name, k in (("char", 12), ("font", 20)):
            d = f.create_dataset(f"attrs/{name}", data=rng.integers(0, k, 200).astype(np.int32))
            d.attrs["categories"] = json.dumps([f"{name}{i:02d}" for i in range(k)][::-1])
        f.create_dataset("attrs/scale", data=rng.uniform(0.3, 1.0, (200, 2)))
        f.create_dataset("attrs/bold", data=rng.integers(0, 2, 200).astype(bool))
        occ = rng.integers(-1, 3, 200).astype(np.int8)
        f.create_dataset("attrs/occluder_kind", data=occ).attrs["categories"] = json.dumps(["a", "b", "c"])
        f.create_dataset("split/random", data=random_split(200, seed=7))
        f.attrs["format"], f.attrs["complete"], f.attrs["seed"] = FORMAT, True, 7
    return path


def test_compute_split_reads_names_and_slot0(small_file):
    with h5py.File(small_file, "r") as f:
        names = np.array(json.loads(f["attrs/font"].attrs["categories"]))[f["attrs/font"][()]]
        assert (compute_split(f, "stratified", "font", seed=3) == stratified_split(names, seed=3)).all()
        scale0 = f["attrs/scale"][:, 0]
        assert (compute_split(f, "percentile", "scale") == percentile_split(scale0)).all()
        occ = f["attrs/occluder_kind"][()]
        m = compute_split(f, "environments", "occluder_kind", test_values=["b"])
        p = _parts(m)
        assert ((p == -1) == (occ < 0)).all() and ((p == 2) == (occ == 1)).all()
        assert (compute_split(f, "random", seed=7) == f["split/random"][()]).all()


@pytest.mark.parametrize("kind,by,kw,match", [
    ("stratifed", "font", {}, r"kind: unknown 'stratifed' \(did you mean 'stratified'\?\); expected one of random"),
    ("stratified", "fnt", {}, r"by: unknown column 'fnt' \(did you mean 'font'\?\); the file has: bold, char, font, "),
    ("stratified", "scale", {}, r"needs a categorical or integer column; 'scale' is float64"),
    ("percentile", "font", {}, r"needs a numeric column; 'font' is categorical"),
    ("compositional", "char", {}, r"by: kind 'compositional' needs two columns"),
    ("interpolation", "scale", {"holdout": (5, 6)}, r"holdout: \[5, 6\] holds no samples"),
    ("percentile", "scale", {"holdout": (5, 6)}, r"holdout: not an argument of kind 'percentile'"),
    ("stratified", "char", {"balance": "values"}, None),
    ("compositional", "char,bold", {}, r"by 'bold': 2 unique value\(s\), fewer than the 3 parts"),
    ("environments", "font", {"test_values": ["nope"]}, r"test_values: nope not among the values of 'font'"),
])
def test_compute_split_errors(small_file, kind, by, kw, match):
    with h5py.File(small_file, "r") as f:
        if match is None:
            _exact_partition(compute_split(f, kind, by, **kw))
            return
        with pytest.raises(SplitError, match=match) as e:
            compute_split(f, kind, by, **kw)
    assert "\n" not in str(e.value)


def test_summarize(small_file):
    from synprobe.splits import summarize

    with h5py.File(small_file, "r") as f:
        m = compute_split(f, "compositional", "char,font", seed=2)
        s = summarize(f, m, "char,font")
        chars, fonts = f["attrs/char"][()], f["attrs/font"][()]
        for i, part in enumerate(("train", "val", "test")):
            rows = m[:, i]
            assert s[part]["samples"] == rows.sum()
            assert s[part]["char"] == len(set(chars[rows].tolist()))
            assert s[part]["combinations"] == len(set(zip(chars[rows].tolist(), fonts[rows].tolist())))
        assert s["excluded"]["samples"] == 0
        s = summarize(f, compute_split(f, "percentile", "scale"), "scale")
        assert s["val"]["scale range"][1] < s["train"]["scale range"][0]


def test_write_split(small_file):
    m = random_split(200, seed=1)
    write_split(small_file, "mine", m, kind="random", seed=np.int64(1))
    with pytest.raises(SplitError, match="split/mine exists; pass --overwrite"):
        write_split(small_file, "mine", m)
    with pytest.raises(SplitError, match=r"must be bool \(200, 3\)"):
        write_split(small_file, "other", m[:10])
    write_split(small_file, "mine", ~m & False, overwrite=True)
    with h5py.File(small_file, "r") as f:
        assert not f["split/mine"][()].any() and "kind" not in f["split/mine"].attrs


def test_default_splits(small_file):
    with h5py.File(small_file, "r") as f:
        d = default_splits(f, seed=7)
        assert list(d) == list(DEFAULT_SPLITS)
        assert (d["random"] == f["split/random"][()]).all()
    assert default_name("compositional", "char,font") == "compositional_char_font"
    assert default_name("random", "font") == "random"


# --- end to end: generate, CLI, read back ----------------------------------------------------


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from synprobe.generator import generate

    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYNPROBE_HOME", str(home))
        mp.setenv("SOURCE_DATE_EPOCH", "0")
        path = tmp_path_factory.mktemp("data") / "a.h5"
        generate("default", 300, path, workers=1, resolution=8)
    return path


def _fresh_copy(dataset, tmp_path):
    """A copy of the generated file holding only split/random (whether or not generation adds more)."""
    import shutil

    path = tmp_path / "a.h5"
    shutil.copy(dataset, path)
    with h5py.File(path, "r+") as f:
        for name in [k for k in f["split"] if k != "random"]:
            del f["split"][name]
    return path


def test_cli_end_to_end(dataset, tmp_path, runner):
    from synprobe.cli import main
    from synprobe.cli.split import KINDS as CLI_KINDS

    assert CLI_KINDS == KINDS
    path = _fresh_copy(dataset, tmp_path)
    r = runner.invoke(main, ["split", str(path), "--kind", "stratified", "--by", "font", "--seed", "3"])
    assert r.exit_code == 0, r.output
    assert "split/stratified_font" in r.output and "unique font" in r.output
    r = runner.invoke(main, ["split", str(path), "--kind", "compositional", "--by", "char,font"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["split", str(path), "--kind", "extrapolation", "--by", "scale", "--range", "0,0.7"])
    assert r.exit_code == 0, r.output
    with h5py.File(path, "r") as f:
        m = f["split/stratified_font"][()]
        assert m.shape == (300, 3) and (m.sum(axis=1) == 1).all()
        assert (m == compute_split(f, "stratified", "font", seed=3)).all()
        assert f["split/stratified_font"].attrs["kind"] == "stratified"
        assert f["split/stratified_font"].attrs["by"] == "font"
        assert f["split/stratified_font"].attrs["seed"] == 3
        assert list(f["split/stratified_font"].attrs["ratios"]) == [0.6, 0.2, 0.2]
        fonts = f["attrs/font"][()]
        _values_disjoint(fonts, _parts(m))
        c = _exact_partition(f["split/compositional_char_font"][()])
        assert set(f["attrs/char"][()][c == 0].tolist()) == set(f["attrs/char"][()].tolist())
        assert json.loads(f["split/extrapolation_scale"].attrs["train_range"]) == [0.0, 0.7]
        assert (f["attrs/scale"][()][_parts(f["split/extrapolation_scale"][()]) == 2] > 0.7).all()
        assert (default_splits(f, seed=0)["random"] == f["split/random"][()]).all()


@pytest.mark.parametrize("args,match", [
    (["--kind", "stratified", "--by", "font"], "split/stratified_font exists; pass --overwrite"),
    (["--kind", "percentile", "--by", "font", "--name", "p"], "needs a numeric column"),
    (["--kind", "stratified", "--by", "nope", "--name", "q"], "by: unknown column 'nope'"),
    (["--kind", "stratified", "--by", "font", "--ratios", "0.5,0.5,0.5", "--name", "q"], "summing to 1"),
    (["--kind", "percentile", "--by", "scale", "--range", "0,1"], "--range does not apply to --kind percentile"),
    (["--kind", "interpolation", "--by", "scale"], "needs --range lo,hi"),
    (["--kind", "random", "--by", "scale"], "--by does not apply to --kind random"),
    (["--kind", "environments", "--by", "background_kind", "--test-values", "nope"],
     "test_values: nope not among the values of 'background_kind'"),
])
def test_cli_errors(dataset, tmp_path, runner, args, match):
    from synprobe.cli import main

    path = _fresh_copy(dataset, tmp_path)
    assert runner.invoke(main, ["split", str(path), "--kind", "stratified", "--by", "font"]).exit_code == 0
    r = runner.invoke(main, ["split", str(path), *args])
    assert r.exit_code != 0 and "Traceback" not in r.output
    errors = [ln for ln in r.output.splitlines() if ln.startswith("Error")]
    assert len(errors) == 1 and match in errors[0], r.output
    r = runner.invoke(main, ["split", str(path), "--kind", "stratified", "--by", "font", "--overwrite", "--seed", "1"])
    assert r.exit_code == 0, r.output


def test_cli_help(runner):
    from synprobe.cli import main

    r = runner.invoke(main, ["split", "--help"])
    assert r.exit_code == 0 and "--kind" in r.output and "compositional" in r.output
