"""The metrics' error class and the array checks every metric runs on its inputs (one-line messages)."""

from __future__ import annotations

import numpy as np

from synprobe.errors import SynprobeError


class MetricError(SynprobeError, ValueError):
    """A metric was given arrays of the wrong shape, dtype or range."""


def as_square(R) -> np.ndarray:
    R = np.asarray(R, dtype=float)
    if R.ndim != 2 or R.shape[0] != R.shape[1] or R.shape[0] == 0:
        raise MetricError(f"R: expected a square (T, T) accuracy matrix with T >= 1, got shape {R.shape}")
    return R


def as_vector(x, name: str, n: int | None = None, dtype=float) -> np.ndarray:
    x = np.asarray(x, dtype=dtype)
    if x.ndim != 1:
        raise MetricError(f"{name}: expected a 1-d array, got shape {x.shape}")
    if n is not None and x.shape[0] != n:
        raise MetricError(f"{name}: expected length {n}, got {x.shape[0]}")
    return x


def as_bool2d(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 2:
        raise MetricError(f"{name}: expected a 2-d (rows, n_samples) array, got shape {a.shape}")
    if a.dtype != bool:
        if not np.all(np.isin(a, (0, 1))):
            raise MetricError(f"{name}: expected booleans or 0/1 values")
        a = a.astype(bool)
    return a


def as_int_labels(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim == 0 or not (np.issubdtype(a.dtype, np.integer) or a.dtype == bool or a.size == 0):
        raise MetricError(f"{name}: expected an integer array, got dtype {a.dtype} and shape {a.shape}")
    return a.astype(np.int64)
