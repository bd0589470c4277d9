"""``TrainConfig``: every knob of a training run, validated, JSON-able, no torch import.

    >>> from synprobe.harness.config import TrainConfig
    >>> TrainConfig(model="resnet20", masking="group").batch_size
    64
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields

from synprobe.errors import did_you_mean
from synprobe.harness.errors import HarnessError
from synprobe.harness.replay import REPLAYS
from synprobe.paths import read_text_file

__all__ = ["AMPS", "AUGMENTS", "LOSSES", "MASKINGS", "OPTIMIZERS", "SCHEDULES", "TAILS", "TrainConfig",
           "read_train_file"]

OPTIMIZERS = ("sgd", "adam", "adamw")
MASKINGS = ("none", "group", "seen")
LOSSES = ("ce", "elr")
SCHEDULES = ("constant", "cosine")
AUGMENTS = ("none", "shift")
AMPS = ("auto", "bf16", "fp16", "off")
TAILS = ("keep", "wrap")


@dataclass(frozen=True)
class TrainConfig:
    """How to train over a stream. Defaults: SCoLe's plain-SGD setting (lr 0.01, batch 64, 1 epoch per task)."""

    # --- model
    model: str = "scole_cnn"  # a name from synprobe.harness.models.list_models()
    model_args: dict = field(default_factory=dict)  # keyword arguments of the model builder
    # --- optimisation
    optimizer: str = "sgd"  # sgd | adam | adamw
    lr: float = 0.01  # learning rate (SCoLe: SGD 0.01; Adam 1e-4 without masking, 1e-3 with)
    momentum: float = 0.0  # SGD momentum (SCoLe runs use 0)
    weight_decay: float = 0.0  # L2 penalty (decoupled for adamw)
    schedule: str = "constant"  # constant | cosine (over all steps of the run)
    clip: float | None = 10.0  # gradient-norm clip (SCoLe: 10); None = off
    reset_optimizer: bool = False  # fresh optimizer state at every task
    batch_size: int = 64  # minibatch size
    epochs: int = 1  # passes over each task's samples
    steps: int | None = None  # optimizer steps per task instead of epochs (cycles through the samples)
    tail: str = "keep"  # a pass's last batch: keep (smaller) | wrap (filled with the pass's first samples)
    # --- strategy
    masking: str = "none"  # none | group (classes absent from the minibatch, SCoLe) | seen (never-seen classes)
    loss: str = "ce"  # ce | elr (early-learning regularisation, Liu et al. 2020)
    elr_lambda: float = 3.0  # ELR weight (ELR's CIFAR-10 symmetric config: 3)
    elr_beta: float = 0.7  # ELR target momentum (ELR's CIFAR-10 symmetric config: 0.7)
    replay: str = "none"  # none | random | frequency | reservoir (synprobe.harness.replay)
    replay_args: dict = field(default_factory=dict)  # keyword arguments of the replay strategy
    augment: str = "none"  # none | shift (random translation by up to shift_px, on the device)
    shift_px: int = 2  # largest shift of the "shift" augmentation, in pixels
    # --- evaluation
    eval_every_tasks: int = 1  # evaluate every k tasks (the last task is always evaluated); 0 = only at the end
    ood_every_tasks: int | None = None  # evaluate the non-iid sets every k tasks; None = 20 times per run
    eval_every_steps: int = 0  # also evaluate every n optimizer steps (stability-gap metrics); 0 = off
    eval_every_epochs: int = 0  # also evaluate every n epochs inside a task (memorization curves); 0 = off
    eval_sets: tuple | None = None  # names of the stream's eval sets to use; None = all
    eval_batch_size: int | None = None  # inference minibatch; None = 128 on CPU (fastest, measured), 2048 on CUDA
    memorization: bool | None = None  # ELR fractions on the seen training rows at each eval; None = if noisy
    forgetting_events: bool = True  # count Toneva forgetting events on training presentations
    # --- run
    tasks: int | None = None  # run only the first N tasks of the stream
    seed: int = 0  # seeds model init, minibatch order, augmentation and replay
    amp: str = "auto"  # auto (bf16 on CUDA >= 8.0, fp16 + scaler on older GPUs, fp32 on CPU) | bf16 | fp16 | off
    compile: bool = False  # torch.compile full training batches (for CUDA: CUDA graphs); measured slower on CPU
    channels_last: bool = True  # model and batches in channels-last order (measured 1.4-2x faster on CPU)
    threads: int | None = None  # torch CPU threads; None = torch's default (all cores)

    def __post_init__(self):
        _choice(self, "optimizer", OPTIMIZERS)
        _choice(self, "masking", MASKINGS)
        _choice(self, "loss", LOSSES)
        _choice(self, "schedule", SCHEDULES)
        _choice(self, "augment", AUGMENTS)
        _choice(self, "replay", REPLAYS)
        _choice(self, "amp", AMPS)
        _choice(self, "tail", TAILS)
        if not isinstance(self.model, str) or not self.model:
            _bad("model", f"{self.model!r} is not a model name")
        for name in ("model_args", "replay_args"):
            if not isinstance(getattr(self, name), dict):
                _bad(name, "expected a table of keyword arguments")
        _number(self, "lr", 0, lo_open=True)
        _number(self, "momentum", 0, 1)
        _number(self, "weight_decay", 0)
        _number(self, "clip", 0, none=True, lo_open=True)
        _number(self, "batch_size", 1, integer=True)
        _number(self, "epochs", 1, integer=True)
        _number(self, "steps", 1, integer=True, none=True)
        _number(self, "elr_lambda", 0)
        _number(self, "elr_beta", 0, 1)
        _number(self, "shift_px", 0, integer=True)
        _number(self, "eval_every_tasks", 0, integer=True)
        _number(self, "ood_every_tasks", 0, integer=True, none=True)
        _number(self, "eval_every_steps", 0, integer=True)
        _number(self, "eval_every_epochs", 0, integer=True)
        _number(self, "eval_batch_size", 1, integer=True, none=True)
        _number(self, "tasks", 1, integer=True, none=True)
        _number(self, "seed", 0, integer=True)
        _number(self, "threads", 1, integer=True, none=True)
        if self.optimizer != "sgd" and self.momentum:
            _bad("momentum", f"only for sgd (got optimizer {self.optimizer!r}); use 0")
        if self.eval_sets is not None:
            if not isinstance(self.eval_sets, (list, tuple)) or not all(isinstance(s, str) for s in self.eval_sets):
                _bad("eval_sets", "expected a list of eval set names")
            object.__setattr__(self, "eval_sets", tuple(self.eval_sets))
        for name in ("reset_optimizer", "forgetting_events", "channels_last", "compile"):
            if not isinstance(getattr(self, name), bool):
                _bad(name, f"{getattr(self, name)!r} must be true or false")
        if self.memorization is not None and not isinstance(self.memorization, bool):
            _bad("memorization", f"{self.memorization!r} must be true, false or unset")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["eval_sets"] = None if self.eval_sets is None else list(self.eval_sets)
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = "train config") -> TrainConfig:
        """A config from a dict (e.g. a TOML ``[train]`` table); unknown keys are errors."""
        names = [f.name for f in fields(cls)]
        for k in d:
            if k not in names:
                more = did_you_mean(k, names)
                raise HarnessError(f"{source}: unknown field {k!r}{more}; fields: {', '.join(names)}")
        try:
            return cls(**d)
        except HarnessError as e:
            if source in ("train config", "options"):
                raise
            raise HarnessError(f"{source}: {e}") from None  # name the TOML file the bad value came from


