"""Font registry: the bundled fonts, user-added fonts, and their audited glyph coverage.

The bundled set lives in ``fonts/`` (see :func:`synprobe.paths.bundled`): ``manifest.json`` lists
every face (file, family, licence, source package, sha256), ``coverage.json`` holds the result of
the glyph audit (:mod:`synprobe.fontaudit`): per font, per script, the characters the font truly
draws, plus the fonts dropped as near-duplicates; ``legibility.json`` the result of the
legibility audit (:mod:`synprobe.legibility`): each font's tier per script and which (font, char)
pairs draw a recognisable letter. Loading reads only these JSON files, never a font file, so it
is fast::

    >>> from synprobe.fonts import FontRegistry
    >>> reg = FontRegistry.load()
    >>> fid = reg.ids("greek")[0]
    >>> reg.supports(fid, "α")
    True
    >>> reg.tier("urw-base35/d050000l", "latin")   # Dingbats on Latin code points
    'illegible'

User fonts added with :func:`add_fonts` (``synprobe fonts add DIR``) live in
``user_home()/fonts`` with their own manifest and coverage, in the same formats.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from . import legibility
from .checksum import file_sha256
from .errors import FontCoverageError, FontError
from .paths import bundled, user_home
from .scripts import ALPHABETS

__all__ = [
    "COVERAGE_FORMAT",
    "MANIFEST_FORMAT",
    "FontEntry",
    "FontRegistry",
    "add_fonts",
    "audit_dir",
    "verify",
    "write_coverage",
]

MANIFEST_FORMAT = "synprobe-fonts/1"
COVERAGE_FORMAT = "synprobe-coverage/1"
FONT_SUFFIXES = (".ttf", ".otf", ".ttc")


@dataclass(frozen=True)
class FontEntry:
    """One font face of the registry (a manifest entry with an absolute path)."""

    id: str
    path: Path
    family: str
    style: str
    sha256: str
    license: str
    source: str
    scripts: tuple[str, ...]
    bold: str | None
    role: str


def _read_json(path: Path, fmt: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FontError(f"{path}: missing") from None
    except ValueError as e:
        raise FontError(f"{path}: not valid JSON ({e})") from None
    if data.get("format") != fmt:
        raise FontError(f"{path}: format is {data.get('format')!r}, expected {fmt!r}")
    return data


class FontRegistry:
    """Bundled + user fonts with their audited coverage. Build with :meth:`load`."""

    def __init__(self) -> None:
        self._entries: dict[str, FontEntry] = {}
        self._chars: dict[str, dict[str, str]] = {}
        self._sets: dict[str, frozenset[str]] = {}
        self._drawn: dict[str, str] = {}
        self._tiers: dict[str, dict[str, str]] = {}  # font -> script -> tier (legibility.json)
        self._bad: dict[str, frozenset[str]] = {}  # font -> chars whose pair is not legible
        self._legible: dict[str, str] = {}
        self.legibility_notes: list[str] = []  # one line per folder whose legibility.json is stale
        self.dropped: dict[str, str] = {}
        self.missing: dict[str, str] = {}
        self.dirs: list[Path] = []
        self.manifest_sha256 = ""

    @classmethod
    def load(cls, extra_dirs=None, *, user: bool = True) -> FontRegistry:
        """Read the bundled fonts, the user's fonts (if any) and ``extra_dirs`` (each a folder
        with ``manifest.json`` and ``coverage.json``). Ids must be unique across folders."""
        reg = cls()
        dirs = [bundled("fonts")]
        udir = user_home() / "fonts"
        if user and (udir / "manifest.json").is_file():
            dirs.append(udir)
        dirs += [Path(d) for d in (extra_dirs or ())]
        for i, d in enumerate(dirs):
            reg._add_dir(Path(d), primary=(i == 0))
        return reg

    def _add_dir(self, d: Path, primary: bool) -> None:
        raw = (d / "manifest.json").read_bytes() if (d / "manifest.json").is_file() else None
        if raw is None:
            raise FontError(f"{d / 'manifest.json'}: missing; is this a synprobe fonts folder?")
        sha = hashlib.sha256(raw).hexdigest()
        man = json.loads(raw)
        if man.get("format") != MANIFEST_FORMAT:
            raise FontError(f"{d / 'manifest.json'}: format is {man.get('format')!r}, "
                            f"expected {MANIFEST_FORMAT!r}")
        cov = _read_json(d / "coverage.json", COVERAGE_FORMAT)
        if cov.get("manifest_sha256") != sha:
            raise FontError(f"{d / 'coverage.json'}: stale (made for another manifest.json); "
                            "run `synprobe fonts check --write`")
        if primary:
            self.manifest_sha256 = sha
            self.missing = dict(man.get("missing", {}))
        self.dirs.append(d)
        self.dropped.update(cov.get("dropped", {}))
        root = d.resolve()  # once: resolving a thousand font paths took 50 ms per process
        for e in man["fonts"]:
            if e["id"] in self._entries:
                raise FontError(f"{d / 'manifest.json'}: font id {e['id']!r} already defined")
            self._entries[e["id"]] = FontEntry(
                id=e["id"], path=root / e["file"], family=e["family"],
                style=e["style"], sha256=e["sha256"], license=e["license"],
                source=e["source"], scripts=tuple(e["scripts"]), bold=e.get("bold"),
                role=e.get("role", "regular"))
            self._chars[e["id"]] = cov["fonts"].get(e["id"], {})
        fix = legibility.TOOL if primary else "synprobe fonts check --write"
        tiers, bad, note = legibility.read(d, man, sha, cov.get("dropped", {}), fix)
        self._tiers.update(tiers)
        self._bad.update(bad)
        if note:
            self.legibility_notes.append(note)

    # --- queries ---------------------------------------------------------------------------
    def entry(self, font_id: str) -> FontEntry:
        try:
            return self._entries[font_id]
        except KeyError:
            close = difflib.get_close_matches(font_id, list(self._entries), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else (
                "; see `synprobe fonts list`")
            raise FontError(f"unknown font id {font_id!r}{hint}") from None

    def ids(self, script: str | None = None, role: str | None = "regular",
            tiers: tuple[str, ...] | None = None) -> tuple[str, ...]:
        """Sorted ids of kept (not dropped) fonts, covering ``script`` if given; ``role`` None
        means every role (``regular`` and ``bold``); ``tiers`` (e.g. ``("legible",)``) keeps
        the fonts of those legibility tiers (for ``script``, or their best script)."""
        if script is not None and script not in ALPHABETS:
            raise FontError(f"unknown script {script!r}; one of {', '.join(ALPHABETS)}")
        return tuple(sorted(
            i for i, e in self._entries.items()
            if i not in self.dropped and (role is None or e.role == role)
            and (script is None or script in self._chars[i])
            and (tiers is None or self.tier(i, script) in tiers)))

    def tier(self, font_id: str, script: str | None = None) -> str:
        """Legibility tier (``legible``, ``decorative``, ``illegible``) of the font for
        ``script``, or its best over its scripts; ``unaudited`` when legibility.json has no
        current entry for it (bold faces: their regular face's pairs decide)."""
        self.entry(font_id)
        t = self._tiers.get(font_id)
        if t is None:
            return "unaudited"
        if script is not None:
            return t.get(script, "illegible")
        return min(t.values(), key=legibility.TIERS.index) if t else "illegible"

    def legible(self, font_id: str) -> str:
        """The drawn characters whose (font, char) pair is legible, as one string (unsorted,
        may repeat): not in a script where the font is illegible, score >= the pair threshold.
        Empty for an unaudited font."""
        t = self._legible.get(font_id)
        if t is None:
            tiers = self._tiers.get(font_id)
            if tiers is None:
                t = ""
            else:
                bad = set(self._bad.get(font_id, ()))
                for s, cs in self._chars[font_id].items():
                    if tiers.get(s) == "illegible":
                        bad.update(cs)
                t = "".join(c for c in self.drawn(font_id) if c not in bad)
            self._legible[font_id] = t
        return t

    def chars(self, font_id: str, script: str) -> str:
        """The characters of ``script`` the font draws (audited); '' when not covered."""
        self.entry(font_id)
        return self._chars[font_id].get(script, "")

    def scripts(self, font_id: str) -> tuple[str, ...]:
        """Scripts the font covers according to its audit."""
        self.entry(font_id)
        return tuple(self._chars[font_id])

    def charset(self, font_id: str) -> frozenset[str]:
        """Every character the font draws (audited), all scripts together."""
        s = self._sets.get(font_id)
        if s is None:
            s = self._sets[font_id] = frozenset(self.drawn(font_id))  # (drawn checks the id)
        return s

    def drawn(self, font_id: str) -> str:
        """Every character the font draws (audited), as one string (unsorted; may repeat)."""
        t = self._drawn.get(font_id)
        if t is None:
            self.entry(font_id)
            t = self._drawn[font_id] = "".join(self._chars[font_id].values())
        return t

    def supports(self, font_id: str, char: str) -> bool:
        return char in self.charset(font_id)

    def require(self, font_id: str, char: str) -> None:
        """Raise :class:`FontCoverageError` unless the audit says the font draws ``char``."""
        if not self.supports(font_id, char):
            script = next((s for s, a in ALPHABETS.items() if char in a.chars), "latin")
            raise FontCoverageError(
                f"font {font_id!r} does not draw {char!r} (U+{ord(char):04X}) according to its "
                f"audit; choose chars from `synprobe fonts list --script {script}`")

    def common_chars(self, font_ids, script: str) -> str:
        """Characters of ``script`` (alphabet order) that every one of ``font_ids`` draws."""
        sets = [set(self.chars(i, script)) for i in font_ids]
        return "".join(c for c in ALPHABETS[script].chars if all(c in s for s in sets))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, font_id: object) -> bool:
        return font_id in self._entries


