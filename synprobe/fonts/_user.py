"""User fonts: :func:`add_fonts` copies a folder's font files into ``user_home()/fonts`` and audits them.

The user folder has its own ``manifest.json``, ``coverage.json`` and ``legibility.json``, in the
formats of the bundled folder; TTC collections are split into single faces, ids are
``user/<file-stem>``, and legibility is scored with the shipped model (numpy, no torch).
fontTools is imported only here, by the functions that read font files.
"""

from __future__ import annotations

import io
from pathlib import Path

from synprobe.checksum import file_sha256
from synprobe.errors import FontError
from synprobe.fonts._coverage import write_coverage
from synprobe.fonts._registry import MANIFEST_FORMAT, FontRegistry, dump_json, read_json
from synprobe.fonts.audit import audit_font
from synprobe.fonts.legibility import write_user
from synprobe.paths import user_home

FONT_SUFFIXES = (".ttf", ".otf", ".ttc")


def add_fonts(src_dir: str | Path) -> list[str]:
    """Copy the .ttf/.otf/.ttc fonts of ``src_dir`` into ``user_home()/fonts``, audit them and
    update the user manifest and coverage. TTC collections are split into single fonts.
    Returns the ids added (``user/<file-stem>``); raises :class:`FontError` when a file is not a
    usable outline font or when nothing usable is found."""
    src = Path(src_dir)
    if not src.is_dir():
        raise FontError(f"{src}: not a folder")
    files = sorted(p for p in src.iterdir() if p.is_file() and p.suffix.lower() in FONT_SUFFIXES)
    if not files:
        raise FontError(f"{src}: no .ttf, .otf or .ttc files")
    dest = user_home() / "fonts"
    (dest / "files").mkdir(parents=True, exist_ok=True)
    mpath = dest / "manifest.json"
    man = (
        read_json(mpath, MANIFEST_FORMAT)
        if mpath.is_file()
        else {"format": MANIFEST_FORMAT, "fonts": [], "missing": {}}
    )
    known = {e["id"] for e in man["fonts"]}
    bundled_ids = set(FontRegistry.load(user=False).ids(role=None)) | set(known)
    staged: list[tuple[Path, str]] = []
    for p in files:
        for name, data in split_faces(p):
            tmp = dest / "files" / (name + ".part")
            tmp.write_bytes(data)
            try:
                cov = audit_font(tmp)
            except FontError as e:
                tmp.unlink()
                for t, _ in staged:
                    t.unlink()
                raise FontError(f"{p}: {str(e).split(': ', 1)[-1]}") from None
            if not cov:
                tmp.unlink()
                for t, _ in staged:
                    t.unlink()
                raise FontError(f"{p}: draws no script's alphabet (>= 80%); not added")
            staged.append((tmp, name))
    added = []
    for tmp, name in staged:
        final = dest / "files" / name
        tmp.replace(final)
        fid = "user/" + Path(name).stem.lower().replace(" ", "-")
        base, n = fid, 2
        while fid in bundled_ids and fid not in known:
            fid, n = f"{base}-{n}", n + 1
        man["fonts"] = [e for e in man["fonts"] if e["id"] != fid]
        man["fonts"].append(user_entry(fid, final, dest))
        known.add(fid)
        added.append(fid)
    man["fonts"].sort(key=lambda e: e["id"])
    dump_json(mpath, man)
    write_coverage(dest, workers=1)
    write_user(dest)
    return added


def user_entry(fid: str, path: Path, dest: Path) -> dict:
    """The manifest entry of a user font (names read from its ``name`` table, scripts audited)."""
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True) as f:
        name = f["name"]
        family = (name.getDebugName(16) or name.getDebugName(1) or path.stem).strip()
        style = (name.getDebugName(17) or name.getDebugName(2) or "Regular").strip()
    cov = audit_font(path)
    return {
        "id": fid,
        "file": str(path.relative_to(dest)),
        "family": family,
        "style": style,
        "sha256": file_sha256(path),
        "license": "user-supplied",
        "license_file": None,
        "source": f"user:{path.name}",
        "scripts": sorted(cov),
        "bold": None,
        "subset": False,
        "role": "regular",
    }


def split_faces(p: Path) -> list[tuple[str, bytes]]:
    """(file name, bytes) of each face of a font file; TTC collections are split."""
    if p.suffix.lower() != ".ttc":
        return [(p.name, p.read_bytes())]
    from fontTools.ttLib import TTCollection

    try:
        coll = TTCollection(str(p))
    except Exception as e:
        raise FontError(f"{p}: not a readable font collection ({e})") from None
    out = []
    for i, f in enumerate(coll.fonts):
        buf = io.BytesIO()
        f.save(buf)
        ext = ".otf" if "CFF " in f else ".ttf"
        out.append((f"{p.stem}-{i}{ext}", buf.getvalue()))
    return out
