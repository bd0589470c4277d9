"""The harness's error class (no torch import here)."""

from __future__ import annotations

from synprobe.errors import SynprobeError, install_hint

__all__ = ["HarnessError", "need_torch"]


class HarnessError(SynprobeError, ValueError):
    """A training configuration, model name, strategy or run directory is wrong; one-line message."""


def need_torch():
    """Import and return torch, or raise a one-line error that says how to install it."""
    try:
        import torch
    except ImportError:
        raise HarnessError(f"training needs torch: {install_hint('train')}") from None
    return torch
