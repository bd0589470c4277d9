#!/usr/bin/env bash
# The GPU smoke test of the training harness (issue 18): build info, every model and strategy, host syncs
# over a 40-task run, raw steps/s, the 500-task SCoLe stream against 60 s. Under 5 minutes on one GPU.
#
#   bash bench/gpu_smoke.sh            # CUDA when usable; otherwise (or with --cpu) a reduced run on the CPU
#   bash bench/gpu_smoke.sh --cpu      # the reduced form (what CI runs: tests/test_gpu_path.py)
#   bash bench/gpu_smoke.sh --data default.h5 --out smoke.json
#
# Python: $PYTHON, else the repository's .venv, else python3. Details: bench/bench_train_smoke.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
exec "$PY" bench/bench_train_smoke.py "$@"
