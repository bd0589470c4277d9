"""Generation speed: synprobe against Synbols 1.0.2 on the same machine, same fonts.

    python bench/bench_generate.py                     # everything (about 10 minutes on 2 cores)
    python bench/bench_generate.py --n 20000 --no-peer # quick look

What is timed:
- synprobe: the whole ``synprobe generate default -n N`` process (start-up, font registry,
  glyph rasterisation, rendering, HDF5 writing), wall clock, with compiled kernels cached (the
  very first run on a machine compiles them: timed separately as ``cold_start``). Each
  configuration runs twice: ``cold`` with an empty glyph-atlas cache (every glyph rasterised in
  the run) and ``warm`` with the atlas the first run saved (what a researcher's second run sees).
  Python's bytecode cache is allowed (``PYTHONDONTWRITEBYTECODE`` is dropped from the runs'
  environment): an installed package has it, and compiling synprobe's modules anew in every run
  would add ~80 ms that no user pays.
- Synbols 1.0.2: its steady rate (``bench/synbols_peer/run.py``, generator mode: attributes,
  image and mask per sample; imports and font set-up excluded), with exactly the fonts synprobe
  samples (the registry's non-duplicate regular Latin faces, plus their bold files).
Results go to stdout (a markdown table) and ``bench/results/generate.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import machine_info  # bench/ is on sys.path when a bench script runs

ROOT = Path(__file__).resolve().parents[1]


def _synprobe() -> list[str]:
    exe = shutil.which("synprobe")
    return [exe] if exe else [sys.executable, str(ROOT / "cli.py")]


def run_synprobe(n: int, res: int, workers: int, tmp: Path, env=None, label: str = "") -> dict:
    out = tmp / f"b-{res}-{workers}.h5"
    cmd = _synprobe() + ["generate", "default", "-n", str(n), "-o", str(out), "--resolution", str(res),
                         "--workers", str(workers), "-q", "--no-preview", "--overwrite"]
    os.sync()  # start every run with no dirty pages left by the previous one (writeback noise)
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)  # every process of the run
    size = out.stat().st_size
    out.unlink()
    return {"n": n, "resolution": res, "workers": workers, "atlas": label, "wall_s": round(wall, 3),
            "cpu_s": round(cpu, 3),
            "images_per_s": round(n / wall, 1), "file_mb": round(size / 1e6, 1),
            "command": " ".join(["synprobe"] + cmd[len(_synprobe()):])}


def peer_manifest(tmp: Path) -> Path:
    """The bundled manifest restricted to the fonts synprobe samples for Latin (+ their bold files)."""
    from synprobe.fonts import FontRegistry

    reg = FontRegistry.load(user=False)
    keep = set(reg.ids("latin"))
    keep |= {reg.entry(i).bold for i in list(keep) if reg.entry(i).bold}
    src = ROOT / "fonts" / "manifest.json"
    man = json.loads(src.read_text())
    man["fonts"] = [e for e in man["fonts"] if e["id"] in keep]
    dst = tmp / "manifest-latin.json"
    dst.write_text(json.dumps(man))
    return dst


def run_peer(py: str, res: int, n: int, tmp: Path) -> dict:
    out = tmp / f"peer-{res}.json"
    cmd = [py, str(ROOT / "bench/synbols_peer/run.py"), "--fonts-manifest", str(peer_manifest(tmp)),
           "--fonts-root", str(ROOT / "fonts"), "--script", "latin", "-n", str(n), "--resolution", str(res),
           "--mode", "generator", "--json", str(out)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    r = json.loads(out.read_text())
    return {"resolution": res, "n": n, "images_per_s": r["images_per_s_steady"], "fonts_used": r["fonts_used"],
            "fonts_fallback_excluded": r["fonts_fallback_excluded"], "versions": r.get("versions"),
            "command": "python bench/synbols_peer/run.py --fonts-manifest <latin subset> --fonts-root fonts "
                       f"--script latin -n {n} --resolution {res} --mode generator"}


def machine() -> dict:
    return machine_info()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="images per synprobe run")
    ap.add_argument("--n-scaling", type=int, default=200_000, help="images for the 1 -> all workers run")
    ap.add_argument("--peer-n", type=int, default=3000)
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--peer-python", default=os.environ.get("SYNBOLS_VENV", "/tmp/synbols-venv") + "/bin/python")
    ap.add_argument("--repeat", type=int, default=3, help="runs per configuration; the median is reported")
    ap.add_argument("--json", default=str(ROOT / "bench/results/generate.json"))
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    res: dict = {"machine": machine(), "synprobe": [], "peer": []}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cold_cache = dict(base, SYNPROBE_CACHE=str(tmp / "cold-cache"))
        res["cold_start"] = run_synprobe(1000, 32, 1, tmp, cold_cache, "none")  # compiles the kernels
        cache = tmp / "cache"
        for kind in ("kernels", "numba"):  # compiled kernels (C, or numba without a compiler), no atlas
            if (tmp / "cold-cache" / kind).exists():
                shutil.copytree(tmp / "cold-cache" / kind, cache / kind)

        def pair(n, r, w):
            """Median of ``--repeat`` runs each with an empty atlas (cold) and with the atlas it saved (warm)."""
            env = dict(base, SYNPROBE_CACHE=str(cache))
            runs = {"cold": [], "warm": []}
            for _ in range(args.repeat):
                shutil.rmtree(cache / "glyphs", ignore_errors=True)
                runs["cold"].append(run_synprobe(n, r, w, tmp, env, "cold"))
                runs["warm"].append(run_synprobe(n, r, w, tmp, env, "warm"))
            return [_median(v) for v in runs.values()]

        peer = not args.no_peer and Path(args.peer_python).exists()
        # the peer runs once before synprobe's runs and the other times after them: a machine whose
        # speed drifts during the benchmark moves both sides of the ratio
        first = {r: [run_peer(args.peer_python, r, args.peer_n, tmp)] for r in (32, 64)} if peer else {}
        for r in (32, 64):
            for w in sorted({1, cores}):
                res["synprobe"] += pair(args.n, r, w)
        res["scaling"] = [x for w in sorted({1, min(2, cores)}) for x in pair(args.n_scaling, 32, w)]
        if peer:
            res["peer"] = [_median(first[r] + [run_peer(args.peer_python, r, args.peer_n, tmp)
                                               for _ in range(args.repeat - 1)]) for r in (32, 64)]
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(res, indent=1))
    print(report(res))
    print(f"\nresults: {args.json}")


def _median(runs: list[dict]) -> dict:
    """The run with the median images/s, with every run's rate kept under ``all_images_per_s``."""
    rates = sorted(r["images_per_s"] for r in runs)
    mid = next(r for r in runs if r["images_per_s"] == rates[(len(rates) - 1) // 2])
    return dict(mid, all_images_per_s=[r["images_per_s"] for r in runs])


def report(res: dict) -> str:
    peer = {p["resolution"]: p["images_per_s"] for p in res["peer"]}
    lines = [f"machine: {res['machine']['cpu']}, {res['machine']['cores']} cores, Python {res['machine']['python']}, "
             f"{res['machine']['date']}", "",
             "| resolution | workers | images | glyph atlas | synprobe images/s (whole process) | "
             "CPU s (all processes) | Synbols 1.0.2 images/s (steady, 1 process) | ratio | ratio per core |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in res["synprobe"]:
        p = peer.get(r["resolution"])
        ratio = f"{r['images_per_s'] / p:.0f}x" if p else "-"
        per_core = f"{r['images_per_s'] / r['workers'] / p:.0f}x" if p else "-"
        lines.append(f"| {r['resolution']}x{r['resolution']} | {r['workers']} | {r['n']:,} | {r['atlas']} | "
                     f"{r['images_per_s']:,.0f} | {r.get('cpu_s', '-')} | {p if p else '-'} | {ratio} | {per_core} |")
    sc = {(r["workers"], r["atlas"]): r for r in res.get("scaling", [])}
    for label in ("cold", "warm"):
        one, two = sc.get((1, label)), sc.get((2, label))
        if one and two:
            lines.append(f"scaling, 32x32, {one['n']:,} images, {label} atlas: 1 worker {one['images_per_s']:,.0f}/s, "
                         f"2 workers {two['images_per_s']:,.0f}/s: {two['images_per_s'] / one['images_per_s']:.2f}x")
    # marginal rate: the extra images of the 200k run over the 100k run, per extra second; start-up
    # and the end of the run cancel out, what is left is how well the rendering itself scales
    base = {(r["workers"], r["atlas"]): r for r in res["synprobe"] if r["resolution"] == 32}
    for label in ("cold", "warm"):
        rates = {}
        for w in (1, 2):
            small, big = base.get((w, label)), sc.get((w, label))
            if small and big and big["wall_s"] > small["wall_s"]:
                rates[w] = (big["n"] - small["n"]) / (big["wall_s"] - small["wall_s"])
        if len(rates) == 2:
            lines.append(f"marginal rate (200k run minus 100k run), {label} atlas: 1 worker {rates[1]:,.0f}/s, "
                         f"2 workers {rates[2]:,.0f}/s: {rates[2] / rates[1]:.2f}x")
    c = res.get("cold_start")
    if c:
        lines += [f"cold start (empty kernel cache, 1,000 images): {c['wall_s']:.1f} s"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
