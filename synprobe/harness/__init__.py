"""The training harness: train models over scenario streams and measure what they learn.

``synprobe.harness.metrics`` is pure numpy; every other module here needs torch
(``pip install 'synprobe[train]'``) and imports it only when used.
"""

from synprobe.harness.errors import HarnessError

__all__ = ["HarnessError"]
