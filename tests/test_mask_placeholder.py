"""The ``mask`` placeholder: files written without masks hold a zero-size (N, H, W, 0) ``mask``
so that Synbols 1.0.2's own ``load_h5`` (which reads ``fd['mask']`` unconditionally) opens them.

It costs no disk and nothing to read, and synprobe still treats such a file as having no masks.
The Synbols check runs ``bench/synbols_peer/open_h5.py`` with the Synbols venv's Python
(``bash bench/synbols_peer/setup.sh``); it is skipped, saying why, when that venv is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from synprobe.generator import generate
from synprobe.io.h5 import NO_MASKS_DOC, has_masks, read_info
from synprobe.load import load

ROOT = Path(__file__).resolve().parents[1]
SYNBOLS_PY = Path(os.environ.get("SYNBOLS_VENV", "/tmp/synbols-venv")) / "bin" / "python"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("masks")
    plain, masked, lzf = d / "plain.h5", d / "masked.h5", d / "lzf.h5"
    generate("tiny", 40, plain, workers=1, seed=3)
    generate("segmentation", 6, masked, workers=1, seed=3, resolution=16)
    generate("tiny", 40, lzf, workers=1, seed=3, compression="lzf")
    return plain, masked, lzf


def test_placeholder_is_zero_size_and_costs_no_disk(files, tmp_path):
    plain, _, lzf = files
    for path in (plain, lzf):
        with h5py.File(path) as f:
            m, x = f["mask"], f["x"]
            assert m.shape == (*x.shape[:3], 0) and m.dtype == np.uint8
            assert m.id.get_storage_size() == 0 and m.attrs["doc"] == NO_MASKS_DOC
            assert not has_masks(f)
    # the same file without the placeholder is at most its header bytes smaller
    bare = tmp_path / "bare.h5"
    with h5py.File(plain) as src, h5py.File(bare, "w") as dst:
        for k in src:
            if k != "mask":
                src.copy(src[k], dst, k)
    copy = tmp_path / "copy.h5"
    with h5py.File(plain) as src, h5py.File(copy, "w") as dst:
        for k in src:
            src.copy(src[k], dst, k)
    assert 0 <= copy.stat().st_size - bare.stat().st_size < 1024  # an object header at most


def test_synprobe_reads_placeholder_as_no_masks(files):
    plain, masked, _ = files
    assert read_info(plain)["has_masks"] is False
    assert read_info(masked)["has_masks"] is True
    ds = load(plain, split="all")
    assert len(ds) == 40 and ds.x.shape[1:] == (8, 8, 1)


def test_synprobe_reads_files_without_any_mask_dataset(files, tmp_path):
    """Files written before the placeholder (no ``mask`` at all) still load."""
    old = tmp_path / "old.h5"
    old.write_bytes(files[0].read_bytes())
    with h5py.File(old, "a") as f:
        del f["mask"]
    assert read_info(old)["has_masks"] is False
    assert np.array_equal(load(old, split="all").x, load(files[0], split="all").x)


@pytest.mark.skipif(
    not SYNBOLS_PY.exists(),
    reason=f"no Synbols 1.0.2 venv at {SYNBOLS_PY} (bash bench/synbols_peer/setup.sh makes it)",
)
def test_synbols_own_loader_opens_every_file(files):
    r = subprocess.run(
        [str(SYNBOLS_PY), str(ROOT / "bench/synbols_peer/open_h5.py"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    got = [json.loads(line) for line in r.stdout.splitlines()]
    assert r.returncode == 0, r.stdout + r.stderr
    plain, masked, lzf = got
    for g in (plain, lzf):
        assert g["mask"] == [[40, 8, 8, 0], "uint8", 0] and g["n_labels"] == 40
        assert "random" in g["splits"] and "char" in g["label_keys"]
    assert masked["mask"][0][3] > 0 and masked["mask"][2] > 0
