"""Run loggers: TensorBoard, Weights & Biases, MLflow and a long-format CSV, as run callbacks.

    >>> [type(lg).__name__ for lg in make_loggers(["csv"])]
    ['CSVLogger']

Each logs what ``metrics.jsonl`` holds (per-class accuracies aside): every evaluation's accuracy, loss and
seen-class accuracy per eval set (the KA curve), the memorization fractions, every task row, at the run's
optimizer step; the training config as hyperparameters; the summary's numbers at the end. By default a logger
writes inside the run folder (``RUN_DIR/tensorboard/``, ``RUN_DIR/wandb/``, ``RUN_DIR/mlflow/``,
``RUN_DIR/csv/``); ``dir=`` names a root that holds one entry per run, named after the run folder.
TensorBoard, wandb and mlflow are the ``loggers`` extra, imported when a logger is made (docs/training.md).
"""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

from synprobe.config import allow_mlflow_file_store
from synprobe.errors import did_you_mean
from synprobe.harness.callbacks import Callback
from synprobe.harness.errors import HarnessError

__all__ = [
    "LOGGERS",
    "CSVLogger",
    "MLflowLogger",
    "TensorBoardLogger",
    "WandbLogger",
    "hyperparameters",
    "make_loggers",
    "row_metrics",
    "summary_metrics",
]

_ROW_KEYS = {"kind", "task", "epoch", "step", "samples", "time", "at", "set", "n", "per_class"}
_TASK = {"train_loss": "task/train_loss", "train_acc": "task/train_acc", "val_acc": "task/val_acc"}


def _need(module: str, package: str, logger: str):
    """Import ``module`` or raise the one-line hint naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise HarnessError(
            f"--logger {logger} needs {package}: pip install -e '.[loggers]' (from the synprobe checkout)"
        ) from None


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def row_metrics(row: dict) -> dict[str, float]:
    """A metric row's numbers under their logger names: ``eval/<set>/acc`` (``loss``, ``seen_acc``) and
    ``eval/tasks_trained``; ``task/train_loss`` (``train_acc``, ``val_acc``); ``memorization/<fraction>``."""
    kind = row["kind"]
    if kind == "eval":
        out = {f"eval/{row['set']}/{k}": row[k] for k in ("acc", "loss", "seen_acc")}
        out["eval/tasks_trained"] = row["task"] + 1
    elif kind == "task":
        out = {name: row[k] for k, name in _TASK.items()}
    else:
        out = {f"{kind}/{k}": v for k, v in row.items() if k not in _ROW_KEYS}
    return {k: float(v) for k, v in out.items() if _number(v)}


def summary_metrics(summary: dict) -> dict[str, float]:
    """The summary's numbers, nested keys joined by ``/`` under ``summary/`` (lists, None and text left out)."""
    out: dict[str, float] = {}

    def walk(prefix: str, v) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                walk(f"{prefix}/{k}", x)
        elif _number(v):
            out[prefix] = float(v)

    for k, v in summary.items():
        if k != "rows":
            walk(f"summary/{k}", v)
    return out


def hyperparameters(record: dict) -> dict[str, str | int | float | bool]:
    """The run's settings as flat hyperparameters: every ``train`` field (nested ones as ``model_args.depth``;
    lists and None as JSON text), the seed, device, stream and data file."""
    out: dict = {}

    def walk(prefix: str, v) -> None:
        if isinstance(v, dict) and v:
            for k, x in v.items():
                walk(f"{prefix}.{k}" if prefix else str(k), x)
        else:
            out[prefix] = v if isinstance(v, (str, int, float, bool)) else json.dumps(v)

    walk("", record.get("train", {}))
    stream, data = record.get("stream", {}), record.get("data", {})
    walk(
        "run",
        {
            "seed": record.get("seed"),
            "device": record.get("device"),
            "stream": stream.get("source"),
            "n_tasks": stream.get("n_tasks"),
            "n_classes": stream.get("n_classes"),
            "data": data.get("file"),
        },
    )
    return out


