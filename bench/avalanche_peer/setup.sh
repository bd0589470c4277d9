#!/usr/bin/env bash
# Idempotent set-up of the Avalanche 0.6.0 (PyPI `avalanche-lib`) peer benchmark environment.
#   bash bench/avalanche_peer/setup.sh        # venv at $AVALANCHE_VENV or /tmp/avalanche-venv
# Env: AVALANCHE_VENV (venv path), PYTHON (interpreter used to create it; default python3).
# The venv gets torch 2.14.1 / torchvision 0.29.1 (the versions synprobe's dev venv uses),
# avalanche-lib 0.6.0 with its dependencies, and synprobe itself (editable, from this repo) so
# the peer script can read synprobe files and build synprobe's model.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${AVALANCHE_VENV:-/tmp/avalanche-venv}"
PY="${PYTHON:-python3}"

# 1. Separate venv, outside the repo.
# shellcheck source=../_venv.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/_venv.sh"
make_venv "$VENV" "$PY"
VPY="$VENV/bin/python"

# 2. Python deps. torch/torchvision pinned to the dev venv's versions; avalanche-lib 0.6.0 pins
#    nothing itself (all its requirements are unversioned), so pip resolves current releases; none
#    needed pinning with torch 2.14.1 (tested: numpy 2.4.6, torchmetrics 1.9.0, pytorchcv 0.0.74,
#    qpsolvers 4.13.0, wandb 0.31.0, scikit-learn 1.9.1). pip's notes about local index folders
#    that lack a package are filtered out.
pipq() { "$VPY" -m pip "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }; }
if ! "$VPY" - >/dev/null 2>&1 <<'PYEOF'
import importlib.metadata as m
assert m.version("avalanche-lib") == "0.6.0"
assert m.version("torch").split("+")[0] == "2.14.1"
assert m.version("torchvision").split("+")[0] == "0.29.1"
import avalanche.training, synprobe.scenarios  # noqa: F401
PYEOF
then
    pipq install --quiet --upgrade pip
    pipq install --quiet "torch==2.14.1" "torchvision==0.29.1" "avalanche-lib==0.6.0"
    pipq install --quiet -e "$REPO"
fi

# 3. Smoke test: Naive over a two-experience benchmark of random tensors, built the way
#    run_avalanche.py builds its benchmark.
"$VPY" -W ignore - <<'PYEOF'
import importlib.metadata as m
import torch
from avalanche.benchmarks.scenarios.dataset_scenario import benchmark_from_datasets
from avalanche.benchmarks.utils import as_classification_dataset
from avalanche.evaluation.metrics import accuracy_metrics
from avalanche.training.plugins import EvaluationPlugin
from avalanche.training.supervised import Naive

torch.manual_seed(0)
ds = torch.utils.data.TensorDataset(torch.randn(256, 3, 32, 32), torch.randint(0, 4, (256,)))
ds.targets = ds.tensors[1].tolist()
full = as_classification_dataset(ds)
bm = benchmark_from_datasets(train=[full.subset(range(128)), full.subset(range(128, 256))], test=[full])
model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 4))
strategy = Naive(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.01), train_mb_size=64,
                 evaluator=EvaluationPlugin(accuracy_metrics(stream=True), loggers=[]))
for exp in bm.train_stream:
    strategy.train(exp)
    acc = strategy.eval(bm.test_stream)
print(f"avalanche-lib {m.version('avalanche-lib')} ok ({sorted(acc)[0]} = {list(acc.values())[0]:.3f}); "
      f"torch {torch.__version__}, torchvision {m.version('torchvision')}, numpy {m.version('numpy')}")
PYEOF
echo "peer venv ready: $VPY"
