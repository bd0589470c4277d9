"""Parity with Synbols 1.0.2: image statistics and learnability, synprobe ``default`` vs Synbols' default sampler.

    python bench/parity_synbols.py            # full run (~10-15 min on 2 cores), bench/results/parity_synbols.json
    python bench/parity_synbols.py --quick    # ~2-minute smoke version (fewer images, epochs, one seed)
    python bench/parity_synbols.py --old-fonts bench/results/parity_synbols_before.json   # + accuracy against
                                                                                          #   an older font set

Both sides draw the same font files: the fonts synprobe's recipe samples (``Vocab.build``: every audited font
that draws one of the chars) are handed to the peer (``bench/synbols_peer/dump.py``, run in the peer venv,
which sees only those files through a private fontconfig set-up); the families fontconfig would resolve to
another file are dropped there, and synprobe's side is then restricted to the ids the peer really used
(``symbol.font`` as a choice over them). The recipe as it is (its own font set) is reported as a third column.

Statistics (``bench/parity_stats.py``) from images + glyph masks (ink = mask > 128): fraction of images whose
glyph touches the border (mask > 0 and > 128), ink-box width/height and ink centroid (mean, std, pixels),
glyph/background contrast (median, mean; 0..255), per-channel mean/std and 32-bin histogram intersection.
Goal (issue 11): every statistic within 10% of Synbols' (the intersections: >= 0.90).

Learnability: one CNN, one protocol for both sides (see ``make_cnn`` / ``train_eval``), trained on images of 10
letters (a-j) and of all 52 letters drawn by each side, tested on held-out images of the same side, several
seeds (model initialisation and batch order; the images are fixed by --data-seed). Goal: synprobe's mean
accuracy >= Synbols' - 2 points.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _machine import machine_info  # noqa: E402
from parity_stats import hist_intersection, rel_diff, summarize  # noqa: E402

LETTERS10 = "abcdefghij"
TOL = 0.10
# statistic -> label, in table order; all are compared relatively to Synbols'
STATS = [
    ("border_touch_frac_gt0", "glyph touches border (mask > 0)"),
    ("border_touch_frac_gt128", "glyph touches border (mask > 128)"),
    ("ink_width_mean", "ink-box width, mean (px)"),
    ("ink_width_std", "ink-box width, std"),
    ("ink_height_mean", "ink-box height, mean (px)"),
    ("ink_height_std", "ink-box height, std"),
    ("ink_cx_mean", "ink centroid x, mean (px)"),
    ("ink_cx_std", "ink centroid x, std"),
    ("ink_cy_mean", "ink centroid y, mean (px)"),
    ("ink_cy_std", "ink centroid y, std"),
    ("contrast_median", "glyph/background contrast, median"),
    ("contrast_mean", "glyph/background contrast, mean"),
    ("contrast_l2_median", "glyph/background RGB distance, median"),
    ("r_mean", "R mean"), ("g_mean", "G mean"), ("b_mean", "B mean"),
    ("r_std", "R std"), ("g_std", "G std"), ("b_std", "B std"),
]


# ----------------------------------------------------------------------------------------------- data
def font_tier_recipe(recipe, tier: str | None):
    """The recipe with ``symbol.fonts = tier`` when the recipe API has font tiers (issue 11, item 2)."""
    if tier is None:
        return recipe
    names = {f.name for f in dataclasses.fields(recipe.symbol)}
    if "fonts" not in names:  # TODO(issue 11 item 2): drop this branch once SymbolSpec.fonts exists
        raise SystemExit(f"--fonts-tier {tier}: this synprobe's recipes have no symbol.fonts tier selection yet")
    return dataclasses.replace(recipe, symbol=dataclasses.replace(recipe.symbol, fonts=tier))


def recipe_fonts(recipe) -> list[str]:
    """The font ids synprobe samples for this recipe (audited fonts drawing at least one of its chars)."""
    from synprobe.sampling import Vocab

    return list(Vocab.build(recipe).fonts)


def restrict(recipe, fonts=None, chars=None, masks=True):
    from synprobe.dists import Choice

    sym = recipe.symbol
    if fonts is not None:
        sym = dataclasses.replace(sym, font=Choice(tuple(fonts)))
    if chars is not None:
        sym = dataclasses.replace(sym, char=Choice(tuple(chars)))
    return dataclasses.replace(recipe, symbol=sym, masks=masks)


def synprobe_images(recipe, n: int, seed: int, tmp: Path, tag: str) -> dict:
    """n images of recipe: x, mask (first symbol slot), char and font labels as strings."""
    import h5py

    import synprobe

    out = tmp / f"sp-{tag}.h5"
    t0 = time.perf_counter()
    synprobe.generate(recipe, n=n, out=str(out), seed=seed, workers=1, overwrite=True)
    gen_s = time.perf_counter() - t0
    with h5py.File(out, "r") as f:
        cats = {k: json.loads(f[f"attrs/{k}"].attrs["categories"]) for k in ("char", "font")}
        codes = {k: f[f"attrs/{k}"][:].reshape(n, -1)[:, 0] for k in ("char", "font")}
        d = {"x": f["x"][:], "mask": f["mask"][..., :1] if "mask" in f else None}
    out.unlink()
    for k in ("char", "font"):
        d[k] = np.asarray(cats[k], dtype=object)[codes[k]].astype(str)
    d["gen_s"] = gen_s
    return d


def fonts_dir() -> Path:
    """The bundled font folder of the synprobe actually imported (the peer reads the same manifest and files)."""
    from synprobe.fonts import FontRegistry

    return Path(FontRegistry.load(user=False).dirs[0])


def peer_images(py: str, n: int, seed: int, fonts_file: Path, tmp: Path, tag: str, chars: str | None) -> dict:
    out = tmp / f"peer-{tag}.npz"
    cmd = [py, str(ROOT / "bench/synbols_peer/dump.py"), "--fonts-manifest", str(fonts_dir() / "manifest.json"),
           "--fonts", str(fonts_file), "-n", str(n), "--seed", str(seed), "-o", str(out)]
    if chars:
        cmd += ["--chars", chars]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    z = np.load(out)
    d = {k: z[k] for k in ("x", "mask", "char", "font")}
    d["meta"] = json.loads(str(z["meta"]))
    d["gen_s"] = wall
    out.unlink()
    return d


# ------------------------------------------------------------------------------------------ learning
def make_cnn(n_classes: int):
    """4 conv layers (3x3, BN, ReLU; 32-64-64-128 channels, stride 2-2-2-1: 32 -> 4 px), flatten, linear.
    237k parameters at 52 classes. Strided convolutions: pooling at full resolution was 10-20x slower on this CPU."""
    import torch.nn as nn

    layers, c = [], 3
    for i, w in enumerate((32, 64, 64, 128)):
        layers += [nn.Conv2d(c, w, 3, stride=2 if i < 3 else 1, padding=1, bias=False), nn.BatchNorm2d(w),
                   nn.ReLU(inplace=True)]
        c = w
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * 16, n_classes))


def train_eval(xtr, ytr, xte, yte, n_classes: int, seed: int, epochs: int, batch: int = 128, lr: float = 2e-3,
               threads: int = 2, weight_decay: float = 0.0):
    """Adam (lr 2e-3, cosine to 0 over the run), batch 128, cross-entropy, no augmentation; pixels scaled to
    [-1, 1]; test accuracy of the final model. Returns (accuracy, train seconds)."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)

    def prep(x):
        return torch.from_numpy(x).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0).contiguous()

    Xtr, Xte = prep(xtr), prep(xte)
    Ytr, Yte = torch.from_numpy(ytr).long(), torch.from_numpy(yte).long()
    model = make_cnn(n_classes)
    steps = epochs * ((len(Xtr) + batch - 1) // batch)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    t0 = time.perf_counter()
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(Xtr), generator=gen)
        for i in range(0, len(Xtr), batch):
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(Xtr[idx]), Ytr[idx]).backward()
            opt.step()
            sched.step()
    train_s = time.perf_counter() - t0
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(Xte), 1000):
            correct += int((model(Xte[i:i + 1000]).argmax(1) == Yte[i:i + 1000]).sum())
    return correct / len(Xte), train_s


