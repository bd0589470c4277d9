"""The wheel: bundled fonts and recipes ship inside it and work from a non-editable install.

The wheel is installed with ``pip install --no-deps --target`` (its dependencies come from the
running interpreter's site-packages) and exercised from an unrelated working directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHECK = r"""
import json, sys
from pathlib import Path
import synprobe
from synprobe.paths import bundled
from synprobe.fonts import FontRegistry
from synprobe.recipe import load_recipe, list_recipes
from synprobe.io.h5 import read_info
from synprobe.scenarios.recipe import list_scenarios
from synprobe.datasets import list_catalog
reg = FontRegistry.load(user=False)
assert "scole-10c-2pt" in list_scenarios() and "default" in list_catalog()
nat = load_recipe("natural-patterns")  # its image_dir resolves inside the installed package
assert nat.background.image_dir == "bundled:textures", nat.background.image_dir  # recorded install-independently
r = synprobe.generate("default", 64, "tiny.h5", workers=1, resolution=8)
print(json.dumps({
    "file": synprobe.__file__,
    "fonts": str(bundled("fonts")),
    "generators": str(bundled("generators")),
    "n_fonts": len(reg),
    "font_path": str(reg.entry(reg.ids("latin")[0]).path),
    "recipes": sorted(list_recipes()),
    "resolution": list(load_recipe("default").resolution),
    "n": read_info("tiny.h5")["n"],
    "kernels": __import__("synprobe.render.backend", fromlist=["kernels"]).kernels().name,
}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(out)],
                   check=True, capture_output=True, timeout=300)
    (whl,) = out.glob("synprobe-*.whl")
    return whl


def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "synprobe/__init__.py" in names
    assert "synprobe/_data/fonts/manifest.json" in names
    assert "synprobe/_data/fonts/coverage.json" in names
    assert "synprobe/_data/generators/default.toml" in names
    assert "synprobe/_data/generators/textures/clouds-0.png" in names  # natural-patterns' picture bank
    assert "synprobe/_data/scenarios/scole-10c-2pt.toml" in names
    assert "synprobe/catalog.toml" in names
    assert "synprobe/render/_kernels.c" in names and "synprobe/render/_labels.c" in names  # built on first use
    assert "synprobe/render/normal_lut.f32" in names
    assert not any(n.startswith(("tests/", "bench/")) for n in names)
    manifest = json.loads(zipfile.ZipFile(wheel).read("synprobe/_data/fonts/manifest.json"))
    shipped = set(names)
    missing = [e["file"] for e in manifest["fonts"] if f"synprobe/_data/fonts/{e['file']}" not in shipped]
    assert not missing, missing[:5]


def test_installed_wheel_works_from_elsewhere(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(site), SYNPROBE_HOME=str(tmp_path / "home"), SYNPROBE_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-c", CHECK], cwd=work, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    for k in ("file", "fonts", "generators", "font_path"):
        assert Path(got[k]).resolve().is_relative_to(site.resolve()), (k, got[k])
    assert got["n_fonts"] > 100
    assert "default" in got["recipes"] and got["resolution"] == [32, 32]
    assert got["n"] == 64 and (work / "tiny.h5").is_file()
    from synprobe.render.ckernels import load

    assert got["kernels"] == ("c" if load()[0] is not None else "numba")  # the installed sources compile
