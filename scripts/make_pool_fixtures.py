#!/usr/bin/env python3
"""Generate PyTorch golden values for nabla's pooling ops.

Writes crates/nabla/tests/fixtures/pool.json, which
crates/nabla/tests/pool_golden.rs checks nabla against.

How to run (from the repository root), with the same environment as
scripts/make_fixtures.py:

    /path/to/venv/bin/python scripts/make_pool_fixtures.py

Conventions are those of scripts/make_fixtures.py, whose seeding and
serialisation this script imports: every case draws its float64 inputs from
a torch.Generator seeded with the CRC32 of the case name; the float32
variant uses the same inputs and upstream gradient cast to float32, and its
golden values are computed by PyTorch in float32 (CPU).

Fixture format: {"generator", "torch_version", "cases": [case, ...]}, where
a case is

    {"name": str, "op": str, "dtype": "float32" | "float64",
     "params": {...},
     "inputs": [tensor],                    # one input, requires grad
     "output": tensor,
     "indices": itensor,                    # max_pool2d only: flat h*w
     "grad_output": tensor,                 # upstream gradient, seeded randn
     "grads": [tensor],                     # d(output . grad_output)/d(input)
     "grad_input_cotangent": tensor,        # v, input-shaped, seeded randn
     "grad_grad_output": tensor}            # d(grads[0] . v)/d(grad_output)

with tensor = {"shape": [..], "values": [..]} (flat, row-major) and itensor
the same with integer values. The last two fields check double backward:
the gradient of the input gradient (a function of the upstream gradient)
in the direction v.

Ops and params (pairs are [h, w]):
  max_pool2d          {kernel, stride, padding, dilation, ceil_mode}
  avg_pool2d          {kernel, stride, padding, ceil_mode, count_include_pad}
  adaptive_avg_pool2d {output_size}

Max pool inputs have no ties unless the case name says so; the tie cases
pin down PyTorch's choice (the first maximum in row-major window order
takes the whole gradient).
"""

import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import DTYPE_NAMES, F32, F64, Gen, dump, index_json, tensor_json  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "crates", "nabla", "tests", "fixtures", "pool.json")

CASES = []


def pair(v):
    return [v, v] if isinstance(v, int) else list(v)


def apply(op, p, x):
    """Runs `op` in PyTorch: the output and, for max pooling, the indices."""
    if op == "max_pool2d":
        return F.max_pool2d(
            x,
            p["kernel"],
            stride=p["stride"],
            padding=p["padding"],
            dilation=p["dilation"],
            ceil_mode=p["ceil_mode"],
            return_indices=True,
        )
    if op == "avg_pool2d":
        return F.avg_pool2d(
            x,
            p["kernel"],
            stride=p["stride"],
            padding=p["padding"],
            ceil_mode=p["ceil_mode"],
            count_include_pad=p["count_include_pad"],
        )
    if op == "adaptive_avg_pool2d":
        return F.adaptive_avg_pool2d(x, p["output_size"])
    raise ValueError(f"unknown op {op}")


def case(name, op, x64, params):
    gout64 = None
    v64 = Gen(name + "/grad_input_cotangent").randn(*x64.shape)
    for dtype in (F64, F32):
        x = x64.to(dtype).requires_grad_(True)
        result = apply(op, params, x)
        out, indices = result if isinstance(result, tuple) else (result, None)
        if gout64 is None:
            gout64 = Gen(name + "/grad_output").randn(*out.shape)
        gout = gout64.to(dtype).requires_grad_(True)
        (gx,) = torch.autograd.grad(out, x, gout, create_graph=True)
        v = v64.to(dtype)
        (ggout,) = torch.autograd.grad(gx, gout, v)
        entry = {"name": name, "op": op, "dtype": DTYPE_NAMES[dtype], "params": params}
        entry["inputs"] = [tensor_json(x)]
        entry["output"] = tensor_json(out)
        if indices is not None:
            entry["indices"] = index_json(indices)
        entry["grad_output"] = tensor_json(gout)
        entry["grads"] = [tensor_json(gx)]
        entry["grad_input_cotangent"] = tensor_json(v)
        entry["grad_grad_output"] = tensor_json(ggout)
        CASES.append(entry)


def shape_text(shape):
    return "[" + ",".join(map(str, shape)) + "]"


