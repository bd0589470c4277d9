"""Compare finished runs: one row of headline numbers per run directory (``synprobe report``).

    >>> from synprobe.harness.report import report, format_table, rows_json
    >>> rows = report(["runs/a", "runs/b"])                 # doctest: +SKIP
    >>> print(format_table(rows))                           # aligned text table
    >>> rows[0]["ka_auc"], rows[0]["ood_gap"]               # plain floats / dicts; None where undefined

Numbers come from each run's ``summary.json`` and ``config.json`` (``docs/runs.md``); the KA summary is recomputed
from the iid curve with :func:`synprobe.harness.metrics.ka_summary` only when ``summary.json`` lacks it.
NaN never appears in a row: undefined values are ``None`` (``-`` in the table, ``null`` in JSON).
"""

from __future__ import annotations

import json

import numpy as np

from synprobe.harness.metrics import ka_summary
from synprobe.harness.outputs import clean_json
from synprobe.harness.rundir import Run, read_run

__all__ = ["group_rows", "group_runs", "LEVELS", "format_table", "report", "row_of", "rows_json"]

LEVELS = ("0.5", "0.75", "0.9")  # the tasks_to levels reported
_MATRIX_KEYS = ("ACC", "BWT", "FWT", "forgetting_since_trained", "forgetting_max_earlier", "forgetting_avalanche")
# summaries written before both definitions were reported call forgetting_since_trained this
_OLD_MATRIX_NAMES = {"forgetting_since_trained": "forgetting_chaudhry"}


def _level(k) -> str:
    try:
        return f"{float(k):g}"
    except (TypeError, ValueError):
        return str(k)


def _ka(run: Run) -> dict:
    ka = (run.summary or {}).get("ka")
    if isinstance(ka, dict):
        reach = ka.get("tasks_to", ka.get("reach")) or {}
        return {"final": ka.get("final"), "max": ka.get("max"), "auc": ka.get("auc"),
                "tasks_to": {_level(k): v for k, v in reach.items()}}
    c = run.curve().where(at="task_end")  # x = tasks trained (task + 1), as synprobe run writes it
    if not len(c):
        return {"final": None, "max": None, "auc": None, "tasks_to": {}}
    got = ka_summary(c["acc"], steps=c["task"] + 1, levels=[float(x) for x in LEVELS])
    return {"final": got["final"], "max": got["max"], "auc": got["auc"],
            "tasks_to": {_level(k): v for k, v in got["reach"].items()}}


def row_of(run: Run) -> dict:
    """The report row of one run (a dict of JSON-ready values; ``None`` where undefined or not recorded)."""
    s = run.summary or {}
    t = run.train
    final = s.get("final") or {}
    ka = _ka(run)
    mx = s.get("matrix") or {}
    memo = s.get("memorization")
    if not isinstance(memo, dict) and len(run.memorization):
        memo = {"noisy_memorized": float(run.memorization["noisy_memorized"][-1])}
    row = {
        "name": run.name,
        "path": str(run.path),
        "model": t.get("model"),
        "optimizer": t.get("optimizer"),
        "lr": t.get("lr"),
        "epochs": t.get("epochs"),
        "masking": t.get("masking"),
        "loss": t.get("loss"),
        "replay": t.get("replay"),
        "n_classes": run.n_classes,
        "tasks": s.get("tasks", run.config["stream"].get("n_tasks")),
        "seed": run.config.get("seed"),
        "device": s.get("device", run.config.get("device")),
        "samples_per_s": s.get("samples_per_s"),
        "final": dict(final),
        "iid_set": run.iid_set,
        "final_iid": final.get(run.iid_set),
        "ka_auc": ka["auc"],
        "ka_final": ka["final"],
        "ka_max": ka["max"],
        "tasks_to": {lv: ka["tasks_to"].get(lv) for lv in LEVELS},
        "seen_acc": s.get("seen_acc_final"),
        **{k: mx.get(k, mx.get(_OLD_MATRIX_NAMES.get(k, k))) for k in _MATRIX_KEYS},
        "ood_gap": dict(s.get("ood_gap") or {}),
        "memorized": memo.get("noisy_memorized") if isinstance(memo, dict) else None,
    }
    return clean_json(row)


def report(run_dirs) -> list[dict]:
    """Read finished runs and return one row per run (see :func:`row_of`), in the order given.

    Raises:
        HarnessError: a directory is missing, unfinished (no ``summary.json``) or malformed.
    """
    return [row_of(r if isinstance(r, Run) else read_run(r)) for r in run_dirs]


# ----------------------------------------------------------------------------- formatting


