"""The ``synprobe info FILE`` command: counts, provenance, attribute summaries and splits of a file."""

from __future__ import annotations

import click

from synprobe.cli._errors import friendly_errors


@click.command("info")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly_errors
def info(file, as_json):
    """Describe a dataset FILE: counts, provenance, attribute summaries, splits."""
    import json

    from synprobe.info import describe, format_text
    from synprobe.io.validate import printable

    d = describe(file)
    click.echo(printable(json.dumps(d, indent=1, ensure_ascii=False, default=str) if as_json else format_text(d)))
