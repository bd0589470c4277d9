"""Open dataset files with Synbols 1.0.2's own loader (``synbols.data_io.load_h5``), in its venv.

Prints one JSON object per file: the shapes and dtypes ``load_h5`` returns, the number of labels,
the first label's keys and the splits, or the error it raised. Run with the Synbols venv's Python
(``bash bench/synbols_peer/setup.sh`` makes it):

    /tmp/synbols-venv/bin/python bench/synbols_peer/open_h5.py FILE.h5 [FILE.h5 ...]

Exit status 1 when ``load_h5`` fails on any file. ``tests/test_mask_placeholder.py`` calls it.
"""

from __future__ import annotations

import json
import sys
import time


def open_one(path: str) -> dict:
    from synbols.data_io import load_h5

    t = time.perf_counter()
    try:
        x, mask, y, splits = load_h5(path)
    except Exception as e:  # noqa: BLE001 - reported, the next file is tried
        return {"path": path, "ok": False, "error": f"{type(e).__name__}: {e}"}
    return {
        "path": path,
        "ok": True,
        "seconds": round(time.perf_counter() - t, 4),
        "x": [list(x.shape), str(x.dtype)],
        "mask": [list(mask.shape), str(mask.dtype), int(mask.nbytes)],
        "n_labels": len(y),
        "label_keys": sorted(y[0]) if y else [],
        "splits": {k: list(v.shape) for k, v in splits.items()},
    }


def main(paths: list[str]) -> int:
    results = [open_one(p) for p in paths]
    for r in results:
        print(json.dumps(r))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
