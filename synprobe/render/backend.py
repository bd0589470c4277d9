"""Which compiled kernels render: C (:mod:`synprobe.render.ckernels`) or numba
(:mod:`synprobe.render.kernels`). Both give the same bytes; C starts ~0.4 s faster per process.

``SYNPROBE_KERNELS`` chooses (read by :func:`synprobe.config.kernels_setting`): ``auto``
(default: C when a C compiler works, else numba), ``c`` (an error when the C kernels cannot be
built) or ``numba``. numba is an extra (``pip install -e '.[numba]'``): with neither a working C
compiler nor numba, or ``numba`` chosen without it, one line says what to install.

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
INSTALL_NUMBA = "pip install -e '.[numba]' from the synprobe checkout"


@functools.cache
def _kernels(choice: str):
    if choice == "numba":
        if not numba_installed():
            raise SynprobeError(f"SYNPROBE_KERNELS=numba: numba is not installed: {INSTALL_NUMBA}")
        return NumbaKernels()
    k, why = ckernels.load()
    if k is not None:
        return k
    if choice == "c":
        raise SynprobeError(f"SYNPROBE_KERNELS=c: the C kernels cannot be built: {why}")
    if not numba_installed():
        raise SynprobeError(
            f"no rendering kernels: the C kernels cannot be built ({why}) and numba is not installed; "
            f"install a C compiler (e.g. apt install gcc, or set CC) or numba ({INSTALL_NUMBA})"
        )
    return NumbaKernels(why)


def numba_installed() -> bool:
    """Whether numba imports (it is an extra; imported here only when the C kernels are not used)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def kernels():
    """The kernels this process renders with (chosen once per process and choice)."""
    choice = kernels_setting().strip().lower() or "auto"
    if choice not in CHOICES:
        raise SynprobeError(f"SYNPROBE_KERNELS: unknown {choice!r}; expected one of {', '.join(CHOICES)}")
    return _kernels(choice)
