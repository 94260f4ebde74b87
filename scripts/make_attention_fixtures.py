#!/usr/bin/env python3
"""Generate PyTorch golden values for nabla's attention and transformers.

Writes, under crates/nabla/tests/fixtures/:

  attention.json               the cases below, which
                               crates/nabla/tests/attention_golden.rs checks
                               nabla against
  transformer_encoder_state.safetensors
                               the float32 state_dict of a 2-layer
                               nn.TransformerEncoder with a final norm, saved
                               with safetensors.torch.save_file (case
                               "encoder_from_safetensors" holds an input and
                               PyTorch's output)

How to run (from the repository root, with the virtual environment of
scripts/make_fixtures.py, whose seeding and number formatting this script
reuses):

    /path/to/venv/bin/python scripts/make_attention_fixtures.py

The output is deterministic: every case draws its weights and inputs from a
torch.Generator seeded with the CRC32 of the case name, in float64; the
float32 variant uses the same data cast to float32, its golden values
computed by PyTorch in float32.

Fixture format: {"generator", "torch_version", "cases": [case, ...]}, where
a case is

    {"name": str, "kind": "sdpa" | "mha" | "encoder_layer" | "decoder_layer"
                          | "encoder" | "decoder" | "sinusoidal",
     "dtype": "float32" | "float64",
     "params": {...},             # constructor / call arguments, below
     "weights": {name: tensor},   # the module's state_dict (modules only)
     "inputs": {name: tensor},    # every one requires grad
     "masks": {name: tensor},     # 0/1 for boolean masks, else additive
     "outputs": {name: tensor},
     "loss_weights": {name: tensor},  # loss = sum over outputs of (out * w).sum()
     "grads": {name: tensor}}     # d loss / d every input and parameter

with tensor = {"shape": [..], "values": [..]} (flat, row-major).

Kinds and their params:
  sdpa: inputs query, key, value; masks attn_mask (with "mask_kind": "bool"
    (True = attend) or "float"); params is_causal, scale (or null); a float
    mask that requires grad is an input "attn_mask" instead; outputs output.
  mha: params embed_dim, num_heads, bias, kdim, vdim, batch_first,
    need_weights, average_attn_weights, is_causal, self_attention (query is
    passed as key and value too); inputs query (key, value); masks
    key_padding_mask and attn_mask with "<name>_kind" "bool" (True =
    masked out, PyTorch's meaning for MultiheadAttention) or "float";
    outputs output (and weights).
  encoder_layer / decoder_layer: params d_model, nhead, dim_feedforward,
    activation, batch_first, norm_first, bias (dropout 0, training mode, so
    PyTorch takes its plain path); inputs src (tgt, memory); masks
    src_key_padding_mask / tgt_key_padding_mask / memory_key_padding_mask
    (bool) and params is_causal / tgt_is_causal; outputs output.
  encoder / decoder: the same plus num_layers and norm (a final LayerNorm).
  sinusoidal: params d_model, start, length; outputs encoding (the
    tutorial's PositionalEncoding table rows).
"""

import json
import math
import os
import sys
import zlib

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import DTYPE_NAMES, F32, F64, Gen, dump, tensor_json  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "crates", "nabla", "tests", "fixtures")
OUT = os.path.join(FIXTURES, "attention.json")
ENCODER_STATE = os.path.join(FIXTURES, "transformer_encoder_state.safetensors")

CASES = []


def fill_weights(module, g, scale=0.5):
    """Overwrites every parameter with U(-scale, scale) draws of `g` (LayerNorm
    weights around 1), in state_dict order; returns the float64 values."""
    weights = {}
    with torch.no_grad():
        for name, p in module.named_parameters():
            values = g.uniform(-scale, scale, *p.shape)
            parts = name.split(".")
            if len(parts) >= 2 and parts[-2].startswith("norm") and parts[-1] == "weight":
                values = values + 1.0
            p.copy_(values)
            weights[name] = values
    return weights