def verify(registry: FontRegistry) -> list[str]:
    """Check every font file against its manifest sha256; one line per problem."""
    problems = []
    for fid in sorted(registry._entries):
        e = registry._entries[fid]
        if not e.path.is_file():
            problems.append(f"{fid}: file missing: {e.path}")
        elif file_sha256(e.path) != e.sha256:
            problems.append(f"{fid}: sha256 mismatch for {e.path}")
    return problems


# --- audits and writing --------------------------------------------------------------------
def audit_dir(d: Path, workers: int | None = None) -> dict:
    """Audit every font of the folder ``d``'s manifest; return its coverage document."""
    from . import fontaudit

    raw = (d / "manifest.json").read_bytes()
    man = json.loads(raw)
    entries = man["fonts"]
    jobs = [(e["id"], str(d / e["file"])) for e in entries]
    if workers == 1 or len(jobs) < 8:
        results = [_audit_job(j) for j in jobs]
    else:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(workers) as pool:
            results = pool.map(_audit_job, jobs, chunksize=4)
    fonts, dropped, probes = {}, {}, {}
    for fid, cov, probe, err in results:
        if err:
            dropped[fid] = err
            continue
        fonts[fid] = {s: "".join(c) for s, c in cov.items()}
        probes[fid] = probe
        if not cov:
            dropped[fid] = "covers no script (>= 80% of an alphabet, 95% for CJK)"
    role = {e["id"]: e.get("role", "regular") for e in entries}
    for e in entries:  # a heavy face standing in for its family would be recorded as bold=False
        if role[e["id"]] == "regular" and e["id"] in fonts and _HEAVY.search(e.get("style", "")):
            dropped[e["id"]] = (f"a {e['style']!r} face with no regular face of its family bundled: "
                                "glyphs drawn with it would be recorded as not bold")
    order = sorted((f for f in fonts if role[f] == "regular" and f not in dropped),
                   key=lambda f: (-len(fonts[f]), f))
    for fid, per_script in fontaudit.dedup(probes, order).items():
        for script in per_script:
            del fonts[fid][script]
        if not fonts[fid]:
            dropped[fid] = "; ".join(per_script.values())
    return {"format": COVERAGE_FORMAT, "manifest_sha256": hashlib.sha256(raw).hexdigest(),
            "fonts": fonts, "dropped": dropped}


