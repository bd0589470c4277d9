"""The legibility audit itself: a small CNN per script, trained leave-fonts-out (needs torch).

Run by ``tools/audit_legibility.py --write`` (which writes ``fonts/legibility.json`` and
``fonts/legibility_model.npz``) and by ``synprobe fonts check`` when torch is installed::

    >>> from synprobe.fonts import FontRegistry
    >>> from synprobe.fonts.legibility_train import audit
    >>> doc, weights = audit(FontRegistry.load(user=False))   # doctest: +SKIP

Method, per audited script (:data:`synprobe.fonts.legibility.AUDITED`):

1. Every drawn (regular, kept font, char) pair is rendered once as an ink-normalised 64 px
   canvas (:func:`synprobe.fonts.legibility.font_canvases`; cached under the temp folder by font
   checksum).
2. Fonts are split into ``FOLDS`` folds. For each fold a CNN is trained on the other folds'
   pairs, with augmentation (emboldening, scale, rotation, shear, translation jitter), and scores
   the held-out fonts' pairs: no font is scored by a model that saw it.
3. Round 2: each fold's model is trained further on the pairs judged legible in round 1 only
   (clean labels), then scores its held-out fonts again. Those scores are the result.
4. Case twins (``c``/``C``, ``l``/``I``, ...) are read off round 1's confusions (:func:`twins`).
5. Tiers follow :data:`THRESHOLDS` (see ``docs/fonts.md`` for how they were chosen).
"""

from __future__ import annotations

import hashlib
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from synprobe.fonts.legibility import (
    AUDITED,
    LEGIBILITY_FORMAT,
    MODEL_FILE,
    VIEW,
    entry,
    font_canvases,
    font_tier,
    pair_scores,
    views,
)
from synprobe.scripts import ALPHABETS

FOLDS = 5  # leave-fonts-out folds
BATCH = 256
STEPS = (240, 80)  # optimiser steps per fold, rounds 1 and 2 (fewer when a script is small)
MAX_EPOCHS = (6, 3)  # ... at most this many passes over the training pairs
LR = (2e-3, 5e-4)
SEED = 0
TWIN_MIN = 0.15  # a case pair is a twin when the mean probability given to the other is above
THRESHOLDS = {
    "pair": 0.5,  # a pair is sampleable when its score is at least this
    "legible_share": 0.9,  # legible: at least this share of the font's letters pass ...
    "legible_mean": 0.8,  # ... and their mean score is at least this
    "decorative_share": 0.5,  # decorative: most letters pass; below: illegible
}
CACHE = Path(tempfile.gettempdir()) / "synprobe-legibility"


# --- data ----------------------------------------------------------------------------------
def _render_job(job):
    path, chars, key = job
    f = CACHE / f"{key}.npy"
    if f.is_file():
        return np.load(f)
    c = font_canvases(path, chars)
    np.save(f, c)
    return c


def collect(reg, script: str, workers: int = 2):
    """Pairs of ``script``: (fonts [(id, sha256, chars)], canvases uint8 (N, 64, 64),
    labels int (N,) into the alphabet, font index int (N,))."""
    alpha = "".join(ALPHABETS[script].chars)
    fonts = []
    for fid in reg.ids(script):
        chars = "".join(c for c in reg.chars(fid, script) if c in alpha)
        if chars:
            fonts.append((fid, reg.entry(fid).sha256, chars))
    CACHE.mkdir(parents=True, exist_ok=True)
    jobs = [
        (str(reg.entry(f).path), ch, f"{sha[:20]}-{hashlib.sha256(ch.encode()).hexdigest()[:12]}")
        for f, sha, ch in fonts
    ]
    if workers > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(workers) as pool:
            canv = pool.map(_render_job, jobs, chunksize=8)
    else:
        canv = [_render_job(j) for j in jobs]
    x = np.concatenate(canv)
    y = np.array([alpha.index(c) for _, _, ch in fonts for c in ch], np.int64)
    g = np.repeat(np.arange(len(fonts)), [len(ch) for _, _, ch in fonts])
    return fonts, x, y, g


# --- model ---------------------------------------------------------------------------------
CHANNELS = (16, 32, 64)


