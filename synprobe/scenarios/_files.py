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


def _file_splits(path) -> dict:
    return read_table(path).splits


def eval_sets_from_file(path, split_name="random", ood=None) -> dict:
    """Evaluation rows of a dataset file: ``"iid"``, the test part of ``split_name`` restricted
    to the training distribution (rows in the train part of every OOD split), and
    ``"ood_<name>"``, the test part of each other ``split/<name>`` (``ood``: names; default all
    others): held-out fonts, chars, ranges, combinations."""
    splits = _file_splits(path)
    names = _ood_names(splits, split_name, ood, path)
    inside = np.ones(len(splits[split_name]), bool)
    for name in names:
        inside &= splits[name][:, 0]
    out = {"iid": np.flatnonzero(splits[split_name][:, 2] & inside).astype(np.int64)}
    for name in names:
        out[f"ood_{name}"] = np.flatnonzero(splits[name][:, 2]).astype(np.int64)
    return out


def _ood_names(splits, split_name, ood, path):
    if split_name not in splits:
        have = ", ".join(sorted(splits)) or "none"
        hint = did_you_mean(split_name, splits)
        raise ScenarioError(f"{path}: no split {split_name!r}{hint}; the file's splits: {have}")
    names = [n for n in sorted(splits) if n != split_name] if ood is None else list(ood)
    bad = [n for n in names if n not in splits or n == split_name]
    if bad:
        raise ScenarioError(f"ood: {bad!r} not other splits of {path}; have: {', '.join(sorted(splits))}")
    return names


def train_from_file(path, target="char", split_name="random", ood=None):
    """(labels, index) of the rows a stream may train on: the train part of ``split_name`` that
    is also in the train part of every OOD split (``ood``; default all others), so no row of an
    :func:`eval_sets_from_file` set, nor any held-out value, enters training."""
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