class _Logger(Callback):
    """Where a logger writes: ``dir/<run name>`` when given a root, else ``RUN_DIR/<its folder>``."""

    folder = ""

    def __init__(self, dir=None, name: str | None = None):
        self.dir = None if dir is None else Path(dir)
        self.name = name

    def _start(self, run_dir) -> Path:
        run_dir = None if run_dir is None else Path(run_dir)
        if self.name is None:
            self.run_name = run_dir.name.removesuffix(".incomplete") if run_dir is not None else "run"
        else:
            self.run_name = self.name
        if self.dir is not None:
            return self.dir / self.run_name
        if run_dir is None:
            raise HarnessError(f"{type(self).__name__}: the run writes no folder (out=None): give dir=")
        return run_dir / self.folder


class TensorBoardLogger(_Logger):
    """TensorBoard event files (``torch.utils.tensorboard``): scalars per step, hyperparameters and summary."""

    folder = "tensorboard"

    def __init__(self, dir=None, name: str | None = None):
        super().__init__(dir, name)
        _need("tensorboard", "tensorboard", "tensorboard")
        self.writer = None

    def on_run_start(self, record, run_dir):
        from torch.utils.tensorboard import SummaryWriter

        self.logdir = self._start(run_dir)
        self.writer = SummaryWriter(str(self.logdir))
        self.hparams = hyperparameters(record)
        self.writer.add_text("config", _indented(record))

    def _log(self, row: dict) -> None:
        for k, v in row_metrics(row).items():
            self.writer.add_scalar(k, v, row["step"])

    def on_evaluation(self, rows):
        for r in rows:
            self._log(r)

    def on_task_end(self, row):
        self._log(row)

    def on_run_end(self, summary):
        self.writer.add_text("summary", _indented(summary))
        # run_name=".": the hyperparameters go to this run's folder, not to a new timestamped one
        self.writer.add_hparams(self.hparams, summary_metrics(summary), run_name=".")
        self.on_run_error(None)

    def on_run_error(self, error):
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class WandbLogger(_Logger):
    """A Weights & Biases run. ``mode`` None: wandb's own setting (``WANDB_MODE``, ``wandb login``); "offline"
    writes ``wandb/offline-run-*`` for a later ``wandb sync``. ``init``: more ``wandb.init`` keywords."""

    def __init__(self, dir=None, name: str | None = None, project: str = "synprobe", mode: str | None = None, **init):
        super().__init__(dir, name)
        _need("wandb", "wandb", "wandb")
        self.project, self.mode, self.init, self.run = project, mode, init, None

    def on_run_start(self, record, run_dir):
        import wandb

        # wandb makes its own wandb/ folder inside the directory it is given
        where = self._start(run_dir)  # RUN_DIR itself by default (folder ""); a given root: the root
        where = self.dir if self.dir is not None else where
        where.mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(
            project=self.project,
            name=self.run_name,
            dir=str(where),
            mode=self.mode,
            config=hyperparameters(record),
            **self.init,
        )

    def on_evaluation(self, rows):
        for r in rows:
            self.run.log(row_metrics(r), step=r["step"])

    def on_task_end(self, row):
        self.run.log(row_metrics(row), step=row["step"])

    def on_run_end(self, summary):
        self.run.summary.update(summary_metrics(summary))
        self.run.finish()
        self.run = None

    def on_run_error(self, error):
        if self.run is not None:
            self.run.finish(exit_code=1)
            self.run = None


