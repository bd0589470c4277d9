"""``synprobe split FILE --kind K --by ATTR``: add a train/val/test split to a finished dataset."""

from __future__ import annotations

import click

from synprobe.cli._errors import friendly_errors

# The same names as synprobe.splits.KINDS (a test checks), listed here so --help stays light.
KINDS = ("random", "stratified", "percentile", "compositional", "interpolation", "extrapolation", "environments")


def _floats(n: int):
    def parse(ctx, param, value):
        if value is None:
            return None
        try:
            out = tuple(float(s) for s in value.split(","))
        except ValueError:
            out = ()
        if len(out) != n:
            raise click.BadParameter(f"{value!r}: expected {n} comma-separated numbers")
        return out

    return parse


def _words(ctx, param, value):
    return None if value is None else [s.strip() for s in value.split(",") if s.strip()]


@click.command("split")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--kind", required=True, type=click.Choice(KINDS), help="Split rule (docs/splits.md).")
@click.option("--by", help="Attribute column (slot 0 of per-symbol columns); two for compositional: char,font.")
@click.option("--ratios", default="0.6,0.2,0.2", show_default=True, callback=_floats(3),
              help="train,val,test; interval and environment kinds use train:val only.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0), help="Seed of every random choice.")
@click.option("--name", help="Stored as split/NAME.  [default: KIND_BY, e.g. stratified_font]")
@click.option("--range", "range_", callback=_floats(2),
              help="lo,hi: held-out range (interpolation) or training range (extrapolation); inf allowed.")
@click.option("--test-values", callback=_words, help="a,b: values held out as test environments.")
@click.option("--val-values", callback=_words, help="a,b: values held out as val environments (default: random).")
@click.option("--balance", type=click.Choice(["values", "samples"]),
              help="stratified: ratios count unique values (default) or samples.")
@click.option("--overwrite", is_flag=True, help="Replace an existing split of that name.")
@friendly_errors
def split(file, kind, by, ratios, seed, name, range_, test_values, val_values, balance, overwrite):
    """Compute a train/val/test split of FILE by attribute column(s) and store it as split/NAME.

    \b
    synprobe split d.h5 --kind stratified --by font              # held-out fonts
    synprobe split d.h5 --kind percentile --by scale             # val/test = low/high tails
    synprobe split d.h5 --kind compositional --by char,font      # held-out combinations
    synprobe split d.h5 --kind extrapolation --by scale --range 0,0.7
    synprobe split d.h5 --kind environments --by background_kind --test-values camouflage
    """
    from synprobe.io.h5 import open_dataset
    from synprobe.splits import check_writable, compute_split, default_name, split_attrs, summarize, write_split

    if kind == "random" and by:
        raise click.UsageError("--by does not apply to --kind random")
    kw = _kind_args(kind, range_, test_values, val_values, balance)
    name = name or default_name(kind, by)
    with open_dataset(file) as f:
        check_writable(f, name, overwrite)
        m = compute_split(f, kind, by, ratios, seed, **kw)
        summary = summarize(f, m, None if kind == "random" else by)
    write_split(file, name, m, overwrite=overwrite,
                **split_attrs(kind, None if kind == "random" else by, ratios, seed, **kw))
    click.echo(f"split/{name} -> {file}: kind={kind}" + (f" by={by}" if kind != "random" else "")
               + f" ratios={','.join(f'{r:g}' for r in ratios)} seed={seed}")
    click.echo(_table(summary))


def _kind_args(kind, range_, test_values, val_values, balance) -> dict:
    """The kind's own arguments; an option given to a kind that does not use it is an error."""
    given = {"--range": range_, "--test-values": test_values, "--val-values": val_values, "--balance": balance}
    uses = {"interpolation": ("--range",), "extrapolation": ("--range",), "stratified": ("--balance",),
            "environments": ("--test-values", "--val-values")}.get(kind, ())
    for opt, v in given.items():
        if v is not None and opt not in uses:
            raise click.UsageError(f"{opt} does not apply to --kind {kind}")
    if kind in ("interpolation", "extrapolation") and range_ is None:
        raise click.UsageError(f"--kind {kind} needs --range lo,hi")
    if kind == "environments" and not test_values:
        raise click.UsageError("--kind environments needs --test-values a,b")
    kw = {"interpolation": {"holdout": range_}, "extrapolation": {"train_range": range_},
          "environments": {"test_values": test_values, "val_values": val_values}}.get(kind, {})
    if kind == "stratified" and balance:
        kw["balance"] = balance
    return kw


def _table(summary: dict) -> str:
    """Aligned table: one row per part, samples then unique values (and ranges) per column."""
    rows = [(p, d) for p, d in summary.items() if p != "excluded" or d["samples"]]
    keys = [k for k in rows[0][1] if k != "samples"]
    head = ["part", "samples", *[k if k.endswith("range") or k == "combinations" else f"unique {k}" for k in keys]]
    body = [[p, str(d["samples"]), *[_cell(d.get(k)) for k in keys]] for p, d in rows]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    fmt = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join(fmt(r) for r in [head, *body])


def _cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, tuple):
        return f"[{v[0]:.4g}, {v[1]:.4g}]"
    return str(v)
