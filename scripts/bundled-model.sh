#!/usr/bin/env bash
# Reproduces the bundled model resources/models/msn-fmnist: MSN pretraining of a small ViT on the
# 60,000 Fashion-MNIST training images without labels, the few-shot head from five labelled
# images per class, the evaluation tables in README.md, and the example images.
#   scripts/bundled-model.sh [WORK_DIR]        (default build/msn-fmnist; ~77 min of pretraining on 2 idle cores)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-build/msn-fmnist}
F=/usr/share/datasets/fashion-mnist
CLI=build/bin/msnlens-cli
CLASSES="T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"
make build

# 1. Pretraining (no labels): preset fmnist-small, 15 epochs, a model exported every 3.
$CLI pretrain --data $F/train-images-idx3-ubyte.gz --out "$WORK" --preset fmnist-small --config scripts/fmnist-pretrain.json

# 2. Few-shot accuracy on the 10,000 test images: MSN features, the same ViT at random
#    initialisation, raw pixels; 1/2/5/10 labels per class, 5 seeds each.
eval_model() { $CLI fewshot --train $F/train-images-idx3-ubyte.gz --test $F/t10k-images-idx3-ubyte.gz --k 1,2,5,10 --seeds 5 "$@"; }
eval_model --model "$WORK/model" --json "$WORK/fewshot-msn.json"
eval_model --model "$WORK/model" --random-init --json "$WORK/fewshot-random.json"
eval_model --model pixels --json "$WORK/fewshot-pixels.json"
for e in 3 6 9 12; do eval_model --model "$WORK/epoch-$e" --json "$WORK/fewshot-epoch-$e.json"; done
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
