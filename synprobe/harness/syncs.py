"""Count the host synchronisations of a piece of code (checks that a run's syncs grow with tasks, not steps).

    >>> from synprobe.harness.syncs import count_syncs                  # doctest: +SKIP
    >>> with count_syncs("cuda") as c:                                  # doctest: +SKIP
    ...     run(stream, data, device="cuda", tasks=40, progress=False)
    >>> c.count, c.kinds                                                # doctest: +SKIP

On CUDA: ``torch.cuda.set_sync_debug_mode("warn")``, counting its warnings (every synchronising
call: a device-to-host copy, ``.item()``, ``nonzero``, a boolean-mask index, ``bincount``, ...).
On the CPU nothing synchronises, so it counts what would on a GPU: the aten operators that read a
device value on the host (``_local_scalar_dense``: ``.item()``, ``float(t)``, ``bool(t)``), the ones
whose output size depends on the data (``nonzero``, ``masked_select``, boolean-mask indexing,
``bincount``, ``unique``, ...), seen through a ``TorchDispatchMode``, plus every ``Tensor.cpu()``,
``.numpy()`` and ``.tolist()`` call (a transfer on a GPU).
"""

from __future__ import annotations

import contextlib
import warnings
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["SyncCount", "count_syncs"]

# aten operators that synchronise with the host on CUDA (data-dependent output size or a scalar read)
SYNC_OPS = ("_local_scalar_dense", "nonzero", "masked_select", "bincount", "unique", "_unique", "_unique2",
            "unique_consecutive", "unique_dim", "repeat_interleave", "nonzero_static")


@dataclass
class SyncCount:
    """What :func:`count_syncs` saw: ``count`` in all, and ``kinds``: how many of each kind."""

    count: int = 0
    kinds: Counter = field(default_factory=Counter)

    def add(self, kind: str) -> None:
        self.count += 1
        self.kinds[kind] += 1


@contextlib.contextmanager
def count_syncs(device_type: str = "cpu"):
    """Count host syncs inside the block (``"cuda"``: the real ones; ``"cpu"``: what would sync on a GPU)."""
    import torch

    c = SyncCount()
    if device_type == "cuda":
        before = torch.cuda.get_sync_debug_mode()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                yield c
            finally:
                torch.cuda.synchronize()
                torch.cuda.set_sync_debug_mode(before)
        for w in caught:
            msg = str(w.message)
            if "synchroniz" in msg.lower():
                c.add(msg.split("\n")[0][:80])
        return
    from torch.utils._python_dispatch import TorchDispatchMode

    class Mode(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = func.overloadpacket.__name__
            if name in SYNC_OPS:
                c.add(name)
            elif name in ("index", "index_put", "index_put_", "_index_put_impl_"):
                idx = args[1] if len(args) > 1 else ()
                if any(t is not None and t.dtype == torch.bool for t in idx):
                    c.add(f"{name} (boolean mask)")
            return func(*args, **(kwargs or {}))

    patched = {}
    for name in ("cpu", "numpy", "tolist"):
        real = getattr(torch.Tensor, name)
        own = name in vars(torch.Tensor)

        def spy(self, *a, _real=real, _name=name, **k):
            c.add(f"Tensor.{_name}")
            return _real(self, *a, **k)

        patched[name] = (real, own)
        setattr(torch.Tensor, name, spy)
    try:
        with Mode():
            yield c
    finally:
        for name, (real, own) in patched.items():
            if own:
                setattr(torch.Tensor, name, real)
            else:
                delattr(torch.Tensor, name)
