"""The font registry: the fonts of the bundled and user folders, read from their JSON files.

Holds :class:`FontRegistry` (queries: ids by script, role and legibility tier, the characters a
font draws, the legible ones), :class:`FontEntry` (one manifest entry), :func:`verify` (font files
against their manifest sha256) and the reading and writing of a folder's JSON files
(``manifest.json``, ``coverage.json``; ``legibility.json`` is read by :mod:`.legibility`).
Loading reads only these JSON files, never a font file, so it is fast.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from synprobe.checksum import file_sha256
from synprobe.errors import FontCoverageError, FontError
from synprobe.fonts import legibility
from synprobe.paths import bundled, user_home
from synprobe.scripts import ALPHABETS

MANIFEST_FORMAT = "synprobe-fonts/1"
COVERAGE_FORMAT = "synprobe-coverage/1"


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


def read_json(path: Path, fmt: str) -> dict:
    """A fonts folder's JSON file, checked to be of format ``fmt``; a one-line FontError otherwise."""
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
            raise FontError(f"{d / 'manifest.json'}: format is {man.get('format')!r}, expected {MANIFEST_FORMAT!r}")
        cov = read_json(d / "coverage.json", COVERAGE_FORMAT)
        if cov.get("manifest_sha256") != sha:
            raise FontError(
                f"{d / 'coverage.json'}: stale (made for another manifest.json); run `synprobe fonts check --write`"
            )
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
                id=e["id"],
                path=root / e["file"],
                family=e["family"],
                style=e["style"],
                sha256=e["sha256"],
                license=e["license"],
                source=e["source"],
                scripts=tuple(e["scripts"]),
                bold=e.get("bold"),
                role=e.get("role", "regular"),
            )
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
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ("; see `synprobe fonts list`")
            raise FontError(f"unknown font id {font_id!r}{hint}") from None

    def ids(
        self, script: str | None = None, role: str | None = "regular", tiers: tuple[str, ...] | None = None
    ) -> tuple[str, ...]:
        """Sorted ids of kept (not dropped) fonts, covering ``script`` if given; ``role`` None
        means every role (``regular`` and ``bold``); ``tiers`` (e.g. ``("legible",)``) keeps
        the fonts of those legibility tiers (for ``script``, or their best script)."""
        if script is not None and script not in ALPHABETS:
            raise FontError(f"unknown script {script!r}; one of {', '.join(ALPHABETS)}")
        return tuple(
            sorted(
                i
                for i, e in self._entries.items()
                if i not in self.dropped
                and (role is None or e.role == role)
                and (script is None or script in self._chars[i])
                and (tiers is None or self.tier(i, script) in tiers)
            )
        )

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
                f"audit; choose chars from `synprobe fonts list --script {script}`"
            )

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


def dump_json(path: Path, doc: dict) -> None:
    """Write a fonts folder's JSON file (sorted keys, one space indent: stable diffs)."""
    path.write_text(json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