def finish(name, kind, dtype, params, weights, leaves, masks, outputs, module, g_loss, loss_weights):
    """Backpropagates the weighted sum of the outputs and appends the case;
    returns the loss weights (drawn on the first dtype, reused after)."""
    if loss_weights is None:
        loss_weights = {k: g_loss.randn(*v.shape) for k, v in outputs.items()}
    loss = sum((v * loss_weights[k].to(dtype)).sum() for k, v in outputs.items())
    loss.backward()
    grads = {k: t.grad for k, t in leaves.items()}
    if module is not None:
        grads.update({n: p.grad for n, p in module.named_parameters()})
    CASES.append({
        "name": name,
        "kind": kind,
        "dtype": DTYPE_NAMES[dtype],
        "params": params,
        "weights": {n: tensor_json(w.to(dtype)) for n, w in weights.items()},
        "inputs": {k: tensor_json(t) for k, t in leaves.items()},
        "masks": {k: tensor_json(m.to(dtype)) for k, m in masks.items()},
        "outputs": {k: tensor_json(v) for k, v in outputs.items()},
        "loss_weights": {k: tensor_json(v.to(dtype)) for k, v in loss_weights.items()},
        "grads": {k: tensor_json(v) for k, v in grads.items()},
    })
    return loss_weights


def leaves_of(inputs, dtype):
    return {k: v.to(dtype).clone().requires_grad_(True) for k, v in inputs.items()}


# ------------------------------------------------------------------ sdpa


def sdpa_case(name, q_shape, k_shape, v_shape, is_causal=False, scale=None, mask=None, mask_kind=None,
              mask_grad=False):
    g = Gen(name)
    inputs = {"query": g.randn(*q_shape), "key": g.randn(*k_shape), "value": g.randn(*v_shape)}
    masks = {}
    if mask is not None and mask_grad:
        inputs["attn_mask"] = mask
    elif mask is not None:
        masks["attn_mask"] = mask
    params = {"is_causal": is_causal, "scale": scale, "mask_kind": mask_kind}
    loss_weights = None
    for dtype in (F64, F32):
        leaves = leaves_of(inputs, dtype)
        attn_mask = leaves.get("attn_mask")
        if "attn_mask" in masks:
            attn_mask = masks["attn_mask"].bool() if mask_kind == "bool" else masks["attn_mask"].to(dtype)
        with sdpa_kernel(SDPBackend.MATH):
            out = F.scaled_dot_product_attention(leaves["query"], leaves["key"], leaves["value"],
                                                 attn_mask=attn_mask, is_causal=is_causal, scale=scale)
        loss_weights = finish(name, "sdpa", dtype, params, {}, leaves, masks, {"output": out}, None,
                              Gen(name + "/loss"), loss_weights)


def sdpa_cases():
    B, H, L, S, E, Ev = 2, 3, 4, 6, 5, 3
    sdpa_case("sdpa plain", (B, H, L, E), (B, H, S, E), (B, H, S, Ev))
    sdpa_case("sdpa causal square", (B, H, 5, E), (B, H, 5, E), (B, H, 5, Ev), is_causal=True)
    sdpa_case("sdpa causal L < S", (B, H, 3, E), (B, H, S, E), (B, H, S, Ev), is_causal=True)
    sdpa_case("sdpa scale", (B, H, L, E), (B, H, S, E), (B, H, S, Ev), scale=0.3)
    sdpa_case("sdpa three dims", (B, L, E), (B, S, E), (B, S, Ev))
    g = Gen("sdpa masks")
    allow = (torch.rand(L, S, generator=g.g, dtype=F64) < 0.7).to(F64)
    allow[:, 0] = 1.0  # every query sees some key
    sdpa_case("sdpa bool mask", (B, H, L, E), (B, H, S, E), (B, H, S, Ev), mask=allow, mask_kind="bool")
    empty_row = allow.clone()
    empty_row[1] = 0.0  # query 1 sees no key: output 0
    sdpa_case("sdpa bool mask with an empty row", (B, H, L, E), (B, H, S, E), (B, H, S, Ev), mask=empty_row,
              mask_kind="bool")
    padding = torch.ones(B, 1, 1, S, dtype=F64)
    padding[1, :, :, 4:] = 0.0
    sdpa_case("sdpa padding mask", (B, H, L, E), (B, H, S, E), (B, H, S, Ev), mask=padding, mask_kind="bool")
    additive = g.randn(B, 1, L, S)
    additive[0, 0, 2, 3] = -1e30  # JSON has no -inf: a key removed all but in name
    sdpa_case("sdpa additive mask", (B, H, L, E), (B, H, S, E), (B, H, S, Ev), mask=additive, mask_kind="float")
    sdpa_case("sdpa additive mask with a gradient", (B, H, L, E), (B, H, S, E), (B, H, S, Ev),
              mask=g.randn(L, S), mask_kind="float", mask_grad=True)


