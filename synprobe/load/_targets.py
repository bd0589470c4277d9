"""Targets for :mod:`synprobe.load`: a target spec (``char``, ``scale:bins=10``) turned into classes or values.

:func:`parse_target` reads the spec; :func:`make_target` builds, over every row of a file, the
class indices (categories present in the file, integer or bool values, or equal-width / quantile
bins of a numeric column) or the float values of a regression target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synprobe.load._table import LoadError, Table


def parse_target(spec) -> tuple[str, dict]:
    """``"scale:bins=10"`` -> ``("scale", {"bins": 10})``; a one-line LoadError for anything else."""
    if not isinstance(spec, str) or not spec.strip():
        raise LoadError(f"target: expected a column name such as 'char' or 'scale:bins=10', got {spec!r}")
    name, _, rest = spec.partition(":")
    opts = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        k, eq, v = part.partition("=")
        k = k.strip()
        if k not in ("bins", "quantiles") or not eq:
            raise LoadError(f"target {spec!r}: unknown option {part!r}; expected bins=K or quantiles=K")
        try:
            opts[k] = int(v)
        except ValueError:
            opts[k] = 0
        if opts[k] < 1:
            raise LoadError(f"target {spec!r}: {k} must be a positive integer, got {v.strip()!r}")
    if len(opts) > 1:
        raise LoadError(f"target {spec!r}: give bins=K or quantiles=K, not both")
    return name.strip(), opts


@dataclass(frozen=True)
class Target:
    """The targets of every row of a file and what they mean (classes, bin edges)."""

    y: np.ndarray  # (N,) over the whole file
    kind: str
    classes: tuple
    class_values: np.ndarray | None
    bin_edges: np.ndarray | None


def make_target(t: Table, col: str, spec: str, opts: dict, target_kind: str | None) -> Target:
    """The target of column ``col`` (spec ``spec`` parsed into ``opts``): bins, classes or values."""
    v = t.first(col)
    cats = t.categories.get(col)
    numeric_float = cats is None and v.dtype.kind == "f"
    if opts:
        if cats is not None or v.dtype == bool:
            raise LoadError(f"target {spec!r}: column {col!r} is categorical; bins apply to numeric columns")
        if target_kind == "regression":
            raise LoadError(f"target {spec!r}: binned targets are classes; drop target_kind='regression'")
        f = v.astype(np.float64)
        ok = np.isfinite(f)
        if not ok.any():
            raise LoadError(f"target {spec!r}: column {col!r} has no finite values")
        k = opts.get("bins") or opts["quantiles"]
        lo, hi = float(f[ok].min()), float(f[ok].max())
        if "bins" in opts:
            edges = np.linspace(lo, hi, k + 1) if hi > lo else np.array([lo, hi])
        else:
            edges = np.unique(np.quantile(f[ok], np.linspace(0, 1, k + 1)))
            if len(edges) < 2:
                edges = np.array([lo, hi])
        y = np.searchsorted(edges[1:-1], np.where(ok, f, lo), side="right").astype(np.int64)
        y[~ok] = -1
        nb = len(edges) - 1
        classes = tuple(f"[{edges[i]:.4g}, {edges[i + 1]:.4g}{']' if i == nb - 1 else ')'}" for i in range(nb))
        return Target(y, "classification", classes, None, edges)
    kind = target_kind or ("regression" if numeric_float else "classification")
    if kind == "regression":
        if cats is not None:
            raise LoadError(f"target {spec!r}: column {col!r} is categorical; regression needs a numeric column")
        return Target(v.astype(np.float64), kind, (), None, None)
    if cats is not None:
        present = np.unique(v[v >= 0]).astype(np.int64)
        remap = np.full(len(cats), -1, np.int64)
        remap[present] = np.arange(len(present))
        y = np.where(v >= 0, remap[np.maximum(v, 0).astype(np.int64)], -1)
        return Target(y, kind, tuple(cats[i] for i in present.tolist()), None, None)
    if numeric_float:
        raise LoadError(
            f"target {spec!r}: column {col!r} is continuous; use '{col}:bins=10' (or quantiles=10) "
            "for classes or target_kind='regression'"
        )
    present = np.unique(v)
    y = np.searchsorted(present, v).astype(np.int64)
    names = tuple(str(bool(p)) if v.dtype == bool else str(int(p)) for p in present.tolist())
    return Target(y, kind, names, present, None)
