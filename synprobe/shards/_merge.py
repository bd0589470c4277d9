"""The merge: shard files covering rows 0..n -> one format-v1 dataset file.

The merge is a copy through the same :class:`synprobe.io.assemble.Assembler` a local run writes
with: pixels and columns at their fixed offsets, the labels in slabs of fixed size, then the
default splits (computed over the merged file, as a local run computes them) and the provenance.
The HDF5 calls are therefore the ones a local run makes, and the bytes are the same (with
``SOURCE_DATE_EPOCH`` set, as for two local runs).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from synprobe._version import __version__
from synprobe.errors import SynprobeError
from synprobe.fonts import FontRegistry
from synprobe.generator import GenerateResult, check_arguments, check_output, file_default_splits, run_meta
from synprobe.io.assemble import Assembler, column_schema, slab_rows
from synprobe.io.h5 import SAMPLES_VERSION
from synprobe.io.lock import output_lock
from synprobe.io.partial import WorkDir, image_shape
from synprobe.recipe import resolve_recipe
from synprobe.render.labels import label_starts
from synprobe.sampling import Vocab
from synprobe.shards._shard import RUN_KEYS, ShardInfo, load_shard, read_shard, shard_ranges

__all__ = ["check_cover", "check_no_local_run", "merge_shards", "shard_files"]

_WHAT = {
    "recipe": "recipe",
    "seed": "seed",
    "n": "n",
    "fonts_manifest_sha256": "fonts",
    "synprobe_version": "synprobe version",
    "samples_version": "samples version",
}


def shard_files(shards) -> list[Path]:
    """The shard paths: a folder stands for the ``*.h5`` files in it."""
    if isinstance(shards, (str, os.PathLike)) and Path(shards).is_dir():
        return sorted(Path(shards).glob("*.h5"))
    return [Path(p) for p in shards]


def check_cover(infos: list[ShardInfo]) -> list[ShardInfo]:
    """The shards in row order, once they are known to be of one run and to cover rows 0..n exactly
    once; else one line naming the shard (another run, an overlap) or the rows no shard holds."""
    if not infos:
        raise SynprobeError("no shard files to merge")
    first = infos[0]
    for s in infos[1:]:
        key = next((k for k in RUN_KEYS if s.run[k] != first.run[k]), None)
        if key is not None:
            raise SynprobeError(
                f"{s.path}: a shard of another run than {first.path} (its {_WHAT[key]} differs: "
                f"{_short(s.run[key])} != {_short(first.run[key])})"
            )
    done, prev = 0, None
    for s in sorted(infos, key=lambda s: (s.start, s.stop)):
        if s.start < done:
            raise SynprobeError(
                f"{s.path}: rows [{s.start}, {s.stop}) overlap {prev.path} (rows [{prev.start}, "
                f"{prev.stop})); keep one shard per row"
            )
        if s.start > done:
            raise SynprobeError(
                f"rows [{done}, {s.start}) of {first.n} are in no shard; generate them "
                f"(synprobe.shards.generate_shard) before merging"
            )
        done, prev = s.stop, s
    if done != first.n:
        raise SynprobeError(
            f"rows [{done}, {first.n}) of {first.n} are in no shard; generate them "
            f"(synprobe.shards.generate_shard) before merging"
        )
    return sorted(infos, key=lambda s: s.start)


def _short(v) -> str:
    s = str(v)
    return s if len(s) <= 40 else s[:37] + "..."


class _Rows:
    """Rows [a, b) across the shards, in order; each shard is loaded (and checked against its
    checksums) once, when the first of its rows is asked for."""

    def __init__(self, infos: list[ShardInfo], verify: bool):
        self.infos, self.verify, self.i, self.cur = infos, verify, -1, None

    def _shard(self, i: int) -> dict:
        if i != self.i:
            arrays = load_shard(self.infos[i], self.verify)
            y = arrays["y"].tobytes()
            self.i, self.cur = i, (arrays, y, np.append(label_starts(y), len(y)))
        return self.cur

    def rows(self, a: int, b: int) -> tuple[dict, np.ndarray, np.ndarray | None, bytes]:
        parts = []
        for i, s in enumerate(self.infos):
            if s.stop > a and s.start < b:
                arrays, y, starts = self._shard(i)
                lo, hi = max(a, s.start) - s.start, min(b, s.stop) - s.start
                parts.append(({k: v[lo:hi] for k, v in arrays.items() if k != "y"}, y[starts[lo] : starts[hi]]))
        if len(parts) == 1:  # a chunk inside one shard (the default: shards of whole chunks): views, no copy
            cat = parts[0][0]
        else:
            cat = {k: np.concatenate([p[0][k] for p in parts]) for k in parts[0][0]}
        table = {k.removeprefix("attrs/"): v for k, v in cat.items() if k.startswith("attrs/")}
        return table, cat["x"], cat.get("mask"), b"".join(p[1] for p in parts)


def merge_shards(
    shards, out, *, overwrite: bool = False, compression: str | None = None, verify: bool = True, registry=None
) -> GenerateResult:
    """Merge shard files (paths, or a folder of ``*.h5``) covering rows 0..n of one run into the
    dataset file ``out``: the bytes of ``synprobe generate`` with the same recipe, seed and n.

    Args:
        shards: shard files from :func:`synprobe.shards.generate_shard` (any row ranges, in any order).
        out: output path (``.h5``); refused if it exists unless ``overwrite``.
        overwrite: replace ``out`` (and discard an unfinished local run of it, ``OUT.partial/``).
        compression: None, "lzf" or "gzip", as for a local run.
        verify: check every dataset against its shard's sha256 while copying (False: shards this
            process has just verified or written).
    """
    t0 = time.perf_counter()
    infos = check_cover([read_shard(p) for p in shard_files(shards)])
    run = infos[0].run
    if (run["synprobe_version"], run["samples_version"]) != (__version__, SAMPLES_VERSION):
        raise SynprobeError(
            f"{infos[0].path}: written by synprobe {run['synprobe_version']}, this is {__version__}; "
            "merge with the version that rendered the shards"
        )
    n, seed = run["n"], run["seed"]
    check_arguments(n, seed, compression)
    out = check_output(out)
    rc = resolve_recipe(json.loads(run["recipe"]))
    registry = FontRegistry.load() if registry is None else registry
    vocab = Vocab.build(rc, registry)
    if vocab.fonts_sha256 != run["fonts_manifest_sha256"]:
        raise SynprobeError(
            f"{infos[0].path}: rendered with other font files than this machine's "
            "(fonts_manifest_sha256 differs); merge where the same fonts are installed"
        )
    chunk = slab_rows(*image_shape(rc))
    meta = run_meta(rc, n, seed, vocab, chunk, compression)
    with output_lock(out):
        work = _open_work(out, rc, meta, overwrite)
        _copy(work, out, infos, vocab, meta, rc, registry, verify)
        shutil.rmtree(work.root, ignore_errors=True)
    dt = time.perf_counter() - t0
    return GenerateResult(out, n, dt, n / dt, 0)


def _open_work(out: Path, rc, meta: dict, overwrite: bool) -> WorkDir:
    """The merge's work folder (``OUT.partial/``, as a local run's: one file, one writer). An
    interrupted merge's is discarded (a merge is a copy: nothing to keep); a local run's only with
    ``overwrite``."""
    if out.exists() and not overwrite:
        raise SynprobeError(f"{out}: already exists; pass --overwrite to replace it")
    if out.exists() and not out.is_file():
        raise SynprobeError(f"{out}: not a regular file; --overwrite only replaces a dataset file")
    work = WorkDir(
        out.with_name(out.name + ".partial"), rc, meta["n"], meta["chunk"], direct=meta["compression"] is None
    )
    check_no_local_run(out, overwrite)
    if work.root.exists():
        shutil.rmtree(work.root)
    tmp = out.with_name(f".{out.name}.tmp")
    for p in (tmp, tmp.with_name(tmp.name + ".old")):
        p.unlink(missing_ok=True)
    work.create({**meta, "merge": True})
    return work


def check_no_local_run(out: Path, overwrite: bool) -> None:
    """Refuse to discard an unfinished local run of ``out`` (``OUT.partial/``) unless ``overwrite``;
    an interrupted merge's work folder is not one (a merge is a copy: nothing to keep)."""
    root = out.with_name(out.name + ".partial")
    if root.exists() and not overwrite:
        try:
            merge = json.loads((root / "meta.json").read_text()).get("merge")
        except (OSError, ValueError, AttributeError):
            merge = False
        if not merge:
            raise SynprobeError(
                f"{root}: an unfinished local run is there; finish it with --resume "
                "(without --backend ray) or pass --overwrite"
            )


