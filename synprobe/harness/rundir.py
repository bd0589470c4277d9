"""Read a run directory written by ``synprobe run ... -o RUN_DIR`` (format ``synprobe.run/1``, ``docs/runs.md``).

Pure numpy and json: works without torch.

    >>> from synprobe.harness.rundir import read_run
    >>> run = read_run("runs/resnet20-seen")                  # doctest: +SKIP
    >>> iid = run.curve()                                     # iid rows at "start" and "task_end", by task
    >>> iid["task"], iid["acc"]                               # (n,) int64, (n,) float64 (NaN for null)
    >>> run.evals.where(set="ood_scale", at="step")["acc"]    # any filter of the eval rows
    >>> run.summary["ka"]["auc"], run.matrix.shape            # accuracy_matrix.npy: (E, T) or None

A missing directory, a missing ``config.json`` / ``metrics.jsonl`` / ``summary.json`` or a malformed file raises
:class:`~synprobe.harness.errors.HarnessError` with a one-line message naming the file (and line).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from synprobe.harness.errors import HarnessError
from synprobe.io import validate

__all__ = ["FORMAT", "Rows", "Run", "read_run"]

FORMAT = "synprobe.run/1"  # config.json "format" of a run directory; written by train, checked here

# Column schemas of metrics.jsonl rows: "i" int64 (required), "f" float64 (null -> NaN), "s" str.
_EVAL = {"task": "i", "epoch": "f", "step": "i", "samples": "i", "time": "f", "at": "s", "set": "s", "n": "i",
         "acc": "f", "loss": "f", "seen_acc": "f"}
_TASK = {"task": "i", "step": "i", "samples": "i", "time": "f", "n_samples": "i", "n_replayed": "i",
         "train_loss": "f", "train_acc": "f"}
_MEMO = {"task": "i", "epoch": "f", "step": "i", "samples": "i", "time": "f", "n_noisy": "i", "n_clean": "i",
         "noisy_memorized": "f", "noisy_correct": "f", "noisy_other": "f", "clean_correct": "f",
         "clean_incorrect": "f"}
_SCHEMAS = {"eval": _EVAL, "task": _TASK, "memorization": _MEMO}
_OPTIONAL = {"epoch", "seen_acc", "time", "loss"}  # may be absent from a row (read as NaN)
_DTYPES = {"i": np.int64, "f": np.float64, "s": str}


@dataclass(frozen=True)
class Rows:
    """Rows of one kind of ``metrics.jsonl`` as columns: ``rows["acc"]`` is an ``(n,)`` array.

    Integer fields are int64, float fields float64 with NaN for null, string fields ``<U`` arrays. Eval rows also
    have ``per_class`` (float64 ``(n, K)``, NaN rows where null); task rows have ``classes`` (bool ``(n, K)``,
    ``True`` where the task holds class position k).
    """

    columns: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.columns[name]
        except KeyError:
            raise HarnessError(f"no column {name!r}; expected one of: {', '.join(self.columns)}") from None

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def select(self, mask) -> Rows:
        """The rows where the ``(n,)`` bool ``mask`` is True (or at the given int positions)."""
        return Rows({k: v[mask] for k, v in self.columns.items()})

    def where(self, **equals) -> Rows:
        """Rows whose column equals the value (or is one of a tuple/list of values): ``where(set="iid")``."""
        mask = np.ones(len(self), bool)
        for k, v in equals.items():
            col = self[k]
            mask &= np.isin(col, list(v)) if isinstance(v, (tuple, list, set)) else col == v
        return self.select(mask)


@dataclass(frozen=True)
class Run:
    """One run directory, read.

    Attributes:
        path: the directory.
        config: ``config.json`` as a dict.
        summary: ``summary.json`` as a dict (NaN written as null stays ``None``); ``None`` only when read with
            ``partial=True`` from a run that has not finished.
        evals: the "eval" rows (:class:`Rows`, ``per_class`` ``(n, K)``).
        tasks: the "task" rows (:class:`Rows`, ``classes`` bool ``(n, K)``).
        memorization: the "memorization" rows (:class:`Rows`; zero rows when none were recorded).
        matrix: ``accuracy_matrix.npy``, float64 ``(E, T)``, or ``None`` when absent.
    """

    path: Path
    config: dict
    summary: dict | None
    evals: Rows
    tasks: Rows
    memorization: Rows
    matrix: np.ndarray | None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def n_classes(self) -> int:
        return int(self.config["stream"]["n_classes"])

    @property
    def train(self) -> dict:
        return self.config.get("train") or {}

    @property
    def eval_sets(self) -> list[str]:
        """Eval set names in order of first appearance ("iid" first when present)."""
        names = list(dict.fromkeys(self.evals["set"].tolist())) if len(self.evals) else []
        return sorted(names, key=lambda s: s != "iid")

    @property
    def iid_set(self) -> str | None:
        """The set the run's headline numbers use: ``summary.json: iid_set``, else "iid", else the first set."""
        name = (self.summary or {}).get("iid_set")
        if isinstance(name, str):
            return name
        sets = self.eval_sets
        return sets[0] if sets else None

    def curve(self, set_name: str | None = None) -> Rows:
        """The eval rows of one set (default :attr:`iid_set`) at "start" and "task_end", sorted by task: a
        knowledge-accumulation curve."""
        r = self.evals.where(set=self.iid_set if set_name is None else set_name, at=("start", "task_end"))
        return r.select(np.argsort(r["task"], kind="stable"))


