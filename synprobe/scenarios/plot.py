"""Timeline figure of a stream: class x task occurrences, class frequencies, label-noise summary.

>>> from synprobe.scenarios import Stream
>>> from synprobe.scenarios.plot import plot_stream
>>> plot_stream(Stream.load("stream.npz"), "timeline.png")   # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["class_labels", "occurrence_matrix", "plot_stream"]

MAX_COLUMNS = 400  # tasks are binned above this many


def occurrence_matrix(stream, max_columns: int = MAX_COLUMNS):
    """(classes, matrix, bin_edges): ``matrix[i, j]`` = number of tasks in task bin j holding
    ``classes[i]`` (one bin per task when the stream has at most ``max_columns`` tasks)."""
    t = len(stream)
    classes, cls_pos = np.unique(stream.class_indices, return_inverse=True)
    task_of = np.repeat(np.arange(t), np.diff(stream.class_offsets))
    n_bins = max(1, min(t, max_columns))
    edges = np.linspace(0, t, n_bins + 1)
    b = np.clip(np.searchsorted(edges, task_of, side="right") - 1, 0, n_bins - 1)
    m = np.zeros((len(classes), n_bins), np.int64)
    np.add.at(m, (cls_pos, b), 1)
    return classes, m, edges


def class_labels(stream, classes) -> list[str]:
    """What each class id of ``classes`` is called: the names recorded at build time (``"a"``,
    ``"B"``, a font id, ...), else the ids themselves."""
    recorded = stream.spec.get("class_names")
    every = np.unique(stream.class_indices)
    if isinstance(recorded, list) and len(recorded) == len(every):
        by_id = dict(zip(every.tolist(), recorded))
        return [str(by_id.get(int(c), int(c))) for c in classes]
    return [str(int(c)) for c in classes]


def _class_ticks(ax, labels) -> None:
    ax.set_ylim(len(labels) - 0.5, -0.5)
    if len(labels) <= 60:
        ax.set_yticks(range(len(labels)), labels, fontsize=7 if len(labels) <= 30 else 5)
    else:
        ax.set_yticks([])


def _title(stream) -> str:
    s = stream.spec
    rec = s.get("recipe", {})
    name = rec.get("name", s.get("kind", "stream"))
    bits = [f"{name} ({s.get('kind', '?')})", f"{len(stream)} tasks", f"seed {stream.seed}"]
    law = s.get("law")
    if isinstance(law, dict):
        bits.append("law " + ", ".join(f"{k}={v}" for k, v in law.items() if v is not None and k != "base"))
    data = s.get("data")
    if data:
        bits.append(f"{data.get('file')} ({str(data.get('sha256', ''))[:10]})")
    return " | ".join(bits)


def plot_stream(stream, out, max_columns: int = MAX_COLUMNS) -> Path:
    """Write the stream's timeline figure (PNG, or any format matplotlib infers from ``out``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    noisy = stream.labels_true is not None and stream.labels_observed is not None
    classes, m, edges = occurrence_matrix(stream, max_columns)
    ncols = 3 if noisy else 2
    fig, axes = plt.subplots(
        1,
        ncols,
        figsize=(6 + 4 * (ncols - 1), max(3.5, min(10, 0.12 * len(classes) + 2))),
        gridspec_kw={"width_ratios": [3] + [1.2] * (ncols - 1)},
        squeeze=False,
    )
    ax = axes[0, 0]
    binned = len(edges) - 1 < len(stream)
    im = ax.imshow(
        m,
        aspect="auto",
        interpolation="nearest",
        cmap="viridis" if binned else "Greys",
        extent=(0, len(stream), len(classes) - 0.5, -0.5),
    )
    ax.set_xlabel("task" + (f" (binned, {len(stream) / (len(edges) - 1):.3g} tasks per column)" if binned else ""))
    ax.set_ylabel("class")
    labels = class_labels(stream, classes)
    _class_ticks(ax, labels)
    if binned:
        from matplotlib.ticker import MaxNLocator

        bar = fig.colorbar(im, ax=ax, label="tasks holding the class")
        bar.locator = MaxNLocator(integer=True)  # counts: no 0.25 ticks
        bar.update_ticks()
    ax.set_title("class occurrences")
    ax = axes[0, 1]
    counts = np.bincount(np.searchsorted(classes, stream.class_indices), minlength=len(classes))
    ax.barh(range(len(classes)), counts, color="tab:blue")
    _class_ticks(ax, labels)
    ax.set_xlabel("tasks holding the class")
    ax.set_title("class frequency")
    if noisy:
        ax = axes[0, 2]
        lt, lo = stream.labels_true, stream.labels_observed
        flipped = lt != lo
        pos = np.searchsorted(classes, lt).clip(0, len(classes) - 1)
        tot = np.bincount(pos, minlength=len(classes))
        fl = np.bincount(pos[flipped], minlength=len(classes))
        ax.barh(range(len(classes)), np.where(tot > 0, fl / np.maximum(tot, 1), 0), color="tab:red")
        _class_ticks(ax, labels)
        ax.set_xlim(0, 1)
        ax.set_xlabel("fraction of occurrences with a wrong label")
        nz = stream.spec.get("noise", {})
        ax.set_title(
            f"noise: {nz.get('model', '?')}\n{nz.get('n_flipped', '?')}/{nz.get('n', '?')} rows flipped, "
            f"{int(flipped.sum())}/{len(flipped)} occurrences",
            fontsize=9,
        )
    fig.suptitle(_title(stream), fontsize=9)
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
