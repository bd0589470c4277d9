"""The :class:`Dataset` that :func:`synprobe.load.load` returns: one split of a file in memory.

Holds :class:`Dataset` (images, targets, the class table, every attribute column of the rows;
``decode``, ``subset``, ``class_counts``) and its torch view, ``TorchDataset``, a class defined on
first use so that torch is imported only by :meth:`Dataset.torch`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from synprobe.errors import SynprobeError
from synprobe.load._table import ALIASES, LoadError


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """One split of a dataset file, in memory.

    Attributes:
        x: uint8 (n, H, W, C) images.
        y: int64 class indices into ``classes`` (-1: the sample has no value), or float64 values
            when ``target_kind == "regression"``.
        classes: class names; the table depends on the whole file, not the split, so every split
            of a file shares it. Empty for regression.
        class_values: the integer or bool value of each class for integer/bool columns, else None.
        bin_edges: the bin edges of a binned numeric target (``scale:bins=10``), else None.
        index: int64 row numbers of the samples in the file.
        attrs: every attribute column for these rows (categorical columns hold codes; see
            :meth:`decode` and ``categories``).
        categories: full vocabulary of each categorical column, in the file's order.
    """

    path: str
    split: str
    split_name: str
    target: str
    target_kind: str
    x: np.ndarray
    y: np.ndarray
    classes: tuple
    index: np.ndarray
    attrs: dict
    categories: dict
    class_values: np.ndarray | None = None
    bin_edges: np.ndarray | None = None
    n_file: int = 0
    layout: str = "synprobe"

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i):
        """``(image, target)``: image uint8 (H, W, C); also slices / index arrays (batched)."""
        if isinstance(i, (int, np.integer)):
            return self.x[i], self.y[i].item()
        return self.x[i], self.y[i]

    def __repr__(self) -> str:
        h, w, c = self.x.shape[1:]
        if self.target_kind == "regression":
            tgt = f"target={self.target!r} (regression)"
        else:
            tgt = f"target={self.target!r} ({len(self.classes)} classes)"
        part = "all" if self.split == "all" else f"{self.split!r} of {self.split_name!r}"
        return (
            f"Dataset({Path(self.path).name!r}, split={part}: {len(self):,} of {self.n_file:,} images "
            f"{h}x{w}x{c} {self.x.dtype}, {tgt})"
        )

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def numpy(self) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)``: uint8 (n, H, W, C) images and the targets."""
        return self.x, self.y

    def decode(self, name: str) -> np.ndarray:
        """Category names of a categorical attribute for these rows (object array, None = no value)."""
        if name not in self.attrs:
            for alt in ALIASES.get(name, ()):
                if alt in self.attrs:
                    name = alt
                    break
        cats = self.categories.get(name)
        if cats is None:
            raise LoadError(
                f"{self.path}: {name!r} is not a categorical attribute; categorical: "
                f"{', '.join(sorted(self.categories))}"
            )
        v = self.attrs[name]
        lut = np.array([*cats, None], dtype=object)
        return lut[np.where(v >= 0, v, len(cats))]

    def subset(self, rows) -> Dataset:
        """The samples picked by a bool mask or integer positions (e.g. ``ds.subset(ds.y >= 0)``);
        the class table stays the same."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            if rows.shape != (len(self),):
                raise LoadError(f"subset: a bool mask needs shape ({len(self)},), got {rows.shape}")
            rows = np.flatnonzero(rows)
        elif rows.dtype.kind not in "iu" or rows.ndim != 1:
            raise LoadError("subset: expected a bool mask or a 1-D array of integer positions")
        return replace(
            self,
            x=self.x[rows],
            y=self.y[rows],
            index=self.index[rows],
            attrs={k: v[rows] for k, v in self.attrs.items()},
        )

    def class_counts(self) -> np.ndarray:
        """Samples per class (int64, len(classes)); samples without a value are not counted."""
        if self.target_kind == "regression":
            raise LoadError(f"target {self.target!r} is a regression target: it has no classes")
        return np.bincount(self.y[self.y >= 0], minlength=len(self.classes))

    def torch(self, transform=None, target_transform=None):
        """A ``torch.utils.data.Dataset`` over these arrays (no copy).

        Items are ``(image, target)``: image a uint8 (C, H, W) tensor, or ``transform(image)``;
        target a Python int (classification) or a float32 scalar tensor (regression), or
        ``target_transform(target)``. Needs torch (``pip install 'synprobe[train]'``).
        """
        cls = torch_dataset_class()
        return cls(self.x, self.y, self.target_kind, transform, target_transform)


def torch_dataset_class():
    """``TorchDataset`` (defined on first use so that torch is imported only when needed)."""
    cls = globals().get("_TorchDatasetClass")
    if cls is not None:
        return cls
    try:
        import torch
        from torch.utils.data import Dataset as _TD
    except ImportError:
        raise SynprobeError("Dataset.torch() needs torch: pip install 'synprobe[train]'") from None

    class TorchDataset(_TD):
        """Images as uint8 (C, H, W) tensors (or transformed) and their targets."""

        def __init__(self, x, y, target_kind, transform=None, target_transform=None):
            self.x, self.y, self.target_kind = x, y, target_kind
            self.transform, self.target_transform = transform, target_transform

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            img = torch.from_numpy(self.x[i]).permute(2, 0, 1)
            if self.transform is not None:
                img = self.transform(img)
            if self.target_kind == "regression":
                t = torch.tensor(self.y[i], dtype=torch.float32)
            else:
                t = int(self.y[i])
            if self.target_transform is not None:
                t = self.target_transform(t)
            return img, t

    TorchDataset.__module__ = __name__
    TorchDataset.__qualname__ = "TorchDataset"
    globals()["_TorchDatasetClass"] = cls = TorchDataset
    return cls


def __getattr__(name):  # ``TorchDataset`` by name: pickling for DataLoader workers
    if name == "TorchDataset":
        return torch_dataset_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
