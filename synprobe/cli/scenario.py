"""``synprobe scenario``: build continual-learning streams from scenario recipes, plot them."""

from __future__ import annotations

import click

from synprobe.cli._errors import friendly_errors


@click.group("scenario")
def scenario() -> None:
    """Continual-learning streams from scenario recipes (scenarios/*.toml)."""


@scenario.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly_errors
def list_cmd(as_json):
    """List bundled scenario recipes with their kind and description."""
    import json

    from synprobe.scenarios.recipe import list_scenarios, load_scenario

    rows = []
    for name, path in list_scenarios().items():
        s = load_scenario(path)
        rows.append({"name": name, "kind": s.kind, "description": s.description, "path": str(path)})
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    width = max((len(r["name"]) for r in rows), default=4)
    kw = max((len(r["kind"]) for r in rows), default=4)
    for r in rows:
        click.echo(f"{r['name']:<{width}}  {r['kind']:<{kw}}  {r['description']}")


@scenario.command("build")
@click.argument("recipe")
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False), help="Dataset file (.h5).")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="Stream file to write (.npz).")
@click.option("--seed", type=int, default=None, help="Override the recipe's seed.")
@friendly_errors
def build_cmd(recipe, data, out, seed):
    """Build the stream of RECIPE (a bundled name or a TOML path) over a dataset file."""
    from synprobe.scenarios.recipe import build, summarize

    stream = build(recipe, data, seed=seed)
    stream.save(out)
    s = summarize(stream)
    click.echo(f"{out}: {s['tasks']} tasks, {s['classes']} classes, {s['train_occurrences']:,} training samples "
               f"({s['distinct_train_rows']:,} distinct rows), {s['val_rows']:,} val, "
               f"task size {s['task_size'][0]}..{s['task_size'][1]}, seed {stream.seed}")
    click.echo("eval sets: " + ", ".join(f"{k} ({v:,})" for k, v in s["eval_sets"].items()))
    click.echo(_pool_line(s["held_out"]))
    nz = stream.spec.get("noise")
    if nz:
        click.echo(f"noise: {nz['model']} rate {nz['params'].get('rate', '?')}: {nz['n_flipped']:,} of "
                   f"{nz['n']:,} rows flipped ({nz['rate']:.3f}); {nz['n_occurrences_flipped']:,} of "
                   f"{nz['n_occurrences']:,} training occurrences")


def _pool_line(held: dict) -> str:
    """Which splits the training pool leaves out, and what each costs (a split added to the file
    later is held out only when the recipe names it in ``ood``)."""
    parts = [f"{name} removes {n:,}" for name, n in held["removed"].items()] or ["none"]
    return (f"training pool: {held['train_rows']:,} of the {held['train_part_rows']:,} rows in the train part; "
            f"held-out splits: {', '.join(parts)} (the recipe's `ood` chooses them)")


@scenario.command("show")
@click.argument("stream_file", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="Figure to write (.png).")
@friendly_errors
def show_cmd(stream_file, out):
    """Plot a stream: class x task occurrences, class frequency, label-noise summary."""
    from synprobe.scenarios import Stream
    from synprobe.scenarios.plot import plot_stream

    stream = Stream.load(stream_file)
    plot_stream(stream, out)
    click.echo(f"{out}: timeline of {len(stream)} tasks")