class MLflowLogger(_Logger):
    """An MLflow run in ``experiment``; ``tracking_uri`` None: a ``file:`` store at ``RUN_DIR/mlflow`` (or
    ``dir``). Metrics at each step, the config as parameters, the summary's numbers at the end."""

    folder = "mlflow"

    def __init__(
        self, dir=None, name: str | None = None, tracking_uri: str | None = None, experiment: str = "synprobe"
    ):
        super().__init__(dir, name)
        _need("mlflow", "mlflow-skinny", "mlflow")
        self.tracking_uri, self.experiment, self.client, self.run_id = tracking_uri, experiment, None, None

    def on_run_start(self, record, run_dir):
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        where = self._start(run_dir)
        default = self.tracking_uri is None
        if default:
            root = self.dir if self.dir is not None else where
            # MLflow caches a file store per URI and makes its folders only once: a rerun into a new folder of the
            # same name (--overwrite) makes them again
            (root / ".trash").mkdir(parents=True, exist_ok=True)
        uri = root.resolve().as_uri() if default else self.tracking_uri
        if uri.startswith("file:"):
            allow_mlflow_file_store()
        self.client = MlflowClient(tracking_uri=uri)
        exp = self.client.get_experiment_by_name(self.experiment)
        if exp is not None:
            exp_id = exp.experiment_id
        else:  # the store's default names the folder being written, which the run renames at its end
            final = Path(run_dir).with_name(self.run_name) / self.folder if default and self.dir is None else None
            art = None if final is None else (final / "artifacts").resolve().as_uri()
            exp_id = self.client.create_experiment(self.experiment, artifact_location=art)
        self.run_id = self.client.create_run(exp_id, run_name=self.run_name).info.run_id
        params = [Param(k, str(v)[:6000]) for k, v in hyperparameters(record).items()]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 parameters per batch
            self.client.log_batch(self.run_id, params=params[i : i + 100])

    def _log(self, metrics: dict, step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, v, now, step) for k, v in metrics.items()]
        for i in range(0, len(batch), 1000):  # and at most 1000 metrics
            self.client.log_batch(self.run_id, metrics=batch[i : i + 1000])

    def on_evaluation(self, rows):
        for r in rows:
            self._log(row_metrics(r), r["step"])

    def on_task_end(self, row):
        self._log(row_metrics(row), row["step"])

    def on_run_end(self, summary):
        self._log(summary_metrics(summary), 0)
        self.client.set_terminated(self.run_id, "FINISHED")
        self.client = None

    def on_run_error(self, error):
        if self.client is not None:
            status = "KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED"
            self.client.set_terminated(self.run_id, status)
            self.client = None


class CSVLogger(_Logger):
    """One long-format CSV, ``metrics.csv``: a line per number (``kind,at,task,epoch,step,samples,time,set,
    metric,value``): the hyperparameters (kind ``hparam``), every row's metrics, the summary's (``summary``)."""

    folder = "csv"
    FIELDS = ("kind", "at", "task", "epoch", "step", "samples", "time", "set", "metric", "value")

    def __init__(self, dir=None, name: str | None = None):
        super().__init__(dir, name)
        self.file = None

    def on_run_start(self, record, run_dir):
        where = self._start(run_dir)
        where.mkdir(parents=True, exist_ok=True)
        self.path = where / "metrics.csv"
        self.file = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed at the run's end
        self.csv = csv.DictWriter(self.file, self.FIELDS, extrasaction="ignore")
        self.csv.writeheader()
        for k, v in hyperparameters(record).items():
            self.csv.writerow({"kind": "hparam", "metric": k, "value": v})

    def _log(self, row: dict) -> None:
        base = {k: ("" if v is None else v) for k, v in row.items() if k in self.FIELDS}
        for k, v in row_metrics(row).items():
            self.csv.writerow({**base, "metric": k, "value": repr(v)})

    def on_evaluation(self, rows):
        for r in rows:
            self._log(r)

    def on_task_end(self, row):
        self._log(row)

    def on_run_end(self, summary):
        for k, v in summary_metrics(summary).items():
            self.csv.writerow({"kind": "summary", "metric": k, "value": repr(v)})
        self.on_run_error(None)

    def on_run_error(self, error):
        if self.file is not None:
            self.file.close()
            self.file = None


LOGGERS = {"tensorboard": TensorBoardLogger, "wandb": WandbLogger, "mlflow": MLflowLogger, "csv": CSVLogger}


def make_loggers(names, args: dict[str, dict] | None = None) -> list[Callback]:
    """The loggers named (``"tensorboard"``, ``"wandb"``, ``"mlflow"``, ``"csv"``), each with its keywords
    from ``args[name]`` (e.g. ``{"wandb": {"mode": "offline"}}``); a one-line error names a missing extra."""
    args = dict(args or {})
    out = []
    for name in dict.fromkeys(names):
        if name not in LOGGERS:
            raise HarnessError(f"--logger {name!r}: expected one of {', '.join(LOGGERS)}{did_you_mean(name, LOGGERS)}")
        try:
            out.append(LOGGERS[name](**args.pop(name, {})))
        except TypeError as e:
            raise HarnessError(f"--logger-arg {name}: {e}") from None
    if args:
        raise HarnessError(f"--logger-arg {', '.join(args)}: no such logger in --logger {','.join(names)}")
    return out


def _indented(obj) -> str:
    """JSON as a Markdown code block (TensorBoard renders text as Markdown)."""
    return "\n".join("    " + line for line in json.dumps(obj, indent=1).splitlines())
