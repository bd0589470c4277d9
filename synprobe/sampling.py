"""Attribute sampling: (recipe, seed, indices) -> attribute table.

The table is the truth about every image: the renderer is a pure function of one row plus the
font files. Columns are numpy arrays with one row per sample; per-symbol columns have one column
per symbol slot (n, max_symbols) and per-occluder columns (n, max_occluders). Slots beyond a
sample's ``n_symbols`` / ``n_occluders`` hold -1 (codes), NaN (reals) or False.

    >>> import numpy as np
    >>> from synprobe.recipe import load_recipe
    >>> from synprobe.sampling import Vocab, sample_table
    >>> r = load_recipe("default")
    >>> t = sample_table(r, Vocab.build(r), seed=0, index=np.arange(8))
    >>> t["scale"].shape
    (8, 1)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from synprobe.dists import Choice, Const, Dist, Func
from synprobe.errors import InvalidRecipe
from synprobe.fonts import FontRegistry
from synprobe.recipe import FONT_TIERS, OCCLUDER_KINDS, PATTERN_KINDS, Recipe
from synprobe.rng import Draws, stream_seed
from synprobe.scripts import ALPHABETS, SCRIPTS

__all__ = ["COLUMNS", "Column", "Vocab", "sample_table"]


@dataclass(frozen=True)
class Column:
    """One attribute column. level: image | symbol | occluder; categories: name of the vocabulary
    its int codes index (``char``, ``font``, ``script``, ``pattern``, ``occluder``) or None."""

    name: str
    level: str
    dtype: str
    categories: str | None = None
    doc: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("n_symbols", "image", "int16", doc="symbols drawn"),
    Column("inverse_color", "image", "bool", doc="colours inverted (1 - x) after compositing"),
    Column("pixel_noise", "image", "float64", doc="std of the Gaussian pixel noise, in [0, 1] units"),
    Column("background_kind", "image", "int8", "pattern", "background pattern kind"),
    Column("background_seed", "image", "uint32", doc="background pattern seed"),
    Column("background_angle", "image", "float64", doc="camouflage stroke angle (rad)"),
    Column("n_occluders", "image", "int16", doc="occluders drawn"),
    Column("script", "symbol", "int8", "script", "script of the symbol"),
    Column("char", "symbol", "int32", "char", "character"),
    Column("font", "symbol", "int32", "font", "font id (a file, see fonts/manifest.json)"),
    Column("bold", "symbol", "bool", doc="bold face"),
    Column("bold_synthetic", "symbol", "bool",
           doc="bold drawn by emboldening the regular outlines (the family has no bold face drawing the char)"),
    Column("slant", "symbol", "float64", doc="shear factor (0 = upright; see the recipe's slant_mode)"),
    Column("rotation", "symbol", "float64", doc="radians, clockwise on screen (as Synbols)"),
    Column("scale", "symbol", "float64", doc="longest ink side / shortest image side"),
    Column("translation_x", "symbol", "float64", doc="-1..1 across the free space"),
    Column("translation_y", "symbol", "float64", doc="-1..1 across the free space (down)"),
    Column("foreground_kind", "symbol", "int8", "pattern", "glyph pattern kind"),
    Column("foreground_seed", "symbol", "uint32", doc="glyph pattern seed"),
    Column("foreground_angle", "symbol", "float64", doc="camouflage stroke angle (rad)"),
    Column("occluder_kind", "occluder", "int8", "occluder", "occluder shape"),
    Column("occluder_char", "occluder", "int32", "char", "glyph occluder character"),
    Column("occluder_font", "occluder", "int32", "font", "glyph occluder font"),
    Column("occluder_scale", "occluder", "float64"),
    Column("occluder_rotation", "occluder", "float64"),
    Column("occluder_translation_x", "occluder", "float64"),
    Column("occluder_translation_y", "occluder", "float64"),
    Column("occluder_fg_kind", "occluder", "int8", "pattern"),
    Column("occluder_fg_seed", "occluder", "uint32"),
    Column("occluder_fg_angle", "occluder", "float64"),
)


@dataclass(frozen=True)
class _Pool:
    """Sampling tables for one char-selection group: entries (char codes) and font cdf rows."""

    chars: np.ndarray  # (e,) int codes into Vocab.chars
    char_cdf: np.ndarray | None  # (e,) cumulative char probabilities, None = uniform
    font_cdf: np.ndarray  # (e, f) cumulative font probabilities per char (rows end at 1)


@dataclass(frozen=True)
class Vocab:
    """Categories of the categorical columns and the (char, font) sampling tables of a recipe."""

    chars: tuple[str, ...]
    fonts: tuple[str, ...]
    pools: dict  # script code (or -1 for explicit chars) -> _Pool
    occluder_pool: _Pool | None
    fonts_sha256: str
    real_bold: frozenset = frozenset()  # (font code, char code) pairs a real bold face draws

    @functools.cached_property
    def real_bold_codes(self) -> np.ndarray:
        """:attr:`real_bold` as sorted int64 codes ``font * len(chars) + char``."""
        k = len(self.chars)
        return np.sort(np.array([f * k + c for f, c in self.real_bold], np.int64))

    @property
    def categories(self) -> dict[str, tuple]:
        return {
            "char": self.chars,
            "font": self.fonts,
            "script": SCRIPTS,
            "pattern": PATTERN_KINDS,
            "occluder": OCCLUDER_KINDS,
        }

    @staticmethod
    def build(recipe: Recipe, registry=None) -> Vocab:
        """Build the tables from the audited font coverage (only verified pairs are sampled)."""
        reg = FontRegistry.load() if registry is None else registry
        sym = recipe.symbol
        font_w = _weights(sym.font)
        scripts = sym.script.values() if not isinstance(sym.script, Func) else SCRIPTS
        groups: dict[int, list[tuple[str, float]]] = {}
        if sym.char is None:
            for s in scripts:
                groups[SCRIPTS.index(s)] = [(c, 1.0) for c in ALPHABETS[s].chars]
        else:
            groups[-1] = list((_weights(sym.char) or {c: 1.0 for c in sym.char.values()}).items())
        need_occ_glyph = "glyph" in (recipe.occlusion.kind.values() or ())
        occ_group = [(c, 1.0) for c in ALPHABETS["latin"].chars] if need_occ_glyph else None

        def pool_fonts(script_code, tiers=FONT_TIERS[sym.fonts]):
            """Candidate fonts: the explicit ``symbol.font`` list, else the kept regular fonts of
            the recipe's legibility tiers (``symbol.fonts``) covering the script (or any)."""
            if font_w is not None:
                return dict(font_w)
            if script_code >= 0:
                return {f: 1.0 for f in reg.ids(script=SCRIPTS[script_code], tiers=tiers)}
            return {f: 1.0 for s in SCRIPTS for f in reg.ids(script=s, tiers=tiers)}

        chars: dict[str, int] = {}
        raw = {}  # group -> (kept chars, their weights, group fonts, font weights, coverage (chars, fonts))
        for code, entries in list(groups.items()) + ([("occ", occ_group)] if occ_group else []):
            fw = pool_fonts(SCRIPTS.index("latin"), ("legible",)) if code == "occ" else pool_fonts(code)
            gf = [f for f, x in fw.items() if x > 0]
            cov = _coverage(reg, gf, [ch for ch, _ in entries])
            keep = cov.any(1)
            if not keep.any():
                script = "latin" if code == "occ" else SCRIPTS[code] if code != -1 else ""
                where = "symbol.char" if code == -1 else f"symbol.script ({script})"
                stale = "; ".join(getattr(reg, "legibility_notes", ()))
                raise InvalidRecipe("<recipe>", where, "no font in the selection draws any of these characters "
                                    f"legibly (symbol.fonts = {sym.fonts!r}); "
                                    + (stale or "see `synprobe fonts list --tier all`"))
            kept = [e for e, k in zip(entries, keep.tolist()) if k]
            for ch, _ in kept:
                chars.setdefault(ch, len(chars))
            raw[code] = (kept, gf, np.array([fw[f] for f in gf], float), cov[keep])
        font_list = tuple(sorted({f for _, gf, _, cov in raw.values() for f in np.asarray(gf)[cov.any(0)].tolist()}))
        fidx = {f: i for i, f in enumerate(font_list)}
        pools = {}
        real_bold = set()
        for code, (kept, gf, x, cov) in raw.items():
            col = np.array([fidx.get(f, -1) for f in gf], np.int64)
            used = col >= 0
            mat = np.zeros((len(kept), len(font_list)))
            mat[:, col[used]] = cov[:, used] * x[used]
            cw = np.array([w for _, w in kept], float)
            cdf = np.cumsum(mat, 1)
            cdf /= cdf[:, -1:]
            char_cdf = None if np.all(cw == cw[0]) else np.cumsum(cw) / cw.sum()
            ci = np.array([chars[c] for c, _ in kept])
            pools[code] = _Pool(ci, char_cdf, cdf)
            # pairs whose font has a real bold face that draws the char
            bold = [reg.entry(f).bold for f in gf]
            has = np.array([b is not None for b in bold])
            if has.any():
                bcov = np.zeros_like(cov)
                bcov[:, has] = _coverage(reg, [b for b in bold if b is not None], [c for c, _ in kept], reg.drawn)
                r, c = np.nonzero(cov & bcov)
                real_bold.update(zip(col[c].tolist(), ci[r].tolist()))
        occ = pools.pop("occ", None)
        return Vocab(tuple(chars), font_list, pools, occ, getattr(reg, "manifest_sha256", ""), frozenset(real_bold))


