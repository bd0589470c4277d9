"""Options shared by the training commands (``synprobe run``, ``synprobe memorization``), and ``run``'s loggers."""

from __future__ import annotations

import click


def _kv(ctx, param, values):
    """``k=v`` pairs to a dict; values parsed as TOML scalars/arrays (``hidden=[128,128]``)."""
    import tomllib

    out = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", ctx=ctx, param=param)
        try:
            out[key.strip()] = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = raw
    return out


def _load_config(path):
    from synprobe.harness.config import read_train_file

    return read_train_file(path)


def train_config(config_file, opts: dict):
    """The :class:`TrainConfig` of a TOML file (``[train]`` table or top level) overridden by given options."""
    from synprobe.harness.config import TrainConfig

    base = _load_config(config_file) if config_file else {}
    given = {k: v for k, v in opts.items() if v is not None and v != {}}
    if isinstance(given.get("eval_sets"), str):
        given["eval_sets"] = [s.strip() for s in given["eval_sets"].split(",") if s.strip()]
    if given.get("clip") == 0:
        given["clip"] = None
    return TrainConfig.from_dict({**base, **given}, source=config_file or "options")


_SHARED = [
    click.option("--data", required=True, type=click.Path(dir_okay=False),
                 help="Dataset file (.h5) the stream indexes."),
    click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True),
                 help="TOML file of training settings ([train] table or top level); options below override it."),
    click.option("--model", help="Model name (scole_cnn, resnet20, resnet18, mlp, linear, ...). [scole_cnn]"),
    click.option("--model-arg", "model_args", multiple=True, callback=_kv,
                 help="Model keyword, KEY=VALUE (repeatable)."),
    click.option("--optimizer", type=click.Choice(["sgd", "adam", "adamw"]), help="Optimizer. [sgd]"),
    click.option("--lr", type=float, help="Learning rate. [0.01]"),
    click.option("--momentum", type=float, help="SGD momentum. [0]"),
    click.option("--weight-decay", type=float, help="Weight decay. [0]"),
    click.option("--schedule", type=click.Choice(["constant", "cosine"]), help="Learning-rate schedule. [constant]"),
    click.option("--clip", type=float, help="Gradient-norm clip; 0 = off. [10]"),
    click.option("--batch-size", type=int, help="Minibatch size. [64]"),
    click.option("--epochs", type=int, help="Epochs per task. [1]"),
    click.option("--steps", type=int, help="Optimizer steps per task (instead of epochs)."),
    click.option("--masking", type=click.Choice(["none", "group", "seen"]), help="Output masking in the loss. [none]"),
    click.option("--loss", type=click.Choice(["ce", "elr"]), help="Training loss. [ce]"),
    click.option("--elr-lambda", type=float, help="ELR weight. [3]"),
    click.option("--elr-beta", type=float, help="ELR target momentum. [0.7]"),
    click.option("--replay", type=click.Choice(["none", "random", "frequency", "reservoir"]), help="Replay. [none]"),
    click.option("--replay-arg", "replay_args", multiple=True, callback=_kv, help="Replay keyword, KEY=VALUE."),
    click.option("--augment", type=click.Choice(["none", "shift"]), help="On-device augmentation. [none]"),
    click.option("--tasks", type=int, help="Use only the first N tasks of the stream."),
    click.option("--device", default="auto", show_default=True,
                 help="auto (CUDA when usable, else CPU; said on stderr), cpu, cuda or cuda:N (an error when CUDA is "
                      "not usable)."),
    click.option("--threads", type=int, help="CPU threads for torch. [all cores]"),
    click.option("--amp", type=click.Choice(["auto", "bf16", "fp16", "off"]),
                 help="Mixed precision: auto = bf16 on GPUs with native bf16 (compute capability >= 8.0), fp16 with a "
                      "gradient scaler on older GPUs, fp32 on CPU; bf16 also on CPU; fp16 on CUDA only. [auto]"),
    click.option("--tail", type=click.Choice(["keep", "wrap"]),
                 help="A pass's last batch: keep it smaller, or wrap (fill it with the pass's first samples, so "
                      "every batch has --batch-size samples). [keep]"),
    click.option("--compile/--no-compile", default=None,
                 help="torch.compile the training step's forward (for CUDA: CUDA graphs; measured slower on CPU, "
                      "and ~60 s to compile). [off]"),
    click.option("--overwrite", is_flag=True, help="Replace an existing output directory."),
    click.option("--no-plots", is_flag=True, help="Skip the PNG plots."),
    click.option("-q", "--quiet", is_flag=True, help="No progress bar."),
]


def training_options(fn):
    """Add the shared training options (click applies decorators bottom-up, so reverse them)."""
    for opt in reversed(_SHARED):
        fn = opt(fn)
    return fn


def _logger_names(ctx, param, values):
    """``--logger a,b --logger c`` to ``["a", "b", "c"]`` (checked when the loggers are made)."""
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def _logger_args(ctx, param, values):
    """``NAME.KEY=VALUE`` pairs to ``{name: {key: value}}``."""
    out: dict[str, dict] = {}
    for key, value in _kv(ctx, param, values).items():
        name, sep, field = key.partition(".")
        if not sep or not field:
            raise click.BadParameter(f"{key!r}: expected LOGGER.KEY=VALUE, e.g. wandb.project=myproject",
                                     ctx=ctx, param=param)
        out.setdefault(name, {})[field] = value
    return out


LOGGER_OPTIONS = [
    click.option("--logger", "logger_names", multiple=True, callback=_logger_names, metavar="NAME[,NAME]",
                 help="Also log the run to tensorboard, wandb, mlflow or csv (repeatable or comma-separated); "
                      "logs go inside RUN_DIR (RUN_DIR/tensorboard, RUN_DIR/wandb, RUN_DIR/mlflow, RUN_DIR/csv). "
                      "Needs the loggers extra: pip install -e '.[loggers]'."),
    click.option("--logger-arg", "logger_args", multiple=True, callback=_logger_args, metavar="LOGGER.KEY=VALUE",
                 help="A logger's keyword (repeatable): tensorboard.dir=ROOT, wandb.mode=offline, "
                      "wandb.project=NAME, mlflow.tracking_uri=URI, mlflow.experiment=NAME, csv.dir=ROOT."),
]


def logger_options(fn):
    """Add ``--logger`` and ``--logger-arg``."""
    for opt in reversed(LOGGER_OPTIONS):
        fn = opt(fn)
    return fn


def make_loggers(names: list[str], args: dict):
    """The loggers of ``--logger``/``--logger-arg`` (an error names a missing extra before training starts)."""
    if not names and not args:
        return []
    from synprobe.harness.loggers import make_loggers as make

    return make(names, args)
