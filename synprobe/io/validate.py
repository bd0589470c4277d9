"""One validation layer for every file synprobe reads: dataset files (HDF5), stream files
(``.npz``) and the JSON files of run directories.

    >>> from synprobe.io.validate import loads_json
    >>> loads_json('["a", "b"]', "f.h5: attrs/char categories")
    ['a', 'b']

Everything here looks at metadata only (shapes, dtypes, declared and stored sizes, small JSON
texts, zip directories and ``.npy`` headers), never at pixel data, and refuses a file *before*
anything large is read or allocated. A refusal is a :class:`~synprobe.errors.SynprobeError`
(``FormatError`` for dataset files, the caller's class for streams and run directories) with one
line naming the file, the dataset or field and the problem. The limits and checks are listed in
``docs/format.md`` ("Validation").
"""

from __future__ import annotations

import json
import math
import os
import stat
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from synprobe.errors import FormatError, IncompleteFileError, NotEnoughMemory, SynprobeError
from synprobe.paths import missing_file_hint
from synprobe.sampling import COLUMNS

__all__ = [
    "MAX_JSON_BYTES", "MAX_JSON_DEPTH", "MAX_LABEL_BYTES", "categories", "check_codes", "check_dataset_file",
    "check_npy", "check_npz", "check_regular_file", "guard", "loads_json", "one_line", "open_h5",
]

FORMAT = "synprobe-h5/1"
MAX_JSON_DEPTH = 64  # nesting of any JSON text (synprobe writes at most 4 levels)
MAX_JSON_BYTES = 16 << 20  # one JSON document: a categories table, a recipe, a stream's meta, a run's config
MAX_LABEL_BYTES = 1 << 20  # one per-sample label (y[i]); synprobe's are under 2 KB
MAX_CHUNK_BYTES = 64 << 20  # one HDF5 chunk, uncompressed (synprobe writes <= 1 MiB, Synbols 10 images)
MAX_RATIO = 1100  # deflate's largest compression ratio is 1032:1: no filtered dataset can hold more
MAX_SIDE = 16384  # image height / width
MAX_NPZ_PACKED = 256 << 20  # a compressed .npz member, uncompressed (stream files store theirs uncompressed)
MAX_NPZ_MEMBERS = 4096
MAX_MESSAGE = 400


def one_line(msg: str) -> str:
    """``msg`` on one line, at most :data:`MAX_MESSAGE` characters, printable."""
    s = printable(" ".join(str(msg).split()))
    return s if len(s) <= MAX_MESSAGE else s[: MAX_MESSAGE - 1] + "…"


def printable(s: str) -> str:
    """``s`` with lone surrogates (h5py's escapes of bytes that are not UTF-8) as ``\\udcXX``,
    so that it can be printed and written as UTF-8."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


# --------------------------------------------------------------------------- plain files and JSON


def check_regular_file(path, error=FormatError, empty_ok: bool = False) -> int:
    """The size of ``path``, a regular file; a one-line ``error`` for a missing path, a folder,
    a FIFO, a device or (unless ``empty_ok``) an empty file (opening a FIFO would block forever)."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise error(f"{p}: no such file{missing_file_hint(p)}") from None
    except OSError as e:
        raise error(one_line(f"{p}: cannot read ({e.strerror or e})")) from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{p}: is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{p}: not a regular file (a FIFO, socket or device)")
    if st.st_size == 0 and not empty_ok:
        raise error(f"{p}: empty file")
    return st.st_size


def loads_json(text, where: str, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int | None = MAX_JSON_DEPTH,
               error=FormatError):
    """Parse one JSON text, bounded: refused above ``max_bytes`` before parsing, parsed by orjson
    (which stops at 1024 levels with an error instead of recursing), then refused above
    ``max_depth`` levels (an iterative walk: no recursion anywhere; ``None``: orjson's 1024 only).
    ``where`` starts the message."""
    import orjson

    if isinstance(text, np.ndarray) and text.shape == ():
        text = text.item()
    if isinstance(text, np.bytes_ | np.str_):
        text = text.item()
    if not isinstance(text, str | bytes):
        raise error(one_line(f"{where}: expected a JSON text, got {type(text).__name__}"))
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise error(f"{where}: JSON text of {size:,} bytes; at most {max_bytes:,} are read")
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        if "depth" in str(e):
            raise error(f"{where}: JSON nested more than 1024 levels deep; at most {max_depth}") from None
        try:  # Python's json also takes NaN / Infinity (Synbols' json.dumps writes them)
            obj = json.loads(text)
        except (ValueError, RecursionError):
            raise error(one_line(f"{where}: not valid JSON ({e})")) from None
    depth = 0 if max_depth is None else json_depth(obj)
    if max_depth is not None and depth > max_depth:
        raise error(f"{where}: JSON nested {depth} levels deep; at most {max_depth}")
    return obj


