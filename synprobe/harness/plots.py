"""Figures of a run directory (``RUN_DIR/plots/*.png``) and overlays of several runs (``synprobe report``).

    >>> from synprobe.harness.plots import plot_run, plot_overlay
    >>> plot_run("runs/a")                                   # doctest: +SKIP
    [PosixPath('runs/a/plots/ka.png'), ...]
    >>> plot_overlay(["runs/a", "runs/b"], "report")          # doctest: +SKIP

Needs matplotlib (``pip install -e '.[view]'`` in the synprobe checkout), drawn with the Agg backend (no
display); never torch.
A figure whose data the run lacks (no memorization rows, no step evaluations, no accuracy matrix) is not written.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from synprobe.errors import install_hint
from synprobe.harness.errors import HarnessError
from synprobe.harness.rundir import Run, read_run

__all__ = ["MATPLOTLIB_MISSING", "need_matplotlib", "plot_group_overlay", "plot_overlay", "plot_run"]

MATPLOTLIB_MISSING = f"synprobe plots need matplotlib: {install_hint('view')}"
TITLE_FONTSIZE = 11  # every figure title: readable at the PNG's own size
TASKS_TRAINED = "tasks trained (0: before training)"  # x of KA curves: task + 1, as summary.json's ka.tasks_to
_MEMO_LINES = (("noisy_memorized", "tab:red", "-"), ("noisy_correct", "tab:green", "-"),
               ("noisy_other", "tab:gray", "-"), ("clean_correct", "tab:blue", "--"),
               ("clean_incorrect", "tab:orange", "--"))


def need_matplotlib():
    """Import matplotlib's Agg pieces: ``(Figure, FigureCanvasAgg)``, or raise a one-line HarnessError."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise HarnessError(MATPLOTLIB_MISSING) from None
    return Figure, FigureCanvasAgg


def _figure(w: float, h: float):
    Figure, FigureCanvasAgg = need_matplotlib()
    fig = Figure(figsize=(w, h), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _int_ticks(*axes) -> None:
    from matplotlib.ticker import MaxNLocator

    for axis in axes:
        axis.set_major_locator(MaxNLocator(integer=True))


def _save(fig, path: Path, dpi: int) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*[Gg]lyph .* missing from", category=UserWarning)
        fig.savefig(tmp, format="png", dpi=dpi)
    tmp.replace(path)
    return path


def _fraction_axes(ax, ylabel: str, title: str, *, legend: bool = True, ncol: int = 1) -> None:
    """The shared look of every accuracy/fraction plot: y in [0, 1], grid, legend, title."""
    ax.set_ylabel(ylabel)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(fontsize=7, ncol=ncol)
    ax.set_title(title, fontsize=TITLE_FONTSIZE)


def _as_run(r) -> Run:
    return r if isinstance(r, Run) else read_run(r, partial=True)


def _title(run: Run) -> str:
    t = run.train
    n_tasks = run.config.get("stream", {}).get("n_tasks", "?")
    return (f"{run.name}: {t.get('model', '?')}, {t.get('masking', '?')}/{t.get('loss', '?')}/"
            f"{t.get('replay', '?')}, K={run.n_classes}, {n_tasks} tasks")


def _fmt(v) -> str:
    return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.3f}"


# ----------------------------------------------------------------------------- one run


def _within_tasks(run: Run) -> bool:
    """Whether the run evaluated inside tasks (epochs): curves are then drawn against samples seen."""
    return bool(len(run.evals)) and bool((run.evals["at"] == "epoch").any())


def _timeline(run: Run, set_name: str):
    """Every start/epoch/task-end eval row of one set, in training order."""
    r = run.evals.where(set=set_name, at=("start", "epoch", "task_end"))
    return r.select(np.argsort(r["samples"], kind="stable"))


def _ka(run: Run, path: Path, dpi: int) -> Path | None:
    sets = [s for s in run.eval_sets if len(run.curve(s))]
    if not sets:
        return None
    fig = _figure(6.4, 4.0)
    ax = fig.subplots()
    colors = [f"C{i % 10}" for i in range(len(sets))]
    by_samples = _within_tasks(run)
    for s, c in zip(sets, colors):
        r = _timeline(run, s) if by_samples else run.curve(s)
        x = r["samples"] if by_samples else r["task"] + 1
        ax.plot(x, r["acc"], color=c, marker="." if len(r) <= 60 else None, label=s)
        if s == run.iid_set and np.isfinite(r["seen_acc"]).any():
            ax.plot(x, r["seen_acc"], color=c, linestyle="--", linewidth=1, label=f"{s}, seen classes")
    ka = (run.summary or {}).get("ka") or {}
    if by_samples:
        ax.set_xlabel("training samples seen (points: evaluations at epoch and task ends)")
    else:
        _int_ticks(ax.xaxis)
        ax.set_xlabel(TASKS_TRAINED)
    _fraction_axes(ax, "accuracy", f"{_title(run)}\nKA auc {_fmt(ka.get('auc'))}, final {_fmt(ka.get('final'))}")
    return _save(fig, path, dpi)


