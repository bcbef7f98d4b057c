#!/usr/bin/python3
"""Generate and check the golden ViT-MSN fixtures in tests/data.

tests/data/README.md defines the fixtures; this script is their reference implementation. It
recomputes every case's expected tensors in float64 from the stored checkpoint and the stored
inputs, following transformers' ViTMSN semantics (modeling_vit_msn) and, for original
facebookresearch/msn checkpoints, MSN's projection head and prototypes. Everything is written out
as plain tensor math (one function per model block, as in transformers' modeling files) so that it
can be read next to the C++ engine.

Requirements (Debian 12): apt-get install -y python3-torch python3-pil python3-numpy
Run it with Debian's interpreter, /usr/bin/python3 (a pyenv or venv python3 lacks these packages).
Safetensors files are read and written by hand; neither transformers nor safetensors is needed.

Usage:
  scripts/make-fixtures.py --check [CASE ...]
      Recompute each case and compare with the stored expected tensors. Prints per case the max
      |Δ| between the float64 result and the stored tensor, the part of it beyond the storage
      dtype's rounding (half an ulp of the stored value), and how many elements would round to a
      different stored value. Exits 1 if any case is off by more than 1e-9·(1+max|expected|)
      beyond storage rounding, has NaN (explain maps) at other elements, or lacks / has extra tensors.
  scripts/make-fixtures.py --write [CASE ...] [--data DIR]
      Rewrite the expected tensors of the cases (inputs are kept byte for byte; each tensor keeps
      its stored dtype). Files come out byte-identical when nothing changed.
  scripts/make-fixtures.py --new-case NAME --model models/M [input options]
      Add cases/NAME.json and cases/NAME.safetensors in one command, e.g.
        --new-case tiny224-cls-horse --model models/tiny224-cls --image images/horse.png
        --new-case tiny64-drop --model models/tiny64-masktoken --keep-patches 0,5,9,33 --seed 3
        --new-case tiny224-base-bin-interp96 --model models/tiny224-base-bin --size 96x96 --interpolate
      Random pixel values are N(0,1) float32 from --seed. --explain JSON adds the explanation
      references (explain.*) to the case, e.g.
        --explain '{"target": {"source": "classifier", "index": 0}, "query_patch": 37, "discard_ratio": 0.9}'
      with --few-shot-classes C for a few_shot target (inputs.few_shot_weight, C×hidden_size).
  scripts/make-fixtures.py --new-model models/NAME --layout LAYOUT [architecture options]
      Create a random-weight checkpoint (fixed --seed) in one of the layouts users have:
      safetensors-vit (vit.* + classifier.*), safetensors (bare backbone), bin (pytorch_model.bin),
      msn-original (.pth.tar with encoder/target_encoder module.* keys, projection head, prototypes).

--data DIR works on a copy of tests/data (default: the tests/data beside this script).

A case's "explain" object, {"target": {"source": S, "index": k}, "query_patch": p, "discard_ratio": r,
"temperature": t (few_shot only)}, adds float64 explanation maps of the view the model sees
(keep_patches applied, on any checkpoint; no head_mask). y is the explained pre-softmax score:
classifier logits[k]; few_shot W[k]·x̂/t with W = inputs.few_shot_weight [C, D] and x̂ the final-LN
CLS centred and scaled to unit length; prototype cos(projection, prototypes[k])/0.1; "none" stores
only the maps that need no y. A_l is layer l's softmax [H, T, T], G_l = ∂y/∂A_l (autograd, every
path after A_l). Maps are over all grid patches, NaN where the model saw no token:
  explain.target_score [1]          y
  explain.rollout                   row 0 of Â_L⋯Â_1, Â = rownorm(mean_h A + I)
  explain.grad_rollout[.discard]    the same with clamp(mean_h(A⊙G), 0) for mean_h A; .discard
                                    zeroes each layer's lowest floor(r·T²) entries (stable order,
                                    [0,0] kept) first
  explain.chefer[.query]            R = I, R += mean_h(clamp(G⊙A, 0)) @ R per layer; row 0 / the
                                    query_patch token
  explain.occlusion                 y − y with the patch's token dropped too
  explain.occlusion.none            1 − cos(final-LN CLS without the patch, final-LN CLS)
  explain.similarity[.cls]          cos(final-LN token of query_patch / of CLS, each patch token)
  explain.token_norms[.layer0]      |hidden_states[L]| / |hidden_states[1]| per patch token
  explain.pca [patches, 3]          final-LN patch tokens centred, scores on the top 3 covariance
                                    eigenvectors, signs so that Σ score³ > 0
  explain.distance [L, H]           mean over patch queries of Σ_patch keys A·|Δ(row, col)|·patch_size
  explain.faithfulness.*            deletion and insertion curves of explain.rollout (ranked by its
                                    float32 values, descending, ties to the lower patch) over the N
                                    seen patches, S = 10: k_i = floor(i·N/S + 0.5); deletion[i] = p_t
                                    with the first k_i dropped, insertion[i] = p_t with only them kept
                                    (CLS alone at i = 0), p_t the target's softmax probability among
                                    its source's classes. .fractions k_i/N; .deletion, .insertion;
                                    .auc [deletion, insertion] by the trapezoid rule; .random_* the
                                    same for FAITHFULNESS_ORDERS random orders (splitmix64 Fisher-Yates
                                    from seed FAITHFULNESS_SEED + r), [orders, S + 1] and [orders, 2]
"""
import argparse
import collections
import json
import math
import os
import struct
import sys

import numpy as np
import torch
from PIL import Image

from safetensors_io import SAFETENSORS_DTYPES, SAFETENSORS_NAMES, read_safetensors, safetensors_bytes, write_safetensors

DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")

# ---------------------------------------------------------------------------------------------
# Configuration and checkpoints
# ---------------------------------------------------------------------------------------------

# transformers' ViTMSNConfig defaults
CONFIG_DEFAULTS = {
    "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
    "hidden_act": "gelu", "layer_norm_eps": 1e-6, "image_size": 224, "patch_size": 16,
    "num_channels": 3, "qkv_bias": True,
}
# transformers' ViTImageProcessor defaults (IMAGENET_STANDARD mean/std)
PREPROCESSOR_DEFAULTS = {
    "do_resize": True, "do_rescale": True, "do_normalize": True, "rescale_factor": 1 / 255,
    "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "size": {"height": 224, "width": 224},
    "resample": 2,
}
PIL_BILINEAR = 2


class Checkpoint:
    """Weights under transformers' ViTMSNModel names (no `vit.` prefix), as float64, plus the
    classifier, MSN projection head and prototypes where the checkpoint has them."""

    def __init__(self, weights, config, preprocessor, layout):
        self.w = weights
        self.config = config
        self.preprocessor = preprocessor
        self.layout = layout

    @property
    def has_classifier(self):
        return "classifier.weight" in self.w

    @property
    def has_projection_head(self):
        return "projection_head.fc1.weight" in self.w


def read_json(path):
    with open(path) as f:
        return json.load(f)


