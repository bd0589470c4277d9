"""``synprobe generate RECIPE -n N -o OUT.h5``."""

from __future__ import annotations

import click

from synprobe.cli._errors import friendly_errors
from synprobe.cli.options import parse_resolution


@click.command("generate")
@click.argument("recipe")
@click.option("-n", "n", type=click.IntRange(min=1), required=True, help="Number of images.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), required=True, help="Output HDF5 file.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True, help="Dataset seed.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes [default: all cores].")
@click.option("--resolution", callback=parse_resolution, default=None,
              help="Override the recipe's size: 64 or HxW (8..256).")
@click.option("--resume", is_flag=True, help="Finish an interrupted run (OUT.partial/).")
@click.option("--overwrite", is_flag=True, help="Replace OUT / discard an unfinished run.")
@click.option("--compression", type=click.Choice(["lzf", "gzip"]), default=None,
              help="Compress images (smaller, slower) [default: none].")
@click.option("--preview/--no-preview", default=True, show_default=True,
              help="Also write OUT_preview.png (an image grid).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: worker processes here; ray: Ray tasks render shards, merged here (same bytes).")
@click.option("--address", default=None, metavar="ADDR",
              help="--backend ray: the Ray cluster [default: $RAY_ADDRESS, else a Ray on this machine].")
@click.option("--shard-rows", type=click.IntRange(min=1), default=None,
              help="--backend ray: rows per task and shard file [default: 16 MB of pixels].")
@friendly_errors
def generate(recipe, n, out, seed, workers, resolution, resume, overwrite, compression, preview, quiet, backend,
             address, shard_rows):
    """Generate N images of RECIPE (a bundled name, see `synprobe recipes`, or a TOML file)."""
    from pathlib import Path

    _check_backend_options(backend, workers, address, shard_rows)
    try:
        if backend == "ray":
            from synprobe.shards import generate_ray

            res = generate_ray(recipe, n, out, seed=seed, resolution=resolution, address=address,
                               shard_rows=shard_rows, resume=resume, overwrite=overwrite, compression=compression,
                               progress=not quiet)
        else:
            from synprobe.generator import generate as run

            res = run(recipe, n, out, seed=seed, workers=workers, resolution=resolution, resume=resume,
                      overwrite=overwrite, compression=compression, progress=not quiet)
    except KeyboardInterrupt:
        partial = Path(out).with_name(Path(out).name + ".partial")
        shards = Path(out).with_name(Path(out).name + ".shards")
        if backend == "ray" and shards.exists():
            click.echo(f"\ninterrupted: the finished shards are kept in {shards}/; run the same command with "
                       "--resume to finish, or with --overwrite to start again", err=True)
        elif partial.exists():
            click.echo(f"\ninterrupted: the finished chunks are kept in {partial}/; run the same command with "
                       "--resume to finish, or with --overwrite to start again", err=True)
        else:
            click.echo("\ninterrupted before anything was written", err=True)
        raise SystemExit(130) from None
    click.echo(f"wrote {res.path} ({res.n} images, {res.seconds:.1f} s, {res.images_per_s:,.0f} images/s)")
    from synprobe.render.backend import kernels

    why = getattr(kernels(), "why", "")
    if why:  # the slower fallback: say so once, with the reason
        click.echo(f"note: rendered with the numba kernels (same bytes, ~0.4 s more start-up): the C kernels "
                   f"could not be built: {why}", err=True)
    if preview:
        from synprobe.preview import preview_file

        p = Path(out)
        png = p.with_name(p.stem + "_preview.png")
        preview_file(p, png)
        click.echo(f"wrote {png}")


def _check_backend_options(backend: str, workers, address, shard_rows) -> None:
    """Options of one backend given to the other: one line, not silently ignored."""
    if backend == "ray" and workers is not None:
        raise click.UsageError("--workers: applies to --backend local (Ray schedules its own workers)")
    if backend == "local" and (address is not None or shard_rows is not None):
        flag = "--address" if address is not None else "--shard-rows"
        raise click.UsageError(f"{flag}: applies to --backend ray only")
