"""Feldman–Zhang memorization scores, estimated from K training runs on random subsets of the training rows.

    >>> from synprobe.harness.memorization import estimate                                  # doctest: +SKIP
    >>> res = estimate("noisy-40-sym", "default.h5", runs=20, subset=0.7, out="runs/fz")    # doctest: +SKIP
    >>> res["mem_mean"]["noisy"], res["mem_mean"]["clean"]                                  # doctest: +SKIP

The training set S is the distinct training rows of the stream (all tasks). Run ``t`` keeps a uniformly random
``round(subset * |S|)`` of them (drawn from ``rng_for(seed, "harness/fz")``), removes every other row from every
task (so a recurring stream keeps its task structure), trains with the same settings and seed ``config.seed + t``,
then predicts every row of S (scored against its observed, possibly noisy, label) and every row of the primary
eval set (scored against the true label). ``mem_i = feldman_zhang(in_subset, correct)`` (docs/memorization.md).
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from synprobe.harness import data as run_data  # by module: a test counts its prepare() and DeviceData() calls
from synprobe.harness import train  # by module: a test watches the inner runs through train.run
from synprobe.harness.config import TrainConfig
from synprobe.harness.data import resolve_stream
from synprobe.harness.device import resolve
from synprobe.harness.errors import HarnessError, need_torch
from synprobe.harness.evaluation import predict
from synprobe.harness.metrics import feldman_zhang
from synprobe.harness.outputs import StagedDir, clean_json
from synprobe.harness.plots import need_matplotlib
from synprobe.harness.provenance import run_record
from synprobe.rng import rng_for
from synprobe.scenarios import Stream

__all__ = ["FORMAT", "draw_subsets", "estimate", "filter_stream", "plot_memorization"]

FORMAT = "synprobe.memorization/1"
# Evaluation-only settings of the K inner runs: they never change what is trained (evaluation uses no
# training randomness), only what the discarded per-run metrics would hold, so they are switched off.
_QUIET_EVAL = dict(eval_every_tasks=0, eval_every_steps=0, eval_every_epochs=0, memorization=False,
                   forgetting_events=False)


def draw_subsets(n: int, size: int, runs: int, seed: int) -> np.ndarray:
    """Which of ``n`` rows each run trains on: exactly ``size`` uniformly random rows per run.

    Returns:
        bool array (runs, n); row ``t`` has ``size`` True. Depends only on ``(seed, n, size, runs)``.
    """
    rng = rng_for(seed, "harness/fz", HarnessError)
    mask = np.zeros((runs, n), bool)
    for t in range(runs):
        mask[t, rng.permutation(n)[:size]] = True
    return mask


def filter_stream(stream, keep_rows, note: dict | None = None):
    """A copy of ``stream`` keeping only the training occurrences whose row is in ``keep_rows``.

    Task boundaries follow the kept occurrences (a task may become empty); class lists, val parts and eval sets
    are unchanged; ``labels_true``/``labels_observed`` are filtered alongside ``indices``. ``note`` is stored in
    the spec under ``"fz_subset"``.
    """
    keep = np.isin(stream.indices, np.asarray(keep_rows, np.int64))
    kept = np.concatenate([[0], np.cumsum(keep)]).astype(np.int64)

    def sub(a):
        return None if a is None else a[keep]

    spec = dict(stream.spec, fz_subset=note or {})
    return Stream(stream.indices[keep], kept[stream.offsets], stream.class_indices, stream.class_offsets,
                  stream.val_indices, stream.val_offsets, dict(stream.eval_sets), sub(stream.labels_true),
                  sub(stream.labels_observed), spec, stream.seed)


def _check(runs, subset) -> None:
    if isinstance(runs, bool) or not isinstance(runs, int | np.integer) or runs < 2:
        raise HarnessError(f"runs: {runs!r} must be an integer >= 2 (runs with and without each row are compared)")
    if isinstance(subset, bool) or not isinstance(subset, int | float) or not 0 < subset < 1:
        raise HarnessError(f"subset: {subset!r} must be a fraction with 0 < subset < 1")


def _nanstat(fn, a) -> float | None:
    a = np.asarray(a, float)
    a = a[np.isfinite(a)]
    return float(fn(a)) if a.size else None


def estimate(stream, data, config: TrainConfig | None = None, *, runs: int = 10, subset: float = 0.7,
             seed: int | None = None, device: str = "auto", out=None, progress: bool = True, overwrite: bool = False,
             plots: bool = True, argv=None, **overrides) -> dict:
    """Estimate Feldman–Zhang memorization of every training row of ``stream`` from ``runs`` subset trainings.

    Args:
        stream: a Stream, a stream ``.npz`` or a scenario recipe name/path.
        data: the dataset file (.h5) the stream indexes.
        config: a :class:`TrainConfig` (``overrides`` replace its fields); run ``t`` trains with seed
            ``config.seed + t``.
        runs: K >= 2 training runs.
        subset: fraction r in (0, 1) of the training rows each run keeps (``round(r * |S|)`` rows).
        seed: seed of the subset draws; None = ``config.seed``.
        device: "auto", "cpu", "cuda" or "cuda:N".
        out: directory to write (``memorization.npz``, ``summary.json``, ``config.json``, ``plots/``); None = none.

    Returns:
        The summary dict (also ``summary.json``) plus ``"arrays"``: the arrays of ``memorization.npz`` —
        ``rows`` int64 (n,) sorted file rows of S; ``mem`` float64 (n,) (NaN where undefined); ``in_subset``,
        ``correct`` bool (K, n); ``observed``, ``true`` int64 (n,) labels 0..C-1; ``noisy`` bool (n,);
        ``classes`` int64 (C,) file class ids of the labels; ``eval_rows`` int64 (m,), ``eval_true`` int64 (m,),
        ``eval_correct`` bool (K, m); ``test_acc`` float64 (K,); ``train_seeds`` int64 (K,).
    """
    # --- setup -----------------------------------------------------------------------------------
    cfg = config or TrainConfig()
    if overrides:
        cfg = TrainConfig.from_dict({**cfg.to_dict(), **overrides})
    _check(runs, subset)
    subset_seed = cfg.seed if seed is None else seed
    torch = need_torch()
    t0 = time.perf_counter()
    hw = resolve(device, cfg.amp)
    print(f"synprobe: {hw.note}", file=sys.stderr)
    stream, source = resolve_stream(stream, data)
    primary = "iid" if "iid" in stream.eval_sets else next(iter(stream.eval_sets), None)
    rd = run_data.prepare(stream, data, cfg.tasks, None if primary is None else [primary], source)
    if cfg.tasks is not None:
        stream = stream[:cfg.tasks]
    S = TrainingSet.of(rd)
    plan = Plan.draw(S.n, runs, subset, subset_seed, cfg.seed, primary)
    writer = StagedDir(out, overwrite) if out is not None else None
    if writer:
        writer.write_json("config.json", run_record(FORMAT, hw, cfg, argv, stream=stream, source=source, rd=rd,
                                                    data=data, extra={"memorization": plan.record()}))

    # --- K training runs, scores and files ---------------------------------------------------------
    X = run_data.DeviceData(rd.x, hw.device)  # one copy of the images on the device, shared by the K runs
    correct, ev_correct, samples = _train_runs(torch, stream, data, cfg, hw, rd, X, S, plan, progress, t0)
    mem = feldman_zhang(plan.in_subset, correct)
    ev_pos, ev_true = S.eval_set(rd, primary)
    test_acc = ev_correct.mean(axis=1) if len(ev_pos) else np.full(runs, np.nan)
    arrays = {"rows": S.rows, "mem": mem, "in_subset": plan.in_subset, "correct": correct, "observed": S.observed,
              "true": S.true, "noisy": S.noisy, "classes": rd.classes, "eval_rows": rd.rows[ev_pos],
              "eval_true": ev_true, "eval_correct": ev_correct, "test_acc": test_acc, "train_seeds": plan.seeds}
    summary = _summary(plan, S, arrays, time.perf_counter() - t0, samples, hw)
    if writer:
        np.savez(writer.dir / "memorization.npz", **arrays)
        writer.write_json("summary.json", summary)
        if plots:
            plot_memorization(writer.dir / "plots", arrays, rd.x[np.searchsorted(rd.rows, S.rows)], rd.class_names)
        writer.publish()
    return {**summary, "arrays": arrays}


@dataclass(frozen=True)
class TrainingSet:
    """S, the distinct training rows of a run: image positions, file rows and first-occurrence labels (n,)."""

    pos: np.ndarray
    rows: np.ndarray
    observed: np.ndarray
    true: np.ndarray
    conflicts: int  # rows trained under more than one observed label

    @classmethod
    def of(cls, rd) -> TrainingSet:
        pos, first = np.unique(rd.pos, return_index=True)  # S as image positions, and each row's first occurrence
        observed = rd.label[first]
        conflicts = int(np.unique(rd.pos[rd.label != observed[np.searchsorted(pos, rd.pos)]]).size)
        return cls(pos, rd.rows[pos], observed, rd.true[first], conflicts)

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def noisy(self) -> np.ndarray:
        return self.observed != self.true

    @staticmethod
    def eval_set(rd, name):
        """(positions, true labels) of eval set ``name`` (empty without one)."""
        return rd.evals.get(name, (np.zeros(0, np.int64), np.zeros(0, np.int64)))


@dataclass(frozen=True)
class Plan:
    """The K runs: which rows each keeps (``in_subset`` bool (K, n)), its training seed, the eval set."""

    runs: int
    subset: float
    size: int
    subset_seed: int
    in_subset: np.ndarray
    seeds: np.ndarray
    eval_set: str | None

    @classmethod
    def draw(cls, n: int, runs: int, subset: float, subset_seed: int, train_seed: int, eval_set: str | None) -> Plan:
        """The plan of ``runs`` runs over ``n`` training rows, each keeping ``round(subset * n)`` of them."""
        size = round(subset * n)
        if not 0 < size < n:
            raise HarnessError(f"subset: {subset} of the {n} training rows keeps {size}; every run must keep some "
                               "rows and leave some out")
        return cls(runs, subset, size, subset_seed, draw_subsets(n, size, runs, subset_seed),
                   train_seed + np.arange(runs, dtype=np.int64), eval_set)

    def record(self) -> dict:
        """The ``"memorization"`` entry of ``config.json``."""
        return {"runs": self.runs, "subset": self.subset, "subset_size": self.size, "subset_seed": self.subset_seed,
                "train_seeds": self.seeds, "eval_set": self.eval_set, "inner_run_overrides": self.inner_overrides()}

    def inner_overrides(self) -> dict:
        """The config changes of every inner run: evaluation off, but for the eval set."""
        return {**_QUIET_EVAL, **({"eval_sets": [self.eval_set]} if self.eval_set is not None else {})}


def _train_runs(torch, stream, data, cfg, hw, rd, X, S: TrainingSet, plan: Plan, progress: bool, t0: float):
    """Train the K runs; returns ``correct`` bool (K, n) on S (observed labels), ``ev_correct`` bool (K, m) on the
    eval set (true labels) and the samples trained in all."""
    dev = hw.device
    ev_pos, ev_true = S.eval_set(rd, plan.eval_set)
    pos_t, ev_t = torch.from_numpy(S.pos).to(dev), torch.from_numpy(ev_pos).to(dev)
    batch, autocast = cfg.eval_batch_size or hw.eval_batch, hw.autocast()
    correct = np.zeros((plan.runs, S.n), bool)
    ev_correct = np.zeros((plan.runs, len(ev_pos)), bool)
    inner, samples = plan.inner_overrides(), 0

    def labels(model, p):
        if len(p) == 0:
            return np.zeros(0, np.int64)
        with torch.inference_mode(), autocast():
            return predict(torch, model, X, p, batch).cpu().numpy()

    bar = tqdm(total=plan.runs, unit="run", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    try:
        for t in range(plan.runs):
            keep = plan.in_subset[t]
            note = {"run": t, "of": plan.runs, "fraction": plan.subset, "rows": plan.size, "of_rows": S.n,
                    "seed": plan.subset_seed}
            sub = filter_stream(stream, S.rows[keep], note)
            sub_rd = rd.keep_occurrences(np.isin(rd.pos, S.pos[keep]))  # = prepare(sub, ...), not re-read

            def on_end(model, _X, _rd, t=t):
                correct[t] = labels(model, pos_t) == S.observed
                ev_correct[t] = labels(model, ev_t) == ev_true

            s = train.run(sub, data, cfg, None, device=str(dev), progress=False, plots=False, on_end=on_end,
                          announce=False, prepared=(sub_rd, X), **{**inner, "seed": int(plan.seeds[t])})
            samples += s["train_samples"]
            acc = ev_correct[: t + 1].mean() if len(ev_pos) else float("nan")
            bar.set_postfix_str(f"{samples / max(time.perf_counter() - t0, 1e-9):,.0f} samples/s, "
                                f"test acc {acc:.3f}", refresh=False)
            bar.update(1)
    finally:
        bar.close()
    return correct, ev_correct, samples


def _summary(plan: Plan, S: TrainingSet, arrays: dict, time_s: float, samples: int, hw) -> dict:
    """``summary.json``: the memorization means of clean and noisy rows, the runs' test accuracy, the cost."""
    mem, noisy, test_acc = arrays["mem"], S.noisy, arrays["test_acc"]
    return clean_json({
        "format": FORMAT, "runs": plan.runs, "subset": plan.subset, "subset_size": plan.size, "n_rows": S.n,
        "n_clean": int((~noisy).sum()), "n_noisy": int(noisy.sum()), "n_undefined": int(np.isnan(mem).sum()),
        "label_conflicts": S.conflicts,
        "mem_mean": {"all": _nanstat(np.mean, mem), "clean": _nanstat(np.mean, mem[~noisy]),
                     "noisy": _nanstat(np.mean, mem[noisy])},
        "mem_gt_half": {"clean": _nanstat(lambda a: (a > 0.5).mean(), mem[~noisy]),
                        "noisy": _nanstat(lambda a: (a > 0.5).mean(), mem[noisy])},
        "eval_set": plan.eval_set, "n_eval": len(arrays["eval_rows"]),
        "test_acc": {"mean": _nanstat(np.mean, test_acc), "std": _nanstat(lambda a: a.std(ddof=1), test_acc),
                     "per_run": test_acc},
        "subset_seed": plan.subset_seed, "train_seeds": plan.seeds, "time_s": time_s, "train_samples": samples,
        "samples_per_s": samples / time_s if time_s > 0 else None, "device": hw.name, "amp_used": hw.amp,
    })