# ------------------------------------------------------------------- mha


def mha_case(name, embed_dim, num_heads, L, S, N, bias=True, kdim=None, vdim=None, batch_first=False,
             need_weights=True, average_attn_weights=True, self_attention=False, unbatched=False,
             key_padding=None, attn_mask=None, attn_mask_kind=None, is_causal=False):
    g = Gen(name)
    kd, vd = kdim or embed_dim, vdim or embed_dim

    def shape(positions, features):
        if unbatched:
            return (positions, features)
        return (N, positions, features) if batch_first else (positions, N, features)

    inputs = {"query": g.randn(*shape(L, embed_dim))}
    if not self_attention:
        inputs["key"] = g.randn(*shape(S, kd))
        inputs["value"] = g.randn(*shape(S, vd))
    masks = {}
    if key_padding is not None:
        masks["key_padding_mask"] = key_padding
    if attn_mask is not None:
        masks["attn_mask"] = attn_mask
    params = {"embed_dim": embed_dim, "num_heads": num_heads, "bias": bias, "kdim": kdim, "vdim": vdim,
              "batch_first": batch_first, "need_weights": need_weights,
              "average_attn_weights": average_attn_weights, "self_attention": self_attention,
              "is_causal": is_causal, "key_padding_mask_kind": "bool", "attn_mask_kind": attn_mask_kind}
    probe = nn.MultiheadAttention(embed_dim, num_heads, bias=bias, kdim=kdim, vdim=vdim,
                                  batch_first=batch_first, dtype=F64)
    weights = fill_weights(probe, g)
    loss_weights = None
    for dtype in (F64, F32):
        module = nn.MultiheadAttention(embed_dim, num_heads, bias=bias, kdim=kdim, vdim=vdim,
                                       batch_first=batch_first, dtype=dtype)
        with torch.no_grad():
            for n, p in module.named_parameters():
                p.copy_(weights[n].to(dtype))
        leaves = leaves_of(inputs, dtype)
        q = leaves["query"]
        k, v = (q, q) if self_attention else (leaves["key"], leaves["value"])
        kpm = masks["key_padding_mask"].bool() if "key_padding_mask" in masks else None
        am = None
        if "attn_mask" in masks:
            am = masks["attn_mask"].bool() if attn_mask_kind == "bool" else masks["attn_mask"].to(dtype)
        out, w = module(q, k, v, key_padding_mask=kpm, need_weights=need_weights, attn_mask=am,
                        average_attn_weights=average_attn_weights, is_causal=is_causal)
        outputs = {"output": out}
        if need_weights:
            outputs["weights"] = w
        loss_weights = finish(name, "mha", dtype, params, weights, leaves, masks, outputs, module,
                              Gen(name + "/loss"), loss_weights)


