#!/usr/bin/env bash
# Reproduces the bundled model resources/models/msn-fmnist: MSN pretraining of a small ViT on the
# 60,000 Fashion-MNIST training images without labels, the few-shot head from five labelled
# images per class, the evaluation tables in README.md, and the example images.
#   scripts/bundled-model.sh [WORK_DIR]   (default build/msn-fmnist)
#   STOP=N scripts/bundled-model.sh       (stop after epoch N of the 100-epoch schedule, default 100)
# The schedule ran in two parts: epochs 1-38 straight (resumed exactly from WORK_DIR/first), then
# a warm restart from that run's epoch-38 model (its optimizer state was lost with a machine):
# fresh AdamW moments, the learning rate climbing from start_lr back to the schedule's over one
# epoch. The second part keeps its resumable checkpoint in the repository
# (resources/training/msn-fmnist.ckpt, bf16 moments, replaced every epoch), so a run spread over
# sessions and machines goes on where the last one stopped; with it present, the script resumes it.
# 4.4 to 18.5 minutes an epoch on 2 idle cores, depending on the CPU (README).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-build/msn-fmnist}
STOP=${STOP:-100}
CKPT=${CKPT:-resources/training/msn-fmnist.ckpt}
F=/usr/share/datasets/fashion-mnist
CLI=build/bin/msnlens-cli
CLASSES="T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"
make build

# 1. Pretraining (no labels): preset fmnist-small on a 100-epoch schedule (warm-up, cosine
#    learning rate and weight decay over all 100), a model exported every 10 epochs.
PRETRAIN=($CLI pretrain --data $F/train-images-idx3-ubyte.gz --preset fmnist-small --config scripts/fmnist-pretrain.json)
if [ -f "$CKPT" ]; then
  "${PRETRAIN[@]}" --out "$WORK" --resume "$CKPT" --checkpoint "$CKPT" --checkpoint-moments bf16 --stop-after "$STOP"
else
  # 1a. Epochs 1-38, as they first ran.
  RESUME=()
  if [ -f "$WORK/first/checkpoint.pt" ]; then RESUME=(--resume "$WORK/first/checkpoint.pt"); fi
  "${PRETRAIN[@]}" --out "$WORK/first" --stop-after 38 "${RESUME[@]}"
  # 1b. The warm restart from epoch 38, to $STOP.
  "${PRETRAIN[@]}" --out "$WORK" --warm-start "$WORK/first/model" --rewarm-epochs 1 --checkpoint "$CKPT" \
       --checkpoint-moments bf16 --stop-after "$STOP"
fi

# 2. Few-shot accuracy on the 10,000 test images: MSN features, the same ViT at random
#    initialisation, raw pixels; 1/2/5/10 labels per class, seeds 0-4 (the README protocol),
#    then 20 other seeds (100-119), then the independent check (scripts/fewshot_check.py,
#    NumPy draws 1000-1019).
eval_model() { $CLI fewshot --train $F/train-images-idx3-ubyte.gz --test $F/t10k-images-idx3-ubyte.gz --k 1,2,5,10 "$@"; }
eval_model --model "$WORK/model" --seeds 5 --json "$WORK/fewshot-msn.json"
eval_model --model "$WORK/model" --seeds 5 --random-init --json "$WORK/fewshot-random.json"
eval_model --model pixels --seeds 5 --json "$WORK/fewshot-pixels.json"
for ((e = 10; e < STOP; e += 10)); do
  d="$WORK/epoch-$e"; [ -d "$d" ] || d="$WORK/first/epoch-$e"; [ -d "$d" ] || continue
  eval_model --model "$d" --seeds 5 --json "$WORK/fewshot-epoch-$e.json"
done
eval_model --model "$WORK/model" --seeds 20 --first-seed 100 --json "$WORK/fewshot-msn-seeds100.json"
eval_model --model pixels --seeds 20 --first-seed 100 --json "$WORK/fewshot-pixels-seeds100.json"
/usr/bin/python3 scripts/fewshot_check.py --model "$WORK/model" --model pixels --data $F --seeds 20 --first-seed 1000 \
        --json "$WORK/fewshot-check.json"
mkdir -p docs/fewshot
cp "$WORK"/fewshot-*.json docs/fewshot/

# 3. The bundled model and its few-shot classes (5 training images per class, seed 0).
mkdir -p resources/models/msn-fmnist
cp "$WORK"/model/{config.json,preprocessor_config.json,model.safetensors,training.json} resources/models/msn-fmnist/
$CLI fewshot --model resources/models/msn-fmnist --train $F/train-images-idx3-ubyte.gz --k 5 --classes "$CLASSES" \
     --save resources/models/msn-fmnist/classes.fewshot

# 4. A dozen test images (every class), as PNG.
python3 scripts/fmnist_to_png.py $F/t10k-images-idx3-ubyte.gz $F/t10k-labels-idx1-ubyte.gz resources/images/fashion \
        0 1 2 4 6 8 9 13 18 19 29 30
