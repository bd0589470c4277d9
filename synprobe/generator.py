"""Dataset generation: recipe -> HDF5 file, in parallel, resumable, byte-for-byte reproducible.

    >>> from synprobe.generator import generate
    >>> generate("default", n=1000, out="default.h5", seed=0)        # doctest: +SKIP

How it runs (sections below follow this order):

1. setup    validate the recipe, build the sampling tables, open ``OUT.partial/``
2. generate worker processes render chunks of ``chunk`` samples, write their pixels into raw
            arrays in ``OUT.partial/`` and save each chunk's attribute table under
            ``OUT.partial/chunks/`` (written atomically: a chunk file exists only once its
            images are in place). After ``kill -9``, ``--resume`` renders only missing chunks.
3. write    meanwhile the parent copies finished chunks, in order, into ``.OUT.tmp``
            (``x``, ``y``, ``attrs/*``); at the end it adds ``split/random`` and provenance,
            marks the file complete, renames it to ``OUT`` and removes ``OUT.partial/``.

Sample i is a pure function of (recipe, seed, i), so the bytes do not depend on the number of
workers, the chunk size or where a run was resumed.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synprobe.errors import SynprobeError
from synprobe.recipe import Recipe, recipe_json, resolve_recipe
from synprobe.sampling import COLUMNS, Vocab

__all__ = ["GenerateResult", "generate", "render_samples"]

BATCH_PIXELS = 1 << 20  # pixels rendered per call of the compiled kernels (amortises Python overhead)


@dataclass(frozen=True)
class GenerateResult:
    path: Path
    n: int
    seconds: float
    images_per_s: float
    resumed_chunks: int


# --------------------------------------------------------------------------- setup


def _chunk_size(h: int, w: int, c: int) -> int:
    """Samples per work unit: about 4 MB of pixels, a whole number of HDF5 chunks."""
    from synprobe.io.h5 import chunk_rows

    rows = chunk_rows(h, w, c)
    return int(rows * max(1, (4 << 20) // (rows * h * w * c)))


def _meta(recipe: Recipe, n: int, seed: int, vocab: Vocab, chunk: int, compression) -> dict:
    import synprobe

    return {
        "recipe": recipe_json(recipe),
        "n": n,
        "seed": seed,
        "chunk": chunk,
        "compression": compression,
        "fonts_manifest_sha256": vocab.fonts_sha256,
        "synprobe_version": synprobe.__version__,
    }


def _image_shape(recipe: Recipe) -> tuple[int, int, int]:
    h, w = recipe.resolution
    return h, w, 1 if recipe.gray else 3


class _Work:
    """The ``OUT.partial/`` folder: meta.json, raw x/mask arrays, per-chunk attribute files."""

    def __init__(self, root: Path, recipe: Recipe, n: int, chunk: int, direct: bool):
        self.root = root
        self.recipe = recipe
        self.n = n
        self.chunk = chunk
        self.shape = _image_shape(recipe)
        self.slots = recipe.max_symbols if recipe.masks else 0
        self.direct = direct  # pixels go straight into the output file (uncompressed)
        self.layout: dict = {}  # direct: file offsets of the output's chunks, set by _Assembler
        self.rows = 0  # direct: rows per chunk of the output file
        self.target: Path | None = None  # direct: the output file being written

    def create(self, meta: dict) -> None:
        (self.root / "chunks").mkdir(parents=True)
        h, w, c = self.shape
        if not self.direct:  # compressed output: raw pixel store, copied in by the assembler
            for name, per in (("x.u8", h * w * c), ("mask.u8", h * w * self.slots)):
                if per:
                    with open(self.root / name, "wb") as f:
                        f.truncate(self.n * per)
        tmp = self.root / "meta.json.tmp"
        tmp.write_text(json.dumps(meta, sort_keys=True))
        os.replace(tmp, self.root / "meta.json")

    def meta(self) -> dict | None:
        try:
            return json.loads((self.root / "meta.json").read_text())
        except (OSError, ValueError):
            return None

    def write_pixels(self, name: str, start: int, data: np.ndarray) -> None:
        """Rows [start, start + len(data)) of ``x`` or ``mask``: into the output file's chunks
        (direct) or the raw store."""
        per = int(np.prod(data.shape[1:]))
        if not self.direct:
            _write_at(self.root / f"{name}.u8", start * per, data)
            return
        offsets, rows = self.layout[name], self.rows
        flat = np.ascontiguousarray(data).reshape(len(data), per)
        fd = os.open(self.target, os.O_WRONLY)
        try:
            r = start
            while r < start + len(data):
                j = r // rows
                stop = min((j + 1) * rows, start + len(data))
                _pwrite_all(fd, flat[r - start : stop - start], int(offsets[j]) + (r - j * rows) * per)
                r = stop
        finally:
            os.close(fd)

    def arrays(self, mode: str = "r+"):
        h, w, c = self.shape
        x = np.memmap(self.root / "x.u8", np.uint8, mode, shape=(self.n, h, w, c))
        m = None
        if self.slots:
            m = np.memmap(self.root / "mask.u8", np.uint8, mode, shape=(self.n, h, w, self.slots))
        return x, m

    def chunk_file(self, k: int) -> Path:
        return self.root / "chunks" / f"{k:07d}.npz"

    def done(self) -> set[int]:
        """Chunks whose pixels and attribute file are complete (half-written files end in .tmp)."""
        return {int(p.stem) for p in (self.root / "chunks").glob("*.npz") if p.stem.isdigit()}


# --------------------------------------------------------------------------- generate (workers)

_STATE: dict = {}


def _init_worker(renderer, seed: int, work: _Work) -> None:
    _STATE.clear()
    _STATE.update(renderer=renderer, seed=seed, work=work, buffers={}, reported=len(renderer.glyphs))


def _write_at(path: Path, offset: int, data: np.ndarray) -> None:
    """Write raw bytes at an offset (one pwrite per chunk; cheaper than page-faulting an mmap)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        _pwrite_all(fd, data, offset)
    finally:
        os.close(fd)


