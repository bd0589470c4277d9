"""Validation of single recipe fields: numbers and constants or ``{dist = ...}`` tables.

Holds the error context (:class:`Ctx`, one-line :class:`~synprobe.errors.InvalidRecipe` naming
file, field path and allowed values) and the parsers/range checks of numbers and distributions
(:func:`number_field`, :func:`dist_field`, :func:`choice_field`, :func:`unknown_field`) that
:mod:`synprobe.recipe._validate` applies to every section. Knows nothing of the schema.
"""

from __future__ import annotations

import math
from pathlib import Path

from synprobe.dists import DISTS, Bernoulli, Choice, Const, Dist, Func, LogNormal, Mixture, Normal, RandInt, Uniform
from synprobe.errors import InvalidRecipe, did_you_mean


class Ctx:
    def __init__(self, source: str, base: Path | None = None):
        self.source = source
        self.base = base  # folder that relative paths (image_dir) are relative to

    def fail(self, path: str, msg: str):
        raise InvalidRecipe(self.source, path, msg)


def _allowed(names) -> str:
    return ", ".join(repr(n) for n in names)


def unknown_field(ctx: Ctx, path: str, key: str, allowed) -> None:
    hint = did_you_mean(key, list(allowed))
    ctx.fail(f"{path}.{key}" if path else key, f"unknown field{hint}; expected one of {_allowed(allowed)}")


def choice_field(ctx: Ctx, path: str, v, allowed) -> str:
    """One of a fixed set of names (a mode), with a did-you-mean for near misses."""
    if v not in allowed:
        hint = did_you_mean(v, allowed) if isinstance(v, str) else ""
        ctx.fail(path, f"unknown {v!r}{hint}; expected one of {_allowed(allowed)}")
    return v


def number_field(ctx, path, v, *, integer=False, lo=-math.inf, hi=math.inf, open_lo=False) -> float:
    ok = isinstance(v, int) if integer else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok or (not integer and not math.isfinite(v)):
        ctx.fail(path, f"expected {'an integer' if integer else 'a finite number'}, got {v!r}")
    if not (lo < v if open_lo else lo <= v) or v > hi:
        ctx.fail(path, f"{v!r} is out of range; allowed {'above' if open_lo else 'from'} {lo} to {hi}")
    return int(v) if integer else float(v)


_DIST_PARAMS = {
    "const": {"value": True},
    "uniform": {"low": True, "high": True},
    "normal": {"mean": False, "std": False, "min": False, "max": False},
    "lognormal": {"median": False, "sigma": False},
    "randint": {"low": True, "high": True},
    "bernoulli": {"p": False},
    "choice": {"values": True, "weights": False},
    "mixture": {"components": True, "weights": False},
}


def dist_field(ctx, path, v, *, kind="number", allowed=None, lo=-math.inf, hi=math.inf, open_lo=False) -> Dist:
    """Parse a constant or ``{dist = ...}`` table. kind: number | int | bool | str."""
    if isinstance(v, Dist):
        d = v
    elif isinstance(v, dict):
        name = v.get("dist")
        if name not in DISTS:
            ctx.fail(f"{path}.dist", f"unknown {name!r}; expected one of {_allowed(DISTS)}")
        params = _DIST_PARAMS[name]
        for k in v:
            if k != "dist" and k not in params:
                unknown_field(ctx, path, k, list(params))
        for k, req in params.items():
            if req and k not in v:
                ctx.fail(f"{path}.{k}", f"missing; {name} needs {_allowed([p for p in params if params[p]])}")
        args = {k: val for k, val in v.items() if k != "dist"}
        if name == "mixture":
            d = _mixture(ctx, path, args, kind=kind, allowed=allowed, lo=lo, hi=hi, open_lo=open_lo)
        else:
            d = _build_dist(ctx, path, name, args, kind)
    else:
        d = Const(v)
    _check_dist(ctx, path, d, kind=kind, allowed=allowed, lo=lo, hi=hi, open_lo=open_lo)
    return d


def _weights(ctx, path, w, n):
    if w is None:
        return None
    if not isinstance(w, (list, tuple)) or len(w) != n:
        ctx.fail(f"{path}.weights", f"expected a list of {n} numbers (one per value)")
    w = tuple(number_field(ctx, f"{path}.weights[{i}]", x, lo=0) for i, x in enumerate(w))
    if sum(w) <= 0:
        ctx.fail(f"{path}.weights", "weights must not all be zero")
    return w


