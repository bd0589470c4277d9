"""Shared click option parsers."""

from __future__ import annotations

import re

import click


def parse_resolution(ctx, param, value):
    """'64' -> (64, 64); '48x64' -> (48, 64) as (height, width); None stays None."""
    if value is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+)\s*)?", str(value))
    if not m:
        raise click.BadParameter(f"{value!r}: expected N or HxW, e.g. 64 or 48x64")
    h = int(m.group(1))
    w = int(m.group(2) or h)
    for v in (h, w):
        if not 8 <= v <= 256:
            raise click.BadParameter(f"{value!r}: sizes must lie in 8..256")
    return (h, w)
