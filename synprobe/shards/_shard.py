"""Shard files: rows [a, b) of a recipe, rendered and written with their checksums.

A shard is a small HDF5 file (``synprobe-shard/1``), not a dataset: ``x`` (and ``mask``) for its
rows, ``attrs/<name>`` the attribute table as sampled (unsqueezed), ``y`` the rows' JSON labels as
one uint8 block of NUL-terminated objects (:func:`synprobe.render.labels.y_json`), and a root
attribute ``shard``: JSON naming the run (recipe, seed, n, fonts, versions), the rows and a sha256
per dataset. Rows are a pure function of (recipe, seed, row), so a shard rendered anywhere holds
the rows a local run would write; :func:`synprobe.shards.merge_shards` puts them into one file.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from synprobe._version import __version__
from synprobe.errors import FormatError, SynprobeError
from synprobe.fonts import FontRegistry
from synprobe.generator import GlyphStore, check_arguments, render_samples
from synprobe.io.h5 import SAMPLES_VERSION
from synprobe.recipe import recipe_json, resolve_recipe
from synprobe.render.compose import Renderer
from synprobe.render.glyphs import ATLAS_MAX_LEVEL
from synprobe.render.labels import y_json
from synprobe.sampling import Vocab

__all__ = [
    "SHARD_FORMAT",
    "Shard",
    "ShardInfo",
    "generate_shard",
    "load_shard",
    "read_shard",
    "render_shard",
    "shard_ranges",
    "verify_shard",
    "write_shard",
]

SHARD_FORMAT = "synprobe-shard/1"
RUN_KEYS = ("recipe", "seed", "n", "fonts_manifest_sha256", "synprobe_version", "samples_version")


@dataclass(frozen=True)
class ShardInfo:
    """What a shard file says about itself (its ``shard`` attribute): the run it belongs to
    (``run``: the :data:`RUN_KEYS`), its rows [start, stop) and a sha256 per dataset."""

    path: Path
    start: int
    stop: int
    run: dict
    checksums: dict

    @property
    def n(self) -> int:
        return self.run["n"]

    @property
    def seed(self) -> int:
        return self.run["seed"]


@dataclass
class Shard:
    """Rendered rows in memory: what a worker (a Ray task) hands back to be written."""

    run: dict
    start: int
    stop: int
    arrays: dict  # dataset path in the shard file -> array
    checksums: dict


def shard_ranges(n: int, rows: int) -> list[tuple[int, int]]:
    """[start, stop) of each shard of ``rows`` rows (the last one shorter) covering 0..n."""
    return [(a, min(a + rows, n)) for a in range(0, n, rows)]


def _sha256(a: np.ndarray) -> str:
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(memoryview(np.ascontiguousarray(a)).cast("B"))
    return h.hexdigest()


_RENDERERS: dict = {}  # canonical recipe JSON -> (renderer, glyph store): kept between shards of a process


def _renderer(rc_json: str, registry=None):
    """The process's renderer of a recipe; its glyph atlas is this machine's (loaded once, topped
    up after each shard), so every node of a cluster rasterises a glyph at most once."""
    hit = _RENDERERS.get(rc_json)
    if hit is None or (registry is not None and hit[0].registry is not registry):
        rc = resolve_recipe(json.loads(rc_json))
        registry = FontRegistry.load() if registry is None else registry
        renderer = Renderer(rc, registry=registry, vocab=Vocab.build(rc, registry))
        hit = (renderer, GlyphStore(renderer))
        _RENDERERS.clear()  # one recipe at a time: atlases are large
        _RENDERERS[rc_json] = hit
    return hit


SAVE_GLYPHS, SAVE_SECONDS = 5000, 30.0  # when a worker saves its atlas (a whole rewrite: ~80 MB for default)


def _save_atlas(store) -> None:
    """Save the glyphs this process rasterised to the machine's atlas, for the next shards and runs
    on it: once there are many new ones, or some after a while. A Ray worker has no end to save
    at, and rewriting the atlas after every shard of a cold run costs more than it saves."""
    new = store.glyphs.count(ATLAS_MAX_LEVEL) - store.kept
    now = time.monotonic()
    if new >= SAVE_GLYPHS or (new > 0 and now - _SAVED.get(id(store), 0.0) >= SAVE_SECONDS):
        store.save()
        _SAVED.clear()
        _SAVED[id(store)] = now


_SAVED: dict = {}  # id(glyph store) -> when it was last saved


def render_shard(recipe, n: int, start: int, stop: int, *, seed: int = 0, resolution=None, registry=None) -> Shard:
    """Render rows [start, stop) of an ``n``-row run of ``recipe`` (as :func:`synprobe.generator.generate`
    takes it) in memory, with their checksums."""
    check_arguments(n, seed, None)
    if not (isinstance(start, int) and isinstance(stop, int) and 0 <= start < stop <= n):
        raise SynprobeError(f"rows [{start}, {stop}): expected 0 <= start < stop <= n = {n}")
    rc_json = recipe_json(resolve_recipe(recipe, resolution))
    renderer, store = _renderer(rc_json, registry)
    index = np.arange(start, stop, dtype=np.int64)
    table, x, m = render_samples(renderer, seed, index)
    y = y_json(renderer, table, seed, index)
    _save_atlas(store)
    arrays = {"x": x, "y": np.frombuffer(y, np.uint8), **{f"attrs/{k}": v for k, v in table.items()}}
    if m is not None:
        arrays["mask"] = m
    run = {
        "recipe": rc_json,
        "seed": seed,
        "n": n,
        "fonts_manifest_sha256": renderer.vocab.fonts_sha256,
        "synprobe_version": __version__,
        "samples_version": SAMPLES_VERSION,
    }
    return Shard(run, start, stop, arrays, {k: _sha256(a) for k, a in arrays.items()})


def write_shard(path, shard: Shard) -> Path:
    """Write a rendered shard to ``path`` atomically (a shard file exists only once complete)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with h5py.File(tmp, "w", libver=("v110", "v110"), track_order=False) as f:
            for name, a in shard.arrays.items():
                f.create_dataset(name, data=a)
            f.attrs["shard"] = json.dumps(
                {
                    "format": SHARD_FORMAT,
                    **shard.run,
                    "start": shard.start,
                    "stop": shard.stop,
                    "checksums": shard.checksums,
                },
                sort_keys=True,
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def generate_shard(
    recipe, n: int, start: int, stop: int, out, *, seed: int = 0, resolution=None, registry=None
) -> ShardInfo:
    """Render rows [start, stop) of an ``n``-row run of ``recipe`` into the shard file ``out``.

    The rows are those :func:`synprobe.generator.generate` writes for the same (recipe, seed, n);
    :func:`synprobe.shards.merge_shards` joins shards covering 0..n into that same file.
    """
    out = Path(out)
    if not out.parent.is_dir():
        raise SynprobeError(f"{out.parent}: output folder does not exist")
    write_shard(out, render_shard(recipe, n, start, stop, seed=seed, resolution=resolution, registry=registry))
    return read_shard(out)


def read_shard(path) -> ShardInfo:
    """A shard file's header; one line (:class:`FormatError`) when ``path`` is not a shard."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("shard")
        meta = json.loads(raw)
        if meta.get("format") != SHARD_FORMAT:
            raise ValueError(meta.get("format"))
        return ShardInfo(
            path, int(meta["start"]), int(meta["stop"]), {k: meta[k] for k in RUN_KEYS}, dict(meta["checksums"])
        )
    except FileNotFoundError:
        raise SynprobeError(f"{path}: no such shard file") from None
    except (OSError, TypeError, ValueError, KeyError):
        raise FormatError(f"{path}: not a synprobe shard file ({SHARD_FORMAT}), or a damaged one") from None


def load_shard(info: ShardInfo, verify: bool = True) -> dict:
    """Every dataset of a shard, checked against its checksums (:class:`FormatError` if one differs;
    ``verify=False`` skips the hashing, 7 µs per 4 KB image, for shards just checked or written)."""
    try:
        with h5py.File(info.path, "r") as f:
            arrays = {name: f[name][()] for name in info.checksums}
    except (OSError, KeyError):
        raise FormatError(f"{info.path}: damaged shard file (a dataset cannot be read)") from None
    for name, a in arrays.items():
        if verify and _sha256(a) != info.checksums[name]:
            raise FormatError(f"{info.path}: damaged shard file ({name} does not match its checksum)")
    rows = info.stop - info.start
    if any(len(a) != rows for name, a in arrays.items() if name != "y"):
        raise FormatError(f"{info.path}: damaged shard file (datasets of another length than its rows)")
    return arrays


def verify_shard(path) -> ShardInfo | None:
    """The shard's header if every dataset matches its checksum, else None (missing, damaged)."""
    try:
        info = read_shard(path)
        load_shard(info)
        return info
    except SynprobeError:
        return None
