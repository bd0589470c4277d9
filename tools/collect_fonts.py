#!/usr/bin/env python3
"""Collect the bundled font set (``fonts/``): Debian font packages, then Google Fonts from npm.

Reproducible recipe (needs ``apt-get``, ``dpkg`` and ``npm``; run as a user that may call
``apt-get download``). One command rebuilds everything, coverage.json included::

    python tools/collect_fonts.py --audit       # Debian part, its audit, npm part, final audit
    python tools/collect_fonts.py --audit --no-download    # reuse the downloaded packages
    python tools/collect_fonts.py --audit --skip-debian    # keep the Debian part, redo npm only

The Debian part (steps below) goes to ``--work``; the npm part is ``tools/collect_gfonts.py``
(its own docstring has its steps), working in ``--npm-work``; it audits the Debian part alone to
look for near-duplicates against it. ``--audit`` then audits the whole set (``coverage.json``).

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
5. Fonts larger than :data:`SUBSET_OVER` bytes are subset with fontTools to the characters of the
   scripts they are bundled for plus printable ASCII; hinting is dropped, outlines and layout kept.
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
}

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
            info = classify(font)
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
            cjk = [s for s in scripts if s in CJK]
            if cjk:
                cjk = [s for s in cjk if per_script[s] < CJK_CAP
                       and per_pkg.get((pkg, s), 0) < CJK_PER_PKG]
                if not cjk:
                    continue
                scripts = [s for s in scripts if s not in CJK or s in cjk]
            others = [s for s in scripts if s not in CJK + MAJOR]
            if not cjk and others:
                if all(per_script[s] >= NONLATIN_CAP for s in others):
                    continue
            reg["scripts"] = scripts
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
                    bold["scripts"] = scripts
            chosen.append({"regular": reg, "bold": bold})
    return chosen


def _subset_chars(scripts: list[str]) -> str:
    return ASCII + "".join("".join(ALPHABETS[s].chars) for s in scripts)


def write_face(info: dict, dest: Path) -> bool:
    """Copy (or split/subset) one face to dest; return True when subset."""
    from fontTools import subset
    from fontTools.ttLib import TTCollection, TTFont

    src: Path = info["path"]
    big = src.stat().st_size > SUBSET_OVER
    if info["index"] is None and not big:
        shutil.copyfile(src, dest)
        return False
    if info["index"] is not None:
        font = TTCollection(str(src)).fonts[info["index"]]
    else:
        font = TTFont(str(src))
    if big:
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
    buf = io.BytesIO()
    font.save(buf)
    dest.write_bytes(buf.getvalue())
    return big


def build(work: Path, out: Path) -> dict:
    chosen = pick(work)
    if (out / "files").exists():
        shutil.rmtree(out / "files")
    if (out / "licenses").exists():
        shutil.rmtree(out / "licenses")
    (out / "files").mkdir(parents=True)
    (out / "licenses").mkdir(parents=True)
    entries, used_ids, used_files = [], set(), set()
    for item in chosen:
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
            entries.append({
                "id": fid, "file": rel, "family": info["family"],
                "style": "Bold" if role == "bold" else info["style"],
                "sha256": hashlib.sha256((out / rel).read_bytes()).hexdigest(),
                "license": PACKAGES[pkg], "license_file": lic_file,
                "source": f"debian:{pkg} {pkg_version(work, pkg)}",
                "scripts": info["scripts"], "bold": None, "subset": was_subset, "role": role,
            })
        if len(ids_here) == 2:
            next(e for e in entries if e["id"] == ids_here[0])["bold"] = ids_here[1]
    entries.sort(key=lambda e: e["id"])
    counts = {s: sum(1 for e in entries if e["role"] == "regular" and s in e["scripts"])
              for s in ALPHABETS}
    missing = {s: f"only {n} redistributable Debian font(s) cover >= 80% of the alphabet"
               for s, n in counts.items() if n < 3}
    manifest = {"format": "synprobe-fonts/1", "fonts": entries, "missing": missing}
    (out / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, indent=1,
                                                  ensure_ascii=False) + "\n")
    print("regular faces per script (before audit):", counts)
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

    if not a.skip_debian:
        if not a.no_download:
            download(a.work)
        build(a.work, a.out)
    if not a.skip_npm:
        collect_gfonts.build(a.npm_work, a.out, not a.no_download)
    if a.audit:
        write_coverage(a.out, a.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