# ----------------------------------------------------------------------------- reading


MAX_METRICS_BYTES = 1 << 30  # metrics.jsonl: ~1 KB per evaluation row; a larger file is not a run's
MAX_CLASSES = 1 << 20  # config.json stream.n_classes (tables of K columns are allocated per row)


def _read_bytes(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (checked before reading)."""
    size = validate.check_regular_file(path, HarnessError, empty_ok=True)
    if size > limit:
        raise HarnessError(f"{path}: {size:,} bytes; at most {limit:,} are read")
    with open(path, "rb") as f:
        return f.read(limit + 1)[:limit]


def _json(path: Path) -> dict:
    text = _read_bytes(path, validate.MAX_JSON_BYTES)
    obj = validate.loads_json(text, str(path), error=HarnessError)
    if not isinstance(obj, dict):
        raise HarnessError(f"{path}: expected a JSON object, got {type(obj).__name__}")
    return obj


def _value(v, kind: str, where: str, name: str):
    if kind == "s":
        if not isinstance(v, str):
            raise HarnessError(f"{where}: field {name!r} is {v!r}; expected a string")
        return v
    if v is None and kind == "f":
        return float("nan")
    ok = isinstance(v, (int, float)) and not isinstance(v, bool)
    if not ok or (kind == "i" and isinstance(v, float) and not v.is_integer()):
        raise HarnessError(f"{where}: field {name!r} is {v!r}; expected {'an int' if kind == 'i' else 'a number'}")
    return v


def _parse_metrics(path: Path, partial: bool) -> dict[str, list[tuple[int, dict]]]:
    text = _read_bytes(path, MAX_METRICS_BYTES).decode("utf-8", errors="replace")
    lines = text.split("\n")
    by_kind: dict[str, list[tuple[int, dict]]] = {kind: [] for kind in _SCHEMAS}
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = validate.loads_json(line, f"{path}:{i}", error=HarnessError)
        except HarnessError as e:
            if partial and i == len(lines):  # a run killed mid-write leaves an unterminated last line
                break
            raise HarnessError(validate.one_line(str(e).replace("not valid JSON", "not a JSON object", 1))) from None
        if not isinstance(row, dict) or "kind" not in row:
            raise HarnessError(f"{path}:{i}: expected a JSON object with a 'kind' field")
        if row["kind"] in by_kind:  # unknown kinds come from newer writers: skipped
            by_kind[row["kind"]].append((i, row))
    return by_kind


def _rows(path: Path, kind: str, rows: list[tuple[int, dict]], k: int) -> Rows:
    schema = _SCHEMAS[kind]
    cols: dict[str, list] = {name: [] for name in schema}
    extra: list = []
    for i, row in rows:
        where = f"{path}:{i}"
        for name, t in schema.items():
            if name not in row and name not in _OPTIONAL:
                raise HarnessError(f"{where}: {kind} row lacks field {name!r}")
            cols[name].append(_value(row.get(name), t, where, name))
        if kind == "eval":
            pc = row.get("per_class")
            if pc is None:
                extra.append([float("nan")] * k)
            elif not isinstance(pc, list) or len(pc) != k:
                got = f"{len(pc)} values" if isinstance(pc, list) else repr(pc)
                raise HarnessError(f"{where}: per_class has {got}; expected K={k} (config.json stream.n_classes)")
            else:
                extra.append([_value(v, "f", where, "per_class") for v in pc])
        elif kind == "task":
            cl = row.get("classes")
            if not isinstance(cl, list) or any(isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < k
                                               for c in cl):
                raise HarnessError(f"{where}: classes is {cl!r}; expected a list of class positions in [0, {k})")
            mask = np.zeros(k, bool)
            mask[cl] = True
            extra.append(mask)
    out = {name: np.asarray(v, dtype=_DTYPES[schema[name]]) for name, v in cols.items()}
    if kind == "eval":
        out["per_class"] = np.asarray(extra, np.float64).reshape(len(rows), k)
    elif kind == "task":
        out["classes"] = np.asarray(extra, bool).reshape(len(rows), k)
    return Rows(out)


def _matrix(path: Path) -> np.ndarray | None:
    if not path.is_file():
        return None
    try:
        validate.check_npy(path, HarnessError)
        m = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise HarnessError(f"{path}: not a .npy array ({e})") from None
    if not isinstance(m, np.ndarray) or m.ndim != 2 or m.dtype.kind not in "fiu":
        raise HarnessError(f"{path}: expected a 2-d float array (E, T), got {getattr(m, 'shape', '?')} "
                           f"{getattr(m, 'dtype', '?')}")
    return m.astype(np.float64, copy=False)


def read_run(path, partial: bool = False) -> Run:
    """Read a run directory.

    Args:
        path: the directory written by ``synprobe run -o``.
        partial: accept a run that has not finished (no ``summary.json``: ``Run.summary`` is ``None``; an
            unterminated last line of ``metrics.jsonl`` is skipped).

    Returns:
        :class:`Run`.

    Raises:
        HarnessError: no such directory, a required file missing, or a file of the wrong format (named, with the
            line number for ``metrics.jsonl``).
    """
    p = Path(path)
    if not p.exists():
        raise HarnessError(f"{p}: no such run directory")
    if not p.is_dir():
        raise HarnessError(f"{p}: not a directory; expected a run directory written by 'synprobe run -o DIR'")
    p = p.resolve()
    cfg_path = p / "config.json"
    if not cfg_path.is_file():
        raise HarnessError(f"{p}: no config.json; not a run directory (written by 'synprobe run -o DIR')")
    config = _json(cfg_path)
    if config.get("format") != FORMAT:
        raise HarnessError(f"{cfg_path}: format {config.get('format')!r} unsupported; expected {FORMAT!r}")
    stream = config.get("stream")
    k = stream.get("n_classes") if isinstance(stream, dict) else None
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_CLASSES:
        raise HarnessError(validate.one_line(f"{cfg_path}: stream.n_classes is {k!r}; expected an int in "
                                             f"1..{MAX_CLASSES}"))
    m_path = p / "metrics.jsonl"
    if not m_path.is_file():
        raise HarnessError(f"{p}: no metrics.jsonl; the run is incomplete (it stopped before its first evaluation)")
    s_path = p / "summary.json"
    summary = None
    if s_path.is_file():
        summary = _json(s_path)
    elif not partial:
        raise HarnessError(f"{p}: no summary.json; the run is incomplete (still running, or it stopped early)")
    by_kind = _parse_metrics(m_path, partial)
    return Run(path=p, config=config, summary=summary,
               evals=_rows(m_path, "eval", by_kind["eval"], k),
               tasks=_rows(m_path, "task", by_kind["task"], k),
               memorization=_rows(m_path, "memorization", by_kind["memorization"], k),
               matrix=_matrix(p / "accuracy_matrix.npy"))
