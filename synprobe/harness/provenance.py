"""The provenance record (``config.json``) of a run folder, built in one place for ``train`` and ``memorization``.

It says what produced the folder: the format, the software versions, the device and precision that ran, the
seed and command line, the training config, the stream and the dataset file (path and sha256); docs/runs.md.
"""

from __future__ import annotations

import platform
from datetime import UTC, datetime

import numpy as np

from synprobe._version import __version__
from synprobe.checksum import file_sha256_cached
from synprobe.harness.config import TrainConfig
from synprobe.harness.errors import need_torch

__all__ = ["run_record"]


def run_record(fmt: str, hw, cfg: TrainConfig, argv, *, stream, source: str, rd, data, extra: dict | None = None,
               stream_extra: dict | None = None) -> dict:
    """The ``config.json`` of a run folder of format ``fmt``.

    Args:
        hw: the :class:`~synprobe.harness.device.Resolved` device and precision.
        stream: the Stream trained on; ``source``: where it came from (a file, a recipe or "stream").
        rd: the stream resolved over ``data`` (:class:`~synprobe.harness.data.RunData`).
        extra: keys written before ``"train"`` (e.g. ``"memorization"``).
        stream_extra: keys of ``"stream"`` written before ``"noisy"`` (e.g. the eval sets' sizes).
    """
    return {
        "format": fmt, "synprobe_version": __version__, "torch_version": need_torch().__version__,
        "numpy_version": np.__version__, "python": platform.python_version(), "device": hw.name,
        "device_used": hw.device.type, "amp_used": hw.amp, "device_note": hw.note, "seed": cfg.seed,
        "created": datetime.now(UTC).isoformat(timespec="seconds"), "argv": argv, **(extra or {}),
        "train": cfg.to_dict(),
        "stream": {"source": source, "kind": stream.spec.get("kind"), "n_tasks": rd.n_tasks, "seed": stream.seed,
                   "spec": stream.spec, "classes": rd.classes, "class_names": rd.class_names,
                   "n_classes": rd.n_classes, **(stream_extra or {}), "noisy": rd.noisy},
        "data": {"file": str(data), "sha256": file_sha256_cached(data), "n_rows": rd.n_file, "target": rd.target,
                 "image_shape": list(rd.x.shape[1:])},
    }
