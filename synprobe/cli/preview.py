"""``synprobe preview RECIPE|FILE -o grid.png``."""

from __future__ import annotations

import click

from synprobe.cli._errors import friendly_errors


@click.command("preview")
@click.argument("source")
@click.option("-o", "--out", type=click.Path(dir_okay=False), required=True, help="PNG to write.")
@click.option("--rows", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option("--cols", type=click.IntRange(1, 64), default=12, show_default=True)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True,
              help="Seed when SOURCE is a recipe.")
@click.option("--cell", type=click.IntRange(8, 512), default=96, show_default=True,
              help="Displayed size of each image, in pixels.")
@click.option("--labels/--no-labels", default=True, show_default=True,
              help="Write each image's character under it.")
@friendly_errors
def preview(source, out, rows, cols, seed, cell, labels):
    """Save a grid of images from a dataset FILE (.h5) or rendered from a RECIPE."""
    from pathlib import Path

    from synprobe.preview import preview_file, preview_recipe

    p = Path(source)
    if p.suffix in (".h5", ".hdf5", ".h5py") or _is_hdf5(p):
        preview_file(p, out, rows=rows, cols=cols, cell=cell, labels=labels)
    else:
        preview_recipe(source, out, rows=rows, cols=cols, seed=seed, cell=cell, labels=labels)
    click.echo(f"wrote {out}")


def _is_hdf5(p) -> bool:
    """Whether a regular file starts with HDF5's signature (reads 8 bytes, not the file)."""
    if not p.is_file():
        return False
    with open(p, "rb") as f:
        return f.read(8) == b"\x89HDF\r\n\x1a\n"