def mha_cases():
    E, H, L, S, N = 8, 2, 4, 5, 3
    mha_case("mha self-attention batch first", E, H, L, L, N, batch_first=True, self_attention=True)
    mha_case("mha cross-attention", E, H, L, S, N)
    mha_case("mha kdim and vdim", E, H, L, S, N, kdim=6, vdim=3, batch_first=True)
    mha_case("mha no bias", E, 4, L, S, N, bias=False)
    mha_case("mha per-head weights", E, H, L, S, N, average_attn_weights=False)
    mha_case("mha unbatched", E, H, L, S, N, unbatched=True)
    g = Gen("mha masks")
    padding = torch.zeros(N, S, dtype=F64)
    padding[0, 3:] = 1.0
    padding[2, 1] = 1.0
    mha_case("mha key padding mask", E, H, L, S, N, batch_first=True, key_padding=padding)
    causal = torch.ones(L, L, dtype=F64).triu(1)
    mha_case("mha causal bool mask", E, H, L, L, N, self_attention=True, attn_mask=causal,
             attn_mask_kind="bool", is_causal=True, need_weights=False)
    mha_case("mha additive per-head mask", E, H, L, S, N, attn_mask=g.randn(N * H, L, S),
             attn_mask_kind="float")
    both = padding.clone()
    both[0, 3:] = 0.0
    blocked = (torch.rand(L, S, generator=g.g, dtype=F64) < 0.3).to(F64)
    blocked[:, 0] = 0.0  # key 0 is never masked: every query sees some key
    mha_case("mha padding and bool mask", E, H, L, S, N, batch_first=True, key_padding=both, attn_mask=blocked,
             attn_mask_kind="bool")


# ---------------------------------------------------------- transformers


def layer_options(p):
    return dict(d_model=p["d_model"], nhead=p["nhead"], dim_feedforward=p["dim_feedforward"], dropout=0.0,
                activation=p["activation"], batch_first=p["batch_first"], norm_first=p["norm_first"],
                bias=p["bias"], dtype=F64)


def build(kind, p, dtype):
    opts = layer_options(p)
    opts["dtype"] = dtype
    if kind == "encoder_layer":
        return nn.TransformerEncoderLayer(**opts)
    if kind == "decoder_layer":
        return nn.TransformerDecoderLayer(**opts)
    norm = nn.LayerNorm(p["d_model"], bias=p["bias"], dtype=dtype) if p["norm"] else None
    if kind == "encoder":
        return nn.TransformerEncoder(nn.TransformerEncoderLayer(**opts), p["num_layers"], norm=norm,
                                     enable_nested_tensor=False)
    return nn.TransformerDecoder(nn.TransformerDecoderLayer(**opts), p["num_layers"], norm=norm)


def transformer_case(name, kind, T, S, N, padding=None, memory_padding=None, **p):
    params = dict(d_model=8, nhead=2, dim_feedforward=12, activation="relu", batch_first=False, norm_first=False,
                  bias=True, is_causal=False, num_layers=2, norm=True)
    params.update(p)
    g = Gen(name)
    d = params["d_model"]

    def shape(positions):
        return (N, positions, d) if params["batch_first"] else (positions, N, d)

    decoder = kind in ("decoder_layer", "decoder")
    inputs = {"tgt": g.randn(*shape(T)), "memory": g.randn(*shape(S))} if decoder else {"src": g.randn(*shape(T))}
    masks = {}
    if padding is not None:
        masks["tgt_key_padding_mask" if decoder else "src_key_padding_mask"] = padding
    if memory_padding is not None:
        masks["memory_key_padding_mask"] = memory_padding
    weights = fill_weights(build(kind, params, F64), g)
    loss_weights = None
    for dtype in (F64, F32):
        module = build(kind, params, dtype)
        module.train()  # dropout is 0; training mode keeps PyTorch off its fused fast path
        with torch.no_grad():
            for n, w in module.named_parameters():
                w.copy_(weights[n].to(dtype))
        leaves = leaves_of(inputs, dtype)
        bool_masks = {k: m.bool() for k, m in masks.items()}
        causal = torch.ones(T, T, dtype=torch.bool).triu(1) if params["is_causal"] else None
        if decoder:
            out = module(leaves["tgt"], leaves["memory"], tgt_mask=causal, tgt_is_causal=params["is_causal"],
                         tgt_key_padding_mask=bool_masks.get("tgt_key_padding_mask"),
                         memory_key_padding_mask=bool_masks.get("memory_key_padding_mask"))
        else:
            mask_name = "src_mask" if kind == "encoder_layer" else "mask"
            out = module(leaves["src"], **{mask_name: causal}, is_causal=params["is_causal"],
                         src_key_padding_mask=bool_masks.get("src_key_padding_mask"))
        loss_weights = finish(name, kind, dtype, params, weights, leaves, masks, {"output": out}, module,
                              Gen(name + "/loss"), loss_weights)


