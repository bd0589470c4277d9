#!/usr/bin/env python3
"""Peer benchmark: Synbols 1.0.2 (PyPI) on this machine, with synprobe's font manifest.

Run with the peer venv's interpreter (see setup.sh / README.md):

    /tmp/synbols-venv/bin/python bench/synbols_peer/run.py \
        --fonts-manifest fonts/manifest.json --script latin -n 3000 \
        --resolution 32 --mode generator --json /tmp/peer_32.json

What it does
------------
1. Reads synprobe's manifest ({"format": "synprobe-fonts/1", "fonts": [{id, file, family,
   style, scripts, role, ...}]}; "file" is relative to the manifest's folder unless
   --fonts-root is given).
2. Builds a private fontconfig setup: a temporary folder holding symlinks to *only* the
   manifest's font files (every role, so Bold requests can find the real bold files), and a
   fonts.conf that lists only that folder (plus the system rendering rules in
   /etc/fonts/conf.d: hinting, synthetic bold, aliases -- no system font dirs; disable with
   --no-system-rules). FONTCONFIG_FILE points to it before cairo is loaded.
3. For every manifest entry with role "regular" and the requested script, reads the family
   names fontconfig reports for that file, and resolves each name exactly the way cairo's
   toy API (Synbols' select_font_face) does: pattern {family, slant=roman, weight=medium},
   FcConfigSubstitute + FcDefaultSubstitute + FcFontMatch. A family is used only if the match
   is that very file; otherwise it is counted as a fallback (cairo would silently render
   another font) and excluded. Files fontconfig cannot read are counted separately.
4. Synbols: Alphabet("english", fonts=np.array(families), symbols=list(a-zA-Z)),
   basic_attribute_sampler(alphabet=..., resolution=(R, R)), then either
   dataset_generator(sampler, n, dataset_seed=0) fully consumed (mode generator) or
   generate_and_write_dataset(path, sampler, n, seed=0) (mode write: HDF5 + preview + splits).
5. Times the steady state after a warm-up (default 200 images, excluded), and the whole
   process (from process start, imports and font set-up included).
"""
import argparse
import ctypes
import ctypes.util
import datetime
import json
import os
import platform
import shutil
import sys
import tempfile
import time

T_SCRIPT0 = time.time()

LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
SCRIPT_SYMBOLS = {"latin": LATIN}

# fontconfig constants (fontconfig.h)
FC_SLANT_ROMAN = 0
FC_WEIGHT_MEDIUM = 100  # cairo toy API, CAIRO_FONT_WEIGHT_NORMAL
FC_WEIGHT_BOLD = 200    # cairo toy API, CAIRO_FONT_WEIGHT_BOLD
FC_MATCH_PATTERN = 0
FC_RESULT_MATCH = 0


def process_start_epoch():
    """Wall-clock time when this process started (Linux /proc), else script start."""
    try:
        with open("/proc/self/stat") as f:
            stat = f.read()
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        hz = os.sysconf("SC_CLK_TCK")
        return time.time() - (uptime - start_ticks / hz)
    except Exception:
        return T_SCRIPT0


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ---------------------------------------------------------------------------------------
# fontconfig through ctypes (same library cairo uses; no pattern-string parsing, so family
# names with spaces, quotes, colons, dashes or commas are handled exactly).
# ---------------------------------------------------------------------------------------
class _FcFontSet(ctypes.Structure):
    _fields_ = [("nfont", ctypes.c_int), ("sfont", ctypes.c_int),
                ("fonts", ctypes.POINTER(ctypes.c_void_p))]


