"""Which compiled kernels render: C (:mod:`synprobe.render.ckernels`) or numba
(:mod:`synprobe.render.kernels`). Both give the same bytes; C starts ~0.4 s faster per process.

``SYNPROBE_KERNELS`` chooses: ``auto`` (default: C when a C compiler works, else numba), ``c``
(an error when the C kernels cannot be built) or ``numba``.

    >>> from synprobe.render.backend import kernels
    >>> kernels().name in ("c", "numba")
    True
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from synprobe.errors import SynprobeError

__all__ = ["NumbaKernels", "compute_normal_lut", "kernels", "normal_lut"]

CHOICES = ("auto", "c", "numba")


class NumbaKernels:
    """The numba kernels behind the same interface as :class:`~synprobe.render.ckernels.CKernels`.

    Args:
        why: set when ``auto`` fell back to them: why the C kernels could not be built.
    """

    name = "numba"

    def __init__(self, why: str = ""):
        self.why = why

    def render(self, out, masks, ids, inv, box, atlas, active, kinds, params, tex, tex_row, gray, inverse,
               contrast, sigma, seed, index, lut, n_symbols):
        """Render a batch into ``out`` uint8 (n, H, W, C) and, unless None, ``masks`` uint8 (n, H, W, S).

        Args: layer ``l`` of sample ``s`` is glyph ``ids[s, l]`` (-1: none) of the atlas
        ``(data, off, hw)`` warped by ``inv`` within ``box`` (see ``kernels.warp_layers``); the
        rest as ``kernels.composite``; layers ``0..n_symbols-1`` are symbols, the others occluders.
        """
        from synprobe.render.kernels import composite, warp_layers

        n, L = ids.shape
        H, W = out.shape[1:3]
        alpha = np.zeros((n, L, H, W), np.uint8)
        warp_layers(alpha, ids, inv, box, *atlas)
        composite(out, alpha, active, kinds, params, tex, tex_row, gray, inverse, contrast, sigma, np.uint64(seed),
                  index, lut)
        if masks is not None:
            masks[:] = _visible_masks(alpha[:, :n_symbols], alpha[:, n_symbols:])

    def strokes(self, out, seg, col, r):
        """Camouflage strokes into ``out`` float32 (b, H, W, 3): ``seg`` float32 (b, n, 4) end points
        (pixels), ``col`` uint8 (b, n, 3), ``r`` half width (see ``kernels.strokes``)."""
        from synprobe.render.kernels import strokes

        strokes(out, np.ascontiguousarray(seg, np.float32), np.ascontiguousarray(col, np.uint8), np.float32(r))

    def eval_patterns(self, out, kinds, params):
        from synprobe.render.kernels import eval_patterns

        eval_patterns(out, kinds, params)

    def normal_noise(self, out, key, lut):
        from synprobe.render.kernels import _normal_noise

        _normal_noise(out, np.uint64(key), lut)


def _visible_masks(sym_alpha: np.ndarray, occ_alpha: np.ndarray) -> np.ndarray:
    """Per-symbol coverage after occlusion: a_j * prod over layers above j of (1 - a_l)."""
    n, S, H, W = sym_alpha.shape
    remaining = np.ones((n, H, W), np.float32)
    for j in range(occ_alpha.shape[1] - 1, -1, -1):
        remaining *= 1.0 - occ_alpha[:, j] * np.float32(1 / 255)
    out = np.empty((n, H, W, S), np.uint8)
    for j in range(S - 1, -1, -1):
        a = sym_alpha[:, j] * np.float32(1 / 255)
        out[..., j] = np.rint(a * remaining * 255)
        remaining *= 1.0 - a
    return out


@functools.cache
def _kernels(choice: str):
    if choice == "numba":
        return NumbaKernels()
    from synprobe.render import ckernels

    k, why = ckernels.load()
    if k is not None:
        return k
    if choice == "c":
        raise SynprobeError(f"SYNPROBE_KERNELS=c: the C kernels cannot be built: {why}")
    return NumbaKernels(why)


def kernels():
    """The kernels this process renders with (chosen once per process and choice)."""
    choice = os.environ.get("SYNPROBE_KERNELS", "auto").strip().lower() or "auto"
    if choice not in CHOICES:
        raise SynprobeError(f"SYNPROBE_KERNELS: unknown {choice!r}; expected one of {', '.join(CHOICES)}")
    return _kernels(choice)


LUT_FILE = Path(__file__).with_name("normal_lut.f32")


@functools.lru_cache(maxsize=1)
def normal_lut() -> np.ndarray:
    """float32 (4096,): entry m = standard normal quantile at (m + 0.5) / 4096.

    The kernels draw 12 random bits per value and look them up here: a 4,096-point equiprobable
    discretisation of N(0, 1) (steps far below one grey level; |z| <= 3.7). Read from
    ``normal_lut.f32`` (little-endian float32), which :func:`compute_normal_lut` made; computing
    it costs 5 ms per process (tests check the file against the computation).
    """
    return np.fromfile(LUT_FILE, "<f4").astype(np.float32)


def compute_normal_lut() -> np.ndarray:
    """The definition of :func:`normal_lut`'s table."""
    from statistics import NormalDist

    nd = NormalDist()
    return np.array([nd.inv_cdf((m + 0.5) / 4096) for m in range(4096)], np.float32)