def _per_class(run: Run) -> tuple[np.ndarray, np.ndarray, object] | None:
    s = run.summary or {}
    acc, counts = s.get("per_class_final"), s.get("class_task_counts")
    k = run.n_classes
    if isinstance(acc, list) and isinstance(counts, list) and len(acc) == len(counts) == k:
        a = np.array([np.nan if v is None else v for v in acc], np.float64)
        return a, np.asarray(counts, np.float64), s.get("acc_vs_frequency_spearman")
    iid = run.curve()  # a partial run: the last iid evaluation and the tasks so far
    if not len(iid) or not len(run.tasks):
        return None
    return iid["per_class"][-1], run.tasks["classes"].sum(0).astype(np.float64), None


def _per_class_plot(run: Run, path: Path, dpi: int) -> Path | None:
    got = _per_class(run)
    if got is None or not np.isfinite(got[0]).any():
        return None
    acc, counts, rho = got
    fig = _figure(6.4, 4.0)
    ax = fig.subplots()
    ax.scatter(counts, acc, s=14, alpha=0.7)
    if run.n_classes <= 30:
        names = run.config.get("stream", {}).get("class_names") or []
        for i, name in enumerate(names[: run.n_classes]):
            if np.isfinite(acc[i]):
                ax.annotate(str(name)[:12], (counts[i], acc[i]), fontsize=6, alpha=0.7)
    _int_ticks(ax.xaxis)
    ax.set_xlabel("tasks the class occurred in")
    _fraction_axes(ax, "final iid accuracy of the class", f"{_title(run)}\nSpearman rho {_fmt(rho)}", legend=False)
    return _save(fig, path, dpi)


