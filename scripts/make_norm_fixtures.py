#!/usr/bin/env python3
"""Generate PyTorch golden values for nabla's normalization layers.

Writes crates/nabla/tests/fixtures/norm.json, which
crates/nabla/tests/norm_golden.rs checks nabla against.

How to run (from the repository root, with the virtual environment of
scripts/make_fixtures.py, whose seeding and number formatting this script
reuses):

    /path/to/venv/bin/python scripts/make_norm_fixtures.py

The output is deterministic: every case draws its inputs from a
torch.Generator seeded with the CRC32 of the case name. Inputs are drawn in
float64; the float32 variant of a case uses the same inputs (and upstream
gradient) cast to float32, and its golden values are computed by PyTorch in
float32.

Fixture format: {"generator", "torch_version", "cases": [case, ...]}, where
a case is

    {"name": str, "layer": str, "dtype": "float32" | "float64",
     "params": {...},                   # the layer's constructor arguments
     "input": tensor,
     "weight": tensor, "bias": tensor,  # when the layer has them; copied
                                        # into the layer before anything runs
     "output": tensor,                  # the layer in training mode (the
                                        # default), applied to `input`
     "grad_output": tensor,             # upstream gradient, seeded randn
     "grad_input": tensor,              # d(output . grad_output)/d(input)
     "grad_weight": tensor, "grad_bias": tensor,   # when the layer has them
     # BatchNorm only:
     "extra_train_inputs": [tensor, tensor],  # two more training forward
                                        # passes after the one on `input`
     "running_mean": tensor, "running_var": tensor,
     "num_batches_tracked": int,        # after those 3 training passes
                                        # (absent without running stats)
     "eval_output": tensor,             # then in eval mode, on `input`
     "eval_grad_input": tensor,         # and its gradients under grad_output
     "eval_grad_weight": tensor, "eval_grad_bias": tensor,
     # float32 cases only:
     "f64_reference": {key: tensor}}    # every result above, computed by
                                        # PyTorch in float64 from the same
                                        # float32 data (the rounding-free
                                        # answer to the float32 question)

with tensor = {"shape": [..], "values": [..]} (flat, row-major), numbers
written as in make_fixtures.py (shortest round-trip decimals).

Layers and their params (PyTorch's argument names):
  batch_norm1d, batch_norm2d {num_features, eps, momentum (null for the
      cumulative average), affine, track_running_stats}
  layer_norm {normalized_shape, eps, elementwise_affine, bias}
  group_norm {num_groups, num_channels, eps, affine}
"""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import DTYPE_NAMES, F32, F64, Gen, dump, tensor_json  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "crates", "nabla", "tests", "fixtures", "norm.json")

CASES = []


def shape_name(shape):
    return "[" + ",".join(map(str, shape)) + "]"


def channel_input(g, shape, offset_scale=2.0, scale=1.5):
    """randn with a per-channel (dimension 1) offset, so that the channel
    means differ and are far from 0."""
    offsets = g.randn(shape[1], scale=offset_scale).reshape([1, shape[1]] + [1] * (len(shape) - 2))
    return g.randn(*shape, scale=scale) + offsets


def make_layer(layer, params):
    p = params
    if layer == "batch_norm1d":
        return torch.nn.BatchNorm1d(
            p["num_features"], eps=p["eps"], momentum=p["momentum"], affine=p["affine"],
            track_running_stats=p["track_running_stats"],
        )
    if layer == "batch_norm2d":
        return torch.nn.BatchNorm2d(
            p["num_features"], eps=p["eps"], momentum=p["momentum"], affine=p["affine"],
            track_running_stats=p["track_running_stats"],
        )
    if layer == "layer_norm":
        return torch.nn.LayerNorm(
            p["normalized_shape"], eps=p["eps"], elementwise_affine=p["elementwise_affine"], bias=p["bias"],
        )
    if layer == "group_norm":
        return torch.nn.GroupNorm(p["num_groups"], p["num_channels"], eps=p["eps"], affine=p["affine"])
    raise ValueError(f"unknown layer {layer}")


