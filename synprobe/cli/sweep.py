"""``synprobe sweep``: a grid of ``synprobe run`` settings x seeds, one run folder per cell, locally or on Ray."""

from __future__ import annotations

import click

from synprobe.cli._errors import friendly_errors


@click.command("sweep")
@click.argument("sweep_file", metavar="SWEEP.toml", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Sweep folder: one run folder per cell (CELL/seed-S), and sweep.json.",
)
@click.option(
    "--backend",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: this machine; ray: Ray tasks with the file's num_cpus/num_gpus per cell.",
)
@click.option("--address", help="Ray cluster to join (ray://HOST:10001); default $RAY_ADDRESS, else a local Ray.")
@click.option("--jobs", type=int, help="Cells at once (local: processes [1]; ray: tasks in flight [all]).")
@click.option("--overwrite", is_flag=True, help="Train every cell again, replacing finished runs.")
@click.option("-q", "--quiet", is_flag=True, help="Only failures and the last line.")
@friendly_errors
def sweep(sweep_file, out, backend, address, jobs, overwrite, quiet):
    """Train every cell of SWEEP.toml ([base] options, [grid] lists, [sweep] seeds) into -o SWEEP_DIR.

    Each cell's run folder is the one 'synprobe run' writes; runs already finished are verified and skipped, so
    running the command again resumes a stopped sweep. Compare the cells: synprobe report SWEEP_DIR --group

    Example: synprobe sweep masking.toml -o runs/masking --backend ray
    """
    import sys

    from synprobe.config import ray_address
    from synprobe.sweep import SweepError, load_sweep, run_sweep

    spec = load_sweep(sweep_file)
    if backend == "ray" and not address:
        address = ray_address()

    def echo(line: str) -> None:
        if not quiet or "FAILED" in line:
            click.echo(line)

    result = run_sweep(
        spec, out, backend=backend, address=address, jobs=jobs, overwrite=overwrite, argv=sys.argv, echo=echo
    )
    n, failed = len(spec.cells), result["failed"]
    tail = f"{len(result['done'])} trained, {len(result['skipped'])} already finished in {result['wall_s']:.1f} s"
    if failed:
        raise SweepError(f"{out}: {len(failed)} of {n} runs failed ({tail}); run the command again to retry them")
    click.echo(f"{out}: {n} runs ({tail}); compare them: synprobe report {out} --group")
