"""Shared pieces of :mod:`synprobe.scenarios`: the error class, seeded generators, CSR helpers."""

from __future__ import annotations

import numpy as np

from synprobe.errors import SynprobeError
from synprobe.rng import name_key

__all__ = ["ScenarioError", "check_seed", "csr_take", "rng_for"]


class ScenarioError(SynprobeError, ValueError):
    """A scenario spec (builder argument, law, stream file) is malformed; one-line message."""


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ScenarioError(f"seed: {seed!r} must be an integer >= 0")
    return int(seed)


def rng_for(seed: int, name: str) -> np.random.Generator:
    """A numpy Generator keyed by (seed, draw name): an independent stream per draw name."""
    k = name_key(name)
    return np.random.default_rng([check_seed(seed), k & 0xFFFFFFFF, k >> 32])


def csr_take(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate ``values[starts[i]:starts[i]+lengths[i]]`` for every i, vectorised.

    Returns (concatenated values, int64 offsets of length len(starts)+1).
    """
    lengths = np.asarray(lengths, np.int64)
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    if total == 0:
        return values[:0].copy(), offsets
    shift = np.repeat(np.asarray(starts, np.int64) - offsets[:-1], lengths)
    shift += np.arange(total, dtype=np.int64)
    return values[shift], offsets
