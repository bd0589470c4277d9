"""The ``synprobe`` command line: a thin click layer over the Python API.

One module per command; heavy imports happen inside the callbacks so ``synprobe --help`` is fast.
Library errors become one-line messages (exit code 1) at the boundary, never tracebacks: each command
wraps its callback in ``friendly_errors`` from the leaf module ``_errors`` (re-exported here).
This face builds the ``main`` group from the command modules; no command imports it back.
"""

from __future__ import annotations

import click

from synprobe._version import __version__
from synprobe.cli._errors import friendly_errors
from synprobe.cli.doctor import doctor
from synprobe.cli.download import datasets, download
from synprobe.cli.fonts import fonts
from synprobe.cli.generate import generate
from synprobe.cli.info import info
from synprobe.cli.memorization import memorization
from synprobe.cli.preview import preview
from synprobe.cli.recipes import recipes
from synprobe.cli.report import report
from synprobe.cli.run import run_cmd
from synprobe.cli.scenario import scenario
from synprobe.cli.split import split
from synprobe.cli.sweep import sweep
from synprobe.cli.view import view

__all__ = ["main", "friendly_errors"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "SYNPROBE"})
@click.version_option(__version__, prog_name="synprobe")
def main() -> None:
    """synprobe: synthetic glyph datasets for probing learning algorithms."""


def _register() -> None:
    for cmd in (generate, preview, info, view, split, recipes, datasets, download, scenario, fonts,
                run_cmd, sweep, report, memorization, doctor):
        main.add_command(cmd)
    _help_everywhere(main)


def _help_everywhere(cmd: click.Command) -> None:
    """-h works on every command, also when one is invoked on its own (click caches a command's help
    option the first time it is built: one built outside ``main`` would keep only --help)."""
    cmd.context_settings.setdefault("help_option_names", ["-h", "--help"])
    for sub in getattr(cmd, "commands", {}).values():
        _help_everywhere(sub)


_register()