def json_depth(obj) -> int:
    """Nesting depth of a parsed JSON value (scalars 0), without recursion."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            v = v.values()
        elif not isinstance(v, list):
            continue
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in v if isinstance(c, dict | list))
    return deepest


# --------------------------------------------------------------------------- HDF5 dataset files


@contextmanager
def guard(path, what: str = "", error=FormatError):
    """Turn what h5py / numpy raise on a damaged file into one line naming the file (``what``: the
    dataset or step, e.g. ``"x"``). Errors synprobe raises on purpose pass through unchanged."""
    where = f"{path}: {what}: " if what else f"{path}: "
    try:
        yield
    except SynprobeError:
        raise
    except MemoryError:
        raise NotEnoughMemory(f"{where}not enough memory to read it") from None
    except (OSError, KeyError, RuntimeError, ValueError, TypeError, IndexError, OverflowError) as e:
        raise error(one_line(f"{where}damaged or unreadable ({type(e).__name__}: {e})")) from None


def open_h5(path):
    """An ``h5py.File`` open for reading, after :func:`check_regular_file`."""
    import h5py

    p = Path(path)
    check_regular_file(p)
    try:
        return h5py.File(p, "r")
    except MemoryError:
        raise NotEnoughMemory(f"{p}: not enough memory to open it") from None
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        raise FormatError(one_line(f"{p}: not an HDF5 file ({e})")) from None


def check_dataset_file(f, path, *, codes: bool = True) -> None:
    """Validate an open dataset file (synprobe ``synprobe-h5/1``, or Synbols 1.0.2's layout) from
    its metadata: the format and completion marker; ``x``, ``y``, ``mask``, ``attrs/*`` and
    ``split/*`` (kinds, dtypes, shapes, lengths, stored against declared sizes); the categories
    tables; with ``codes``, the categorical codes too (reads those small integer columns).

    Raises:
        FormatError: one line naming the file and the dataset; IncompleteFileError for a file
            without ``complete = True``.
    """
    with guard(path):
        _check_root(f, path)
        size = os.path.getsize(path)
        x = _member(f, path, "x")
        n, h, w, c = _check_x(x, path)
        _check_storage(x, path, "x", size)
        y = _member(f, path, "y")
        if y is not None:
            if y.shape != (n,):
                raise FormatError(f"{path}: y has shape {y.shape}; expected ({n},), one label per image of x")
            if not _is_string(y):
                raise FormatError(f"{path}: y has dtype {y.dtype}; expected strings (one JSON object per image)")
            _check_storage(y, path, "y", size)
        mask = _member(f, path, "mask", required=False)
        if mask is not None:
            _check_mask(mask, path, n, h, w)
            _check_storage(mask, path, "mask", size)
        for name, d in _group(f, path, "attrs"):
            _check_column(d, path, name, n, size, codes)
        for name, d in _group(f, path, "split"):
            if d.shape != (n, 3) or d.dtype != bool:
                raise FormatError(f"{path}: split/{name} is {d.dtype} {d.shape}; expected bool ({n}, 3)")
            _check_storage(d, path, f"split/{name}", size)


def _check_root(f, path) -> None:
    fmt = f.attrs.get("format")
    if fmt is None:
        if "attrs" in f:
            raise FormatError(f"{path}: synprobe columns (attrs/) but no 'format' attribute: an unfinished or "
                              f"damaged synprobe file")
        if "x" in f and "y" in f:  # Synbols 1.0.2 layout
            return
        raise FormatError(f"{path}: not a synprobe or Synbols dataset (no 'format' attribute, no x/y)")
    if isinstance(fmt, bytes | np.bytes_):
        fmt = fmt.decode("utf-8", "replace")
    if not isinstance(fmt, str) or fmt != FORMAT:
        raise FormatError(one_line(f"{path}: format {fmt!r} is not supported; expected {FORMAT!r}"))
    done = f.attrs.get("complete", False)
    if not (isinstance(done, bool | np.bool_) and bool(done)):
        raise IncompleteFileError(f"{path}: unfinished file (no completion marker); rerun with --resume")


def _member(f, path, name: str, required: bool = True, label: str | None = None):
    """``f[name]`` when it is a dataset stored in this file (no links to other files or objects);
    ``label`` names it in messages (default ``name``)."""
    import h5py

    label = label or name
    link = f.get(name, getlink=True)
    if link is None:
        if required:
            raise FormatError(f"{path}: no {label!r} dataset")
        return None
    if not isinstance(link, h5py.HardLink):
        raise FormatError(f"{path}: {label} is a {type(link).__name__}; expected a dataset stored in the file")
    d = f[name]
    if not isinstance(d, h5py.Dataset):
        raise FormatError(f"{path}: {label} is a {type(d).__name__}; expected a dataset")
    return d


def _group(f, path, name: str):
    """(member name, dataset) of group ``name`` (nothing when the file has no such group)."""
    import h5py

    link = f.get(name, getlink=True)
    if link is None:
        return []
    if not isinstance(link, h5py.HardLink) or not isinstance(f[name], h5py.Group):
        raise FormatError(f"{path}: {name} is not a group of datasets")
    g = f[name]
    for k in g:
        if printable(k) != k:
            raise FormatError(f"{path}: {name}/ holds a member whose name is not UTF-8 ({printable(k)})")
    return [(k, _member(g, path, k, label=f"{name}/{k}")) for k in g]


def _check_x(x, path) -> tuple[int, int, int, int]:
    if x.dtype != np.uint8:
        raise FormatError(f"{path}: x has dtype {x.dtype}; expected uint8 images")
    if x.ndim != 4 or x.shape[3] not in (1, 3):
        raise FormatError(f"{path}: x has shape {x.shape}; expected (N, H, W, C) with C = 1 or 3")
    n, h, w, c = map(int, x.shape)
    if n < 1:
        raise FormatError(f"{path}: x holds no images")
    if not (1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE):
        raise FormatError(f"{path}: x has images of {h}x{w}; expected sides in 1..{MAX_SIDE}")
    return n, h, w, c


def _check_mask(m, path, n: int, h: int, w: int) -> None:
    ok = (m.dtype == np.uint8 and m.ndim == 4) or (m.dtype.kind == "f" and m.ndim == 3)  # Synbols' flat masks
    if not ok:
        raise FormatError(f"{path}: mask is {m.dtype} {m.shape}; expected uint8 (N, H, W, S)")
    if tuple(m.shape[:3]) != (n, h, w):
        raise FormatError(f"{path}: mask has shape {m.shape}; expected ({n}, {h}, {w}, S) like x")


def _is_string(d) -> bool:
    import h5py

    return h5py.check_string_dtype(d.dtype) is not None or d.dtype.kind in "SU"


def _check_column(d, path, name: str, n: int, size: int, codes: bool) -> None:
    where = f"{path}: attrs/{name}"
    if d.ndim not in (1, 2) or d.shape[0] != n:
        raise FormatError(f"{where} has shape {d.shape}; expected ({n},) or ({n}, slots), one row per image")
    kind = d.dtype.kind
    if kind not in "biuf" or d.dtype.fields is not None:
        raise FormatError(f"{where} has dtype {d.dtype}; expected bool, integer or float")
    want = _documented().get(name)
    if want is not None and kind != np.dtype(want).kind:
        raise FormatError(f"{where} has dtype {d.dtype}; the format says {want}")
    _check_storage(d, path, f"attrs/{name}", size)
    cats = categories(d, path, name)
    if cats is not None:
        if kind not in "iu":
            raise FormatError(f"{where} has categories but dtype {d.dtype}; expected integer codes")
        if codes:
            check_codes(path, name, d[()], len(cats))


_DOC: dict[str, str] = {}


def _documented() -> dict[str, str]:
    """Column name -> the dtype the format documents (``synprobe.sampling.COLUMNS``)."""
    if not _DOC:
        _DOC.update({c.name: c.dtype for c in COLUMNS})
    return _DOC


def categories(d, path, name: str) -> tuple | None:
    """The ``categories`` table of column ``attrs/<name>`` (a JSON list of strings), or None."""
    if "categories" not in d.attrs:
        return None
    where = f"{path}: attrs/{name} categories"
    cats = loads_json(d.attrs["categories"], where)
    if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
        raise FormatError(f"{where}: expected a JSON list of strings")
    return tuple(cats)


def check_codes(path, name: str, values: np.ndarray, n_categories: int) -> None:
    """Every code of a categorical column lies in [-1, n_categories) (-1: no value)."""
    if values.size == 0:
        return
    lo, hi = int(values.min()), int(values.max())
    if lo < -1 or hi >= n_categories:
        bad = lo if lo < -1 else hi
        raise FormatError(f"{path}: attrs/{name} holds code {bad}; its categories table has {n_categories} "
                          f"entries (codes -1..{n_categories - 1})")


def _check_storage(d, path, name: str, file_size: int) -> None:
    """Declared size against what the file holds, before anything is read: every byte of an
    unfiltered dataset must be stored, a filtered one must have every chunk and at most
    :data:`MAX_RATIO` times its stored bytes; nothing outside the file (external, virtual)."""
    import h5py

    where = f"{path}: {name}"
    dcpl = d.id.get_create_plist()
    layout = dcpl.get_layout()
    if layout == h5py.h5d.VIRTUAL or dcpl.get_external_count() > 0:
        raise FormatError(f"{where} is stored outside the file (virtual or external); not supported")
    declared = math.prod(int(s) for s in d.shape) * d.id.get_type().get_size()
    stored = d.id.get_storage_size()
    if stored > file_size:
        raise FormatError(f"{where} claims {stored:,} stored bytes in a file of {file_size:,}")
    chunked = layout == h5py.h5d.CHUNKED
    if chunked:
        chunk = math.prod(int(s) for s in d.chunks) * d.id.get_type().get_size()
        if chunk > MAX_CHUNK_BYTES:
            raise FormatError(f"{where} has chunks of {chunk:,} bytes; at most {MAX_CHUNK_BYTES:,}")
    if dcpl.get_nfilters() == 0:
        if stored < declared:
            raise FormatError(f"{where} declares shape {d.shape} ({declared:,} bytes) but the file stores "
                              f"{stored:,} bytes of it")
        return
    if declared > stored * MAX_RATIO:
        raise FormatError(f"{where} declares shape {d.shape} ({declared:,} bytes) from {stored:,} compressed bytes; "
                          f"more than any compression can hold")
    if chunked:
        want = math.prod(-(-int(s) // int(c)) for s, c in zip(d.shape, d.chunks))
        got = d.id.get_num_chunks()
        if got < want:
            raise FormatError(f"{where}: {want - got:,} of its {want:,} chunks are not stored (they would read "
                              f"as zeros)")


# --------------------------------------------------------------------------- .npy / .npz files


def _npy_header(fh, where: str, error) -> tuple[int, tuple, np.dtype]:
    """(header bytes, shape, dtype) of the ``.npy`` stream ``fh`` (positioned at its start)."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(fh)
        else:
            raise ValueError(f".npy version {version} is not read")
    except (ValueError, OSError, EOFError, SyntaxError, TypeError, zipfile.BadZipFile) as e:
        raise error(one_line(f"{where}: not a .npy array ({e})")) from None
    if dtype.hasobject:
        raise error(f"{where}: holds Python objects (dtype {dtype}); only plain arrays are read")
    return fh.tell(), tuple(shape), dtype


def _npy_bytes(shape: tuple, dtype: np.dtype) -> int:
    return math.prod(int(s) for s in shape) * dtype.itemsize


def check_npy(path, error=FormatError) -> tuple[tuple, np.dtype]:
    """A ``.npy`` file whose header declares no more data than the file holds: (shape, dtype)."""
    size = check_regular_file(path, error)
    with open(path, "rb") as fh:
        head, shape, dtype = _npy_header(fh, str(path), error)
    if head + _npy_bytes(shape, dtype) > size:
        raise error(f"{path}: declares a {dtype} array of shape {shape} ({_npy_bytes(shape, dtype):,} bytes) "
                    f"in a file of {size:,} bytes")
    return shape, dtype


def check_npz(path, error=FormatError, max_packed: int = MAX_NPZ_PACKED) -> dict[str, tuple]:
    """Read an ``.npz``'s zip directory and each member's ``.npy`` header (decompressing only the
    header) and refuse, before ``np.load`` decompresses anything: members declaring more data
    than their size in the directory, stored members larger than the file, compressed members
    beyond ``max_packed`` bytes (zip bombs), object arrays. Returns {member: (shape, dtype)}."""
    size = check_regular_file(path, error)
    out = {}
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if len(infos) > MAX_NPZ_MEMBERS:
                raise error(f"{path}: {len(infos):,} zip members; at most {MAX_NPZ_MEMBERS:,}")
            for info in infos:
                where = f"{path}: {info.filename}"
                packed = info.compress_type != zipfile.ZIP_STORED
                limit = max_packed if packed else size
                if info.file_size > limit:
                    how = "compressed member" if packed else "stored member"
                    raise error(f"{where}: {how} of {info.file_size:,} bytes uncompressed; at most {limit:,}")
                with z.open(info) as fh:
                    head, shape, dtype = _npy_header(fh, where, error)
                if head + _npy_bytes(shape, dtype) > info.file_size:
                    raise error(f"{where}: declares a {dtype} array of shape {shape} in a member of "
                                f"{info.file_size:,} bytes")
                out[info.filename.removesuffix(".npy")] = (shape, dtype)
    except SynprobeError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
        raise error(one_line(f"{path}: not a .npz file ({type(e).__name__}: {e})")) from None
    return out
