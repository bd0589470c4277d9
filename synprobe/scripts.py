"""Alphabets: the characters synprobe draws for each script.

Synbols takes its characters from ICU exemplar sets. synprobe defines them from Unicode itself so
that no ICU install is needed and the sets are exact and documented:

    >>> from synprobe.scripts import ALPHABETS
    >>> len(ALPHABETS["latin"].chars)
    52

Large scripts (Chinese, Japanese, Korean) use their national standards' first level, decoded with
Python's own codecs: GB 2312 level 1 (3,755 hanzi), JIS X 0208 level 1 (2,965 kanji) plus kana, and
the 2,350 Hangul syllables of KS X 1001.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ALPHABETS", "Alphabet", "SCRIPTS", "SYNBOLS_NAMES"]


@dataclass(frozen=True)
class Alphabet:
    """A named, ordered set of characters of one script.

    Args:
        name: script name used in recipes (``latin``, ``greek``, ...).
        chars: the characters, in a fixed order (codepoint order unless stated).
        synbols_name: the language key Synbols uses for the same script.
    """

    name: str
    chars: tuple[str, ...]
    synbols_name: str


def _range(lo: int, hi: int, *, letters_only: bool = True) -> list[str]:
    """Assigned codepoints in [lo, hi] whose category is a letter (L*), optionally any."""
    out = []
    for cp in range(lo, hi + 1):
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if cat == "Cn":
            continue
        if letters_only and not cat.startswith("L"):
            continue
        out.append(ch)
    return out


def _named(lo: int, hi: int, *words: str) -> list[str]:
    """Letters in [lo, hi] whose Unicode name contains one of ``words``."""
    return [c for c in _range(lo, hi) if any(w in unicodedata.name(c, "") for w in words)]


def _decode_grid(codec: str, rows: range, cols: range = range(0xA1, 0xFF)) -> list[str]:
    """Characters of a two-byte EUC table, row by row (rows/cols are lead/trail bytes)."""
    out = []
    for r in rows:
        for c in cols:
            try:
                ch = bytes([r, c]).decode(codec)
            except UnicodeDecodeError:
                continue
            if len(ch) == 1 and unicodedata.category(ch).startswith("L"):
                out.append(ch)
    return out


def _vietnamese() -> list[str]:
    base = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
    tones = ["\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]
    lower = list(base)
    for v in "aăâeêioôơuưy":
        lower += [unicodedata.normalize("NFC", v + t) for t in tones]
    return lower + [c.upper() for c in lower]


def _latin() -> list[str]:
    lower = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    return lower + [c.upper() for c in lower]


def _greek() -> list[str]:
    lower = [c for c in _range(0x03B1, 0x03C9)]  # includes final sigma
    return lower + [c.upper() for c in lower if c != "ς"]


def _cyrillic() -> list[str]:
    lower = [chr(c) for c in range(0x0430, 0x0450)] + ["ё"]
    return lower + [c.upper() for c in lower]


def _japanese() -> list[str]:
    return _range(0x3041, 0x3096) + _range(0x30A1, 0x30FA) + _decode_grid("euc_jp", range(0xB0, 0xD0))


# script -> (character list builder, Synbols' language key); built on first use
_SPECS = {
    "latin": (_latin, "english"),
    "greek": (_greek, "greek"),
    "cyrillic": (_cyrillic, "russian"),
    "vietnamese": (_vietnamese, "vietnamese"),
    "hebrew": (lambda: _range(0x05D0, 0x05EA), "hebrew"),
    "arabic": (lambda: _named(0x0621, 0x064A, "ARABIC LETTER"), "arabic"),
    "devanagari": (lambda: _named(0x0904, 0x0939, "LETTER"), "hindi"),
    "bengali": (lambda: _named(0x0985, 0x09B9, "LETTER"), "bangla"),
    "gujarati": (lambda: _named(0x0A85, 0x0AB9, "LETTER"), "gujarati"),
    "tamil": (lambda: _named(0x0B85, 0x0BB9, "LETTER"), "tamil"),
    "telugu": (lambda: _named(0x0C05, 0x0C39, "LETTER"), "telugu"),
    "malayalam": (lambda: _named(0x0D05, 0x0D3A, "LETTER"), "malayalam"),
    "thai": (lambda: _range(0x0E01, 0x0E2E), "thai"),
    "khmer": (lambda: _named(0x1780, 0x17B3, "LETTER"), "khmer"),
    "korean": (lambda: _decode_grid("euc_kr", range(0xB0, 0xC9)), "korean"),
    "chinese": (lambda: _decode_grid("gb2312", range(0xB0, 0xD8)), "chinese"),
    "japanese": (_japanese, "japanese"),
}


class _Alphabets(Mapping):
    """script name -> :class:`Alphabet`, each built on first access (decoding the CJK tables took
    20 ms of every process's start-up)."""

    def __init__(self):
        self._built: dict[str, Alphabet] = {}

    def __getitem__(self, name: str) -> Alphabet:
        a = self._built.get(name)
        if a is None:
            build, synbols_name = _SPECS[name]
            a = self._built[name] = Alphabet(name, tuple(dict.fromkeys(build())), synbols_name)
        return a

    def __iter__(self):
        return iter(_SPECS)

    def __len__(self) -> int:
        return len(_SPECS)

    def __contains__(self, name) -> bool:
        return name in _SPECS


ALPHABETS: Mapping[str, Alphabet] = _Alphabets()
SYNBOLS_NAMES: dict[str, str] = {k: v[1] for k, v in _SPECS.items()}  # without building the alphabets
SCRIPTS: tuple[str, ...] = tuple(_SPECS)
