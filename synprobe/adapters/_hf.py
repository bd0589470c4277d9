"""``to_hf``: a dataset file (its train/val/test parts) or a loaded Dataset as Hugging Face ``datasets`` objects.

Features: ``image`` (``datasets.Image``, PNG-encoded), ``row`` (the file row), every categorical attribute as a
``ClassLabel`` with the file's category names (-1 = no value), every other attribute as a ``Value`` of its
dtype. Built with ``Dataset.from_generator``, which writes Arrow files into the ``datasets`` cache (keyed by the
file's sha256 and the rows): it reads 1,024 rows at a time, so memory stays small whatever the file's size; the
result is memory-mapped from disk. The Arrow files hold PNG-encoded images (about the file's own size).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synprobe.adapters._resolve import AdapterError
from synprobe.checksum import file_sha256_cached
from synprobe.errors import SynprobeError, did_you_mean
from synprobe.load import Dataset, load, read_table

PARTS = ("train", "val", "test")


def _datasets():
    try:
        import datasets
    except ImportError:
        raise SynprobeError(
            "to_hf needs Hugging Face datasets: pip install -e '.[hf]' (from the synprobe checkout)"
        ) from None
    return datasets


def _features(hf, d: Dataset):
    cols = {"image": hf.Image(), "row": hf.Value("int64")}
    for name, v in d.attrs.items():
        if name in d.categories:
            cols[name] = hf.ClassLabel(names=[str(c) for c in d.categories[name]])
        else:
            cols[name] = hf.Value("bool" if v.dtype == bool else str(v.dtype))
    return hf.Features(cols)


CHUNK = 1024  # rows read from the file at a time while writing Arrow


def _examples(d: Dataset):
    gray = d.x.shape[3] == 1
    for i in range(len(d.index)):
        ex = {"image": d.x[i, ..., 0] if gray else d.x[i], "row": int(d.index[i])}
        for name, v in d.attrs.items():
            ex[name] = v[i].item()
        yield ex


def _rows(path: str, rows: np.ndarray, key: str):
    """Examples of file rows ``rows``, read ``CHUNK`` at a time (``key``, the file's sha256, keys the cache)."""
    for i in range(0, len(rows), CHUNK):
        yield from _examples(load(path, "all", rows=rows[i : i + CHUNK]))


def _loaded(dataset: Dataset, key: str):
    """Examples of a loaded Dataset (``key`` names its file version, split and size for the cache)."""
    yield from _examples(dataset)


def to_hf(data, *, split_name: str = "random", parts=PARTS, cache_dir=None):
    """Hugging Face ``datasets`` objects of a dataset file or a loaded :class:`~synprobe.load.Dataset`.

    Args:
        data: a file path: a ``DatasetDict`` with the ``parts`` (train/val/test) of split ``split_name`` that
            hold rows; ``parts="all"``: one ``Dataset`` of every row. A Dataset: one ``Dataset`` of its rows.
        cache_dir: where ``datasets`` writes its Arrow files (None: its default cache).
    """
    hf = _datasets()
    if isinstance(data, Dataset):
        key = f"{file_sha256_cached(Path(data.path))}:{data.split}:{data.split_name}:{len(data)}"
        return hf.Dataset.from_generator(
            _loaded, features=_features(hf, data), cache_dir=cache_dir, gen_kwargs={"dataset": data, "key": key}
        )
    path = Path(data)
    if not path.is_file():
        raise AdapterError(f"data {path}: no such dataset file")
    key = file_sha256_cached(path)
    features = _features(hf, load(path, "all", rows=np.zeros(0, np.int64)))
    n = read_table(path).n
    if parts == "all":
        return _part(hf, path, np.arange(n, dtype=np.int64), key, features, cache_dir, "full")
    bad = [p for p in parts if p not in PARTS]
    if bad:
        raise AdapterError(f"parts: {bad[0]!r} is not a part; expected some of {', '.join(PARTS)}, or 'all'")
    splits = read_table(path).splits
    if split_name not in splits:
        raise AdapterError(
            f"{path}: no split {split_name!r}{did_you_mean(split_name, splits)}; the file's "
            f"splits: {', '.join(sorted(splits)) or 'none'}"
        )
    out = {}
    for p in parts:
        rows = np.flatnonzero(splits[split_name][:, PARTS.index(p)]).astype(np.int64)
        if len(rows):
            out[p] = _part(hf, path, rows, key, features, cache_dir, p)
    return hf.DatasetDict(out)


def _part(hf, path: Path, rows, key: str, features, cache_dir, split):
    """The file rows ``rows`` as one ``datasets.Dataset``."""
    return hf.Dataset.from_generator(
        _rows,
        features=features,
        cache_dir=cache_dir,
        split=split,
        gen_kwargs={"path": str(path), "rows": rows, "key": key},
    )