def max_params(kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    return {
        "kernel": pair(kernel),
        "stride": pair(stride if stride is not None else kernel),
        "padding": pair(padding),
        "dilation": pair(dilation),
        "ceil_mode": ceil_mode,
    }


def avg_params(kernel, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    return {
        "kernel": pair(kernel),
        "stride": pair(stride if stride is not None else kernel),
        "padding": pair(padding),
        "ceil_mode": ceil_mode,
        "count_include_pad": count_include_pad,
    }


def label(op, shape, params):
    parts = []
    for k, v in params.items():
        text = "x".join(map(str, v)) if isinstance(v, list) else str(v)
        parts.append(f"{k}={text}")
    return f"{op} {shape_text(shape)} " + " ".join(parts)


# Window configurations shared by max and average pooling:
# (shape, kernel, stride, padding, ceil_mode)
WINDOWS = [
    ((2, 3, 6, 6), 2, None, 0, False),  # the classic 2x2 / 2
    ((2, 2, 5, 5), 3, 1, 1, False),  # overlapping, "same" size
    ((1, 3, 7, 6), 3, 2, 1, False),  # overlapping, strided, padded
    ((2, 2, 5, 7), (2, 3), (1, 2), (1, 1), False),  # rectangular everything
    ((1, 2, 7, 8), 3, 3, 0, False),  # stride 3, windows do not cover the input
    ((1, 2, 6, 5), 2, 1, 0, False),  # stride 1
    ((1, 2, 7, 7), 3, 3, 1, False),  # stride 3 with padding
    ((1, 2, 5, 5), 2, 2, 0, True),  # ceil mode: a partial last window
    ((1, 2, 6, 6), 3, 2, 1, True),  # ceil mode past the padding
    ((1, 2, 8, 6), (3, 2), (2, 3), (1, 0), True),  # ceil mode: 5 rows, not 3 columns
    ((1, 1, 3, 3), 3, 1, 1, False),  # windows larger than half the input
]


def max_pool_cases():
    for shape, kernel, stride, padding, ceil_mode in WINDOWS:
        params = max_params(kernel, stride, padding, 1, ceil_mode)
        name = label("max_pool2d", shape, params)
        case(name, "max_pool2d", Gen(name).distinct(*shape), params)

    # Dilation.
    for shape, kernel, stride, padding, dilation in [
        ((1, 2, 7, 7), 3, 1, 1, 2),
        ((2, 1, 8, 7), (2, 3), (2, 1), (1, 1), (3, 2)),
    ]:
        params = max_params(kernel, stride, padding, dilation)
        name = label("max_pool2d", shape, params)
        case(name, "max_pool2d", Gen(name).distinct(*shape), params)

    # A 3-D input [C, H, W].
    params = max_params(2)
    name = label("max_pool2d", (3, 5, 4), params)
    case(name, "max_pool2d", Gen(name).distinct(3, 5, 4), params)

    # All inputs negative: the -inf padding never wins.
    params = max_params(3, 2, 1)
    name = label("max_pool2d", (1, 2, 5, 5), params) + " all negative"
    x = -1.0 - Gen(name).distinct(1, 2, 5, 5).abs()
    case(name, "max_pool2d", x, params)

    # Ties: few distinct values, overlapping windows. PyTorch takes the
    # first maximum in row-major window order.
    for shape, kernel, stride, padding in [((1, 2, 5, 5), 2, 1, 0), ((2, 1, 6, 6), 3, 2, 1), ((1, 1, 4, 6), 2, 2, 0)]:
        params = max_params(kernel, stride, padding)
        name = label("max_pool2d", shape, params) + " with ties"
        case(name, "max_pool2d", Gen(name).halves(-1.0, 1.0, *shape), params)
    params = max_params(3, 1, 1)
    name = label("max_pool2d", (1, 1, 4, 4), params) + " constant input"
    case(name, "max_pool2d", torch.full((1, 1, 4, 4), 0.5, dtype=F64), params)


def avg_pool_cases():
    for shape, kernel, stride, padding, ceil_mode in WINDOWS:
        for include in (True, False):
            if padding == 0 and not ceil_mode and not include:
                continue  # the same as counting the (absent) padding
            params = avg_params(kernel, stride, padding, ceil_mode, include)
            name = label("avg_pool2d", shape, params)
            case(name, "avg_pool2d", Gen(name).randn(*shape), params)
    params = avg_params(3, 2, 1, False, False)
    name = label("avg_pool2d", (2, 5, 6), params)
    case(name, "avg_pool2d", Gen(name).randn(2, 5, 6), params)


def adaptive_cases():
    for shape, out in [
        ((2, 3, 5, 7), (1, 1)),  # global average pooling
        ((2, 2, 6, 9), (2, 3)),  # divisible
        ((1, 2, 5, 7), (3, 3)),  # not divisible: overlapping bins
        ((1, 2, 7, 5), (2, 3)),
        ((1, 2, 3, 4), (5, 6)),  # larger than the input: bins repeat
        ((1, 1, 4, 4), (4, 4)),  # the identity
        ((2, 3, 4), (1, 3)),  # a 3-D input, rectangular output
    ]:
        params = {"output_size": list(out)}
        name = label("adaptive_avg_pool2d", shape, params)
        case(name, "adaptive_avg_pool2d", Gen(name).randn(*shape), params)


def main():
    torch.use_deterministic_algorithms(True)
    max_pool_cases()
    avg_pool_cases()
    adaptive_cases()

    names = [(c["name"], c["dtype"]) for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    header = {"generator": "scripts/make_pool_fixtures.py", "torch_version": torch.__version__}
    lines = ["{" + ",".join(json.dumps(k) + ":" + json.dumps(v) for k, v in header.items()) + ',"cases":[']
    lines.append(",\n".join(dump(c) for c in CASES))
    lines.append("]}")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    json.load(open(OUT))  # well-formed
    size = os.path.getsize(OUT)
    print(f"wrote {len(CASES)} cases to {os.path.relpath(OUT, REPO)}: {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