def _coverage(reg, fonts: list[str], chars: list[str], drawn=None) -> np.ndarray:
    """bool (len(chars), len(fonts)): whether font j draws char i legibly according to the audits
    (``drawn(font) -> str``, default ``reg.legible``: drawn and recognised; one vectorised search
    over every font's code points: a set lookup per pair took 40 ms per run)."""
    out = np.zeros((len(chars), len(fonts)), bool)
    if not fonts or not chars:
        return out
    drawn = reg.legible if drawn is None else drawn
    want = np.array([ord(c) if len(c) == 1 else -1 for c in chars], np.int64)
    order = np.argsort(want, kind="stable")
    sw = want[order]
    texts = [drawn(f) for f in fonts]
    allc = np.frombuffer("".join(texts).encode("utf-32-le"), np.uint32).astype(np.int64)
    fid = np.repeat(np.arange(len(fonts)), [len(t) for t in texts])  # one code point per str item
    pos = np.minimum(np.searchsorted(sw, allc), len(sw) - 1)
    hit = sw[pos] == allc
    # a char listed twice in `chars` is found at its first sorted position only: copy to the others
    out[order[pos[hit]], fid[hit]] = True
    for i in np.flatnonzero(np.diff(sw) == 0):
        out[order[i + 1]] = out[order[i]]
    return out