def load_checkpoint(data_dir, model, case_config=None):
    """model: a folder under data_dir (model.safetensors or pytorch_model.bin, config.json,
    preprocessor_config.json) or a checkpoint file (an original MSN .pth.tar)."""
    path = os.path.join(data_dir, model)
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    config = dict(CONFIG_DEFAULTS)
    if os.path.exists(os.path.join(folder, "config.json")):
        config.update(read_json(os.path.join(folder, "config.json")))
    config.update(case_config or {})
    preprocessor = dict(PREPROCESSOR_DEFAULTS)
    if os.path.exists(os.path.join(folder, "preprocessor_config.json")):
        preprocessor.update(read_json(os.path.join(folder, "preprocessor_config.json")))

    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "model.safetensors")):
            raw, _ = read_safetensors(os.path.join(path, "model.safetensors"))
            layout = "safetensors"
        elif os.path.exists(os.path.join(path, "pytorch_model.bin")):
            raw = torch.load(os.path.join(path, "pytorch_model.bin"), map_location="cpu")
            layout = "pytorch_model.bin"
        else:
            raise SystemExit(f"{model}: no model.safetensors or pytorch_model.bin")
        weights = transformers_weights(raw)
    else:
        raw = torch.load(path, map_location="cpu")
        weights = original_msn_weights(raw, config)
        layout = "original MSN"
        # No preprocessor config belongs to an original checkpoint: as the app does, resize to the
        # config's image size and normalize with ImageNet mean/std.
        preprocessor = dict(PREPROCESSOR_DEFAULTS, image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225],
                            size={"height": config["image_size"], "width": config["image_size"]})
    weights = {k: v.to(torch.float64) if v.is_floating_point() else v for k, v in weights.items()}
    return Checkpoint(weights, config, preprocessor, layout)


def transformers_weights(state_dict):
    """ViTMSNModel keys as they are, ViTMSNForImageClassification's `vit.` prefix removed."""
    weights = {}
    for key, tensor in state_dict.items():
        weights[key[len("vit."):] if key.startswith("vit.") else key] = tensor
    return weights


def original_msn_weights(checkpoint, config):
    """facebookresearch/msn checkpoint -> transformers names. The checkpoint holds `encoder` and
    `target_encoder` (the EMA copy that MSN evaluates; preferred, as the app does), each with
    `module.*` keys (DistributedDataParallel), a fused qkv per block and the projection head
    `module.fc.{fc1,bn1,fc2,bn2,fc3}`; `prototypes` sits beside them."""
    encoder = checkpoint["target_encoder"] if "target_encoder" in checkpoint else checkpoint["encoder"]
    sd = {k[len("module."):] if k.startswith("module.") else k: v for k, v in encoder.items()}
    d = config["hidden_size"]
    w = {
        "embeddings.cls_token": sd["cls_token"],
        "embeddings.position_embeddings": sd["pos_embed"],
        "embeddings.patch_embeddings.projection.weight": sd["patch_embed.proj.weight"],
        "embeddings.patch_embeddings.projection.bias": sd["patch_embed.proj.bias"],
        "layernorm.weight": sd["norm.weight"],
        "layernorm.bias": sd["norm.bias"],
    }
    for i in range(config["num_hidden_layers"]):
        src, dst = f"blocks.{i}.", f"encoder.layer.{i}."
        qkv_w, qkv_b = sd[src + "attn.qkv.weight"], sd.get(src + "attn.qkv.bias")
        for j, name in enumerate(("query", "key", "value")):  # fused rows: [q; k; v]
            w[dst + f"attention.attention.{name}.weight"] = qkv_w[j * d : (j + 1) * d]
            if qkv_b is not None:
                w[dst + f"attention.attention.{name}.bias"] = qkv_b[j * d : (j + 1) * d]
        renames = {"norm1": "layernorm_before", "attn.proj": "attention.output.dense",
                   "norm2": "layernorm_after", "mlp.fc1": "intermediate.dense", "mlp.fc2": "output.dense"}
        for old, new in renames.items():
            for p in ("weight", "bias"):
                w[dst + f"{new}.{p}"] = sd[src + f"{old}.{p}"]
    for key, tensor in sd.items():
        if key.startswith("fc."):
            w["projection_head." + key[len("fc."):]] = tensor
    if "prototypes" in checkpoint:
        w["prototypes"] = checkpoint["prototypes"]
    return w


# ---------------------------------------------------------------------------------------------
# The model, in float64. Shapes: batch 1 throughout, x is (1, tokens, hidden).
# ---------------------------------------------------------------------------------------------


def linear(x, w, prefix):
    y = x @ w[prefix + ".weight"].T
    return y + w[prefix + ".bias"] if prefix + ".bias" in w else y


def layer_norm(x, w, prefix, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)  # biased variance, as nn.LayerNorm
    return (x - mean) / torch.sqrt(var + eps) * w[prefix + ".weight"] + w[prefix + ".bias"]


def softmax(x):
    e = torch.exp(x - x.max(-1, keepdim=True).values)
    return e / e.sum(-1, keepdim=True)


def gelu(x):  # exact: x·Φ(x)
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


# transformers' ACT2FN, the entries a ViT config can name
ACTIVATIONS = {
    "gelu": gelu,
    "gelu_new": gelu_tanh,
    "gelu_pytorch_tanh": gelu_tanh,
    "gelu_fast": lambda x: 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x))),
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "relu": torch.relu,
    "silu": lambda x: x * torch.sigmoid(x),
    "swish": lambda x: x * torch.sigmoid(x),
}


def patch_embeddings(w, config, pixel_values):
    """ViTPatchEmbeddings: Conv2d(C, D, kernel=stride=patch), flattened to (1, patches, D). A
    stride-p convolution is a linear map of each non-overlapping p×p patch (row-major patches)."""
    p = config["patch_size"]
    _, c, height, width = pixel_values.shape
    if c != config["num_channels"]:
        raise ValueError(f"pixel_values have {c} channels, config says {config['num_channels']}")
    rows, cols = height // p, width // p
    x = pixel_values[:, :, : rows * p, : cols * p]  # the convolution ignores a partial last patch
    patches = x.reshape(1, c, rows, p, cols, p).permute(0, 2, 4, 1, 3, 5).reshape(1, rows * cols, c * p * p)
    kernel = w["embeddings.patch_embeddings.projection.weight"].reshape(-1, c * p * p)
    return patches @ kernel.T + w["embeddings.patch_embeddings.projection.bias"]


def bicubic_matrix(in_size, out_size):
    """(out, in) matrix of torch's upsample_bicubic2d along one axis, align_corners=False:
    source coordinate s = (i + 0.5)·in/out − 0.5, Keys cubic kernel with A = −0.75 on the four
    neighbours floor(s)−1 … floor(s)+2, indices clamped to the border."""
    A = -0.75

    def kernel(t):  # weight of a neighbour at distance |t|
        t = abs(t)
        if t <= 1:
            return ((A + 2) * t - (A + 3)) * t * t + 1
        if t < 2:
            return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A
        return 0.0

    m = torch.zeros(out_size, in_size, dtype=torch.float64)
    scale = in_size / out_size
    for i in range(out_size):
        s = (i + 0.5) * scale - 0.5
        base = math.floor(s)
        for k in range(-1, 3):
            m[i, min(max(base + k, 0), in_size - 1)] += kernel(s - (base + k))
    return m


def interpolate_pos_encoding(w, config, patch_count, height, width):
    """ViTMSNEmbeddings.interpolate_pos_encoding as transformers' ViT does it: the square grid of
    patch position embeddings resized bicubically (align_corners=False) to (height//p, width//p);
    the CLS position is kept. Unchanged when the patch count and aspect already match."""
    pos = w["embeddings.position_embeddings"]
    positions = pos.shape[1] - 1
    if patch_count == positions and height == width:
        return pos
    side = int(math.sqrt(positions))
    rows, cols = height // config["patch_size"], width // config["patch_size"]
    grid = pos[0, 1:].reshape(side, side, -1).permute(2, 0, 1)  # (D, side, side)
    resized = bicubic_matrix(side, rows) @ grid @ bicubic_matrix(side, cols).T  # (D, rows, cols)
    patch_pos = resized.permute(1, 2, 0).reshape(1, rows * cols, -1)
    return torch.cat([pos[:, :1], patch_pos], dim=1)


