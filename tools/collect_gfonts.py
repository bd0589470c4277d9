#!/usr/bin/env python3
"""Add Google Fonts families from the npm registry to the bundled font set (``fonts/``).

Called by ``tools/collect_fonts.py`` after the Debian part (see its docstring for the one
command that rebuilds everything); it can also run alone on top of the current manifest::

    python tools/collect_gfonts.py --work /tmp/gfonts     # npm pack, pick, subset, dedup, write

Steps:
1. ``npm pack`` every ``name@version`` of :data:`PACKAGES_FILE` into ``--work`` and unpack it.
   ``@expo-google-fonts/<family>`` packages ship the Google Fonts TTFs (one per weight/style);
   ``@fontsource/<family>`` and the older ``typeface-<family>`` packages ship per-subset WOFF
   files, of which the ``latin`` subset is taken; ``@fontsource-variable/<family>`` ships one
   variable WOFF2 (read with ``brotli``), instanced at the weights wanted. The list puts expo
   first; a later package of a family already taken is skipped.
2. Per package: the family name, the upright 400 face (500 or 300 when there is no 400) and the
   700 face as its bold (when there is one), and the licence: the package's font licence text
   (``LICENSE_FONT`` / ``LICENSE``) or else the font's name table (copyright, licence, URL),
   read as ``OFL-1.1``, ``Apache-2.0`` or ``Ubuntu-font-1.0``; anything else is skipped.
3. Skipped with the reason logged: non-text families by name (:data:`NON_TEXT`), families
   already in the manifest (same family name), regular faces whose cmap lacks a letter of
   a-zA-Z, and fonts that are not outline fonts.
4. Every kept face is converted to a plain sfnt (TTF/OTF) and subset with fontTools to printable
   ASCII plus the alphabets of the scripts its cmap covers (>= 80 %); hinting, layout tables
   (kerning, ligatures: a glyph is rendered alone) and colour tables are dropped, outlines and
   names kept.
5. The regular faces are audited (:func:`synprobe.fonts.audit.audit_font`); a face whose audit
   does not cover Latin is skipped. Near-duplicates: the probes (:func:`probe_font`) of the
   fonts already kept (the manifest's other entries, audited alone) come first, then the new
   faces (most scripts first, then id), through :func:`synprobe.fonts.audit.dedup`. A new family
   marked in Latin ("near-duplicate of X (latin probe MAD d)") is skipped unless it adds a
   non-CJK script in which it is not marked (e.g. IBM Plex Sans Arabic: kept for Arabic, the
   audit then drops its Latin). CJK-only additions would cost megabytes each.
6. The kept faces go to ``fonts/files/npm-<scope>-<name>/``, each package's licence text to
   ``fonts/licenses/npm-<scope>-<name>.txt``; manifest ids are ``gf-<family slug>/<family
   slug>`` (``-bold`` for the bold face), ``source`` is ``npm:<package>@<version>``.
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
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from collect_fonts import ASCII, CJK, _cover, _name, _slug  # noqa: E402

from synprobe.scripts import ALPHABETS  # noqa: E402

PACKAGES_FILE = Path(__file__).resolve().parent / "gfonts_packages.txt"
OFL_TEXT = Path(__file__).resolve().parent / "OFL-1.1.txt"  # appended when a package lacks it
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
WORKERS = 2
REGULAR_WEIGHTS = (400, 500, 300)  # the family's regular face: the first weight present
# Per package kind: the file pattern of a weight's upright face, and weight names in it.
PATTERNS = {
    "@expo-google-fonts": ("*_{}.ttf", {400: "400Regular", 500: "500Medium", 300: "300Light",
                                        700: "700Bold"}),
    "@fontsource": ("files/*-latin-{}-normal.woff", {}),
    "@fontsource-variable": ("files/*-latin-wght-normal.woff2", {}),  # needs brotli
    "typeface": ("files/*-latin-{}.woff", {}),  # the older typeface-<family> packages
}

# Families that are not text faces (icons, barcodes, blocked-out text), or variants of a Latin
# design bundled once already (Synbols' blacklist: "Swash Caps" variants, the Baloo family).
NON_TEXT = re.compile(
    r"Barcode|Redacted|^Flow |Icons?\b|Symbols?\b|Emoji|Material|Linefont|Wavefont|Blank|"
    r"Noto Music|Noto Sans Math|Dingbat|Ornament|Braille|Swash Caps|^Baloo (?!2$)", re.I)


def log(msg: str) -> None:
    print(msg, flush=True)


# --- 1. download -----------------------------------------------------------------------------
def read_list(path: Path = PACKAGES_FILE) -> list[str]:
    lines = path.read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def _tgz_name(spec: str) -> str:
    name, version = spec.rsplit("@", 1)
    return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def download(work: Path, specs: list[str]) -> None:
    tgz = work / "tgz"
    tgz.mkdir(parents=True, exist_ok=True)
    todo = [s for s in specs if not (tgz / _tgz_name(s)).exists()]
    for i in range(0, len(todo), 25):
        subprocess.run(["npm", "pack", "--silent", *todo[i: i + 25]], cwd=tgz, check=True,
                       stdout=subprocess.DEVNULL)
    for s in specs:
        dest = work / "x" / _tgz_name(s).removesuffix(".tgz")
        if not dest.exists():
            dest.mkdir(parents=True)
            with tarfile.open(tgz / _tgz_name(s)) as tf:
                tf.extractall(dest, filter="data")


# --- 2./3. read one package ------------------------------------------------------------------
def licence_of(text: str) -> str | None:
    """SPDX id of a font licence text, or None when it is not clearly one of the three."""
    t = text.lower()
    if "open font license" in t or "scripts.sil.org/ofl" in t or "openfontlicense.org" in t:
        return "OFL-1.1"  # Google Fonts' OFL fonts are all under version 1.1
    if "apache license" in t and "2.0" in t or "apache.org/licenses/license-2.0" in t:
        return "Apache-2.0"
    if "ubuntu font licence" in t:
        return "Ubuntu-font-1.0"
    return None


def read_package(pdir: Path) -> dict:
    """Family, faces and licence of one unpacked package; ``skip`` holds a reason if unusable."""
    pj = json.loads((pdir / "package.json").read_text())
    info = {"name": pj["name"], "version": pj["version"], "family": "", "bold": None}
    if not list(pdir.glob("files/*")) and not list(pdir.rglob("*.ttf")):
        info["skip"] = "not a font package (no font files)"
        return info
    meta_file = pdir / "metadata.json"
    meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    info["family"] = meta.get("family") or meta.get("fontName") or ""
    kind = pj["name"].split("/")[0] if "/" in pj["name"] else "typeface"
    pattern, names = PATTERNS[kind]
    lic_path = pdir / ("LICENSE_FONT" if kind == "@expo-google-fonts" else "LICENSE")
    # the upright 400 face; a family without one is represented by its 500 or 300 face
    reg = next((f for w in REGULAR_WEIGHTS
                for f in sorted(pdir.rglob(pattern.format(names.get(w, w))))), None)
    bold = sorted(pdir.rglob(pattern.format(names.get(700, 700))))
    if kind == "@fontsource-variable":  # one variable file: instances at 400 (500, 300), 700
        axis = meta.get("variable", {}).get("wght")  # no wght axis: one weight, taken as 400
        lo, hi = (float(axis["min"]), float(axis["max"])) if axis else (400, 400)
        weights = [w for w in REGULAR_WEIGHTS if lo <= w <= hi]
        files = sorted(pdir.glob(pattern)) or sorted(pdir.glob(pattern.replace("wght", "full")))
        reg = files[0] if weights and files else None
        bold = [reg] if reg and lo <= 700 <= hi else []
        info["wght"] = (weights[0] if weights else None, 700)
    info["regular"] = reg
    info["bold"] = bold[0] if bold else None
    if not reg:
        info["skip"] = "no upright face of weight 400, 500 or 300" + (
            "" if kind == "@expo-google-fonts" else " in the latin subset")
        return info
    text = lic_path.read_text(errors="replace") if lic_path.is_file() else ""
    if not licence_of(text):  # older packages: the font's name table (copyright, licence, URL)
        font = load_face(reg, None)
        text = "\n\n".join(_name(font, i) for i in (0, 13, 14)) + "\n"
        if licence_of(text) == "OFL-1.1":
            text += "\n\n" + OFL_TEXT.read_text()
    info["license_text"], info["license"] = text, licence_of(text)
    if not info["license"]:
        info["skip"] = "licence not clearly OFL-1.1 / Apache-2.0 / UFL"
    elif NON_TEXT.search(info["family"]):
        info["skip"] = "not a text face (by name)"
    return info


# --- 4. convert and subset -------------------------------------------------------------------
def load_face(path: Path, wght: float | None):
    """The face as a plain sfnt (WOFF/WOFF2 unpacked); a variable font instanced at ``wght``."""
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    font = TTFont(str(path))
    font.flavor = None
    if "fvar" in font:  # upright, normal width, the given weight; other axes at their default
        want = {"wght": wght, "wdth": 100, "slnt": 0, "ital": 0}
        pins = {a.axisTag: want[a.axisTag] if want.get(a.axisTag) is not None
                and a.minValue <= want[a.axisTag] <= a.maxValue else a.defaultValue
                for a in font["fvar"].axes}
        font = instancer.instantiateVariableFont(font, pins, updateFontNames=False)
    return font


def face_scripts(font) -> list[str]:
    cmap = font.getBestCmap() or {}
    return [s for s in ALPHABETS if _cover(cmap, s)]


COLOUR_TABLES = ("SVG ", "COLR", "CPAL", "sbix", "CBDT", "CBLC")


def subset_to(font, scripts: list[str], dest: Path) -> Path:
    from fontTools import subset

    for tag in COLOUR_TABLES:  # monochrome outlines are drawn; the SVG subsetter needs lxml
        if tag in font:
            del font[tag]
    opts = subset.Options()
    opts.hinting = False
    opts.layout_features = []
    opts.drop_tables += ["DSIG", "GPOS", "GSUB", "GDEF", "kern", "BASE", "JSTF", "MATH", "meta"]
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    opts.glyph_names = False
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=[ord(c) for c in ASCII + "".join("".join(ALPHABETS[s].chars)
                                                          for s in scripts)])
    sub.subset(font)
    dest = dest.with_suffix(".otf" if "CFF " in font or "CFF2" in font else ".ttf")
    dest.parent.mkdir(parents=True, exist_ok=True)
    font.recalcTimestamp = False  # keep head.modified of the source: rebuilds are byte-identical
    buf = io.BytesIO()
    font.save(buf)
    dest.write_bytes(buf.getvalue())
    return dest


def stage(info: dict, out: Path) -> None:
    """Write the subset regular (+ bold) face of one package under ``out/<dir>/``."""
    wght = info.get("wght", (None, None))
    reg = load_face(info["regular"], wght[0])
    if "glyf" not in reg and "CFF " not in reg and "CFF2" not in reg:
        info["skip"] = "no outlines"
        return
    cmap = reg.getBestCmap() or {}
    lacking = [c for c in LETTERS if ord(c) not in cmap]
    if lacking:
        info["skip"] = f"regular face lacks {''.join(lacking[:10])}{'…' if len(lacking) > 10 else ''}"
        return
    scripts = face_scripts(reg)
    info["scripts"] = scripts
    if wght[0]:  # an instance keeps its default instance's names: the package's are used
        info["reg_name"] = (info["family"], {400: "Regular", 500: "Medium", 300: "Light"}[wght[0]])
    else:
        info["reg_name"] = (_name(reg, 16, 1) or info["family"], _name(reg, 17, 2) or "Regular")
    d = out / info["dir"]
    stem = info["regular"].stem.removesuffix(".woff2")  # an instance is named by its weight
    info["reg_file"] = subset_to(reg, scripts, d / (f"{stem}-{wght[0]}" if wght[0] else stem))
    info["bold_file"] = None
    if info["bold"] is not None:
        bold = load_face(info["bold"], wght[1])
        if set(scripts) <= set(face_scripts(bold)):
            info["bold_file"] = subset_to(bold, scripts, d / (f"{stem}-{wght[1]}" if wght[0]
                                                              else info["bold"].stem))


# --- 5. audit and near-duplicates ------------------------------------------------------------
def _probe_job(job):
    from synprobe.errors import FontError
    from synprobe.fonts import audit as fontaudit

    fid, path, cov = job
    try:
        if cov is None:
            cov = {s: "".join(c) for s, c in fontaudit.audit_font(path).items()}
        return fid, cov, fontaudit.probe_font(path, cov), None
    except FontError as e:
        return fid, {}, {}, str(e)


def _run(jobs):
    if len(jobs) < 8:
        return [_probe_job(j) for j in jobs]
    import multiprocessing as mp

    with mp.get_context("fork").Pool(WORKERS) as pool:
        return pool.map(_probe_job, jobs, chunksize=4)


def audit_earlier(fonts_dir: Path, manifest: dict, work: Path) -> dict:
    """The coverage document of the manifest's entries alone (audited in ``work/earlier``)."""
    from synprobe.fonts import audit_dir

    d = work / "earlier"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    (d / "files").symlink_to((fonts_dir / "files").resolve())
    (d / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, indent=1))
    return audit_dir(d, WORKERS)


