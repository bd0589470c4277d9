"""The ``synprobe`` command line: a thin click layer over the Python API.

One module per command; heavy imports happen inside the callbacks so ``synprobe --help`` is fast.
Library errors become one-line messages (exit code 1) here, at the boundary, never tracebacks.
"""

from __future__ import annotations

import functools

import click

from synprobe import __version__

__all__ = ["main", "friendly_errors"]


def friendly_errors(fn):
    """Turn synprobe errors and OS errors into a one-line ``click.ClickException``."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from synprobe.errors import SynprobeError

        try:
            return fn(*args, **kwargs)
        except SynprobeError as e:
            raise click.ClickException(str(e)) from None
        except OSError as e:
            where = f"{e.filename}: " if getattr(e, "filename", None) else ""
            raise click.ClickException(f"{where}{e.strerror or e}") from None

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "SYNPROBE"})
@click.version_option(__version__, prog_name="synprobe")
def main() -> None:
    """synprobe: synthetic glyph datasets for probing learning algorithms."""


def _register() -> None:
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
    from synprobe.cli.view import view

    for cmd in (generate, preview, info, view, split, recipes, datasets, download, scenario, fonts,
                run_cmd, report, memorization, doctor):
        main.add_command(cmd)
    _help_everywhere(main)


def _help_everywhere(cmd: click.Command) -> None:
    """-h works on every command, also when one is invoked on its own (click caches a command's help
    option the first time it is built: one built outside ``main`` would keep only --help)."""
    cmd.context_settings.setdefault("help_option_names", ["-h", "--help"])
    for sub in getattr(cmd, "commands", {}).values():
        _help_everywhere(sub)


_register()
