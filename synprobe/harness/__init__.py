"""The training harness: train models over scenario streams and measure what they learn.

``metrics``, ``config``, ``replay``, ``outputs`` and the run-directory readers (``rundir``,
``plots``, ``report``) need no torch; ``train``, ``models``, ``losses``, ``device`` (which device and
precision run), ``scatter`` (duplicate-safe per-row updates), ``syncs`` (host-sync counting) and
``data.DeviceData`` need it (``pip install -e '.[train]'`` in the synprobe checkout).
"""

from synprobe.harness.errors import HarnessError

__all__ = ["HarnessError"]
