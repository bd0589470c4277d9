"""The model zoo: a name -> builder registry of small image classifiers (needs torch).

Every model maps a float32 batch ``(B, C, H, W)`` (already normalised) to logits ``(B, n_classes)`` and keeps its
final classifier as ``model.head`` (an ``nn.Linear``) and everything before it as ``model.body``, so strategies can
read features (``model.body(x)``, shape ``(B, model.head.in_features)``) or reset the head.

Usage::

    from synprobe.harness.models import build_model, list_models, register_model

    model = build_model("resnet20", (3, 32, 32), n_classes=10, depth=32)
    list_models()  # ['linear', 'mlp', 'resnet18', 'resnet20', 'scole_cnn']

    @register_model("tiny", min_size=4)
    def tiny(in_shape, n_classes, *, width=8):
        ...  # return an nn.Module with a .head nn.Linear, e.g. Classifier(body, head)

Bad names, options or shapes raise :class:`~synprobe.harness.errors.HarnessError` with a one-line message.
"""

from __future__ import annotations

import inspect
import math
import operator
from collections.abc import Callable

from synprobe.errors import did_you_mean, install_hint
from synprobe.harness.errors import HarnessError

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:  # pragma: no cover - only without the train extra
    raise HarnessError(f"synprobe.harness.models needs torch: {install_hint('train')}") from None

__all__ = [
    "Classifier", "MaxPool2x2", "build_model", "count_parameters", "list_models", "model_info", "register_model",
]

# name -> (builder, minimum H and W)
_REGISTRY: dict[str, tuple[Callable[..., nn.Module], int]] = {}


# ---------------------------------------------------------------------------------------------- registry


def register_model(name: str, *, min_size: int = 1):
    """Decorator that registers ``fn(in_shape, n_classes, **options) -> nn.Module`` under ``name``.

    Args:
        name: registry key; must not be registered already.
        min_size: smallest H and W the model accepts; :func:`build_model` refuses smaller inputs.

    Returns:
        The decorator; it returns ``fn`` unchanged.
    """
    if not isinstance(name, str) or not name or name != name.strip():
        raise HarnessError(f"model name must be a non-empty string without surrounding spaces; got {name!r}")
    if name in _REGISTRY:
        raise HarnessError(f"model '{name}' is already registered; pick another name")
    if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 1:
        raise HarnessError(f"min_size of model '{name}' must be an int >= 1; got {min_size!r}")

    def decorator(fn):
        if not callable(fn):
            raise HarnessError(f"model '{name}': register_model must decorate a builder function, got {fn!r}")
        if name in _REGISTRY:
            raise HarnessError(f"model '{name}' is already registered; pick another name")
        _REGISTRY[name] = (fn, min_size)
        return fn

    return decorator


def list_models() -> list[str]:
    """Return the registered model names, sorted."""
    return sorted(_REGISTRY)


def _lookup(name) -> tuple[Callable[..., nn.Module], int]:
    if isinstance(name, str) and name in _REGISTRY:
        return _REGISTRY[name]
    hint = did_you_mean(str(name), list(_REGISTRY))
    raise HarnessError(f"model {name!r} unknown; expected one of: {', '.join(list_models())}{hint}")