def _no_replay(table, start):  # every chunk's labels come from its shards
    raise AssertionError("a merge never replays chunks")


def _copy(work: WorkDir, out: Path, infos: list[ShardInfo], vocab, meta: dict, rc, registry, verify: bool) -> None:
    """Copy the shards' rows into the file chunk by chunk (slabs of the writer), then finish it."""
    rows = _Rows(infos, verify)
    table, _, _, _ = rows.rows(0, 1)
    h, w, c = work.shape
    pixels = 0 if meta["compression"] is None else meta["n"] * h * w * (c + work.slots)
    tail = int(1.25 * (sum(s.stop - s.start for s in infos) * 700 + pixels)) + (1 << 20)
    asm = Assembler(work, out, vocab, meta["compression"], column_schema(table), _no_replay, tail)
    try:
        for k, (a, b) in enumerate(shard_ranges(meta["n"], meta["chunk"])):
            table, x, m, y = rows.rows(a, b)
            work.write_pixels("x", a, x)
            if m is not None:
                work.write_pixels("mask", a, m)
            work.write_columns(a, table)
            asm.add(k, y)
        asm.finish(meta, rc, registry, file_default_splits(asm.file, meta["seed"]))
    except BaseException:
        asm.abort()
        out.with_name(f".{out.name}.tmp").unlink(missing_ok=True)
        raise
