"""Correctness of the parity benchmark's statistics (bench/parity_stats.py), on images whose answers are known."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import parity_stats as ps  # noqa: E402


def _masks(*rects, size=32):
    """One (size, size) mask per rectangle (r0, r1, c0, c1, value), rows r0..r1-1, columns c0..c1-1."""
    m = np.zeros((len(rects), size, size, 1), np.uint8)
    for i, (r0, r1, c0, c1, v) in enumerate(rects):
        m[i, r0:r1, c0:c1, 0] = v
    return m


def test_border_touch_counts_each_edge_and_respects_the_threshold():
    m = _masks((5, 10, 5, 10, 255),     # inside
               (0, 4, 10, 12, 255),     # top row
               (10, 12, 28, 32, 255),   # right column
               (31, 32, 3, 4, 255),     # bottom row
               (7, 9, 0, 1, 255),       # left column
               (0, 32, 0, 1, 40))       # faint fringe on the left column only
    assert ps.touches_border(m, 0).tolist() == [False, True, True, True, True, True]
    assert ps.touches_border(m, 128).tolist() == [False, True, True, True, True, False]
    assert ps.touches_border(m[..., 0]).shape == (6,)  # (N, H, W) works too


def test_ink_box_and_centroid_of_a_known_rectangle():
    m = _masks((4, 14, 6, 10, 255), (0, 0, 0, 0, 0))  # rows 4..13 (10), columns 6..9 (4); second is empty
    m[0, 20, 20, 0] = 100  # below the ink threshold: ignored
    b = ps.ink_boxes(m)
    assert b["width"][0] == 4 and b["height"][0] == 10
    assert b["cx"][0] == pytest.approx(7.5) and b["cy"][0] == pytest.approx(8.5)
    assert all(np.isnan(b[k][1]) for k in b)


def test_contrast_of_a_two_colour_image():
    m = _masks((8, 24, 8, 24, 255))
    m[0, 7, 8:24, 0] = 60  # an antialias fringe: neither ink nor background
    x = np.zeros((1, 32, 32, 3), np.uint8)
    x[...] = (10, 20, 30)
    x[0, 8:24, 8:24] = (210, 120, 30)
    x[0, 7, 8:24] = (255, 255, 255)  # the fringe's colour must not count
    assert ps.contrast(x, m)[0] == pytest.approx((200 + 100 + 0) / 3)
    assert ps.contrast(x, m, norm="l2")[0] == pytest.approx((200**2 + 100**2) ** 0.5)


def test_histograms_and_intersection():
    a = np.zeros((2, 4, 4, 3), np.uint8)
    b = np.full((2, 4, 4, 3), 255, np.uint8)
    ha, hb = ps.channel_histograms(a), ps.channel_histograms(b)
    assert ha.shape == (3, ps.HIST_BINS) and np.allclose(ha.sum(1), 1)
    assert ha[0, 0] == 1 and hb[0, -1] == 1
    assert np.allclose(ps.hist_intersection(ha, ha), 1) and np.allclose(ps.hist_intersection(ha, hb), 0)
    half = np.concatenate([a, b])
    assert np.allclose(ps.hist_intersection(ps.channel_histograms(half), ha), 0.5)


def test_summarize_and_rel_diff():
    m = _masks((0, 10, 0, 10, 255), (10, 20, 10, 20, 255))
    x = np.where(m > 0, 200, 0).astype(np.uint8).repeat(3, -1)
    s = ps.summarize(x, m)
    assert s["border_touch_frac_gt0"] == 0.5 and s["ink_width_mean"] == 10 and s["ink_width_std"] == 0
    assert s["contrast_median"] == pytest.approx(200)
    assert ps.rel_diff(11, 10) == pytest.approx(0.1) and ps.rel_diff(9, 10) == pytest.approx(-0.1)
    assert ps.rel_diff(0, 0) == 0