# ------------------------------------------------------------------------------------------------- plots


def plot_memorization(folder, arrays: dict, images: np.ndarray, class_names, top: int = 32, dpi: int = 110) -> list:
    """Write ``mem_hist.png`` (mem of clean vs noisy rows) and ``most_memorized.png`` into ``folder``.

    Args:
        arrays: the arrays of ``memorization.npz`` (``mem``, ``noisy``, ``observed``, ``true``, ``rows``).
        images: uint8 (n, H, W, C), the image of every row of ``arrays["rows"]``.
        class_names: name of each label 0..C-1.
        top: how many of the most memorized rows to show.

    Returns:
        The written paths.
    """
    Figure, FigureCanvasAgg = need_matplotlib()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    mem, noisy = np.asarray(arrays["mem"], float), np.asarray(arrays["noisy"], bool)

    def save(fig, name):
        path = folder / name
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*[Gg]lyph .* missing from", category=UserWarning)
            fig.savefig(path, format="png", dpi=dpi)
        return path

    fig = Figure(figsize=(6.0, 4.0), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    bins = np.linspace(-1, 1, 21)
    for name, sel, color in (("clean", ~noisy, "tab:blue"), ("noisy", noisy, "tab:red")):
        m = mem[sel & np.isfinite(mem)]
        if m.size:
            ax.hist(m, bins=bins, weights=np.full(m.size, 1 / m.size), alpha=0.5, color=color,
                    label=f"{name}: {m.size} rows, mean {m.mean():.3f}")
    ax.set_xlabel("Feldman–Zhang memorization")
    ax.set_ylabel("fraction of rows")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    ax.set_title(f"memorization over {len(arrays['in_subset'])} runs", fontsize=9)
    paths = [save(fig, "mem_hist.png")]

    order = [i for i in np.lexsort((arrays["rows"], -np.nan_to_num(mem, nan=-np.inf))) if np.isfinite(mem[i])][:top]
    if order:
        cols = min(8, len(order))
        nrows = -(-len(order) // cols)
        fig = Figure(figsize=(1.3 * cols, 1.45 * nrows), layout="constrained")
        FigureCanvasAgg(fig)
        axes = np.atleast_1d(fig.subplots(nrows, cols)).ravel()
        for ax, i in zip(axes, order):
            img = images[i]
            ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", interpolation="nearest")
            obs, tru = class_names[arrays["observed"][i]], class_names[arrays["true"][i]]
            ax.set_title(f"{obs} / {tru}\nmem {mem[i]:.2f}", fontsize=7, color="tab:red" if noisy[i] else "black")
        for ax in axes:
            ax.set_axis_off()
        fig.suptitle("most memorized training rows (observed / true label)", fontsize=9)
        paths.append(save(fig, "most_memorized.png"))
    return paths
