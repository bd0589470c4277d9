"""``synprobe memorization``: Feldman–Zhang memorization scores from K trainings on random subsets."""

from __future__ import annotations

import click

from synprobe.cli import friendly_errors
from synprobe.cli.run import _kv, _load_config


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


@click.command("memorization")
@click.argument("stream")
@click.option("--data", required=True, type=click.Path(dir_okay=False), help="Dataset file (.h5) the stream indexes.")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="Output directory to write.")
@click.option("--runs", type=int, default=10, show_default=True, help="Training runs K (>= 2).")
@click.option("--subset", type=float, default=0.7, show_default=True,
              help="Fraction of the training rows each run keeps (0 < R < 1).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True),
              help="TOML file of training settings ([train] table or top level); options below override it.")
@click.option("--model", help="Model name (scole_cnn, resnet20, resnet18, mlp, linear, ...). [scole_cnn]")
@click.option("--model-arg", "model_args", multiple=True, callback=_kv, help="Model keyword, KEY=VALUE (repeatable).")
@click.option("--optimizer", type=click.Choice(["sgd", "adam", "adamw"]), help="Optimizer. [sgd]")
@click.option("--lr", type=float, help="Learning rate. [0.01]")
@click.option("--momentum", type=float, help="SGD momentum. [0]")
@click.option("--weight-decay", type=float, help="Weight decay. [0]")
@click.option("--schedule", type=click.Choice(["constant", "cosine"]), help="Learning-rate schedule. [constant]")
@click.option("--clip", type=float, help="Gradient-norm clip; 0 = off. [10]")
@click.option("--batch-size", type=int, help="Minibatch size. [64]")
@click.option("--epochs", type=int, help="Epochs per task. [1]")
@click.option("--steps", type=int, help="Optimizer steps per task (instead of epochs).")
@click.option("--masking", type=click.Choice(["none", "group", "seen"]), help="Output masking in the loss. [none]")
@click.option("--loss", type=click.Choice(["ce", "elr"]), help="Training loss. [ce]")
@click.option("--replay", type=click.Choice(["none", "random", "frequency", "reservoir"]), help="Replay. [none]")
@click.option("--replay-arg", "replay_args", multiple=True, callback=_kv, help="Replay keyword, KEY=VALUE.")
@click.option("--augment", type=click.Choice(["none", "shift"]), help="On-device augmentation. [none]")
@click.option("--tasks", type=int, help="Use only the first N tasks.")
@click.option("--seed", type=int, help="Seed of the subsets; run t trains with seed S + t. [0]")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--threads", type=int, help="CPU threads for torch. [all cores]")
@click.option("--overwrite", is_flag=True, help="Replace an existing output directory.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@friendly_errors
def memorization(stream, data, out, runs, subset, config_file, device, overwrite, no_plots, quiet, **opts):
    """Feldman–Zhang memorization of every training row of STREAM, from --runs trainings on random subsets.

    Run t trains on a random --subset fraction of the stream's distinct training rows (removed from every
    task) with seed S + t; mem_i = P(correct | i trained) - P(correct | i left out), with "correct" meaning
    the prediction equals the row's observed (possibly noisy) label. See docs/memorization.md.

    Example: synprobe memorization noisy-40-sym --data default.h5 -o runs/fz --runs 20 --epochs 5
    """
    import sys

    from synprobe.harness.config import TrainConfig
    from synprobe.harness.memorization import estimate

    base = _load_config(config_file) if config_file else {}
    given = {k: v for k, v in opts.items() if v is not None and v != {}}
    if given.get("clip") == 0:
        given["clip"] = None
    cfg = TrainConfig.from_dict({**base, **given}, source=config_file or "options")
    s = estimate(stream, data, cfg, runs=runs, subset=subset, device=device, out=out, progress=not quiet,
                 overwrite=overwrite, plots=not no_plots, argv=sys.argv)
    mm, gt, acc = s["mem_mean"], s["mem_gt_half"], s["test_acc"]
    click.echo(f"{out}: {s['runs']} runs on {s['subset_size']:,} of {s['n_rows']:,} training rows "
               f"in {s['time_s']:.1f} s on {s['device']}")
    click.echo(f"mean memorization: clean {_fmt(mm['clean'])} ({s['n_clean']:,} rows), noisy {_fmt(mm['noisy'])} "
               f"({s['n_noisy']:,} rows); mem > 0.5: clean {_fmt(gt['clean'])}, noisy {_fmt(gt['noisy'])}")
    if s["eval_set"] is not None and acc["mean"] is not None:
        click.echo(f"test accuracy ({s['eval_set']}): {acc['mean']:.3f} ± {acc['std']:.3f} over {s['runs']} runs")