def _options(fn) -> dict[str, inspect.Parameter]:
    """The builder's keyword options: every parameter after ``in_shape`` and ``n_classes``."""
    params = list(inspect.signature(fn).parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][:2]
    return {p.name: p for p in params if p not in positional and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def _describe_options(fn) -> str:
    opts = [f"{k}={p.default!r}" if p.default is not p.empty else k for k, p in _options(fn).items()]
    return ", ".join(opts) if opts else "(none)"


def model_info(name: str) -> str:
    """One line: the model's description (its builder's docstring summary), options and minimum input size."""
    fn, min_size = _lookup(name)
    summary = (inspect.getdoc(fn) or "(no description)").splitlines()[0].rstrip(".")
    return f"{name}: {summary}; options: {_describe_options(fn)}; needs H, W >= {min_size}"


def _check_shape(name: str, in_shape, min_size: int) -> tuple[int, int, int]:
    try:
        shape = tuple(in_shape)
        if len(shape) != 3 or any(isinstance(v, bool) for v in shape):
            raise TypeError
        shape = tuple(operator.index(v) for v in shape)
    except TypeError:
        raise HarnessError(f"in_shape must be 3 ints (C, H, W); got {in_shape!r}") from None
    if min(shape) < 1:
        raise HarnessError(f"in_shape must be 3 positive ints (C, H, W); got {shape}")
    if min(shape[1:]) < min_size:
        raise HarnessError(f"in_shape {shape} too small for model '{name}': it needs H and W >= {min_size}")
    return shape


def build_model(name: str, in_shape, n_classes: int, **kwargs) -> nn.Module:
    """Build a registered model for inputs ``(B, *in_shape)`` and ``n_classes`` outputs.

    Args:
        name: a name from :func:`list_models`.
        in_shape: ``(C, H, W)`` positive ints; H and W at least the model's minimum (see :func:`model_info`).
        n_classes: number of logits, >= 1.
        **kwargs: the model's options (see :func:`model_info`).

    Returns:
        A freshly initialised ``nn.Module`` in training mode whose forward maps float32 ``(B, C, H, W)`` to
        ``(B, n_classes)`` logits and whose ``.head`` is an ``nn.Linear`` with ``n_classes`` outputs.
    """
    fn, min_size = _lookup(name)
    shape = _check_shape(name, in_shape, min_size)
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
        raise HarnessError(f"n_classes must be an int >= 1; got {n_classes!r}")
    sig = inspect.signature(fn)
    takes_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    accepted = _options(fn)
    for key in kwargs:
        if key not in accepted and not takes_any:
            hint = did_you_mean(key, list(accepted))
            raise HarnessError(
                f"model '{name}' got unknown option '{key}'; accepted options: {_describe_options(fn)}{hint}"
            )
    try:
        sig.bind(shape, n_classes, **kwargs)
    except TypeError as e:
        msg = f"model '{name}': bad options {kwargs!r} ({e}); accepted options: {_describe_options(fn)}"
        raise HarnessError(msg) from None
    model = fn(shape, n_classes, **kwargs)
    head = getattr(model, "head", None)
    if not isinstance(model, nn.Module) or not isinstance(head, nn.Linear) or head.out_features != n_classes:
        raise HarnessError(
            f"builder of model '{name}' must return an nn.Module whose .head is an nn.Linear with n_classes outputs"
        )
    return model


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters (buffers such as BatchNorm running stats excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


# ---------------------------------------------------------------------------------------------- building blocks


class Classifier(nn.Module):
    """``head(body(x))``: ``body`` maps ``(B, C, H, W)`` to features ``(B, F)``; ``head`` is ``nn.Linear(F, K)``."""

    def __init__(self, body: nn.Module, head: nn.Linear):
        super().__init__()
        self.body = body
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map float ``(B, C, H, W)`` to logits ``(B, K)``."""
        return self.head(self.body(x))


def _int_option(model: str, key: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise HarnessError(f"model '{model}' option {key}={value!r} invalid; expected an int >= {minimum}")
    return value


def _dropout_option(model: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value < 1.0:
        raise HarnessError(f"model '{model}' option dropout={value!r} invalid; expected a float in [0, 1)")
    return float(value)


class _BasicBlock(nn.Module):
    """Two 3x3 conv+BN layers plus a shortcut; a 1x1 conv+BN projection where the shape changes ("option B")."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        if stride == 1 and c_in == c_out:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


# ---------------------------------------------------------------------------------------------- the zoo


@register_model("linear")
def _linear(in_shape, n_classes):
    """Linear probe baseline: flatten -> head (C*H*W -> n_classes)."""
    c, h, w = in_shape
    return Classifier(nn.Flatten(), nn.Linear(c * h * w, n_classes))


@register_model("mlp")
def _mlp(in_shape, n_classes, *, hidden=(256, 256)):
    """Multi-layer perceptron: flatten -> [linear -> ReLU] per hidden width -> head."""
    widths = (hidden,) if isinstance(hidden, int) and not isinstance(hidden, bool) else hidden
    if not isinstance(widths, tuple | list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in widths
    ):
        raise HarnessError(f"model 'mlp' option hidden={hidden!r} invalid; expected a tuple/list of ints >= 1")
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(in_shape)
    for h in widths:
        layers += [nn.Linear(width, h), nn.ReLU(inplace=True)]
        width = h
    return Classifier(nn.Sequential(*layers), nn.Linear(width, n_classes))


class MaxPool2x2(nn.Module):
    """2x2 max-pool, stride 2 (floor), equal to ``nn.MaxPool2d(2)``; without autograd (evaluation) it takes the
    max of the four strided quarter views, measured 4x faster on CPU in channels-last order (128x10x28x28:
    154 us against 662 us). Under autograd it is ``F.max_pool2d`` (whose backward is the fast one)."""

    def forward(self, x):
        if torch.is_grad_enabled() and x.requires_grad:
            return F.max_pool2d(x, 2)
        h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
        x = x[..., :h, :w]
        return torch.maximum(torch.maximum(x[..., 0::2, 0::2], x[..., 0::2, 1::2]),
                             torch.maximum(x[..., 1::2, 0::2], x[..., 1::2, 1::2]))


@register_model("scole_cnn", min_size=16)
def _scole_cnn(in_shape, n_classes, *, hidden=50, dropout=0.0):
    """SCoLe's small CNN: 2x [conv 5x5 (10, 20 ch) -> max-pool 2 -> ReLU] -> linear hidden -> ReLU -> head."""
    hidden = _int_option("scole_cnn", "hidden", hidden, 1)
    dropout = _dropout_option("scole_cnn", dropout)
    c, h, w = in_shape
    # Each conv 5x5 (no padding) removes 4 pixels, each max-pool 2 floors a halving: 16 px -> 12 -> 6 -> 2 -> 1.
    fh, fw = (((s - 4) // 2 - 4) // 2 for s in (h, w))
    body = nn.Sequential(
        nn.Conv2d(c, 10, 5),
        MaxPool2x2(),
        nn.ReLU(inplace=True),
        nn.Conv2d(10, 20, 5),
        MaxPool2x2(),
        nn.ReLU(inplace=True),
        nn.Flatten(),
        nn.Linear(20 * fh * fw, hidden),  # 320 at 28x28 (as in SCoLe), 500 at 32x32
        nn.ReLU(inplace=True),
        nn.Dropout(dropout) if dropout > 0 else nn.Identity(),
    )
    return Classifier(body, nn.Linear(hidden, n_classes))


@register_model("resnet20", min_size=5)
def _resnet20(in_shape, n_classes, *, depth=20, width=16):
    """CIFAR ResNet (He et al. 2016): 3x3 stem, 3 stages of (depth-2)/6 basic blocks, global avg-pool, head.

    Stages have ``width``, ``2*width`` and ``4*width`` channels; stages 2 and 3 halve H and W (stride 2).
    Shortcuts are identities, or 1x1 conv + BN projections where the shape changes ("option B"; the paper's CIFAR
    nets use zero-padding, "option A", which has no parameters). Convolutions use Kaiming-normal init (fan-out).
    At depth 20, width 16 and 10 classes this has 272,474 parameters. ``min_size`` 5 keeps the last feature map
    at least 2x2 (5 -> 3 -> 2), so BatchNorm sees more than one value per channel even at batch size 1.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise HarnessError(
            f"model 'resnet20' option depth={depth!r} invalid; expected 6n+2 with n >= 1, e.g. 20, 32, 44, 56, 110"
        )
    width = _int_option("resnet20", "width", width, 1)
    n = (depth - 2) // 6
    layers: list[nn.Module] = [
        nn.Conv2d(in_shape[0], width, 3, padding=1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(inplace=True),
    ]
    c_in = width
    for stage in range(3):
        c_out = width * 2**stage
        for block in range(n):
            layers.append(_BasicBlock(c_in, c_out, stride=2 if stage > 0 and block == 0 else 1))
            c_in = c_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    model = Classifier(nn.Sequential(*layers), nn.Linear(c_in, n_classes))
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


@register_model("resnet18", min_size=9)
def _resnet18(in_shape, n_classes):
    """torchvision ResNet-18 (random init) for small images: 3x3 stride-1 stem, no max-pool, new head.

    ``min_size`` 9 keeps the last feature map at least 2x2 after the three stride-2 stages (9 -> 5 -> 3 -> 2).
    """
    try:
        from torchvision.models import resnet18
    except ImportError:
        raise HarnessError(f"model 'resnet18' needs torchvision: {install_hint('train')}") from None
    body = resnet18(weights=None)
    body.conv1 = nn.Conv2d(in_shape[0], 64, 3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(body.conv1.weight, mode="fan_out", nonlinearity="relu")
    body.maxpool = nn.Identity()
    head = nn.Linear(body.fc.in_features, n_classes)
    body.fc = nn.Identity()
    return Classifier(body, head)