def dedup_new(fonts_dir: Path, manifest: dict, new: dict[str, Path], work: Path) -> dict[str, str]:
    """Skip reasons for new regular faces ``{id: path}``: no audited Latin, or near-duplicate."""
    from synprobe.fonts.audit import dedup

    cov_doc = audit_earlier(fonts_dir, manifest, work)
    role = {e["id"]: e.get("role", "regular") for e in manifest["fonts"]}
    old = [(e["id"], str(fonts_dir / e["file"]), cov_doc["fonts"][e["id"]])
           for e in manifest["fonts"] if role[e["id"]] == "regular"
           and e["id"] in cov_doc["fonts"] and e["id"] not in cov_doc["dropped"]]
    log(f"probing {len(old)} bundled and auditing {len(new)} new regular faces")
    probes, covs, skip = {}, {}, {}
    for fid, cov, probe, err in _run(old + [(f, str(p), None) for f, p in new.items()]):
        if err:
            skip[fid] = err
            continue
        probes[fid], covs[fid] = probe, cov
    for fid in new:
        if fid not in skip and "latin" not in covs[fid]:
            skip[fid] = "audit: does not draw >= 80 % of a-zA-Z (caps-only or blank letters)"
    key = lambda f: (-len(covs[f]), f)  # noqa: E731
    order = sorted((f for f, _, _ in old if f in probes), key=key)
    order += sorted((f for f in new if f not in skip), key=key)
    for fid, marks in dedup(probes, order).items():
        # kept for a non-CJK script it adds (e.g. Arabic); CJK-only additions cost megabytes
        adds = [s for s in covs[fid] if s not in marks and s not in CJK]
        if fid in new and "latin" in marks and not adds:
            skip[fid] = "; ".join(marks.values())
    return skip


