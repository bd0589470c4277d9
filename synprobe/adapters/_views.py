"""Index views over one image array: the adapters' way of giving every task its images without a copy.

:class:`IndexedRows` (numpy only) is an array-like whose item ``i`` is ``base[pos[i]]``; indexing it with an
array gives another view, ``np.asarray`` materialises only what is asked. :func:`torch_rows_class` defines
(on first use, so that torch is imported only when needed) ``TorchRows``, a ``torch.utils.data.Dataset``
over such positions with a ``targets`` tensor, the shape Avalanche and torchvision code expect.
"""

from __future__ import annotations

import numpy as np

MEAN = STD = 0.5  # synprobe run's normalisation: (x / 255 - 0.5) / 0.5


class IndexedRows:
    """``base[pos]`` without the copy: ``len``, ``shape``, ``dtype``, int and array indexing, ``np.asarray``."""

    def __init__(self, base: np.ndarray, pos: np.ndarray):
        self.base, self.pos = base, np.asarray(pos, np.int64)

    def __len__(self) -> int:
        return len(self.pos)

    @property
    def shape(self) -> tuple:
        return (len(self.pos), *self.base.shape[1:])

    @property
    def dtype(self):
        return self.base.dtype

    @property
    def ndim(self) -> int:
        return self.base.ndim

    def __getitem__(self, i):
        if isinstance(i, (int, np.integer)):
            return self.base[self.pos[i]]
        return IndexedRows(self.base, self.pos[i])

    def __array__(self, dtype=None, copy=None):
        out = self.base[self.pos]
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        return f"IndexedRows({len(self):,} of {len(self.base):,} images {self.base.shape[1:]} {self.base.dtype})"


def torch_rows_class():
    """``TorchRows`` (defined on first use so that torch is imported only when needed)."""
    cls = globals().get("_TorchRowsClass")
    if cls is not None:
        return cls
    import torch

    class TorchRows(torch.utils.data.Dataset):
        """Item ``i``: (image ``x[pos[i]]``, ``targets[i]``), the image normalised as ``synprobe run`` does
        (float32 (C, H, W), (x / 255 - 0.5) / 0.5) or ``transform(uint8 (H, W, C) array)``.

        ``targets`` are the labels trained on (observed), ``true_targets`` the true ones (they differ
        only for noisy streams).
        """

        def __init__(self, x, pos, targets, true_targets=None, transform=None):
            self.x, self.pos = x, np.asarray(pos, np.int64)
            self.targets = torch.from_numpy(np.asarray(targets, np.int64))
            self.true_targets = (
                self.targets if true_targets is None else torch.from_numpy(np.asarray(true_targets, np.int64))
            )
            self.transform = transform

        def __len__(self):
            return len(self.pos)

        def __getitem__(self, i):
            img = self.x[self.pos[i]]
            if self.transform is not None:
                return self.transform(img), int(self.targets[i])
            t = torch.from_numpy(img).permute(2, 0, 1).float().div_(255.0).sub_(MEAN).div_(STD)
            return t, int(self.targets[i])

    TorchRows.__module__ = __name__
    TorchRows.__qualname__ = "TorchRows"
    globals()["_TorchRowsClass"] = cls = TorchRows
    return cls


def __getattr__(name):  # ``TorchRows`` by name: pickling for DataLoader workers
    if name == "TorchRows":
        return torch_rows_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
