"""The C kernels (``_kernels.c``: rendering; ``_labels.c``: JSON labels): built on first use with the
system C compiler, cached, loaded with ctypes.

Why: loading numba and its cached kernels costs ~0.4 s in every process (a third of a 100k-image
run); ``dlopen`` of a cached shared library costs a millisecond. The C code does the same
arithmetic as the numba kernels, operation for operation, so both give the same bytes
(``tests/test_kernels.py``).

The library is built once per (source, compiler flags, CPU) into ``$SYNPROBE_CACHE/kernels/``
(``-march=native``: the CPU's identity is part of the key, so a cache folder shared by different
machines holds one library per CPU). Without a working compiler :func:`load` returns None with the
reason, and :mod:`synprobe.render.backend` uses the numba kernels.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import numpy as np

from synprobe.config import c_compiler, cache_home

__all__ = ["CKernels", "load"]

SOURCES = [Path(__file__).with_name(f) for f in ("_kernels.c", "_labels.c")]
# no fast-math and no FMA contraction: every + and * rounds as written (bytes equal to numba's)
_FLAGS = ["-O3", "-std=c99", "-fPIC", "-shared", "-ffp-contract=off", "-fno-math-errno"]
_NATIVE = ["-march=native"]

_i64, _u64, _i32, _ptr = ctypes.c_int64, ctypes.c_uint64, ctypes.c_int32, ctypes.c_void_p


def _compiler() -> list[str] | None:
    cc = c_compiler() or sysconfig.get_config_var("CC") or "cc"
    parts = cc.split()
    if not parts or shutil.which(parts[0]) is None:
        parts = ["cc"]
    return parts if shutil.which(parts[0]) else None


def _cpu_id() -> str:
    """What -march=native depends on: the CPU model and feature flags."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = [ln for ln in f.read(1 << 16).splitlines()
                     if ln.startswith(("model name", "flags", "Features", "CPU part"))]
        return "\n".join(dict.fromkeys(lines))
    except OSError:
        return platform.processor() or platform.machine()


def _key(cc: list[str], flags: list[str]) -> str:
    h = hashlib.sha256()
    for part in (*(f.read_bytes() for f in SOURCES), " ".join(cc + flags).encode(), _cpu_id().encode(),
                 platform.machine().encode(), sys.platform.encode()):
        h.update(part)
        h.update(b"\0")
    return h.hexdigest()[:20]