def _num(v, spec: str = ".3f") -> str:
    if v is None:
        return "-"
    return format(v, spec) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def _task(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(int(v)) if float(v).is_integer() else f"{v:g}"
    return str(v)


def _columns(rows: list[dict]) -> list[tuple[str, object, bool]]:
    """(header, cell function, optional): optional columns are dropped when no run has a value."""
    cols = [
        ("run", lambda r: str(r["name"]), False),
        ("model", lambda r: str(r["model"]), False),
        ("optim/lr", lambda r: f"{r['optimizer']}/{r['lr']:g}" if r.get("lr") is not None else "-", False),
        ("mask/loss/replay", lambda r: f"{r['masking']}/{r['loss']}/{r['replay']}", False),
        ("K", lambda r: str(r["n_classes"]), False),
        ("tasks", lambda r: _task(r["tasks"]), False),
        ("samples/s", lambda r: _num(r["samples_per_s"], ",.0f"), False),
        ("seeds", lambda r: str(r["n_seeds"]) if r.get("n_seeds") else "-", True),
        ("iid", lambda r: _num(r["final_iid"]), False),
        ("± iid", lambda r: _num(r.get("final_iid_std")), True),
        ("KA auc", lambda r: _num(r["ka_auc"]), False),
        ("± auc", lambda r: _num(r.get("ka_auc_std")), True),
        *[(f"t@{lv}", lambda r, lv=lv: _task(r["tasks_to"].get(lv)), False) for lv in LEVELS],
        ("seen", lambda r: _num(r["seen_acc"]), True),
        ("ACC", lambda r: _num(r["ACC"]), True),
        ("BWT", lambda r: _num(r["BWT"], "+.3f"), True),
        ("F since", lambda r: _num(r["forgetting_since_trained"]), True),
        ("F earlier", lambda r: _num(r["forgetting_max_earlier"]), True),
        ("F avalanche", lambda r: _num(r["forgetting_avalanche"]), True),
    ]
    sets = list(dict.fromkeys(k for r in rows for k in r["ood_gap"]))
    for s in sets:
        short = s[4:] if s.startswith("ood_") else s
        cols.append((f"gap {short}", lambda r, s=s: _num(r["ood_gap"].get(s), "+.3f"), True))
    cols.append(("memorized", lambda r: _num(r["memorized"]), True))
    return cols


def format_table(rows: list[dict]) -> str:
    """Aligned text table of report rows (text columns left-aligned, numbers right-aligned); ``-`` marks a value
    that is undefined or was not recorded, and an optional column no run has is left out."""
    if not rows:
        return "(no runs)"
    table = []
    for head, cell, optional in _columns(rows):
        cells = [cell(r) for r in rows]
        if optional and all(c == "-" for c in cells):
            continue
        table.append((head, cells))
    widths = [max(len(h), *(len(c) for c in cells)) for h, cells in table]
    left = {"run", "model", "optim/lr", "mask/loss/replay"}

    def line(values):
        return "  ".join(v.ljust(w) if h in left else v.rjust(w)
                         for (h, _), v, w in zip(table, values, widths)).rstrip()

    out = [line([h for h, _ in table]), line(["-" * w for w in widths])]
    out += [line([cells[i] for _, cells in table]) for i in range(len(rows))]
    return "\n".join(out)


_GROUP_KEYS = ("model", "optimizer", "lr", "epochs", "masking", "loss", "replay", "n_classes", "tasks", "iid_set")


def _config_key(run: Run) -> str:
    """What a run is, minus its seed: training settings, stream source and data file hash."""
    train = {k: v for k, v in run.train.items() if k not in ("seed", "threads")}
    stream = run.config.get("stream") or {}
    data = run.config.get("data") or {}
    return json.dumps([train, stream.get("source"), stream.get("seed"), data.get("sha256")], sort_keys=True,
                      default=str)


def _mean_std(values: list) -> tuple:
    v = np.array([x for x in values if x is not None], float)
    if not len(v):
        return None, None
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else None


def group_runs(runs: list[Run]) -> dict[str, list[Run]]:
    """The runs that differ only in their seed (and thread count), by group name (``cell/*`` for runs in one
    folder), in order of first appearance."""
    groups: dict[str, list[Run]] = {}
    for r in runs:
        groups.setdefault(_config_key(r), []).append(r)
    return {_group_name([r.path for r in members]): members for members in groups.values()}


def group_rows(runs: list[Run]) -> list[dict]:
    """One row per group of runs that differ only in their seed: means over the group, with the sample standard
    deviation of the final iid accuracy and KA AUC (``final_iid_std``, ``ka_auc_std``) and ``n_seeds``."""
    out = []
    for name, members in group_runs(runs).items():
        rows = [row_of(r) for r in members]
        g = dict(rows[0])
        g["name"] = name
        g["seeds"] = [r["seed"] for r in rows]
        g["n_seeds"] = len(rows)
        for key in ("samples_per_s", "final_iid", "ka_auc", "ka_final", "ka_max", "seen_acc", "memorized",
                    *_MATRIX_KEYS):
            g[key], std = _mean_std([r[key] for r in rows])
            if key in ("final_iid", "ka_auc"):
                g[f"{key}_std"] = std
        for lv in LEVELS:
            g["tasks_to"][lv] = _mean_std([r["tasks_to"].get(lv) for r in rows])[0] if all(
                r["tasks_to"].get(lv) is not None for r in rows) else None
        gaps = list(dict.fromkeys(k for r in rows for k in r["ood_gap"]))
        g["ood_gap"] = {k: _mean_std([r["ood_gap"].get(k) for r in rows])[0] for k in gaps}
        g["final"] = {k: _mean_std([r["final"].get(k) for r in rows])[0] for k in rows[0]["final"]}
        out.append(clean_json(g))
    return out


def _group_name(paths: list) -> str:
    if len(paths) == 1:
        return paths[0].name
    parents = {p.parent for p in paths}
    return f"{parents.pop().name}/*" if len(parents) == 1 else f"{paths[0].name} (+{len(paths) - 1})"


def rows_json(rows: list[dict]) -> str:
    """The rows as a JSON array (``null`` for undefined values; never ``NaN``)."""
    return json.dumps(clean_json(rows), indent=1, allow_nan=False)
