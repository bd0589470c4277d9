"""Learned legibility of (font, char) pairs: glyph views, the classifier's numpy forward, tiers.

A font may draw a glyph for a code point without drawing *that letter* (Dingbats, Greek shapes on
Latin code points, a bar for every letter). The legibility audit asks a small CNN, trained on the
bundled fonts themselves and scored leave-fonts-out (``synprobe.fonts.legibility_train``,
``tools/audit_legibility.py``), how likely each (font, char) glyph is the labelled char. The
result ships in ``fonts/legibility.json`` (format ``synprobe-legibility/1``) with the weights of
one classifier per audited script in ``fonts/legibility_model.npz``; user fonts are scored with
those weights here, in numpy (no torch needed)::

    >>> from synprobe.fonts.legibility import load_model, score_font
    >>> model = load_model()                                   # doctest: +SKIP
    >>> score_font("MyFont.ttf", {"latin": "abc"}, model)      # doctest: +SKIP
    {'latin': {'a': 0.998, 'b': 0.991, 'c': 0.97}}

Scores are the classifier's probability of the labelled char, plus that of its documented case
twin (``c``/``C``, ``o``/``O``, ``l``/``I``: drawn alike once the ink box is normalised, see
``case_twins`` in the file); averaged over two views (regular and emboldened). A pair is
sampleable when its score is at least ``pair``; a font's tier follows from the share of its
letters that pass and their mean score (:func:`font_tier`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from synprobe.errors import FontError
from synprobe.fonts.audit import glyph_bitmap, open_face
from synprobe.paths import bundled

__all__ = [
    "AUDITED",
    "LEGIBILITY_FORMAT",
    "TIERS",
    "font_canvases",
    "font_tier",
    "forward",
    "load_model",
    "merge_twins",
    "pair_scores",
    "score_font",
    "views",
]

LEGIBILITY_FORMAT = "synprobe-legibility/1"
TIERS = ("legible", "decorative", "illegible")
AUDITED = ("latin", "greek", "cyrillic")  # scripts with enough fonts for leave-fonts-out
DERIVED = {"vietnamese": "latin"}  # a script whose tier is that of another (its letters' base)
CANVAS = 64  # glyph canvas side (px); the longest ink side is INK px, centred
INK = 40
VIEW = 32  # classifier input side: the canvas averaged 2x2 (ink ~0.62 of the side, as `default`)
MODEL_FILE = "legibility_model.npz"
TOOL = "python tools/audit_legibility.py --write"


# --- glyph views ---------------------------------------------------------------------------
def font_canvases(path: str | Path, chars: str) -> np.ndarray:
    """uint8 (len(chars), CANVAS, CANVAS): each glyph cropped to its ink and scaled so that its
    longest side is INK px, centred (a blank canvas when the glyph has no ink)."""
    import cv2

    face = open_face(Path(path))
    out = np.zeros((len(chars), CANVAS, CANVAS), np.uint8)
    for i, ch in enumerate(chars):
        img = glyph_bitmap(face, face.get_char_index(ord(ch)), CANVAS)
        if img.size == 0 or not img.any():
            continue
        ys, xs = np.nonzero(img)
        crop = img[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        s = INK / max(crop.shape)
        h, w = max(1, round(crop.shape[0] * s)), max(1, round(crop.shape[1] * s))
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        r = cv2.resize(crop, (w, h), interpolation=interp)
        y0, x0 = (CANVAS - h) // 2, (CANVAS - w) // 2
        out[i, y0 : y0 + h, x0 : x0 + w] = r
    return out


def views(canvases: np.ndarray) -> np.ndarray:
    """float32 (n, 2, 1, VIEW, VIEW) in [0, 1]: each canvas as drawn and emboldened (3x3 max),
    averaged 2x2 down to VIEW px. The training augmentation starts from the same two images."""
    x = canvases.astype(np.float32) / 255.0
    p = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    bold = np.max([p[:, i : i + CANVAS, j : j + CANVAS] for i in range(3) for j in range(3)], axis=0)
    both = np.stack([x, bold], 1)  # (n, 2, CANVAS, CANVAS)
    n = len(x)
    small = both.reshape(n, 2, VIEW, 2, VIEW, 2).mean((3, 5))
    return small[:, :, None].astype(np.float32)


# --- the classifier ------------------------------------------------------------------------
def forward(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Logits (n, classes) of the CNN (3 x [conv3x3 + ReLU + maxpool2], fc + ReLU, fc) for
    inputs x float32 (n, 1, VIEW, VIEW); the same network as ``legibility_train.Net``."""
    for i in range(3):
        w, b = params[f"conv{i}.w"], params[f"conv{i}.b"]
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        win = sliding_window_view(xp, (3, 3), axis=(2, 3))  # (n, c, h, w, 3, 3)
        x = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2) + b[:, None, None]
        x = np.maximum(x, 0)
        n, c, h, wd = x.shape
        x = x.reshape(n, c, h // 2, 2, wd // 2, 2).max((3, 5))
    x = x.reshape(len(x), -1)
    x = np.maximum(x @ params["fc0.w"].T + params["fc0.b"], 0)
    return x @ params["fc1.w"].T + params["fc1.b"]


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def load_model(path: str | Path | None = None) -> dict[str, dict]:
    """The shipped classifiers: ``{script: {"classes": str, <layer>.w/.b: float32 arrays}}``."""
    path = Path(path) if path is not None else bundled("fonts") / MODEL_FILE
    try:
        z = np.load(path)
    except FileNotFoundError:
        raise FontError(f"{path}: missing; run `{TOOL}`") from None
    out: dict[str, dict] = {}
    for key in z.files:
        script, name = key.split("/", 1)
        v = z[key]
        out.setdefault(script, {})[name] = "".join(v.tolist()) if name == "classes" else v.astype(np.float32)
    return out


def merge_twins(probs: np.ndarray, classes: str, twins: list[str]) -> np.ndarray:
    """probs (n, C) -> (n, C): each class's probability plus its case twin's (``twins`` lists
    pairs such as ``"cC"``; a class in no pair keeps its own probability)."""
    out = probs.copy()
    idx = {c: i for i, c in enumerate(classes)}
    for a, b in twins:
        if a in idx and b in idx:
            s = probs[:, idx[a]] + probs[:, idx[b]]
            out[:, idx[a]] = out[:, idx[b]] = s
    return out


def class_probs(params: dict, canvases: np.ndarray) -> np.ndarray:
    """Mean softmax over the two views: float (n, classes)."""
    v = views(canvases)
    n = len(v)
    p = softmax(forward(params, v.reshape(n * 2, 1, VIEW, VIEW)))
    return p.reshape(n, 2, -1).mean(1)


def pair_scores(probs: np.ndarray, chars: str, classes: str, twins: list[str]) -> tuple[dict, str]:
    """Scores of the pairs whose class probabilities are ``probs`` (len(chars), classes):
    ``{char: score}`` (3 decimals) and the chars drawn like their case twin (the twin's
    probability above their own: recorded as case-ambiguous, not as an error)."""
    merged = merge_twins(probs, classes, twins)
    idx = [classes.index(c) for c in chars]
    rows = np.arange(len(chars))
    own = probs[rows, idx]
    scores = {c: round(float(merged[i, idx[i]]), 3) for i, c in enumerate(chars)}
    case = "".join(c for i, c in enumerate(chars) if merged[i, idx[i]] - own[i] > own[i])
    return scores, case


def score_font(
    path: str | Path, coverage: dict[str, str], model: dict[str, dict], twins: dict[str, list[str]]
) -> tuple[dict, dict]:
    """Per audited script the font covers: ``{char: score}`` for every char it draws, and the
    case-ambiguous chars (see :func:`pair_scores`)."""
    scores, case = {}, {}
    for script, chars in coverage.items():
        params = model.get(script)
        if params is None or not chars:
            continue
        classes = params["classes"]
        chars = "".join(c for c in chars if c in classes)
        probs = class_probs(params, font_canvases(path, chars))
        scores[script], case[script] = pair_scores(probs, chars, classes, twins.get(script, []))
    return scores, case


def font_tier(scores, th: dict) -> str:
    """Tier of one font in one script from its per-char scores (see ``thresholds`` in the file)."""
    s = np.asarray(list(scores), float)
    if not len(s):
        return "illegible"
    ok, mean = float((s >= th["pair"]).mean()), float(s.mean())
    if ok >= th["legible_share"] and mean >= th["legible_mean"]:
        return "legible"
    if ok >= th["decorative_share"]:
        return "decorative"
    return "illegible"


# --- the file ------------------------------------------------------------------------------
def read(d: Path, manifest: dict, manifest_sha256: str, dropped, fix: str) -> tuple[dict, dict, str]:
    """Legibility of a fonts folder ``d`` for its manifest entries.

    Returns (tiers, bad, note): ``{font id: {script: tier}}`` and ``{font id: chars whose pair is
    not legible}`` for every font whose entry matches its file checksum, and a one-line note
    (empty when the file is current) naming the fix command ``fix``. A font without a current
    entry gets no tier: it is never sampled (not audited, so not trusted).
    """
    path = d / "legibility.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, {}, f"{path}: missing, so no font is sampled from this folder; run `{fix}`"
    except ValueError as e:
        return {}, {}, f"{path}: not valid JSON ({e}); run `{fix}`"
    if doc.get("format") != LEGIBILITY_FORMAT:
        return {}, {}, f"{path}: format is {doc.get('format')!r}, expected {LEGIBILITY_FORMAT!r}; run `{fix}`"
    pair = doc["thresholds"]["pair"]
    tiers, bad = {}, {}
    for e in manifest["fonts"]:
        le = doc["fonts"].get(e["id"])
        if le is None or le.get("sha256") != e["sha256"]:
            continue
        tiers[e["id"]] = le["tiers"]
        bad[e["id"]] = frozenset(c for sc in le["scores"].values() for c, v in sc.items() if v < pair)
    note = ""
    if doc.get("manifest_sha256") != manifest_sha256:
        n = sum(
            1
            for e in manifest["fonts"]
            if e.get("role", "regular") == "regular" and e["id"] not in tiers and e["id"] not in dropped
        )
        note = (
            f"stale {path} (made for another manifest.json): {n} regular font(s) without a "
            f"current entry are not sampled; run `{fix}`"
        )
    return tiers, bad, note


def tiers_for(coverage: dict[str, str], scores: dict[str, dict[str, float]], th: dict) -> dict[str, str]:
    """Tier per covered script: from the scores for audited scripts, from the base script for
    derived ones (Vietnamese: Latin), ``legible`` for the others (the glyph audit's verdict)."""
    t = {s: font_tier(scores[s].values(), th) for s in coverage if s in scores}
    for s in coverage:
        if s not in t:
            t[s] = t.get(DERIVED.get(s, ""), "legible")
    return t


def dump(path: Path, doc: dict) -> None:
    """Write a legibility document: header keys indented, then one line per font."""
    head = {k: v for k, v in doc.items() if k != "fonts"}
    text = json.dumps(head, sort_keys=True, indent=1, ensure_ascii=False)[:-2]
    dump = lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False)  # noqa: E731
    lines = [f"  {dump(fid)}: {dump(doc['fonts'][fid])}" for fid in sorted(doc["fonts"])]
    text += ',\n "fonts": {\n' + ",\n".join(lines) + "\n }\n}\n"
    path.write_text(text, encoding="utf-8")


