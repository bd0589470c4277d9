"""One picture of a dataset file: an image grid plus the distribution of chosen attributes in each
part of a split (``synprobe view``).

    >>> from synprobe.view import view_file
    >>> view_file("default.h5", "view.png", by=("char", "scale"))      # doctest: +SKIP

Needs matplotlib (``pip install -e '.[view]'`` from the synprobe checkout), drawn with the Agg backend (no display).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from synprobe.errors import SynprobeError
from synprobe.io import validate
from synprobe.io.h5 import open_dataset
from synprobe.load import LoadError, file_table
from synprobe.paths import missing_file_hint
from synprobe.preview import grid

__all__ = ["DEFAULT_BY", "view_file"]

DEFAULT_BY = ("char", "font", "scale", "rotation")
_PARTS = ("train", "val", "test")
_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c")
MATPLOTLIB_MISSING = "synprobe view needs matplotlib: pip install -e '.[view]' from the synprobe checkout"


def _matplotlib():
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise SynprobeError(MATPLOTLIB_MISSING) from None
    return Figure, FigureCanvasAgg


def _label(v, cmap) -> str:
    s = str(v)
    if len(s) == 1 and ord(s) > 0x24F:  # beyond Latin: the codepoint, and the char if the font has it
        return f"{s} U+{ord(s):04X}" if ord(s) in cmap else f"U+{ord(s):04X}"
    return s if len(s) <= 28 else s[:27] + "…"


def _label_charmap() -> set:
    """Codepoints that matplotlib's default font draws (labels of other chars show U+XXXX only)."""
    try:
        from matplotlib import font_manager, ft2font

        return set(ft2font.FT2Font(font_manager.findfont(font_manager.FontProperties())).get_charmap())
    except Exception:  # noqa: BLE001 - labels only
        return set()


def view_file(
    path, out, split_name: str = "random", by=None, rows: int = 4, cols: int = 16, top_k: int = 20, bins: int = 30
) -> Path:
    """Write a PNG: the first rows*cols images, then one panel per attribute of ``by``.

    Each panel compares the split's parts (train / val / test of ``split/<split_name>``; the whole
    file when it has no splits) as fractions of each part: grouped bars of the ``top_k`` most
    frequent values for categorical, bool and small-integer attributes, overlaid step histograms
    (bins shared across parts) for continuous ones. Symbol columns use the first symbol.
    """
    Figure, FigureCanvasAgg = _matplotlib()
    path = Path(path)
    if not path.exists():
        raise LoadError(f"{path}: no such file{missing_file_hint(path)}")
    with open_dataset(path, codes=False) as f, validate.guard(path):
        t = file_table(f, path)
        with validate.guard(path, "x"):
            x = f["x"][: rows * cols]
    if by is None:
        by = [b for b in DEFAULT_BY if b in t.columns] or sorted(t.columns)[:2]
    cols_ = [t.resolve(b, "attribute") for b in by]
    if t.splits:
        if split_name not in t.splits:
            raise LoadError(f"{path}: no split {split_name!r}; the file's splits: {', '.join(sorted(t.splits))}")
        m = t.splits[split_name]
        parts = [(p, m[:, k]) for k, p in enumerate(_PARTS)]
        title = f"split {split_name!r}: " + ", ".join(f"{p} {int(s.sum()):,}" for p, s in parts)
    else:
        parts = [("all", np.ones(t.n, bool))]
        title = "no splits in the file: all samples"

    img = grid(x, rows, cols, cell=48)
    aspect = img.shape[0] / img.shape[1]
    width = 13.0
    heights = [width * aspect] + [3.2] * len(cols_)
    fig = Figure(figsize=(width, sum(heights) + 0.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(heights), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)[:, 0]
    axes[0].imshow(img, interpolation="nearest")
    axes[0].set_axis_off()
    axes[0].set_title(
        f"{path.name}: {t.n:,} images {'x'.join(map(str, x.shape[1:]))} ({t.layout}); {title}", fontsize=10
    )
    cmap = _label_charmap()
    for ax, col in zip(axes[1:], cols_):
        _panel(ax, t, col, parts, top_k, bins, cmap)
    path_out = Path(out)
    tmp = path_out.with_name(f".{path_out.name}.tmp")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*[Gg]lyph .* missing from", category=UserWarning)
        fig.savefig(tmp, format="png", dpi=80)
    tmp.replace(path_out)
    return path_out


def _panel(ax, t, col: str, parts, top_k: int, bins: int, cmap: set) -> None:
    v = t.first(col)
    cats = t.categories.get(col)
    discrete = cats is not None or v.dtype == bool or (v.dtype.kind in "iu" and len(np.unique(v)) <= 50)
    doc = t.docs.get(col, "")
    if discrete:
        codes = v if cats is not None else None
        if codes is None:
            values, codes = np.unique(v, return_inverse=True)
            names = [str(bool(a)) if v.dtype == bool else str(a) for a in values.tolist()]
        else:
            names = list(cats)
        ok = codes >= 0
        total = np.bincount(codes[ok], minlength=len(names))
        top = np.argsort(-total, kind="stable")[:top_k]
        top = top[total[top] > 0]
        w = 0.8 / len(parts)
        pos = np.arange(len(top))
        for k, (p, sel) in enumerate(parts):
            c = np.bincount(codes[sel & ok], minlength=len(names))
            frac = c[top] / max(int((sel & ok).sum()), 1)
            ax.bar(
                pos + (k - (len(parts) - 1) / 2) * w, frac, w, label=f"{p} ({int(sel.sum()):,})", color=_COLORS[k % 3]
            )
        ax.set_xticks(
            pos, [_label(names[i], cmap) for i in top.tolist()], rotation=90 if len(top) > 8 else 0, fontsize=8
        )
        n_used = int((total > 0).sum())
        ax.set_title(f"{col}: top {len(top)} of {n_used} values" + (f" ({doc})" if doc else ""), fontsize=10)
    else:
        fv = v.astype(np.float64)
        fin = np.isfinite(fv)
        with np.errstate(all="ignore"):
            span = float(np.ptp(fv[fin])) if fin.any() else 0.0
        if fin.any() and np.isfinite(span):  # a damaged column near the float64 limits: no histogram
            edges = np.histogram_bin_edges(fv[fin], bins=bins)
            for k, (p, sel) in enumerate(parts):
                s = fv[sel & fin]
                if len(s):
                    ax.hist(
                        s,
                        edges,
                        weights=np.full(len(s), 1 / len(s)),
                        histtype="step",
                        linewidth=1.5,
                        label=f"{p} ({int(sel.sum()):,})",
                        color=_COLORS[k % 3],
                    )
        ax.set_title(f"{col}" + (f" ({doc})" if doc else ""), fontsize=10)
    ax.set_ylabel("fraction of part", fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    if ax.get_legend_handles_labels()[0]:  # nothing drawn (no finite values): no legend
        ax.legend(fontsize=8, loc="upper right")
