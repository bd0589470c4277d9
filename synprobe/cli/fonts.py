"""``synprobe fonts``: list, check and add fonts.

Root group wiring (in ``synprobe/cli/__init__.py``)::

    from synprobe.cli.fonts import fonts
    main.add_command(fonts)
"""

from __future__ import annotations

import json

import click

from synprobe.cli._errors import friendly_errors
from synprobe.scripts import ALPHABETS


def _registry():
    from synprobe.fonts import FontRegistry

    return FontRegistry.load()


@click.group("fonts")
def fonts() -> None:
    """Bundled and user fonts, and their audited glyph coverage."""


@fonts.command("list")
@click.option("--script", type=click.Choice(list(ALPHABETS)), default=None, help="Only fonts that cover this script.")
@click.option(
    "--tier",
    type=click.Choice(["legible", "decorative", "illegible", "all"]),
    default="all",
    help="Only fonts of this legibility tier (for --script, else their best script).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--all-roles", is_flag=True, help="Also list bold faces.")
@friendly_errors
def list_cmd(script, tier, as_json, all_roles) -> None:
    """List fonts: id, family, style, tier, scripts, number of chars (legible/drawn), licence."""
    reg = _registry()
    for note in reg.legibility_notes:
        click.echo(note, err=True)
    tiers = None if tier == "all" else (tier,)
    ids = reg.ids(script, role=None if all_roles else "regular", tiers=tiers)
    rows = []
    for fid in ids:
        e = reg.entry(fid)
        scripts = reg.scripts(fid)
        drawn = reg.chars(fid, script) if script else "".join(reg.chars(fid, s) for s in scripts)
        ok = set(reg.legible(fid))
        rows.append(
            {
                "id": fid,
                "family": e.family,
                "style": e.style,
                "scripts": list(scripts),
                "tier": reg.tier(fid, script) if e.role == "regular" else "bold",
                "n_chars": len(drawn),
                "n_legible": sum(c in ok for c in drawn),
                "license": e.license,
                "role": e.role,
            }
        )
    counts = {s: len(reg.ids(s)) for s in ([script] if script else ALPHABETS)}
    by_tier = {s: {t: len(reg.ids(s, tiers=(t,))) for t in ("legible", "decorative", "illegible")} for s in counts}
    if as_json:
        click.echo(json.dumps({"fonts": rows, "counts": counts, "tiers": by_tier}, ensure_ascii=False, indent=1))
        return
    click.echo(f"{'id':<44} {'family':<28} {'style':<12} {'tier':<10} scripts legible/drawn licence")
    for r in rows:
        click.echo(
            f"{r['id']:<44} {r['family'][:28]:<28} {r['style'][:12]:<12} {r['tier']:<10} "
            f"{','.join(r['scripts'])} {r['n_legible']}/{r['n_chars']} {r['license']}"
        )
    click.echo("fonts per script: " + ", ".join(f"{s}={n}" for s, n in counts.items()))
    click.echo(
        "legible/decorative/illegible: "
        + ", ".join(f"{s}={t['legible']}/{t['decorative']}/{t['illegible']}" for s, t in by_tier.items())
    )


@fonts.command("check")
@click.option("--write", is_flag=True, help="Rewrite coverage.json (and legibility.json) from the fresh audits.")
@click.option("--workers", type=int, default=None, help="Audit processes (default: all cores).")
@click.option(
    "--legibility/--no-legibility",
    default=True,
    help="Re-audit legibility too (bundled fonts: trains the classifier, minutes; needs torch).",
)
@friendly_errors
def check_cmd(write, workers, legibility) -> None:
    """Re-audit every bundled and user font, verify checksums, compare with coverage.json and
    legibility.json."""
    from synprobe.fonts import audit_dir, dump_json, verify
    from synprobe.paths import bundled, user_home

    reg = _registry() if not write else None
    problems = verify(reg) if reg is not None else []

    dirs = [bundled("fonts")]
    if (user_home() / "fonts" / "manifest.json").is_file():
        dirs.append(user_home() / "fonts")
    for d in dirs:
        fresh = audit_dir(d, workers)
        if write:
            dump_json(d / "coverage.json", fresh)
            click.echo(f"wrote {d / 'coverage.json'}: {len(fresh['fonts'])} fonts, {len(fresh['dropped'])} dropped")
            continue
        try:
            old = json.loads((d / "coverage.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise click.ClickException(f"{d / 'coverage.json'}: unreadable ({e})") from None
        problems += _diff(old, fresh)
    if write:
        if legibility:
            _legibility(dirs, write=True)
        return
    problems += _legibility(dirs, write=False) if legibility else _legibility_current()
    for p in problems:
        click.echo(p)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s); run `synprobe fonts check --write` after review")
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


def _legibility_current() -> list[str]:
    """Without a re-audit: legibility.json must be current for every folder's manifest."""
    click.echo("legibility: re-audit skipped (--no-legibility); checked that legibility.json is current")
    return list(_registry().legibility_notes)


def _legibility(dirs, write: bool) -> list[str]:
    """Re-audit legibility: user folders with the shipped model (numpy), the bundled folder by
    retraining the classifiers leave-fonts-out when torch is installed; tier differences."""
    from synprobe.fonts import FontRegistry
    from synprobe.fonts import legibility as leg

    problems = []
    try:
        import torch  # noqa: F401
    except ImportError:
        click.echo(
            "legibility: bundled re-audit skipped (it trains a classifier and needs torch: "
            "pip install -e '.[train]'); checked that legibility.json is current"
        )
        problems += _registry().legibility_notes
    else:
        from synprobe.fonts.legibility_train import audit

        click.echo("legibility: re-auditing the bundled fonts (trains the classifiers, a few minutes)")
        fresh, weights = audit(FontRegistry.load(user=False), log=click.echo)
        problems += _apply(dirs[0], fresh, write, weights)
    for d in dirs[1:]:
        problems += _apply(d, leg.user_doc(d), write)
    return problems


def _apply(d, fresh, write: bool, weights=None) -> list[str]:
    """Write ``fresh`` (and the bundled ``weights``) into folder d, or list how it differs from
    the stored legibility.json."""
    import numpy as np

    from synprobe.fonts import legibility as leg

    path = d / "legibility.json"
    if write:
        if weights is not None:
            np.savez_compressed(d / leg.MODEL_FILE, **weights)
        leg.dump(path, fresh)
        click.echo(f"wrote {path}")
        return []
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return [f"{path}: unreadable ({e})"]
    out = (
        []
        if old.get("manifest_sha256") == fresh["manifest_sha256"]
        else [f"{path} was made for another manifest.json"]
    )
    for fid in sorted(set(old["fonts"]) | set(fresh["fonts"])):
        a, b = old["fonts"].get(fid, {}).get("tiers"), fresh["fonts"].get(fid, {}).get("tiers")
        if a != b:
            out.append(f"{fid}: legibility tiers {a} in legibility.json, {b} in the fresh audit")
    return out


@fonts.command("add")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@friendly_errors
def add_cmd(directory) -> None:
    """Add the .ttf/.otf/.ttc fonts of DIRECTORY to the user fonts (audited on the way)."""
    from synprobe.fonts import add_fonts

    ids = add_fonts(directory)
    reg = _registry()
    for i in ids:
        click.echo(f"added {i} ({reg.tier(i)}: {len(reg.legible(i))} of {len(reg.drawn(i))} drawn chars legible)")
