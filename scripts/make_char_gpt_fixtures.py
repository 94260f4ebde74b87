#!/usr/bin/env python3
"""Generate PyTorch golden values for nabla's char-GPT (nanoGPT's model).

Writes, under crates/nabla/tests/fixtures/, for CASE in (gpt_nobias, gpt_bias):

  char_{CASE}.safetensors     a language-model checkpoint: for gpt_bias as
                              PyTorch writes it (the state_dict with nanoGPT's
                              names, lm_head.weight included, equal to
                              transformer.wte.weight, and the metadata
                              nabla.model, nabla.config and nabla.vocab); for
                              gpt_nobias as scripts/export_nanogpt.py converts
                              a nanoGPT ckpt.pt and meta.pkl
  char_{CASE}_io.safetensors  ids and targets [2, 8] (as float32), the logits
                              [2, 8, 11], the mean cross-entropy "loss" of the
                              targets, and "grad.NAME", d loss / d parameter for
                              every parameter (the tied weight's gradient under
                              transformer.wte.weight)

crates/nabla/tests/char_gpt.rs loads the checkpoint with
nabla::lm::load_language_model and compares.

The model is benches/torch_lm.py's GPT, which follows nanoGPT's model.py,
with biases and LayerNorm weights moved off their initial values.

How to run (from the repository root):

    /path/to/venv/bin/python scripts/make_char_gpt_fixtures.py

Deterministic: torch.manual_seed(CRC32 of the case name).
"""

import json
import os
import zlib

import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benches"))
from torch_lm import GPT  # noqa: E402  (the model shared with the benchmarks)

sys.path.insert(0, os.path.dirname(__file__))
import export_nanogpt  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "nabla", "tests", "fixtures")
VOCAB = list("\n !abcdefgh")  # 11 characters, in id order


def perturbed_gpt(config):
    """nanoGPT's GPT with nonzero biases and LayerNorm weights, so that the
    comparison would notice one applied in the wrong place."""
    model = GPT(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(0.0, 0.1)
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                p.add_(torch.randn_like(p) * 0.1)
    return model


def make(case, bias):
    torch.manual_seed(zlib.crc32(case.encode()))
    config = dict(vocab_size=len(VOCAB), block_size=8, n_layer=2, n_head=2, n_embd=16, bias=bias)
    model = perturbed_gpt(config)
    ids = torch.randint(0, len(VOCAB), (2, 8))
    targets = torch.randint(0, len(VOCAB), (2, 8))
    logits = model(ids)
    loss = F.cross_entropy(logits.view(-1, len(VOCAB)), targets.view(-1))
    loss.backward()

    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    assert "lm_head.weight" in state and torch.equal(state["lm_head.weight"], state["transformer.wte.weight"])
    if bias:
        # As PyTorch writes it directly: nanoGPT's state dict, lm_head.weight
        # included, with nabla's metadata.
        metadata = {
            "format": "pt",
            "nabla.model": "char-gpt",
            "nabla.config": json.dumps(config),
            "nabla.vocab": json.dumps(VOCAB),
        }
    else:
        # Through scripts/export_nanogpt.py, from what nanoGPT's train.py
        # saves (a compiled model's prefixed names, the causal-mask buffers
        # of its non-flash attention) and its meta.pkl.
        compiled = {f"_orig_mod.{k}": v for k, v in state.items()}
        for i in range(config["n_layer"]):
            mask = torch.tril(torch.ones(config["block_size"], config["block_size"]))
            compiled[f"_orig_mod.transformer.h.{i}.attn.bias"] = mask.view(1, 1, 8, 8)
        checkpoint = {"model": compiled, "model_args": dict(config, dropout=0.0)}
        meta = {"vocab_size": len(VOCAB), "itos": dict(enumerate(VOCAB)), "stoi": {c: i for i, c in enumerate(VOCAB)}}
        state, metadata = export_nanogpt.convert(checkpoint, meta)
    save_file(state, os.path.join(OUT, f"char_{case}.safetensors"), metadata=metadata)

    io = {
        "ids": ids.float(),
        "targets": targets.float(),
        "logits": logits.detach(),
        "loss": loss.detach(),
    }
    for name, p in model.named_parameters():
        io[f"grad.{name}"] = p.grad.detach().clone()
    save_file(io, os.path.join(OUT, f"char_{case}_io.safetensors"), metadata={"torch_version": torch.__version__})
    print(case, "loss", loss.item(), "parameters", sum(p.numel() for p in model.parameters()))


if __name__ == "__main__":
    torch.set_num_threads(1)
    make("gpt_nobias", False)
    make("gpt_bias", True)
