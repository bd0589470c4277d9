"""Train / val / test splits: random, held-out values, tails, combinations, ranges, environments.

A split is a bool array ``(N, 3)``: columns ``[train, val, test]``. A row is in at most one part;
a row that is all False is *excluded* (only NaN values, missing categorical codes, or samples
outside every range of an interval kind; never silently). The rules, with their guarantees, are
in ``docs/splits.md``. The pure functions work on numpy arrays; :func:`compute_split` reads the
column from a dataset file and :func:`write_split` stores the result as ``split/<name>``:

    >>> import numpy as np
    >>> from synprobe.splits import stratified_split
    >>> m = stratified_split(np.array(list("aabbccddeeff")), ratios=(0.5, 0.25, 0.25), seed=0)
    >>> m.sum(axis=0).tolist()              # 3 / 1.5 / 1.5 letters -> 3, 2, 1 (largest remainder)
    [6, 4, 2]

Every random choice comes from an explicit ``seed`` (numpy ``Generator`` seeded with the seed and
the draw's name, or the counter-based :class:`synprobe.rng.Draws`).

Inside: ``_kinds`` holds the kinds as pure functions, ``_files`` the kinds' table and the
dataset-file side (reading columns, writing and summarising splits), ``_common`` the ratios,
:class:`SplitError` and the helpers the kinds share. Import everything from here.
"""

from synprobe.splits._common import RATIOS, SplitError, check_ratios
from synprobe.splits._files import (
    DEFAULT_SPLITS,
    KINDS,
    check_writable,
    compute_split,
    default_name,
    default_splits,
    split_attrs,
    summarize,
    write_split,
)
from synprobe.splits._kinds import (
    compositional_split,
    environments_split,
    extrapolation_split,
    interpolation_split,
    percentile_split,
    random_split,
    stratified_split,
)

__all__ = [
    "DEFAULT_SPLITS",
    "KINDS",
    "RATIOS",
    "SplitError",
    "check_ratios",
    "check_writable",
    "compositional_split",
    "compute_split",
    "default_name",
    "default_splits",
    "environments_split",
    "extrapolation_split",
    "interpolation_split",
    "percentile_split",
    "random_split",
    "split_attrs",
    "stratified_split",
    "summarize",
    "write_split",
]
