#!/usr/bin/env python3
"""Collect the bundled font set (``fonts/``): Debian font packages, then Google Fonts from npm.

Reproducible recipe (needs ``apt-get``, ``dpkg`` and ``npm``; run as a user that may call
``apt-get download``). One command rebuilds everything, coverage.json included::

    python tools/collect_fonts.py --audit       # Debian part, its audit, npm part, final audit
    python tools/collect_fonts.py --audit --no-download    # reuse the downloaded packages
    python tools/collect_fonts.py --audit --skip-debian    # keep the Debian part, redo npm only

The Debian part (steps below) goes to ``--work``; the npm part is ``tools/collect_gfonts.py``
(its own docstring has its steps), working in ``--npm-work``; it audits the Debian part alone to
look for near-duplicates against it. The *late* Debian families (step 4) come last, after the npm
part. ``--audit`` then audits the whole set (``coverage.json``). ``--skip-debian`` keeps the
current Debian entries, late ones included, as they are.

Steps:
1. ``apt-get download`` every package in :data:`PACKAGES` into ``--work`` and ``dpkg -x`` it.
2. Every package is from Debian *main* (DFSG-free, so redistribution is allowed); the licence
   decision per package is the hand-read entry of :data:`PACKAGES` (read from the package's
   ``usr/share/doc/<pkg>/copyright``, which is copied to ``fonts/licenses/<pkg>.txt``).
   :data:`EXCLUDED` lists packages looked at and left out, with the reason.
3. Every face (TTC collections split into single fonts) is classified by family and style; a face
   counts for a script when its cmap holds >= 80 % of the script's alphabet (95 % for CJK).
4. Per family the upright regular face is kept, plus its bold face (non-CJK only) linked from it.
   Families seen in an earlier package are skipped (first package in :data:`PACKAGES` wins).
   Caps (size budget): at most :data:`CJK_CAP` fonts per CJK script and :data:`NONLATIN_CAP` per
   other non-Latin script. A family whose non-Latin scripts are all capped, and every family of
   :data:`LATE_PACKAGES` (scripts without a synprobe alphabet), is bundled for its Latin, Greek,
   Cyrillic and Vietnamese alone, as a *late* family: written after the npm part, and left out
   when its family name is bundled already or its Latin probe is a near-duplicate of a bundled
   font's (so the npm font with all its scripts, or the Latin design's own family, wins).
5. Fonts larger than :data:`SUBSET_OVER` bytes, and late families, are subset with fontTools to
   the characters of the scripts they are bundled for plus printable ASCII; hinting is dropped,
   outlines and layout kept, optional tables fontTools cannot read (e.g. a damaged ``gasp``) are
   dropped, and ``head.modified`` is kept, so that a rebuild writes the same bytes.
6. ``fonts/manifest.json`` is written (sorted keys, indent 1); then, with ``--audit``, the glyph
   audit of :mod:`synprobe.fonts` writes ``fonts/coverage.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synprobe.scripts import ALPHABETS  # noqa: E402

CJK = ("korean", "chinese", "japanese")
MAJOR = ("latin", "greek", "cyrillic", "vietnamese")  # no cap on these
SUBSET_OVER = 40_000
CJK_CAP = 7  # at most this many fonts bundled per CJK script (size budget)
CJK_PER_PKG = 2  # ... and at most this many of them from one package (variety)
NONLATIN_CAP = 10  # at most this many fonts per other non-Latin script

_OFL = "OFL-1.1"
_GPLFE = "GPL-2.0-or-later WITH Font-exception-2.0"
_GPL3FE = "GPL-3.0-or-later WITH Font-exception-2.0"

# Package -> licence of its fonts (as read from the package's copyright file). Order = priority:
# a family name already taken by an earlier package is skipped in later ones.
PACKAGES: dict[str, str] = {
    # --- multi-script workhorses first
    "fonts-dejavu-core": "Bitstream-Vera AND LicenseRef-DejaVu-public-domain",
    "fonts-dejavu-extra": "Bitstream-Vera AND LicenseRef-DejaVu-public-domain",
    "fonts-freefont-ttf": _GPL3FE,
    "fonts-liberation2": _OFL,
    "fonts-liberation": "GPL-2.0 WITH LicenseRef-Liberation-exception",
    "fonts-croscore": "Apache-2.0",
    "fonts-noto-core": _OFL,
    "fonts-noto-mono": _OFL,
    "fonts-urw-base35": "AGPL-3.0 WITH Font-exception-2.0",
    "fonts-texgyre": "LicenseRef-GUST-Font-License",
    "fonts-paratype": "LicenseRef-ParaType-Free-Font-License",
    "fonts-open-sans": "Apache-2.0",
    "fonts-roboto-unhinted": "Apache-2.0",
    "fonts-cantarell": _OFL,
    "fonts-ubuntu-title": _OFL,
    "fonts-linuxlibertine": _OFL,
    "fonts-ebgaramond": _OFL,
    "fonts-sil-gentiumplus": "OFL-1.1-RFN",
    "fonts-sil-gentium": _OFL,
    "fonts-sil-charis": "OFL-1.1-RFN",
    "fonts-sil-andika": "OFL-1.1-RFN",
    "fonts-sil-doulos": "OFL-1.1-RFN",
    "fonts-sil-galatia": _OFL,
    "fonts-crosextra-caladea": "Apache-2.0",
    "fonts-crosextra-carlito": _OFL,
    "fonts-stix": _OFL,
    "fonts-junicode": _OFL,
    "fonts-oldstandard": "OFL-1.0",
    "fonts-cmu": _OFL,
    "fonts-lmodern": "LicenseRef-GUST-Font-License",
    "fonts-linex": "GPL-2.0-or-later",
    "fonts-go": "BSD-3-Clause",
    "fonts-lato": _OFL,
    "fonts-cabin": _OFL,
    "fonts-comfortaa": _OFL,
    "fonts-dosis": _OFL,
    "fonts-quicksand": _OFL,
    "fonts-vollkorn": _OFL,
    "fonts-yrsa-rasa": _OFL,
    "fonts-inconsolata": "OFL-1.0",
    "fonts-inter": _OFL,
    "fonts-karla": _OFL,
    "fonts-play": _OFL,
    "fonts-b612": _OFL,
    "fonts-comic-neue": _OFL,
    "fonts-courier-prime": _OFL,
    "fonts-jura": _OFL,
    "fonts-manrope": _OFL,
    "fonts-sora": _OFL,
    "fonts-league-spartan": _OFL,
    "fonts-cardo": _OFL,
    "fonts-oflb-euterpe": _OFL,
    "fonts-prociono": "LicenseRef-public-domain",
    "fonts-goudybookletter": "LicenseRef-public-domain",
    "fonts-bebas-neue": _OFL,
    "fonts-dancingscript": _OFL,
    "fonts-kaushanscript": _OFL,
    "fonts-lindenhill": "MIT",
    "fonts-fanwood": "MIT",
    "fonts-junction": _OFL,
    "fonts-levien-museum": "OFL-1.0",
    "fonts-century-catalogue": "OFL-1.0",
    "fonts-quattrocento": _OFL,
    "fonts-tuffy": "LicenseRef-public-domain",
    "fonts-yanone-kaffeesatz": _OFL,
    "fonts-mononoki": _OFL,
    "fonts-firacode": _OFL,
    "fonts-jetbrains-mono": "Apache-2.0",
    "fonts-anonymous-pro": _OFL,
    "fonts-clear-sans": "Apache-2.0",
    "fonts-oxygen": _OFL,
    "fonts-averia-gwf": _OFL,
    "fonts-averia-sans-gwf": _OFL,
    "fonts-averia-serif-gwf": _OFL,
    "fonts-lobster": _OFL,
    "fonts-lobstertwo": _OFL,
    "fonts-gfs-artemisia": _OFL,
    "fonts-gfs-didot": _OFL,
    "fonts-gfs-neohellenic": _OFL,
    "fonts-gfs-bodoni-classic": _OFL,
    "fonts-gfs-baskerville": _OFL,
    "fonts-gfs-olga": _OFL,
    "fonts-gfs-porson": _OFL,
    "fonts-gfs-theokritos": _OFL,
    "fonts-gfs-complutum": _OFL,
    "fonts-gfs-solomos": _OFL,
    "fonts-gfs-gazis": _OFL,
    "fonts-elstob": _OFL,
    "fonts-campania": _OFL,
    "fonts-ecolier-court": _OFL,
    "fonts-tomsontalks": _OFL,
    "fonts-okolaks": _OFL,
    "fonts-gotico-antiqua": _OFL,
    "fonts-blankenburg": _OFL,
    "fonts-cherrybomb": _OFL,
    "fonts-eurofurence": _OFL,
    "fonts-radisnoir": _OFL,
    "fonts-national-park": _OFL,
    "fonts-leckerli-one": _OFL,
    "fonts-lemonada": _OFL,
    "fonts-karmilla": _OFL,
    "fonts-le-murmure": _OFL,
    "fonts-essays1743": _OFL,
    "fonts-georgewilliams": _OFL,
    "fonts-apropal": _OFL,
    "fonts-allerta": _OFL,
    "fonts-cabinsketch": _OFL,
    "fonts-kristi": _OFL,
    "fonts-rocknroll": _OFL,
    "fonts-reggae": _OFL,
    "fonts-monoid": _OFL,
    "fonts-agave": "MIT",
    "fonts-fantasque-sans": _OFL,
    "fonts-hermit": _OFL,
    "fonts-league-mono": _OFL,
    "fonts-bajaderka": _OFL,
    "fonts-gamaliel": _OFL,
    "fonts-klaudia-berenika": _OFL,
    "fonts-joscelyn": _OFL,
    "fonts-millimetre": _OFL,
    "fonts-routed-gothic": _OFL,
    "fonts-triod-postnaja": _OFL,
    "fonts-solide-mirage": _OFL,
    "fonts-train": _OFL,
    "fonts-havana": _OFL,
    "fonts-breip": _OFL,
    "fonts-humor-sans": _OFL,
    "fonts-manchufont": _OFL,
    "fonts-mph-2b-damase": "LicenseRef-public-domain",
    "fonts-sjfonts": _GPLFE,
    "fonts-tiresias": _GPL3FE,
    "fonts-roadgeek": "MIT",
    "fonts-rufscript": _OFL,
    "fonts-dustin": "GPL-2.0-or-later",
    "fonts-f500": "Artistic-1.0",
    "fonts-isabella": "LGPL-2.0-or-later",
    "fonts-staypuft": "LGPL-2.0-or-later",
    "fonts-engadget": "LGPL-2.0-or-later",
    "fonts-arkpandora": "Bitstream-Vera",
    "fonts-opendyslexic": "Bitstream-Vera AND CC-BY-3.0",
    "fonts-adf-accanthis": _GPLFE,
    "fonts-adf-baskervald": _GPLFE,
    "fonts-adf-berenis": _GPLFE,
    "fonts-adf-gillius": _GPLFE,
    "fonts-adf-ikarius": _GPLFE,
    "fonts-adf-irianis": _GPLFE,
    "fonts-adf-libris": _GPLFE,
    "fonts-adf-mekanus": _GPLFE,
    "fonts-adf-oldania": _GPLFE,
    "fonts-adf-romande": _GPLFE,
    "fonts-adf-solothurn": _GPLFE,
    "fonts-adf-switzera": _GPLFE,
    "fonts-adf-tribun": _GPLFE,
    "fonts-adf-universalis": _GPLFE,
    "fonts-adf-verana": _GPLFE,
    "fonts-aenigma": "LicenseRef-aenigma-free-redistribution",
    # --- non-Latin scripts
    "fonts-sil-ezra": _OFL,
    "fonts-hosny-amiri": _OFL,
    "fonts-sil-scheherazade": _OFL,
    "fonts-sil-lateef": _OFL,
    "fonts-sil-harmattan": _OFL,
    "fonts-kacst": "GPL-2.0",
    "fonts-kacst-one": "GPL-2.0",
    "fonts-arabeyes": "GPL-2.0",
    "fonts-farsiweb": "GPL-2.0-or-later",
    "fonts-lohit-deva": _OFL,
    "fonts-lohit-deva-marathi": _OFL,
    "fonts-lohit-beng-bengali": _OFL,
    "fonts-lohit-beng-assamese": _OFL,
    "fonts-lohit-gujr": _OFL,
    "fonts-lohit-taml": _OFL,
    "fonts-lohit-taml-classical": _OFL,
    "fonts-lohit-telu": _OFL,
    "fonts-lohit-mlym": _OFL,
    "fonts-samyak-deva": _GPL3FE,
    "fonts-samyak-gujr": _GPL3FE,
    "fonts-samyak-mlym": _GPL3FE,
    "fonts-samyak-taml": _GPL3FE,
    "fonts-sil-annapurna": _OFL,
    "fonts-gargi": "GPL-2.0-or-later",
    "fonts-nakula": "GPL-2.0-or-later",
    "fonts-sahadeva": "GPL-2.0-or-later",
    "fonts-sarai": "GPL-2.0",
    "fonts-kalapi": _OFL,
    "fonts-rit-sundar": _OFL,
    "fonts-teluguvijayam": _OFL,
    "fonts-taml-tscu": "GPL-2.0",
    "fonts-smc-rachana": _OFL,
    "fonts-smc-meera": _OFL,
    "fonts-smc-manjari": _OFL,
    "fonts-smc-anjalioldlipi": _OFL,
    "fonts-smc-chilanka": _OFL,
    "fonts-smc-dyuthi": _OFL,
    "fonts-smc-gayathri": _OFL,
    "fonts-smc-keraleeyam": _OFL,
    "fonts-smc-uroob": _OFL,
    "fonts-tlwg-garuda-ttf": _GPLFE,
    "fonts-tlwg-kinnari-ttf": _GPLFE,
    "fonts-tlwg-loma-ttf": _GPLFE,
    "fonts-tlwg-norasi-ttf": _GPLFE,
    "fonts-tlwg-purisa-ttf": _GPLFE,
    "fonts-tlwg-sawasdee-ttf": _GPLFE,
    "fonts-tlwg-umpush-ttf": _GPLFE,
    "fonts-tlwg-waree-ttf": _GPLFE,
    "fonts-tlwg-typo-ttf": _GPLFE,
    "fonts-khmeros": "LGPL-2.1-or-later",
    "fonts-sil-mondulkiri": _OFL,
    "fonts-noto-cjk": _OFL,
    "fonts-nanum": _OFL,
    "fonts-unfonts-core": "GPL-2.0",
    "fonts-baekmuk": "LicenseRef-Baekmuk",
    "fonts-arphic-uming": "LicenseRef-Arphic-1999",
    "fonts-arphic-ukai": "LicenseRef-Arphic-1999",
    "fonts-arphic-gbsn00lp": "LicenseRef-Arphic-1999",
    "fonts-arphic-gkai00mp": "LicenseRef-Arphic-1999",
    "fonts-wqy-microhei": "Apache-2.0 OR GPL-3.0-or-later WITH Font-exception-2.0",
    "fonts-wqy-zenhei": "GPL-2.0 WITH Font-exception-2.0",
    "fonts-lxgw-wenkai": _OFL,
    "fonts-ipafont-gothic": "IPA",
    "fonts-ipafont-mincho": "IPA",
    "fonts-ipaexfont-gothic": "IPA",
    "fonts-ipaexfont-mincho": "IPA",
    "fonts-takao-gothic": "IPA",
    "fonts-takao-mincho": "IPA",
    "fonts-vlgothic": "LicenseRef-mplus AND BSD-3-Clause",
    "fonts-mplus": _OFL,
    "fonts-sawarabi-gothic": _OFL,
    "fonts-sawarabi-mincho": _OFL,
    # --- added last, so that the faces above keep their places and the per-script caps: text
    # faces (mostly Latin), then fonts of other scripts and CJK fonts with their own Latin
    # letters (bundled for Latin alone, subset to it; see the caps in pick())
    "fonts-3270": "BSD-3-Clause OR OFL-1.1",
    "fonts-arapey": _OFL,
    "fonts-compagnon": _OFL,
    "fonts-fantasma": "CC0-1.0",
    "fonts-gemunu-libre": _OFL,
    "fonts-katex": "MIT",
    "fonts-lg-aboriginal": "GPL-3.0-only WITH Font-exception-2.0",
    "fonts-monofur": _OFL,
    "fonts-ocr-a": "LicenseRef-public-domain",
    "fonts-ocr-b": "LicenseRef-public-domain",
    "fonts-opendin": _OFL,
    "fonts-osifont": "GPL-3.0-only WITH Font-exception-2.0 OR LGPL-3.0-only OR "
                     "GPL-2.0-only WITH Font-exception-2.0",
    "fonts-babelstone-modern": _OFL,
    "fonts-bwht": _OFL,
    "fonts-ecolier-lignes-court": _OFL,
    "fonts-ferrite-core": _OFL,
    "fonts-gnutypewriter": _OFL,
    "fonts-sixtyfour": _OFL,
    "fonts-spleen": "BSD-2-Clause",
    "fonts-stick": _OFL,
    "fonts-ddc-uchen": _OFL,
    "fonts-sil-padauk": _OFL,
    "fonts-sil-sophia-nubian": _OFL,
    "fonts-senamirmir-washra": _OFL,
    "fonts-myanmar": _OFL,  # the files with Latin letters are the OFL ones of the copyright file
    "fonts-ukij-uyghur": "OFL-1.1 OR LGPL-3.0-only",
    "fonts-nanum-eco": _OFL,
    "fonts-nanum-extra": _OFL,
    "fonts-naver-d2coding": _OFL,
    "fonts-woowa-bm": _OFL,
    "fonts-morisawa-bizud-mincho": _OFL,
    "fonts-hanazono": "LicenseRef-Hanazono OR OFL-1.1",
    "fonts-monapo": "IPA",
    "fonts-seto": _OFL,
    "fonts-horai-umefont": "LicenseRef-UmeFont",
    "fonts-kiloji": "BSD-3-Clause",
    "fonts-konatu": "MIT",
    "fonts-kouzan-mouhitsu": "LicenseRef-public-domain",
    "fonts-aoyagi-kouzan-t": "LicenseRef-public-domain",
    "fonts-misaki": "LicenseRef-misaki-free",
    "fonts-oradano-mincho-gsrr": "LicenseRef-oradano-free",
}

# Fonts of scripts synprobe has no alphabet for, whose Latin letters are often borrowed from a
# Latin design (e.g. fonts-myanmar's Myanmar Gantgaw draws Google Fonts' Bree Serif): bundled
# for Latin alone, as *late* families (see pick()).
LATE_PACKAGES = {"fonts-myanmar", "fonts-ukij-uyghur", "fonts-senamirmir-washra", "fonts-ddc-uchen",
                 "fonts-sil-padauk", "fonts-sil-sophia-nubian", "fonts-gemunu-libre"}

# Looked at and left out.
EXCLUDED = {
    "fonts-symbola": "licence of later upstream versions is restrictive; symbol font anyway",
    "fonts-summersby": "plain GPL, decorative only; not needed",
    "fonts-uralic": "plain GPL; not needed",
    "fonts-beteckna": "plain GPL-3; not needed",
    "fonts-libfinal": "no TrueType/OpenType files (Type 1 only)",
    "fonts-creep2": "bitmap-only",
    "fonts-hack-ttf": "metapackage without font files in this release",
    "fonts-meera-taml": "no font files in this release",
    "fonts-mlym": "metapackage",
    # looked at for more Latin families (issue 11), left out:
    "fonts-bpg-georgian": "plain GPL-2 (no font exception)",
    "fonts-freefarsi": "plain GPL-2+ (no font exception)",
    "fonts-lexi-gulim": "plain GPL-2 (no font exception)",
    "fonts-lexi-saebom": "plain GPL-2 (no font exception)",
    "fonts-unfonts-extra": "plain GPL-2 (no font exception)",
    "fonts-dkg-handwriting": "the font files are plain GPL-3+ (only the sources are OFL)",
    "fonts-povray": "AGPL-3.0+ without font exception",
    "fonts-alee": "Artistic licence: not OFL, Apache, GPL with font exception or permissive",
    "fonts-femkeklaver": "CC-BY-SA-3.0: not OFL, Apache, GPL with font exception or permissive",
    "fonts-pc": "CC-BY-SA-4.0: not OFL, Apache, GPL with font exception or permissive",
    "fonts-pc-extra": "CC-BY-SA-4.0: not OFL, Apache, GPL with font exception or permissive",
    "fonts-cegui": "fonts under several licences (Batang, GPL-2+, UFL, OFL) in one package",
    "fonts-lyx": "TeX math fonts (the audit finds no legible text face)",
    "fonts-jsmath": "TeX math fonts",
    "fonts-mathjax": "TeX math fonts",
    "fonts-wine": "bitmap faces, and a Tahoma that is a near-duplicate of a bundled face",
    "fonts-unifont": "bitmap-style font; its Latin is not covered by the audit",
    "fonts-glasstty": "the audit finds no legible Latin",
    "fonts-amiga": "the audit finds no legible Latin",
    "fonts-rampart": "the audit finds no legible Latin",
    "fonts-hack": "near-duplicate of DejaVu Sans Mono (latin probe)",
    "fonts-roboto-slab": "Roboto Slab is bundled from npm",
    "fonts-noto-extra": "more weights and widths of the bundled Noto families",
    "fonts-sil-gentium-basic": "near-duplicates of the bundled Gentium",
    "fonts-sil-andikanewbasic": "near-duplicate of the bundled Andika",
    "fonts-arundina": "near-duplicates of DejaVu (latin probe)",
}

# fonts-noto-core: only families for the target scripts (the package has ~200 scripts).
NOTO_KEEP = re.compile(
    r"^Noto (Sans|Serif)( (Mono|Display|Hebrew|Arabic|Devanagari|Bengali|Gujarati|Tamil|Telugu|"
    r"Malayalam|Thai|Khmer))?$|^Noto (Naskh|Kufi) Arabic$|^Noto Sans Thai Looped$|^Noto Rashi Hebrew$"
)
SKIP_FAMILY = re.compile(r"Math|Symbol|Dingbat|Emoji|Icons?$|Braille|Ornament", re.I)
ASCII = "".join(chr(c) for c in range(0x20, 0x7F))


def _cover(cmap: dict, script: str) -> bool:
    chars = ALPHABETS[script].chars
    n = sum(1 for c in chars if ord(c) in cmap)
    return n >= (0.95 if script in CJK else 0.8) * len(chars)


def _name(font, *ids):
    for i in ids:
        rec = font["name"].getDebugName(i)
        if rec:
            return rec.strip()
    return ""


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


def download(work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", *PACKAGES], cwd=work, check=True)
    for deb in sorted(work.glob("*.deb")):
        pkg = deb.name.split("_")[0]
        dest = work / "x" / pkg
        if not dest.exists():
            dest.mkdir(parents=True)
            subprocess.run(["dpkg", "-x", str(deb), str(dest)], check=True)


def pkg_version(work: Path, pkg: str) -> str:
    debs = sorted(work.glob(f"{pkg}_*.deb"))
    return debs[-1].name.split("_")[1].replace("%3a", ":") if debs else "unknown"


def faces(root: Path):
    """Yield (path, index, TTFont) for every face of every font file under root."""
    from fontTools.ttLib import TTCollection, TTFont

    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".ttf", ".otf", ".ttc")
                   and p.is_file() and not p.is_symlink())
    # prefer OTF over a TTF twin with the same stem
    stems_otf = {p.stem for p in files if p.suffix.lower() == ".otf"}
    for p in files:
        if p.suffix.lower() == ".ttf" and p.stem in stems_otf:
            continue
        try:
            if p.suffix.lower() == ".ttc":
                for i, f in enumerate(TTCollection(str(p), lazy=True).fonts):
                    yield p, i, f
            else:
                yield p, None, TTFont(str(p), lazy=True)
        except Exception as e:  # unreadable file: skip, say so
            print(f"  skip {p.name}: {e}", file=sys.stderr)


def classify(font) -> dict | None:
    if "glyf" not in font and "CFF " not in font and "CFF2" not in font:
        return None  # bitmap-only
    if "fvar" in font:
        return None  # variable font: static faces are preferred and always present here
    cmap = font.getBestCmap() or {}
    fam = _name(font, 16, 1)
    sub = _name(font, 17, 2) or "Regular"
    os2 = font["OS/2"] if "OS/2" in font else None
    weight = os2.usWeightClass if os2 else 400
    italic = bool(os2.fsSelection & 1) if os2 else False
    italic = italic or bool(re.search(r"italic|oblique|slanted|kursiv", sub, re.I))
    if 1 <= weight <= 9:
        weight *= 100
    scripts = [s for s in ALPHABETS if _cover(cmap, s)]
    return {"family": fam, "style": sub, "weight": weight, "italic": italic, "scripts": scripts}


def _regular_rank(f: dict) -> tuple:
    style = f["style"].lower()
    named = 0 if style in ("regular", "book", "roman", "normal", "medium", "plain") else 1
    return (named, abs(f["weight"] - 400), f["style"])


def pick(work: Path) -> list[dict]:
    """Choose the faces: one regular (+ bold) per family, first package wins."""
    chosen: list[dict] = []
    seen_families: set[str] = set()
    per_script: dict[str, int] = {s: 0 for s in ALPHABETS}
    per_pkg: dict[tuple[str, str], int] = {}
    for pkg in PACKAGES:
        root = work / "x" / pkg
        if not root.exists():
            print(f"missing package dir {root}", file=sys.stderr)
            continue
        fams: dict[str, list[dict]] = {}
        for path, idx, font in faces(root):
            try:
                info = classify(font)
            except Exception as e:  # a damaged table (e.g. a short OS/2): skip, say so
                print(f"  skip {path.name}: {type(e).__name__}: {e}", file=sys.stderr)
                continue
            if not info or not info["scripts"] or not info["family"]:
                continue
            if SKIP_FAMILY.search(info["family"]):
                continue
            if pkg == "fonts-noto-core" and not NOTO_KEEP.match(info["family"]):
                continue
            info.update(path=path, index=idx, pkg=pkg)
            fams.setdefault(info["family"], []).append(info)
        for fam in sorted(fams):
            if fam.lower() in seen_families:
                continue
            upright = [f for f in fams[fam] if not f["italic"]]
            if not upright:
                continue
            reg = min(upright, key=_regular_rank)
            scripts = reg["scripts"]
            if pkg == "fonts-noto-cjk" and not re.search(r"CJK JP$", fam):
                continue  # the JP faces draw all three CJK alphabets; other regions = same design
            if re.search(r" (HK|TW|TW MBE|TC)$", fam):
                continue  # regional variants of a CN design: near-identical glyphs
            # Caps: a family whose CJK (or other non-Latin) scripts are all capped is bundled for
            # its major scripts alone (Latin, ...), subset to them: its own Latin letters cost
            # kilobytes, and near-duplicates of bundled Latin designs are dropped by the audit.
            capped = False
            cjk = [s for s in scripts if s in CJK]
            if cjk:
                cjk = [s for s in cjk if per_script[s] < CJK_CAP
                       and per_pkg.get((pkg, s), 0) < CJK_PER_PKG]
                capped = not cjk
                scripts = [s for s in scripts if s not in CJK or s in cjk]
            others = [s for s in scripts if s not in CJK + MAJOR]
            if not cjk and others:
                if all(per_script[s] >= NONLATIN_CAP for s in others):
                    capped = True
                    scripts = [s for s in scripts if s in MAJOR]
            if not scripts:
                continue
            reg["scripts"], reg["capped"] = scripts, capped
            reg["late"] = capped or pkg in LATE_PACKAGES
            seen_families.add(fam.lower())
            for s in scripts:
                per_script[s] += 1
                per_pkg[(pkg, s)] = per_pkg.get((pkg, s), 0) + 1
            bold = None
            if not cjk:
                cands = [f for f in upright if f is not reg and 600 <= f["weight"] <= 800
                         and set(scripts) <= set(f["scripts"])]
                cands = [f for f in cands if "bold" in f["style"].lower()] or cands
                if cands:
                    bold = min(cands, key=lambda f: (abs(f["weight"] - 700), f["style"]))
                    bold["scripts"], bold["capped"] = scripts, capped
            chosen.append({"regular": reg, "bold": bold})
    return chosen


def _subset_chars(scripts: list[str]) -> str:
    return ASCII + "".join("".join(ALPHABETS[s].chars) for s in scripts)


OPTIONAL_TABLES = ("gasp", "hdmx", "LTSH", "VDMX", "PCLT", "FFTM", "kern")


def _drop_damaged(font) -> None:
    """Delete optional tables that fontTools cannot read (e.g. a ``gasp`` with trailing bytes in
    some Japanese fonts); the outlines and the cmap are untouched."""
    for tag in OPTIONAL_TABLES:
        if tag in font:
            try:
                font[tag]
            except Exception as e:
                print(f"  {font.reader.file.name}: drop damaged {tag!r} ({e})", file=sys.stderr)
                del font[tag]


def write_face(info: dict, dest: Path) -> bool:
    """Copy (or split/subset) one face to dest; return True when subset."""
    from fontTools import subset
    from fontTools.ttLib import TTCollection, TTFont

    src: Path = info["path"]
    big = src.stat().st_size > SUBSET_OVER or info.get("capped", False)
    if info["index"] is None and not big:
        shutil.copyfile(src, dest)
        return False
    if info["index"] is not None:
        font = TTCollection(str(src)).fonts[info["index"]]
    else:
        font = TTFont(str(src))
    if big:
        _drop_damaged(font)
        opts = subset.Options()
        opts.hinting = False
        opts.layout_features = ["*"]
        opts.name_IDs = ["*"]
        opts.name_languages = ["*"]
        opts.notdef_outline = True
        opts.glyph_names = False
        opts.drop_tables += ["DSIG"]
        sub = subset.Subsetter(opts)
        sub.populate(unicodes=[ord(c) for c in _subset_chars(info["scripts"])])
        sub.subset(font)
    font.recalcTimestamp = False  # keep head.modified of the source: rebuilds are byte-identical
    buf = io.BytesIO()
    font.save(buf)
    dest.write_bytes(buf.getvalue())
    return big


def write_items(items: list[dict], work: Path, out: Path, entries: list[dict]) -> list[dict]:
    """Write the faces of the chosen ``items`` under ``out/files`` (licence files too) and append
    their manifest entries to ``entries``; return the new entries."""
    used_ids = {e["id"] for e in entries}
    used_files = {e["file"] for e in entries}
    added = []
    for item in items:
        reg = item["regular"]
        pkg = reg["pkg"]
        short = pkg.removeprefix("fonts-")
        lic_file = f"licenses/{pkg}.txt"
        if not (out / lic_file).exists():
            src = work / "x" / pkg / "usr/share/doc" / pkg / "copyright"
            shutil.copyfile(src, out / lic_file)
        base = f"{short}/{_slug(reg['family'])}"
        rid = base
        n = 2
        while rid in used_ids:
            rid, n = f"{base}-{n}", n + 1
        faces_ = [(rid, reg, "regular")]
        if item["bold"] is not None:
            faces_.append((rid + "-bold", item["bold"], "bold"))
        ids_here = []
        for fid, info, role in faces_:
            used_ids.add(fid)
            suffix = info["path"].suffix.lower()
            if suffix == ".ttc":
                suffix = ".otf" if "opentype" in str(info["path"]) else ".ttf"
            stem = info["path"].stem + (f"-{info['index']}" if info["index"] is not None else "")
            rel = f"files/{pkg}/{stem}{suffix}"
            if rel in used_files:
                rel = f"files/{pkg}/{stem}-{_slug(info['family'])}{suffix}"
            used_files.add(rel)
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            was_subset = write_face(info, out / rel)
            ids_here.append(fid)
            added.append({
                "id": fid, "file": rel, "family": info["family"],
                "style": "Bold" if role == "bold" else info["style"],
                "sha256": hashlib.sha256((out / rel).read_bytes()).hexdigest(),
                "license": PACKAGES[pkg], "license_file": lic_file,
                "source": f"debian:{pkg} {pkg_version(work, pkg)}",
                "scripts": info["scripts"], "bold": None, "subset": was_subset, "role": role,
            })
        if len(ids_here) == 2:
            next(e for e in added if e["id"] == ids_here[0])["bold"] = ids_here[1]
    entries.extend(added)
    return added


def write_manifest(out: Path, manifest: dict, what: str) -> None:
    entries = manifest["fonts"]
    entries.sort(key=lambda e: e["id"])
    counts = {s: sum(1 for e in entries if e["role"] == "regular" and s in e["scripts"])
              for s in ALPHABETS}
    manifest["missing"] = {s: f"only {n} redistributable font(s) cover >= 80% of the alphabet"
                           for s, n in counts.items() if n < 3}
    (out / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, indent=1,
                                                  ensure_ascii=False) + "\n")
    print(f"{what}: regular faces per script (before audit):", counts)


def build(work: Path, out: Path) -> list[dict]:
    """Write the Debian part (a fresh ``out``), late families left out; return those."""
    chosen = pick(work)
    if (out / "files").exists():
        shutil.rmtree(out / "files")
    if (out / "licenses").exists():
        shutil.rmtree(out / "licenses")
    (out / "files").mkdir(parents=True)
    (out / "licenses").mkdir(parents=True)
    entries: list[dict] = []
    write_items([i for i in chosen if not i["regular"]["late"]], work, out, entries)
    write_manifest(out, {"format": "synprobe-fonts/1", "fonts": entries}, "Debian")
    return [i for i in chosen if i["regular"]["late"]]


def add_late(work: Path, out: Path, late: list[dict], npm_work: Path) -> dict:
    """Add the late families after the npm part: a family whose name is bundled already, or whose
    Latin probe is a near-duplicate of a bundled font's, is left out (the npm font with its own
    scripts, e.g. Noto Serif SC, or the Latin design's own family, e.g. Bree Serif, is kept)."""
    import collect_gfonts

    manifest = json.loads((out / "manifest.json").read_text())
    earlier = {"format": manifest["format"], "fonts": list(manifest["fonts"])}
    seen = {e["family"].lower() for e in manifest["fonts"]}
    todo = []
    for item in late:
        if item["regular"]["family"].lower() in seen:
            print(f"skip late {item['regular']['pkg']}: family {item['regular']['family']!r} "
                  "already bundled")
        else:
            todo.append(item)
    added = write_items(todo, work, out, manifest["fonts"])
    regular = {e["id"]: out / e["file"] for e in added if e["role"] == "regular"}
    skip = collect_gfonts.dedup_new(out, earlier, regular, npm_work)
    drop = set(skip) | {e["bold"] for e in added if e["id"] in skip and e["bold"]}
    for e in added:
        if e["id"] in drop:
            (out / e["file"]).unlink()
            if e["role"] == "regular":
                print(f"skip late {e['id']}: {skip[e['id']]}")
    manifest["fonts"] = [e for e in manifest["fonts"] if e["id"] not in drop]
    used = {e["license_file"] for e in manifest["fonts"]}
    for e in added:
        if e["license_file"] not in used and (out / e["license_file"]).exists():
            (out / e["license_file"]).unlink()
    for d in (out / "files").iterdir():
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    print(f"late: {len(late)} families, {len(todo)} written, {len(regular) - len(skip)} added")
    write_manifest(out, manifest, "all")
    return manifest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/fontpkgs"))
    ap.add_argument("--out", type=Path, default=ROOT / "fonts")
    ap.add_argument("--npm-work", type=Path, default=Path("/tmp/gfonts"))
    ap.add_argument("--no-download", action="store_true")
    ap.add_argument("--skip-debian", action="store_true",
                    help="keep the Debian entries of the current manifest (no apt-get)")
    ap.add_argument("--skip-npm", action="store_true", help="Debian part only")
    ap.add_argument("--audit", action="store_true", help="also write coverage.json")
    ap.add_argument("--workers", type=int, default=2, help="audit processes")
    a = ap.parse_args(argv)
    import collect_gfonts

    from synprobe.fonts import write_coverage

    late: list[dict] = []
    if not a.skip_debian:
        if not a.no_download:
            download(a.work)
        late = build(a.work, a.out)
    if not a.skip_npm:
        collect_gfonts.build(a.npm_work, a.out, not a.no_download)
    if late:
        add_late(a.work, a.out, late, a.npm_work)
    if a.audit:
        write_coverage(a.out, a.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
