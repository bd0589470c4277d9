"""The one-line error checks of scenario recipes: :class:`Ctx` (typed field checks that raise
:class:`~synprobe.errors.InvalidRecipe` naming the file and field), :func:`quoted` and the
``did you mean`` :func:`hint`."""

from __future__ import annotations

import math

from synprobe.errors import InvalidRecipe, did_you_mean


def quoted(names) -> str:
    """``'a', 'b', 'c'``: the allowed values of a field, for an error message."""
    return ", ".join(repr(n) for n in names)


def hint(key, allowed) -> str:
    """`` (did you mean 'x'?)`` when ``key`` is close to one of ``allowed``, else ``""``."""
    return did_you_mean(key, allowed)


class Ctx:
    """Field checks of one recipe: each returns the checked value or raises a one-line error
    ``<source>: <field>: <what is wrong>``."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, msg: str):
        raise InvalidRecipe(self.source, path, msg)

    def int(self, path, v, lo=0) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(path, f"expected an integer >= {lo}, got {v!r}")
        if v < lo:
            self.fail(path, f"{v!r} is out of range; expected an integer >= {lo}")
        return int(v)

    def num(self, path, v, lo=-math.inf, hi=math.inf, hi_open=False) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.fail(path, f"expected a finite number, got {v!r}")
        if v < lo or v > hi or (hi_open and v == hi):
            self.fail(path, f"{v!r} is out of range; allowed from {lo} to {hi}{' (excluded)' if hi_open else ''}")
        return float(v)

    def str(self, path, v, allowed=None) -> str:
        if not isinstance(v, str):
            self.fail(path, f"expected a string, got {v!r}")
        if allowed is not None and v not in allowed:
            self.fail(path, f"unknown {v!r}{hint(v, allowed)}; expected one of {quoted(allowed)}")
        return v

    def table(self, path, v) -> dict:
        if not isinstance(v, dict):
            self.fail(path, f"expected a table, got {v!r}")
        return v

    def keys(self, path, d, allowed) -> None:
        for k in d:
            if k not in allowed:
                p = f"{path}.{k}" if path else k
                self.fail(p, f"unknown field{hint(k, allowed)}; expected one of {quoted(allowed)}")
