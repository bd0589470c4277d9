"""The training pool of a stream is explicit: which splits are held out, what each removes, and a
split added to the file later never changes an existing recipe's stream (issues 14 and 17)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from synprobe.cli import main
from synprobe.scenarios import held_out_counts, held_out_splits, train_from_file
from synprobe.scenarios.recipe import build
from synprobe.splits import DEFAULT_SPLITS

SMALL = {"n_tasks": 6}


@pytest.fixture
def h5(tiny_h5, tmp_path):
    p = tmp_path / "d.h5"
    shutil.copy(tiny_h5, p)
    return p


def _same_stream(a, b):
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.offsets, b.offsets)
    assert a.eval_sets.keys() == b.eval_sets.keys()
    assert all(np.array_equal(a.eval_sets[k], b.eval_sets[k]) for k in a.eval_sets)


def _add_percentile_split(runner, h5):  # what README's `synprobe split` step does
    res = runner.invoke(main, ["split", str(h5), "--kind", "percentile", "--by", "scale"])
    assert res.exit_code == 0, res.output


def test_a_split_added_later_does_not_change_the_stream(runner, h5):
    before = build("scole-10c-2pt", h5, overrides=SMALL)
    _add_percentile_split(runner, h5)
    after = build("scole-10c-2pt", h5, overrides=SMALL)
    _same_stream(before, after)
    assert "ood_percentile_scale" not in after.eval_sets


def test_a_named_split_is_held_out_and_counted(runner, h5):
    _add_percentile_split(runner, h5)
    ood = ["percentile_scale", "stratified_font"]
    s = build("scole-10c-2pt", h5, overrides={**SMALL, "ood": ood})
    assert set(s.eval_sets) == {"iid", "ood_percentile_scale", "ood_stratified_font"}
    held = s.spec["held_out"]
    assert held["splits"] == sorted(ood)
    _, idx = train_from_file(h5, "char", "random", ood)
    assert held["train_rows"] == len(idx) < held["train_part_rows"]
    assert not np.isin(s.indices, np.setdiff1d(np.arange(10**6), idx)).any()  # trains only inside the pool


def test_held_out_counts_match_the_rows_they_remove(h5):
    from synprobe.load import read_table

    splits = read_table(h5).splits
    counts = held_out_counts(h5)
    names = held_out_splits(h5)
    assert names == sorted(n for n in DEFAULT_SPLITS if n != "random")
    train = splits["random"][:, 0]
    for n in names:
        assert counts[n] == np.count_nonzero(train & ~splits[n][:, 0])
    keep = train & np.logical_and.reduce([splits[n][:, 0] for n in names])
    assert counts["kept"] == np.count_nonzero(keep) == len(train_from_file(h5)[1])
    assert counts["train"] == np.count_nonzero(train)


def test_scenario_build_prints_the_training_pool(runner, h5, tmp_path):
    res = runner.invoke(main, ["scenario", "build", "scole-10c-2pt", "--data", str(h5), "-o", str(tmp_path / "s.npz")])
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.output.splitlines() if ln.startswith("training pool:"))
    counts = held_out_counts(h5)
    assert f"{counts['kept']:,} of the {counts['train']:,} rows" in line
    assert all(f"{n} removes {counts[n]:,}" in line for n in held_out_splits(h5))


def test_a_stream_over_a_file_changed_since_says_so_and_how_to_rebuild(runner, h5, tmp_path):
    pytest.importorskip("torch", reason="the run's data preparation needs torch: pip install -e '.[train]'")
    from synprobe.harness.data import prepare, resolve_stream
    from synprobe.harness.errors import HarnessError

    out = tmp_path / "s.npz"
    build("scole-10c-2pt", h5, overrides=SMALL).save(out)
    _add_percentile_split(runner, h5)
    with pytest.raises(HarnessError, match=r"changed since the stream was built .* synprobe scenario build RECIPE"):
        prepare(resolve_stream(str(out), h5)[0], h5, source=str(out))