def _weights(d: Dist | None) -> dict | None:
    if d is None:
        return None
    if isinstance(d, Const):
        return {d.value: 1.0}
    if isinstance(d, Choice):
        return {v: float(p) for v, p in zip(d.values_, d.probabilities())}
    raise InvalidRecipe("<recipe>", "symbol", f"char/font must be a constant or a choice, not {d.kind}")


def _codes(d: Dist, draws: Draws, name: str, slots: int | None, categories: tuple) -> np.ndarray:
    """Int codes (into ``categories``) of a categorical attribute: (n,) or (n, slots)."""
    shape = (len(draws),) if slots is None else (len(draws), slots)
    if isinstance(d, Const):
        return np.full(shape, categories.index(d.value), np.int64)
    if isinstance(d, Choice):
        lut = np.array([categories.index(v) for v in d.values_])
        return lut[d.sample_index(draws, name, slots)]
    vals = np.asarray(d.sample(draws, name, slots), dtype=object).reshape(shape)
    try:
        return np.vectorize(categories.index, otypes=[np.int64])(vals)
    except ValueError:
        raise InvalidRecipe("<recipe>", name, f"a callable returned a value outside {categories}") from None


def _real(d: Dist, draws: Draws, name: str, slots: int | None) -> np.ndarray:
    """Float64 values: (n,) when slots is None, else (n, slots)."""
    return np.asarray(d.sample(draws, name, slots), np.float64)