def embeddings(w, config, pixel_values, bool_masked_pos=None, interpolate=False, keep_patches=None):
    """ViTMSNEmbeddings: patch embeddings, masked patches replaced by the mask token, CLS token
    prepended, position embeddings added; then MSN's token dropping keeps CLS and the listed
    patches, in the listed order."""
    _, _, height, width = pixel_values.shape
    if not interpolate and (height != config["image_size"] or width != config["image_size"]):
        raise ValueError(f"input {height}x{width} differs from image_size {config['image_size']}: "
                         "needs interpolate_pos_encoding")
    x = patch_embeddings(w, config, pixel_values)
    if bool_masked_pos is not None:
        mask = bool_masked_pos.to(torch.float64).unsqueeze(-1)  # (1, patches, 1)
        x = x * (1.0 - mask) + w["embeddings.mask_token"] * mask
    x = torch.cat([w["embeddings.cls_token"], x], dim=1)
    if interpolate:
        x = x + interpolate_pos_encoding(w, config, x.shape[1] - 1, height, width)
    else:
        x = x + w["embeddings.position_embeddings"]
    if keep_patches is not None:
        x = torch.cat([x[:, :1], x[:, 1:][:, keep_patches[0]]], dim=1)
    return x


def self_attention(w, config, prefix, x, head_mask=None, blocked=None):
    """ViTMSNSelfAttention: per head softmax(q·kᵀ/√d)·v; head_mask multiplies the probabilities
    (the returned attentions are the masked probabilities, as transformers returns them).
    blocked: [T, T] bool, keys a query may not see (their logits −∞): attention knockout."""
    heads = config["num_attention_heads"]
    tokens, hidden = x.shape[1], x.shape[2]
    d = hidden // heads

    def split_heads(y):  # (1, T, H·d) -> (1, H, T, d)
        return y.reshape(1, tokens, heads, d).permute(0, 2, 1, 3)

    q = split_heads(linear(x, w, prefix + ".query"))
    k = split_heads(linear(x, w, prefix + ".key"))
    v = split_heads(linear(x, w, prefix + ".value"))
    scores = q @ k.transpose(-1, -2) / math.sqrt(d)
    if blocked is not None:
        scores = scores.masked_fill(blocked, -math.inf)
    probs = softmax(scores)
    if head_mask is not None:
        probs = probs * head_mask.reshape(1, heads, 1, 1)
    context = (probs @ v).permute(0, 2, 1, 3).reshape(1, tokens, hidden)
    return context, probs


def attention(w, config, prefix, x, head_mask=None, blocked=None):
    """ViTMSNAttention: self-attention, then the output projection (ViTMSNSelfOutput)."""
    context, probs = self_attention(w, config, prefix + ".attention", x, head_mask, blocked)
    return linear(context, w, prefix + ".output.dense"), probs


def intermediate(w, config, prefix, x):
    """ViTMSNIntermediate: dense to intermediate_size, then hidden_act."""
    return ACTIVATIONS[config["hidden_act"]](linear(x, w, prefix + ".dense"))


def output(w, prefix, x, residual):
    """ViTMSNOutput: dense back to hidden_size, plus the residual."""
    return linear(x, w, prefix + ".dense") + residual


def layer(w, config, i, x, head_mask=None, blocked=None):
    """ViTMSNLayer, pre-LN: x + attn(LN(x)), then y + MLP(LN(y))."""
    prefix, eps = f"encoder.layer.{i}", config["layer_norm_eps"]
    attended, probs = attention(w, config, prefix + ".attention", layer_norm(x, w, prefix + ".layernorm_before", eps),
                                head_mask, blocked)
    x = attended + x
    h = intermediate(w, config, prefix + ".intermediate", layer_norm(x, w, prefix + ".layernorm_after", eps))
    return output(w, prefix + ".output", h, x), probs


def head_mask_per_layer(head_mask, config):
    """transformers' get_head_mask: (heads) applies to every layer, (layers, heads) per layer."""
    if head_mask is None:
        return [None] * config["num_hidden_layers"]
    head_mask = head_mask.to(torch.float64)
    if head_mask.dim() == 1:
        return [head_mask] * config["num_hidden_layers"]
    return list(head_mask)


def encoder(w, config, x, head_mask=None, first=0, blocked=None):
    """ViTMSNEncoder: hidden_states = (embedding output, each layer's output), attentions.
    first: x is layer `first`'s input and the layers before it are skipped; blocked: {layer: the
    [T, T] keys each query may not see} (attention knockout)."""
    hidden_states, attentions = [x], []
    for i, mask in enumerate(head_mask_per_layer(head_mask, config)):
        if i < first:
            continue
        x, probs = layer(w, config, i, x, mask, (blocked or {}).get(i))
        hidden_states.append(x)
        attentions.append(probs)
    return hidden_states, attentions


def vit_msn_model(w, config, pixel_values, bool_masked_pos=None, head_mask=None, interpolate=False,
                  keep_patches=None):
    """ViTMSNModel: embeddings, encoder, final LayerNorm."""
    x = embeddings(w, config, pixel_values, bool_masked_pos, interpolate, keep_patches)
    hidden_states, attentions = encoder(w, config, x, head_mask)
    last_hidden_state = layer_norm(hidden_states[-1], w, "layernorm", config["layer_norm_eps"])
    return last_hidden_state, hidden_states, attentions


def classifier(w, last_hidden_state):
    """ViTMSNForImageClassification: linear classifier on the CLS token."""
    return linear(last_hidden_state[:, 0], w, "classifier")


def batch_norm_eval(w, prefix, x, eps=1e-5):
    """nn.BatchNorm1d in eval mode: running statistics."""
    return (x - w[prefix + ".running_mean"]) / torch.sqrt(w[prefix + ".running_var"] + eps) * w[prefix + ".weight"] \
        + w[prefix + ".bias"]


def projection_head(w, cls):
    """MSN's projection head on the CLS token: fc1 → bn1 → GELU → fc2 → bn2 → GELU → fc3
    (the BatchNorms only where the checkpoint has them)."""
    x = cls
    for i in (1, 2):
        x = linear(x, w, f"projection_head.fc{i}")
        if f"projection_head.bn{i}.weight" in w:
            x = batch_norm_eval(w, f"projection_head.bn{i}", x)
        x = gelu(x)
    return linear(x, w, "projection_head.fc3")


def prototype_probs(w, projection, temperature=0.1):
    """softmax over prototypes of cos(projection, prototype) / temperature."""
    z = projection / projection.norm(dim=-1, keepdim=True)
    prototypes = w["prototypes"] / w["prototypes"].norm(dim=-1, keepdim=True)
    return softmax(z @ prototypes.T / temperature)


# ---------------------------------------------------------------------------------------------
# Preprocessing: transformers' ViTImageProcessor
# ---------------------------------------------------------------------------------------------


def preprocess(path, preprocessor):
    """convert('RGB'), PIL resize to (height, width) with the configured filter (BILINEAR), uint8,
    ×rescale_factor, (x − mean)/std; returns (1, 3, H, W) float64."""
    image = Image.open(path)
    image.load()
    image = image.convert("RGB")
    if preprocessor["do_resize"]:
        size = preprocessor["size"]
        image = image.resize((size["width"], size["height"]), resample=preprocessor.get("resample", PIL_BILINEAR))
    x = torch.from_numpy(np.asarray(image, dtype=np.uint8).astype(np.float64)).permute(2, 0, 1).unsqueeze(0)
    if preprocessor["do_rescale"]:
        x = x * preprocessor["rescale_factor"]
    if preprocessor["do_normalize"]:
        mean = torch.tensor(preprocessor["image_mean"], dtype=torch.float64).reshape(1, 3, 1, 1)
        std = torch.tensor(preprocessor["image_std"], dtype=torch.float64).reshape(1, 3, 1, 1)
        x = (x - mean) / std
    return x


