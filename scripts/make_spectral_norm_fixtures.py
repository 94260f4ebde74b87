#!/usr/bin/env python3
"""Generate PyTorch golden values for nabla's spectral normalisation.

Writes crates/nabla/tests/fixtures/spectral_norm.json, which
crates/nabla/tests/spectral_norm_golden.rs checks nabla against.

How to run (from the repository root, with the virtual environment of
scripts/make_fixtures.py, whose seeding and number formatting this script
reuses):

    /path/to/venv/bin/python scripts/make_spectral_norm_fixtures.py

Each case wraps a layer in torch.nn.utils.spectral_norm (the hook-based
one, whose state has the names weight_orig, weight_u and weight_v), in
float64. Everything is drawn from a torch.Generator seeded with the CRC32 of
the case name, so the output is deterministic.

Fixture format: {"generator", "torch_version", "cases": [case, ...]}, where
a case is

    {"name": str, "layer": "linear" | "conv2d" | "conv_transpose2d",
     "params": {...},                  # the layer's constructor arguments
     "n_power_iterations": int,
     "state_names": [str, ...],        # the state_dict's keys, in order
     "weight_orig": tensor, "bias": tensor,
     "weight_u": tensor, "weight_v": tensor,   # as spectral_norm set them up
     "train_inputs": [tensor, ...],    # training-mode forward passes, in order
     "train_outputs": [tensor, ...],
     "train_u": [tensor, ...], "train_v": [tensor, ...],  # after each pass
     "grad_output": tensor,            # upstream gradient of the last pass
     "grad_weight_orig": tensor, "grad_bias": tensor, "grad_input": tensor,
     "eval_output": tensor,            # then in eval mode on the last input
     "eval_grad_weight_orig": tensor, "eval_grad_input": tensor,
     "eval_u": tensor, "eval_v": tensor}   # unchanged by the eval pass

with tensor = {"shape": [..], "values": [..]} (flat, row-major).
"""

import json
import os
import sys
import zlib

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import F64, dump, tensor_json  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "crates", "nabla", "tests", "fixtures", "spectral_norm.json")


def build(layer, params):
    if layer == "linear":
        return torch.nn.Linear(params["in_features"], params["out_features"], dtype=F64)
    if layer == "conv2d":
        return torch.nn.Conv2d(
            params["in_channels"], params["out_channels"], params["kernel_size"],
            stride=params["stride"], padding=params["padding"], dtype=F64,
        )
    return torch.nn.ConvTranspose2d(
        params["in_channels"], params["out_channels"], params["kernel_size"],
        stride=params["stride"], padding=params["padding"], dtype=F64,
    )


def case(name, layer, params, input_shape, n_power_iterations=1, passes=3):
    torch.manual_seed(zlib.crc32(name.encode()))  # the layer's init and u, v
    g = torch.Generator().manual_seed(zlib.crc32(name.encode()) + 1)
    module = torch.nn.utils.spectral_norm(build(layer, params), n_power_iterations=n_power_iterations)
    out = {
        "name": name,
        "layer": layer,
        "params": params,
        "n_power_iterations": n_power_iterations,
        "state_names": list(module.state_dict().keys()),
        "weight_orig": tensor_json(module.weight_orig),
        "bias": tensor_json(module.bias),
        "weight_u": tensor_json(module.weight_u.clone()),
        "weight_v": tensor_json(module.weight_v.clone()),
    }
    inputs, outputs, us, vs = [], [], [], []
    module.train()
    for _ in range(passes):
        x = torch.randn(input_shape, generator=g, dtype=F64, requires_grad=True)
        y = module(x)
        inputs.append(x)
        outputs.append(y)
        us.append(tensor_json(module.weight_u.clone()))
        vs.append(tensor_json(module.weight_v.clone()))
    grad_output = torch.randn(outputs[-1].shape, generator=g, dtype=F64)
    outputs[-1].backward(grad_output)
    out.update({
        "train_inputs": [tensor_json(x) for x in inputs],
        "train_outputs": [tensor_json(y) for y in outputs],
        "train_u": us,
        "train_v": vs,
        "grad_output": tensor_json(grad_output),
        "grad_weight_orig": tensor_json(module.weight_orig.grad),
        "grad_bias": tensor_json(module.bias.grad),
        "grad_input": tensor_json(inputs[-1].grad),
    })
    module.zero_grad()
    module.eval()
    x = inputs[-1].detach().clone().requires_grad_(True)
    y = module(x)
    y.backward(grad_output)
    out.update({
        "eval_output": tensor_json(y),
        "eval_grad_weight_orig": tensor_json(module.weight_orig.grad),
        "eval_grad_input": tensor_json(x.grad),
        "eval_u": tensor_json(module.weight_u.clone()),
        "eval_v": tensor_json(module.weight_v.clone()),
    })
    return out


def main():
    cases = [
        case("linear_7_5", "linear", {"in_features": 7, "out_features": 5}, [4, 7]),
        case("linear_4_9_three_iterations", "linear", {"in_features": 4, "out_features": 9}, [3, 4],
             n_power_iterations=3),
        case("conv2d_3_4_k3_s2_p1", "conv2d",
             {"in_channels": 3, "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1},
             [2, 3, 7, 7]),
        case("conv_transpose2d_4_3_k3_s2_p1", "conv_transpose2d",
             {"in_channels": 4, "out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1},
             [2, 4, 4, 4]),
    ]
    text = dump({"generator": "scripts/make_spectral_norm_fixtures.py",
                 "torch_version": torch.__version__, "cases": cases})
    with open(OUT, "w") as f:
        f.write(text + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
