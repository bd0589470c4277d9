"""``synprobe report``: compare finished runs in one table and overlay their curves."""

from __future__ import annotations

import click

from synprobe.cli._errors import friendly_errors


@click.command("report")
@click.argument("run_dirs", nargs=-1, required=True, metavar="RUN_DIR...", type=click.Path(file_okay=False))
@click.option("-o", "--out", "out_dir", default="report", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the overlay plots.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable rows instead of the table.")
@click.option("--no-plots", is_flag=True, help="Only the table (no matplotlib needed).")
@click.option("--group", is_flag=True, help="One row per group of runs that differ only in their seed: mean and std.")
@friendly_errors
def report(run_dirs, out_dir, as_json, no_plots, group):
    """Compare runs written by 'synprobe run -o RUN_DIR': one row per run (model, masking/loss/replay,
    throughput, final iid accuracy, knowledge accumulation, ACC/BWT/forgetting, OOD gaps, memorization),
    plus overlay plots of their curves in OUT_DIR. A SWEEP_DIR ('synprobe sweep -o') stands for its finished
    runs; with --group, also ka_group_overlay.png: mean ± std over the seeds of each group."""
    from synprobe.harness.report import format_table, group_rows, group_runs, row_of, rows_json
    from synprobe.harness.rundir import read_run

    runs = [read_run(d) for d in _expand(run_dirs, err=as_json)]  # a missing or broken run dir is heard of first
    if not no_plots:
        from synprobe.harness.plots import need_matplotlib

        need_matplotlib()  # before any output
    rows = group_rows(runs) if group else [row_of(r) for r in runs]
    click.echo(rows_json(rows) if as_json else format_table(rows))
    if no_plots:
        return
    from synprobe.harness.plots import plot_overlay

    written = plot_overlay(runs, out_dir)
    if group:
        from synprobe.harness.plots import plot_group_overlay

        written += plot_group_overlay(group_runs(runs), out_dir)
    if written:
        click.echo(f"plots: {', '.join(str(p) for p in written)}", err=as_json)
    else:
        click.echo(f"plots: none written to {out_dir} (the runs have no task-end evaluations)", err=as_json)


def _expand(dirs, err: bool) -> list:
    """Run folders, a sweep's folder standing for its finished runs (its unfinished cells said on one line)."""
    from pathlib import Path

    out = []
    for d in dirs:
        if not (Path(d) / "sweep.json").is_file():
            out.append(d)
            continue
        from synprobe.sweep import sweep_runs

        done, missing = sweep_runs(d)
        if missing:
            click.echo(f"{d}: {len(missing)} runs not finished, left out: {', '.join(missing)}", err=True)
        out += done
    if not out:
        from synprobe.harness.errors import HarnessError

        raise HarnessError(f"{', '.join(map(str, dirs))}: no finished runs")
    return out
