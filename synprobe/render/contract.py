"""The render contract: what the Python side and both kernel implementations (numba:
:mod:`synprobe.render.kernels`; C: ``_kernels.c``) agree on. Pattern kinds, the layout of a pattern's
parameter row and the normal quantile table of the pixel noise.

A leaf: it imports nothing of synprobe, so every render module may import it. ``_kernels.c``
holds the same values as ``#define``s (``tests/test_kernels.py`` checks that they are equal).

A parameter row is :data:`N_PARAMS` float64s::

    [c0 rgb, c1 rgb, c2 rgb, p0 .. p6]    colour stops at t = 0, 0.5, 1 (t clamped to [0, 1])
    linear:  t = p0 * col + p1 * row + p2
    radial:  two circles (cairo's law) in unit coordinates (pixel / m, m the shorter side):
             p0 = 1 / m, (p1, p2) = 0.5 / m - c1, (p3, p4) = c2 - c1, p5 = r1, p6 = r2 - r1; a
             pixel takes the largest t whose circle (centre c1 + t (c2 - c1), radius >= 0)
             passes through its centre
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

__all__ = [
    "GEOMETRY", "KIND_LINEAR", "KIND_RADIAL", "KIND_SOLID", "KIND_TEXTURE", "NORMAL_LUT_FILE", "NORMAL_LUT_SIZE",
    "N_PARAMS", "STOPS", "compute_normal_lut", "normal_lut",
]  # fmt: skip

# pattern kinds the kernels evaluate; KIND_TEXTURE: a texture the caller rendered (its row is given)
KIND_SOLID, KIND_LINEAR, KIND_RADIAL, KIND_TEXTURE = 0, 1, 2, 3

STOPS = 0  # first slot of the three colour stops (9 values: c0, c1, c2, rgb each)
GEOMETRY = 9  # first slot of p0 .. p6 (the gradient's geometry)
N_PARAMS = 16  # the length of a parameter row

NORMAL_LUT_SIZE = 4096  # entries of the normal quantile table: 12 random bits a value
NORMAL_LUT_FILE = Path(__file__).with_name("normal_lut.f32")


@functools.lru_cache(maxsize=1)
def normal_lut() -> np.ndarray:
    """float32 (4096,): entry m = standard normal quantile at (m + 0.5) / 4096.

    The kernels draw 12 random bits per value and look them up here: a 4,096-point equiprobable
    discretisation of N(0, 1) (steps far below one grey level; |z| <= 3.7). Read from
    ``normal_lut.f32`` (little-endian float32), which :func:`compute_normal_lut` made; computing
    it costs 5 ms per process (tests check the file against the computation).
    """
    return np.fromfile(NORMAL_LUT_FILE, "<f4").astype(np.float32)


def compute_normal_lut() -> np.ndarray:
    """The definition of :func:`normal_lut`'s table."""
    from statistics import NormalDist

    nd = NormalDist()
    return np.array([nd.inv_cdf((m + 0.5) / NORMAL_LUT_SIZE) for m in range(NORMAL_LUT_SIZE)], np.float32)
