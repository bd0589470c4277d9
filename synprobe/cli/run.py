"""``synprobe run``: train a model over a scenario stream and write a run directory."""

from __future__ import annotations

import click

from synprobe.cli import friendly_errors


def _kv(ctx, param, values):
    """``k=v`` pairs to a dict; values parsed as TOML scalars/arrays (``hidden=[128,128]``)."""
    import tomllib

    out = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", ctx=ctx, param=param)
        try:
            out[key.strip()] = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = raw
    return out


def _load_config(path):
    import tomllib

    from synprobe.harness.errors import HarnessError

    try:
        with open(path, "rb") as f:
            d = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise HarnessError(f"{path}: not valid TOML ({e})") from None
    return d.get("train", d)


@click.command("run")
@click.argument("stream")
@click.option("--data", required=True, type=click.Path(dir_okay=False), help="Dataset file (.h5) the stream indexes.")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="Run directory to write.")
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
@click.option("--reset-optimizer/--keep-optimizer", default=None, help="Fresh optimizer state every task. [keep]")
@click.option("--batch-size", type=int, help="Minibatch size. [64]")
@click.option("--epochs", type=int, help="Epochs per task. [1]")
@click.option("--steps", type=int, help="Optimizer steps per task (instead of epochs).")
@click.option("--masking", type=click.Choice(["none", "group", "seen"]), help="Output masking in the loss. [none]")
@click.option("--loss", type=click.Choice(["ce", "elr"]), help="Training loss. [ce]")
@click.option("--elr-lambda", type=float, help="ELR weight. [3]")
@click.option("--elr-beta", type=float, help="ELR target momentum. [0.7]")
@click.option("--replay", type=click.Choice(["none", "random", "frequency", "reservoir"]), help="Replay. [none]")
@click.option("--replay-arg", "replay_args", multiple=True, callback=_kv, help="Replay keyword, KEY=VALUE.")
@click.option("--augment", type=click.Choice(["none", "shift"]), help="On-device augmentation. [none]")
@click.option("--eval-every-tasks", type=int, help="Evaluate every k tasks; 0 = at the end only. [1]")
@click.option("--ood-every-tasks", type=int, help="Evaluate the non-iid sets every k tasks. [T/20]")
@click.option("--eval-every-steps", type=int, help="Also evaluate every n steps (stability gap). [0]")
@click.option("--eval-every-epochs", type=int, help="Also evaluate every n epochs within a task. [0]")
@click.option("--eval-sets", help="Comma-separated eval sets of the stream to use. [all]")
@click.option("--memorization/--no-memorization", default=None, help="ELR fractions at every eval. [if noisy]")
@click.option("--tasks", type=int, help="Run only the first N tasks.")
@click.option("--seed", type=int, help="Seed of model init, batch order, augmentation, replay. [0]")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--threads", type=int, help="CPU threads for torch. [all cores]")
@click.option("--amp", type=click.Choice(["auto", "bf16", "off"]),
              help="Mixed precision: auto = bf16 on CUDA, fp32 on CPU; bf16 also on CPU. [auto]")
@click.option("--overwrite", is_flag=True, help="Replace an existing run directory.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@friendly_errors
def run_cmd(stream, data, out, config_file, device, overwrite, no_plots, quiet, **opts):
    """Train over STREAM (a scenario recipe name/path, or a stream .npz) on --data; write -o RUN_DIR.

    Example: synprobe run scole-10c-2pt --data default.h5 -o runs/a
    """
    import sys

    from synprobe.harness.config import TrainConfig
    from synprobe.harness.train import run

    base = _load_config(config_file) if config_file else {}
    given = {k: v for k, v in opts.items() if v is not None and v != {}}
    if "eval_sets" in given:
        given["eval_sets"] = [s.strip() for s in given["eval_sets"].split(",") if s.strip()]
    if given.get("clip") == 0:
        given["clip"] = None
    cfg = TrainConfig.from_dict({**base, **given}, source=config_file or "options")
    s = run(stream, data, cfg, out, device=device, progress=not quiet, overwrite=overwrite, argv=sys.argv,
            plots=not no_plots)
    fin = ", ".join(f"{k} {v:.3f}" for k, v in s["final"].items())
    ka = s.get("ka") or {}
    click.echo(f"{out}: {s['tasks']} tasks, {s['train_samples']:,} samples in {s['time_s']:.1f} s "
               f"({s['samples_per_s']:,.0f} samples/s on {s['device']})")
    click.echo(f"final accuracy: {fin}" + (f"; KA auc {ka['auc']:.3f}" if ka else ""))
    if s.get("memorization"):
        m = s["memorization"]
        click.echo(f"memorization: noisy memorized {m['noisy_memorized']:.3f}, noisy correct "
                   f"{m['noisy_correct']:.3f}, clean correct {m['clean_correct']:.3f}")