_HEAVY = re.compile(r"bold|black|heavy", re.IGNORECASE)


def _audit_job(job):
    from . import fontaudit

    fid, path = job
    try:
        cov = fontaudit.audit_font(path)
        probe = fontaudit.probe_font(path, {s: "".join(c) for s, c in cov.items()})
        return fid, cov, probe, None
    except FontError as e:
        return fid, {}, {}, str(e)


def _dump(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n",
                    encoding="utf-8")


def write_coverage(d: Path | None = None, workers: int | None = None) -> dict:
    """Audit the folder's fonts and (re)write its ``coverage.json``; return the document."""
    d = Path(d) if d is not None else bundled("fonts")
    doc = audit_dir(d, workers)
    _dump(d / "coverage.json", doc)
    return doc


def add_fonts(src_dir: str | Path) -> list[str]:
    """Copy the .ttf/.otf/.ttc fonts of ``src_dir`` into ``user_home()/fonts``, audit them and
    update the user manifest and coverage. TTC collections are split into single fonts.
    Returns the ids added (``user/<file-stem>``); raises :class:`FontError` when a file is not a
    usable outline font or when nothing usable is found."""
    from . import fontaudit

    src = Path(src_dir)
    if not src.is_dir():
        raise FontError(f"{src}: not a folder")
    files = sorted(p for p in src.iterdir() if p.is_file() and p.suffix.lower() in FONT_SUFFIXES)
    if not files:
        raise FontError(f"{src}: no .ttf, .otf or .ttc files")
    dest = user_home() / "fonts"
    (dest / "files").mkdir(parents=True, exist_ok=True)
    mpath = dest / "manifest.json"
    man = (_read_json(mpath, MANIFEST_FORMAT) if mpath.is_file()
           else {"format": MANIFEST_FORMAT, "fonts": [], "missing": {}})
    known = {e["id"] for e in man["fonts"]}
    bundled_ids = set(FontRegistry.load(user=False).ids(role=None)) | set(known)
    staged: list[tuple[Path, str]] = []
    for p in files:
        for name, data in _split(p):
            tmp = dest / "files" / (name + ".part")
            tmp.write_bytes(data)
            try:
                cov = fontaudit.audit_font(tmp)
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
        man["fonts"].append(_user_entry(fid, final, dest))
        known.add(fid)
        added.append(fid)
    man["fonts"].sort(key=lambda e: e["id"])
    _dump(mpath, man)
    write_coverage(dest, workers=1)
    legibility.write_user(dest)
    return added


def _user_entry(fid: str, path: Path, dest: Path) -> dict:
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True) as f:
        name = f["name"]
        family = (name.getDebugName(16) or name.getDebugName(1) or path.stem).strip()
        style = (name.getDebugName(17) or name.getDebugName(2) or "Regular").strip()
    from . import fontaudit

    cov = fontaudit.audit_font(path)
    return {"id": fid, "file": str(path.relative_to(dest)), "family": family, "style": style,
            "sha256": file_sha256(path), "license": "user-supplied", "license_file": None,
            "source": f"user:{path.name}", "scripts": sorted(cov), "bold": None,
            "subset": False, "role": "regular"}


def _split(p: Path) -> list[tuple[str, bytes]]:
    """(file name, bytes) of each face of a font file; TTC collections are split."""
    if p.suffix.lower() != ".ttc":
        return [(p.name, p.read_bytes())]
    import io

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
