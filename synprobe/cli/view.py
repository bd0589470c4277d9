"""``synprobe view FILE [--split NAME] [--by ATTR[,ATTR...]] -o out.png``."""

from __future__ import annotations

import click

from synprobe.cli._errors import friendly_errors


@click.command("view")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--out", type=click.Path(dir_okay=False), required=True, help="PNG to write.")
@click.option("--split", "split_name", default="random", show_default=True,
              help="Which split of the file (split/<NAME>) to compare train / val / test over.")
@click.option("--by", default=None, metavar="ATTR[,ATTR...]",
              help="Attributes to plot (default: char, font, scale, rotation where present).")
@click.option("--rows", type=click.IntRange(1, 32), default=4, show_default=True, help="Image grid rows.")
@click.option("--cols", type=click.IntRange(1, 64), default=16, show_default=True, help="Image grid columns.")
@click.option("--top-k", type=click.IntRange(1, 200), default=20, show_default=True,
              help="Most frequent values shown per categorical attribute.")
@friendly_errors
def view(file, out, split_name, by, rows, cols, top_k):
    """Save one PNG of a dataset FILE: an image grid and attribute histograms per split part."""
    from synprobe.view import view_file

    attrs = None if by is None else [a.strip() for a in by.split(",") if a.strip()]
    if attrs is not None and not attrs:
        raise click.BadParameter("expected one or more attribute names", param_hint="--by")
    view_file(file, out, split_name=split_name, by=attrs, rows=rows, cols=cols, top_k=top_k)
    click.echo(f"wrote {out}")
