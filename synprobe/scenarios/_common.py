"""Shared pieces of :mod:`synprobe.scenarios`: the error class and the CSR gather helper.

Seeded generators and seed checks come from :mod:`synprobe.rng` (``rng_for(seed, name, ScenarioError)``).
"""

from __future__ import annotations

import numpy as np

from synprobe.errors import SynprobeError

__all__ = ["ScenarioError", "csr_take"]


class ScenarioError(SynprobeError, ValueError):
    """A scenario spec (builder argument, law, stream file) is malformed; one-line message."""


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
