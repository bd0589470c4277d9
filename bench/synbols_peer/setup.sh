#!/usr/bin/env bash
# Idempotent set-up of the Synbols 1.0.2 (PyPI) peer benchmark environment.
#   bash bench/synbols_peer/setup.sh            # venv at $SYNBOLS_VENV or /tmp/synbols-venv
# Env: SYNBOLS_VENV (venv path), PYTHON (interpreter used to create it; default python3),
#      SKIP_APT=1 (skip the apt-get step, e.g. when not root and deps are present).
set -euo pipefail

VENV="${SYNBOLS_VENV:-/tmp/synbols-venv}"
PY="${PYTHON:-python3}"

# 1. System deps: cairo headers for pycairo, pkg-config, fontconfig (fc-query / fc-match).
need_apt=0
for bin in pkg-config fc-query fc-match; do command -v "$bin" >/dev/null 2>&1 || need_apt=1; done
pkg-config --exists cairo 2>/dev/null || need_apt=1
if [ "${SKIP_APT:-0}" != "1" ] && [ "$need_apt" = "1" ]; then
    SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo"
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y libcairo2-dev pkg-config fontconfig
fi

# 2. Separate venv, outside the repo.
# shellcheck source=../_venv.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/_venv.sh"
make_venv "$VENV" "$PY"
VPY="$VENV/bin/python"

# 3. Python deps. synbols 1.0.2 uses np.int/np.bool (removed in NumPy 1.24); run.py sets
#    np.int = int at run time, so a current NumPy works. h5py must match that NumPy (any
#    recent h5py wheel does). Pins chosen so the combination is reproducible.
if ! "$VPY" -c 'import synbols, cairo, numpy, h5py, scipy, PIL, tqdm, importlib.metadata as m; assert m.version("synbols") == "1.0.2"' >/dev/null 2>&1; then
    "$VPY" -m pip install --quiet --upgrade pip
    "$VPY" -m pip install --quiet \
        "synbols==1.0.2" tqdm pillow scipy pycairo \
        "numpy>=1.26,<2.3" "h5py>=3.10"
fi

# 4. Smoke test: render a few images with a system font.
TQDM_DISABLE=1 "$VPY" -W ignore - <<'PYEOF'
import numpy as np
np.int = int  # synbols 1.0.2 uses np.int
import importlib.metadata as m
from synbols.utils import Alphabet
from synbols.generate import basic_attribute_sampler, dataset_generator
import subprocess
fam = subprocess.run(["fc-match", "-f", "%{family[0]}", "sans"], capture_output=True, text=True).stdout.strip() or "DejaVu Sans"
alpha = Alphabet("english", fonts=np.array([fam]), symbols=list("abc"))
s = basic_attribute_sampler(alphabet=alpha, resolution=(32, 32))
n = sum(1 for _ in dataset_generator(s, 5, dataset_seed=0))
print(f"synbols {m.version('synbols')} ok: rendered {n} images with font {fam!r}; "
      f"numpy {np.__version__}, h5py {m.version('h5py')}, pycairo {m.version('pycairo')}")
PYEOF
echo "peer venv ready: $VPY"
