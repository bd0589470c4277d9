"""Writing the output file while workers render (see :mod:`synprobe.generator`)."""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import mmap
import os
import platform
import sys
from pathlib import Path

import numpy as np

from synprobe.config import cache_home, created_timestamp, fsync_enabled
from synprobe.errors import SynprobeError
from synprobe.io.h5 import SAMPLES_VERSION, H5Writer, chunk_rows
from synprobe.io.partial import WorkDir, squeeze
from synprobe.paths import fsync_path
from synprobe.recipe import Recipe
from synprobe.render.labels import label_starts
from synprobe.sampling import COLUMNS, Vocab

__all__ = ["Assembler", "column_schema", "slab_rows"]


def _reserve(path: Path, tail: int) -> None:
    """Allocate every disk block the run will write, at once: the whole file as laid out (pixel
    chunks and attribute columns are created sparse) and ``tail`` bytes past its end, kept
    reserved for the labels HDF5 appends there (``FALLOC_FL_KEEP_SIZE``). A disk that fills up
    during the run then cannot fail a write half-way (HDF5 crashed closing such a file); and
    writing into allocated blocks skips ext4's block reservation for every page (measured: 30%
    less system time for 400 MB). A file system without fallocate only loses that; a full one
    is a one-line error before anything is rendered."""
    fallocate = _fallocate()
    if fallocate is None:
        return
    fd = os.open(path, os.O_WRONLY)
    try:  # Linux's fallocate(2) fails where a file system cannot (glibc's posix_fallocate would then
        size = os.fstat(fd).st_size  # write a byte into every block instead)
        for mode, offset, length in ((0, 0, size), (_KEEP_SIZE, size, tail)):
            if length > 0 and fallocate(fd, mode, offset, length) != 0:
                err = ctypes.get_errno()
                if err in (errno.ENOSPC, errno.EDQUOT):
                    raise SynprobeError(f"{path.parent}: not enough free disk space for the output file "
                                        f"({size + tail:,} bytes): {os.strerror(err)}")
                return  # not supported here: best effort
    finally:
        os.close(fd)


_KEEP_SIZE = 1  # FALLOC_FL_KEEP_SIZE: reserve blocks past the end without changing the file size


