"""The CLI's error boundary: ``friendly_errors`` turns library and OS errors into one-line messages.

A leaf module (click's "complex" example keeps its shared context the same way): every command module
imports it from here, and ``synprobe.cli`` re-exports it, so no command imports the package that
registers it.
"""

from __future__ import annotations

import functools
import os
import sys

import click

from synprobe.errors import SynprobeError

__all__ = ["friendly_errors"]


def friendly_errors(fn):
    """Turn synprobe errors and OS errors into a one-line ``click.ClickException`` (exit code 1)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SynprobeError as e:
            raise click.ClickException(str(e)) from None
        except BrokenPipeError:  # the reader went away (``synprobe fonts list | head``): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
            sys.exit(141)  # 128 + SIGPIPE, what a shell expects from a writer whose pipe closed
        except OSError as e:
            where = f"{e.filename}: " if getattr(e, "filename", None) else ""
            raise click.ClickException(f"{where}{e.strerror or e}") from None

    return wrapper