# ---------------------------------------------------------------------------------------------
# Explanations: a case's "explain" object adds explain.* tensors (tests/data/README.md)
# ---------------------------------------------------------------------------------------------


class View:
    """One forward pass of an explain case, recording autograd (pixels require grad): the
    token -> patch map, the grid, and the model outputs at batch 1."""

    def __init__(self, ckpt, pixels, bool_masked_pos, interpolate, keep):
        self.ckpt = ckpt
        p = ckpt.config["patch_size"]
        self.rows, self.cols = pixels.shape[2] // p, pixels.shape[3] // p
        self.patches = self.rows * self.cols
        self.token_patch = keep[0].tolist() if keep is not None else list(range(self.patches))
        self.pixels = pixels.detach().clone().requires_grad_(True)
        last, hidden_states, attentions = vit_msn_model(ckpt.w, ckpt.config, self.pixels, bool_masked_pos, None,
                                                        interpolate, keep)
        self.last = last[0]  # [T, D] after the final LayerNorm
        self.hidden_states = [h[0] for h in hidden_states]  # [T, D] each, before it
        self.attentions = attentions  # A_l: [1, H, T, T], the graph's own tensors (∂y/∂A_l needs them)

    def token(self, patch):
        """Token index of a patch (CLS is 0); SystemExit when the view has no token of it."""
        if patch not in self.token_patch:
            raise SystemExit(f"explain: patch {patch} has no token in this view (dropped or outside the grid)")
        return 1 + self.token_patch.index(patch)

    def on_patches(self, token_values):
        """Values of tokens 1..T-1 spread onto the grid (row-major); NaN where no token."""
        out = torch.full((self.patches,) + tuple(token_values.shape[1:]), math.nan, dtype=torch.float64)
        out[self.token_patch] = token_values.detach().to(torch.float64)
        return out


def cosine(a, b):
    return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))


def one_minus_cosine(a, b):
    """1 − cos(a, b) as ½·|a/|a| − b/|b||², free of the cancellation in 1 − cos near 1."""
    return 0.5 * (a / a.norm() - b / b.norm()).square().sum()


def target_score(ckpt, last, target, explain, inputs):
    """The explained scalar y (pre-softmax) from the final-LayerNorm tokens `last` [T, D]."""
    w, source, k = ckpt.w, target["source"], target["index"]
    cls = last[0]
    if source == "classifier":
        if not ckpt.has_classifier:
            raise SystemExit("explain: target classifier, but the checkpoint has no classifier")
        return classifier(w, last.unsqueeze(0))[0, k]
    if source == "few_shot":  # cosine-style head on the centred, unit-length CLS
        weight = inputs["inputs.few_shot_weight"].to(torch.float64)
        centred = cls - cls.mean()
        unit = centred / torch.clamp(centred.norm(), min=1e-12)
        return weight[k] @ unit / explain["temperature"]
    if source == "prototype":
        if not ckpt.has_projection_head:
            raise SystemExit("explain: target prototype, but the checkpoint has no projection head")
        z = projection_head(w, cls.unsqueeze(0))[0]
        return cosine(z, w["prototypes"][k]) / 0.1
    raise SystemExit(f"explain: unknown target source {source!r}")


def target_probability(ckpt, last, target, explain, inputs):
    """p_t: the target's softmax probability among its source's classes, from the final-LN tokens."""
    w, source, k = ckpt.w, target["source"], target["index"]
    cls = last[0]
    if source == "classifier":
        logits = classifier(w, last.unsqueeze(0))[0]
    elif source == "few_shot":
        weight = inputs["inputs.few_shot_weight"].to(torch.float64)
        centred = cls - cls.mean()
        logits = weight @ (centred / torch.clamp(centred.norm(), min=1e-12)) / explain["temperature"]
    elif source == "prototype":
        z = projection_head(w, cls.unsqueeze(0))[0]
        logits = cosine(z.unsqueeze(0), w["prototypes"]) / 0.1
    else:
        raise SystemExit(f"explain: unknown target source {source!r}")
    return torch.softmax(logits, dim=-1)[k]


FAITHFULNESS_STEPS, FAITHFULNESS_ORDERS, FAITHFULNESS_SEED = 10, 2, 0
MASK64 = (1 << 64) - 1


def random_order(n, seed):
    """A permutation of 0..n-1: Fisher-Yates from the last position down, j = next() mod (i + 1),
    next() being splitmix64 started at `seed` (the engine's random_order)."""
    state = seed & MASK64
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        z ^= z >> 31
        j = z % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def faithfulness(ckpt, explain, pixels, inputs, bool_masked_pos, interpolate, view, map_values):
    """explain.faithfulness.* of `map_values` (a value per grid patch) over the view's patches."""
    seen = view.token_patch
    n, steps = len(seen), FAITHFULNESS_STEPS
    ranked_values = map_values.to(torch.float32).tolist()
    ranked = sorted(seen, key=lambda p: (math.isnan(ranked_values[p]), -ranked_values[p], p))
    k = [math.floor(i * n / steps + 0.5) for i in range(steps + 1)]
    fractions = [ki / n for ki in k]

    def p_t(kept):
        keep = torch.tensor([sorted(kept)], dtype=torch.int64).reshape(1, len(kept))
        with torch.no_grad():
            last, _, _ = vit_msn_model(ckpt.w, ckpt.config, pixels, bool_masked_pos, None, interpolate, keep)
        return target_probability(ckpt, last[0], explain["target"], explain, inputs).item()

    def curves(order):
        deletion = [p_t(order[ki:]) for ki in k]
        insertion = [p_t(order[:ki]) for ki in k]
        auc = [sum((fractions[i] - fractions[i - 1]) * (c[i] + c[i - 1]) / 2 for i in range(1, len(k)))
               for c in (deletion, insertion)]
        return deletion, insertion, auc

    deletion, insertion, auc = curves(ranked)
    randoms = [curves([seen[i] for i in random_order(n, FAITHFULNESS_SEED + r)]) for r in range(FAITHFULNESS_ORDERS)]
    t = lambda x: torch.tensor(x, dtype=torch.float64)
    return {"explain.faithfulness.fractions": t(fractions), "explain.faithfulness.deletion": t(deletion),
            "explain.faithfulness.insertion": t(insertion), "explain.faithfulness.auc": t(auc),
            "explain.faithfulness.random_deletion": t([r[0] for r in randoms]),
            "explain.faithfulness.random_insertion": t([r[1] for r in randoms]),
            "explain.faithfulness.random_auc": t([r[2] for r in randoms])}


def final_score(ckpt, explain, inputs, x):
    """y from a last layer's output x [1, T, D] (before the final LayerNorm)."""
    last = layer_norm(x, ckpt.w, "layernorm", ckpt.config["layer_norm_eps"])
    return target_score(ckpt, last[0], explain["target"], explain, inputs)


