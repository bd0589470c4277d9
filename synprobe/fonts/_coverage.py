"""Coverage of a fonts folder: every font of its manifest audited, written to ``coverage.json``.

:func:`audit_dir` runs the glyph audit (:mod:`synprobe.fonts.audit`) over a folder's fonts (in a
process pool), drops heavy faces standing in for a family and near-duplicates, and returns the
coverage document; :func:`write_coverage` (re)writes it.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import re
from pathlib import Path

from synprobe.errors import FontError
from synprobe.fonts._registry import COVERAGE_FORMAT, dump_json
from synprobe.fonts.audit import audit_font, dedup, probe_font
from synprobe.paths import bundled


def audit_dir(d: Path, workers: int | None = None, progress=None) -> dict:
    """Audit every font of the folder ``d``'s manifest; return its coverage document.

    ``progress(n)``, when given, is called with the number of fonts done since its last call."""
    raw = (d / "manifest.json").read_bytes()
    man = json.loads(raw)
    entries = man["fonts"]
    jobs = [(e["id"], str(d / e["file"])) for e in entries]
    tick = progress or (lambda n: None)
    if workers == 1 or len(jobs) < 8:
        results = []
        for j in jobs:
            results.append(audit_job(j))
            tick(1)
    else:
        with mp.get_context("fork").Pool(workers) as pool:
            results = []
            for r in pool.imap(audit_job, jobs, chunksize=4):  # in order, as pool.map
                results.append(r)
                tick(1)
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
        if role[e["id"]] == "regular" and e["id"] in fonts and HEAVY.search(e.get("style", "")):
            dropped[e["id"]] = (
                f"a {e['style']!r} face with no regular face of its family bundled: "
                "glyphs drawn with it would be recorded as not bold"
            )
    order = sorted((f for f in fonts if role[f] == "regular" and f not in dropped), key=lambda f: (-len(fonts[f]), f))
    for fid, per_script in dedup(probes, order).items():
        for script in per_script:
            del fonts[fid][script]
        if not fonts[fid]:
            dropped[fid] = "; ".join(per_script.values())
    return {
        "format": COVERAGE_FORMAT,
        "manifest_sha256": hashlib.sha256(raw).hexdigest(),
        "fonts": fonts,
        "dropped": dropped,
    }


HEAVY = re.compile(r"bold|black|heavy", re.IGNORECASE)


def audit_job(job):
    """(font id, coverage, probe, error or None) of one ``(font id, path)``: a pool worker's task."""
    fid, path = job
    try:
        cov = audit_font(path)
        probe = probe_font(path, {s: "".join(c) for s, c in cov.items()})
        return fid, cov, probe, None
    except FontError as e:
        return fid, {}, {}, str(e)


def write_coverage(d: Path | None = None, workers: int | None = None) -> dict:
    """Audit the folder's fonts and (re)write its ``coverage.json``; return the document."""
    d = Path(d) if d is not None else bundled("fonts")
    doc = audit_dir(d, workers)
    dump_json(d / "coverage.json", doc)
    return doc
