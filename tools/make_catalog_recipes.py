"""Write the recipes derived from the alphabets and the font registry (regenerable, deterministic).

    python tools/make_catalog_recipes.py      # rewrites generators/default-<script>.toml,
                                              # korean-1k.toml, all-chars.toml, balanced-font-chars.toml
"""

from __future__ import annotations

import json
from pathlib import Path

from synprobe.fonts import FontRegistry
from synprobe.scripts import ALPHABETS

OUT = Path(__file__).resolve().parents[1] / "generators"
HEADER = "# Written by tools/make_catalog_recipes.py; edit that script, not this file.\n"


def q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def main() -> None:
    reg = FontRegistry.load(user=False)
    for script, alpha in ALPHABETS.items():
        n_fonts = len(reg.ids(script, tiers=("legible",)))
        (OUT / f"default-{script}.toml").write_text(
            HEADER
            + f'description = "Synbols default laws with the {script} alphabet ({len(alpha.chars)} characters, '
            f'{n_fonts} legible fonts)"\nresolution = 32\n\n[symbol]\nscript = {q(script)}\n',
            encoding="utf-8",
        )
    korean = "".join(ALPHABETS["korean"].chars[:1000])
    (OUT / "korean-1k.toml").write_text(
        HEADER
        + 'description = "Synbols korean-1k: the first 1,000 Hangul syllables of KS X 1001, default laws"\n'
        + f"resolution = 32\n\n[symbol]\nscript = \"korean\"\nchar = {q(korean)}\n",
        encoding="utf-8",
    )
    chars = "".join(c for a in ALPHABETS.values() for c in a.chars[:200])
    (OUT / "all-chars.toml").write_text(
        HEADER
        + 'description = "Synbols all-chars: up to 200 characters of every script (uniform over characters), '
        'default laws"\n'
        + f"resolution = 32\n\n[symbol]\nchar = {q(chars)}\n",
        encoding="utf-8",
    )
    fonts = sorted({f for s in ALPHABETS for f in reg.ids(s, tiers=("legible",))[:200]})
    font_list = ",\n    ".join(q(f) for f in fonts)
    (OUT / "balanced-font-chars.toml").write_text(
        HEADER
        + 'description = "Synbols balanced-font-chars: up to 200 fonts and 200 characters of every script, '
        'default laws"\n'
        + f"resolution = 32\n\n[symbol]\nchar = {q(chars)}\nfont = [\n    {font_list},\n]\n",
        encoding="utf-8",
    )
    print(f"wrote {len(ALPHABETS) + 3} recipes to {OUT}")


if __name__ == "__main__":
    main()
