"""Counter-based randomness: every draw is a pure function of (seed, sample index, draw name).

    >>> import numpy as np
    >>> from synprobe.rng import Draws
    >>> d = Draws(seed=0, index=np.arange(4))
    >>> u = d.uniform("rotation")            # float64 in [0, 1), one per sample
    >>> bool(np.array_equal(u[2:], Draws(0, np.arange(2, 4)).uniform("rotation")))
    True

Draws are a SplitMix64-style hash of (seed, index, name, slot) evaluated with numpy on whole index
ranges at once, so sample i gets the same numbers whatever the batch, shard or resume point.
Per-pixel randomness (pixel noise) is drawn inside the compiled renderer from a SplitMix64
stream keyed by (seed, index); see :mod:`synprobe.render.kernels`.
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np

from synprobe.errors import SynprobeError

__all__ = ["Draws", "check_seed", "name_key", "rng_for", "stream_seed"]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_TO_UNIT = 2.0**-53


def name_key(name: str) -> int:
    """Stable 64-bit key of a draw name (blake2b, independent of Python's hash seed)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def check_seed(seed, error: type[SynprobeError] = SynprobeError) -> int:
    """``seed`` as an int, or ``error`` (the caller's error class) saying it must be an integer >= 0."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise error(f"seed: {seed!r} must be an integer >= 0")
    return int(seed)


def rng_for(seed: int, name: str, error: type[SynprobeError] = SynprobeError) -> np.random.Generator:
    """A numpy Generator keyed by (seed, draw name): an independent stream per draw name.

    For the draws of whole-dataset steps (splits, scenario streams, replay, subsets); per-sample
    draws use :class:`Draws`. A bad seed raises ``error`` (the caller's error class).
    """
    k = name_key(name)
    return np.random.default_rng([check_seed(seed, error), k & 0xFFFFFFFF, k >> 32])


@functools.lru_cache(maxsize=64)
def stream_seed(seed: int, stream: str) -> int:
    """The seed of a recipe's random streams: (dataset seed, stream name) hashed to 63 bits, so two
    recipes (two stream names) at one dataset seed draw independent numbers."""
    digest = hashlib.blake2b(f"{stream}\0{int(seed)}".encode(), digest_size=8, person=b"synprobe-stream").digest()
    return int.from_bytes(digest, "little") >> 1


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, in place on a uint64 array."""
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


class Draws:
    """Uniform draws for a range of sample indices.

    Args:
        seed: dataset seed (int >= 0).
        index: int array (n,) of sample indices.
    """

    def __init__(self, seed: int, index: np.ndarray):
        self.seed = int(seed)
        self.index = np.asarray(index, dtype=np.uint64)
        base = _mix(np.array([self.seed], dtype=np.uint64) * _GOLD + _GOLD)[0]
        self._base = _mix((self.index + np.uint64(1)) * _GOLD ^ base)

    def __len__(self) -> int:
        return len(self.index)

    def bits(self, name: str, slots: int | None = None) -> np.ndarray:
        """Raw uint64 hashes: shape (n,) when slots is None, else (n, slots).

        Slot j of a name gives the same numbers whatever the number of slots asked for.
        """
        key = np.uint64(name_key(name))
        if slots is None:
            return _mix(self._base ^ key)
        slot = (np.arange(slots, dtype=np.uint64) + np.uint64(1)) * _GOLD
        return _mix((self._base[:, None] ^ key) + slot[None, :])

    def uniform(self, name: str, slots: int | None = None) -> np.ndarray:
        """Float64 uniforms in [0, 1), shape (n,) or (n, slots) (see :meth:`bits`)."""
        return (self.bits(name, slots) >> np.uint64(11)).astype(np.float64) * _TO_UNIT

    def normal(self, name: str, slots: int | None = None) -> np.ndarray:
        """Standard normals (Box-Muller on two independent uniforms)."""
        u1 = 1.0 - self.uniform(name + "/n1", slots)  # (0, 1]
        u2 = self.uniform(name + "/n2", slots)
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)

    def seeds(self, name: str, slots: int | None = None) -> np.ndarray:
        """uint32 seeds for sub-generators (pattern textures), shape (n,) or (n, slots) (see :meth:`bits`)."""
        return (self.bits(name, slots) >> np.uint64(32)).astype(np.uint32)