def _matrix_plot(run: Run, path: Path, dpi: int) -> Path | None:
    m = run.matrix
    if m is None or m.size == 0:
        return None
    e, t = m.shape
    fig = _figure(min(9.0, max(6.4, 3.0 + 0.25 * t)), min(8.0, max(4.0, 2.5 + 0.22 * e)))
    ax = fig.subplots()
    im = ax.imshow(m, vmin=0, vmax=1, cmap="viridis", aspect="auto", interpolation="nearest")
    if e * t <= 400:
        for i, j in zip(*np.nonzero(np.isfinite(m))):
            ax.text(j, i, f"{m[i, j]:.2f}"[1:] if 0 <= m[i, j] < 1 else f"{m[i, j]:.1f}", ha="center",
                    va="center", fontsize=5, color="w" if m[i, j] < 0.6 else "k")
    fig.colorbar(im, ax=ax, label="accuracy")
    _int_ticks(ax.xaxis, ax.yaxis)
    ax.set_xlabel("task j (its classes, iid rows)")
    after = np.sort(run.evals.where(set=run.iid_set, at="task_end")["task"]) if len(run.evals) else np.zeros(0)
    if len(after) == e and not np.array_equal(after, np.arange(e)):  # evaluated every few tasks: name them
        step = max(1, e // 20)
        ax.set_yticks(range(0, e, step), [str(v) for v in after[::step]])
    ax.set_ylabel("after task (task-end evaluation i)")
    mx = (run.summary or {}).get("matrix") or {}
    since = mx.get("forgetting_since_trained", mx.get("forgetting_chaudhry"))
    ax.set_title(f"{_title(run)}\nACC {_fmt(mx.get('ACC'))}, BWT {_fmt(mx.get('BWT'))}\nforgetting "
                 f"{_fmt(since)} (since trained), {_fmt(mx.get('forgetting_max_earlier'))} (all earlier), "
                 f"{_fmt(mx.get('forgetting_avalanche'))} (first-last)", fontsize=TITLE_FONTSIZE)
    return _save(fig, path, dpi)


def _memo_plot(run: Run, path: Path, dpi: int) -> Path | None:
    r = run.memorization
    if not len(r):
        return None
    fig = _figure(6.4, 4.0)
    ax = fig.subplots()
    x = r["samples"]
    for name, color, ls in _MEMO_LINES:
        ax.plot(x, r[name], color=color, linestyle=ls, label=name.replace("_", " "))
    if run.iid_set is not None:
        t = _timeline(run, run.iid_set)
        ax.plot(t["samples"], t["acc"], color="k", linewidth=1.4, label=f"test accuracy ({run.iid_set})")
    ax.set_xlabel("training samples seen")
    _fraction_axes(ax, "fraction of distinct rows seen",
                   f"{_title(run)}\nnoisy rows {int(r['n_noisy'][-1]):,}, clean rows {int(r['n_clean'][-1]):,}")
    return _save(fig, path, dpi)


def _task_curves(run: Run, r) -> np.ndarray | None:
    """(T, S) accuracy on each task's classes at the eval rows ``r`` of the iid set, from per-class accuracies and
    the per-class row counts recorded in config.json; None when they are missing or there are too many tasks."""
    counts = ((run.config.get("stream") or {}).get("eval_class_counts") or {}).get(run.iid_set)
    if counts is None or not len(run.tasks) or len(run.tasks) > 20 or "per_class" not in r:
        return None
    n = np.asarray(counts, float)
    member = np.asarray(run.tasks["classes"], float).T  # (K, T)
    hits = np.nan_to_num(np.asarray(r["per_class"], float)) * n
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((hits @ member) / (n @ member)).T


def _stability_plot(run: Run, path: Path, dpi: int) -> Path | None:
    if not len(run.evals) or not (run.evals["at"] == "step").any():
        return None
    fig = _figure(7.0, 4.0)
    ax = fig.subplots()
    iid = run.evals.where(set=run.iid_set, at=("start", "step", "task_end"))
    iid = iid.select(np.argsort(iid["step"], kind="stable"))
    curves = _task_curves(run, iid)
    if curves is not None:  # the stability-gap view: accuracy on each task's classes from its start on
        starts = np.concatenate([[0], run.tasks["step"][:-1]])
        for t, (c, s0) in enumerate(zip(curves, starts)):
            keep = iid["step"] >= s0
            ax.plot(iid["step"][keep], c[keep], color=f"C{t % 10}", linewidth=1, label=f"task {t}")
        ax.plot(iid["step"], iid["acc"], color="k", linewidth=1.6, label=f"{run.iid_set} (all classes)")
    else:
        for i, s in enumerate(run.eval_sets):
            r = run.evals.where(set=s, at=("start", "step", "task_end"))
            o = np.argsort(r["step"], kind="stable")
            ax.plot(r["step"][o], r["acc"][o], color=f"C{i % 10}", linewidth=1, label=s)
    if len(run.tasks):
        for b in run.tasks["step"][:-1]:
            ax.axvline(b, color="k", alpha=0.15, linewidth=0.6)
    st = (run.summary or {}).get("stability") or {}
    ax.set_xlabel("optimizer step (vertical lines: task boundaries)")
    _fraction_axes(ax, "accuracy" if curves is None else "accuracy on the task's classes (iid rows)",
                   f"{_title(run)}\nmin-ACC {_fmt(st.get('min_acc'))}, WC-ACC {_fmt(st.get('wc_acc'))}", ncol=2)
    return _save(fig, path, dpi)


_PLOTS = (("ka.png", _ka), ("per_class_vs_frequency.png", _per_class_plot), ("accuracy_matrix.png", _matrix_plot),
          ("memorization.png", _memo_plot), ("stability.png", _stability_plot))


def plot_run(run_dir, out_dir=None, dpi: int = 80) -> list[Path]:
    """Write the figures of one run: ``ka.png``, ``per_class_vs_frequency.png``, ``accuracy_matrix.png``,
    ``memorization.png``, ``stability.png``, each only when the run holds its data.

    Args:
        run_dir: a run directory or a :class:`~synprobe.harness.rundir.Run` (an unfinished run is fine).
        out_dir: where to write; default ``RUN_DIR/plots``.
        dpi: resolution.

    Returns:
        the paths written, in the order above.
    """
    need_matplotlib()  # fail before creating anything
    run = _as_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.path / "plots"
    out.mkdir(parents=True, exist_ok=True)
    written = [fn(run, out / name, dpi) for name, fn in _PLOTS]
    return [p for p in written if p is not None]


# ----------------------------------------------------------------------------- several runs


def _labels(runs: list[Run]) -> list[str]:
    names = [r.name for r in runs]
    return [f"{r.path.parent.name}/{r.name}" if names.count(r.name) > 1 else r.name for r in runs]


def plot_overlay(runs, out_dir, dpi: int = 80) -> list[Path]:
    """Overlay several runs: ``ka_overlay.png`` (iid accuracy against task, one line per run) and
    ``memorization_overlay.png`` (noisy rows memorized, solid, and predicted correctly, dashed, against training
    samples) when any run recorded memorization.

    Args:
        runs: run directories or :class:`~synprobe.harness.rundir.Run` objects (class counts may differ).
        out_dir: created if missing.
        dpi: resolution.

    Returns:
        the paths written.
    """
    need_matplotlib()
    runs = [_as_run(r) for r in runs]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = _labels(runs)
    written = []
    curves = [(lab, r.curve()) for lab, r in zip(labels, runs)]
    curves = [(lab, c) for lab, c in curves if len(c)]
    if curves:
        fig = _figure(6.4, 4.0)
        ax = fig.subplots()
        for lab, c in curves:
            ax.plot(c["task"] + 1, c["acc"], linewidth=1.2, label=lab)
        _int_ticks(ax.xaxis)
        ax.set_xlabel(TASKS_TRAINED)
        _fraction_axes(ax, "iid accuracy (all classes)", f"knowledge accumulation, {len(curves)} runs")
        written.append(_save(fig, out / "ka_overlay.png", dpi))
    memo = [(lab, r.memorization) for lab, r in zip(labels, runs) if len(r.memorization)]
    if memo:
        fig = _figure(6.4, 4.0)
        ax = fig.subplots()
        runs_m = [r for r in runs if len(r.memorization)]
        for i, ((lab, m), run) in enumerate(zip(memo, runs_m)):
            ax.plot(m["samples"], m["noisy_memorized"], color=f"C{i % 10}", label=f"{lab}: memorized")
            ax.plot(m["samples"], m["noisy_correct"], color=f"C{i % 10}", linestyle="--", label=f"{lab}: correct")
            if run.iid_set is not None:
                t = _timeline(run, run.iid_set)
                ax.plot(t["samples"], t["acc"], color=f"C{i % 10}", linestyle=":", label=f"{lab}: test accuracy")
        ax.set_xlabel("training samples seen")
        _fraction_axes(ax, "fraction of noisy rows seen",
                       "noisy rows: memorized (solid), predicted with their true label\n"
                       "(dashed); test accuracy (dotted)")
        written.append(_save(fig, out / "memorization_overlay.png", dpi))
    return written


def plot_group_overlay(groups: dict, out_dir, dpi: int = 80) -> list[Path]:
    """``ka_group_overlay.png``: one line per group of runs (e.g. a sweep's cell over its seeds), the mean iid
    accuracy against tasks trained with a band of ± one standard deviation (over the tasks every run of the group
    evaluated).

    Args:
        groups: {label: run directories or :class:`~synprobe.harness.rundir.Run` objects}
            (:func:`synprobe.harness.report.group_runs`).
        out_dir: created if missing.

    Returns:
        the paths written (none when no run has task-end evaluations).
    """
    need_matplotlib()
    lines = []
    for label, members in groups.items():
        curves = [c for c in (_as_run(r).curve() for r in members) if len(c)]
        if not curves:
            continue
        x = sorted(set.intersection(*(set(c["task"].tolist()) for c in curves)))
        acc = np.array([[c["acc"][c["task"] == t][0] for t in x] for c in curves])
        lines.append((f"{label} ({len(curves)} seed{'s' * (len(curves) > 1)})", np.array(x) + 1, acc))
    if not lines:
        return []
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fig = _figure(6.4, 4.0)
    ax = fig.subplots()
    for i, (label, x, acc) in enumerate(lines):
        mean = np.nanmean(acc, axis=0)
        ax.plot(x, mean, color=f"C{i % 10}", linewidth=1.2, label=label)
        if len(acc) > 1:
            std = np.nanstd(acc, axis=0, ddof=1)
            ax.fill_between(x, mean - std, mean + std, color=f"C{i % 10}", alpha=0.2, linewidth=0)
    _int_ticks(ax.xaxis)
    ax.set_xlabel(TASKS_TRAINED)
    _fraction_axes(ax, "iid accuracy (all classes)", f"knowledge accumulation, mean ± std over seeds, "
                                                      f"{len(lines)} groups")
    return [_save(fig, out / "ka_group_overlay.png", dpi)]
