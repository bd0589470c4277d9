"""Image statistics for the Synbols parity benchmark (bench/parity_synbols.py); pure numpy.

Every function takes images ``x`` (N, H, W, C) uint8 and glyph masks ``mask`` (N, H, W) or
(N, H, W, 1) uint8 (0..255 coverage of the glyph). A pixel is *ink* when its mask value is above
``ink`` (default 128: at least half covered).
"""

from __future__ import annotations

import numpy as np

INK = 128
HIST_BINS = 32


def _mask2d(mask: np.ndarray) -> np.ndarray:
    m = np.asarray(mask)
    if m.ndim == 4:
        m = m[..., 0]
    if m.ndim != 3:
        raise ValueError(f"mask must be (N, H, W) or (N, H, W, 1); got {m.shape}")
    return m


def touches_border(mask: np.ndarray, thr: int = 0) -> np.ndarray:
    """bool (N,): some mask pixel > thr lies in the outer row or column of the image."""
    m = _mask2d(mask) > thr
    return m[:, 0, :].any(1) | m[:, -1, :].any(1) | m[:, :, 0].any(1) | m[:, :, -1].any(1)


def ink_boxes(mask: np.ndarray, ink: int = INK) -> dict[str, np.ndarray]:
    """Per image: width and height of the ink's bounding box (pixels, inclusive), and the ink
    centroid (x = column, y = row; pixel centres at 0..W-1, weighted by coverage). NaN where an
    image has no ink."""
    m = _mask2d(mask)
    on = m > ink
    cols, rows = on.any(1), on.any(2)  # (N, W), (N, H)
    has = cols.any(1)
    W, H = m.shape[2], m.shape[1]

    def extent(a, size):
        first = np.argmax(a, 1)
        last = size - 1 - np.argmax(a[:, ::-1], 1)
        return np.where(has, last - first + 1, np.nan)

    w = np.where(on, m, 0).astype(np.float64)
    tot = w.sum((1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = (w.sum(1) * np.arange(W)).sum(1) / tot
        cy = (w.sum(2) * np.arange(H)).sum(1) / tot
    return {"width": extent(cols, W), "height": extent(rows, H),
            "cx": np.where(has, cx, np.nan), "cy": np.where(has, cy, np.nan)}


def contrast(x: np.ndarray, mask: np.ndarray, ink: int = INK, norm: str = "mean") -> np.ndarray:
    """Per image glyph/background contrast on 0..255: the mean over channels (norm="mean") or the
    Euclidean length (norm="l2", 0..441) of mean colour of the ink pixels (mask > ink) - mean colour
    of the background (mask == 0). NaN where either part is empty."""
    m = _mask2d(mask)
    xf = np.asarray(x, np.float64)
    fg, bg = (m > ink)[..., None], (m == 0)[..., None]
    nf, nb = fg.sum((1, 2)), bg.sum((1, 2))  # (N, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mf = (xf * fg).sum((1, 2)) / nf
        mb = (xf * bg).sum((1, 2)) / nb
    if norm == "l2":
        return np.sqrt(((mf - mb) ** 2).sum(1))
    return np.abs(mf - mb).mean(1)


def channel_histograms(x: np.ndarray, bins: int = HIST_BINS) -> np.ndarray:
    """(C, bins) normalised histogram of every pixel value per channel (bins of equal width on 0..255)."""
    x = np.asarray(x)
    edges = np.linspace(0, 256, bins + 1)
    h = np.stack([np.histogram(x[..., c], edges)[0] for c in range(x.shape[-1])]).astype(np.float64)
    return h / h.sum(1, keepdims=True)


def hist_intersection(h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
    """Per channel sum(min(h1, h2)) of two normalised histograms: 1 = identical, 0 = disjoint."""
    return np.minimum(h1, h2).sum(-1)


def summarize(x: np.ndarray, mask: np.ndarray, ink: int = INK) -> dict:
    """Every statistic of one side as plain floats (and the histograms as lists)."""
    b = ink_boxes(mask, ink)
    c = contrast(x, mask, ink)
    xf = np.asarray(x, np.float64)
    out = {
        "n": int(len(x)),
        "no_ink_frac": float(np.isnan(b["width"]).mean()),
        "border_touch_frac_gt0": float(touches_border(mask, 0).mean()),
        "border_touch_frac_gt128": float(touches_border(mask, 128).mean()),
    }
    for k in ("width", "height", "cx", "cy"):
        out[f"ink_{k}_mean"] = float(np.nanmean(b[k]))
        out[f"ink_{k}_std"] = float(np.nanstd(b[k]))
    out["contrast_median"] = float(np.nanmedian(c))
    out["contrast_mean"] = float(np.nanmean(c))
    out["contrast_l2_median"] = float(np.nanmedian(contrast(x, mask, ink, "l2")))
    for i, ch in enumerate("rgb"[: xf.shape[-1]]):
        out[f"{ch}_mean"] = float(xf[..., i].mean())
        out[f"{ch}_std"] = float(xf[..., i].std())
    out["hist"] = channel_histograms(x).tolist()
    return out


def rel_diff(a: float, b: float) -> float:
    """(a - b) / |b|: a's relative difference from the reference b (inf when b is 0 and a is not)."""
    if b == 0:
        return 0.0 if a == 0 else float("inf")
    return (a - b) / abs(b)