def make_net(n_classes: int, bn: bool = True):
    """3 x [conv3x3 (+ batch norm) + ReLU + maxpool2] (16, 32, 64 channels), fc 128 + ReLU,
    fc n_classes. Trained with batch norm; exported with it folded into the convolutions."""
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            c = (1, *CHANNELS)
            self.conv = nn.ModuleList(nn.Conv2d(c[i], c[i + 1], 3, padding=1) for i in range(3))
            self.bn = nn.ModuleList((nn.BatchNorm2d(c[i + 1]) if bn else nn.Identity()) for i in range(3))
            self.fc0 = nn.Linear(c[3] * (VIEW // 8) ** 2, 128)
            self.fc1 = nn.Linear(128, n_classes)

        def forward(self, x):
            import torch.nn.functional as F

            for conv, norm in zip(self.conv, self.bn):
                x = F.max_pool2d(F.relu(norm(conv(x))), 2)
            return self.fc1(F.relu(self.fc0(x.flatten(1))))

    return Net()


def export(net, classes: str, script: str) -> dict[str, np.ndarray]:
    """The weights, batch norm folded in, as ``{script/<layer>.w|.b: float16}`` plus
    ``script/classes`` (the layout :func:`synprobe.fonts.legibility.forward` reads)."""
    out = {f"{script}/classes": np.array(list(classes))}
    for i, (conv, norm) in enumerate(zip(net.conv, net.bn)):
        w, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
        if hasattr(norm, "running_var"):
            g = (norm.weight / (norm.running_var + norm.eps).sqrt()).detach().numpy()
            w, b = w * g[:, None, None, None], (b - norm.running_mean.numpy()) * g + norm.bias.detach().numpy()
        out[f"{script}/conv{i}.w"], out[f"{script}/conv{i}.b"] = w.astype(np.float16), b.astype(np.float16)
    for name in ("fc0", "fc1"):
        layer = getattr(net, name)
        out[f"{script}/{name}.w"] = layer.weight.detach().numpy().astype(np.float16)
        out[f"{script}/{name}.b"] = layer.bias.detach().numpy().astype(np.float16)
    return out


def load_net(params: dict):
    """A torch net (no batch norm) holding numpy ``params`` (as ``load_model`` gives them)."""
    import torch

    net = make_net(len(params["classes"]), bn=False)
    with torch.no_grad():
        for i, conv in enumerate(net.conv):
            conv.weight.copy_(torch.from_numpy(params[f"conv{i}.w"]))
            conv.bias.copy_(torch.from_numpy(params[f"conv{i}.b"]))
        for name in ("fc0", "fc1"):
            getattr(net, name).weight.copy_(torch.from_numpy(params[f"{name}.w"]))
            getattr(net, name).bias.copy_(torch.from_numpy(params[f"{name}.b"]))
    return net.eval()


def augment(canv, gen):
    """Training views of uint8 canvases (B, 64, 64): float (B, 1, VIEW, VIEW)."""
    import torch
    import torch.nn.functional as F

    x = canv.float().unsqueeze(1) / 255.0
    b = len(x)
    bold = torch.rand(b, generator=gen) < 0.5
    x = torch.where(bold[:, None, None, None], F.max_pool2d(x, 3, 1, 1), x)
    x = F.avg_pool2d(x, 2)
    s = torch.exp(torch.randn(b, generator=gen) * 0.1)  # scale jitter (the test views: 1)
    r = torch.randn(b, generator=gen) * 0.12  # rotation (rad)
    k = (torch.rand(b, generator=gen) < 0.3) * 0.2  # a slant, as Synbols' 0.2
    t = (torch.rand(b, 2, generator=gen) - 0.5) * 0.08  # translation (of the half side)
    cos, sin = torch.cos(r) / s, torch.sin(r) / s
    theta = torch.stack(
        [torch.stack([cos, -sin + k * cos, t[:, 0]], 1), torch.stack([sin, cos + k * sin, t[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)


def train(net, x, y, steps: int, lr: float, seed: int) -> None:
    """Adam with a cosine learning rate over ``steps`` batches drawn from (x, y) (torch)."""
    import torch
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr)
    net.train()
    for step in range(steps):
        idx = torch.randint(0, len(x), (BATCH,), generator=gen)
        for grp in opt.param_groups:
            grp["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        loss = F.cross_entropy(net(augment(x[idx], gen)), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()


def predict(net, canv: np.ndarray) -> np.ndarray:
    """Mean softmax over the two views (regular, emboldened): float (n, classes)."""
    import torch

    out = []
    with torch.no_grad():
        for i in range(0, len(canv), 2048):
            v = torch.from_numpy(views(canv[i : i + 2048]))
            n = len(v)
            p = torch.softmax(net(v.reshape(n * 2, 1, VIEW, VIEW)), 1)
            out.append(p.reshape(n, 2, -1).mean(1).numpy())
    return np.concatenate(out)


# --- the audit -----------------------------------------------------------------------------
def twins(probs: np.ndarray, y: np.ndarray, g: np.ndarray, classes: str, script: str, log=print) -> list[str]:
    """Case pairs (a, A) drawn alike in ordinary fonts: over the fonts recognised up to case
    (mean probability of the letter or its other case >= 0.8), the mean probability a letter's
    glyph gets for its twin is >= TWIN_MIN, one way or the other. Latin l/I is a candidate too."""
    cands = [(c, c.upper()) for c in classes if c.islower() and c.upper() in classes]
    if script == "latin":
        cands.append(("l", "I"))
    other = np.array([classes.index(c.swapcase()) if c.swapcase() in classes else i for i, c in enumerate(classes)])
    rows = np.arange(len(y))
    either = probs[rows, y] + np.where(other[y] != y, probs[rows, other[y]], 0)
    trusted = (np.bincount(g, either) / np.bincount(g) >= 0.8)[g]
    out, seen = [], []
    for a, b in cands:
        ia, ib = classes.index(a), classes.index(b)
        m = max(probs[trusted & (y == ia), ib].mean(), probs[trusted & (y == ib), ia].mean())
        seen.append(f"{a}{b} {m:.2f}")
        if m >= TWIN_MIN:
            out.append(a + b)
    log(f"{script}: mean twin probabilities over {len(np.unique(g[trusted]))} fonts: " + ", ".join(seen))
    return out


def _fold_scores(script, fonts, x, y, g, keep, nets, rnd, log):
    """Train (or train further) one net per fold on the kept pairs outside it; held-out probs."""
    import torch

    classes = "".join(ALPHABETS[script].chars)
    fold = np.random.default_rng(SEED).permutation(len(fonts)) % FOLDS
    probs = np.zeros((len(y), len(classes)), np.float32)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for k in range(FOLDS):
        tr = np.flatnonzero((fold[g] != k) & keep)
        steps = min(STEPS[rnd], MAX_EPOCHS[rnd] * len(tr) // BATCH)
        if nets[k] is None:
            torch.manual_seed(SEED + k)
            nets[k] = make_net(len(classes))
        t = time.perf_counter()
        train(nets[k], xt[tr], yt[tr], steps, LR[rnd], SEED + 100 * rnd + k)
        te = np.flatnonzero(fold[g] == k)
        probs[te] = predict(nets[k], x[te])
        acc = (probs[te].argmax(1) == y[te]).mean()
        log(
            f"{script} round {rnd + 1} fold {k}: {len(tr)} pairs, {steps} steps, "
            f"{time.perf_counter() - t:.0f} s, held-out top-1 {acc:.3f}"
        )
    return probs


def audit_script(reg, script: str, log=print):
    """Leave-fonts-out scores of one script: ({font id: (scores, case)}, twins, weights)."""
    fonts, x, y, g = collect(reg, script)
    classes = "".join(ALPHABETS[script].chars)
    nets = [None] * FOLDS
    keep = np.ones(len(y), bool)
    for rnd in range(2):
        probs = _fold_scores(script, fonts, x, y, g, keep, nets, rnd, log)
        if rnd == 0:
            tw = twins(probs, y, g, classes, script, log)
            log(f"{script}: case twins {' '.join(tw)}")
        result = {}
        for i, (fid, _, chars) in enumerate(fonts):
            rows = g == i
            result[fid] = pair_scores(probs[rows], chars, classes, tw)
        if rnd == 0:  # clean labels: only pairs that pass, in fonts that are not illegible
            ok = np.zeros(len(y), bool)
            for i, (fid, _, chars) in enumerate(fonts):
                sc = result[fid][0]
                if font_tier(sc.values(), THRESHOLDS) != "illegible":
                    ok[g == i] = [sc[c] >= THRESHOLDS["pair"] for c in chars]
            keep = ok
            log(f"{script}: round 2 trains on {keep.sum()} of {len(keep)} pairs")
    return result, tw, export(nets[0], classes, script)


def audit(reg, scripts=AUDITED, log=print) -> tuple[dict, dict]:
    """The bundled fonts' legibility document and the shipped weights (fold 0's nets)."""
    import torch

    torch.set_num_threads(1)  # small convolutions: one thread is as fast, and kinder to a shared machine
    scores, case, tw, weights, counts = {}, {}, {}, {}, {}
    for script in scripts:
        res, tw[script], w = audit_script(reg, script, log)
        weights.update(w)
        counts[script] = len(res)
        for fid, (sc, cs) in res.items():
            scores.setdefault(fid, {})[script] = sc
            case.setdefault(fid, {})[script] = cs
    fonts = {}
    for fid in reg.ids():
        cov = {s: reg.chars(fid, s) for s in reg.scripts(fid)}
        fonts[fid] = entry(reg.entry(fid).sha256, cov, scores.get(fid, {}), case.get(fid, {}), THRESHOLDS)
    few = {
        s: f"{len(reg.ids(s))} fonts: too few for leave-fonts-out; every drawn pair counts as legible "
        "(the glyph audit's verdict)"
        for s in ALPHABETS
        if s not in scripts and s not in ("vietnamese",)
    }
    doc = {
        "format": LEGIBILITY_FORMAT,
        "manifest_sha256": reg.manifest_sha256,
        "model": {
            "file": MODEL_FILE,
            "folds": FOLDS,
            "steps": list(STEPS),
            "batch": BATCH,
            "net": "conv3x3 16-32-64 + maxpool, fc 128, per script",
            "shipped": "fold 0",
            "fonts_per_script": counts,
            "seed": SEED,
        },
        "thresholds": THRESHOLDS,
        "case_twins": tw,
        "audited": list(scripts),
        "derived": {"vietnamese": "latin"},
        "not_audited": few,
        "fonts": fonts,
    }
    return doc, weights
