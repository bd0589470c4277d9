"""The noise models by name: :data:`MODELS`, filled by the :func:`noise_model` decorator where each model
is defined, and :func:`apply_noise`, which runs one by name (recipes and the command line use it)."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from synprobe.errors import did_you_mean
from synprobe.noise._core import NoiseError, NoisyLabels

# model name -> model function, in the order the models are defined (error messages list them so)
MODELS: dict[str, Callable[..., NoisyLabels]] = {}


def noise_model(fn: Callable[..., NoisyLabels]) -> Callable[..., NoisyLabels]:
    """Register ``fn`` in :data:`MODELS` under its function name; returns it unchanged."""
    MODELS[fn.__name__] = fn
    return fn


def apply_noise(model: str, labels, n_classes: int, **kw) -> NoisyLabels:
    """Run the noise model named ``model`` (a key of :data:`MODELS`) with keyword arguments ``kw``.

    >>> apply_noise("pair_flip", [0, 1, 2, 3], 4, rate=0.5, seed=1).n_flipped
    2
    """
    fn = MODELS.get(model)
    if fn is None:
        hint = did_you_mean(str(model), list(MODELS))
        raise NoiseError(f"model: unknown {model!r}{hint}; expected one of {', '.join(MODELS)}")
    try:
        inspect.signature(fn).bind(labels, n_classes, **kw)
    except TypeError as e:
        accepted = [p for p in inspect.signature(fn).parameters if p not in ("labels", "n_classes")]
        raise NoiseError(f"{model}: {e}; accepted arguments: {', '.join(accepted)}") from None
    return fn(labels, n_classes, **kw)