def learn(d: dict, n_train: int, seeds: list[int], epochs: int, threads: int) -> dict:
    classes = sorted(set(d["char"].tolist()))
    y = np.searchsorted(np.array(classes), d["char"]).astype(np.int64)
    accs, secs = [], []
    for s in seeds:
        a, t = train_eval(d["x"][:n_train], y[:n_train], d["x"][n_train:], y[n_train:], len(classes), s, epochs,
                            threads=threads)
        accs.append(a)
        secs.append(t)
        print(f"    seed {s}: acc {a:.4f} ({t:.1f} s)", file=sys.stderr, flush=True)
    return {"classes": len(classes), "train": n_train, "test": len(y) - n_train, "epochs": epochs,
            "seeds": seeds, "acc": accs, "acc_mean": float(np.mean(accs)), "acc_std": float(np.std(accs)),
            "train_s": float(np.sum(secs))}


# ------------------------------------------------------------------------------------------ reporting
def _fmt(v: float) -> str:
    return f"{v:.3f}" if abs(v) < 1 else f"{v:.2f}"


def markdown(res: dict) -> str:
    st = res["stats"]
    peer, same, rec = st["synbols"], st["synprobe_same_fonts"], st.get("synprobe_recipe")
    head = "| statistic | Synbols 1.0.2 | synprobe (same fonts) | rel. diff | within 10% |"
    sep = "|---|---|---|---|---|"
    if rec:
        head += " synprobe (recipe's fonts) | rel. diff |"
        sep += "---|---|"
    lines = [head, sep]
    for k, label in STATS:
        d = rel_diff(same[k], peer[k])
        row = f"| {label} | {_fmt(peer[k])} | {_fmt(same[k])} | {d:+.1%} | {'yes' if abs(d) <= TOL else '**no**'} |"
        if rec:
            row += f" {_fmt(rec[k])} | {rel_diff(rec[k], peer[k]):+.1%} |"
        lines.append(row)
    hi = res["hist_intersection"]
    row = (f"| histogram intersection R/G/B (32 bins) | 1 | {'/'.join(f'{v:.3f}' for v in hi['same'])} | | "
           f"{'yes' if min(hi['same']) >= 1 - TOL else '**no**'} |")
    if rec:
        row += f" {'/'.join(f'{v:.3f}' for v in hi['recipe'])} | |"
    lines.append(row)
    if res.get("learn"):
        lines += ["", "| learnability (test accuracy, mean ± std over seeds) | Synbols 1.0.2 | synprobe | "
                      "difference (points) | goal (>= -2) |", "|---|---|---|---|---|"]
        for task, r in res["learn"].items():
            p, s = r["synbols"], r["synprobe"]
            diff = 100 * (s["acc_mean"] - p["acc_mean"])
            lines.append(f"| {task}: {p['train']} train / {p['test']} test, "
                         f"{p['epochs']} epochs, {len(p['seeds'])} seeds | {p['acc_mean']:.3f} ± {p['acc_std']:.3f} | "
                         f"{s['acc_mean']:.3f} ± {s['acc_std']:.3f} | {diff:+.1f} | "
                         f"{'yes' if diff >= -2 else '**no**'} |")
    if res.get("old_fonts"):
        o = res["old_fonts"]
        lines += ["", f"| synprobe accuracy: recipe's fonts ({o['fonts_new']}) vs old font set ({o['fonts_old_used']} "
                      f"of {o['fonts_old']}) | recipe's fonts | old font set | difference (points) |",
                  "|---|---|---|---|"]
        for task, r in o["learn"].items():
            a, b = r["new"], r["old"]
            lines.append(f"| {task} | {a['acc_mean']:.3f} ± {a['acc_std']:.3f} | {b['acc_mean']:.3f} ± "
                         f"{b['acc_std']:.3f} | {100 * (a['acc_mean'] - b['acc_mean']):+.1f} |")
    return "\n".join(lines)


