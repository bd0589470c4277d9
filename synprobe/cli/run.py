"""``synprobe run``: train a model over a scenario stream and write a run directory."""

from __future__ import annotations

import click

from synprobe.cli import friendly_errors
from synprobe.cli.train_options import train_config, training_options


@click.command("run")
@click.argument("stream")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="Run directory to write.")
@training_options
@click.option("--reset-optimizer/--keep-optimizer", default=None, help="Fresh optimizer state every task. [keep]")
@click.option("--eval-every-tasks", type=int, help="Evaluate every k tasks; 0 = at the end only. [1]")
@click.option("--ood-every-tasks", type=int, help="Evaluate the non-iid sets every k tasks. [T/20]")
@click.option("--eval-every-steps", type=int, help="Also evaluate every n steps (stability gap). [0]")
@click.option("--eval-every-epochs", type=int, help="Also evaluate every n epochs within a task. [0]")
@click.option("--eval-sets", help="Comma-separated eval sets of the stream to use. [all]")
@click.option("--memorization/--no-memorization", default=None, help="ELR fractions at every eval. [if noisy]")
@click.option("--seed", type=int, help="Seed of model init, batch order, augmentation, replay. [0]")
@click.option("--seeds", help="Several seeds, e.g. 0,1,2 or 0-4: one run each, in RUN_DIR/seed-S.")
@friendly_errors
def run_cmd(stream, data, out, config_file, device, overwrite, no_plots, quiet, seeds, **opts):
    """Train over STREAM (a scenario recipe name/path, or a stream .npz) on --data; write -o RUN_DIR.

    Example: synprobe run scole-10c-2pt --data default.h5 -o runs/a
    """
    import sys

    from synprobe.harness.train import run

    cfg = train_config(config_file, opts)
    if seeds is None:
        _one(run(stream, data, cfg, out, device=device, progress=not quiet, overwrite=overwrite, argv=sys.argv,
                 plots=not no_plots), out)
        return
    from dataclasses import replace
    from pathlib import Path

    from synprobe.harness.errors import HarnessError

    if opts.get("seed") is not None:
        raise HarnessError("--seed and --seeds: give one of them")
    finals = []
    for seed in _parse_seeds(seeds):
        d = Path(out) / f"seed-{seed}"
        s = run(stream, data, replace(cfg, seed=seed), d, device=device, progress=not quiet, overwrite=overwrite,
                argv=sys.argv, plots=not no_plots)
        _one(s, d)
        finals.append(s["final"].get(s["iid_set"]) if s.get("iid_set") else None)
    ok = [f for f in finals if f is not None]
    if ok:
        import statistics

        sd = f" ± {statistics.stdev(ok):.3f}" if len(ok) > 1 else ""
        click.echo(f"{out}: {len(ok)} seeds, final iid accuracy {statistics.mean(ok):.3f}{sd}  "
                   f"(synprobe report {out}/seed-* --group)")


def _parse_seeds(text: str) -> list[int]:
    from synprobe.harness.errors import HarnessError

    seeds: list[int] = []
    for part in text.split(","):
        a, sep, b = part.strip().partition("-")
        try:
            seeds += list(range(int(a), int(b) + 1)) if sep else [int(a)]
        except ValueError:
            raise HarnessError(f"--seeds {text!r}: expected integers like 0,1,2 or 0-4") from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise HarnessError(f"--seeds {text!r}: expected distinct integers >= 0")
    return seeds


def _one(s: dict, out) -> None:
    fin = ", ".join(f"{k} {v:.3f}" for k, v in s["final"].items())
    ka = s.get("ka") or {}
    click.echo(f"{out}: {s['tasks']} tasks, {s['train_samples']:,} samples in {s['time_s']:.1f} s "
               f"({s['samples_per_s']:,.0f} samples/s on {s['device']})")
    click.echo(f"final accuracy: {fin}" + (f"; KA auc {ka['auc']:.3f}" if ka else ""))
    if s.get("memorization"):
        m = s["memorization"]
        click.echo(f"memorization: noisy memorized {m['noisy_memorized']:.3f}, noisy correct "
                   f"{m['noisy_correct']:.3f}, clean correct {m['clean_correct']:.3f}")