def _build(cc: list[str], flags: list[str], dst: Path) -> str | None:
    """Compile to a temporary name next to ``dst`` and rename it: concurrent builders (worker
    processes, parallel runs) never see a half-written library. Returns an error line or None."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dst.name + ".", suffix=".tmp", dir=dst.parent)
    os.close(fd)
    try:
        r = subprocess.run([*cc, *flags, "-o", tmp, *map(str, SOURCES), "-lm"], capture_output=True, text=True)
        if r.returncode != 0:
            lines = [ln for ln in (r.stderr or r.stdout).splitlines() if ln.strip()]
            return f"{' '.join(cc)} failed: {lines[0] if lines else 'exit ' + str(r.returncode)}"
        os.replace(tmp, dst)
        return None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class CKernels:
    """ctypes bindings of the library's entry points, with numpy-array wrappers."""

    name = "c"

    def __init__(self, path: Path):
        self.path = path
        lib = ctypes.CDLL(str(path))
        lib.sp_render.restype = _i32
        lib.sp_render.argtypes = [_ptr, _ptr, _i64, _i64, _i64, _i64, _i64, _i64, _ptr, _ptr, _ptr, _ptr, _ptr, _ptr,
                                  _ptr, _ptr, _ptr, _ptr, _ptr, _i32, _ptr, _i32, _ptr, _u64, _ptr, _ptr]
        lib.sp_eval_patterns.restype = _i32
        lib.sp_eval_patterns.argtypes = [_ptr, _i64, _i64, _i64, _ptr, _ptr]
        lib.sp_labels.restype = _i64
        lib.sp_labels.argtypes = [_ptr, _i64, _i64, _i64, _i64, _i32, ctypes.POINTER(ctypes.c_void_p)]
        lib.sp_strokes.restype = _i32
        lib.sp_strokes.argtypes = [_ptr, _i64, _i64, _i64, _i64, _ptr, _ptr, ctypes.c_float]
        lib.sp_normal_noise.restype = None
        lib.sp_normal_noise.argtypes = [_ptr, _i64, _u64, _ptr]
        self._lib = lib

    def render(self, out, masks, ids, inv, box, atlas, active, kinds, params, tex, tex_row, gray, inverse,
               contrast, sigma, seed, index, lut, n_symbols):
        """See :meth:`synprobe.render.kernels.NumbaKernels.render`."""
        data, off, hw = atlas
        n, L = ids.shape
        H, W, C = out.shape[1:]
        a = [_c(ids, np.int64), _c(inv, np.float64), _c(box, np.int64), _c(data, np.uint8), _c(off, np.int64),
             _c(hw, np.int64), _c(active, np.uint8), _c(kinds, np.int64), _c(params, np.float64),
             _c(tex, np.float32), _c(tex_row, np.int64), _c(inverse, np.uint8), _c(sigma, np.float64),
             _c(index, np.int64), _c(lut, np.float32)]
        assert out.flags.c_contiguous and out.dtype == np.uint8
        if masks is not None:
            assert masks.flags.c_contiguous and masks.dtype == np.uint8 and masks.shape == (n, H, W, n_symbols)
        rc = self._lib.sp_render(out.ctypes.data, 0 if masks is None else masks.ctypes.data, n, L, n_symbols, H, W,
                                 C, *(x.ctypes.data for x in a[:11]), int(bool(gray)), a[11].ctypes.data,
                                 int(bool(contrast)), a[12].ctypes.data, int(seed), a[13].ctypes.data,
                                 a[14].ctypes.data)
        if rc != 0:
            raise MemoryError("render kernel: out of memory")

    def labels(self, tables: list, t: dict, res: str, index) -> bytes:
        """The JSON labels of attribute table ``t`` (see :func:`synprobe.render.labels.y_json`)."""
        import orjson

        n = len(t["n_symbols"])
        S = t["char"].shape[1]
        has_occ = "occluder_kind" in t
        K = t["occluder_kind"].shape[1] if has_occ else 0
        i64 = lambda a: np.ascontiguousarray(a, np.int64).ravel()  # noqa: E731
        txt = lambda a: orjson.dumps(np.ascontiguousarray(a, np.float64).ravel(),  # noqa: E731
                                     option=orjson.OPT_SERIALIZE_NUMPY) + b"\0"
        keep = [x for pair in tables for x in pair]
        keep += [i64(t["n_symbols"]), i64(t["background_kind"]), i64(t["background_seed"]),
                 i64(t["inverse_color"]), txt(t["pixel_noise"]), i64(index), res.encode() + b"\0"]
        keep += [i64(t[c]) for c in ("script", "char", "font", "bold", "foreground_kind", "foreground_seed")]
        keep += [np.ascontiguousarray(t["slant"], np.float64).ravel()]
        keep += [txt(t[c]) for c in ("slant", "rotation", "scale", "translation_x", "translation_y")]
        if has_occ:
            keep += [i64(t["n_occluders"])] + [i64(t["occluder_" + c]) for c in ("kind", "char", "font", "fg_kind",
                                                                                  "fg_seed")]
            keep += [txt(t["occluder_" + c]) for c in ("scale", "rotation", "translation_x", "translation_y")]
        ptrs = (ctypes.c_void_p * 39)(*[_address(x) for x in keep] + [None] * (39 - len(keep)))
        cap = n * (1024 + 512 * (S + K))
        while True:
            out = np.empty(cap, np.uint8)  # not zero-filled
            size = self._lib.sp_labels(out.ctypes.data, cap, n, S, K, int(has_occ), ptrs)
            if size >= 0:
                return out[:size].tobytes()
            if size == -2:
                raise ValueError("label assembler: malformed input")
            cap *= 2

    def strokes(self, out, seg, col, r):
        """See :meth:`synprobe.render.kernels.NumbaKernels.strokes`."""
        assert out.flags.c_contiguous and out.dtype == np.float32
        b, H, W = out.shape[:3]
        seg, col = _c(seg, np.float32), _c(col, np.uint8)
        if self._lib.sp_strokes(out.ctypes.data, b, H, W, seg.shape[1], seg.ctypes.data, col.ctypes.data,
                                float(np.float32(r))) != 0:
            raise MemoryError("stroke kernel: out of memory")

    def eval_patterns(self, out, kinds, params):
        b, H, W = out.shape[:3]
        assert out.flags.c_contiguous and out.dtype == np.float32
        k, p = _c(kinds, np.int64), _c(params, np.float64)
        if self._lib.sp_eval_patterns(out.ctypes.data, b, H, W, k.ctypes.data, p.ctypes.data) != 0:
            raise MemoryError("pattern kernel: out of memory")

    def normal_noise(self, out, key, lut):
        assert out.flags.c_contiguous and out.dtype == np.float32
        lut = _c(lut, np.float32)
        self._lib.sp_normal_noise(out.ctypes.data, len(out), int(key), lut.ctypes.data)


def _address(x) -> int:
    """Address of a bytes object's or a contiguous array's data (the caller keeps it alive)."""
    if isinstance(x, bytes):
        return ctypes.cast(ctypes.c_char_p(x), ctypes.c_void_p).value
    return x.ctypes.data


def _c(a, dtype) -> np.ndarray:
    return np.ascontiguousarray(a, dtype)


def load() -> tuple[CKernels | None, str]:
    """The compiled kernels (building them if needed), or (None, why not)."""
    cc = _compiler()
    if cc is None:
        return None, "no C compiler found (set CC)"
    root = cache_home() / "kernels"
    errors = []
    for flags in (_FLAGS + _NATIVE, _FLAGS):  # -march=native is not known to every compiler
        path = root / f"kernels-{_key(cc, flags)}.so"
        for attempt in (0, 1):
            if not path.exists():
                try:
                    err = _build(cc, flags, path)
                except OSError as e:
                    err = f"cannot build in {root}: {e.strerror or e}"
                if err is not None:
                    errors.append(err)
                    break
            try:
                return CKernels(path), ""
            except OSError as e:  # a damaged cached library (a full disk, a killed copy): rebuild once
                errors.append(f"{path}: {e}")
                if attempt == 0:
                    try:
                        path.unlink()
                    except OSError:
                        break
    return None, errors[-1] if errors else "unknown error"
