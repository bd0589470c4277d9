"""``synprobe memorization``: Feldman–Zhang memorization scores from K trainings on random subsets."""

from __future__ import annotations

import click

from synprobe.cli._errors import friendly_errors
from synprobe.cli.train_options import train_config, training_options


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


@click.command("memorization")
@click.argument("stream")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="Output directory to write.")
@click.option("--runs", type=int, default=10, show_default=True, help="Training runs K (>= 2).")
@click.option("--subset", type=float, default=0.7, show_default=True,
              help="Fraction of the training rows each run keeps (0 < R < 1).")
@training_options
@click.option("--seed", type=int, help="Seed of the subsets; run t trains with seed S + t. [0]")
@friendly_errors
def memorization(stream, data, out, runs, subset, config_file, device, overwrite, no_plots, quiet, **opts):
    """Feldman–Zhang memorization of every training row of STREAM, from --runs trainings on random subsets.

    Run t trains on a random --subset fraction of the stream's distinct training rows (removed from every
    task) with seed S + t; mem_i = P(correct | i trained) - P(correct | i left out), with "correct" meaning
    the prediction equals the row's observed (possibly noisy) label. See docs/memorization.md.

    Example: synprobe memorization noisy-40-sym --data default.h5 -o runs/fz --runs 20 --epochs 5
    """
    import sys

    from synprobe.harness.memorization import estimate

    cfg = train_config(config_file, opts)
    s = estimate(stream, data, cfg, runs=runs, subset=subset, device=device, out=out, progress=not quiet,
                 overwrite=overwrite, plots=not no_plots, argv=sys.argv)
    mm, gt, acc = s["mem_mean"], s["mem_gt_half"], s["test_acc"]
    click.echo(f"{out}: {s['runs']} runs on {s['subset_size']:,} of {s['n_rows']:,} training rows "
               f"in {s['time_s']:.1f} s on {s['device']}")
    click.echo(f"mean memorization: clean {_fmt(mm['clean'])} ({s['n_clean']:,} rows), noisy {_fmt(mm['noisy'])} "
               f"({s['n_noisy']:,} rows); mem > 0.5: clean {_fmt(gt['clean'])}, noisy {_fmt(gt['noisy'])}")
    if s["eval_set"] is not None and acc["mean"] is not None:
        click.echo(f"test accuracy ({s['eval_set']}): {acc['mean']:.3f} ± {acc['std']:.3f} over {s['runs']} runs")
