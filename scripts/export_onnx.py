#!/usr/bin/env python3
"""Exports the ViT msnlens-bench times to ONNX, for ONNX Runtime to run beside it.

The graph is scripts/eager_reference.py's forward (transformers' eager ViT-MSN math) on the same
weights, float32, batch 1, returning last_hidden_state only: no attention outputs, the fastest
graph ORT can be given. Usage: export_onnx.py WEIGHTS.safetensors CONFIG.json OUT.onnx
"""
import json
import sys

import torch

from eager_reference import ViTMSNEager
from safetensors_io import read_safetensors


class LastHiddenState(torch.nn.Module):
    def __init__(self, eager):
        super().__init__()
        self.eager = eager

    def forward(self, pixel_values):
        return self.eager.forward(pixel_values, None, output_attentions=False)[0]


def main():
    weights_path, config_path, out = sys.argv[1:4]
    with open(config_path) as f:
        config = json.load(f)
    model = LastHiddenState(ViTMSNEager(read_safetensors(weights_path)[0], config, torch.float32, "cpu"))
    size = config["image_size"]
    pixels = torch.zeros(1, config.get("num_channels", 3), size, size)
    with torch.no_grad():
        torch.onnx.export(model, (pixels,), out, opset_version=17, input_names=["pixel_values"],
                          output_names=["last_hidden_state"], do_constant_folding=True)


if __name__ == "__main__":
    main()
