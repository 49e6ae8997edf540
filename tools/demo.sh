#!/usr/bin/env bash
# `make demo`: the whole CoBra pipeline on the synthetic dataset with small
# models on the CPU (about 12 minutes on 2 cores), then CAM/mask panels.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${DEMO_WORK_DIR:-demo_work_dir}
DATA=${DEMO_DATA:-data/synthetic}
start=$(date +%s)
python tools/run_pipeline.py configs/pipeline/synthetic_demo.py \
    --work-dir "$WORK" --cfg-options dataset.data_root="$DATA"
threshold=$(python -c "import json; print(json.load(open('$WORK/seed_eval.json'))['fuse/fixed']['threshold'])")
python tools/visualize_cams.py "$WORK/seeds" --data-root "$DATA" \
    --mask-dir "$WORK/masks" --out-dir "$WORK/panels" --best 3 --worst 3 \
    --threshold "$threshold" > /dev/null
echo "demo finished in $(( $(date +%s) - start )) s"
echo "summary: $WORK/summary.md; CAM and mask panels: $WORK/panels/"
