#!/usr/bin/env python3
"""Check that PyTorch's safetensors reads a checkpoint nabla wrote.

    /path/to/venv/bin/python scripts/check_nabla_checkpoint.py PATH [PATH ...]

Loads each file with safetensors.torch.load_file and prints its metadata and
every tensor's name, dtype and shape (and a few values); exits with status 1
if a file cannot be read or holds a non-finite value. The Rust test
`checkpoint::files_for_python` (crates/nabla/tests/checkpoint.rs) writes
sample files when NABLA_CHECKPOINT_OUT names a directory:

    NABLA_CHECKPOINT_OUT=/tmp/nabla_ckpt cargo test -p nabla --test checkpoint files_for_python -- --nocapture
    /path/to/venv/bin/python scripts/check_nabla_checkpoint.py /tmp/nabla_ckpt/*.safetensors

If the file holds the nabla model `Sequential(Linear(4, 8), ReLU, Linear(8, 3))`
(tensors 0.weight, 0.bias, 2.weight, 2.bias), it is also loaded into the
same torch model with load_state_dict(strict=True) and run on ones(1, 4); the
Rust test prints nabla's output for the same input, to compare.
"""

import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file

MLP_SHAPES = {"0.weight": (8, 4), "0.bias": (8,), "2.weight": (3, 8), "2.bias": (3,)}


def check(path):
    tensors = load_file(path)
    with safe_open(path, framework="pt") as f:
        metadata = f.metadata()
    print(f"{path}: {len(tensors)} tensors, metadata {metadata}")
    ok = True
    for name in sorted(tensors):
        t = tensors[name]
        head = ", ".join(f"{v:.6g}" for v in t.reshape(-1)[:4].tolist())
        print(f"  {name}: {str(t.dtype).removeprefix('torch.')} {list(t.shape)} [{head}{', ...' if t.numel() > 4 else ''}]")
        if t.is_floating_point() and not torch.isfinite(t).all():
            print(f"  {name}: non-finite values")
            ok = False
    if {k: tuple(v.shape) for k, v in tensors.items()} == MLP_SHAPES:
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
        model = model.to(tensors["0.weight"].dtype)
        model.load_state_dict(tensors, strict=True)
        x = torch.ones(1, 4, dtype=tensors["0.weight"].dtype)
        with torch.no_grad():
            print(f"  torch Sequential loads it (strict); output for ones(1, 4): {model(x).tolist()}")
    return ok


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    ok = True
    for path in sys.argv[1:]:
        try:
            ok &= check(path)
        except Exception as e:  # report every file, then fail
            print(f"{path}: cannot read: {e}")
            ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
