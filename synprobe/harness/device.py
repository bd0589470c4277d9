"""Which device and precision a run uses, said out loud: never a silent fallback.

    >>> from synprobe.harness.device import resolve                    # doctest: +SKIP
    >>> r = resolve("auto", "auto")                                    # doctest: +SKIP
    >>> r.device, r.amp, r.note                                        # doctest: +SKIP
    (device(type='cpu'), 'fp32', 'device cpu (auto: no usable CUDA: this torch build has no CUDA), precision fp32')

Device: ``auto`` is CUDA when a CUDA device is present *and usable* (a tiny tensor is allocated on it:
``torch.cuda.is_available()`` alone is True on a machine whose driver is too old for the installed
build), else the CPU, with the reason in the note. ``cuda``/``cuda:N`` when CUDA is unusable is an
error, never a CPU run.

Precision (``--amp``): ``auto`` is bf16 autocast on a GPU with native bf16 (compute capability >= 8.0),
fp16 autocast with a gradient scaler on an older GPU, fp32 on the CPU. ``bf16`` asks for bf16 (on the
CPU too; on a GPU without native bf16 it is an error), ``fp16`` for fp16 with a scaler (CUDA only),
``off`` for fp32. What ran (``"bf16"``, ``"fp16"`` or ``"fp32"``) is recorded, never ``"auto"``.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

from synprobe.harness.errors import HarnessError, need_torch

__all__ = ["Resolved", "cuda_problem", "resolve", "resolve_amp", "resolve_device"]


@dataclass(frozen=True)
class Resolved:
    """The device and precision a run actually uses.

    Attributes:
        device: the torch device.
        amp: "bf16", "fp16" or "fp32" (what runs; never "auto").
        name: "cpu" or e.g. "cuda:0 (NVIDIA H100 80GB HBM3)".
        note: one line saying both, and why when ``auto`` fell back to the CPU.
        fallback: the reason ``auto`` did not use CUDA, or None.
    """

    device: object
    amp: str
    name: str
    note: str
    fallback: str | None = None

    @property
    def dtype(self):
        """The autocast dtype, or None for fp32."""
        torch = need_torch()
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.amp)

    def autocast(self):
        """A no-argument context factory: autocast in ``amp``'s dtype, or a no-op for fp32."""
        torch = need_torch()
        if self.dtype is None:
            return contextlib.nullcontext
        dev_type, dtype = self.device.type, self.dtype
        return lambda: torch.autocast(dev_type, dtype=dtype)

    def scaler(self):
        """A ``torch.amp.GradScaler``, enabled for fp16 only (a pass-through otherwise)."""
        torch = need_torch()
        return torch.amp.GradScaler(self.device.type, enabled=self.amp == "fp16")

    @property
    def eval_batch(self) -> int:
        """Default inference minibatch: 2048 on CUDA, 128 on the CPU (measured fastest there)."""
        return 2048 if self.device.type == "cuda" else 128


def cuda_problem(torch, index: int | None = None) -> str | None:
    """Why CUDA (device ``index``, default the current one) is unusable here, or None when it works."""
    if torch.version.cuda is None:
        return "this torch build has no CUDA"
    with warnings.catch_warnings(record=True) as caught:  # a driver too old says so in a warning
        warnings.simplefilter("always")
        ok = torch.cuda.is_available()
    if not ok:
        why = next((str(w.message).strip().splitlines()[0] for w in caught), "")
        return "torch.cuda.is_available() is False" + (f" ({why})" if why else " (no GPU or driver)")
    n = torch.cuda.device_count()
    if index is not None and index >= n:
        return f"cuda:{index} does not exist ({n} CUDA device{'s' if n != 1 else ''})"
    try:
        torch.zeros(1, device="cuda" if index is None else f"cuda:{index}").add_(1).cpu()
    except Exception as e:  # noqa: BLE001 -- any failure to run one kernel means unusable; say which
        return f"CUDA does not run: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}"
    return None


def resolve_device(device: str):
    """``(torch.device, fallback reason or None)`` for ``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""
    torch = need_torch()
    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise HarnessError(f"--device {device!r}: expected auto, cpu, cuda or cuda:N")
    if device == "cpu":
        return torch.device("cpu"), None
    index = None
    if device.startswith("cuda:"):
        try:
            index = int(device[5:])
        except ValueError:
            raise HarnessError(f"--device {device!r}: expected auto, cpu, cuda or cuda:N") from None
    why = cuda_problem(torch, index)
    if why is None:
        return torch.device(device if device != "auto" else "cuda"), None
    if device == "auto":
        return torch.device("cpu"), why
    raise HarnessError(f"--device {device}: CUDA is not usable here: {why}; use --device cpu (or auto)")


def resolve_amp(torch, amp: str, dev) -> str:
    """What ``--amp`` means on ``dev``: "bf16", "fp16" or "fp32" (errors for a precision ``dev`` lacks)."""
    if amp == "off":
        return "fp32"
    if dev.type != "cuda":
        if amp == "fp16":
            raise HarnessError("--amp fp16: only on CUDA (use bf16 or off on the CPU)")
        return "bf16" if amp == "bf16" else "fp32"
    native = torch.cuda.is_bf16_supported(including_emulation=False)
    if amp == "bf16" and not native:
        cap = torch.cuda.get_device_capability(dev)
        raise HarnessError(f"--amp bf16: {torch.cuda.get_device_name(dev)} (compute capability {cap[0]}.{cap[1]}) "
                           "has no native bf16; use --amp fp16, auto or off")
    if amp == "auto":
        return "bf16" if native else "fp16"
    return amp


def resolve(device: str, amp: str) -> Resolved:
    """The device and precision a run uses, with a one-line note of both."""
    torch = need_torch()
    dev, fallback = resolve_device(device)
    used = resolve_amp(torch, amp, dev)
    if dev.type == "cuda":
        cap = torch.cuda.get_device_capability(dev)
        name = f"{dev} ({torch.cuda.get_device_name(dev)})"
        where = f"{name}, compute capability {cap[0]}.{cap[1]}"
    else:
        name = where = "cpu"
    if fallback is not None:
        where += f" (--device auto: no usable CUDA: {fallback})"
    how = {"bf16": "bf16 autocast", "fp16": "fp16 autocast + gradient scaler", "fp32": "fp32"}[used]
    return Resolved(dev, used, name, f"device {where}; precision {how} (--amp {amp})", fallback)
