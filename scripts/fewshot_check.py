#!/usr/bin/env python3
"""A second opinion on `msnlens-cli fewshot`, sharing none of its code.

The scripts' own safetensors reader and eager ViT forward pass (PyTorch, float32,
transformers' ViTMSN equations, as the bench's eager reference computes it), its own draw of the k labelled images per class (NumPy's generator, so seeds that
the C++ table never used) and its own L-BFGS logistic regression in float64 on the README's
protocol: features centred and L2-normalised per image, multinomial, no intercept, L2 penalty
lambda/2 |W|^2 with lambda = 0.00025 / N. Raw pixels are centred on the training mean first.

    python3 scripts/fewshot_check.py --model resources/models/msn-fmnist --model pixels \
        --data /usr/share/datasets/fashion-mnist --k 1,2,5,10 --seeds 20 --first-seed 1000

Needs python3-numpy and python3-torch (Debian packages).
"""
import argparse
import gzip
import json
import struct
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from eager_reference import ViTMSNEager
from safetensors_io import read_safetensors

LAMBDA = 0.00025


def read_idx(path):
    with gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class CLSFeatures:
    """CLS embeddings from the scripts' own eager ViT-MSN forward (eager_reference.py), on
    images preprocessed as the folder's preprocessor_config.json says."""

    def __init__(self, folder):
        folder = Path(folder)
        cfg = json.loads((folder / "config.json").read_text())
        self.pre = json.loads((folder / "preprocessor_config.json").read_text())
        if cfg.get("hidden_act", "gelu") != "gelu":
            raise SystemExit(f"{folder}: hidden_act {cfg['hidden_act']} is not handled by this check")
        self.model = ViTMSNEager(read_safetensors(folder / "model.safetensors")[0], cfg, torch.float32, "cpu")

    def pixels(self, gray_uint8):
        size = self.pre["size"]
        if gray_uint8.shape[1:] != (size["height"], size["width"]):
            raise SystemExit("images must already have the model's input size (no resize in this check)")
        x = torch.from_numpy(gray_uint8.astype(np.float32) * self.pre["rescale_factor"])[:, None].expand(-1, 3, -1, -1)
        mean = torch.tensor(self.pre["image_mean"]).view(1, 3, 1, 1)
        std = torch.tensor(self.pre["image_std"]).view(1, 3, 1, 1)
        return (x - mean) / std

    @torch.no_grad()
    def __call__(self, images, batch=500):
        return torch.cat([self.model.forward(self.pixels(images[i:i + batch]), output_attentions=False)[0][:, 0]
                          for i in range(0, len(images), batch)]).double()


def standardize(x):
    x = x - x.mean(1, keepdim=True)
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


def fit_logistic(x, y, classes):
    lam = LAMBDA / len(x)
    weight = torch.zeros(classes, x.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([weight], lr=1, max_iter=2000, tolerance_grad=1e-10, tolerance_change=1e-14,
                            history_size=20, line_search_fn="strong_wolfe")

    def objective():
        opt.zero_grad()
        loss = F.cross_entropy(x @ weight.T, y) + 0.5 * lam * weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(objective)
    return weight.detach()


def draw(labels, classes, k, seed):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(np.flatnonzero(labels == c), k, replace=False) for c in range(classes)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", action="append", required=True, help="Hugging Face folder, or 'pixels' (repeatable)")
    ap.add_argument("--data", required=True, help="folder with the four Fashion-MNIST IDX files")
    ap.add_argument("--k", default="1,2,5,10")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--json", help="write the table here")
    ap.add_argument("--per-class", action="store_true",
                    help="also print each class's recall and the largest confusions, pooled over the seeds")
    args = ap.parse_args()
    d = Path(args.data)
    train_x, train_y = read_idx(d / "train-images-idx3-ubyte.gz"), read_idx(d / "train-labels-idx1-ubyte.gz").astype(np.int64)
    test_x, test_y = read_idx(d / "t10k-images-idx3-ubyte.gz"), torch.from_numpy(read_idx(d / "t10k-labels-idx1-ubyte.gz").astype(np.int64))
    classes = int(train_y.max()) + 1
    shots = [int(k) for k in args.k.split(",")]
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    report = {}
    for model in args.model:
        if model == "pixels":
            mean = torch.from_numpy(train_x.reshape(len(train_x), -1).astype(np.float64).mean(0))
            featurize = lambda im: torch.from_numpy(im.reshape(len(im), -1).astype(np.float64)) - mean  # noqa: E731
        else:
            featurize = CLSFeatures(model)
        test_f = standardize(featurize(test_x))
        rows = []
        print(f"{model}: seeds {seeds.start}-{seeds.stop - 1}")
        for k in shots:
            acc = []
            confusion = np.zeros((classes, classes))
            for seed in seeds:
                picked = draw(train_y, classes, k, seed)
                w = fit_logistic(standardize(featurize(train_x[picked])), torch.from_numpy(train_y[picked]), classes)
                predicted = (test_f @ w.T).argmax(1)
                acc.append(100.0 * predicted.eq(test_y).double().mean().item())
                np.add.at(confusion, (test_y.numpy(), predicted.numpy()), 1)
            a = np.array(acc)
            rows.append({"k": k, "mean": a.mean(), "std": a.std(ddof=1) if len(a) > 1 else 0.0, "per_seed": acc})
            print(f"  {k:2d} per class: {a.mean():5.1f} % +- {rows[-1]['std']:.1f}")
            if args.per_class:
                confusion = 100.0 * confusion / confusion.sum(1, keepdims=True)
                rows[-1]["confusion_percent"] = confusion.tolist()
                print("      recall by class: " + " / ".join(f"{confusion[c, c]:.0f}" for c in range(classes)))
                pairs = sorted(((confusion[t, p], t, p) for t in range(classes) for p in range(classes) if t != p), reverse=True)
                print("      largest confusions: " + ", ".join(f"{t} as {p} {v:.0f} %" for v, t, p in pairs[:4]))
        report[model] = rows
    if args.json:
        Path(args.json).write_text(json.dumps({"first_seed": args.first_seed, "seeds": args.seeds, "results": report}, indent=1))


if __name__ == "__main__":
    main()
