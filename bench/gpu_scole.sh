#!/usr/bin/env bash
# SCoLe's 500-task stream on a GPU with the small CNN and ResNet-18, checked against the CPU run of the same
# seed (issue 14). About 3-6 minutes on one modern GPU; results in bench/results/gpu_scole_cuda.json.
#
#   bash bench/gpu_scole.sh            # CUDA when usable; otherwise (or with --cpu) a reduced run on the CPU
#   bash bench/gpu_scole.sh --cpu      # the reduced form (what CI runs: tests/test_gpu_path.py)
#   bash bench/gpu_scole.sh --data default.h5 --out scole.json
#
# Python: $PYTHON, else the repository's .venv, else python3. Details: bench/bench_gpu_scole.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
exec "$PY" bench/bench_gpu_scole.py "$@"
