#!/usr/bin/env bash
# A GPU training run of the wider config (train/configs/celeba128.json), as one command for the device tool
# (one GPU, 10 minutes at most). It has not made the shipped weights: those were trained on the project's
# CPU from train/configs/celeba128-cpu.json (see weights/training_record.json). Use it when a GPU is lent:
#
#   run(command="bash train/gpu_run.sh", carry=["cache/celeba-train-128px-all-MiniLM-L6-v2-<key>.pack"], timeout_s=600)
#
# It trains on the prepared pack (55 MiB; made on the CPU by `python -m train prepare --data
# ../shared/data/celeba-10k`, which prints its path; the GPU machine has neither the images nor the text
# encoder, and the pack plus the tracked tree must stay under the tool's 64 MiB: at the CelebA-10k pack's
# 6 KiB a face, a 24,000-face pack would need about 150 MiB) and writes into $OUT as it goes: weights/
# (the EMA generator exported at every checkpoint, with its card, progress grid and training record),
# train.log and gpu.txt. If torch.compile fails early, it trains eagerly instead.
#
# Rehearsal on a CPU: OUT=/tmp/out MINUTES=1 CONFIG=tiny.json PYTHON=.venv/bin/python bash train/gpu_run.sh
set -uo pipefail
: "${OUT:?set OUT to the folder that comes back}"
PYTHON=${PYTHON:-python3}
MINUTES=${MINUTES:-8}
CONFIG=${CONFIG:-train/configs/celeba128.json}
PACK=$(ls cache/celeba-train-128px-*.pack | head -n 1)
RUN=${RUN:-/tmp/t2f-run}
export PYTHONUNBUFFERED=1

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no GPU"
  "$PYTHON" -c "import torch, PIL; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'pillow', PIL.__version__)"
} > "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"

train() {  # $1: --compile or --no-compile, $2: minutes
    rm -rf "$RUN"
    "$PYTHON" -m train fit --pack "$PACK" --out "$RUN" --config "$CONFIG" "$1" --max-minutes "$2" \
        --export "$OUT/weights" 2>&1 | tee -a "$OUT/train.log"
}

start=$(date +%s)
train --compile "$MINUTES"
status=$?
elapsed=$(( $(date +%s) - start ))
if [ "$status" -ne 0 ] && [ "$elapsed" -lt 180 ]; then
    echo "compiled run failed after ${elapsed}s (status $status): training eagerly" | tee -a "$OUT/train.log"
    train --no-compile "$("$PYTHON" -c "print(max(0.5, $MINUTES - $elapsed / 60 - 0.5))")"
    status=$?
fi
exit "$status"
