"""Dataset generation: recipe -> HDF5 file, in parallel, resumable, byte-for-byte reproducible.

    >>> from synprobe.generator import generate
    >>> generate("default", n=1000, out="default.h5", seed=0)        # doctest: +SKIP

How it runs (sections below follow this order):

1. setup    validate the recipe, build the sampling tables, open ``OUT.partial/``
2. generate worker processes render chunks of ``chunk`` samples and write their pixels and
            attribute columns straight into the output file ``.OUT.tmp`` (every dataset is laid
            out when the file is created; compressed pixels go to raw arrays in ``OUT.partial/``
            instead), then save each chunk's table and labels under ``OUT.partial/chunks/``
            (written atomically: a chunk file exists only once its rows are in place). After
            ``kill -9``, ``--resume`` renders only missing chunks.
3. write    meanwhile the parent writes the JSON labels ``y`` (and compressed pixels) of finished
            chunks, in order; at the end it adds the default splits and provenance, marks the file
            complete, renames it to ``OUT`` and removes ``OUT.partial/``.

Sample i is a pure function of (recipe, seed, i), so the bytes do not depend on the number of
workers, the chunk size or where a run was resumed.
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import errno
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synprobe._version import __version__
from synprobe.config import glyph_cache_dir
from synprobe.errors import SynprobeError
from synprobe.fonts import FontRegistry
from synprobe.io.assemble import Assembler, column_schema, slab_rows
from synprobe.io.h5 import read_info
from synprobe.io.lock import output_lock
from synprobe.io.partial import WorkDir, image_shape
from synprobe.paths import format_size
from synprobe.recipe import Recipe, recipe_json, resolve_recipe
from synprobe.render.compose import Renderer
from synprobe.render.glyphs import ATLAS_FORMAT, ATLAS_MAX_LEVEL, RENDER_VERSION, load_atlas, save_atlas
from synprobe.render.labels import y_json
from synprobe.sampling import Vocab
from synprobe.splits import DEFAULT_SPLITS, default_splits, split_attrs

__all__ = [
    "GenerateResult", "GlyphStore", "WriteMode", "check_arguments", "check_output", "file_default_splits", "generate",
    "render_samples", "run_meta",
]  # fmt: skip

MAX_SAMPLES = 10**12  # far beyond any disk; larger values overflow HDF5's dimensions
BATCH_PIXELS = 8 << 20  # pixels rendered per call of the compiled kernels (amortises Python overhead)


@dataclass(frozen=True)
class GenerateResult:
    path: Path
    n: int
    seconds: float
    images_per_s: float
    resumed_chunks: int


class WriteMode(enum.Enum):
    """What a run does with an output that is already there (``OUT``) and with an unfinished run
    (``OUT.partial/``): the ``--resume`` / ``--overwrite`` flags, as one value (cf. huggingface
    datasets' ``DownloadMode``). The rules, in full: docs/format.md, "Rules when starting a run"."""

    NEW = "new"  # refuse OUT and OUT.partial/
    RESUME = "resume"  # finish OUT.partial/ (it must be there); refuse OUT
    OVERWRITE = "overwrite"  # replace OUT; discard OUT.partial/
    RESUME_OVERWRITE = "resume+overwrite"  # finish OUT.partial/ (it must be there), then replace OUT

    @classmethod
    def of(cls, resume: bool, overwrite: bool) -> WriteMode:
        """The mode of the two flags (the public ``generate`` and the CLI take flags)."""
        return {(False, False): cls.NEW, (True, False): cls.RESUME, (False, True): cls.OVERWRITE,
                (True, True): cls.RESUME_OVERWRITE}[bool(resume), bool(overwrite)]

    @property
    def resumes(self) -> bool:
        return self in (WriteMode.RESUME, WriteMode.RESUME_OVERWRITE)

    @property
    def replaces(self) -> bool:
        return self in (WriteMode.OVERWRITE, WriteMode.RESUME_OVERWRITE)


# --------------------------------------------------------------------------- setup


def _check_int(value, name: str, lo: int, hi: int | None, expected: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < lo or (hi is not None and value > hi):
        raise SynprobeError(f"{name}: expected {expected}, got {value!r}")


def check_arguments(n, seed, compression) -> None:
    """One line for a bad ``-n``, ``--seed`` or ``--compression`` (also checked by the sharded runs)."""
    _check_int(n, "-n", 1, MAX_SAMPLES, f"an integer from 1 to {MAX_SAMPLES:,}")
    _check_int(seed, "--seed", 0, 2**63 - 1, "an integer in 0..2**63-1")
    if compression not in (None, "lzf", "gzip"):
        raise SynprobeError(f"--compression: unknown {compression!r}; expected one of 'lzf', 'gzip'")


def check_output(out) -> Path:
    """The output path, once its folder is known to exist and to take files."""
    out = Path(out)
    if not out.parent.exists():
        raise SynprobeError(f"{out.parent}: output folder does not exist")
    _check_writable(out.parent)
    return out


def run_meta(recipe: Recipe, n: int, seed: int, vocab: Vocab, chunk: int, compression) -> dict:
    """A run's arguments as ``OUT.partial/meta.json`` records them; the provenance comes from it."""
    return {
        "recipe": recipe_json(recipe),
        "n": n,
        "seed": seed,
        "chunk": chunk,
        "compression": compression,
        "fonts_manifest_sha256": vocab.fonts_sha256,
        "synprobe_version": __version__,
    }


# --------------------------------------------------------------------------- generate (workers)

_STATE: dict = {}


def _init_worker(renderer, seed: int, work: WorkDir, report: bool = True) -> None:
    """``report``: send the glyphs each chunk rasterised back to the parent (worker processes; the
    parent's own renderer already holds them)."""
    if report:
        _die_with_parent()
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C (see _CtrlC)
    _STATE.clear()
    _STATE.update(renderer=renderer, seed=seed, work=work, buffers={},
                  reported=len(renderer.glyphs) if report else None)


class _CtrlC:
    """Ctrl-C during a run, taken between chunks. Python raises KeyboardInterrupt wherever the
    interpreter happens to be, and one raised inside a finaliser or a weakref callback (HDF5 and
    numpy objects are collected all the time) is printed and dropped: the run went on to the end.
    So the first SIGINT only sets a flag that the run checks after every chunk (within ~0.5 s); a
    second one interrupts at once. Worker processes ignore SIGINT: the parent stops them."""

    def __enter__(self):
        self.hit = False
        self.old = None
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self.old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.hit:
            raise KeyboardInterrupt
        self.hit = True
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C: at once

    def check(self) -> None:
        if self.hit:
            raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)
        return False


def _die_with_parent() -> None:
    """A worker process gets SIGKILL when its parent dies (Linux), so that killing the parent
    alone leaves no workers writing chunks of a run nobody owns any more."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl
        os._exit(1)


def _discard_tmp(out: Path) -> None:
    """Remove the files an unfinished run kept beside ``out`` (its output under construction)."""
    tmp = out.with_name(f".{out.name}.tmp")
    for p in (tmp, tmp.with_name(tmp.name + ".old")):
        p.unlink(missing_ok=True)


class GlyphStore:
    """The on-disk glyph atlas of a run: loaded before the workers start, topped up with the glyphs
    they rasterise (each chunk's new glyphs travel back with its result), saved at the end.

    Workers rasterise missing glyphs themselves, when first needed: no serial pass over the
    dataset before rendering starts.
    """

    def __init__(self, renderer):
        self.glyphs = renderer.glyphs
        self.path = _atlas_path(renderer)
        if self.path is not None and self.path.exists():
            packed = load_atlas(self.path)
            if packed is not None:
                self.glyphs.add(packed)
        self.kept = self.glyphs.count(ATLAS_MAX_LEVEL)  # what the file already holds

    def add(self, packed: dict | None) -> None:
        if packed is not None:
            self.glyphs.add(packed)

    def save(self) -> None:
        if self.path is not None and self.glyphs.count(ATLAS_MAX_LEVEL) > self.kept:
            try:
                save_atlas(self.path, self.glyphs.export(max_level=ATLAS_MAX_LEVEL))
                self.kept = self.glyphs.count(ATLAS_MAX_LEVEL)  # saved once (a shard driver saves after each shard)
            except OSError:
                pass  # a read-only cache folder only costs speed


def _atlas_path(renderer) -> Path | None:
    """On-disk atlas of this recipe's fonts: keyed by rasteriser version and font file hashes."""
    root = glyph_cache_dir()
    if root is None:
        return None
    reg = renderer.registry
    files = []
    for f in renderer.vocab.fonts:
        e = reg.entry(f)
        files.append((f, e.sha256, reg.entry(e.bold).sha256 if e.bold else None))
    key = json.dumps([RENDER_VERSION, ATLAS_FORMAT, files]).encode()
    return root / f"atlas-{hashlib.sha256(key).hexdigest()[:24]}.npz"


def render_samples(renderer, seed: int, index: np.ndarray, x_out=None, m_out=None):
    """Sample and render ``index`` in batches; returns (attribute table, x, masks)."""
    table = renderer.sample(seed, index)
    n = len(index)
    h, w, c = image_shape(renderer.recipe)
    x = x_out if x_out is not None else np.empty((n, h, w, c), np.uint8)
    S = renderer.recipe.max_symbols
    m = m_out if (m_out is not None or not renderer.recipe.masks) else np.empty((n, h, w, S), np.uint8)
    batch = max(BATCH_PIXELS // (h * w), 16)
    for a in range(0, n, batch):
        b = min(a + batch, n)
        rows = {k: v[a:b] for k, v in table.items()}
        renderer.render(rows, seed, index[a:b], x[a:b], None if m is None else m[a:b])  # in place
    return table, x, m


def _run_chunk(args) -> tuple[int, int, dict | None, bytes]:
    k, start, stop = args
    st = _STATE
    work: WorkDir = st["work"]
    n = stop - start
    h, w, c = work.shape
    bufs = st["buffers"]  # reused between chunks: no first-touch page faults
    if bufs.get("n") != n:
        bufs.update(n=n, x=np.empty((n, h, w, c), np.uint8),
                    m=np.empty((n, h, w, work.slots), np.uint8) if work.slots else None)
    index = np.arange(start, stop, dtype=np.int64)
    table, x, m = render_samples(st["renderer"], st["seed"], index, bufs["x"], bufs["m"])
    work.write_pixels("x", start, x)
    if m is not None:
        work.write_pixels("mask", start, m)
    work.write_columns(start, table)
    y = y_json(st["renderer"], table, st["seed"], index)
    if st["reported"] is not None:  # a worker process: the labels go to the parent through a file
        with open(work.labels_file(k), "wb") as f:
            f.write(y)
        y = None
    work.save_chunk(k, table, x, m)  # the chunk's record: exists only once its pixels and columns are written
    glyphs, new = st["renderer"].glyphs, None  # glyphs rasterised for this chunk go back to the parent's atlas
    if st["reported"] is not None and len(glyphs) > st["reported"]:
        new = glyphs.export(since=st["reported"], max_level=ATLAS_MAX_LEVEL)
        st["reported"] = len(glyphs)
    return k, stop - start, new, y  # the parent writes the labels (y, or the chunk's labels file)


# --------------------------------------------------------------------------- driver


def generate(
    recipe,
    n: int,
    out,
    *,
    seed: int = 0,
    workers: int | None = None,
    resolution=None,
    resume: bool = False,
    overwrite: bool = False,
    compression: str | None = None,
    chunk: int | None = None,
    progress: bool = False,
    registry=None,
) -> GenerateResult:
    """Generate ``n`` samples of ``recipe`` into the HDF5 file ``out``.

    Args:
        recipe: bundled name, TOML path, dict or :class:`~synprobe.recipe.Recipe`.
        n: number of samples (>= 1).
        out: output path (``.h5``).
        seed: dataset seed (>= 0).
        workers: processes (default: all cores); 1 renders in this process.
        resolution: override the recipe's resolution (int or (H, W)).
        resume: finish an interrupted run found in ``OUT.partial/``.
        overwrite: replace an existing ``out`` / discard an unfinished run.
        compression: None (fastest), "lzf" or "gzip".
        chunk: samples per work unit (default: about 16 MB of pixels).
        progress: show a progress bar with images/s and ETA.
    """
    t0 = time.perf_counter()
    mode = WriteMode.of(resume, overwrite)
    check_arguments(n, seed, compression)
    rc = resolve_recipe(recipe, resolution)
    registry = FontRegistry.load() if registry is None else registry
    vocab = Vocab.build(rc, registry)
    # the default work unit is one slab of the writer: ~16 MB of pixels, whole HDF5 chunks (fewer,
    # larger batches: Python's overhead per call is 1 us/image at 4 MB)
    chunk = slab_rows(*image_shape(rc)) if chunk is None else chunk
    _check_int(chunk, "chunk", 1, None, "a positive integer")
    workers = (os.cpu_count() or 1) if workers is None else workers
    _check_int(workers, "--workers", 1, None, "a positive integer")
    out = check_output(out)
    meta = run_meta(rc, n, seed, vocab, chunk, compression)
    renderer = Renderer(rc, registry=registry, vocab=vocab)
    first = renderer.sample(seed, np.arange(1))  # the first row: sizes for the space check, caches, columns
    tail = _check_space(out, rc, meta, renderer, first, mode)
    with output_lock(out):  # one writer per output, for the whole run
        work = _open_work(out, rc, meta, mode)
        with _disk_full_hint(out):
            resumed = _render_and_write(work, out, renderer, first, registry, meta, workers, progress, tail)
        shutil.rmtree(work.root, ignore_errors=True)
    dt = time.perf_counter() - t0
    return GenerateResult(out, n, dt, n / dt, resumed)


@contextlib.contextmanager
def _disk_full_hint(out: Path):
    """A disk that fills up during the run: one line saying how to finish it."""
    try:
        yield
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise SynprobeError(f"{out.parent}: the disk filled up during the run ({e.strerror}); free some "
                            "space, then run the same command with --resume (finished chunks are kept)") from None


def _open_work(out: Path, rc: Recipe, meta: dict, mode: WriteMode) -> WorkDir:
    """The run's ``OUT.partial/`` folder: created, kept (resumed, same arguments) or started again
    (overwritten); anything else that is there is refused with one line saying what to pass."""
    if out.exists() and not mode.replaces:
        if mode.resumes and _is_dataset(out):  # only a finished run renames its file into place
            raise SynprobeError(f"{out}: already complete, nothing to resume; use it as it is, or pass --overwrite "
                                "instead of --resume to generate it again")
        raise SynprobeError(f"{out}: already exists; pass --overwrite to replace it")
    if out.exists() and not out.is_file():
        raise SynprobeError(f"{out}: not a regular file; --overwrite only replaces a dataset file")
    work = WorkDir(out.with_name(out.name + ".partial"), rc, meta["n"], meta["chunk"],
                   direct=meta["compression"] is None)
    if work.root.exists():
        old = work.meta()
        if mode.resumes and old is not None:
            diff = [k for k in meta if k != "synprobe_version" and old.get(k) != meta[k]]
            if diff:
                raise SynprobeError(f"{work.root}: cannot resume, the run was started with a different {diff[0]}; "
                                    "pass the same arguments or --overwrite")
            return work
        if mode is WriteMode.NEW:
            raise SynprobeError(f"{work.root}: an unfinished run is there; pass --resume to finish it "
                                "or --overwrite to start again")
        shutil.rmtree(work.root)  # --overwrite, or --resume of a run that never wrote its meta.json
        _discard_tmp(out)
    elif mode.resumes:
        raise SynprobeError(f"{work.root}: nothing to resume; run without --resume")
    work.create(meta)
    return work


def _is_dataset(path: Path) -> bool:
    """True when ``path`` is a complete, readable dataset file."""
    try:
        read_info(path)
    except SynprobeError:
        return False
    return True


def _render_and_write(work: WorkDir, out: Path, renderer, first: dict, registry, meta: dict, workers: int,
                      progress: bool, tail: int) -> int:
    """Render the chunks the work folder does not hold yet and assemble the output file (``tail``:
    bytes to reserve past the laid-out datasets); returns how many chunks an interrupted run had
    finished."""
    seed, n, chunk = meta["seed"], meta["n"], meta["chunk"]
    rc, vocab = renderer.recipe, renderer.vocab

    def labels(table: dict, start: int) -> bytes:  # y of a chunk replayed from its table (--resume)
        return y_json(renderer, table, seed, np.arange(start, start + len(table["n_symbols"]), dtype=np.int64))

    asm = Assembler(work, out, vocab, meta["compression"], column_schema(first), labels, tail)  # checks done chunks
    resumed = len(work.done())
    todo = [(k, a, min(a + chunk, n)) for k, a in enumerate(range(0, n, chunk)) if k not in work.done()]
    workers = min(workers, max(len(todo), 1))
    bar = _progress(n, n - sum(b - a for _, a, b in todo), progress)
    try:
        with _CtrlC() as ctrl_c:
            for k in sorted(work.done()):  # replay what an interrupted run finished
                asm.add(k)
            store = GlyphStore(renderer)
            if workers == 1:
                _init_worker(renderer, seed, work, report=False)
                for job in todo:
                    k, done, _, y = _run_chunk(job)
                    asm.add(k, y)
                    bar.update(done)
                    ctrl_c.check()
            else:
                # fill the per-process caches once, before forking (compiled kernels, built on a first
                # run; noise table; label fragments): workers inherit them
                renderer.render(first, seed, np.arange(1))
                y_json(renderer, first, seed, np.arange(1))
                ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
                with ctx.Pool(workers, _init_worker, (renderer, seed, work)) as pool:
                    for k, done, new, _ in pool.imap_unordered(_run_chunk, todo):
                        store.add(new)
                        asm.add(k, work.labels_file(k))
                        bar.update(done)
                        ctrl_c.check()
            asm.finish(meta, rc, registry, file_default_splits(asm.file, seed))
        store.save()
    except BaseException:
        asm.abort()
        raise
    finally:
        bar.close()
        _STATE.clear()
    return resumed


def file_default_splits(f, seed: int) -> dict[str, tuple[np.ndarray, dict]]:
    """Synbols' four default splits of the file's rows, with the attributes each is stored with."""
    return {name: (m, split_attrs(*DEFAULT_SPLITS[name], seed=seed))
            for name, m in default_splits(f, seed=seed).items()}


def _check_writable(folder: Path) -> None:
    """One line, before any work, when the output folder takes no files (e.g. /proc)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise SynprobeError(f"{folder}: cannot write the output there ({e.strerror or e}); choose another "
                            "folder with -o") from None


def _check_space(out: Path, rc: Recipe, meta: dict, renderer, first: dict, mode: WriteMode) -> int:
    """Refuse a run whose file cannot fit on the disk, before anything is created: pixels, masks,
    attribute columns and labels (as long as the first sample's, +16 bytes of HDF5 heap each);
    compressed runs also keep the raw pixels in ``OUT.partial/`` until they finish. Returns the
    bytes HDF5 will append past the laid-out datasets (labels; compressed pixels), +25%."""
    label = len(y_json(renderer, first, meta["seed"], np.arange(1))) + 16
    h, w, c = image_shape(rc)
    pixels = h * w * (c + (rc.max_symbols if rc.masks else 0))
    columns = sum(a.itemsize * int(np.prod(a.shape[1:])) for a in first.values())
    n, direct = meta["n"], meta["compression"] is None
    need = n * (pixels + columns + label + (0 if direct else pixels))
    free = shutil.disk_usage(out.parent).free
    if need > free:
        hint = ("; a resume needs room for a second copy of the unfinished file while it copies from it: free "
                "space, or pass --overwrite to start again" if mode.resumes else "")
        raise SynprobeError(f"{out.parent}: not enough free disk space: {n:,} samples need about "
                            f"{format_size(need)}, {format_size(free)} is free{hint}")
    return int(1.25 * n * (label + (0 if direct else pixels))) + (1 << 20)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, initial: int, enabled: bool):
    if not enabled:
        return _NoBar()  # tqdm's import alone is 20 ms
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="img", unit_scale=True,
                dynamic_ncols=True, smoothing=0.1, desc="generate")
