"""Preview grid of every bundled recipe, for docs/gallery/ (one command, deterministic).

    python tools/make_gallery.py               # writes docs/gallery/<recipe>.png and docs/gallery/README.md
"""

from __future__ import annotations

from pathlib import Path

from synprobe.preview import preview_recipe
from synprobe.recipe import list_recipes, load_recipe

OUT = Path(__file__).resolve().parents[1] / "docs" / "gallery"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    lines = ["# Recipe gallery", "", "Made by `python tools/make_gallery.py` (seed 0, the first 24 images of each "
             "recipe). Regenerate after changing a recipe or the renderer.", ""]
    for name, path in list_recipes().items():
        r = load_recipe(path)
        preview_recipe(path, OUT / f"{name}.png", rows=3, cols=8, seed=0, cell=64)
        h, w = r.resolution
        lines += [f"## {name}", "", f"{r.description} ({h}x{w})", "", f"![{name}]({name}.png)", ""]
        print(name)
    (OUT / "README.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