def _fallocate():
    """libc's ``fallocate(fd, mode, offset, len)`` (Linux), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).fallocate  # the process's own symbols: libc's
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    fn.restype = ctypes.c_int
    return fn


class Assembler:
    """Writes the output file ``.OUT.tmp`` while workers render; only :meth:`finish` marks it
    complete and renames it.

    Every dataset is created when the file is, with a fixed layout: pixels (uncompressed) and
    attribute columns have fixed file offsets, so workers write them straight into the file
    (:meth:`WorkDir.write_pixels`, :meth:`WorkDir.write_columns`) and the parent only writes the
    JSON labels ``y``. Those go in slabs of fixed size (:func:`slab_rows`, a property of the
    image shape only), each written once all its rows are done, in order. The sequence of HDF5
    calls is therefore the same whatever the chunk size, the worker count, the order chunks finish
    in, or whether they are replayed after a resume: the file is byte-identical.

    Args:
        work: the run's work folder.
        out: final output path.
        vocab: sampling tables (category names of the columns).
        compression: None, "lzf" or "gzip" for the images.
        columns: {name: (dtype, row shape)} of the attribute columns, as stored (see
            :func:`column_schema`).
        labels: ``labels(table, start) -> bytes``, the JSON labels of a chunk's attribute table
            (for chunks replayed from their chunk files after a resume).
        labels_bytes: estimated size of what is appended after the datasets (the labels, and the
            compressed pixels), reserved on the disk at the start.
    """

    def __init__(self, work: WorkDir, out: Path, vocab: Vocab, compression, columns: dict, labels,
                 labels_bytes: int = 0):
        self.work, self.out, self.vocab, self.make_labels = work, out, vocab, labels
        self.tmp = out.with_name(f".{out.name}.tmp")
        old = self.tmp.with_name(self.tmp.name + ".old")
        source = _pixels_source(work, self.tmp, old)
        self.writer = w = H5Writer(self.tmp, work.n, work.shape, work.slots or None, compression)
        w.create_y()
        cats = vocab.categories
        for c in COLUMNS:
            if c.name in columns:
                dtype, shape = columns[c.name]
                w.create_column(c.name, shape, dtype, cats.get(c.categories) if c.categories else None, c.doc)
        work.target = self.tmp
        work.columns = {name: (off, columns[name][0]) for name, off in w.column_offsets().items()}
        if work.direct:
            work.layout, work.rows = w.raw_layout(), w.rows
        w.f.flush()
        _reserve(self.tmp, labels_bytes)
        if source is not None:
            self._recover(source)
        elif not work.direct:
            self._verify_store()
        self.slab = slab_rows(*work.shape)
        self.next_chunk = 0  # chunks [0, next_chunk) are done
        self.written = 0  # rows [0, written) have their labels in the file
        self.ready: set[int] = set()
        self.labels: dict[int, tuple[bytes, np.ndarray]] = {}  # chunk -> (label block, object starts)
        self.x, self.m = (None, None) if work.direct else work.arrays("r")

    def _recover(self, old: Path) -> None:
        """Copy the pixels of finished chunks from the interrupted file (same layout: the file is
        created identically every time) into the new one. A chunk whose rows read back short or
        with other checksums than its record (pages lost to a power cut or a full disk) is not
        finished: its record is removed and the chunk is rendered again. ``old`` is removed only
        once every chunk is copied and the copy is on disk (it is the only copy until then)."""
        w = self.work
        src = os.open(old, os.O_RDONLY)
        try:
            for k in sorted(w.done()):
                a, b = k * w.chunk, min((k + 1) * w.chunk, w.n)
                rows = {name: _read_rows(src, w, name, slots, a, b)
                        for name, slots in (("x", w.shape[2]), ("mask", w.slots)) if name in w.layout}
                if all(r is not None and w.pixels_match(k, name, r) for name, r in rows.items()):
                    for name, r in rows.items():
                        w.write_pixels(name, a, r)
                else:
                    w.chunk_file(k).unlink()
        finally:
            os.close(src)
        _fsync(self.tmp)
        old.unlink()

    def _verify_store(self) -> None:
        """Compressed output: keep a finished chunk only if its rows in the raw pixel store match
        its record's checksums (see :meth:`_recover`)."""
        w = self.work
        x, m = w.arrays("r")
        for k in sorted(w.done()):
            a, b = k * w.chunk, min((k + 1) * w.chunk, w.n)
            if not (w.pixels_match(k, "x", x[a:b]) and (m is None or w.pixels_match(k, "mask", m[a:b]))):
                w.chunk_file(k).unlink()
        del x, m

    def add(self, k: int, y: bytes | Path | None = None) -> None:
        """Chunk k is complete on disk: pixels and columns written by its worker, ``y`` its labels
        (see :func:`synprobe.render.labels.y_json`) or the file holding them. Without ``y`` the chunk is
        replayed from its chunk file (after a resume): its columns and labels are made here. Then
        every slab whose rows are all done is written."""
        if y is None:
            table = self.work.load_chunk(k)
            self.work.write_columns(k * self.work.chunk, table)
            y = self.make_labels(table, k * self.work.chunk)
        elif isinstance(y, Path):  # a worker's labels file: mapped, not copied
            with open(y, "rb") as f:
                m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            try:
                os.unlink(y)  # the mapping keeps the data until it is dropped (POSIX)
            except OSError:
                pass  # (elsewhere the file goes with OUT.partial/ at the end)
            y = m
        self.labels[k] = (y, label_starts(y))
        self.ready.add(k)
        while self.next_chunk in self.ready:
            self.ready.discard(self.next_chunk)
            self.next_chunk += 1
        done_rows = min(self.next_chunk * self.work.chunk, self.work.n)
        while self.written < self.work.n and (done_rows - self.written >= self.slab or done_rows == self.work.n):
            self._write(self.written, min(self.written + self.slab, self.work.n))

    def _lines(self, start: int, stop: int) -> tuple[np.ndarray, list[bytes]]:
        """Labels of rows [start, stop) from the chunks' label blocks (dropped once consumed), as
        addresses of NUL-terminated strings, and the blocks they point into (keep them alive)."""
        c = self.work.chunk
        ptrs, blocks = [], []
        for k in range(start // c, (stop - 1) // c + 1):
            y, starts = self.labels[k]
            blocks.append(y)
            ptrs.append(starts[max(start - k * c, 0) : min(stop - k * c, c)] + np.frombuffer(y, np.uint8).ctypes.data)
            if (k + 1) * c <= stop:
                del self.labels[k]  # (a mapped labels file is unmapped once its last rows are written)
        return np.concatenate(ptrs).astype(np.uint64), blocks

    def _write(self, start: int, stop: int) -> None:
        if not self.work.direct:
            self.writer.write_images(start, self.x[start:stop], None if self.m is None else self.m[start:stop])
        ptrs, blocks = self._lines(start, stop)
        self.writer.write_y(start, ptrs)
        del blocks  # the strings stay alive until written
        self.written = stop

    @property
    def file(self):
        """The output file being written (h5py), for reading back what is in it (e.g. to compute splits)."""
        return self.writer.f

    def finish(self, meta: dict, recipe: Recipe, registry, splits: dict[str, tuple[np.ndarray, dict]]) -> None:
        """Write ``splits`` ({name: (bool membership (N, 3), attributes)}) and the provenance, mark
        the file complete and move it into place."""
        n = self.work.n
        for name, (membership, attrs) in splits.items():
            self.writer.write_split(name, membership, **attrs)
        self.writer.finish(
            synprobe_version=meta["synprobe_version"],
            samples_version=SAMPLES_VERSION,
            recipe=meta["recipe"],
            recipe_name=recipe.name,
            seed=meta["seed"],
            n=n,
            resolution=list(recipe.resolution),
            fonts_manifest_sha256=meta["fonts_manifest_sha256"],
            fonts=_fonts_provenance(self.vocab, registry),
            created=created_timestamp(),
            versions=json.dumps(_versions(), sort_keys=True),
        )
        _fsync(self.tmp)  # on disk before it is named as finished: a power cut cannot leave OUT with lost pages
        if self.out.exists():  # --overwrite: move the old file aside first; ext4 flushes a file renamed
            aside = self.out.with_name(f".{self.out.name}.old-{os.getpid()}")  # over another (0.1-0.5 s)
            os.replace(self.out, aside)
            os.replace(self.tmp, self.out)
            os.unlink(aside)
        else:
            os.replace(self.tmp, self.out)
        _fsync(self.out.parent)  # the rename itself

    def abort(self) -> None:
        """Close after an error; in direct mode the file keeps the finished pixels for --resume."""
        self.writer.abort()
        if not self.work.direct:
            self.tmp.unlink(missing_ok=True)


def _pixels_source(work: WorkDir, tmp: Path, old: Path) -> Path | None:
    """Where the finished pixels of an interrupted direct run are, before ``tmp`` is created anew:
    ``old`` when an earlier resume was copying out of it when it stopped (it is still the only
    complete copy; the partial copy in ``tmp`` is dropped), else the interrupted ``tmp`` itself,
    moved to ``old``. None when there is nothing to recover; chunk records whose pixels are gone
    are removed then (those chunks are rendered again)."""
    if work.direct and old.exists():
        tmp.unlink(missing_ok=True)
        return old
    if work.direct and tmp.exists() and work.done():
        os.replace(tmp, old)
        return old
    if work.direct:
        for k in work.done():
            work.chunk_file(k).unlink()
    return None


def _read_rows(fd: int, w: WorkDir, name: str, slots: int, a: int, b: int) -> np.ndarray | None:
    """Rows [a, b) of ``x`` or ``mask`` from an output file laid out as ``w.layout`` says; None when
    the file ends before them (a short read is missing data, never zeros)."""
    per = w.shape[0] * w.shape[1] * slots
    data = np.empty((b - a, per), np.uint8)
    r = a
    while r < b:
        j = r // w.rows
        stop = min((j + 1) * w.rows, b)
        nbytes = (stop - r) * per
        buf = os.pread(fd, nbytes, int(w.layout[name][j]) + (r - j * w.rows) * per)
        if len(buf) != nbytes:
            return None
        data[r - a : stop - a] = np.frombuffer(buf, np.uint8).reshape(-1, per)
        r = stop
    return data.reshape((b - a, *w.shape[:2], slots))


def _fsync(path: Path) -> None:
    """:func:`synprobe.paths.fsync_path`, unless ``SYNPROBE_FSYNC=0`` (scratch data on a machine
    whose power is not a concern; saves ~0.2 s per 100k 32x32 images)."""
    if fsync_enabled():
        fsync_path(path)


def slab_rows(h: int, w: int, c: int) -> int:
    """Rows per write into the file: whole HDF5 chunks, about 16 MB; depends on the shape only."""
    rows = chunk_rows(h, w, c)
    return int(rows * max(1, (16 << 20) // (rows * h * w * c)))


def column_schema(table: dict) -> dict:
    """{name: (dtype, row shape)} of the attribute columns as stored, from any attribute table of
    the recipe (its columns do not depend on the rows)."""
    return {name: (a.dtype, squeeze(a).shape[1:]) for name, a in table.items()}


def _fonts_provenance(vocab: Vocab, registry) -> str:
    """JSON list of [font id, sha256 of its file] for every font the dataset may use."""
    return json.dumps([[f, registry.entry(f).sha256] for f in vocab.fonts])


_VERSIONED = ("numpy", "opencv-python-headless", "freetype-py", "h5py")


def _versions() -> dict:
    """Versions of the packages that shape the bytes (provenance). Looking them up costs 30 ms
    (importlib.metadata scans every path entry), so the answer is cached, keyed by the
    interpreter and the modification times of the site-packages folders on the path (an install,
    upgrade or removal changes its folder's)."""
    key = [sys.executable, platform.python_version()]
    for p in sys.path:  # where distributions are installed (not the working directory or sources)
        if os.path.basename(p) not in ("site-packages", "dist-packages"):
            continue
        try:
            key.append(f"{p}:{os.stat(p or '.').st_mtime_ns}")
        except OSError:
            key.append(p)
    path = cache_home() / "versions" / (hashlib.sha256("\n".join(key).encode()).hexdigest()[:24] + ".json")
    try:
        out = json.loads(path.read_text())
        if isinstance(out, dict) and set(out) == {"python", *_VERSIONED}:
            return out
    except (OSError, ValueError):
        pass
    from importlib.metadata import PackageNotFoundError, version  # 10 ms: only on a cache miss

    out = {"python": platform.python_version()}
    for pkg in _VERSIONED:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(out))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs time
    return out
