#!/usr/bin/env bash
# Reproduces the bundled model resources/models/msn-fmnist: MSN pretraining of a small ViT on the
# 60,000 Fashion-MNIST training images without labels, the few-shot head from five labelled
# images per class, the evaluation tables in README.md, and the example images.
#   scripts/bundled-model.sh [WORK_DIR]   (default build/msn-fmnist)
#   STOP=N scripts/bundled-model.sh       (stop after epoch N of the schedule instead)
# The shipped model is epoch 38 of a 100-epoch schedule: 3 to 4 hours of pretraining on 2 idle
# cores. A WORK_DIR that holds checkpoint.pt resumes from it (resuming is exact), so a later
# STOP continues the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-build/msn-fmnist}
STOP=${STOP:-38}
F=/usr/share/datasets/fashion-mnist
CLI=build/bin/msnlens-cli
CLASSES="T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"
make build

# 1. Pretraining (no labels): preset fmnist-small on a 100-epoch schedule (warm-up, cosine
#    learning rate and weight decay over all 100), stopped after epoch $STOP; a model exported
#    every 10 epochs.
RESUME=()
if [ -f "$WORK/checkpoint.pt" ]; then RESUME=(--resume "$WORK/checkpoint.pt"); fi
$CLI pretrain --data $F/train-images-idx3-ubyte.gz --out "$WORK" --preset fmnist-small --config scripts/fmnist-pretrain.json \
     --stop-after "$STOP" "${RESUME[@]}"

# 2. Few-shot accuracy on the 10,000 test images: MSN features, the same ViT at random
#    initialisation, raw pixels; 1/2/5/10 labels per class, seeds 0-4 (the README protocol),
#    then 20 other seeds (100-119), then the independent check (scripts/fewshot_check.py,
#    NumPy draws 1000-1019).
eval_model() { $CLI fewshot --train $F/train-images-idx3-ubyte.gz --test $F/t10k-images-idx3-ubyte.gz --k 1,2,5,10 "$@"; }
eval_model --model "$WORK/model" --seeds 5 --json "$WORK/fewshot-msn.json"
eval_model --model "$WORK/model" --seeds 5 --random-init --json "$WORK/fewshot-random.json"
eval_model --model pixels --seeds 5 --json "$WORK/fewshot-pixels.json"
for ((e = 10; e < STOP; e += 10)); do eval_model --model "$WORK/epoch-$e" --seeds 5 --json "$WORK/fewshot-epoch-$e.json"; done
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