def _git_commit() -> str | None:
    import synprobe

    r = subprocess.run(["git", "-C", str(Path(synprobe.__file__).parent), "rev-parse", "HEAD"], capture_output=True,
                       text=True)
    return r.stdout.strip() or None if r.returncode == 0 else None


def load_old_fonts(path: str) -> list[str]:
    """Font ids from a text file (one per line) or a parity JSON (its synprobe recipe's font list)."""
    text = Path(path).read_text()
    if path.endswith(".json"):
        return json.loads(text)["fonts"]["synprobe_recipe_ids"]
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def old_fonts_learn(args, base, ids: list[str], learned: dict, seeds: list[int], tmp: Path) -> dict:
    """synprobe's accuracy with the recipe's fonts (already in ``learned``) against an older font set."""
    from synprobe.fonts import FontRegistry

    old = load_old_fonts(args.old_fonts)
    try:  # the fonts this synprobe may sample at all (every tier), else every audited Latin font
        known = set(recipe_fonts(font_tier_recipe(base, "all")))
    except SystemExit:
        known = set(FontRegistry.load(user=False).ids("latin"))
    old_ok = [f for f in old if f in known]
    o = {"fonts_new": len(ids), "fonts_old": len(old), "fonts_old_used": len(old_ok), "source": args.old_fonts,
         "learn": {}}
    if not old_ok:
        print(f"--old-fonts: none of the {len(old)} fonts is in this font set; skipped", file=sys.stderr)
        return o
    old_r = restrict(base, fonts=old_ok)
    for task, chars, ntr, nte, ep in (("10 letters", LETTERS10, args.train10, args.test10, args.epochs10),
                                      ("52 letters", None, args.train52, args.test52, args.epochs52)):
        d = synprobe_images(restrict(old_r, chars=chars, masks=False), ntr + nte, args.data_seed, tmp, "old")
        print(f"  {task}, synprobe old fonts:", file=sys.stderr)
        o["learn"][task] = {"new": learned[task]["synprobe"], "old": learn(d, ntr, seeds, ep, args.threads)}
    return o


