"""Fonts: the bundled and user fonts, their manifest, and the audits of what each font draws.

The bundled set lives in ``fonts/`` (see :func:`synprobe.paths.bundled`): ``manifest.json`` lists
every face (file, family, licence, source package, sha256), ``coverage.json`` holds the result of
the glyph audit (:mod:`synprobe.fonts.audit`): per font, per script, the characters the font truly
draws, plus the fonts dropped as near-duplicates; ``legibility.json`` the result of the
legibility audit (:mod:`synprobe.fonts.legibility`, trained by
:mod:`synprobe.fonts.legibility_train`): each font's tier per script and which (font, char) pairs
draw a recognisable letter. Loading reads only these JSON files, never a font file, so it is fast::

    >>> from synprobe.fonts import FontRegistry
    >>> reg = FontRegistry.load()
    >>> fid = reg.ids("greek")[0]
    >>> reg.supports(fid, "α")
    True
    >>> reg.tier("urw-base35/d050000l", "latin")   # Dingbats on Latin code points
    'illegible'

User fonts added with :func:`add_fonts` (``synprobe fonts add DIR``) live in
``user_home()/fonts`` with their own manifest and coverage, in the same formats.

Inside: ``_registry`` (the registry, a folder's JSON files, :func:`verify`), ``_coverage`` (a
folder's glyph audit, ``coverage.json``), ``_user`` (adding user fonts); the audits themselves are
the public modules ``audit``, ``legibility`` and ``legibility_train`` (needs torch, imported there).
"""

from __future__ import annotations

from synprobe.fonts._coverage import audit_dir, write_coverage
from synprobe.fonts._registry import COVERAGE_FORMAT, MANIFEST_FORMAT, FontEntry, FontRegistry, dump_json, verify
from synprobe.fonts._user import add_fonts

__all__ = [
    "COVERAGE_FORMAT",
    "MANIFEST_FORMAT",
    "FontEntry",
    "FontRegistry",
    "add_fonts",
    "audit_dir",
    "dump_json",
    "verify",
    "write_coverage",
]
