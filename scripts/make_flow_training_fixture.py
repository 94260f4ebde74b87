#!/usr/bin/env python3
"""A few training steps of nabla's multi-scale RealNVP in PyTorch, as a
golden for the whole training step: the initial weights, the batches
(dequantised digits), the loss (bits per dimension) of every step, and the
weights after the last one, for Adam with gradients clipped to norm 100 as
`nabla train --model realnvp --dataset mnist` trains.

Run (from the repository root, with a virtual environment holding torch,
numpy and safetensors):
    ../venv/bin/python scripts/make_flow_training_fixture.py
writes crates/nabla/tests/fixtures/flow_training.safetensors: a small flow
in float64 (1x8x8 crops of MNIST digits, two scales), 6 steps of batch 8.

    ../venv/bin/python scripts/make_flow_training_fixture.py --mnist --steps 30 --out F
does the same with MultiScaleConfig::mnist() in float32 on whole digits,
batch 64 (a check of the full-size run, not committed).

    ../venv/bin/python scripts/make_flow_training_fixture.py --dense
writes crates/nabla/tests/fixtures/flow_training_dense.safetensors: the
same for a small RealNVP on vectors (4 couplings, s and t 2x16, float64)
on standardised make_moons points, Adam 1e-3 without clipping, as `nabla
train --model realnvp --dataset moons` trains (the loss is the NLL in
nats), 8 steps of batch 32.

Tensors: init.<name>, final.<name>, batch.<k>, loss; metadata: nabla.config
(the flow's config as JSON), lr, grad_clip (absent for --dense).
"""
import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import save_file

import numpy as np

from realnvp_pytorch import MNIST_CONFIG, ROOT, MultiScaleRealNVP, RealNVP, dequantize, make_moons, read_idx_images

FIXTURES = ROOT / "crates" / "nabla" / "tests" / "fixtures"
OUT = FIXTURES / "flow_training.safetensors"


def dense(steps, batch_size=32):
    """The moons flow's training steps, small and in float64."""
    torch.manual_seed(7)
    points = make_moons(steps * batch_size, 0.05, np.random.RandomState(7))
    points = torch.tensor((points - points.mean(0)) / points.std(0), dtype=torch.float64)
    config = dict(features=2, couplings=4, hidden=16, hidden_layers=2)
    flow = RealNVP(**config).to(torch.float64)
    lr = 1e-3
    optimizer = torch.optim.Adam(flow.parameters(), lr=lr)
    tensors = {"init." + k: v.clone().contiguous() for k, v in flow.state_dict().items()}
    losses = []
    for k, idx in enumerate(torch.randperm(len(points)).split(batch_size)):
        batch = points[idx].contiguous()
        loss = -flow.log_prob(batch).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        tensors[f"batch.{k}"] = batch
        losses.append(loss.item())
    tensors["loss"] = torch.tensor(losses, dtype=torch.float64)
    tensors.update({"final." + k: v.clone().contiguous() for k, v in flow.state_dict().items()})
    metadata = {"nabla.config": json.dumps(dict(architecture="dense", **config)), "lr": str(lr),
                "torch_version": torch.__version__}
    out = FIXTURES / "flow_training_dense.safetensors"
    save_file(tensors, out, metadata=metadata)
    print("wrote", out, "losses", [round(l, 4) for l in losses])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mnist", action="store_true")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--dense", action="store_true")
    args = parser.parse_args()
    if args.dense:
        return dense(8)
    torch.manual_seed(7)
    digits = read_idx_images(ROOT / "data" / "mnist" / "train-images-idx3-ubyte.gz")
    if args.mnist:
        config, dtype, batch_size = dict(MNIST_CONFIG), torch.float32, 64
    else:
        config = dict(channels=1, height=8, width=8, hidden=6, scales=2, couplings=2, final_couplings=2, alpha=0.05)
        dtype, batch_size = torch.float64, 8
        digits = digits[:, :, 10:18, 10:18]
    flow = MultiScaleRealNVP(**config).to(dtype)
    lr, clip = 1e-3, 100.0
    optimizer = torch.optim.Adam(flow.parameters(), lr=lr)
    tensors = {"init." + k: v.clone().contiguous() for k, v in flow.state_dict().items()}
    losses = []
    for k in range(args.steps):
        batch = dequantize(digits[k * batch_size:(k + 1) * batch_size]).to(dtype)
        loss = flow.bits_per_dim(batch).mean()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(flow.parameters(), clip)
        optimizer.step()
        tensors[f"batch.{k}"] = batch
        losses.append(loss.item())
    tensors["loss"] = torch.tensor(losses, dtype=dtype)
    tensors.update({"final." + k: v.clone().contiguous() for k, v in flow.state_dict().items()})
    config = dict(architecture="multi-scale", **config)
    metadata = {"nabla.config": json.dumps(config), "lr": str(lr), "grad_clip": str(clip),
                "torch_version": torch.__version__}
    save_file(tensors, args.out, metadata=metadata)
    print("wrote", args.out, "losses", [round(l, 4) for l in losses])


if __name__ == "__main__":
    main()
