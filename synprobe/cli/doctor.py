"""``synprobe doctor``: what a bug report needs, in one command."""

from __future__ import annotations

import click

from synprobe.cli._errors import friendly_errors

PACKAGES = ("numpy", "h5py", "freetype-py", "opencv-python-headless", "fonttools", "click", "orjson", "numba",
            "torch", "torchvision", "matplotlib")


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of lines.")
@friendly_errors
def doctor(as_json) -> None:
    """Print versions, the rendering kernels in use, cache locations and sizes, the fonts and
    torch/CUDA availability (paste it into a bug report)."""
    import json

    report = _report()
    if as_json:
        click.echo(json.dumps(report, indent=1, sort_keys=True))
        return
    for section, values in report.items():
        click.echo(f"{section}:")
        for k, v in values.items():
            click.echo(f"  {k}: {v}")


def _report() -> dict:
    import platform
    import sys

    from synprobe._version import __version__

    return {
        "synprobe": {"version": __version__, "location": str(_package_dir())},
        "python": {"version": platform.python_version(), "executable": sys.executable,
                   "platform": platform.platform()},
        "packages": _versions(),
        "kernels": _kernels(),
        "torch": _torch(),
        "fonts": _fonts(),
        "cache": _cache(),
        "environment": _environment(),
    }


def _package_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent  # synprobe/cli/doctor.py -> synprobe/


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _kernels() -> dict:
    from synprobe.config import kernels_setting
    from synprobe.errors import SynprobeError

    choice = kernels_setting()
    try:
        from synprobe.render.backend import kernels

        k = kernels()
    except SynprobeError as e:
        return {"choice": choice, "in use": "none", "error": str(e)}
    out = {"choice": choice, "in use": k.name}
    if getattr(k, "why", ""):
        out["why not C"] = k.why
    if getattr(k, "path", None):
        out["library"] = str(k.path)
    return out


def _torch() -> dict:
    try:
        import torch
    except ImportError:
        from synprobe.errors import install_hint

        return {"installed": False, "hint": f"{install_hint('train')} for training"}
    out = {"installed": True, "version": torch.__version__, "cuda build": torch.version.cuda or "none",
           "cuda available": torch.cuda.is_available()}
    if torch.cuda.is_available():
        cap = torch.cuda.get_device_capability(0)
        out.update(gpu=torch.cuda.get_device_name(0), capability=f"{cap[0]}.{cap[1]}",
                   bf16=torch.cuda.is_bf16_supported())
    return out


def _fonts() -> dict:
    from synprobe.errors import SynprobeError

    try:
        from synprobe.fonts import FontRegistry

        reg = FontRegistry.load()
    except SynprobeError as e:
        return {"error": str(e)}
    from synprobe.scripts import SCRIPTS

    return {"manifest sha256": getattr(reg, "manifest_sha256", ""), "regular fonts": len(reg.ids()),
            "per script": ", ".join(f"{s} {len(reg.ids(script=s))}" for s in SCRIPTS)}


def _cache() -> dict:
    from synprobe.config import cache_home, user_home

    root = cache_home()
    out = {"SYNPROBE_CACHE": str(root)}
    for sub in ("kernels", "numba", "glyphs", "datasets", "versions"):
        p = root / sub
        out[sub] = f"{_size(p)} in {p}" if p.exists() else "empty"
    out["SYNPROBE_HOME (user fonts)"] = str(user_home())
    return out


def _size(p) -> str:
    from synprobe.paths import format_size

    return format_size(sum(f.stat().st_size for f in p.rglob("*") if f.is_file()))


def _environment() -> dict:
    from synprobe.config import environment

    return environment() or {"(none set)": ""}