def transformer_cases():
    T, S, N = 5, 6, 2
    padding = torch.zeros(N, T, dtype=F64)
    padding[1, 3:] = 1.0
    memory_padding = torch.zeros(N, S, dtype=F64)
    memory_padding[0, 4:] = 1.0
    transformer_case("encoder layer post-norm relu padding", "encoder_layer", T, S, N, padding=padding)
    transformer_case("encoder layer pre-norm gelu causal", "encoder_layer", T, S, N, norm_first=True,
                     activation="gelu", batch_first=True, is_causal=True)
    transformer_case("encoder layer no bias", "encoder_layer", T, S, N, bias=False, batch_first=True)
    transformer_case("decoder layer post-norm causal memory padding", "decoder_layer", T, S, N, is_causal=True,
                     memory_padding=memory_padding)
    transformer_case("decoder layer pre-norm gelu", "decoder_layer", T, S, N, norm_first=True, activation="gelu",
                     batch_first=True, padding=padding)
    transformer_case("encoder two layers and norm", "encoder", T, S, N, norm_first=True, is_causal=True)
    transformer_case("decoder two layers and norm", "decoder", T, S, N, batch_first=True, is_causal=True,
                     memory_padding=memory_padding)


def sinusoidal_cases():
    """The PositionalEncoding of PyTorch's transformer tutorial."""
    for d_model, start, length in [(8, 0, 6), (7, 3, 4), (16, 90, 10)]:
        position = torch.arange(start, start + length, dtype=F64).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2, dtype=F64) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(length, d_model, dtype=F64)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term[: d_model // 2])
        for dtype in (F64, F32):
            CASES.append({"name": f"sinusoidal d_model {d_model} positions {start}..{start + length}",
                          "kind": "sinusoidal", "dtype": DTYPE_NAMES[dtype],
                          "params": {"d_model": d_model, "start": start, "length": length}, "weights": {},
                          "inputs": {}, "masks": {}, "outputs": {"encoding": tensor_json(pe.to(dtype))},
                          "loss_weights": {}, "grads": {}})


def state_dict_case():
    """A 2-layer nn.TransformerEncoder with a final norm saved as safetensors,
    with its float32 output on a fixed input (eval mode, plain path)."""
    name = "encoder_from_safetensors"
    torch.manual_seed(zlib.crc32(name.encode()))
    params = dict(d_model=8, nhead=2, dim_feedforward=12, activation="gelu", batch_first=True, norm_first=True,
                  bias=True, is_causal=True, num_layers=2, norm=True)
    layer = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, activation="gelu", batch_first=True,
                                       norm_first=True)
    encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8), enable_nested_tensor=False)
    # The layers are deep copies of one: make them differ.
    g = Gen(name)
    fill_weights(encoder, g)
    encoder.eval()
    save_file({k: v.contiguous() for k, v in encoder.state_dict().items()}, ENCODER_STATE)
    x = g.randn(2, 5, 8).to(F32)
    with torch.no_grad():
        out = encoder(x, mask=nn.Transformer.generate_square_subsequent_mask(5), is_causal=True)
    CASES.append({"name": name, "kind": "encoder", "dtype": "float32", "params": params, "weights": {},
                  "inputs": {"src": tensor_json(x)}, "masks": {}, "outputs": {"output": tensor_json(out)},
                  "loss_weights": {}, "grads": {}, "state_dict_names": list(encoder.state_dict().keys())})


def main():
    torch.use_deterministic_algorithms(True)
    sdpa_cases()
    mha_cases()
    transformer_cases()
    sinusoidal_cases()
    state_dict_case()
    names = [(c["name"], c["dtype"]) for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    header = {"generator": "scripts/make_attention_fixtures.py", "torch_version": torch.__version__}
    lines = ["{" + ",".join(json.dumps(k) + ":" + json.dumps(v) for k, v in header.items()) + ',"cases":[']
    lines.append(",\n".join(dump(c) for c in CASES))
    lines.append("]}")
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    json.load(open(OUT))  # well-formed
    size = os.path.getsize(OUT)
    print(f"wrote {len(CASES)} cases to {os.path.relpath(OUT, REPO)}: {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
