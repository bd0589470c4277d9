"""``synprobe recipes``: the bundled generator recipes."""

from __future__ import annotations

import click

from synprobe.cli._errors import friendly_errors


@click.command("recipes")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly_errors
def recipes(as_json):
    """List bundled recipes with their resolution and a one-line description."""
    import json

    from synprobe.recipe import list_recipes, load_recipe

    rows = []
    for name, path in list_recipes().items():
        r = load_recipe(path)
        rows.append({"name": name, "resolution": list(r.resolution), "description": r.description,
                     "path": str(path)})
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        h, w = r["resolution"]
        click.echo(f"{r['name']:<{width}}  {h}x{w:<4} {r['description']}")