def _pwrite_all(fd: int, data: np.ndarray, offset: int) -> None:
    view = memoryview(np.ascontiguousarray(data)).cast("B")
    while view:
        done = os.pwrite(fd, view, offset)
        view, offset = view[done:], offset + done


class _GlyphStore:
    """The on-disk glyph atlas of a run: loaded before the workers start, topped up with the glyphs
    they rasterise (each chunk's new glyphs travel back with its result), saved at the end.

    Workers rasterise missing glyphs themselves, when first needed: no serial pass over the
    dataset before rendering starts.
    """

    def __init__(self, renderer):
        from synprobe.render.glyphs import load_atlas

        self.renderer = renderer
        self.path = _atlas_path(renderer)
        self.new = 0
        if self.path is not None and self.path.exists():
            packed = load_atlas(self.path)
            if packed is not None:
                renderer.glyphs.add(packed)

    def add(self, packed: dict | None) -> None:
        if packed is not None and len(packed["keys"]):
            before = len(self.renderer.glyphs)
            self.renderer.glyphs.add(packed)
            self.new += len(self.renderer.glyphs) - before

    def save(self) -> None:
        from synprobe.render.glyphs import save_atlas

        if self.path is not None and self.new:
            try:
                save_atlas(self.path, self.renderer.glyphs.export())
            except OSError:
                pass  # a read-only cache folder only costs speed


def _atlas_path(renderer) -> Path | None:
    """On-disk atlas of this recipe's fonts: keyed by rasteriser version and font file hashes."""
    import hashlib

    from synprobe.config import glyph_cache_dir
    from synprobe.render.glyphs import RENDER_VERSION

    root = glyph_cache_dir()
    if root is None:
        return None
    reg = renderer.registry
    files = []
    for f in renderer.vocab.fonts:
        e = reg.entry(f)
        files.append((f, e.sha256, reg.entry(e.bold).sha256 if e.bold else None))
    key = json.dumps([RENDER_VERSION, files]).encode()
    return root / f"atlas-{hashlib.sha256(key).hexdigest()[:24]}.npz"


