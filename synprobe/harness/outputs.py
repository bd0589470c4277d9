"""The run directory: written under ``<dir>.incomplete`` and renamed when the run finishes.

Format (``synprobe.run/1``, ``rundir.FORMAT``) in ``docs/runs.md``: ``config.json``, ``metrics.jsonl``,
``metrics.csv``, ``summary.json``, ``accuracy_matrix.npy``, ``forgetting_events.npz``, ``checkpoint.pt``, ``plots/``.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from synprobe.harness import metrics as M
from synprobe.harness.errors import HarnessError
from synprobe.harness.plots import plot_run

__all__ = ["RunWriter", "StagedDir", "clean_json", "summarize", "task_accuracy"]

CSV_FIELDS = ("task", "epoch", "step", "samples", "time", "at", "set", "n", "acc", "loss", "seen_acc")


def clean_json(v):
    """JSON-able copy: numpy scalars/arrays to Python, NaN/inf to None."""
    if isinstance(v, dict):
        return {str(k): clean_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [clean_json(x) for x in v]
    if isinstance(v, np.ndarray):
        return clean_json(v.tolist())
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def dumps(obj) -> str:
    return json.dumps(clean_json(obj), ensure_ascii=False, allow_nan=False)


class StagedDir:
    """An output directory written under ``<out>.incomplete`` and renamed to ``out`` by :meth:`publish`, so a
    killed run never leaves a directory that looks finished."""

    def __init__(self, out, overwrite: bool = False):
        self.final = Path(out)
        if self.final.exists() and not overwrite:
            raise HarnessError(f"{self.final}: already exists; choose another -o or pass --overwrite")
        self.dir = self.final.with_name(self.final.name + ".incomplete")
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)

    def write_json(self, name: str, obj) -> None:
        (self.dir / name).write_text(json.dumps(clean_json(obj), indent=1, ensure_ascii=False, allow_nan=False) + "\n",
                                     encoding="utf-8")

    def publish(self) -> Path:
        if self.final.exists():
            shutil.rmtree(self.final)
        os.replace(self.dir, self.final)
        return self.final


class RunWriter(StagedDir):
    """Writes one run directory; nothing appears under the final name until :meth:`finish`."""

    def __init__(self, out, overwrite: bool = False):
        super().__init__(out, overwrite)
        self._jsonl = open(self.dir / "metrics.jsonl", "w", encoding="utf-8", buffering=1)  # noqa: SIM115
        self._csvf = open(self.dir / "metrics.csv", "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._csv = csv.DictWriter(self._csvf, CSV_FIELDS, extrasaction="ignore")
        self._csv.writeheader()

    def row(self, row: dict) -> None:
        self._jsonl.write(dumps(row) + "\n")
        if row["kind"] == "eval":
            self._csv.writerow({k: ("" if v is None else v) for k, v in clean_json(row).items()})

    def finish(self, summary: dict, matrix: np.ndarray | None, events: dict | None, checkpoint: dict | None,
               plots: bool = True) -> Path:
        self._jsonl.close()
        self._csvf.close()
        if matrix is not None:
            np.save(self.dir / "accuracy_matrix.npy", matrix)
        if events is not None:
            np.savez(self.dir / "forgetting_events.npz", **events)
        if checkpoint is not None:
            import torch

            torch.save(checkpoint, self.dir / "checkpoint.pt")
        self.write_json("summary.json", summary)
        self.publish()
        if plots:
            try:
                plot_run(self.final)
            except HarnessError as e:  # e.g. no matplotlib: the run itself is complete and kept
                print(f"warning: {self.final}: no plots: {e}", file=sys.stderr)
        return self.final

    def abort(self) -> None:
        for f in (self._jsonl, self._csvf):
            if not f.closed:
                f.close()


def _matrix_metrics(R: np.ndarray) -> dict:
    out = {"ACC": M.average_accuracy(R), "ACC_lower": M.average_accuracy(R, "lower")}
    if len(R) > 1:
        out.update(BWT=M.backward_transfer(R), FWT=M.forward_transfer(R),
                   forgetting_since_trained=M.forgetting_since_trained(R),
                   forgetting_max_earlier=M.forgetting_max_earlier(R), forgetting_avalanche=M.forgetting_avalanche(R))
    return out


def summarize(rows: list[dict], *, task_classes: list, class_n: dict, n_classes: int, matrix: np.ndarray | None,
              events: dict | None, time_s: float, eval_s: float, samples: int, device: str) -> dict:
    """Run-level numbers from the collected metric rows (formulas: docs/metrics.md)."""
    evals = [r for r in rows if r["kind"] == "eval"]
    ends = [r for r in evals if r["at"] in ("start", "task_end")]
    sets = list(dict.fromkeys(r["set"] for r in evals))
    final = {s: [r for r in ends if r["set"] == s][-1]["acc"] for s in sets if any(r["set"] == s for r in ends)}
    iid = "iid" if "iid" in final else (sets[0] if sets else None)
    out: dict = {"final": final, "tasks": len(task_classes), "time_s": time_s, "eval_time_s": eval_s,
                 "train_samples": samples, "samples_per_s": samples / time_s if time_s > 0 else None,
                 "train_samples_per_s": samples / (time_s - eval_s) if time_s > eval_s else None,
                 "device": device, "iid_set": iid}
    counts = np.zeros(n_classes, np.int64)
    for c in task_classes:
        counts[c] += 1
    out["class_task_counts"] = counts
    out["ka"] = out["seen_acc_final"] = out["per_class_final"] = out["acc_vs_frequency_spearman"] = None
    if iid is not None:
        curve = [r for r in ends if r["set"] == iid and r["task"] >= 0]
        if curve:
            ka = M.ka_summary([r["acc"] for r in curve], [r["task"] + 1 for r in curve])
            out["ka"] = {"final": ka["final"], "max": ka["max"], "auc": ka["auc"],
                         "tasks_to": {str(k): v for k, v in ka["reach"].items()}}
            last = curve[-1]
            out["seen_acc_final"] = last["seen_acc"]
            pc = np.array([np.nan if v is None else v for v in last["per_class"]], float)
            out["per_class_final"] = pc
            ok = np.isfinite(pc)
            if ok.sum() > 2 and len(np.unique(counts[ok])) > 1:
                out["acc_vs_frequency_spearman"] = M.accuracy_vs_frequency(pc[ok], counts[ok])
        out["ood_gap"] = {k: v for k, v in M.ood_gap(final[iid], {s: a for s, a in final.items() if s != iid}).items()}
    else:
        out["ood_gap"] = {}
    out["matrix"] = _matrix_metrics(matrix) if matrix is not None and matrix.shape[0] == matrix.shape[1] else None
    out["stability"] = _stability(evals, iid, task_classes, class_n.get(iid)) if iid else None
    memo = [r for r in rows if r["kind"] == "memorization"]
    out["memorization"] = {k: v for k, v in memo[-1].items() if k != "kind"} if memo else None
    if events is not None and len(events["counts"]):
        learned, cnt = events["learned"], events["counts"]
        out["forgetting_events"] = {"samples": int(len(cnt)), "mean": float(cnt.mean()),
                                    "unforgettable": float((learned & (cnt == 0)).mean()),
                                    "never_learned": float((~learned).mean())}
        noisy = events.get("noisy")
        if noisy is not None and noisy.any() and (~noisy).any():
            out["forgetting_events"].update(mean_noisy=float(cnt[noisy].mean()), mean_clean=float(cnt[~noisy].mean()))
    else:
        out["forgetting_events"] = None
    return out


def task_accuracy(per_class: np.ndarray, n_per_class: np.ndarray, task_classes: list) -> np.ndarray:
    """Accuracy on each task's classes from per-class accuracies: (E, K) -> (E, T)."""
    K = per_class.shape[1]
    member = np.zeros((K, len(task_classes)))
    for j, c in enumerate(task_classes):
        member[c, j] = 1.0
    hits = np.nan_to_num(per_class) * n_per_class
    with np.errstate(invalid="ignore", divide="ignore"):
        return (hits @ member) / (n_per_class @ member)


def _stability(evals, iid, task_classes, n_per_class) -> dict | None:
    """min-ACC / WC-ACC over every evaluation (step and task-end) when steps were evaluated."""
    rows = [r for r in evals if r["set"] == iid and r["at"] in ("step", "task_end", "epoch") and r["task"] >= 0]
    if not any(r["at"] == "step" for r in rows) or n_per_class is None:
        return None
    pc = np.array([[np.nan if v is None else v for v in r["per_class"]] for r in rows], float)
    A = task_accuracy(pc, np.asarray(n_per_class, float), task_classes).T  # (T, S)
    ends = [i for i, r in enumerate(rows) if r["at"] == "task_end"]
    if len(ends) != len(task_classes) or not np.isfinite(A).all():
        return None
    return {"min_acc": M.min_acc(A, ends), "wc_acc": M.wc_acc(A, ends)}
