"""``synprobe download NAME`` and ``synprobe datasets``: the dataset catalog and its cache."""

from __future__ import annotations

import click

from synprobe.cli._errors import friendly_errors


@click.command("download")
@click.argument("name")
@click.option("--force", is_flag=True, help="Fetch again even if cached (download from zero or regenerate).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes when generating locally [default: all cores].")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or notes; print only the path.")
@friendly_errors
def download(name, force, workers, quiet):
    """Fetch catalog dataset NAME into the cache (verified download, else generated) and print its path.

    The cache is $SYNPROBE_CACHE/datasets; list the catalog with `synprobe datasets`.
    """
    from synprobe.datasets import fetch

    click.echo(str(fetch(name, progress=not quiet, force=force, generate_workers=workers)))


@click.command("datasets")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly_errors
def datasets(as_json):
    """List the dataset catalog: size, source (download or generate) and cache status."""
    import json

    from synprobe.config import cache_home
    from synprobe.datasets import cache_path, cache_status, entry_dict, list_catalog

    rows = []
    for name, e in list_catalog().items():
        rows.append({**entry_dict(e), "status": cache_status(name), "path": str(cache_path(name))})
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    width = max((len(r["name"]) for r in rows), default=4)
    click.echo(f"{'NAME':<{width}}  {'N':>7}  {'SOURCE':<8}  {'CACHE':<7}  DESCRIPTION")
    for r in rows:
        source = "download" if r["urls"] else "generate"
        click.echo(f"{r['name']:<{width}}  {r['n']:>7}  {source:<8}  {r['status']:<7}  {r['description']}")
    click.echo(f"cache: {cache_home() / 'datasets'}")
