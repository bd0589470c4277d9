#!/usr/bin/env python3
"""Dump Synbols 1.0.2 default-sampler images (+ masks, chars, fonts) into an .npz.

Run with the peer venv's interpreter (bench/parity_synbols.py calls it through subprocess):

    /tmp/synbols-venv/bin/python bench/synbols_peer/dump.py \
        --fonts-manifest fonts/manifest.json -n 2000 --seed 0 -o /tmp/peer.npz \
        [--fonts ids.txt] [--chars abcdefghij]

Fonts: the same private fontconfig set-up as run.py (only the manifest's files are visible;
families that cairo would resolve to another file are excluded). --fonts FILE (one manifest id
per line) restricts the regular Latin entries to those ids, so both sides can draw the very
same font list. Images: Synbols' default basic_attribute_sampler (everything at its default but
the alphabet: the usable families and the requested chars, a-zA-Z by default) consumed through
dataset_generator(sampler, n, dataset_seed=SEED).

The .npz holds x (N, R, R, 3) uint8, mask (N, R, R, 1) uint8, char (N,) str, font (N,) str
(manifest id) and meta (a JSON string: fonts used / excluded, versions, seed, manifest sha256).
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import LATIN, check_fonts, import_synbols, prepare_fonts  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fonts-manifest", required=True)
    ap.add_argument("--fonts-root", default=None)
    ap.add_argument("--fonts", default=None,
                    help="file of manifest ids (one per line) to restrict the fonts to")
    ap.add_argument("--chars", default=LATIN, help="symbols to draw (default a-zA-Z)")
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--resolution", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--out", required=True, help=".npz to write")
    ap.add_argument("--no-system-rules", action="store_true")
    ap.add_argument("--allow-missing", action="store_true")
    args = ap.parse_args()
    os.environ["TQDM_DISABLE"] = "1"

    only = None
    if args.fonts:
        with open(args.fonts) as f:
            only = [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]
    workdir = tempfile.mkdtemp(prefix="synbols-dump-")
    try:
        fonts = prepare_fonts(args.fonts_manifest, args.fonts_root, "latin", workdir,
                              not args.no_system_rules, float(args.resolution), only_ids=only)
        rc = check_fonts(fonts, args.allow_missing)
        if rc:
            return rc
        import numpy as np
        Alphabet, basic_attribute_sampler, dataset_generator, _ = import_synbols()
        id_of = {u["family"]: u["id"] for u in fonts["report"]["used"]}
        R = args.resolution
        alphabet = Alphabet("english", fonts=np.array(fonts["families"]),
                            symbols=list(args.chars))
        sampler = basic_attribute_sampler(alphabet=alphabet, resolution=(R, R))
        n = args.n
        x = np.zeros((n, R, R, 3), np.uint8)
        mask = np.zeros((n, R, R, 1), np.uint8)
        chars, font_ids = [], []
        t0 = time.perf_counter()
        for i, (xi, mi, yi) in enumerate(dataset_generator(sampler, n, dataset_seed=args.seed)):
            x[i] = xi
            mask[i] = mi[..., :1]
            chars.append(yi["char"])
            font_ids.append(id_of[yi["font"]])
        gen_s = time.perf_counter() - t0
        import importlib.metadata as md
        import cairo
        meta = {
            "n": n, "seed": args.seed, "resolution": R, "chars": args.chars,
            "gen_s": round(gen_s, 3),
            "fonts_used_ids": sorted(id_of.values()),
            "fonts_requested": len(only) if only is not None else None,
            "fonts_excluded": {k: [r["id"] for r in v] for k, v in fonts["report"].items()
                               if k != "used" and v},
            "font_summary": fonts["summary"],
            "manifest_sha256": fonts["manifest_sha256"],
            "versions": dict({p: md.version(p) for p in ("synbols", "numpy", "pycairo")},
                             cairo=cairo.cairo_version_string(), fontconfig=fonts["fc_version"]),
        }
        np.savez(args.out, x=x, mask=mask, char=np.array(chars), font=np.array(font_ids),
                 meta=np.array(json.dumps(meta)))
        print("dump: %d images in %.1f s, %d fonts -> %s" % (n, gen_s, len(id_of), args.out),
              file=sys.stderr)
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
