#!/usr/bin/env python3
"""Golden values for nabla's RealNVP flows from PyTorch, in float64: the
models of scripts/realnvp_pytorch.py (nabla's architectures and parameter
names) at fixed weights, an input batch, its latents, log-determinants and
log-likelihoods, the gradients of the summed log-likelihood with respect to
every parameter and to the input, and the inverse of fixed latents.

Run (from the repository root, with a virtual environment holding torch,
numpy and safetensors):
    ../venv/bin/python scripts/make_flow_fixtures.py

Writes, under crates/nabla/tests/fixtures/:
  flow_dense_weights.safetensors, flow_dense_io.safetensors
      RealNVP(features=3, couplings=4, hidden=8, hidden_layers=2)
  flow_multiscale_weights.safetensors, flow_multiscale_io.safetensors
      MultiScaleRealNVP on 1x8x8 with two scales (8 -> 4 -> 2), hidden 4,
      2 couplings of each kind per scale, 2 final couplings, alpha 0.05;
      every coupling's last convolution and scale drawn at random (a new
      coupling's are zero and one, which would hide them)
The io files hold input, z, log_det, log_prob, latent (fixed latents),
inverse (their data), grad.input and grad.<parameter>; their metadata
the config as JSON (nabla.config) and the torch version.
"""
import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from realnvp_pytorch import MultiScaleRealNVP, RealNVP

OUT = Path(__file__).resolve().parent.parent / "crates" / "nabla" / "tests" / "fixtures"


def write(name, flow, x, latent, config):
    x = x.clone().requires_grad_(True)
    z, log_det = flow(x)
    log_prob = flow.log_prob(x)
    params = list(flow.named_parameters())
    grads = torch.autograd.grad(log_prob.sum(), [p for _, p in params] + [x])
    with torch.no_grad():
        inverse = flow.inverse(latent)
    io = {
        "input": x.detach(),
        "z": z.detach(),
        "log_det": log_det.detach(),
        "log_prob": log_prob.detach(),
        "latent": latent,
        "inverse": inverse,
    }
    for (pname, _), g in zip(params + [("input", None)], grads):
        io["grad." + pname] = g.contiguous()
    weights = {k: v.contiguous() for k, v in flow.state_dict().items()}
    save_file(weights, str(OUT / f"flow_{name}_weights.safetensors"))
    metadata = {"nabla.config": json.dumps(config), "torch_version": torch.__version__}
    save_file(io, str(OUT / f"flow_{name}_io.safetensors"), metadata=metadata)
    print("wrote", OUT / f"flow_{name}_weights.safetensors", OUT / f"flow_{name}_io.safetensors")


def dense():
    torch.manual_seed(20)
    config = dict(features=3, couplings=4, hidden=8, hidden_layers=2)
    flow = RealNVP(**config).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    latent = torch.randn(4, 3, dtype=torch.float64)
    write("dense", flow, x, latent, dict(architecture="dense", **config))


def multiscale():
    torch.manual_seed(21)
    config = dict(channels=1, height=8, width=8, hidden=4, scales=2, couplings=2, final_couplings=2, alpha=0.05)
    flow = MultiScaleRealNVP(**config).double()
    with torch.no_grad():
        for name, p in flow.named_parameters():
            if ".net.4." in name:
                p.normal_(0.0, 0.2)
            elif name.endswith("scale"):
                p.uniform_(0.5, 1.5)
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64) * 0.98 + 0.01
    latent = torch.randn(2, 64, dtype=torch.float64)
    write("multiscale", flow, x, latent, dict(architecture="multi-scale", **config))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    dense()
    multiscale()