class Fontconfig:
    def __init__(self):
        name = ctypes.util.find_library("fontconfig") or "libfontconfig.so.1"
        fc = ctypes.CDLL(name)
        vp, cp, ci = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
        sigs = {
            "FcInit": ([], ci),
            "FcGetVersion": ([], ci),
            "FcPatternCreate": ([], vp),
            "FcPatternDestroy": ([vp], None),
            "FcPatternAddString": ([vp, cp, cp], ci),
            "FcPatternAddInteger": ([vp, cp, ci], ci),
            "FcPatternAddDouble": ([vp, cp, ctypes.c_double], ci),
            "FcPatternGetString": ([vp, cp, ci, ctypes.POINTER(ctypes.c_char_p)], ci),
            "FcPatternGetInteger": ([vp, cp, ci, ctypes.POINTER(ci)], ci),
            "FcObjectSetCreate": ([], vp),
            "FcObjectSetAdd": ([vp, cp], ci),
            "FcObjectSetDestroy": ([vp], None),
            "FcFontList": ([vp, vp, vp], ctypes.POINTER(_FcFontSet)),
            "FcFontSetDestroy": ([ctypes.POINTER(_FcFontSet)], None),
            "FcConfigSubstitute": ([vp, vp, ci], ci),
            "FcDefaultSubstitute": ([vp], None),
            "FcFontMatch": ([vp, vp, ctypes.POINTER(ci)], vp),
        }
        for fn, (args, res) in sigs.items():
            f = getattr(fc, fn)
            f.argtypes = args
            f.restype = res
        self.fc = fc
        if not fc.FcInit():
            raise RuntimeError("FcInit failed (bad FONTCONFIG_FILE?)")
        v = fc.FcGetVersion()
        self.version = "%d.%d.%d" % (v // 10000, v // 100 % 100, v % 100)

    def _strings(self, pat, obj):
        out, n = [], 0
        s = ctypes.c_char_p()
        while self.fc.FcPatternGetString(pat, obj, n, ctypes.byref(s)) == FC_RESULT_MATCH:
            out.append(s.value.decode("utf-8", "replace"))
            n += 1
        return out

    def _int(self, pat, obj, default=0):
        v = ctypes.c_int()
        if self.fc.FcPatternGetInteger(pat, obj, 0, ctypes.byref(v)) == FC_RESULT_MATCH:
            return v.value
        return default

    def list_fonts(self):
        """[(file, index, [families])] for every face the current config knows."""
        fc = self.fc
        pat = fc.FcPatternCreate()
        os_ = fc.FcObjectSetCreate()
        for o in (b"file", b"index", b"family"):
            fc.FcObjectSetAdd(os_, o)
        fs = fc.FcFontList(None, pat, os_)
        out = []
        try:
            for i in range(fs.contents.nfont):
                p = fs.contents.fonts[i]
                files = self._strings(p, b"file")
                out.append((files[0] if files else None, self._int(p, b"index"),
                            self._strings(p, b"family")))
        finally:
            fc.FcFontSetDestroy(fs)
            fc.FcObjectSetDestroy(os_)
            fc.FcPatternDestroy(pat)
        return out

    def match_toy(self, family, weight=FC_WEIGHT_MEDIUM, pixel_size=32.0):
        """(file, index) cairo's toy API would load for select_font_face(family, NORMAL, w)."""
        fc = self.fc
        pat = fc.FcPatternCreate()
        fc.FcPatternAddString(pat, b"family", family.encode("utf-8"))
        fc.FcPatternAddInteger(pat, b"slant", FC_SLANT_ROMAN)
        fc.FcPatternAddInteger(pat, b"weight", weight)
        fc.FcPatternAddDouble(pat, b"pixelsize", float(pixel_size))
        fc.FcConfigSubstitute(None, pat, FC_MATCH_PATTERN)
        fc.FcDefaultSubstitute(pat)
        res = ctypes.c_int()
        m = fc.FcFontMatch(None, pat, ctypes.byref(res))
        fc.FcPatternDestroy(pat)
        if not m:
            return None, 0
        files = self._strings(m, b"file")
        idx = self._int(m, b"index")
        fc.FcPatternDestroy(m)
        return (files[0] if files else None), idx


def _xml_escape(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def setup_fontconfig(entries, fonts_root, workdir, system_rules):
    """Symlink all manifest font files into workdir/fonts, write fonts.conf, export it.

    Returns {link_path: entry_index} and a list of missing-file entry indices."""
    fdir = os.path.join(workdir, "fonts")
    cdir = os.path.join(workdir, "fc-cache")
    shutil.rmtree(fdir, ignore_errors=True)  # a reused --workdir must not keep stale links
    os.makedirs(fdir, exist_ok=True)
    os.makedirs(cdir, exist_ok=True)
    link_of, missing = {}, []
    for i, e in enumerate(entries):
        src = os.path.join(fonts_root, e.get("file", ""))
        if not e.get("file") or not os.path.isfile(src):
            missing.append(i)
            continue
        ext = os.path.splitext(src)[1].lower() or ".ttf"
        link = os.path.join(fdir, "f%05d%s" % (i, ext))  # safe names, whatever the file's
        os.symlink(os.path.abspath(src), link)
        link_of[i] = link
    conf = os.path.join(workdir, "fonts.conf")
    rules = ""
    if system_rules and os.path.isdir("/etc/fonts/conf.d"):
        rules = '  <include ignore_missing="yes">/etc/fonts/conf.d</include>\n'
    with open(conf, "w") as f:
        f.write('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
                "<fontconfig>\n  <dir>%s</dir>\n  <cachedir>%s</cachedir>\n%s</fontconfig>\n"
                % (_xml_escape(fdir), _xml_escape(cdir), rules))
    os.environ["FONTCONFIG_FILE"] = conf
    os.environ.pop("FONTCONFIG_PATH", None)
    os.environ.pop("FONTCONFIG_SYSROOT", None)
    return link_of, missing, fdir, conf


def resolve_families(entries, selected, link_of, missing, fdir, pixel_size):
    """Map selected manifest entries to family names that cairo resolves to their file."""
    fc = Fontconfig()
    listed = fc.list_fonts()
    by_file = {}
    foreign = set()
    for path, idx, fams in listed:
        if path is None:
            continue
        if os.path.dirname(os.path.abspath(path)) != fdir:
            foreign.add(path)
            continue
        by_file.setdefault(path, []).append((idx, fams))

    id_of_link = {l: entries[i].get("id", entries[i].get("file")) for i, l in link_of.items()}
    used = {}          # family -> entry id
    report = {"used": [], "fallback": [], "unreadable": [], "missing": [], "duplicate": []}
    bold_real = 0
    missing = set(missing)
    for i in selected:
        e = entries[i]
        eid = e.get("id", e.get("file"))
        if i in missing:
            report["missing"].append({"id": eid, "file": e.get("file")})
            continue
        link = link_of[i]
        faces = by_file.get(link)
        if not faces:
            report["unreadable"].append({"id": eid, "file": e.get("file")})
            continue
        want_index = int(e.get("index", e.get("face_index", 0)) or 0)
        faces.sort(key=lambda t: (t[0] != want_index, t[0]))
        names = []
        for _, fams in faces:
            for n in fams:
                if n not in names:
                    names.append(n)
        if e.get("family") and e["family"] not in names:
            names.append(e["family"])  # manifest's own name, as a last try
        chosen, tried = None, []
        for name in names:
            mfile, midx = fc.match_toy(name, FC_WEIGHT_MEDIUM, pixel_size)
            tried.append({"family": name,
                          "resolves_to": os.path.realpath(mfile) if mfile else None,
                          "resolves_to_id": id_of_link.get(mfile)})
            if mfile == link and (midx & 0xFFFF) == (want_index & 0xFFFF):
                chosen = name
                break
        if chosen is None:
            report["fallback"].append({"id": eid, "file": e.get("file"), "tried": tried})
            continue
        if chosen in used:
            report["duplicate"].append({"id": eid, "family": chosen, "same_as": used[chosen]})
            continue
        used[chosen] = eid
        bfile, _ = fc.match_toy(chosen, FC_WEIGHT_BOLD, pixel_size)
        is_real_bold = bfile is not None and bfile != link
        bold_real += is_real_bold
        report["used"].append({"id": eid, "family": chosen, "bold_file": is_real_bold})
    return sorted(used), report, bold_real, sorted(foreign), fc.version


def prepare_fonts(manifest_path, fonts_root, script, workdir, system_rules, pixel_size,
                  only_ids=None):
    """Steps 1-3 of the module docstring: the private fontconfig set-up and the families cairo
    resolves to their own file. only_ids: restrict the selected regular entries to these ids.

    Returns a dict: families (sorted family names), report (per-font details; report["used"]
    maps family -> manifest id), foreign, fc_version, summary, manifest_sha256, font_setup_s."""
    import hashlib
    with open(manifest_path, "rb") as f:
        raw = f.read()
    manifest = json.loads(raw)
    entries = manifest.get("fonts", [])
    fonts_root = os.path.abspath(fonts_root or os.path.dirname(os.path.abspath(manifest_path)))
    selected = [i for i, e in enumerate(entries)
                if e.get("role") == "regular"
                and (script == "*" or script in (e.get("scripts") or []))]
    if only_ids is not None:
        only_ids = set(only_ids)
        selected = [i for i in selected if entries[i].get("id") in only_ids]
    t_fc0 = time.time()
    link_of, missing, fdir, conf = setup_fontconfig(entries, fonts_root, workdir, system_rules)
    families, report, bold_real, foreign, fc_version = resolve_families(
        entries, selected, link_of, missing, fdir, pixel_size)
    summary = {
        "manifest_entries": len(entries),
        "selected_regular": len(selected),
        "fonts_used": len(families),
        "fonts_fallback_excluded": len(report["fallback"]),
        "fonts_duplicate_family_excluded": len(report["duplicate"]),
        "fonts_unreadable": len(report["unreadable"]),
        "fonts_missing_file": len(report["missing"]),
        "families_with_real_bold_file": bold_real,
        "foreign_fonts_visible": len(foreign),
    }
    return {"families": families, "report": report, "foreign": foreign, "fc_version": fc_version,
            "summary": summary, "manifest_sha256": hashlib.sha256(raw).hexdigest(),
            "fonts_root": fonts_root, "font_setup_s": time.time() - t_fc0}


def check_fonts(fonts, allow_missing):
    """Print the font summary and warnings to stderr; a non-zero exit code when unusable."""
    report, foreign = fonts["report"], fonts["foreign"]
    print("fonts: " + ", ".join("%s=%s" % kv for kv in fonts["summary"].items()), file=sys.stderr)
    for r in report["fallback"][:20]:
        print("  fallback excluded: %s (%s): %s" % (
            r["id"], r["file"], "; ".join("%r -> %s" % (t["family"], t["resolves_to_id"])
                                          for t in r["tried"])), file=sys.stderr)
    if foreign:
        print("  WARNING: fontconfig also sees %d fonts outside the manifest, e.g. %s"
              % (len(foreign), foreign[:3]), file=sys.stderr)
    if report["missing"]:
        print("  WARNING: %d manifest font files are missing under %s, e.g. %s"
              % (len(report["missing"]), fonts["fonts_root"], report["missing"][0]["file"]),
              file=sys.stderr)
        if not allow_missing:
            print("  (is fonts/ fully built? pass --allow-missing to benchmark anyway)",
                  file=sys.stderr)
            return 3
    if not fonts["families"]:
        print("no usable font family; nothing to benchmark", file=sys.stderr)
        return 2
    return 0


def import_synbols():
    """Import Synbols 1.0.2 on current NumPy (np.int shim, locale warning silenced).

    Returns (Alphabet, basic_attribute_sampler, dataset_generator, generate_and_write_dataset)."""
    import importlib.metadata as md
    import warnings

    import numpy as np
    if not hasattr(np, "int") or np.__dict__.get("int") is None:
        np.int = int  # synbols 1.0.2 uses np.int (removed in NumPy 1.24)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "locale data path was not found"
        from synbols.utils import Alphabet
        from synbols.generate import (basic_attribute_sampler, dataset_generator,
                                      generate_and_write_dataset)
    peer_version = md.version("synbols")
    assert peer_version == "1.0.2", "expected synbols 1.0.2, got " + peer_version
    return Alphabet, basic_attribute_sampler, dataset_generator, generate_and_write_dataset


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fonts-manifest", required=True)
    ap.add_argument("--fonts-root", default=None,
                    help="folder the manifest's 'file' paths are relative to "
                         "(default: the manifest's folder)")
    ap.add_argument("--script", default="latin", help="manifest script to use ('*' = any)")
    ap.add_argument("-n", type=int, default=3000)
    ap.add_argument("--resolution", type=int, default=32)
    ap.add_argument("--mode", choices=("generator", "write"), default="generator")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="write the result here")
    ap.add_argument("--out-dir", default=None,
                    help="mode write: where the .h5py goes (default: a temp dir, removed)")
    ap.add_argument("--workdir", default=None,
                    help="fontconfig work folder (default: a temp dir, removed)")
    ap.add_argument("--no-system-rules", action="store_true",
                    help="do not include /etc/fonts/conf.d rendering/alias rules")
    ap.add_argument("--allow-missing", action="store_true",
                    help="run even if some manifest font files are missing (default: exit 3)")
    ap.add_argument("--progress", action="store_true", help="show Synbols' tqdm bar")
    ap.add_argument("--list-only", action="store_true",
                    help="resolve fonts, print the report, do not generate")
    ap.add_argument("--details", action="store_true",
                    help="include per-font resolution details in the JSON")
    args = ap.parse_args()
    t_proc0 = process_start_epoch()

    if args.script not in SCRIPT_SYMBOLS and args.script != "*":
        ap.error("only --script latin is supported (symbols a-zA-Z)")
    symbols = list(SCRIPT_SYMBOLS.get(args.script, LATIN))
    if not args.progress:
        os.environ["TQDM_DISABLE"] = "1"  # tqdm>=4.66: silence Synbols' progress bar

    own_workdir = args.workdir is None
    workdir = args.workdir or tempfile.mkdtemp(prefix="synbols-peer-")
    out_dir = None
    try:
        fonts = prepare_fonts(args.fonts_manifest, args.fonts_root, args.script, workdir,
                              not args.no_system_rules, float(args.resolution))
        families, report, foreign = fonts["families"], fonts["report"], fonts["foreign"]
        summary, fc_version = fonts["summary"], fonts["fc_version"]
        font_setup_s, manifest_sha256 = fonts["font_setup_s"], fonts["manifest_sha256"]
        rc = check_fonts(fonts, args.allow_missing)
        if rc:
            return rc

        result = {"peer": "synbols 1.0.2"}
        if not args.list_only:
            # ---- Synbols (imports timed separately; excluded from steady state) ----
            t_imp0 = time.time()
            import numpy as np
            Alphabet, basic_attribute_sampler, dataset_generator, generate_and_write_dataset = \
                import_synbols()
            import_s = time.time() - t_imp0

            n, R = args.n, args.resolution
            warm = min(args.warmup, n // 5)
            alphabet = Alphabet("english", fonts=np.array(families), symbols=symbols)
            sampler = basic_attribute_sampler(alphabet=alphabet, resolution=(R, R))

            timing = {}
            if args.mode == "generator":
                t0 = time.perf_counter()
                t_warm = t0
                count = 0
                for i, (x, mask, y) in enumerate(dataset_generator(sampler, n,
                                                                   dataset_seed=args.seed)):
                    if i + 1 == warm:
                        t_warm = time.perf_counter()
                    count += 1
                t1 = time.perf_counter()
                assert count == n and x.shape[:2] == (R, R), (count, x.shape)
                timing["steady_images"] = n - warm
                timing["steady_s"] = t1 - t_warm
                timing["gen_total_s"] = t1 - t0
            else:
                calls = []

                def timed_sampler(seed=None):
                    calls.append(time.perf_counter())
                    return sampler(seed)

                out_dir = args.out_dir or tempfile.mkdtemp(prefix="synbols-peer-out-")
                os.makedirs(out_dir, exist_ok=True)
                path = os.path.join(out_dir, "peer_%s_%d" % (args.script.replace("*", "all"),
                                                            R))
                t0 = time.perf_counter()
                generate_and_write_dataset(path, timed_sampler, n, seed=args.seed)
                t1 = time.perf_counter()
                assert len(calls) == n, len(calls)
                t_warm = calls[warm] if warm > 0 else t0  # call #warm starts image warm+1
                timing["steady_images"] = n - warm
                timing["steady_s"] = t1 - t_warm
                timing["gen_total_s"] = t1 - t0
                timing["write_tail_s"] = t1 - calls[-1]  # last image + splits + close
                timing["h5_bytes"] = os.path.getsize(path + ".h5py")
                if args.out_dir:
                    timing["h5_path"] = path + ".h5py"
            ips = timing["steady_images"] / timing["steady_s"]
            result.update({
                "mode": args.mode,
                "n": n,
                "resolution": R,
                "script": args.script,
                "warmup_images": warm,
                "images_per_s_steady": round(ips, 1),
                "images_per_s_total": round(n / timing["gen_total_s"], 1),
                "import_s": round(import_s, 3),
            })
        result.update({
            "fonts_used": len(families),
            "fonts_fallback_excluded": len(report["fallback"]),
            "font_summary": summary,
            "font_setup_s": round(font_setup_s, 3),
            "manifest": os.path.abspath(args.fonts_manifest),
            "manifest_sha256": manifest_sha256,
        })
        if not args.list_only:
            result.update({k: (round(v, 3) if isinstance(v, float) else v)
                           for k, v in timing.items()})
            import numpy as np  # noqa: F811 (already imported)
            import importlib.metadata as md
            result["versions"] = {p: md.version(p) for p in
                                  ("synbols", "numpy", "h5py", "pycairo", "tqdm")}
            import cairo
            result["versions"]["cairo"] = cairo.cairo_version_string()
        result["versions"] = dict(result.get("versions", {}), fontconfig=fc_version)
        result.update({
            "wall_s": round(time.time() - t_proc0, 3),
            "python": "%s %s" % (platform.python_implementation(), platform.python_version()),
            "cpu": cpu_model(),
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
        })
        if args.details:
            result["font_report"] = report
            result["families"] = families
            result["foreign_fonts"] = foreign
        text = json.dumps(result, indent=2, ensure_ascii=False)
        print(text)
        if args.json:
            os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
            with open(args.json, "w") as f:
                f.write(text + "\n")
        return 0
    finally:
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        if out_dir and not args.out_dir:
            shutil.rmtree(out_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