def forward_and_grads(m, x, gout):
    """Output of `m` on a fresh leaf copy of `x`, and the gradients of
    input, weight and bias (those that exist) under `gout`."""
    x = x.detach().clone().requires_grad_(True)
    out = m(x)
    wrt = [x] + [t for t in (m.weight, m.bias) if t is not None]
    grads = torch.autograd.grad(out, wrt, gout)
    names = ["input"] + [n for n, t in (("weight", m.weight), ("bias", m.bias)) if t is not None]
    return out, dict(zip(names, grads))


def run_torch(layer, params, dtype, x, w, b, gout, extra):
    """Runs the layer in `dtype` on the given data (cast to `dtype`) as the
    fixture format describes; returns the results by fixture key."""
    m = make_layer(layer, params).to(dtype)
    with torch.no_grad():
        if m.weight is not None:
            m.weight.copy_(w)
        if m.bias is not None:
            m.bias.copy_(b)
    results = {}
    m.train()
    gout = gout.to(dtype)
    out, grads = forward_and_grads(m, x.to(dtype), gout)
    results["output"] = out
    for k, v in grads.items():
        results["grad_" + k] = v
    if layer.startswith("batch_norm"):
        with torch.no_grad():
            for e in extra:
                m(e.to(dtype))
        if m.running_mean is not None:
            results["running_mean"] = m.running_mean
            results["running_var"] = m.running_var
            results["num_batches_tracked"] = int(m.num_batches_tracked.item())
            assert results["num_batches_tracked"] == 3
        m.eval()
        out, grads = forward_and_grads(m, x.to(dtype), gout)
        results["eval_output"] = out
        for k, v in grads.items():
            results["eval_grad_" + k] = v
    return results


def results_json(results):
    return {k: v if isinstance(v, int) else tensor_json(v) for k, v in results.items()}


def case(name, layer, params, x, extra=None, dtypes=(F64, F32)):
    """Records `layer` with `params` on float64 input `x` (and its float32
    cast); `extra`: two more training inputs for BatchNorm."""
    g = Gen(name + "/params")
    gout64 = Gen(name + "/grad_output").randn(*x.shape)
    is_bn = layer.startswith("batch_norm")
    assert (extra is not None and len(extra) == 2) == is_bn
    proto = make_layer(layer, params)
    w64 = None if proto.weight is None else g.randn(*proto.weight.shape, scale=0.7) + 1.0
    b64 = None if proto.bias is None else g.randn(*proto.bias.shape)
    for dtype in dtypes:
        cast = lambda t: None if t is None else t.to(dtype)  # noqa: E731
        data = [cast(t) for t in (x, w64, b64, gout64)] + [[cast(e) for e in extra or []]]
        entry = {"name": name, "layer": layer, "dtype": DTYPE_NAMES[dtype], "params": params}
        entry["input"] = tensor_json(data[0])
        if w64 is not None:
            entry["weight"] = tensor_json(data[1])
        if b64 is not None:
            entry["bias"] = tensor_json(data[2])
        entry["grad_output"] = tensor_json(data[3])
        if is_bn:
            entry["extra_train_inputs"] = [tensor_json(e) for e in data[4]]
        entry.update(results_json(run_torch(layer, params, dtype, *data)))
        if dtype == F32:
            # The same float32 data, run in float64.
            up = lambda t: None if t is None else t.to(F64)  # noqa: E731
            exact = run_torch(layer, params, F64, *[up(t) for t in data[:4]], [up(e) for e in data[4]])
            entry["f64_reference"] = results_json(exact)
        CASES.append(entry)


def bn_params(c, eps=1e-5, momentum=0.1, affine=True, track=True):
    return {"num_features": c, "eps": eps, "momentum": momentum, "affine": affine, "track_running_stats": track}


