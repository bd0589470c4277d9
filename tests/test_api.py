"""The public API: a light ``import synprobe`` and a checked ``__all__``."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

import synprobe
from synprobe.paths import bundled

HEAVY = ("h5py", "PIL", "cv2", "freetype", "torch", "numba")


def test_import_is_light():
    code = (
        "import json, sys; import synprobe; "
        f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


@pytest.mark.parametrize("module", ["synprobe.recipe", "synprobe.sampling", "synprobe.dists", "synprobe.rng",
                                    "synprobe.noise", "synprobe.splits", "synprobe.load", "synprobe.harness",
                                    "synprobe.harness.config", "synprobe.harness.replay", "synprobe.harness.metrics",
                                    "synprobe.harness.outputs", "synprobe.harness.rundir", "synprobe.cli"])
def test_light_modules_stay_light(module):
    code = (f"import json, sys; import {module}; "
            "print(json.dumps([m for m in ('h5py', 'PIL', 'cv2', 'torch') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def _public_names_defined_in_init() -> set[str]:
    src = (bundled("generators").parent / "synprobe" / "__init__.py")
    if not src.is_file():  # installed from a wheel
        src = __import__("pathlib").Path(synprobe.__file__)
    tree = ast.parse(src.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            names |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
            if [getattr(t, "id", None) for t in node.targets] == ["_LAZY"]:  # loaded on first access
                names |= {k.value for k in node.value.keys}
    return {n for n in names if not n.startswith("_") or n == "__version__"} - {"annotations"}


def test_all_matches_public_names():
    assert sorted(synprobe.__all__) == sorted(set(synprobe.__all__)), "duplicates in __all__"
    assert set(synprobe.__all__) == _public_names_defined_in_init()
    for name in synprobe.__all__:
        assert hasattr(synprobe, name), name


def test_version_matches_metadata():
    from importlib.metadata import version

    assert synprobe.__version__ == version("synprobe")


def test_errors_derive_from_builtins():
    assert issubclass(synprobe.InvalidRecipe, ValueError)
    assert issubclass(synprobe.FontError, FileNotFoundError)
    assert issubclass(synprobe.IncompleteFileError, synprobe.FormatError)
    for name in ("InvalidRecipe", "FontError", "FontCoverageError", "FormatError", "IncompleteFileError"):
        assert issubclass(getattr(synprobe, name), synprobe.SynprobeError)


def test_top_level_generate(tmp_path):
    code = "import synprobe; r = synprobe.generate('default', 64, 'a.h5', workers=1, resolution=8); print(r.n)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "64" and (tmp_path / "a.h5").is_file()


def test_top_level_generate_can_be_called_twice(tmp_path):
    code = ("import synprobe\n"
            "synprobe.generate('default', 64, 'a.h5', workers=1, resolution=8)\n"
            "synprobe.generate('default', 64, 'b.h5', workers=1, resolution=8)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr.strip().splitlines()[-1]


def test_every_error_class_survives_pickling():
    """Errors travel back from worker processes (generation, --jobs): each must unpickle to the same message."""
    import pickle

    import synprobe.datasets
    import synprobe.harness.errors
    import synprobe.harness.metrics
    import synprobe.load
    import synprobe.noise
    import synprobe.scenarios
    import synprobe.splits  # noqa: F401 - imported for their error classes
    from synprobe.errors import InvalidRecipe, SynprobeError

    def subclasses(c):
        for s in c.__subclasses__():
            yield s
            yield from subclasses(s)

    classes = set(subclasses(SynprobeError)) | {SynprobeError}
    assert len(classes) >= 12
    for cls in classes:
        e = cls("gen.toml", "symbol.scale", "expected > 0") if cls is InvalidRecipe else cls("x.h5: something wrong")
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is cls and str(back) == str(e)
