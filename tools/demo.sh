#!/usr/bin/env bash
# `make demo`: the whole CoBra pipeline on the synthetic dataset with small
# models on the CPU (under 10 minutes on 2 cores), then CAM/mask panels.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${DEMO_WORK_DIR:-demo_work_dir}
DATA=${DEMO_DATA:-data/synthetic}
start=$(date +%s)
python tools/run_pipeline.py configs/pipeline/synthetic_demo.py \
    --work-dir "$WORK" --cfg-options dataset.data_root="$DATA"
threshold=$(python -c "import json; print(json.load(open('$WORK/seed_eval.json'))['fuse/fixed']['threshold'])")
# CAM, seed and pseudo-mask panels of six training images, from the
# trained checkpoints (tools/visualize_cams.py, on CoBraInferencer)
images=$(head -n 6 "$DATA/ImageSets/Segmentation/train.txt" | sed "s|^|$DATA/JPEGImages/|; s|\$|.jpg|")
python tools/visualize_cams.py "$WORK/configs/cobra.py" \
    "$(cat "$WORK/cobra/last_checkpoint")" $images \
    --irn-config "$WORK/configs/irn.py" \
    --irn-checkpoint "$(cat "$WORK/irn/last_checkpoint")" \
    --out-dir "$WORK/panels" --seed-threshold "$threshold" > /dev/null
echo "demo finished in $(( $(date +%s) - start )) s"
echo "summary: $WORK/summary.md; CAM and mask panels: $WORK/panels/"