def batch_norm_cases():
    configs = [
        # (layer, shape, params overrides, label)
        ("batch_norm1d", (6, 3), {}, ""),
        ("batch_norm1d", (4, 3, 5), {}, ""),
        ("batch_norm1d", (4, 3, 5), {"momentum": None}, " momentum=None"),
        ("batch_norm1d", (5, 4), {"affine": False}, " affine=False"),
        ("batch_norm1d", (4, 3, 5), {"eps": 1e-3, "momentum": 0.3}, " eps=1e-3 momentum=0.3"),
        ("batch_norm1d", (4, 3), {"track": False}, " track_running_stats=False"),
        ("batch_norm1d", (2, 3), {}, " two samples"),
        ("batch_norm2d", (2, 3, 4, 5), {}, ""),
        ("batch_norm2d", (3, 2, 3, 3), {"momentum": None}, " momentum=None"),
        ("batch_norm2d", (2, 3, 4, 4), {"affine": False}, " affine=False"),
        ("batch_norm2d", (2, 3, 3, 4), {"track": False}, " track_running_stats=False"),
        ("batch_norm2d", (2, 3, 3, 3), {"eps": 1e-3, "momentum": 0.5, "affine": False}, " eps=1e-3 momentum=0.5 affine=False"),
        ("batch_norm2d", (1, 3, 2, 2), {}, " batch of one"),
    ]
    for layer, shape, over, label in configs:
        name = f"{layer} {shape_name(shape)}{label}"
        g = Gen(name)
        x = channel_input(g, shape)
        # The later batches: another size along N, other channel offsets.
        extra_shape = (shape[0] + 1,) + shape[1:]
        extra = [channel_input(g, extra_shape), channel_input(g, shape, scale=0.8)]
        params = bn_params(shape[1], **over)
        case(name, layer, params, x, extra)

    # Large channel means: the variance must not be taken as E[x^2] - E[x]^2.
    name = "batch_norm2d [2,4,3,3] large mean"
    g = Gen(name)
    x = g.randn(2, 4, 3, 3) + 100.0
    extra = [g.randn(3, 4, 3, 3) + 100.0, g.randn(2, 4, 3, 3) - 50.0]
    case(name, "batch_norm2d", bn_params(4), x, extra)


def layer_norm_cases():
    configs = [
        ((4, 6), [6], {}, ""),
        ((2, 3, 4), [3, 4], {}, ""),
        ((2, 3, 4), [4], {"eps": 1e-3}, " eps=1e-3"),
        ((3, 5), [5], {"elementwise_affine": False}, " elementwise_affine=False"),
        ((2, 3, 4), [4], {"bias": False}, " bias=False"),
        ((5,), [5], {}, " unbatched"),
        ((2, 2, 3, 4), [2, 3, 4], {}, ""),
    ]
    for shape, ns, over, label in configs:
        name = f"layer_norm {shape_name(shape)} normalized {shape_name(ns)}{label}"
        g = Gen(name)
        x = g.randn(*shape, scale=1.5) + g.randn(*shape[:-1], 1, scale=2.0)
        params = {"normalized_shape": ns, "eps": 1e-5, "elementwise_affine": True, "bias": True}
        params.update(over)
        case(name, "layer_norm", params, x)


def group_norm_cases():
    configs = [
        (2, 4, (2, 4, 3, 3), {}, ""),
        (1, 3, (2, 3, 4), {}, ""),
        (3, 3, (2, 3, 5), {}, " instance norm"),
        (3, 6, (3, 6), {}, ""),
        (2, 6, (2, 6, 2, 3), {"affine": False}, " affine=False"),
        (2, 4, (2, 4, 3, 3), {"eps": 1e-3}, " eps=1e-3"),
        (2, 4, (1, 4, 2, 2, 2), {}, ""),
    ]
    for groups, channels, shape, over, label in configs:
        name = f"group_norm G={groups} C={channels} {shape_name(shape)}{label}"
        g = Gen(name)
        x = channel_input(g, shape)
        params = {"num_groups": groups, "num_channels": channels, "eps": 1e-5, "affine": True}
        params.update(over)
        case(name, "group_norm", params, x)


def main():
    torch.use_deterministic_algorithms(True)
    batch_norm_cases()
    layer_norm_cases()
    group_norm_cases()

    names = [(c["name"], c["dtype"]) for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    header = {"generator": "scripts/make_norm_fixtures.py", "torch_version": torch.__version__}
    lines = ["{" + ",".join(json.dumps(k) + ":" + json.dumps(v) for k, v in header.items()) + ',"cases":[']
    lines.append(",\n".join(dump(c) for c in CASES))
    lines.append("]}")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    json.load(open(OUT))  # well-formed
    layers = sorted({c["layer"] for c in CASES})
    size = os.path.getsize(OUT)
    print(f"wrote {len(CASES)} cases ({len(layers)} layers) to {os.path.relpath(OUT, REPO)}: {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