def _mixture(ctx, path, a, **checks) -> Dist:
    comps = a["components"]
    if not isinstance(comps, (list, tuple)) or not comps:
        ctx.fail(f"{path}.components", "expected a non-empty list of constants or distributions")
    parsed = tuple(dist_field(ctx, f"{path}.components[{i}]", c, **checks) for i, c in enumerate(comps))
    return Mixture(parsed, _weights(ctx, path, a.get("weights"), len(parsed)))


def _build_dist(ctx, path, name, a, kind) -> Dist:
    num = lambda k, **kw: number_field(ctx, f"{path}.{k}", a[k], **kw)  # noqa: E731
    if name == "const":
        return Const(a["value"])
    if name == "uniform":
        lo, hi = num("low"), num("high")
        if hi < lo:
            ctx.fail(f"{path}.high", f"{hi} is below low={lo}")
        return Uniform(lo, hi)
    if name == "normal":
        kw = {k: num(k, lo=0 if k == "std" else -math.inf) for k in ("mean", "std", "min", "max") if k in a}
        if kw.get("min", -math.inf) > kw.get("max", math.inf):
            ctx.fail(f"{path}.max", f"{kw['max']} is below min={kw['min']}")
        return Normal(**kw)
    if name == "lognormal":
        return LogNormal(**{k: num(k, lo=0) for k in ("median", "sigma") if k in a})
    if name == "randint":
        lo, hi = num("low", integer=True), num("high", integer=True)
        if hi < lo:
            ctx.fail(f"{path}.high", f"{hi} is below low={lo}")
        return RandInt(lo, hi)
    if name == "bernoulli":
        return Bernoulli(num("p", lo=0, hi=1) if "p" in a else 0.5)
    vals = a["values"]
    if not isinstance(vals, list) or not vals:
        ctx.fail(f"{path}.values", "expected a non-empty list")
    return Choice(tuple(vals), _weights(ctx, path, a.get("weights"), len(vals)))


def _check_dist(ctx, path, d, *, kind, allowed, lo, hi, open_lo=False) -> None:
    """The distribution's support must lie in [lo, hi] ((lo, hi] when open_lo)."""
    if isinstance(d, Func):
        return
    if isinstance(d, Mixture):  # a Python-built mixture: check every component
        for i, c in enumerate(d.components):
            _check_dist(ctx, f"{path}.components[{i}]", c, kind=kind, allowed=allowed, lo=lo, hi=hi, open_lo=open_lo)
        return
    if isinstance(d, RandInt) and kind not in ("str", "bool") and allowed is None:
        for k in ("low", "high"):  # its ends bound it: never list a range of 10^12 values to check them
            number_field(ctx, f"{path}.{k}", getattr(d, k), integer=True, lo=lo, hi=hi, open_lo=open_lo)
        return
    vals = d.values()
    if kind in ("str", "bool") and vals is None:
        ctx.fail(path, f"a {d.kind} distribution is not allowed here; use a constant or choice")
    if vals is not None:
        for i, x in enumerate(vals):
            p = path if isinstance(d, Const) else f"{path}.values[{i}]"
            if kind == "str" and not isinstance(x, str):
                ctx.fail(p, f"expected a string, got {x!r}")
            if kind == "bool" and not isinstance(x, bool):
                ctx.fail(p, f"expected true or false, got {x!r}")
            if kind in ("number", "int"):
                number_field(ctx, p, x, integer=kind == "int", lo=lo, hi=hi, open_lo=open_lo)
            if allowed is not None and x not in allowed:
                hint = did_you_mean(str(x), [str(a) for a in allowed])
                ctx.fail(p, f"unknown {x!r}{hint}; expected one of {_allowed(allowed)}")
    elif kind == "int" and not isinstance(d, RandInt):
        ctx.fail(path, f"expected integers; {d.kind} gives real numbers")
    else:
        if isinstance(d, Uniform):
            dlo, dhi, closed = d.low, d.high, True
        elif isinstance(d, Normal):
            dlo, dhi, closed = d.min, d.max, True
        elif isinstance(d, LogNormal):
            if d.median <= 0:
                ctx.fail(f"{path}.median", f"{d.median} must be > 0")
            dlo, dhi, closed = 0.0, math.inf, False  # support (0, inf)
        else:
            return
        below = dlo < lo or (dlo == lo and open_lo and closed)
        if below or dhi > hi:
            rng = f"{'(' if open_lo else '['}{lo}, {hi}]"
            ctx.fail(path, f"{d.kind} reaches outside the allowed range {rng}; set min/max or use uniform")
