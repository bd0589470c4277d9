"""The training harness: train models over scenario streams and measure what they learn.

``train`` is the loop (``run``: seeds, device, then a ``Trainer`` in named steps), ``evaluation`` when and
what it evaluates, ``memorization`` the Feldman–Zhang estimate over K subset runs, ``provenance`` the
``config.json`` both write; ``callbacks`` is what a run tells loggers and users' code, ``loggers`` TensorBoard,
wandb, MLflow and CSV as callbacks (the ``loggers`` extra). ``metrics`` (a package), ``config``, ``callbacks``,
``loggers``, ``replay``, ``outputs`` and the run-directory readers (``rundir``, ``plots``, ``report``) need no
torch; ``train``, ``models``, ``losses``, ``device`` (which device and precision run), ``scatter`` (duplicate-safe
per-row updates), ``syncs`` (host-sync counting) and ``data.DeviceData`` need it (``pip install -e '.[train]'``
in the synprobe checkout).
"""

from synprobe.harness.errors import HarnessError

__all__ = ["HarnessError"]