def write_user(d: Path) -> dict:
    """(Re)write the legibility.json of a user fonts folder ``d`` (:func:`user_doc`)."""
    doc = user_doc(d)
    dump(d / "legibility.json", doc)
    return doc


def user_doc(d: Path) -> dict:
    """Legibility document of a user fonts folder ``d``: its fonts scored with the shipped model
    (numpy), with the bundled file's thresholds and case twins."""
    ref = bundled("fonts") / "legibility.json"
    try:
        base = json.loads(ref.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FontError(f"{ref}: missing; run `{TOOL}`") from None
    manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    coverage = json.loads((d / "coverage.json").read_text(encoding="utf-8"))
    model = load_model()
    th, twins = base["thresholds"], base["case_twins"]
    fonts = {}
    for e in manifest["fonts"]:
        cov = coverage["fonts"].get(e["id"])
        if cov is None or e["id"] in coverage.get("dropped", {}) or e.get("role", "regular") != "regular":
            continue
        scores, case = score_font(d / e["file"], cov, model, twins)
        fonts[e["id"]] = entry(e["sha256"], cov, scores, case, th)
    doc = {
        "format": LEGIBILITY_FORMAT,
        "manifest_sha256": coverage["manifest_sha256"],
        "model": {"file": f"bundled fonts/{MODEL_FILE}", "scored": "by the shipped model (numpy)"},
        "thresholds": th,
        "case_twins": twins,
        "audited": base["audited"],
        "fonts": fonts,
    }
    return doc


def entry(sha256: str, coverage: dict, scores: dict, case: dict, th: dict) -> dict:
    """One font's record: file checksum, tier per script, overall tier, scores, case twins drawn
    alike (chars whose twin's probability was the larger part of their score)."""
    tiers = tiers_for(coverage, scores, th)
    best = min(tiers.values(), key=TIERS.index) if tiers else "illegible"
    return {
        "sha256": sha256,
        "tier": best,
        "tiers": tiers,
        "scores": {s: dict(v) for s, v in scores.items()},
        "case": {s: c for s, c in case.items() if c},
    }
