"""The recipe schema: frozen dataclasses, allowed pattern/occluder kinds and count limits.

Pure data (no parsing, no I/O); :mod:`synprobe.recipe._validate` builds these from dicts. Import
the public names from :mod:`synprobe.recipe`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from synprobe.dists import Bernoulli, Choice, Const, Dist, LogNormal, Normal, Uniform

PATTERN_KINDS = ("solid", "linear", "radial", "multigradient", "camouflage", "noise", "image")
OCCLUDER_KINDS = ("square", "triangle", "circle", "glyph")
SLANT_MODES = ("synbols", "italic")  # see SymbolSpec.slant_mode
# symbol.fonts: legibility tiers each selection samples (docs/fonts.md §3; illegible: never)
FONT_TIERS = {"legible": ("legible",), "decorative": ("decorative",), "all": ("legible", "decorative")}
MAX_SYMBOLS = 64
MAX_OCCLUDERS = 32


@dataclass(frozen=True)
class PatternSpec:
    """A foreground or background texture.

    Attributes:
        kind: pattern kind per sample, one of :data:`PATTERN_KINDS`.
        color: fixed RGB in [0, 1] for ``solid`` (None: a random colour per sample).
        alpha: opacity of each extra gradient layer (``multigradient``).
        n_gradients: layers of ``multigradient``.
        stroke_angle: camouflage stroke angle in radians (a distribution, per sample).
        stroke_length, stroke_width: camouflage strokes, in image units.
        n_strokes: camouflage strokes per image.
        octaves: value-noise octaves (``noise``); base_cells: cells of the coarsest octave.
        image_dir: folder of pictures for ``image`` (png/jpg), cropped and resized.
        min_crop: smallest crop side, as a fraction of the picture (``image``).
    """

    kind: Dist = Choice(("linear", "radial"))
    color: tuple[float, float, float] | None = None
    alpha: float = 0.5
    n_gradients: int = 2
    stroke_angle: Dist = Const(math.pi / 4)
    stroke_length: float = 0.4
    stroke_width: float = 0.05
    n_strokes: int = 500
    octaves: int = 3
    base_cells: int = 3
    image_dir: str | None = None
    min_crop: float = 0.2


@dataclass(frozen=True)
class SymbolSpec:
    """Per-symbol attributes (each symbol of an image draws its own).

    Attributes:
        script: script of the symbol, one of :data:`synprobe.scripts.SCRIPTS`.
        char: characters to draw (None: uniform over every character some bundled font draws).
        font: font ids (None: uniform over the fonts that draw the sampled character).
        fonts: legibility tiers sampled when ``font`` is not given, one of :data:`FONT_TIERS`
            (``"legible"``; ``"decorative"``; ``"all"`` = both). Illegible fonts and (font, char)
            pairs whose letter the legibility audit does not recognise are never sampled.
        bold, slant: bold face (a real bold file when the family has one, else emboldened
            outlines) and shear factor (Synbols uses 0.2; 0 = upright).
        slant_mode: ``"synbols"`` (Synbols' slant: a vertical shear of the rotated glyph on screen,
            y' = y + slant * x) or ``"italic"`` (a horizontal shear of the upright glyph before
            rotation, x' = x - slant * y: the top leans right, as italics do).
        rotation: radians, clockwise on screen (as Synbols). scale: longest ink side / shortest image side.
        translation_x, translation_y: -1..1 maps the ink box across the free space (Synbols).
        foreground: texture of the glyph.
    """

    script: Dist = Const("latin")
    char: Dist | None = None
    font: Dist | None = None
    fonts: str = "legible"
    bold: Dist = Bernoulli(0.5)
    slant: Dist = Choice((0.0, 0.2))
    slant_mode: str = "synbols"
    rotation: Dist = Normal(0.0, 0.3)
    scale: Dist = LogNormal(0.6, 0.2)
    translation_x: Dist = Uniform(-0.9, 0.9)
    translation_y: Dist = Uniform(-0.9, 0.9)
    foreground: PatternSpec = PatternSpec()


@dataclass(frozen=True)
class OcclusionSpec:
    """Occluders drawn over the symbols (masks account for them)."""

    count: Dist = Const(0)
    kind: Dist = Choice(("square", "triangle", "circle"))
    scale: Dist = LogNormal(0.3, 0.1)
    rotation: Dist = Uniform(0.0, 2 * math.pi)
    translation_x: Dist = Uniform(-1.5, 1.5)
    translation_y: Dist = Uniform(-1.5, 1.5)
    foreground: PatternSpec = PatternSpec()


@dataclass(frozen=True)
class Recipe:
    """A whole dataset recipe. ``resolution`` is (height, width).

    ``joint`` (Python API only) is a callable ``f(rng) -> dict`` evaluated once per sample after
    the independent draws; the dict overrides columns (see :data:`synprobe.sampling.COLUMNS`) to
    give joint laws, e.g. ``lambda rng: {"scale": s, "rotation": -s}``. Symbol-level values set
    every symbol slot; a list sets the slots one by one. Its rng is seeded from (seed, index).

    ``stream`` keys the random streams together with the seed (None: the recipe's ``name``), so
    two recipes at one seed draw independent samples; give two recipes the same ``stream`` to pair
    them (the same draws for the attributes they share: poses, colours, noise).
    """

    name: str = "custom"
    description: str = ""
    resolution: tuple[int, int] = (32, 32)
    n_symbols: Dist = Const(1)
    symbol: SymbolSpec = SymbolSpec()
    background: PatternSpec = PatternSpec()
    occlusion: OcclusionSpec = OcclusionSpec()
    inverse_color: Dist = Bernoulli(0.5)
    pixel_noise: Dist = Const(0.01)
    gray: bool = False
    max_contrast: bool = True
    masks: bool = False
    stream: str | None = None
    joint: Callable[[np.random.Generator], dict] | None = None

    @property
    def stream_key(self) -> str:
        """The name that keys this recipe's random streams (``stream``, else ``name``)."""
        return self.name if self.stream is None else self.stream

    @property
    def max_symbols(self) -> int:
        return int(max(_support_max(self.n_symbols, MAX_SYMBOLS), 1))

    @property
    def max_occluders(self) -> int:
        return int(max(_support_max(self.occlusion.count, MAX_OCCLUDERS), 0))


def _support_max(d: Dist, cap: int) -> int:
    vals = d.values()
    return int(max(vals)) if vals else cap
