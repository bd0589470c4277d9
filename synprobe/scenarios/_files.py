"""Dataset-file helpers of the stream builders: the rows a stream may train on and its
evaluation sets (iid and held-out OOD parts of a file's splits).

Import them from :mod:`synprobe.scenarios.builders` or :mod:`synprobe.scenarios`.
"""

from __future__ import annotations

import numpy as np

from synprobe.errors import did_you_mean
from synprobe.load import load, read_table
from synprobe.scenarios._common import ScenarioError
from synprobe.scenarios.stream import Stream, with_eval_sets
from synprobe.splits import DEFAULT_SPLITS


def _file_splits(path) -> dict:
    return read_table(path).splits


def eval_sets_from_file(path, split_name="random", ood=None) -> dict:
    """Evaluation rows of a dataset file: ``"iid"``, the test part of ``split_name`` restricted
    to the training distribution (rows in the train part of every OOD split), and
    ``"ood_<name>"``, the test part of each held-out split (``ood``: names; default: the other
    splits that ``synprobe generate`` writes, see :func:`held_out_splits`): held-out fonts, chars,
    ranges, combinations."""
    splits = _file_splits(path)
    names = _ood_names(splits, split_name, ood, path)
    inside = np.ones(len(splits[split_name]), bool)
    for name in names:
        inside &= splits[name][:, 0]
    out = {"iid": np.flatnonzero(splits[split_name][:, 2] & inside).astype(np.int64)}
    for name in names:
        out[f"ood_{name}"] = np.flatnonzero(splits[name][:, 2]).astype(np.int64)
    return out


def held_out_splits(path, split_name="random", ood=None) -> list[str]:
    """The splits a stream over ``path`` holds out: ``ood`` when given, else the file's default
    splits (those ``synprobe generate`` writes: ``DEFAULT_SPLITS``) other than ``split_name``.

    A split added to the file later (``synprobe split``) is held out only when named, so it never
    silently changes the training rows of a stream built with the default."""
    return _ood_names(_file_splits(path), split_name, ood, path)


def held_out_counts(path, split_name="random", ood=None) -> dict[str, int]:
    """How many rows of the train part of ``split_name`` each held-out split removes from training
    (a row may be removed by several), ``"train"``: the rows of that train part, and ``"kept"``: the
    rows a stream may train on."""
    splits = _file_splits(path)
    names = _ood_names(splits, split_name, ood, path)
    train = splits[split_name][:, 0]
    keep = train.copy()
    out = {}
    for name in names:
        out[name] = int(np.count_nonzero(train & ~splits[name][:, 0]))
        keep &= splits[name][:, 0]
    out["train"] = int(np.count_nonzero(train))
    out["kept"] = int(np.count_nonzero(keep))
    return out


def _ood_names(splits, split_name, ood, path):
    if split_name not in splits:
        have = ", ".join(sorted(splits)) or "none"
        hint = did_you_mean(split_name, splits)
        raise ScenarioError(f"{path}: no split {split_name!r}{hint}; the file's splits: {have}")
    if ood is None:
        return [n for n in sorted(DEFAULT_SPLITS) if n in splits and n != split_name]
    names = list(ood)
    bad = [n for n in names if n not in splits or n == split_name]
    if bad:
        raise ScenarioError(f"ood: {bad!r} not other splits of {path}; have: {', '.join(sorted(splits))}")
    return names


def train_from_file(path, target="char", split_name="random", ood=None):
    """(labels, index) of the rows a stream may train on: the train part of ``split_name`` that
    is also in the train part of every held-out split (``ood``; default: :func:`held_out_splits`),
    so no row of an :func:`eval_sets_from_file` set, nor any held-out value, enters training."""
    splits = _file_splits(path)
    names = _ood_names(splits, split_name, ood, path)
    d = load(path, "train", split_name, target)
    keep = np.ones(len(d.index), bool)
    for name in names:
        keep &= splits[name][d.index, 0]
    return d.y[keep].astype(np.int64), d.index[keep]


def attach_eval_sets(stream: Stream, path, split_name="random", ood=None) -> Stream:
    """``with_eval_sets(stream, eval_sets_from_file(path, split_name, ood))``."""
    return with_eval_sets(stream, eval_sets_from_file(path, split_name, ood))
