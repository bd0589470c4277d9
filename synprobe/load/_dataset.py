"""The :class:`Dataset` that :func:`synprobe.load.load` returns: one split of a file.

Holds :class:`Dataset` (images in memory, or a :class:`~synprobe.load._lazy.LazyRows` memory
map with ``lazy=True``; targets, the class table, every attribute column of the rows; ``decode``,
``subset``, ``class_counts``) and its torch view, ``TorchDataset``, a class defined on first use
so that torch is imported only by :meth:`Dataset.torch`. The torch view follows torchvision's
conventions (``targets``, ``classes``, ``class_to_idx``, ``transform``, ``target_transform``)
and gives images as uint8 or float32 CHW tensors or PIL images (``image=``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from synprobe.errors import SynprobeError
from synprobe.load._lazy import LazyRows
from synprobe.load._table import ALIASES, LoadError

#: What :meth:`Dataset.torch` gives as images (``image=``).
IMAGE_KINDS = ("uint8", "float32", "pil")
INSTALL_TORCH = "pip install -e '.[train]' from the synprobe checkout"


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """One split of a dataset file, in memory (or its images mapped, with ``load(lazy=True)``).

    Attributes:
        x: uint8 (n, H, W, C) images: an array, or a :class:`~synprobe.load._lazy.LazyRows`
            that reads the rows it is indexed with from a memory map of the file.
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
    x: np.ndarray | LazyRows
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

    @property
    def lazy(self) -> bool:
        """Whether the images are read from a memory map on access (``load(..., lazy=True)``)."""
        return isinstance(self.x, LazyRows)

    def numpy(self) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)``: uint8 (n, H, W, C) images and the targets (a lazy dataset reads them all)."""
        return np.asarray(self.x), self.y

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
            x=self.x.take(rows) if self.lazy else self.x[rows],
            y=self.y[rows],
            index=self.index[rows],
            attrs={k: v[rows] for k, v in self.attrs.items()},
        )

    def class_counts(self) -> np.ndarray:
        """Samples per class (int64, len(classes)); samples without a value are not counted."""
        if self.target_kind == "regression":
            raise LoadError(f"target {self.target!r} is a regression target: it has no classes")
        return np.bincount(self.y[self.y >= 0], minlength=len(self.classes))

    def torch(self, transform=None, target_transform=None, *, image: str = "uint8"):
        """A ``torch.utils.data.Dataset`` over these images and targets (no copy), with
        torchvision's conventions: ``targets`` (an int64 tensor sharing memory with ``y``; float64
        for regression), ``classes`` (list of names), ``class_to_idx``, ``transform`` and
        ``target_transform``.

        Items are ``(image, target)``. ``image``: ``"uint8"`` (default) a uint8 (C, H, W) tensor,
        ``"float32"`` a float32 (C, H, W) tensor in [0, 1] (what ``transforms.ToTensor()`` makes),
        ``"pil"`` a ``PIL.Image`` (mode ``L`` or ``RGB``: old-style torchvision transforms); then
        ``transform(image)``. Target: a Python int (classification) or a float32 scalar tensor
        (regression), then ``target_transform(target)``. A lazy dataset (``load(lazy=True)``)
        reads each image from its memory map and pickles without pixels (DataLoader workers).
        Needs torch (``pip install -e '.[train]'``).
        """
        if image not in IMAGE_KINDS:
            raise LoadError(f"torch(image={image!r}): expected one of {', '.join(map(repr, IMAGE_KINDS))}")
        cls = torch_dataset_class()
        return cls(
            self.x,
            self.y,
            self.target_kind,
            transform,
            target_transform,
            image=image,
            classes=[str(c) for c in self.classes],
        )


def torch_dataset_class():
    """``TorchDataset`` (defined on first use so that torch is imported only when needed)."""
    cls = globals().get("_TorchDatasetClass")
    if cls is not None:
        return cls
    try:
        import torch
        from torch.utils.data import Dataset as _TD
    except ImportError:
        raise SynprobeError(f"Dataset.torch() needs torch: {INSTALL_TORCH}") from None

    class TorchDataset(_TD):
        """Images as uint8 or float32 (C, H, W) tensors or PIL images (or transformed) and their
        targets; ``targets``, ``classes``, ``class_to_idx`` as torchvision's datasets."""

        def __init__(self, x, y, target_kind, transform=None, target_transform=None, *, image="uint8", classes=()):
            self.x, self.y, self.target_kind = x, y, target_kind
            self.transform, self.target_transform = transform, target_transform
            self.image, self.classes = image, list(classes)
            self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

        @property
        def targets(self):
            return torch.from_numpy(self.y)

        @targets.setter
        def targets(self, value):  # torchvision's datasets let users relabel: ds.targets = ...
            self.y = np.asarray(value, self.y.dtype)

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            img = _image(self.x[i], self.image)
            if self.transform is not None:
                img = self.transform(img)
            if self.target_kind == "regression":
                t = torch.tensor(self.y[i], dtype=torch.float32)
            else:
                t = int(self.y[i])
            if self.target_transform is not None:
                t = self.target_transform(t)
            return img, t

    def _image(a, kind):
        if kind == "pil":
            from PIL import Image

            return Image.fromarray(a[..., 0] if a.shape[2] == 1 else a)  # mode L or RGB
        img = torch.from_numpy(a).permute(2, 0, 1)
        return img.to(torch.float32).div_(255) if kind == "float32" else img

    TorchDataset.__module__ = __name__
    TorchDataset.__qualname__ = "TorchDataset"
    globals()["_TorchDatasetClass"] = cls = TorchDataset
    return cls


def __getattr__(name):  # ``TorchDataset`` by name: pickling for DataLoader workers
    if name == "TorchDataset":
        return torch_dataset_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
