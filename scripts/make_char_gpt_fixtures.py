#!/usr/bin/env python3
"""Generate PyTorch golden values for nabla's char-GPT (nanoGPT's model).

Writes, under crates/nabla/tests/fixtures/, for CASE in (gpt_nobias, gpt_bias):

  char_{CASE}.safetensors     a language-model checkpoint as PyTorch writes it:
                              the state_dict of the GPT below with nanoGPT's
                              names, lm_head.weight included (a copy equal to
                              transformer.wte.weight, as nanoGPT's state dict
                              holds both keys), and the metadata nabla.model,
                              nabla.config and nabla.vocab
  char_{CASE}_io.safetensors  ids and targets [2, 8] (as float32), the logits
                              [2, 8, 11], the mean cross-entropy "loss" of the
                              targets, and "grad.NAME", d loss / d parameter for
                              every parameter (the tied weight's gradient under
                              transformer.wte.weight)

crates/nabla/tests/char_gpt.rs loads the checkpoint with
nabla::lm::load_language_model and compares.

The model follows nanoGPT's model.py (github.com/karpathy/nanoGPT): token
and learned position embeddings, pre-LayerNorm blocks of causal
self-attention (one c_attn product for q, k, v; scaled dot-product attention
with is_causal) and an MLP (c_fc, exact GELU, c_proj), a final LayerNorm,
and lm_head tied to wte. Initialisation N(0, 0.02), residual projections
N(0, 0.02 / sqrt(2 n_layer)), as there.

How to run (from the repository root):

    /path/to/venv/bin/python scripts/make_char_gpt_fixtures.py

Deterministic: torch.manual_seed(CRC32 of the case name).
"""

import json
import math
import os
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "nabla", "tests", "fixtures")
VOCAB = list("\n !abcdefgh")  # 11 characters, in id order


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (nanoGPT's)."""

    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_attn = nn.Linear(c["n_embd"], 3 * c["n_embd"], bias=c["bias"])
        self.c_proj = nn.Linear(c["n_embd"], c["n_embd"], bias=c["bias"])
        self.n_head = c["n_head"]

    def forward(self, x):
        b, t, e = x.shape
        q, k, v = self.c_attn(x).split(e, dim=2)
        heads = lambda z: z.view(b, t, self.n_head, e // self.n_head).transpose(1, 2)
        y = F.scaled_dot_product_attention(heads(q), heads(k), heads(v), is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, e))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = nn.Linear(c["n_embd"], 4 * c["n_embd"], bias=c["bias"])
        self.c_proj = nn.Linear(4 * c["n_embd"], c["n_embd"], bias=c["bias"])

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = LayerNorm(c["n_embd"], c["bias"])
        self.attn = CausalSelfAttention(c)
        self.ln_2 = LayerNorm(c["n_embd"], c["bias"])
        self.mlp = MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(c["vocab_size"], c["n_embd"]),
                wpe=nn.Embedding(c["block_size"], c["n_embd"]),
                h=nn.ModuleList([Block(c) for _ in range(c["n_layer"])]),
                ln_f=LayerNorm(c["n_embd"], c["bias"]),
            )
        )
        self.lm_head = nn.Linear(c["n_embd"], c["vocab_size"], bias=False)
        self.transformer.wte.weight = self.lm_head.weight
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, 0.0, 0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * c["n_layer"]))
        # Biases are zero at initialisation; give them values so that the
        # comparison would notice a bias applied in the wrong place.
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("bias"):
                    p.normal_(0.0, 0.1)
                if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
                    p.add_(torch.randn_like(p) * 0.1)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.transformer.wte(ids) + self.transformer.wpe(torch.arange(t))
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))


def make(case, bias):
    torch.manual_seed(zlib.crc32(case.encode()))
    config = dict(vocab_size=len(VOCAB), block_size=8, n_layer=2, n_head=2, n_embd=16, bias=bias)
    model = GPT(config)
    ids = torch.randint(0, len(VOCAB), (2, 8))
    targets = torch.randint(0, len(VOCAB), (2, 8))
    logits = model(ids)
    loss = F.cross_entropy(logits.view(-1, len(VOCAB)), targets.view(-1))
    loss.backward()

    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    assert "lm_head.weight" in state and torch.equal(state["lm_head.weight"], state["transformer.wte.weight"])
    metadata = {
        "format": "pt",
        "nabla.model": "char-gpt",
        "nabla.config": json.dumps(config),
        "nabla.vocab": json.dumps(VOCAB),
    }
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