def interventions(ckpt, explain, inputs, view, clean):
    """explain.head_ablation, explain.knockout.* and (for a token-dropped view) explain.patching.*.
    `view` and `clean` are the case's view and the unmasked one (View objects)."""
    w, config = ckpt.w, ckpt.config
    layers, heads = config["num_hidden_layers"], config["num_attention_heads"]
    x0 = view.hidden_states[0].detach().unsqueeze(0)
    with torch.no_grad():
        y = final_score(ckpt, explain, inputs, view.hidden_states[-1].detach().unsqueeze(0))
        ablation = torch.zeros(layers, heads, dtype=torch.float64)
        for l in range(layers):
            for h in range(heads):
                head_mask = torch.ones(layers, heads, dtype=torch.float64)
                head_mask[l, h] = 0.0
                hidden_states, _ = encoder(w, config, x0, head_mask)
                ablation[l, h] = y - final_score(ckpt, explain, inputs, hidden_states[-1])
        out = {"explain.head_ablation": ablation}

        knock = explain["knockout"]
        t = x0.shape[1]
        keys = [1 + view.token_patch.index(p) for p in knock["patches"] if p in view.token_patch]
        blocked = torch.zeros(t, t, dtype=torch.bool)
        for key in keys:
            if knock["every_query"]:
                blocked[:, key] = True
            else:
                blocked[0, key] = True
        chosen = knock["layers"] or list(range(layers))
        hidden_states, _ = encoder(w, config, x0, None, 0, {l: blocked for l in chosen})
        knocked_last = layer_norm(hidden_states[-1], w, "layernorm", config["layer_norm_eps"])[0]
        out["explain.knockout.score"] = torch.stack([y, target_score(ckpt, knocked_last, explain["target"], explain, inputs)])
        out["explain.knockout.cls_cosine"] = cosine(knocked_last[0], view.last.detach()[0]).reshape(1)

        if clean is not None:
            y_clean = final_score(ckpt, explain, inputs, clean.hidden_states[-1].detach().unsqueeze(0))
            span = y_clean - y
            restoration = torch.full((layers, view.patches), math.nan, dtype=torch.float64)
            cls, everything = [], []
            order = [0] + [1 + p for p in view.token_patch]
            for l in range(layers):
                xm, xc = view.hidden_states[l].detach(), clean.hidden_states[l].detach()[order]

                def patched(tokens):
                    x = xm.clone()
                    x[tokens] = xc[tokens]
                    hidden_states, _ = encoder(w, config, x.unsqueeze(0), None, l)
                    return (final_score(ckpt, explain, inputs, hidden_states[-1]) - y) / span

                for j, p in enumerate(view.token_patch):
                    restoration[l, p] = patched([1 + j])
                cls.append(patched([0]))
                everything.append(patched(list(range(t))))
            out["explain.patching"] = restoration.reshape(layers, view.rows, view.cols)
            out["explain.patching.cls"] = torch.stack(cls)
            out["explain.patching.all"] = torch.stack(everything)
            out["explain.patching.scores"] = torch.stack([y_clean, y])
    return out


def rollout(matrices):
    """R = Â_L ⋯ Â_1 with Â = (M + I), rows normalised to sum 1; matrices in forward order."""
    t = matrices[0].shape[-1]
    r = torch.eye(t, dtype=torch.float64)
    for m in matrices:
        a = m + torch.eye(t, dtype=torch.float64)
        r = (a / a.sum(-1, keepdim=True)) @ r
    return r


def discard_lowest(m, ratio):
    """The lowest floor(ratio·T·T) entries of the flattened matrix (ascending value, ties by lower
    flat index) set to 0, except entry [0, 0], which keeps its value."""
    flat = m.reshape(-1).clone()
    count = math.floor(ratio * flat.numel())
    order = torch.sort(flat, stable=True).indices[:count]
    flat[order[order != 0]] = 0.0
    return flat.reshape(m.shape)


