#!/usr/bin/env python3
"""PyTorch eager reference for msnlens-bench.

The ViT-MSN forward written out the way transformers' modeling_vit_msn computes it in eager
mode (separate query/key/value projections, explicit softmax(QK^T / sqrt(d)) V, pre-LN blocks,
exact GELU, final LayerNorm), in plain PyTorch so that it runs on Debian's python3-torch.
msnlens-bench starts it with a JSON job on stdin and reads one JSON result per case from stdout:
median and p95 latency, and the last_hidden_state it computed, for a parity check.
"""
import ctypes
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from safetensors_io import read_safetensors, write_safetensors

class ViTMSNEager:
    def __init__(self, weights, config, dtype, device):
        self.c = config
        self.w = {k: v.to(device=device, dtype=dtype if v.is_floating_point() else v.dtype) for k, v in weights.items()}
        self.dtype = dtype

    def forward(self, pixel_values, keep_patches=None, output_attentions=True):
        c, w = self.c, self.w
        d, heads = c["hidden_size"], c["num_attention_heads"]
        hd = d // heads
        p = c["patch_size"]
        x = F.conv2d(pixel_values.to(self.dtype), w["embeddings.patch_embeddings.projection.weight"],
                     w["embeddings.patch_embeddings.projection.bias"], stride=p).flatten(2).transpose(1, 2)
        b = x.shape[0]
        x = torch.cat([w["embeddings.cls_token"].expand(b, -1, -1), x], 1) + w["embeddings.position_embeddings"]
        if keep_patches is not None:
            kept = x[:, 1:].gather(1, keep_patches.unsqueeze(-1).expand(b, -1, d))
            x = torch.cat([x[:, :1], kept], 1)
        attentions = []
        eps = c["layer_norm_eps"]
        for i in range(c["num_hidden_layers"]):
            l = f"encoder.layer.{i}."
            h = F.layer_norm(x, (d,), w[l + "layernorm_before.weight"], w[l + "layernorm_before.bias"], eps)

            def project(name):
                y = F.linear(h, w[l + f"attention.attention.{name}.weight"], w[l + f"attention.attention.{name}.bias"])
                return y.view(b, -1, heads, hd).transpose(1, 2)

            q, k, v = project("query"), project("key"), project("value")
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
            probs = torch.softmax(scores, dim=-1)
            if output_attentions:
                attentions.append(probs)
            context = torch.matmul(probs, v).transpose(1, 2).reshape(b, -1, d)
            x = x + F.linear(context, w[l + "attention.output.dense.weight"], w[l + "attention.output.dense.bias"])
            h = F.layer_norm(x, (d,), w[l + "layernorm_after.weight"], w[l + "layernorm_after.bias"], eps)
            h = F.gelu(F.linear(h, w[l + "intermediate.dense.weight"], w[l + "intermediate.dense.bias"]))
            x = x + F.linear(h, w[l + "output.dense.weight"], w[l + "output.dense.bias"])
        return F.layer_norm(x, (d,), w["layernorm.weight"], w["layernorm.bias"], eps), attentions


def time_case(model, pixels, keep, attentions, warmup, iters, device):
    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    with torch.inference_mode():
        for _ in range(warmup):
            model.forward(pixels, keep, attentions)
        sync()
        times = []
        for _ in range(iters):
            t = time.perf_counter()
            out, _ = model.forward(pixels, keep, attentions)
            sync()
            times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return out, statistics.median(times), times[min(len(times) - 1, int(math.ceil(0.95 * len(times))) - 1)]


def blas_kernels():
    """OpenBLAS's core name behind torch's float32 GEMMs (Debian links libblas.so.3)."""
    try:
        lib = ctypes.CDLL("libblas.so.3")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "not OpenBLAS"


def main():
    job = json.load(sys.stdin)
    device = job.get("device", "cpu")
    weights_cache = {}
    for case in job["cases"]:
        if case["weights"] not in weights_cache:
            weights_cache[case["weights"]] = read_safetensors(case["weights"])[0]
        inputs = read_safetensors(case["inputs"])[0]
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[case["precision"]]
        model = ViTMSNEager(weights_cache[case["weights"]], case["config"], dtype, device)
        pixels = inputs["pixel_values"].to(device)
        keep = inputs["keep_patches"].to(device) if "keep_patches" in inputs else None
        best = None
        # PyTorch's own thread default is not always its fastest here; report its best setting.
        for threads in job.get("threads", [torch.get_num_threads()]):
            torch.set_num_threads(threads)
            out, median, p95 = time_case(model, pixels, keep, case["attentions"], case["warmup"], case["iters"], device)
            if best is None or median < best[1]:
                best = (out, median, p95, threads)
        write_safetensors(case["output"], {"last_hidden_state": best[0].float().cpu()})
        print(json.dumps({"name": case["name"], "median_ms": best[1], "p95_ms": best[2], "threads": best[3],
                          "blas": blas_kernels()}), flush=True)


if __name__ == "__main__":
    main()