# ------------------------------------------------------------------------------------------------ main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe", default="default")
    ap.add_argument("--quick", action="store_true", help="smoke version: ~2 minutes")
    ap.add_argument("--n-stats", type=int, default=2000, help="images per side for the statistics (at least; "
                    "the 52-letter learnability images are used when there are more)")
    ap.add_argument("--train10", type=int, default=3800)
    ap.add_argument("--test10", type=int, default=1000)
    ap.add_argument("--train52", type=int, default=10000)
    ap.add_argument("--test52", type=int, default=2600)
    ap.add_argument("--epochs10", type=int, default=15)
    ap.add_argument("--epochs52", type=int, default=12)
    ap.add_argument("--seeds", default="0,1,2", help="model seeds, comma-separated")
    ap.add_argument("--data-seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (on a 2-core machine shared with "
                    "other jobs, 1 was 4x faster than 2)")
    ap.add_argument("--no-learn", action="store_true", help="statistics only")
    ap.add_argument("--fonts-tier", default=None, help="legible | decorative | all: symbol.fonts of the recipe "
                    "(when synprobe's recipes support font tiers)")
    ap.add_argument("--old-fonts", default=None, help="also train synprobe on this font set (ids, one per line, "
                    "or a parity JSON: its recipe's fonts) and compare with the recipe's fonts")
    ap.add_argument("--peer-python", default=os.environ.get("SYNBOLS_VENV", "/tmp/synbols-venv") + "/bin/python")
    ap.add_argument("--note", default=None, help="free text stored in the JSON (e.g. which synprobe tree)")
    ap.add_argument("--json", default=str(ROOT / "bench/results/parity_synbols.json"))
    args = ap.parse_args()
    if args.quick:
        args.train10, args.test10, args.train52, args.test52 = 2000, 500, 1600, 400
        args.epochs10, args.epochs52, args.seeds = 10, 3, "0"
    seeds = [int(s) for s in args.seeds.split(",")]
    t_start = time.perf_counter()

    import synprobe
    from synprobe.fonts import FontRegistry

    base = font_tier_recipe(synprobe.load_recipe(args.recipe), args.fonts_tier)
    ids = recipe_fonts(base)
    n52 = max(args.n_stats, args.train52 + args.test52) if not args.no_learn else args.n_stats
    res: dict = {"machine": machine_info(), "recipe": args.recipe, "fonts_tier": args.fonts_tier,
                 "command": "python bench/parity_synbols.py " + " ".join(sys.argv[1:]),
                 "manifest_sha256": FontRegistry.load(user=False).manifest_sha256, "note": args.note,
                 "synprobe_path": str(Path(synprobe.__file__).parent), "git_commit": _git_commit(),
                 "protocol": {k: getattr(args, k) for k in ("train10", "test10", "train52", "test52", "epochs10",
                                                           "epochs52", "seeds", "data_seed", "threads", "n_stats")}}
    with tempfile.TemporaryDirectory(prefix="parity-") as td:
        tmp = Path(td)
        fonts_file = tmp / "fonts.txt"
        fonts_file.write_text("\n".join(ids) + "\n")
        print(f"peer: Synbols 1.0.2, {n52} images (52 letters), {len(ids)} requested fonts", file=sys.stderr)
        peer = peer_images(args.peer_python, n52, args.data_seed, fonts_file, tmp, "52", None)
        used = peer["meta"]["fonts_used_ids"]
        res["fonts"] = {"synprobe_recipe": len(ids), "synbols_used": len(used),
                        "synbols_excluded": peer["meta"]["fonts_excluded"],
                        "synbols_font_summary": peer["meta"]["font_summary"],
                        "synprobe_recipe_ids": ids}
        res["versions"] = {"synbols_side": peer["meta"]["versions"], "synprobe": synprobe.__version__}
        same = restrict(base, fonts=used if set(used) != set(ids) else None)
        print(f"synprobe: {n52} images, {len(used)} fonts (the peer's)", file=sys.stderr)
        sp = synprobe_images(same, n52, args.data_seed, tmp, "52")
        sp_rec = synprobe_images(restrict(base), n52, args.data_seed, tmp, "rec")
        res["gen_s"] = {"synbols_52": peer["gen_s"], "synprobe_52": sp["gen_s"]}

        st = {"synbols": summarize(peer["x"], peer["mask"]), "synprobe_same_fonts": summarize(sp["x"], sp["mask"]),
              "synprobe_recipe": summarize(sp_rec["x"], sp_rec["mask"])}
        h0 = np.array(st["synbols"]["hist"])
        res["stats"] = st
        res["hist_intersection"] = {k: hist_intersection(np.array(st[v]["hist"]), h0).tolist()
                                    for k, v in (("same", "synprobe_same_fonts"), ("recipe", "synprobe_recipe"))}
        res["rel_diff"] = {k: rel_diff(st["synprobe_same_fonts"][k], st["synbols"][k]) for k, _ in STATS}
        res["within_10pct"] = {k: abs(v) <= TOL for k, v in res["rel_diff"].items()}

        if not args.no_learn:
            n10 = args.train10 + args.test10
            print(f"10 letters: {n10} images per side", file=sys.stderr)
            peer10 = peer_images(args.peer_python, n10, args.data_seed, fonts_file, tmp, "10", LETTERS10)
            sp10 = synprobe_images(restrict(same, chars=LETTERS10, masks=False), n10, args.data_seed, tmp, "10")
            res["learn"] = {}
            for task, (dp, ds, ntr, ep) in {"10 letters": (peer10, sp10, args.train10, args.epochs10),
                                            "52 letters": (peer, sp, args.train52, args.epochs52)}.items():
                res["learn"][task] = {}
                for side, d in (("synbols", dp), ("synprobe", ds)):
                    print(f"  {task}, {side}:", file=sys.stderr)
                    res["learn"][task][side] = learn(d, ntr, seeds, ep, args.threads)
            if args.old_fonts:
                res["old_fonts"] = old_fonts_learn(args, base, ids, res["learn"], seeds, tmp)
    res["wall_s"] = round(time.perf_counter() - t_start, 1)
    md = markdown(res)
    res["markdown"] = md
    print(md)
    print(f"\nwall {res['wall_s']} s; fonts: synprobe recipe {len(ids)}, Synbols used {len(used)} "
          f"(excluded: {res['fonts']['synbols_excluded']})")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
