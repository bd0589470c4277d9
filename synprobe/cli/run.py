"""``synprobe run``: train a model over a scenario stream and write a run directory."""

from __future__ import annotations

import click

from synprobe.cli._errors import friendly_errors
from synprobe.cli.train_options import logger_options, make_loggers, train_config, training_options


@click.command("run")
@click.argument("stream")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="Run directory to write.")
@training_options
@logger_options
@click.option("--reset-optimizer/--keep-optimizer", default=None, help="Fresh optimizer state every task. [keep]")
@click.option("--eval-every-tasks", type=int, help="Evaluate every k tasks; 0 = at the end only. [1]")
@click.option("--ood-every-tasks", type=int, help="Evaluate the non-iid sets every k tasks. [T/20]")
@click.option("--eval-every-steps", type=int, help="Also evaluate every n steps (stability gap). [0]")
@click.option("--eval-every-epochs", type=int, help="Also evaluate every n epochs within a task. [0]")
@click.option("--eval-sets", help="Comma-separated eval sets of the stream to use. [all]")
@click.option("--memorization/--no-memorization", default=None, help="ELR fractions at every eval. [if noisy]")
@click.option("--seed", type=int, help="Seed of model init, batch order, augmentation, replay. [0]")
@click.option("--seeds", help="Several seeds, e.g. 0,1,2 or 0-4: one run each, in RUN_DIR/seed-S.")
@click.option("--jobs", type=int, default=1, show_default=True,
              help="With --seeds: train this many seeds at once, each in its own process with its share of the "
                   "cores (faster in total on CPU for small networks).")
@friendly_errors
def run_cmd(stream, data, out, config_file, device, overwrite, no_plots, quiet, seeds, jobs, logger_names, logger_args,
            **opts):
    """Train over STREAM (a scenario recipe name/path, or a stream .npz) on --data; write -o RUN_DIR.

    Example: synprobe run scole-10c-2pt --data default.h5 -o runs/a
    """
    import sys

    from synprobe.harness.errors import HarnessError
    from synprobe.harness.train import run

    cfg = train_config(config_file, opts)
    loggers = make_loggers(logger_names, logger_args)
    if seeds is None:
        if jobs != 1:
            raise HarnessError("--jobs: only with --seeds (several runs)")
        _one(run(stream, data, cfg, out, device=device, progress=not quiet, overwrite=overwrite, argv=sys.argv,
                 plots=not no_plots, callbacks=loggers), out)
        return
    from synprobe.harness.seeds import parse_seeds, run_seeds

    if opts.get("seed") is not None:
        raise HarnessError("--seed and --seeds: give one of them")
    results = run_seeds(stream, data, cfg, out, parse_seeds(seeds), jobs=jobs, device=device, overwrite=overwrite,
                        plots=not no_plots, progress=not quiet, argv=sys.argv, callbacks=loggers,
                        on_done=lambda seed, s, d: _one(s, d))
    finals = [s["final"].get(s["iid_set"]) if s.get("iid_set") else None for s in results.values()]
    ok = [f for f in finals if f is not None]
    if ok:
        import statistics

        sd = f" ± {statistics.stdev(ok):.3f}" if len(ok) > 1 else ""
        click.echo(f"{out}: {len(ok)} seeds, final iid accuracy {statistics.mean(ok):.3f}{sd}  "
                   f"(synprobe report {out}/seed-* --group)")


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _one(s: dict, out) -> None:
    fin = ", ".join(f"{k} {v:.3f}" for k, v in s["final"].items())
    ka = s.get("ka") or {}
    click.echo(f"{out}: {s['tasks']} tasks, {s['train_samples']:,} samples in {s['time_s']:.1f} s "
               f"({s['samples_per_s']:,.0f} samples/s on {s['device']}, {s.get('amp_used', 'fp32')})")
    click.echo(f"final accuracy: {fin}" + (f"; KA auc {ka['auc']:.3f}" if ka else ""))
    if s.get("memorization"):
        m = s["memorization"]
        click.echo(f"memorization: noisy memorized {_fmt(m['noisy_memorized'])}, noisy correct "
                   f"{_fmt(m['noisy_correct'])}, clean correct {_fmt(m['clean_correct'])}")