def _pick(pool: _Pool, u_char: np.ndarray, u_font: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Char and font codes for uniforms of the same shape (k,)."""
    e = len(pool.chars)
    if pool.char_cdf is None:
        ci = np.minimum((u_char * e).astype(np.int64), e - 1)
    else:
        ci = np.minimum(np.searchsorted(pool.char_cdf, u_char, side="right"), e - 1)
    fi = np.empty(len(ci), np.int64)
    order = np.argsort(ci, kind="stable")
    bounds = np.searchsorted(ci[order], np.arange(e + 1))
    for c in np.flatnonzero(np.diff(bounds)).tolist():  # one searchsorted per drawn char, not a (k, fonts) matrix
        rows = order[bounds[c] : bounds[c + 1]]
        cdf = pool.font_cdf[c]
        fi[rows] = np.minimum(np.searchsorted(cdf, u_font[rows], side="right"), len(cdf) - 1)
    return pool.chars[ci], fi


def _symbols(recipe: Recipe, vocab: Vocab, d: Draws, out: dict, S: int) -> None:
    sym = recipe.symbol
    n = len(d)
    if sym.char is None:
        script = _codes(sym.script, d, "symbol.script", S, SCRIPTS)
    else:
        script = None
    u_char, u_font = d.uniform("symbol.char", S), d.uniform("symbol.font", S)
    char = np.full((n, S), -1, np.int64)
    font = np.full((n, S), -1, np.int64)
    for code, pool in vocab.pools.items():
        sel = np.ones((n, S), bool) if code == -1 else script == code
        if sel.any():
            char[sel], font[sel] = _pick(pool, u_char[sel], u_font[sel])
    if script is None:  # explicit chars: the script is the first alphabet holding the char
        script = _script_of(vocab.chars)[char]
    out.update(script=script, char=char, font=font)
    out["bold"] = np.asarray(sym.bold.sample(d, "symbol.bold", S), bool).reshape(n, S)
    out["bold_synthetic"] = _synthetic_bold(vocab, font, char, out["bold"])
    for k in ("slant", "rotation", "scale", "translation_x", "translation_y"):
        out[k] = _real(getattr(sym, k), d, f"symbol.{k}", S)
    out["foreground_kind"] = _codes(sym.foreground.kind, d, "symbol.foreground.kind", S, PATTERN_KINDS)
    out["foreground_seed"] = d.seeds("symbol.foreground.seed", S).reshape(n, S)
    out["foreground_angle"] = _real(sym.foreground.stroke_angle, d, "symbol.foreground.angle", S)


@functools.lru_cache(maxsize=8)
def _script_of(chars: tuple) -> np.ndarray:
    """Script code of each char: the first alphabet (in SCRIPTS order) holding it, -1 if none."""
    first: dict[str, int] = {}
    todo = set(chars)
    for i, s in enumerate(SCRIPTS):
        if not todo:
            break  # the large CJK alphabets are built only when needed
        hit = todo.intersection(ALPHABETS[s].chars)
        first.update(dict.fromkeys(hit, i))
        todo -= hit
    return np.array([first.get(c, -1) for c in chars], np.int64)


def _synthetic_bold(vocab: Vocab, font: np.ndarray, char: np.ndarray, bold: np.ndarray) -> np.ndarray:
    """True where a bold symbol has no real bold face drawing its char (the renderer emboldens)."""
    out = np.zeros(bold.shape, bool)
    sel = bold & (font >= 0)
    if sel.any():
        pairs = font[sel].astype(np.int64) * len(vocab.chars) + char[sel]
        codes = vocab.real_bold_codes
        if len(codes):
            pos = np.minimum(np.searchsorted(codes, pairs), len(codes) - 1)
            out[sel] = codes[pos] != pairs
        else:
            out[sel] = True
    return out


def _occluders(recipe: Recipe, vocab: Vocab, d: Draws, out: dict, K: int) -> None:
    occ = recipe.occlusion
    n = len(d)
    out["occluder_kind"] = _codes(occ.kind, d, "occlusion.kind", K, OCCLUDER_KINDS)
    char = np.full((n, K), -1, np.int64)
    font = np.full((n, K), -1, np.int64)
    glyph = out["occluder_kind"] == OCCLUDER_KINDS.index("glyph")
    if glyph.any():
        char[glyph], font[glyph] = _pick(
            vocab.occluder_pool, d.uniform("occlusion.char", K)[glyph], d.uniform("occlusion.font", K)[glyph]
        )
    out["occluder_char"], out["occluder_font"] = char, font
    for k in ("scale", "rotation", "translation_x", "translation_y"):
        out[f"occluder_{k}"] = _real(getattr(occ, k), d, f"occlusion.{k}", K)
    out["occluder_fg_kind"] = _codes(occ.foreground.kind, d, "occlusion.foreground.kind", K, PATTERN_KINDS)
    out["occluder_fg_seed"] = d.seeds("occlusion.foreground.seed", K).reshape(n, K)
    out["occluder_fg_angle"] = _real(occ.foreground.stroke_angle, d, "occlusion.foreground.angle", K)


def sample_table(recipe: Recipe, vocab: Vocab, seed: int, index: np.ndarray) -> dict[str, np.ndarray]:
    """Sample every attribute of samples ``index`` (int array (n,)) of dataset ``seed`` (the draws
    are keyed by ``recipe.stream_key`` as well, so recipes at one seed are independent).

    Returns:
        dict column name -> array; see :data:`COLUMNS` for names, dtypes and shapes.
    """
    d = Draws(stream_seed(seed, recipe.stream_key), index)  # keyed by the recipe too: see Recipe.stream
    n, S, K = len(d), recipe.max_symbols, recipe.max_occluders
    out: dict[str, np.ndarray] = {}
    out["n_symbols"] = np.asarray(recipe.n_symbols.sample(d, "n_symbols"), np.int64).reshape(n)
    out["inverse_color"] = np.asarray(recipe.inverse_color.sample(d, "inverse_color"), bool).reshape(n)
    out["pixel_noise"] = _real(recipe.pixel_noise, d, "pixel_noise", None)
    out["background_kind"] = _codes(recipe.background.kind, d, "background.kind", None, PATTERN_KINDS)
    out["background_seed"] = d.seeds("background.seed")
    out["background_angle"] = _real(recipe.background.stroke_angle, d, "background.angle", None)
    out["n_occluders"] = (
        np.asarray(recipe.occlusion.count.sample(d, "occlusion.count"), np.int64).reshape(n)
        if K
        else np.zeros(n, np.int64)
    )
    _symbols(recipe, vocab, d, out, S)
    if K:
        _occluders(recipe, vocab, d, out, K)
    if recipe.joint is not None:
        _apply_joint(recipe, vocab, d, out)
    _check_ranges(recipe, out)
    _blank_inactive(out, out["n_symbols"], "symbol", S)
    if K:
        _blank_inactive(out, out["n_occluders"], "occluder", K)
    return {c.name: out[c.name].astype(c.dtype) for c in COLUMNS if c.name in out}


def _apply_joint(recipe: Recipe, vocab: Vocab, d: Draws, out: dict) -> None:
    """Per-sample overrides from ``recipe.joint(rng)`` (slow path: one Python call per sample)."""
    levels = {c.name: c for c in COLUMNS}
    cats = vocab.categories
    for i, s in enumerate(d.bits("joint").tolist()):
        got = recipe.joint(np.random.default_rng(s))
        if not isinstance(got, dict):
            raise InvalidRecipe("<recipe>", "joint", f"must return a dict of column values, got {type(got).__name__}")
        for name, value in got.items():
            col = levels.get(name)
            if col is None or name not in out:
                raise InvalidRecipe("<recipe>", f"joint.{name}", f"unknown column; expected one of "
                                    f"{', '.join(repr(k) for k in out)}")
            if col.categories is not None:
                try:
                    value = [cats[col.categories].index(v) for v in np.atleast_1d(value)]
                except ValueError:
                    raise InvalidRecipe("<recipe>", f"joint.{name}", f"{value!r} is not among the recipe's "
                                        f"{col.categories} values") from None
            if out[name].ndim == 1:
                out[name][i] = np.asarray(value).reshape(-1)[0]
            else:
                out[name][i, :] = value


def _check_ranges(recipe: Recipe, out: dict) -> None:
    """Values from callables (Func) must respect the same limits as the TOML schema."""
    S = recipe.max_symbols
    if np.any((out["n_symbols"] < 1) | (out["n_symbols"] > S)):
        raise InvalidRecipe("<recipe>", "n_symbols", f"values must lie in 1..{S}")
    if np.any(out["pixel_noise"] < 0) or not np.all(np.isfinite(out["pixel_noise"])):
        raise InvalidRecipe("<recipe>", "pixel_noise", "values must be finite and >= 0")
    if np.any(~(out["scale"] > 0)):
        raise InvalidRecipe("<recipe>", "symbol.scale", "values must be finite and > 0")


def _blank_inactive(out: dict, count: np.ndarray, level: str, slots: int) -> None:
    inactive = np.arange(slots)[None, :] >= count[:, None]
    if not inactive.any():
        return
    for c in COLUMNS:
        if c.level != level or c.name not in out:
            continue
        a = out[c.name]
        if c.dtype == "bool":
            a[inactive] = False
        elif c.dtype.startswith("float"):
            a[inactive] = np.nan
        elif c.dtype.startswith("uint"):
            a[inactive] = 0
        else:
            a[inactive] = -1