# --- 6. write --------------------------------------------------------------------------------
def build(work: Path, fonts_dir: Path, download_first: bool = True,
          package_list: Path = PACKAGES_FILE) -> dict:
    """Add the npm families to ``fonts_dir``'s manifest (Debian entries kept); return it."""
    specs = read_list(package_list)
    if download_first:
        download(work, specs)
    manifest = json.loads((fonts_dir / "manifest.json").read_text())
    entries = [e for e in manifest["fonts"] if not e["source"].startswith("npm:")]
    manifest["fonts"] = entries
    for d in list((fonts_dir / "files").glob("npm-*")) + list((fonts_dir / "licenses").glob("npm-*")):
        shutil.rmtree(d) if d.is_dir() else d.unlink()
    seen = {e["family"].lower() for e in entries}
    staged = work / "stage"
    shutil.rmtree(staged, ignore_errors=True)
    cands: dict[str, dict] = {}
    for s in specs:
        info = read_package(work / "x" / _tgz_name(s).removesuffix(".tgz") / "package")
        info["dir"] = "npm-" + info["name"].lstrip("@").replace("/", "-")
        if "skip" not in info:
            try:
                stage(info, staged)
            except Exception as e:  # a face fontTools cannot read or subset: skip, say why
                info["skip"] = f"fontTools: {type(e).__name__}: {e}"
        if "skip" not in info:
            fam = info["reg_name"][0]
            info["family"] = info["family"] or fam
            if fam.lower() in seen or info["family"].lower() in seen:
                info["skip"] = f"family {fam!r} already bundled"
        if "skip" in info:
            log(f"skip {info['name']}: {info['skip']}")
            continue
        seen |= {info["reg_name"][0].lower(), info["family"].lower()}
        fid = f"gf-{_slug(info['family'])}/{_slug(info['family'])}"
        while fid in cands:
            fid += "-2"
        cands[fid] = info
    skip = dedup_new(fonts_dir, manifest, {f: i["reg_file"] for f, i in cands.items()}, work)
    for fid, why in sorted(skip.items()):
        log(f"skip {cands[fid]['name']}: {why}")
    kept = {f: i for f, i in cands.items() if f not in skip}
    for fid, info in kept.items():
        lic = f"licenses/{info['dir']}.txt"
        (fonts_dir / lic).write_text(info["license_text"])
        faces = [(fid, info["reg_file"], "regular")]
        if info["bold_file"] is not None:
            faces.append((fid + "-bold", info["bold_file"], "bold"))
        for face_id, src, role in faces:
            rel = f"files/{info['dir']}/{src.name}"
            (fonts_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, fonts_dir / rel)
            entries.append({
                "id": face_id, "file": rel, "family": info["reg_name"][0],
                "style": "Bold" if role == "bold" else info["reg_name"][1],
                "sha256": hashlib.sha256((fonts_dir / rel).read_bytes()).hexdigest(),
                "license": info["license"], "license_file": lic,
                "source": f"npm:{info['name']}@{info['version']}", "scripts": info["scripts"],
                "bold": fid + "-bold" if role == "regular" and len(faces) == 2 else None,
                "subset": True, "role": role})
    entries.sort(key=lambda e: e["id"])
    counts = {s: sum(1 for e in entries if e["role"] == "regular" and s in e["scripts"])
              for s in ALPHABETS}
    manifest["missing"] = {s: f"only {n} redistributable font(s) cover >= 80% of the alphabet"
                           for s, n in counts.items() if n < 3}
    (fonts_dir / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, indent=1,
                                                        ensure_ascii=False) + "\n")
    n_bold = sum(1 for i in kept.values() if i["bold_file"] is not None)
    log(f"npm: {len(specs)} packages, {len(cands)} staged, {len(kept)} families added "
        f"({n_bold} with bold); regular faces per script (before audit): {counts}")
    return manifest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/gfonts"))
    ap.add_argument("--out", type=Path, default=ROOT / "fonts")
    ap.add_argument("--no-download", action="store_true")
    ap.add_argument("--packages", type=Path, default=PACKAGES_FILE, help="name@version list")
    a = ap.parse_args(argv)
    build(a.work, a.out, not a.no_download, a.packages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
