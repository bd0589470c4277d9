#!/usr/bin/env bash
# Re-run every experiment of docs/experiments.md and refresh its figures (docs/experiments/).
#   bash tools/experiments.sh [WORKDIR]      (default /tmp/synprobe-experiments; ~20 min on 2 cores)
# Two lanes run side by side, one torch thread each; results do not depend on the lane or the load.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
W="${1:-/tmp/synprobe-experiments}"
S="${SYNPROBE:-synprobe}"
mkdir -p "$W/runs" && cd "$W"
[ -f default.h5 ] || $S generate default -n 100000 -o default.h5 --seed 0
if [ ! -f ood.h5 ]; then
  cp default.h5 ood.tmp.h5
  $S split ood.tmp.h5 --kind extrapolation --by scale --range 0,0.7 --name scale_large >/dev/null
  $S split ood.tmp.h5 --kind extrapolation --by scale --range 0.5,inf --name scale_small >/dev/null
  mv ood.tmp.h5 ood.h5
fi
sed -e 's/^classes_per_task = 2/classes_per_task = 10/' -e 's/^n_tasks = 500/n_tasks = 1/' \
    -e 's/^description = .*/description = "Joint-training bound: the scole-10c-2pt rows in one task"/' \
    "$ROOT/scenarios/scole-10c-2pt.toml" > scole-joint.toml

R="-q --threads 1 --device cpu --overwrite"
NOISE="--epochs 40 --eval-every-epochs 1 --optimizer sgd --lr 0.02 --momentum 0.9 --batch-size 128 --model-arg hidden=256"
lane1() {
  $S run scole-10c-2pt --data default.h5 -o runs/ka-none --optimizer adam --lr 1e-3 $R
  $S run scole-10c-2pt --data default.h5 -o runs/ka-group --optimizer adam --lr 1e-3 --masking group $R
  $S run scole-10c-2pt --data default.h5 -o runs/ka-adam1e-4 --optimizer adam --lr 1e-4 $R
  $S run scole-10c-2pt --data default.h5 -o runs/ka-sgd --optimizer sgd --lr 0.01 $R
  $S run scole-joint.toml --data default.h5 -o runs/ka-joint --optimizer adam --lr 1e-3 --epochs 100 \
      --eval-every-epochs 5 $R
  $S run scole-10c-2pt --data default.h5 -o runs/ka-group-freq --optimizer adam --lr 1e-3 --masking group \
      --replay frequency $R
}
lane2() {
  $S run noisy-40-sym-joint --data default.h5 -o runs/noise-ce --loss ce $NOISE $R
  $S run noisy-40-sym-joint --data default.h5 -o runs/noise-elr --loss elr $NOISE $R
  $S run noisy-40-sym-joint --data default.h5 -o runs/noise-elr7 --loss elr --elr-lambda 7 --elr-beta 0.9 $NOISE $R
  $S run ood-font-scale --data ood.h5 -o runs/ood --epochs 30 --eval-every-epochs 1 --optimizer adam --lr 1e-3 $R
  $S run scole-longtail --data default.h5 -o runs/longtail-group --optimizer adam --lr 1e-3 --masking group $R
  for e in 15 40; do
    $S memorization noisy-40-sym-joint --data default.h5 -o runs/fz$e --runs 8 --subset 0.7 --epochs $e \
        --optimizer sgd --lr 0.02 --momentum 0.9 --batch-size 128 --model-arg hidden=256 $R
  done
}
lane1 > lane1.log 2>&1 &
lane2 > lane2.log 2>&1 &
wait
cat lane1.log lane2.log

$S report runs/ka-none runs/ka-group runs/ka-adam1e-4 runs/ka-sgd -o report-ka
$S report runs/noise-ce runs/noise-elr runs/noise-elr7 -o report-noise
$S report runs/ka-joint runs/ka-group-freq runs/ood runs/longtail-group --no-plots
F="$ROOT/docs/experiments"
mkdir -p "$F"
cp report-ka/ka_overlay.png "$F/ka_overlay.png"
cp report-noise/memorization_overlay.png "$F/memorization_overlay.png"
cp runs/ka-none/plots/accuracy_matrix.png "$F/ka-none-matrix.png"
cp runs/longtail-group/plots/per_class_vs_frequency.png "$F/longtail-per-class.png"
cp runs/noise-ce/plots/memorization.png "$F/noise-ce-memorization.png"
cp runs/noise-elr7/plots/memorization.png "$F/noise-elr7-memorization.png"
cp runs/ood/plots/ka.png "$F/ood-ka.png"
cp runs/fz40/plots/mem_hist.png "$F/fz-mem-hist.png"
cp runs/fz40/plots/most_memorized.png "$F/fz-most-memorized.png"
echo "figures: $F"