def render_samples(renderer, seed: int, index: np.ndarray, x_out=None, m_out=None):
    """Sample and render ``index`` in batches; returns (attribute table, x, masks)."""
    table = renderer.sample(seed, index)
    n = len(index)
    h, w, c = _image_shape(renderer.recipe)
    x = x_out if x_out is not None else np.empty((n, h, w, c), np.uint8)
    S = renderer.recipe.max_symbols
    m = m_out if (m_out is not None or not renderer.recipe.masks) else np.empty((n, h, w, S), np.uint8)
    batch = int(np.clip(BATCH_PIXELS // (h * w), 16, 1024))
    for a in range(0, n, batch):
        b = min(a + batch, n)
        rows = {k: v[a:b] for k, v in table.items()}
        xb, mb = renderer.render(rows, seed, index[a:b])
        x[a:b] = xb
        if m is not None:
            m[a:b] = mb
    return table, x, m


def _run_chunk(args) -> tuple[int, int, dict | None, dict]:
    k, start, stop = args
    st = _STATE
    work: _Work = st["work"]
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
    y = _y_json(st["renderer"], table, st["seed"], index)
    dst = work.chunk_file(k)
    tmp = dst.with_name(dst.name + ".tmp")
    table["y"] = np.frombuffer(b"\n".join(y), np.uint8)
    with open(tmp, "wb") as f:
        np.savez(f, **table)
    os.replace(tmp, dst)  # the chunk's marker: exists only once its pixels are written
    glyphs = st["renderer"].glyphs  # glyphs rasterised for this chunk go back to the parent's atlas
    new = glyphs.export(since=st["reported"]) if len(glyphs) > st["reported"] else None
    st["reported"] = len(glyphs)
    return k, stop - start, new, table  # the table travels back too: the parent need not reread it


def _y_json(renderer, t: dict, seed: int, index: np.ndarray) -> list[bytes]:
    """Synbols-compatible JSON per sample (first symbol flattened to the top, as Synbols does).

    Built with f-strings from pre-encoded category names: ~10x faster than json.dumps of dicts.
    """
    from synprobe.recipe import OCCLUDER_KINDS, PATTERN_KINDS
    from synprobe.scripts import ALPHABETS, SCRIPTS

    enc = functools.partial(json.dumps, ensure_ascii=False)
    rc = renderer.recipe
    tables = getattr(renderer, "_y_tables", None)
    if tables is None:  # JSON fragments of every category value, once per process
        reg = renderer.registry
        tables = renderer._y_tables = (
            [enc(c) for c in renderer.vocab.chars],
            [f'"font":{enc(f)},"font_family":{enc(reg.entry(f).family)}' for f in renderer.vocab.fonts],
            [f'"alphabet":{enc(ALPHABETS[s].synbols_name)},"script":{enc(s)}' for s in SCRIPTS],
            [enc(k) for k in PATTERN_KINDS],
            [enc(k) for k in OCCLUDER_KINDS],
        )
    chars, fonts, scripts, kinds, occ = tables
    tf = ("false", "true")
    res = f'"resolution":[{rc.resolution[1]},{rc.resolution[0]}],"seed":{seed}'
    n = len(index)
    # one JSON fragment per (sample, symbol slot), built column-wise: slot by slot over all rows
    per_slot = []
    for j in range(t["char"].shape[1]):
        rows = np.nonzero(t["n_symbols"] > j)[0]
        col = {k: t[k][rows, j].tolist() for k in ("script", "char", "font", "bold", "slant", "rotation", "scale",
                                                     "translation_x", "translation_y", "foreground_kind",
                                                     "foreground_seed")}
        frags = [
            f'{scripts[sc]},"char":{chars[ch]},{fonts[fo]},"is_bold":{tf[b]},"is_slant":{tf[sl != 0]},"slant":{sl!r},'
            f'"rotation":{ro!r},"scale":{sa!r},"translation":[{tx!r},{ty!r}],'
            f'"foreground":{{"style":{kinds[fk]},"seed":{fs}}}'
            for sc, ch, fo, b, sl, ro, sa, tx, ty, fk, fs in zip(*col.values())
        ]
        slot = [""] * n
        for r, f in zip(rows.tolist(), frags):
            slot[r] = f
        per_slot.append(slot)
    occluders = [""] * n
    if "occluder_kind" in t:
        c = {k: v.tolist() for k, v in t.items() if k.startswith("occluder_") or k == "n_occluders"}
        for i in range(n):
            occluders[i] = ',"occluders":[' + ",".join(
                f'{{"kind":{occ[c["occluder_kind"][i][j]]},'
                + (f'"char":{chars[c["occluder_char"][i][j]]},{fonts[c["occluder_font"][i][j]]},'
                   if c["occluder_char"][i][j] >= 0 else "")
                + f'"scale":{c["occluder_scale"][i][j]!r},"rotation":{c["occluder_rotation"][i][j]!r},'
                f'"translation":[{c["occluder_translation_x"][i][j]!r},{c["occluder_translation_y"][i][j]!r}],'
                f'"foreground":{{"style":{kinds[c["occluder_fg_kind"][i][j]]},"seed":{c["occluder_fg_seed"][i][j]}}}}}'
                for j in range(c["n_occluders"][i])
            ) + "]"
    img = zip(t["n_symbols"].tolist(), t["background_kind"].tolist(), t["background_seed"].tolist(),
              t["inverse_color"].tolist(), t["pixel_noise"].tolist(), index.tolist(), occluders)
    out = []
    for i, (ns, bk, bs, inv, noise, idx, extra) in enumerate(img):
        first = per_slot[0][i]
        syms = first if ns == 1 else "},{".join(per_slot[j][i] for j in range(ns))
        out.append((
            f'{{{first},"background":{{"style":{kinds[bk]},"seed":{bs}}},"inverse_color":{tf[inv]},'
            f'"pixel_noise_scale":{noise!r},{res},"index":{idx},"n_symbols":{ns},"symbols":[{{{syms}}}]{extra}}}'
        ).encode())
    return out


# --------------------------------------------------------------------------- write (assemble)


class _Assembler:
    """Writes finished rows into ``.OUT.tmp`` while workers render, in canonical slabs.

    Rows go to the file in slabs of fixed size (:func:`_slab_rows`, a property of the image
    shape only), each written once all its rows are done, in order. The sequence of HDF5 calls
    is therefore the same whatever the chunk size, the worker count, the order chunks finish in,
    or whether they are replayed after a resume: the file is byte-identical. Only :meth:`finish`
    marks it complete and renames it.
    """

    def __init__(self, work: _Work, out: Path, vocab: Vocab, compression):
        from synprobe.io.h5 import H5Writer

        self.work, self.out, self.vocab = work, out, vocab
        self.tmp = out.with_name(f".{out.name}.tmp")
        old = self.tmp.with_name(self.tmp.name + ".old")
        keep = bool(work.direct and self.tmp.exists() and work.done())
        if work.direct and not self.tmp.exists():  # pixels of finished chunks are gone: redo them
            for k in work.done():
                work.chunk_file(k).unlink()
        if keep:  # an interrupted direct run: its finished pixels live in the old output file
            os.replace(self.tmp, old)
        self.writer = H5Writer(self.tmp, work.n, work.shape, work.slots or None, compression)
        if work.direct:
            work.layout, work.rows, work.target = self.writer.raw_layout(), self.writer.rows, self.tmp
        if keep:
            self._recover(old)
        self.slab = _slab_rows(*work.shape)
        self.next_chunk = 0  # chunks [0, next_chunk) are done
        self.written = 0  # rows [0, written) are in the file
        self.ready: set[int] = set()
        self.tables: dict[int, dict] = {}
        self.x, self.m = (None, None) if work.direct else work.arrays("r")

    def _recover(self, old: Path) -> None:
        """Copy the pixels of finished chunks from the interrupted file (same layout: the file is
        created identically every time) into the new one."""
        w = self.work
        src = os.open(old, os.O_RDONLY)
        try:
            for k in sorted(w.done()):
                a, b = k * w.chunk, min((k + 1) * w.chunk, w.n)
                for name, slots in (("x", w.shape[2]), ("mask", w.slots)):
                    if name not in w.layout:
                        continue
                    per = w.shape[0] * w.shape[1] * slots
                    data = np.empty((b - a, per), np.uint8)
                    r = a
                    while r < b:
                        j = r // w.rows
                        stop = min((j + 1) * w.rows, b)
                        nbytes = (stop - r) * per
                        buf = os.pread(src, nbytes, int(w.layout[name][j]) + (r - j * w.rows) * per)
                        data[r - a : stop - a] = np.frombuffer(buf.ljust(nbytes, b"\0"), np.uint8).reshape(-1, per)
                        r = stop
                    w.write_pixels(name, a, data)
        finally:
            os.close(src)
        old.unlink()

    def add(self, k: int, table: dict | None = None) -> None:
        """Chunk k is complete on disk (its attribute table given, or read from its chunk file);
        write every slab whose rows are now all done."""
        self.ready.add(k)
        if table is not None:
            self.tables[k] = table
        while self.next_chunk in self.ready:
            self.ready.discard(self.next_chunk)
            if self.next_chunk not in self.tables:
                with np.load(self.work.chunk_file(self.next_chunk)) as t:
                    self.tables[self.next_chunk] = {name: t[name] for name in t.files}
            self.next_chunk += 1
        done_rows = min(self.next_chunk * self.work.chunk, self.work.n)
        while self.written < self.work.n and (done_rows - self.written >= self.slab or done_rows == self.work.n):
            self._write(self.written, min(self.written + self.slab, self.work.n))

    def _rows(self, start: int, stop: int) -> dict:
        """Columns and y of rows [start, stop), from the loaded chunk tables."""
        c = self.work.chunk
        parts = []
        for k in range(start // c, (stop - 1) // c + 1):
            t = self.tables[k]
            a, b = max(start - k * c, 0), min(stop - k * c, c)
            parts.append((t, a, b))
            if (k + 1) * c <= stop:
                self.tables.pop(k)  # fully consumed
        out = {name: np.concatenate([t[name][a:b] for t, a, b in parts])
               for name in parts[0][0] if name not in ("y", "y_split")}
        out["y"] = [line for t, a, b in parts for line in _y_lines(t)[a:b]]
        return out

    def _write(self, start: int, stop: int) -> None:
        w = self.writer
        rows = self._rows(start, stop)
        if start == 0:
            w.create_y()
            cats = self.vocab.categories
            for c in COLUMNS:
                if c.name in rows:
                    w.create_column(c.name, _squeeze(rows[c.name]).shape[1:], c.dtype,
                                    cats.get(c.categories) if c.categories else None, c.doc)
        if not self.work.direct:
            w.write_images(start, self.x[start:stop], None if self.m is None else self.m[start:stop])
        w.write_y(start, rows["y"])
        for c in COLUMNS:
            if c.name in rows:
                w.write_column(c.name, start, _squeeze(rows[c.name]))
        self.written = stop

    def finish(self, meta: dict, recipe: Recipe, registry) -> None:
        from synprobe.config import created_timestamp

        n = self.work.n
        from synprobe.splits import DEFAULT_SPLITS, default_splits, split_attrs

        for name, m in default_splits(self.writer.f, seed=meta["seed"]).items():  # Synbols' default four
            kind, by = DEFAULT_SPLITS[name]
            self.writer.write_split(name, m, **split_attrs(kind, by, seed=meta["seed"]))
        self.writer.finish(
            synprobe_version=meta["synprobe_version"],
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
        os.replace(self.tmp, self.out)

    def abort(self) -> None:
        """Close after an error; in direct mode the file keeps the finished pixels for --resume."""
        self.writer.abort()
        if not self.work.direct:
            self.tmp.unlink(missing_ok=True)


def _y_lines(t: dict) -> list[bytes]:
    """The chunk's JSON labels, split once and kept on the table."""
    if "y_split" not in t:
        t["y_split"] = t["y"].tobytes().split(b"\n")
    return t["y_split"]


def _slab_rows(h: int, w: int, c: int) -> int:
    """Rows per write into the file: whole HDF5 chunks, about 16 MB; depends on the shape only."""
    from synprobe.io.h5 import chunk_rows

    rows = chunk_rows(h, w, c)
    return int(rows * max(1, (16 << 20) // (rows * h * w * c)))


def _squeeze(col: np.ndarray) -> np.ndarray:
    """Per-slot columns with a single slot are stored as (N,)."""
    return col[:, 0] if col.ndim == 2 and col.shape[1] == 1 else col


def _fonts_provenance(vocab: Vocab, registry) -> str:
    """JSON list of [font id, sha256 of its file] for every font the dataset may use."""
    return json.dumps([[f, registry.entry(f).sha256] for f in vocab.fonts])


def _versions() -> dict:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("numpy", "opencv-python-headless", "freetype-py", "h5py"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


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
        chunk: samples per work unit (default: about 4 MB of pixels).
        progress: show a progress bar with images/s and ETA.
    """
    t0 = time.perf_counter()
    # --- setup
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise SynprobeError(f"-n: expected a positive integer, got {n!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise SynprobeError(f"--seed: expected an integer in 0..2**63-1, got {seed!r}")
    if compression not in (None, "lzf", "gzip"):
        raise SynprobeError(f"--compression: unknown {compression!r}; expected one of 'lzf', 'gzip'")
    rc = resolve_recipe(recipe, resolution)
    if registry is None:
        from synprobe.fonts import FontRegistry

        registry = FontRegistry.load()
    vocab = Vocab.build(rc, registry)
    out = Path(out)
    if out.exists() and not overwrite:
        raise SynprobeError(f"{out}: already exists; pass --overwrite to replace it")
    if not out.parent.exists():
        raise SynprobeError(f"{out.parent}: output folder does not exist")
    chunk = _chunk_size(*_image_shape(rc)) if chunk is None else chunk
    if not isinstance(chunk, int) or chunk < 1:
        raise SynprobeError(f"chunk: expected a positive integer, got {chunk!r}")
    meta = _meta(rc, n, seed, vocab, chunk, compression)
    work = _Work(out.with_name(out.name + ".partial"), rc, n, chunk, direct=compression is None)
    old = work.meta() if work.root.exists() else None
    if work.root.exists():
        if resume and old is not None:
            diff = [k for k in meta if k != "synprobe_version" and old.get(k) != meta[k]]
            if diff:
                raise SynprobeError(f"{work.root}: cannot resume, the run was started with a different {diff[0]}; "
                                    "pass the same arguments or --overwrite")
        elif overwrite or (resume and old is None):
            shutil.rmtree(work.root)
        else:
            raise SynprobeError(f"{work.root}: an unfinished run is there; pass --resume to finish it "
                                "or --overwrite to start again")
    elif resume:
        raise SynprobeError(f"{work.root}: nothing to resume; run without --resume")
    if not work.root.exists():
        work.create(meta)

    # --- generate
    workers = (os.cpu_count() or 1) if workers is None else workers
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise SynprobeError(f"--workers: expected a positive integer, got {workers!r}")
    import multiprocessing as mp

    from synprobe.render.compose import Renderer

    renderer = Renderer(rc, registry=registry, vocab=vocab)
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    asm = _Assembler(work, out, vocab, compression)  # --- write: as chunks finish, in order
    resumed = len(work.done())
    todo = [(k, a, min(a + chunk, n)) for k, a in enumerate(range(0, n, chunk)) if k not in work.done()]
    workers = min(workers, max(len(todo), 1))
    bar = _progress(n, n - sum(b - a for _, a, b in todo), progress)
    try:
        for k in sorted(work.done()):  # replay what an interrupted run finished
            asm.add(k)
        store = _GlyphStore(renderer)
        if workers == 1:
            _init_worker(renderer, seed, work)
            for job in todo:
                k, done, new, table = _run_chunk(job)
                store.new += 0 if new is None else len(new["keys"])  # already in renderer.glyphs
                asm.add(k, table)
                bar.update(done)
        else:
            with ctx.Pool(workers, _init_worker, (renderer, seed, work)) as pool:
                for k, done, new, table in pool.imap_unordered(_run_chunk, todo):
                    store.add(new)
                    asm.add(k, table)
                    bar.update(done)
        asm.finish(meta, rc, registry)
        store.save()
    except BaseException:
        asm.abort()
        raise
    finally:
        bar.close()
        _STATE.clear()
    shutil.rmtree(work.root, ignore_errors=True)
    dt = time.perf_counter() - t0
    return GenerateResult(out, n, dt, n / dt, resumed)


def _progress(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="img", unit_scale=True, disable=not enabled,
                dynamic_ncols=True, smoothing=0.1, desc="generate")
