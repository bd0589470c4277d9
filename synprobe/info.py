"""Dataset summaries (``synprobe info``): counts, provenance, attribute statistics, splits.

>>> from synprobe.info import describe
>>> describe("default.h5")["n"]                                   # doctest: +SKIP
100000
"""

from __future__ import annotations

import numpy as np

from synprobe.errors import FormatError
from synprobe.io import validate
from synprobe.io.h5 import open_dataset, read_info

__all__ = ["describe", "format_text"]


def _summary(values: np.ndarray, categories) -> dict:
    v = values.reshape(len(values), -1)[:, 0] if values.ndim > 1 else values  # first symbol slot
    if categories is not None:
        codes = v[v >= 0]
        counts = np.bincount(codes, minlength=len(categories))
        top = np.argsort(-counts, kind="stable")[:5]
        return {
            "kind": "categorical",
            "n_categories": len(categories),
            "n_used": int((counts > 0).sum()),
            "top": [[categories[i], int(counts[i])] for i in top if counts[i] > 0],
        }
    if v.dtype == bool:
        return {"kind": "bool", "fraction_true": float(v.mean()) if len(v) else 0.0}
    f = v.astype(np.float64)
    f = f[np.isfinite(f)]
    if len(f) == 0:
        return {"kind": "numeric", "count": 0}
    with np.errstate(all="ignore"):  # values near the float64 limits: inf, not a warning
        mean, std = float(f.mean()), float(f.std())
    return {
        "kind": "numeric",
        "min": float(f.min()),
        "mean": mean,
        "std": std,
        "max": float(f.max()),
        "n_unique": int(min(len(np.unique(f)), 10**6)),
    }


def describe(path) -> dict:
    """Everything ``synprobe info`` shows, as a JSON-able dict."""
    info = read_info(path)
    with open_dataset(path, codes=False) as f, validate.guard(path):
        cols = {}
        for name in info["columns"]:
            d = f["attrs"][name]
            cats = validate.categories(d, path, name)
            values = d[()]
            if cats is not None:
                validate.check_codes(path, name, values, len(cats))
            cols[name] = _summary(values, cats)
        splits = {}
        for name in info["splits"]:
            m = f["split"][name][()]
            splits[name] = {"train": int(m[:, 0].sum()), "val": int(m[:, 1].sum()), "test": int(m[:, 2].sum())}
    info["attributes"] = cols
    info["split_counts"] = splits
    for key in ("recipe", "versions", "fonts"):  # shown parsed when they are sane JSON, else as they are
        if isinstance(info.get(key), str):
            try:
                info[key] = validate.loads_json(info[key], f"{path}: {key}")
            except FormatError:
                pass
    return info


def format_text(info: dict) -> str:
    """Human-readable report."""
    lines = [
        f"{info['path']}: {info['n']:,} images of {'x'.join(map(str, info['x_shape'][1:]))}"
        f" ({info['size_bytes'] / 1e6:.1f} MB){', with masks' if info['has_masks'] else ''}",
    ]
    rec = info.get("recipe")
    if isinstance(rec, dict):
        lines.append(f"recipe: {info.get('recipe_name', rec.get('name'))} - {rec.get('description', '')}")
    for k in ("seed", "created", "synprobe_version", "samples_version", "fonts_manifest_sha256", "format"):
        if k in info:
            lines.append(f"{k}: {info[k]}")
    if info.get("split_counts"):
        lines.append("splits:")
        for name, c in info["split_counts"].items():
            lines.append(f"  {name:<28} train {c['train']:>9,}  val {c['val']:>9,}  test {c['test']:>9,}")
    lines.append("attributes (first symbol):")
    for name, s in info["attributes"].items():
        if s["kind"] == "categorical":
            top = ", ".join(f"{v!s}:{c}" for v, c in s["top"])
            desc = f"{s['n_used']}/{s['n_categories']} values used; top {top}"
        elif s["kind"] == "bool":
            desc = f"true {100 * s['fraction_true']:.1f}%"
        elif s.get("count") == 0:
            desc = "no values"
        else:
            desc = f"min {s['min']:.4g}  mean {s['mean']:.4g}  std {s['std']:.4g}  max {s['max']:.4g}"
        lines.append(f"  {name:<24} {desc}")
    return "\n".join(lines)