def read_train_file(path) -> dict:
    """The training settings of a TOML file (its ``[train]`` table, else its top level), unchecked: what
    ``--config`` reads (:meth:`TrainConfig.from_dict` checks them)."""
    try:
        d = tomllib.loads(read_text_file(path))
    except tomllib.TOMLDecodeError as e:
        raise HarnessError(f"{path}: not valid TOML ({e})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise HarnessError(f"{path}: cannot read the config ({e})") from None
    return d.get("train", d)


def _bad(name: str, msg: str):
    raise HarnessError(f"train config: {name}: {msg}")


def _choice(cfg: TrainConfig, name: str, allowed) -> None:
    """Field ``name`` is one of ``allowed`` (a near miss is suggested)."""
    v = getattr(cfg, name)
    if v not in allowed:
        more = did_you_mean(str(v), allowed)
        _bad(name, f"unknown {v!r}; expected one of: {', '.join(allowed)}{more}")


def _number(cfg: TrainConfig, name: str, lo=None, hi=None, integer=False, none=False, lo_open=False) -> None:
    """Field ``name`` is a number (an integer with ``integer``; None allowed with ``none``) in [lo, hi]
    (``lo`` excluded with ``lo_open``)."""
    v = getattr(cfg, name)
    if v is None and none:
        return
    kind = int if integer else (int, float)
    if isinstance(v, bool) or not isinstance(v, kind):
        _bad(name, f"{v!r} is not {'an integer' if integer else 'a number'}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        _bad(name, f"{v!r} must be {'>' if lo_open else '>='} {lo}")
    if hi is not None and v > hi:
        _bad(name, f"{v!r} must be <= {hi}")
