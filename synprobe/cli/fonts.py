"""``synprobe fonts``: list, check and add fonts.

Root group wiring (in ``synprobe/cli/__init__.py``)::

    from synprobe.cli.fonts import fonts
    main.add_command(fonts)
"""

from __future__ import annotations

import json

import click

from ..errors import SynprobeError
from ..scripts import ALPHABETS


def _registry():
    from ..fonts import FontRegistry

    try:
        return FontRegistry.load()
    except SynprobeError as e:
        raise click.ClickException(str(e)) from None


@click.group("fonts")
def fonts() -> None:
    """Bundled and user fonts, and their audited glyph coverage."""


@fonts.command("list")
@click.option("--script", type=click.Choice(list(ALPHABETS)), default=None,
              help="Only fonts that cover this script.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--all-roles", is_flag=True, help="Also list bold faces.")
def list_cmd(script, as_json, all_roles) -> None:
    """List fonts: id, family, style, scripts, number of chars, licence."""
    reg = _registry()
    ids = reg.ids(script, role=None if all_roles else "regular")
    rows = []
    for fid in ids:
        e = reg.entry(fid)
        scripts = reg.scripts(fid)
        n = len(reg.chars(fid, script)) if script else sum(len(reg.chars(fid, s)) for s in scripts)
        rows.append({"id": fid, "family": e.family, "style": e.style, "scripts": list(scripts),
                     "n_chars": n, "license": e.license, "role": e.role})
    counts = {s: len(reg.ids(s)) for s in ([script] if script else ALPHABETS)}
    if as_json:
        click.echo(json.dumps({"fonts": rows, "counts": counts}, ensure_ascii=False, indent=1))
        return
    for r in rows:
        click.echo(f"{r['id']:<44} {r['family'][:28]:<28} {r['style'][:12]:<12} "
                   f"{','.join(r['scripts'])} {r['n_chars']} {r['license']}")
    click.echo("fonts per script: " + ", ".join(f"{s}={n}" for s, n in counts.items()))


@fonts.command("check")
@click.option("--write", is_flag=True, help="Rewrite coverage.json from the fresh audit.")
@click.option("--workers", type=int, default=None, help="Audit processes (default: all cores).")
def check_cmd(write, workers) -> None:
    """Re-audit every bundled and user font, verify checksums, compare with coverage.json."""
    from ..fonts import _dump, audit_dir, verify

    reg = _registry() if not write else None
    problems = verify(reg) if reg is not None else []
    from ..fonts import FontRegistry  # noqa: F401  (dirs from the registry when it loads)
    from ..paths import bundled, user_home

    dirs = [bundled("fonts")]
    if (user_home() / "fonts" / "manifest.json").is_file():
        dirs.append(user_home() / "fonts")
    for d in dirs:
        try:
            fresh = audit_dir(d, workers)
        except SynprobeError as e:
            raise click.ClickException(str(e)) from None
        if write:
            _dump(d / "coverage.json", fresh)
            click.echo(f"wrote {d / 'coverage.json'}: {len(fresh['fonts'])} fonts, "
                       f"{len(fresh['dropped'])} dropped")
            continue
        try:
            old = json.loads((d / "coverage.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise click.ClickException(f"{d / 'coverage.json'}: unreadable ({e})") from None
        problems += _diff(old, fresh)
    if write:
        return
    for p in problems:
        click.echo(p)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s); "
                                   "run `synprobe fonts check --write` after review")
    click.echo("fonts check: all files and coverage tables agree")


def _diff(old: dict, new: dict) -> list[str]:
    out = []
    if old.get("manifest_sha256") != new["manifest_sha256"]:
        out.append("coverage.json was made for another manifest.json")
    for fid in sorted(set(old.get("fonts", {})) | set(new["fonts"])):
        a, b = old.get("fonts", {}).get(fid, {}), new["fonts"].get(fid, {})
        for s in sorted(set(a) | set(b)):
            if a.get(s, "") != b.get(s, ""):
                lost = set(a.get(s, "")) - set(b.get(s, ""))
                extra = set(b.get(s, "")) - set(a.get(s, ""))
                out.append(f"{fid}: {s}: {len(lost)} char(s) no longer drawn, {len(extra)} new")
    for fid in sorted(set(old.get("dropped", {})) ^ set(new["dropped"])):
        out.append(f"{fid}: dropped status differs")
    return out


@fonts.command("add")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
def add_cmd(directory) -> None:
    """Add the .ttf/.otf/.ttc fonts of DIRECTORY to the user fonts (audited on the way)."""
    from ..fonts import add_fonts

    try:
        ids = add_fonts(directory)
    except SynprobeError as e:
        raise click.ClickException(str(e)) from None
    for i in ids:
        click.echo(f"added {i}")
