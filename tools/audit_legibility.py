"""Legibility audit of the bundled fonts: which (font, char) pairs draw the labelled char.

Trains one small CNN per audited script leave-fonts-out (see synprobe/fonts/legibility_train.py), then
prints the distribution of scores and tiers. Needs torch (pip install -e '.[train]'); about
10 minutes of CPU (one thread) for ~1,200 Latin, 140 Greek and 170 Cyrillic fonts; renders are
cached in $TMPDIR/synprobe-legibility.

    python tools/audit_legibility.py                 # audit, print, write nothing
    python tools/audit_legibility.py --write         # ... and write fonts/legibility.json + weights
    python tools/audit_legibility.py --grid /tmp/g   # ... and PNG grids of the borderline fonts
    python tools/audit_legibility.py --scripts latin

The result is tied to the manifest.json it was made for (``manifest_sha256``); rerun it after
the font set changes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synprobe.fonts import FontRegistry  # noqa: E402
from synprobe.fonts.legibility import AUDITED, MODEL_FILE, TIERS, dump, font_canvases  # noqa: E402
from synprobe.fonts.legibility_train import CACHE, audit  # noqa: E402
from synprobe.paths import bundled  # noqa: E402
from synprobe.scripts import ALPHABETS  # noqa: E402


# --- setup ---------------------------------------------------------------------------------
def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="write fonts/legibility.json and the weights")
    ap.add_argument("--scripts", default=",".join(AUDITED), help="comma-separated audited scripts")
    ap.add_argument("--grid", type=Path, default=None, help="folder for PNG grids of borderline fonts")
    return ap.parse_args()


# --- report --------------------------------------------------------------------------------
def report(doc: dict, scripts) -> None:
    for s in scripts:
        fonts = {f: e for f, e in doc["fonts"].items() if s in e["scores"]}
        allsc = np.array([v for e in fonts.values() for v in e["scores"][s].values()])
        tiers = {t: sum(e["tiers"][s] == t for e in fonts.values()) for t in TIERS}
        print(f"\n{s}: {len(fonts)} fonts, {len(allsc)} pairs; tiers {tiers}")
        print("  pair scores, deciles: " + " ".join(f"{q:.3f}" for q in np.quantile(allsc, np.linspace(0, 1, 11))))
        th = doc["thresholds"]["pair"]
        share = np.array([np.mean([v >= th for v in e["scores"][s].values()]) for e in fonts.values()])
        mean = np.array([np.mean(list(e["scores"][s].values())) for e in fonts.values()])
        hist = lambda v: " ".join(map(str, np.histogram(v, np.linspace(0, 1, 11))[0]))  # noqa: E731
        print("  share of letters passing, histogram (0.1 bins): " + hist(share))
        print("  mean score, histogram (0.1 bins):              " + hist(mean))
        legible = [e for e in fonts.values() if e["tiers"][s] == "legible"]
        bad = sum(v < th for e in legible for v in e["scores"][s].values())
        print(f"  pairs below {th} inside legible fonts: {bad}")


def grid(doc: dict, reg, script: str, out: Path) -> None:
    """PNG sheets of fonts near the tier boundaries: one row per font, its letters in order."""
    import cv2

    out.mkdir(parents=True, exist_ok=True)
    th = doc["thresholds"]
    rows = []
    for fid, e in doc["fonts"].items():
        sc = e["scores"].get(script)
        if not sc:
            continue
        share = np.mean([v >= th["pair"] for v in sc.values()])
        rows.append((share, np.mean(list(sc.values())), fid, e["tiers"][script]))
    rows.sort()
    for name, lo, hi in (("low", 0.0, 0.35), ("mid", 0.35, 0.75), ("high", 0.75, 0.95)):
        sel = [r for r in rows if lo <= r[0] < hi][:40]
        if not sel:
            continue
        sheet = []
        for share, mean, fid, tier in sel:
            chars = reg.chars(fid, script)
            c = font_canvases(reg.entry(fid).path, chars)[:, ::2, ::2]
            line = np.full((32, 32 * (len(ALPHABETS[script].chars) + 1)), 0, np.uint8)
            for i in range(len(chars)):
                v = doc["fonts"][fid]["scores"][script][chars[i]]
                cell = c[i].copy()
                cell[-3:, : int(32 * v)] = 255
                line[:, 32 * (i + 1): 32 * (i + 2)] = cell
            cv2.putText(line, tier[:3], (1, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.35, 255, 1)
            sheet.append(line)
            print(f"  {name}: {fid} share {share:.2f} mean {mean:.2f} -> {tier}")
        cv2.imwrite(str(out / f"{script}-{name}.png"), 255 - np.concatenate(sheet))


# --- run -----------------------------------------------------------------------------------
def main() -> None:
    args = parse()
    scripts = [s for s in args.scripts.split(",") if s]
    reg = FontRegistry.load(user=False)
    t = time.perf_counter()
    doc, weights = audit(reg, scripts)
    print(f"audit: {time.perf_counter() - t:.0f} s")
    report(doc, scripts)
    CACHE.mkdir(parents=True, exist_ok=True)  # the last result, written or not
    (CACHE / "last.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    np.savez_compressed(CACHE / "last.npz", **weights)
    if args.write:
        fonts = bundled("fonts")
        np.savez_compressed(fonts / MODEL_FILE, **weights)
        dump(fonts / "legibility.json", doc)
        print(f"wrote {fonts / 'legibility.json'} and {fonts / MODEL_FILE}")
    if args.grid:
        for s in scripts:
            grid(doc, reg, s, args.grid)


if __name__ == "__main__":
    main()
