"""Synbols-compatible per-sample JSON labels (the ``y`` dataset of a file).

:func:`y_json` assembles them in C when the C kernels are in use (``_labels.c``, ~10x faster),
else in Python (:func:`y_json_py`, the reference: both give the same bytes).
"""

from __future__ import annotations

import functools
import json

import numpy as np
import orjson

from synprobe.recipe import OCCLUDER_KINDS, PATTERN_KINDS
from synprobe.render.backend import kernels
from synprobe.scripts import SCRIPTS, SYNBOLS_NAMES

__all__ = ["label_starts", "y_json", "y_json_py"]

_TF = ("false", "true")


def _reals(a: np.ndarray) -> list[str]:
    """Shortest round-trip text of float64 values, as JSON numbers.

    orjson formats with Ryu: ~65 ns a value against ~400 ns for ``repr`` (measured), same digits;
    only the notation of small magnitudes differs (``0.00002`` rather than ``2e-05``).
    """
    if len(a) == 0:
        return []
    text = orjson.dumps(np.ascontiguousarray(a, np.float64), option=orjson.OPT_SERIALIZE_NUMPY)
    return text[1:-1].decode().split(",")


def _ints(a: np.ndarray) -> list[str]:
    return list(map(str, a.tolist()))


def _tables(renderer) -> tuple:
    """JSON fragments of every category value, built once per renderer."""
    tables = getattr(renderer, "_y_tables", None)
    if tables is None:
        enc = functools.partial(json.dumps, ensure_ascii=False)
        reg = renderer.registry
        tables = renderer._y_tables = (
            [enc(c) for c in renderer.vocab.chars],
            [f'"font":{enc(f)},"font_family":{enc(reg.entry(f).family)}' for f in renderer.vocab.fonts],
            [f'"alphabet":{enc(SYNBOLS_NAMES[s])},"script":{enc(s)}' for s in SCRIPTS],
            [enc(k) for k in PATTERN_KINDS],
            [enc(k) for k in OCCLUDER_KINDS],
        )
    return tables


def _slot_fragments(count: np.ndarray, n: int, slots: int, build) -> list[list[str]]:
    """For each slot j, the JSON fragment of every row holding more than j items ('' elsewhere)."""
    out = []
    for j in range(slots):
        rows = np.nonzero(count > j)[0]
        slot = [""] * n
        if len(rows):
            for r, f in zip(rows.tolist(), build(rows, j)):
                slot[r] = f
        out.append(slot)
    return out


def y_json(renderer, t: dict, seed: int, index: np.ndarray) -> bytes:
    """Synbols-compatible JSON per sample (first symbol flattened to the top, as Synbols does),
    UTF-8, each object followed by a NUL byte (JSON text never holds one; see :func:`label_starts`).
    """
    k = kernels()
    if k.name == "c":
        return k.labels(_c_tables(renderer), t, _resolution(renderer, seed), index)
    return y_json_py(renderer, t, seed, index)


def label_starts(y: bytes) -> np.ndarray:
    """Start offset of every object in a :func:`y_json` block."""
    ends = np.flatnonzero(np.frombuffer(y, np.uint8) == 0)
    return np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)


def _resolution(renderer, seed: int) -> str:
    h, w = renderer.recipe.resolution
    return f'"resolution":[{w},{h}],"seed":{seed}'


def _c_tables(renderer) -> list:
    """The fragment tables as (blob, offsets) pairs, for the C assembler."""
    tables = getattr(renderer, "_y_c_tables", None)
    if tables is None:
        tables = []
        for frags in _tables(renderer):
            enc = [f.encode() for f in frags]
            tables.append((b"".join(enc), np.concatenate([[0], np.cumsum([len(e) for e in enc])]).astype(np.int64)))
        renderer._y_c_tables = tables
    return tables


def y_json_py(renderer, t: dict, seed: int, index: np.ndarray) -> bytes:
    """:func:`y_json` in Python.

    Built column-wise: numbers are formatted a column at a time, category names come from
    pre-encoded fragments, and each object is one f-string.
    """
    chars, fonts, scripts, kinds, occ = _tables(renderer)
    res = _resolution(renderer, seed)
    n = len(index)

    def symbol(rows, j):
        g = lambda k: t[k][rows, j]  # noqa: E731
        sl = g("slant")
        cols = ([scripts[v] for v in g("script").tolist()], [chars[v] for v in g("char").tolist()],
                [fonts[v] for v in g("font").tolist()], [_TF[v] for v in g("bold").tolist()],
                [_TF[v] for v in (sl != 0).tolist()], _reals(sl), _reals(g("rotation")), _reals(g("scale")),
                _reals(g("translation_x")), _reals(g("translation_y")),
                [kinds[v] for v in g("foreground_kind").tolist()], _ints(g("foreground_seed")))
        return [f'{sc},"char":{ch},{fo},"is_bold":{b},"is_slant":{isl},"slant":{sl},"rotation":{ro},"scale":{sa},'
                f'"translation":[{tx},{ty}],"foreground":{{"style":{fk},"seed":{fs}}}'
                for sc, ch, fo, b, isl, sl, ro, sa, tx, ty, fk, fs in zip(*cols)]

    def occluder(rows, j):
        g = lambda k: t["occluder_" + k][rows, j]  # noqa: E731
        glyph = [f'"char":{chars[c]},{fonts[f]},' if c >= 0 else ""
                 for c, f in zip(g("char").tolist(), g("font").tolist())]
        cols = ([occ[v] for v in g("kind").tolist()], glyph, _reals(g("scale")), _reals(g("rotation")),
                _reals(g("translation_x")), _reals(g("translation_y")),
                [kinds[v] for v in g("fg_kind").tolist()], _ints(g("fg_seed")))
        return [f'{{"kind":{k},{gl}"scale":{sa},"rotation":{ro},"translation":[{tx},{ty}],'
                f'"foreground":{{"style":{fk},"seed":{fs}}}}}'
                for k, gl, sa, ro, tx, ty, fk, fs in zip(*cols)]

    ns = t["n_symbols"]
    syms = _slot_fragments(ns, n, t["char"].shape[1], symbol)
    occluders = [""] * n
    if "occluder_kind" in t:
        per = _slot_fragments(t["n_occluders"], n, t["occluder_kind"].shape[1], occluder)
        for i, k in enumerate(t["n_occluders"].tolist()):
            occluders[i] = ',"occluders":[' + ",".join(per[j][i] for j in range(k)) + "]"
    first = syms[0]
    many = [i for i, k in enumerate(ns.tolist()) if k > 1]
    all_syms = list(first)
    for i in many:
        all_syms[i] = "},{".join(syms[j][i] for j in range(int(ns[i])))
    img = zip(first, [kinds[v] for v in t["background_kind"].tolist()], _ints(t["background_seed"]),
              [_TF[v] for v in t["inverse_color"].tolist()], _reals(t["pixel_noise"]), _ints(index),
              _ints(ns), all_syms, occluders)
    return "".join([
        f'{{{f},"background":{{"style":{bk},"seed":{bs}}},"inverse_color":{inv},"pixel_noise_scale":{noise},'
        f'{res},"index":{idx},"n_symbols":{k},"symbols":[{{{s}}}]{extra}}}\0'
        for f, bk, bs, inv, noise, idx, k, s, extra in img
    ]).encode()
