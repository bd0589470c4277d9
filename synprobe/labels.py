"""Synbols-compatible per-sample JSON labels (the ``y`` dataset of a file)."""

from __future__ import annotations

import functools
import json

import numpy as np

__all__ = ["y_json"]


def y_json(renderer, t: dict, seed: int, index: np.ndarray) -> list[bytes]:
    """Synbols-compatible JSON per sample (first symbol flattened to the top, as Synbols does).

    Built with f-strings from pre-encoded category names: ~10x faster than json.dumps of dicts.
    """
    from synprobe.recipe import OCCLUDER_KINDS, PATTERN_KINDS
    from synprobe.scripts import ALPHABETS, SCRIPTS

    enc = functools.partial(json.dumps, ensure_ascii=False)
    rc = renderer.recipe
    tables = getattr(renderer, "_y_tables", None)
    if tables is None:  # JSON fragments of every category value, once per process
        reg = renderer.registry
        tables = renderer._y_tables = (
            [enc(c) for c in renderer.vocab.chars],
            [f'"font":{enc(f)},"font_family":{enc(reg.entry(f).family)}' for f in renderer.vocab.fonts],
            [f'"alphabet":{enc(ALPHABETS[s].synbols_name)},"script":{enc(s)}' for s in SCRIPTS],
            [enc(k) for k in PATTERN_KINDS],
            [enc(k) for k in OCCLUDER_KINDS],
        )
    chars, fonts, scripts, kinds, occ = tables
    tf = ("false", "true")
    res = f'"resolution":[{rc.resolution[1]},{rc.resolution[0]}],"seed":{seed}'
    n = len(index)
    # one JSON fragment per (sample, symbol slot), built column-wise: slot by slot over all rows
    per_slot = []
    for j in range(t["char"].shape[1]):
        rows = np.nonzero(t["n_symbols"] > j)[0]
        col = {k: t[k][rows, j].tolist() for k in ("script", "char", "font", "bold", "slant", "rotation", "scale",
                                                     "translation_x", "translation_y", "foreground_kind",
                                                     "foreground_seed")}
        frags = [
            f'{scripts[sc]},"char":{chars[ch]},{fonts[fo]},"is_bold":{tf[b]},"is_slant":{tf[sl != 0]},"slant":{sl!r},'
            f'"rotation":{ro!r},"scale":{sa!r},"translation":[{tx!r},{ty!r}],'
            f'"foreground":{{"style":{kinds[fk]},"seed":{fs}}}'
            for sc, ch, fo, b, sl, ro, sa, tx, ty, fk, fs in zip(*col.values())
        ]
        slot = [""] * n
        for r, f in zip(rows.tolist(), frags):
            slot[r] = f
        per_slot.append(slot)
    occluders = [""] * n
    if "occluder_kind" in t:
        c = {k: v.tolist() for k, v in t.items() if k.startswith("occluder_") or k == "n_occluders"}
        for i in range(n):
            occluders[i] = ',"occluders":[' + ",".join(
                f'{{"kind":{occ[c["occluder_kind"][i][j]]},'
                + (f'"char":{chars[c["occluder_char"][i][j]]},{fonts[c["occluder_font"][i][j]]},'
                   if c["occluder_char"][i][j] >= 0 else "")
                + f'"scale":{c["occluder_scale"][i][j]!r},"rotation":{c["occluder_rotation"][i][j]!r},'
                f'"translation":[{c["occluder_translation_x"][i][j]!r},{c["occluder_translation_y"][i][j]!r}],'
                f'"foreground":{{"style":{kinds[c["occluder_fg_kind"][i][j]]},"seed":{c["occluder_fg_seed"][i][j]}}}}}'
                for j in range(c["n_occluders"][i])
            ) + "]"
    img = zip(t["n_symbols"].tolist(), t["background_kind"].tolist(), t["background_seed"].tolist(),
              t["inverse_color"].tolist(), t["pixel_noise"].tolist(), index.tolist(), occluders)
    out = []
    for i, (ns, bk, bs, inv, noise, idx, extra) in enumerate(img):
        first = per_slot[0][i]
        syms = first if ns == 1 else "},{".join(per_slot[j][i] for j in range(ns))
        out.append((
            f'{{{first},"background":{{"style":{kinds[bk]},"seed":{bs}}},"inverse_color":{tf[inv]},'
            f'"pixel_noise_scale":{noise!r},{res},"index":{idx},"n_symbols":{ns},"symbols":[{{{syms}}}]{extra}}}'
        ).encode())
    return out
