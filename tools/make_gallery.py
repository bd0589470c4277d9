"""The pictures of docs/gallery/: a preview grid of every bundled recipe, and README's "what you get" strip.

    python tools/make_gallery.py               # both: docs/gallery/<recipe>.png, README.md and strip-*.png
    python tools/make_gallery.py --strip       # only the strip (a few minutes on a laptop CPU; needs torch)
    python tools/make_gallery.py --recipes     # only the recipe previews (deterministic)

The strip is what a visitor sees before installing: a labelled preview of ``default`` images, and the
knowledge-accumulation and memorization plots of one short training run (100 tasks of ``noisy-40-sym``, 40 %
of the labels wrong, 10,000 ``default-bw`` images, ``scole_cnn`` with Adam, 10 steps per task).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from synprobe.generator import generate
from synprobe.preview import preview_recipe
from synprobe.recipe import list_recipes, load_recipe

OUT = Path(__file__).resolve().parents[1] / "docs" / "gallery"
STRIP = ("strip-preview.png", "strip-ka.png", "strip-memorization.png")  # README's picture strip, in order
STRIP_DPI = 60  # plots of 384x240 pixels: small files, still readable


def recipes() -> None:
    lines = ["# Recipe gallery", "", "Made by `python tools/make_gallery.py` (seed 0, the first 24 images of each "
             "recipe). Regenerate after changing a recipe or the renderer.", ""]
    for name, path in list_recipes().items():
        r = load_recipe(path)
        preview_recipe(path, OUT / f"{name}.png", rows=3, cols=8, seed=0, cell=64, labels=False)
        h, w = r.resolution
        lines += [f"## {name}", "", f"{r.description} ({h}x{w})", "", f"![{name}]({name}.png)", ""]
        print(name)
    (OUT / "README.md").write_text("\n".join(lines))


def strip() -> None:
    from synprobe.harness.plots import plot_run
    from synprobe.harness.train import run

    preview_recipe("default", OUT / STRIP[0], rows=3, cols=6, seed=0, cell=64)  # about as tall as the plots
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "bw.h5"
        generate("default-bw", 10_000, data, workers=1)  # black on white: learnt within minutes on a CPU
        run("noisy-40-sym", data, out=work / "run", device="cpu", progress=False, plots=False, announce=False,
            optimizer="adam", lr=1e-3, masking="group", steps=10, eval_every_tasks=5, eval_sets=("iid",))
        plots = {p.name: p for p in plot_run(work / "run", out_dir=work / "plots", dpi=STRIP_DPI)}
        shutil.copyfile(plots["ka.png"], OUT / STRIP[1])
        shutil.copyfile(plots["memorization.png"], OUT / STRIP[2])
    print(", ".join(STRIP))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strip", action="store_true", help="only README's picture strip")
    ap.add_argument("--recipes", action="store_true", help="only the recipe previews")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.strip:
        recipes()
    if not args.recipes:
        strip()


if __name__ == "__main__":
    main()