def attention_distance(view, attentions):
    """[L, H]: per head, the attention-weighted grid distance (in pixels) from each patch query
    to the patch keys (CLS query and key left out, rows not renormalised), averaged over queries."""
    index = torch.tensor(view.token_patch, dtype=torch.int64)
    centres = torch.stack([index // view.cols, index % view.cols], dim=-1).to(torch.float64)
    distance = (centres[:, None, :] - centres[None, :, :]).norm(dim=-1) * view.ckpt.config["patch_size"]
    return torch.stack([(a[:, 1:, 1:] * distance).sum(-1).mean(-1) for a in attentions])


def pca_scores(x, components=3):
    """Scores of the centred rows of x on the covariance's leading eigenvectors (descending
    eigenvalue), each component's sign chosen so that the sum of its cubed scores is positive."""
    centred = x - x.mean(0, keepdim=True)
    _, vectors = torch.linalg.eigh(centred.T @ centred / (x.shape[0] - 1))  # ascending eigenvalues
    scores = centred @ vectors[:, -components:].flip(-1)
    return scores * torch.where((scores**3).sum(0) < 0, -1.0, 1.0)


def explanations(ckpt, explain, pixels, inputs, bool_masked_pos, interpolate, keep):
    """explain.* tensors (float64) of one case; see tests/data/README.md for the definitions."""
    if "inputs.head_mask" in inputs:
        raise SystemExit("explain: a case with an explain object takes no head_mask")
    target = explain["target"]
    scored = target["source"] != "none"
    if target["source"] == "few_shot" and "inputs.few_shot_weight" not in inputs:
        raise SystemExit("explain: target few_shot needs inputs.few_shot_weight")
    out = {}
    with torch.enable_grad():
        view = View(ckpt, pixels, bool_masked_pos, interpolate, keep)
        attentions = [a.detach()[0] for a in view.attentions]  # [H, T, T]
        if scored:
            y = target_score(ckpt, view.last, target, explain, inputs)
            grads = [g[0] for g in torch.autograd.grad(y, view.attentions)]  # G_l = ∂y/∂A_l, all paths after A_l
            y = y.detach()
    last = view.last.detach()
    query = view.token(explain["query_patch"])

    out["explain.rollout"] = view.on_patches(rollout([a.mean(0) for a in attentions])[0, 1:])
    if scored:
        out["explain.target_score"] = y.reshape(1)
        weighted = [(a * g).mean(0).clamp(min=0) for a, g in zip(attentions, grads)]
        out["explain.grad_rollout"] = view.on_patches(rollout(weighted)[0, 1:])
        discarded = [discard_lowest(f, explain["discard_ratio"]) for f in weighted]
        out["explain.grad_rollout.discard"] = view.on_patches(rollout(discarded)[0, 1:])
        relevance = torch.eye(last.shape[0], dtype=torch.float64)
        for a, g in zip(attentions, grads):
            relevance = relevance + (g * a).clamp(min=0).mean(0) @ relevance
        out["explain.chefer"] = view.on_patches(relevance[0, 1:])
        out["explain.chefer.query"] = view.on_patches(relevance[query, 1:])

    # Occlusion: each seen patch's token dropped as well, one forward per patch.
    occlusion, change = [], []
    with torch.no_grad():
        for patch in view.token_patch:
            kept = torch.tensor([[p for p in view.token_patch if p != patch]], dtype=torch.int64)
            occluded, _, _ = vit_msn_model(ckpt.w, ckpt.config, pixels, bool_masked_pos, None, interpolate, kept)
            if scored:
                occlusion.append(y - target_score(ckpt, occluded[0], target, explain, inputs))
            change.append(one_minus_cosine(occluded[0, 0], last[0]))
    if scored:
        out["explain.occlusion"] = view.on_patches(torch.stack(occlusion))
    out["explain.occlusion.none"] = view.on_patches(torch.stack(change))

    out["explain.similarity"] = view.on_patches(cosine(last[query], last[1:]))
    out["explain.similarity.cls"] = view.on_patches(cosine(last[0], last[1:]))
    out["explain.token_norms"] = view.on_patches(view.hidden_states[-1].detach()[1:].norm(dim=-1))
    out["explain.token_norms.layer0"] = view.on_patches(view.hidden_states[1].detach()[1:].norm(dim=-1))
    out["explain.pca"] = view.on_patches(pca_scores(last[1:]))
    out["explain.distance"] = attention_distance(view, attentions)
    if scored:
        out.update(faithfulness(ckpt, explain, pixels, inputs, bool_masked_pos, interpolate, view, out["explain.rollout"]))
        clean = View(ckpt, pixels, bool_masked_pos, interpolate, None) if keep is not None else None
        out.update(interventions(ckpt, explain, inputs, view, clean))
    return out


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------


def case_names(data_dir):
    cases = os.path.join(data_dir, "cases")
    return sorted(n[: -len(".json")] for n in os.listdir(cases) if n.endswith(".json"))


def load_case(data_dir, name):
    spec = read_json(os.path.join(data_dir, "cases", name + ".json"))
    stored, metadata = read_safetensors(os.path.join(data_dir, "cases", spec["expected"]))
    return spec, stored, metadata


def compute_case(data_dir, spec, inputs):
    """Expected tensors (float64) of one case from its spec and its `inputs.*` tensors."""
    source = spec["input"]
    if "images" in source:  # the preprocessing case: every image of a folder
        preprocessor = dict(PREPROCESSOR_DEFAULTS, image_mean=spec["image_mean"], image_std=spec["image_std"],
                            size={"height": spec["size"][0], "width": spec["size"][1]})
        folder = os.path.join(data_dir, source["images"])
        return {f"pixel_values.{f}": preprocess(os.path.join(folder, f), preprocessor)
                for f in sorted(os.listdir(folder)) if not f.startswith(".")}

    ckpt = load_checkpoint(data_dir, spec["model"], spec.get("config"))
    w, config = ckpt.w, ckpt.config
    out = {}
    if "image" in source:
        pixels = preprocess(os.path.join(data_dir, source["image"]), ckpt.preprocessor)
        out["pixel_values"] = pixels
    else:
        pixels = inputs["inputs.pixel_values"].to(torch.float64)
    interpolate = bool(source.get("interpolate_pos_encoding", False))
    bool_masked_pos = inputs.get("inputs.bool_masked_pos")
    head_mask = inputs.get("inputs.head_mask")
    keep = inputs.get("inputs.keep_patches")
    # An original MSN checkpoint shows the dropped-token view beside the full one (masked.*);
    # otherwise keep_patches applies to the whole output.
    masked_view = keep is not None and ckpt.has_projection_head

    last, hidden_states, attentions = vit_msn_model(w, config, pixels, bool_masked_pos, head_mask, interpolate,
                                                    None if masked_view else keep)
    out["last_hidden_state"] = last
    for i, h in enumerate(hidden_states):
        out[f"hidden_states.{i}"] = h
    for i, a in enumerate(attentions):
        out[f"attentions.{i}"] = a
    if ckpt.has_classifier:
        out["logits"] = classifier(w, last)
    if ckpt.has_projection_head:
        out["projection"] = projection_head(w, last[:, 0])
        out["prototype_probs"] = prototype_probs(w, out["projection"])
    if masked_view:
        masked_last, _, _ = vit_msn_model(w, config, pixels, bool_masked_pos, head_mask, interpolate, keep)
        out["masked.last_hidden_state"] = masked_last
        out["masked.projection"] = projection_head(w, masked_last[:, 0])
        out["masked.prototype_probs"] = prototype_probs(w, out["masked.projection"])
    if "explain" in spec:  # on the view the model sees: keep_patches applies, whatever the checkpoint
        out.update(explanations(ckpt, spec["explain"], pixels, inputs, bool_masked_pos, interpolate, keep))
    return out


def inputs_of(stored):
    return {k: v for k, v in stored.items() if k.startswith("inputs.")}


def ulp(t):
    """Spacing of the stored dtype at each stored value (upward)."""
    a = t.abs()
    return (torch.nextafter(a, torch.full_like(a, math.inf)) - a).to(torch.float64)


def compare_case(expected, stored):
    """Returns (lines, ok). Δ is float64 result − stored value; beyond = what remains after the
    storage dtype's rounding (|Δ| − ½ulp of the stored value), the float64 disagreement proper."""
    names = sorted(k for k in stored if not k.startswith("inputs."))
    missing, extra = sorted(set(expected) - set(names)), sorted(set(names) - set(expected))
    ok = not missing and not extra
    worst_abs, worst_beyond, worst_name, flips, total, scale = 0.0, 0.0, "", 0, 0, 0.0
    dtypes = set()
    for name in names:
        if name not in expected:
            continue
        s = stored[name]
        e = expected[name]
        if tuple(e.shape) != tuple(s.shape):
            return [f"  {name}: shape {list(e.shape)} vs stored {list(s.shape)}"], False
        dtypes.add(SAFETENSORS_NAMES[s.dtype])
        if s.is_floating_point():  # NaN marks "no value" (explain maps on dropped patches): same places
            nan = torch.isnan(e)
            if not torch.equal(nan, torch.isnan(s)):
                return [f"  {name}: NaN at other elements than stored"], False
            e, s = e.masked_fill(nan, 0.0), s.masked_fill(nan, 0.0)
        delta = (e - s.to(torch.float64)).abs()
        beyond = (delta - (0.5 * ulp(s) if s.dtype != torch.float64 else 0.0)).clamp(min=0)
        flips += int((e.to(s.dtype) != s).sum())
        total += s.numel()
        scale = max(scale, float(s.abs().max()))
        if float(delta.max()) >= worst_abs:
            worst_abs, worst_name = float(delta.max()), name
        worst_beyond = max(worst_beyond, float(beyond.max()))
    bound = 1e-9 * (1 + scale)
    ok = ok and worst_beyond <= bound
    line = (f"max|Δ| {worst_abs:.2e} ({worst_name}; stored {'/'.join(sorted(dtypes))}) | "
            f"beyond storage rounding {worst_beyond:.2e} (bound {bound:.1e}) | "
            f"{flips}/{total} elements round to a different stored value")
    lines = [line]
    if missing:
        lines.append(f"  not stored: {', '.join(missing)}")
    if extra:
        lines.append(f"  stored but not produced: {', '.join(extra)}")
    return lines, ok


def check(data_dir, names):
    failed = []
    for name in names:
        spec, stored, _ = load_case(data_dir, name)
        expected = compute_case(data_dir, spec, inputs_of(stored))
        lines, ok = compare_case(expected, stored)
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {lines[0]}")
        for extra in lines[1:]:
            print(extra)
        if not ok:
            failed.append(name)
    print(f"{len(names) - len(failed)}/{len(names)} cases within 1e-9·(1+max|expected|) beyond storage rounding. "
          "(F32-stored tensors: max|Δ| up to ½ulp of the stored value is that rounding, ~6e-8·|x|.)")
    return 1 if failed else 0


def stored_tensors(expected, inputs, dtypes, default_dtype):
    """The file's tensors: inputs as they are, expected ones rounded to their stored dtype."""
    tensors = dict(inputs)
    for name, t in expected.items():
        tensors[name] = t.to(dtypes.get(name, default_dtype))
    return tensors


def write(data_dir, names, default_dtype):
    for name in names:
        spec, stored, metadata = load_case(data_dir, name)
        inputs = inputs_of(stored)
        expected = compute_case(data_dir, spec, inputs)
        dtypes = {k: v.dtype for k, v in stored.items()}
        path = os.path.join(data_dir, "cases", spec["expected"])
        blob = safetensors_bytes(stored_tensors(expected, inputs, dtypes, default_dtype), metadata)
        with open(path, "rb") as f:
            unchanged = f.read() == blob
        if not unchanged:
            with open(path, "wb") as f:
                f.write(blob)
        print(f"{name}: {'unchanged' if unchanged else 'rewritten'} {os.path.relpath(path, data_dir)}")
    return 0


def parse_list(text, kind=float):
    return [kind(v) for v in text.replace(";", ",").split(",") if v.strip()]


def new_case(data_dir, args):
    """Writes cases/NAME.json and cases/NAME.safetensors from the command line."""
    name = args.new_case
    spec = {"model": args.model}
    case_config = json.loads(args.config) if args.config else None
    if case_config:
        spec["config"] = case_config
    ckpt = load_checkpoint(data_dir, args.model, case_config)
    config = ckpt.config
    g = torch.Generator().manual_seed(args.seed)
    source, inputs = {}, {}
    if args.image:
        source["image"] = args.image
    else:
        source["pixel_values"] = "inputs"
        height, width = (parse_list(args.size.replace("x", ","), int) if args.size
                         else [config["image_size"], config["image_size"]])
        inputs["inputs.pixel_values"] = torch.randn(1, config["num_channels"], height, width, generator=g)
        if (height, width) != (config["image_size"],) * 2 and not args.interpolate:
            raise SystemExit(f"--size {height}x{width} differs from image_size {config['image_size']}: "
                             "add --interpolate")
    if args.interpolate:
        source["interpolate_pos_encoding"] = True
    height = width = config["image_size"]
    if "inputs.pixel_values" in inputs:
        height, width = inputs["inputs.pixel_values"].shape[2:]
    patches = (height // config["patch_size"]) * (width // config["patch_size"])
    if args.head_mask:
        source["head_mask"] = "inputs"
        values = parse_list(args.head_mask)
        heads, layers = config["num_attention_heads"], config["num_hidden_layers"]
        if len(values) not in (heads, heads * layers):
            raise SystemExit(f"--head-mask wants {heads} or {layers}x{heads} values")
        shape = [heads] if len(values) == heads else [layers, heads]
        inputs["inputs.head_mask"] = torch.tensor(values, dtype=torch.float32).reshape(shape)
    if args.mask_patches:
        if "embeddings.mask_token" not in ckpt.w:
            raise SystemExit(f"{args.model} has no embeddings.mask_token")
        source["bool_masked_pos"] = "inputs"
        inputs["inputs.bool_masked_pos"] = patch_selection(args.mask_patches, patches, g, as_mask=True)
    if args.keep_patches:
        source["keep_patches"] = "inputs"
        inputs["inputs.keep_patches"] = patch_selection(args.keep_patches, patches, g, as_mask=False)
    if args.few_shot_classes:
        source["few_shot_weight"] = "inputs"
        inputs["inputs.few_shot_weight"] = torch.randn(args.few_shot_classes, config["hidden_size"], generator=g)
    spec["input"] = source
    if args.note:
        spec["note"] = args.note
    if args.explain:
        spec["explain"] = json.loads(args.explain)
    spec["expected"] = name + ".safetensors"

    json_path = os.path.join(data_dir, "cases", name + ".json")
    if os.path.exists(json_path) and not args.force:
        raise SystemExit(f"{json_path} exists (--force to replace it)")
    expected = compute_case(data_dir, spec, inputs)
    dtype = SAFETENSORS_DTYPES[args.dtype]
    write_safetensors(os.path.join(data_dir, "cases", spec["expected"]), stored_tensors(expected, inputs, {}, dtype))
    with open(json_path, "w") as f:
        f.write(json.dumps(spec, indent=2) + "\n")
    print(f"wrote cases/{name}.json and cases/{spec['expected']}: {', '.join(sorted(expected))}")
    return 0


def patch_selection(text, patches, generator, as_mask):
    """'3,4,17' lists patch indices; 'random:K' picks K distinct patches from the seed (sorted)."""
    if text.startswith("random:"):
        count = int(text.split(":", 1)[1])
        indices = sorted(torch.randperm(patches, generator=generator)[:count].tolist())
    else:
        indices = parse_list(text, int)
    if any(i < 0 or i >= patches for i in indices):
        raise SystemExit(f"patch indices must lie in [0, {patches})")
    if as_mask:
        mask = torch.zeros(1, patches, dtype=torch.bool)
        mask[0, indices] = True
        return mask
    return torch.tensor([indices], dtype=torch.int64)


# ---------------------------------------------------------------------------------------------
# Random-weight checkpoints
# ---------------------------------------------------------------------------------------------


def random_tensor(name, shape, g):
    """Scales that keep a tiny random model's activations and attention non-trivial."""
    def normal(std, mean=0.0):
        return mean + std * torch.randn(shape, generator=g)

    leaf = name.rsplit(".", 1)[-1]
    if name.endswith("running_var"):
        return 1.0 + 0.1 * torch.rand(shape, generator=g)
    if name.endswith("running_mean"):
        return normal(0.1)
    if any(n in name for n in ("layernorm", "norm1", "norm2", "norm.", "bn1", "bn2")):
        return normal(0.1, 1.0) if leaf == "weight" else normal(0.05)
    if leaf in ("cls_token", "mask_token", "position_embeddings", "pos_embed", "prototypes"):
        return normal(0.5)
    if leaf == "bias":
        return normal(0.1)
    if any(n in name for n in ("query", "key")):
        return normal(0.08)
    return normal(0.05)


def transformers_state_dict(config, num_labels, mask_token, g):
    d, c, p, m = config["hidden_size"], config["num_channels"], config["patch_size"], config["intermediate_size"]
    positions = (config["image_size"] // p) ** 2 + 1
    shapes = collections.OrderedDict()
    shapes["embeddings.cls_token"] = (1, 1, d)
    if mask_token:
        shapes["embeddings.mask_token"] = (1, 1, d)
    shapes["embeddings.position_embeddings"] = (1, positions, d)
    shapes["embeddings.patch_embeddings.projection.weight"] = (d, c, p, p)
    shapes["embeddings.patch_embeddings.projection.bias"] = (d,)
    for i in range(config["num_hidden_layers"]):
        l = f"encoder.layer.{i}."
        for n in ("query", "key", "value"):
            shapes[l + f"attention.attention.{n}.weight"] = (d, d)
            if config["qkv_bias"]:
                shapes[l + f"attention.attention.{n}.bias"] = (d,)
        shapes[l + "attention.output.dense.weight"] = (d, d)
        shapes[l + "attention.output.dense.bias"] = (d,)
        shapes[l + "intermediate.dense.weight"] = (m, d)
        shapes[l + "intermediate.dense.bias"] = (m,)
        shapes[l + "output.dense.weight"] = (d, m)
        shapes[l + "output.dense.bias"] = (d,)
        for n in ("layernorm_before", "layernorm_after"):
            shapes[l + f"{n}.weight"] = (d,)
            shapes[l + f"{n}.bias"] = (d,)
    shapes["layernorm.weight"] = (d,)
    shapes["layernorm.bias"] = (d,)
    if num_labels:
        shapes["classifier.weight"] = (num_labels, d)
        shapes["classifier.bias"] = (num_labels,)
    return collections.OrderedDict((k, random_tensor(k, s, g)) for k, s in shapes.items())


def original_msn_state_dict(config, head_hidden, head_out, g):
    d, c, p, m = config["hidden_size"], config["num_channels"], config["patch_size"], config["intermediate_size"]
    positions = (config["image_size"] // p) ** 2 + 1
    shapes = collections.OrderedDict([
        ("cls_token", (1, 1, d)), ("pos_embed", (1, positions, d)),
        ("patch_embed.proj.weight", (d, c, p, p)), ("patch_embed.proj.bias", (d,))])
    for i in range(config["num_hidden_layers"]):
        b = f"blocks.{i}."
        shapes.update([(b + "norm1.weight", (d,)), (b + "norm1.bias", (d,)),
                       (b + "attn.qkv.weight", (3 * d, d)), (b + "attn.qkv.bias", (3 * d,)),
                       (b + "attn.proj.weight", (d, d)), (b + "attn.proj.bias", (d,)),
                       (b + "norm2.weight", (d,)), (b + "norm2.bias", (d,)),
                       (b + "mlp.fc1.weight", (m, d)), (b + "mlp.fc1.bias", (m,)),
                       (b + "mlp.fc2.weight", (d, m)), (b + "mlp.fc2.bias", (d,))])
    shapes.update([("norm.weight", (d,)), ("norm.bias", (d,))])
    for i, (n_in, n_out) in ((1, (d, head_hidden)), (2, (head_hidden, head_hidden))):
        shapes[f"fc.fc{i}.weight"] = (n_out, n_in)
        shapes[f"fc.fc{i}.bias"] = (n_out,)
        for s in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"fc.bn{i}.{s}"] = (n_out,)
    shapes.update([("fc.fc3.weight", (head_out, head_hidden)), ("fc.fc3.bias", (head_out,))])
    sd = collections.OrderedDict()
    for k, s in shapes.items():
        sd["module." + k] = random_tensor(k, s, g)
        if k.endswith("running_var"):
            sd["module." + k.replace("running_var", "num_batches_tracked")] = torch.tensor(1000)
    return sd


def new_model(data_dir, args):
    config = dict(CONFIG_DEFAULTS, hidden_size=args.hidden_size, num_hidden_layers=args.layers,
                  num_attention_heads=args.heads, intermediate_size=args.intermediate_size or 4 * args.hidden_size,
                  image_size=args.image_size, patch_size=args.patch_size, hidden_act=args.hidden_act)
    g = torch.Generator().manual_seed(args.seed)
    target = os.path.join(data_dir, args.new_model)
    if args.layout == "msn-original":
        path = target if target.endswith((".pth.tar", ".pth")) else os.path.join(target, "checkpoint.pth.tar")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        encoder = original_msn_state_dict(config, args.head_hidden, args.head_out, g)
        prototypes = random_tensor("prototypes", (args.prototypes, args.head_out), g)
        target_encoder = collections.OrderedDict((k, v.clone()) for k, v in encoder.items())
        torch.save({"encoder": encoder, "target_encoder": target_encoder, "prototypes": prototypes,
                    "epoch": 0, "temperature": 0.1, "opt": None}, path)
        case_config = {k: config[k] for k in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                                               "intermediate_size", "image_size", "patch_size", "layer_norm_eps",
                                               "qkv_bias")}
        print(f"wrote {os.path.relpath(path, data_dir)}; it has no config file, so a case needs "
              f"--config '{json.dumps(case_config)}'")
        return 0

    os.makedirs(target, exist_ok=True)
    sd = transformers_state_dict(config, args.num_labels, args.mask_token, g)
    if args.layout == "safetensors-vit":  # ViTMSNForImageClassification
        sd = collections.OrderedDict((k if k.startswith("classifier.") else "vit." + k, v) for k, v in sd.items())
    file_config = dict(config, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, initializer_range=0.02,
                       model_type="vit_msn", torch_dtype="float32",
                       architectures=["ViTMSNForImageClassification" if args.num_labels else "ViTMSNModel"])
    if args.num_labels:
        file_config["num_labels"] = args.num_labels
        file_config["id2label"] = {str(i): f"class_{i}" for i in range(args.num_labels)}
        file_config["label2id"] = {f"class_{i}": i for i in range(args.num_labels)}
    if args.layout == "bin":
        torch.save(sd, os.path.join(target, "pytorch_model.bin"))
    else:
        write_safetensors(os.path.join(target, "model.safetensors"), sd, {"format": "pt"})
    preprocessor = dict(PREPROCESSOR_DEFAULTS, rescale_factor=0.00392156862745098, image_mean=[0.485, 0.456, 0.406],
                        image_std=[0.229, 0.224, 0.225], size={"height": args.image_size, "width": args.image_size},
                        image_processor_type="ViTImageProcessor")
    for file, content in (("config.json", file_config), ("preprocessor_config.json", preprocessor)):
        with open(os.path.join(target, file), "w") as f:
            f.write(json.dumps(content, indent=2) + "\n")
    parameters = sum(v.numel() for v in sd.values())
    print(f"wrote {os.path.relpath(target, data_dir)} ({args.layout}, {parameters} parameters)")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="recompute every case and compare")
    mode.add_argument("--write", action="store_true", help="rewrite the cases' expected tensors")
    mode.add_argument("--new-case", metavar="NAME", help="add cases/NAME.json + .safetensors")
    mode.add_argument("--new-model", metavar="PATH", help="create a random-weight checkpoint under DATA/PATH")
    parser.add_argument("cases", nargs="*", help="case names for --check/--write (default: all)")
    parser.add_argument("--data", default=DEFAULT_DATA, help="the fixtures folder (default: tests/data)")
    parser.add_argument("--dtype", default="F32", choices=sorted(SAFETENSORS_DTYPES),
                        help="storage dtype of new expected tensors (default F32, as the stored cases)")
    case = parser.add_argument_group("--new-case")
    case.add_argument("--model", help="models/FOLDER or a checkpoint file, relative to DATA")
    case.add_argument("--config", help="JSON config for a checkpoint without config.json (original MSN)")
    case.add_argument("--image", help="images/FILE: run the full pipeline (stores pixel_values)")
    case.add_argument("--size", help="HxW of random pixel values (default: the config's image size)")
    case.add_argument("--interpolate", action="store_true", help="interpolate_pos_encoding")
    case.add_argument("--head-mask", help="heads or layers×heads values, e.g. '1,0,1;0.5,1,0'")
    case.add_argument("--mask-patches", help="bool_masked_pos: '3,4,17' or 'random:K'")
    case.add_argument("--keep-patches", help="MSN token dropping: '0,5,9' or 'random:K'")
    case.add_argument("--few-shot-classes", type=int, metavar="C",
                      help="inputs.few_shot_weight: C×hidden_size N(0,1) float32 from --seed (few_shot target)")
    case.add_argument("--explain", metavar="JSON", help="the case's explain object (adds explain.* tensors)")
    case.add_argument("--seed", type=int, default=0, help="seed for random inputs / weights (default 0)")
    case.add_argument("--note", help="a note stored in the case json")
    case.add_argument("--force", action="store_true", help="replace an existing case")
    model = parser.add_argument_group("--new-model")
    model.add_argument("--layout", choices=["safetensors-vit", "safetensors", "bin", "msn-original"])
    model.add_argument("--hidden-size", type=int, default=32)
    model.add_argument("--layers", type=int, default=2)
    model.add_argument("--heads", type=int, default=2)
    model.add_argument("--intermediate-size", type=int)
    model.add_argument("--image-size", type=int, default=64)
    model.add_argument("--patch-size", type=int, default=16)
    model.add_argument("--hidden-act", default="gelu", choices=sorted(ACTIVATIONS))
    model.add_argument("--num-labels", type=int, default=0, help="classifier width (0: backbone only)")
    model.add_argument("--mask-token", action="store_true", help="include embeddings.mask_token")
    model.add_argument("--head-hidden", type=int, default=64, help="MSN projection head width")
    model.add_argument("--head-out", type=int, default=16, help="MSN projection / prototype dimension")
    model.add_argument("--prototypes", type=int, default=32, help="number of MSN prototypes")
    args = parser.parse_args()

    data_dir = os.path.abspath(args.data)
    torch.set_num_threads(1)
    if args.check or args.write:
        names = args.cases or case_names(data_dir)
        unknown = [n for n in names if n not in case_names(data_dir)]
        if unknown:
            raise SystemExit(f"no such case: {', '.join(unknown)}")
        if args.check:
            return check(data_dir, names)
        return write(data_dir, names, SAFETENSORS_DTYPES[args.dtype])
    if args.new_case:
        if not args.model:
            parser.error("--new-case needs --model")
        return new_case(data_dir, args)
    if not args.layout:
        parser.error("--new-model needs --layout")
    return new_model(data_dir, args)


if __name__ == "__main__":
    sys.exit(main())
