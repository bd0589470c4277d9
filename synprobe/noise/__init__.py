"""Label noise: corrupt class labels with a named, seeded, exactly counted noise model.

    >>> import numpy as np
    >>> from synprobe.noise import uniform_other, from_matrix
    >>> y = np.repeat(np.arange(4), 25)                    # 100 labels, 4 classes
    >>> noisy = uniform_other(y, 4, rate=0.2, seed=0)
    >>> int(noisy.flipped.sum()), noisy.rate               # exactly round(0.2 * 100) flips
    (20, 0.2)
    >>> bool(np.all(noisy.observed[noisy.flipped] != noisy.true[noisy.flipped]))
    True
    >>> T = np.array([[0.8, 0.2, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    >>> from_matrix(y, 4, T, seed=0).transition()[0].tolist()   # T[true, noisy], row-stochastic
    [0.8, 0.2, 0.0, 0.0]

Conventions (see docs/noise.md):

- Every matrix is **row-stochastic** and indexed ``T[true, noisy]`` (Co-teaching, ELR, DivideMix),
  not cleanlab's column-stochastic ``noise_matrix[noisy][true]``.
- ``rate`` is a fraction in [0, 1]. Exact models flip exactly ``flip_count(rate, n)`` =
  ``floor(rate * n + 0.5)`` samples (half rounds up), chosen without replacement; with
  ``stratify=True`` each class gets its largest-remainder share of that total.
- ``flipped`` is always ``observed != true``; a resampled label that lands on the true class is
  not a flip (unlike ELR's ``noise_indx``).
- Randomness comes only from ``seed`` (an int >= 0 or a tuple of them, e.g. ``(seed, task)``),
  through ``numpy.random.default_rng`` / ``SeedSequence``; the same call gives the same labels.

The models live in ``_conditional.py`` and ``_instance.py``, each registered by name in
:data:`MODELS` where it is defined (``_registry.py``); ``_core.py`` holds the result type, the errors,
validation and the exact counting.
"""

from __future__ import annotations

from synprobe.noise._conditional import asymmetric, from_matrix, pair_flip, uniform_all, uniform_other
from synprobe.noise._core import NoiseError, NoisyLabels, flip_count
from synprobe.noise._instance import attribute_dependent, confusion_from_prototypes, difficulty, instance_dependent
from synprobe.noise._registry import MODELS, apply_noise

__all__ = [
    "MODELS",
    "NoiseError",
    "NoisyLabels",
    "apply_noise",
    "asymmetric",
    "attribute_dependent",
    "confusion_from_prototypes",
    "difficulty",
    "flip_count",
    "from_matrix",
    "instance_dependent",
    "pair_flip",
    "uniform_all",
    "uniform_other",
]
