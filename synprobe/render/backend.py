"""Which compiled kernels render: C (:mod:`synprobe.render.ckernels`) or numba
(:mod:`synprobe.render.kernels`). Both give the same bytes; C starts ~0.4 s faster per process.

``SYNPROBE_KERNELS`` chooses (read by :func:`synprobe.config.kernels_setting`): ``auto``
(default: C when a C compiler works, else numba), ``c`` (an error when the C kernels cannot be
built) or ``numba``.

    >>> from synprobe.render.backend import kernels
    >>> kernels().name in ("c", "numba")
    True
"""

from __future__ import annotations

import functools

from synprobe.config import kernels_setting
from synprobe.errors import SynprobeError
from synprobe.render import ckernels
from synprobe.render.contract import compute_normal_lut, normal_lut
from synprobe.render.kernels import NumbaKernels

# the interface a renderer uses: the chosen kernels, both implementations, the noise table
__all__ = ["NumbaKernels", "compute_normal_lut", "kernels", "normal_lut"]

CHOICES = ("auto", "c", "numba")


@functools.cache
def _kernels(choice: str):
    if choice == "numba":
        return NumbaKernels()
    k, why = ckernels.load()
    if k is not None:
        return k
    if choice == "c":
        raise SynprobeError(f"SYNPROBE_KERNELS=c: the C kernels cannot be built: {why}")
    return NumbaKernels(why)


def kernels():
    """The kernels this process renders with (chosen once per process and choice)."""
    choice = kernels_setting().strip().lower() or "auto"
    if choice not in CHOICES:
        raise SynprobeError(f"SYNPROBE_KERNELS: unknown {choice!r}; expected one of {', '.join(CHOICES)}")
    return _kernels(choice)
