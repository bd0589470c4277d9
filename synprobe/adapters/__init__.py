"""Streams and dataset files as the objects of other libraries: Avalanche, Continuum, Hugging Face ``datasets``.

    >>> from synprobe.adapters import to_avalanche, to_continuum, to_hf       # doctest: +SKIP
    >>> bm = to_avalanche("s.npz", "d.h5")       # Avalanche 0.6.0 benchmark: train/valid/test streams
    >>> cs = to_continuum("s.npz", "d.h5")       # Continuum 1.2.7 ContinualScenario + val/eval TaskSets
    >>> dd = to_hf("d.h5")                        # datasets.DatasetDict: train/val/test, Image + ClassLabel

Each library is an optional extra (``pip install -e '.[avalanche]'``, ``'.[continuum]'``, ``'.[hf]'``),
imported only when its adapter is called. Classes are relabelled 0..K-1 as ``synprobe run`` does
(``_resolve``); no adapter copies an image per task entry (``_views``). See ``docs/interop.md``.
"""

from __future__ import annotations

from synprobe.adapters._avalanche import to_avalanche
from synprobe.adapters._continuum import ContinuumStreams, to_continuum
from synprobe.adapters._hf import to_hf
from synprobe.adapters._resolve import AdapterError, StreamData, resolve
from synprobe.adapters._views import IndexedRows

__all__ = [
    "AdapterError",
    "ContinuumStreams",
    "IndexedRows",
    "StreamData",
    "resolve",
    "to_avalanche",
    "to_continuum",
    "to_hf",
]
