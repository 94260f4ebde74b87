#!/usr/bin/env python3
"""Convert a nanoGPT checkpoint into a nabla language-model checkpoint.

    python scripts/export_nanogpt.py out/ckpt.pt data/shakespeare_char/meta.pkl model.safetensors
    nabla generate --checkpoint model.safetensors --prompt "ROMEO:"

Reads nanoGPT's `ckpt.pt` (its "model" state dict and "model_args") and the
`meta.pkl` of its character data set (`itos`, the characters in id order),
and writes one safetensors file that `nabla::lm::load_language_model` and
`nabla generate` read:

- the tensors under nanoGPT's names (`transformer.wte.weight`, ...,
  `transformer.h.{i}.attn.c_attn.weight`, ...), as float32, without the
  `_orig_mod.` prefix torch.compile adds, without the causal-mask buffers
  (`transformer.h.{i}.attn.bias`) that nanoGPT keeps when flash attention is
  missing, and without `lm_head.weight`, which is tied to
  `transformer.wte.weight` (the file would otherwise hold it twice);
- the metadata `nabla.model` = "char-gpt", `nabla.config` (vocab_size,
  block_size, n_layer, n_head, n_embd, bias) and `nabla.vocab` (a JSON array
  of the characters in id order), with `format` = "pt".

Needs torch and safetensors (pip install torch safetensors).
"""

import argparse
import json
import pickle
import re
import sys

import torch
from safetensors.torch import save_file

CONFIG_KEYS = ("vocab_size", "block_size", "n_layer", "n_head", "n_embd", "bias")
MASK_BUFFER = re.compile(r"^transformer\.h\.\d+\.attn\.bias$")


def convert(checkpoint, meta):
    """The tensors and metadata of the nabla checkpoint."""
    args = checkpoint["model_args"]
    missing = [k for k in CONFIG_KEYS if k not in args]
    if missing:
        raise ValueError(f"model_args lacks {missing}: not a nanoGPT checkpoint")
    config = {k: args[k] for k in CONFIG_KEYS}
    config["bias"] = bool(config["bias"])
    itos = meta["itos"]
    vocab = [itos[i] for i in range(len(itos))]
    if len(vocab) != config["vocab_size"]:
        raise ValueError(
            f"meta.pkl has {len(vocab)} characters but the model's vocab_size is {config['vocab_size']} "
            "(nanoGPT pads the vocabulary of the GPT-2 tokenizer; only character models convert)"
        )
    if any(len(c) != 1 for c in vocab):
        raise ValueError("meta.pkl's itos holds entries that are not single characters")

    tensors = {}
    for name, tensor in checkpoint["model"].items():
        name = name.removeprefix("_orig_mod.")
        if MASK_BUFFER.match(name) or name == "lm_head.weight":
            continue
        tensors[name] = tensor.detach().to(torch.float32).contiguous().clone()
    head = checkpoint["model"].get("lm_head.weight", checkpoint["model"].get("_orig_mod.lm_head.weight"))
    if head is not None and not torch.equal(head.float(), tensors["transformer.wte.weight"]):
        raise ValueError("lm_head.weight differs from transformer.wte.weight: nabla's GPT ties them")
    metadata = {
        "format": "pt",
        "nabla.model": "char-gpt",
        "nabla.config": json.dumps(config),
        "nabla.vocab": json.dumps(vocab),
    }
    return tensors, metadata


def main():
    parser = argparse.ArgumentParser(description="nanoGPT ckpt.pt + meta.pkl -> nabla char-gpt safetensors")
    parser.add_argument("checkpoint", help="nanoGPT's ckpt.pt")
    parser.add_argument("meta", help="the character data set's meta.pkl")
    parser.add_argument("output", help="the .safetensors file to write")
    args = parser.parse_args()
    checkpoint = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    with open(args.meta, "rb") as f:
        meta = pickle.load(f)
    try:
        tensors, metadata = convert(checkpoint, meta)
    except ValueError as e:
        sys.exit(f"export_nanogpt: {args.checkpoint}: {e}")
    save_file(tensors, args.output, metadata=metadata)
    print(f"wrote {args.output}: {len(tensors)} tensors, {json.loads(metadata['nabla.config'])}")


if __name__ == "__main__":
    main()
