#!/usr/bin/env python3
"""Generate PyTorch golden values for nabla's convolutions.

Writes crates/nabla/tests/fixtures/conv.json, which
crates/nabla/tests/conv_golden.rs checks nabla against.

How to run (from the repository root), with the same environment as
scripts/make_fixtures.py:

    /path/to/venv/bin/python scripts/make_conv_fixtures.py

Conventions are those of scripts/make_fixtures.py, whose seeding and
serialisation this script imports: every case draws its float64 inputs from
a torch.Generator seeded with the CRC32 of the case name (the upstream
gradient from one seeded with the CRC32 of name + "/grad_output"); the
float32 variant uses the same inputs and upstream gradient cast to float32,
and its golden values are computed by PyTorch in float32 (CPU).

Fixture format: {"generator", "torch_version", "cases": [case, ...]}, where
a case is

    {"name": str, "op": str, "dtype": "float32" | "float64",
     "params": {...},
     "inputs": [input, weight] or [input, weight, bias],  # all require grad
     "output": tensor,
     "grad_output": tensor,                 # upstream gradient, seeded randn
     "grads": [tensor, ...]}                # d(output . grad_output)/d(input_i)

with tensor = {"shape": [..], "values": [..]} (flat, row-major), one
gradient per entry of "inputs", in the same order (torch.autograd.grad).

Ops and params:
  conv2d            input [N, C, H, W], weight [C', C/groups, kh, kw]
                    {stride, padding, dilation: [h, w], groups, bias}
  conv_transpose2d  input [N, C, H, W], weight [C, C'/groups, kh, kw]
                    {stride, padding, dilation, output_padding: [h, w],
                     groups, bias}
  conv1d            input [N, C, L], weight [C', C/groups, k]
                    {stride, padding, dilation: int, groups, bias}

`bias` is true exactly when "inputs" holds a third tensor, the bias [C'].

The configurations are a hand-picked subset of the grid (not its cartesian
product) chosen so that every option value appears in at least two cases
of its op, in combination with the others (the script checks this and
prints the coverage).
"""

import collections
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import DTYPE_NAMES, F32, F64, Gen, dump, tensor_json  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "crates", "nabla", "tests", "fixtures", "conv.json")

CASES = []


def pair(v):
    return [v, v] if isinstance(v, int) else list(v)


def apply(op, p, xs):
    x, w = xs[0], xs[1]
    b = xs[2] if len(xs) > 2 else None
    if op == "conv2d":
        return F.conv2d(x, w, b, stride=p["stride"], padding=p["padding"], dilation=p["dilation"], groups=p["groups"])
    if op == "conv_transpose2d":
        return F.conv_transpose2d(
            x,
            w,
            b,
            stride=p["stride"],
            padding=p["padding"],
            output_padding=p["output_padding"],
            groups=p["groups"],
            dilation=p["dilation"],
        )
    if op == "conv1d":
        return F.conv1d(x, w, b, stride=p["stride"], padding=p["padding"], dilation=p["dilation"], groups=p["groups"])
    raise ValueError(f"unknown op {op}")


def case(name, op, inputs, params):
    """Records `op` on float64 `inputs` (and their float32 casts)."""
    assert params["bias"] == (len(inputs) == 3), name
    gout64 = None
    for dtype in (F64, F32):
        xs = [x.to(dtype).requires_grad_(True) for x in inputs]
        out = apply(op, params, xs)
        if gout64 is None:
            gout64 = Gen(name + "/grad_output").randn(*out.shape)
        gout = gout64.to(dtype)
        grads = torch.autograd.grad(out, xs, gout)
        entry = {"name": name, "op": op, "dtype": DTYPE_NAMES[dtype], "params": params}
        entry["inputs"] = [tensor_json(x) for x in xs]
        entry["output"] = tensor_json(out)
        entry["grad_output"] = tensor_json(gout)
        entry["grads"] = [tensor_json(g) for g in grads]
        CASES.append(entry)


def shape_text(shape):
    return "[" + ",".join(map(str, shape)) + "]"


def label(op, x_shape, w_shape, params):
    parts = []
    for k, v in params.items():
        if k == "bias":
            continue
        text = "x".join(map(str, v)) if isinstance(v, list) else str(v)
        parts.append(f"{k}={text}")
    parts.append("bias" if params["bias"] else "no bias")
    return f"{op} x{shape_text(x_shape)} w{shape_text(w_shape)} " + " ".join(parts)


def draw(name, x_shape, w_shape, bias_len, fan_in):
    """Input ~ N(0, 1); weight ~ N(0, 1/fan_in), so outputs stay O(1); bias ~ N(0, 1)."""
    g = Gen(name)
    xs = [g.randn(*x_shape), g.randn(*w_shape, scale=1.0 / math.sqrt(fan_in))]
    if bias_len is not None:
        xs.append(g.randn(bias_len))
    return xs


# ----------------------------------------------------------------- conv2d

# (input [N, C, H, W], out channels, kernel, stride, padding, dilation,
#  groups ("C" = depthwise), bias)
CONV2D = [
    # 1x1
    ((2, 3, 4, 4), 4, 1, 1, 0, 1, 1, True),  # pointwise: the im2col-free path
    ((1, 4, 5, 5), 2, 1, 2, 0, 1, 2, False),  # strided 1x1, grouped: skips pixels
    ((1, 2, 3, 3), 2, 1, 1, 1, 1, "C", True),  # 1x1 over padding: borders are the bias
    ((1, 2, 7, 6), 2, 1, (2, 1), (1, 0), 2, 1, False),  # dilation is moot for 1x1
    # 3x3
    ((2, 2, 5, 5), 3, 3, 1, 0, 1, 1, True),  # the basic valid convolution
    ((1, 2, 5, 5), 3, 3, 1, 1, 1, 1, False),  # "same" size
    ((1, 2, 7, 7), 2, 3, 2, 2, 2, 1, True),  # stride 2, dilation 2, padding 2
    ((1, 4, 4, 5), 4, 3, (2, 1), (1, 0), 1, 2, False),
    ((1, 4, 4, 4), 4, 3, 1, 1, 1, "C", True),  # depthwise
    ((1, 3, 7, 7), 3, 3, 2, 1, 2, "C", False),  # depthwise, strided, dilated
    ((1, 3, 7, 7), 2, 3, 2, 0, 2, 1, False),
    ((2, 2, 6, 6), 2, 3, 2, 0, 1, 1, True),  # the last row and column are never read
    ((1, 2, 4, 4), 2, 3, 1, 2, 1, 1, True),  # padding 2: the output is larger
    ((1, 3, 5, 6), 3, 3, (2, 1), 2, 1, "C", True),  # depthwise, padding 2
    ((1, 2, 7, 7), 2, 3, 1, (1, 0), (1, 2), 1, True),  # dilation (1, 2)
    # 5x5
    ((1, 2, 5, 5), 2, 5, 1, 2, 1, 1, True),  # "same" size
    ((1, 4, 5, 6), 2, 5, 2, 1, 1, 2, False),
    ((1, 2, 6, 6), 2, 5, 1, 2, 2, 1, True),  # dilated 5x5 spans 9
    ((2, 1, 7, 7), 2, 5, (2, 1), 1, 1, 1, True),
    ((1, 1, 3, 3), 2, 5, 1, 1, 1, 1, True),  # input smaller than the kernel
    ((2, 2, 7, 7), 2, 5, 2, 2, 2, 2, True),  # every option at once
    ((1, 2, 8, 7), 2, 5, 1, (1, 0), (2, 1), "C", False),  # depthwise, dilation (2, 1)
    # 3x2
    ((1, 4, 6, 5), 4, (3, 2), 1, 0, 1, 2, True),  # groups with a rectangular kernel
    ((2, 2, 5, 6), 3, (3, 2), 2, 1, 1, 1, False),
    ((1, 4, 6, 6), 4, (3, 2), (2, 1), (1, 0), 2, "C", True),
    ((1, 2, 5, 4), 4, (3, 2), 1, 2, 2, "C", False),  # depthwise, channel multiplier 2
    ((2, 4, 4, 5), 2, (3, 2), (2, 1), 1, 1, 2, True),
    # 2x5
    ((2, 2, 3, 7), 2, (2, 5), 1, (1, 0), 1, 1, True),
    ((1, 4, 5, 7), 2, (2, 5), 2, 1, 1, 2, False),
    ((1, 2, 7, 9), 2, (2, 5), (2, 1), 2, 2, 1, True),
    ((1, 4, 5, 7), 4, (2, 5), 1, 0, 1, "C", False),  # depthwise
    ((1, 4, 3, 9), 4, (2, 5), 2, (1, 0), 2, 2, True),  # the dilated kernel spans the width
]


def conv2d_cases():
    for x_shape, cout, kernel, stride, padding, dilation, groups, bias in CONV2D:
        n, c, h, w = x_shape
        groups = c if groups == "C" else groups
        kh, kw = pair(kernel)
        w_shape = (cout, c // groups, kh, kw)
        params = {
            "stride": pair(stride),
            "padding": pair(padding),
            "dilation": pair(dilation),
            "groups": groups,
            "bias": bias,
        }
        name = label("conv2d", x_shape, w_shape, params)
        fan_in = c // groups * kh * kw
        case(name, "conv2d", draw(name, x_shape, w_shape, cout if bias else None, fan_in), params)


# ------------------------------------------------------- conv_transpose2d

# (input [N, C, H, W], out channels, kernel, stride, padding, output
#  padding, dilation, groups, bias); output padding must be below the
#  stride or the dilation.
CONV_TRANSPOSE2D = [
    ((1, 2, 4, 4), 3, 3, 1, 0, 0, 1, 1, True),
    ((1, 3, 3, 3), 2, 3, 2, 1, 0, 1, 1, False),
    ((1, 2, 4, 3), 2, 3, 2, 1, 1, 1, 1, True),  # the classic x2 upsampling
    ((1, 4, 3, 3), 2, 3, 2, 0, 1, 1, 2, True),
    ((2, 4, 4, 4), 2, (3, 2), 1, 1, 0, 1, 2, False),  # groups, rectangular kernel
    ((1, 2, 3, 3), 2, 3, 1, 0, 1, 2, 1, True),  # output padding below the dilation
    ((1, 2, 3, 3), 2, 3, 2, 1, 1, 2, 1, False),  # stride 2, dilation 2, padding
    ((1, 4, 3, 3), 4, (2, 3), (2, 1), (1, 0), (1, 0), 1, 4, True),  # depthwise
    ((1, 2, 3, 3), 4, (2, 5), 2, 1, 0, 1, 2, True),
    ((1, 4, 3, 3), 2, 3, 2, 1, 1, 2, 2, True),  # every option at once
    ((1, 3, 4, 4), 2, 1, 2, 0, 1, 1, 1, True),  # strided 1x1: zeros between pixels
    ((1, 2, 3, 3), 2, 5, 1, 2, 0, 1, 1, False),
    ((2, 2, 3, 3), 2, (3, 2), (1, 2), (0, 1), (0, 1), (2, 1), 1, False),  # per-axis options
    # A 1x1 kernel with stride 1 and no padding, made larger by output
    # padding (allowed below the dilation): not a pointwise convolution.
    ((2, 2, 3, 3), 2, 1, 1, 0, 1, 2, 1, True),
    ((1, 2, 3, 4), 4, 1, 1, 0, (0, 2), (1, 3), 2, False),
]


def conv_transpose2d_cases():
    for x_shape, cout, kernel, stride, padding, output_padding, dilation, groups, bias in CONV_TRANSPOSE2D:
        n, c, h, w = x_shape
        kh, kw = pair(kernel)
        for s, d, op in zip(pair(stride), pair(dilation), pair(output_padding)):
            assert op < max(s, d), (x_shape, stride, dilation, output_padding)
        w_shape = (c, cout // groups, kh, kw)
        params = {
            "stride": pair(stride),
            "padding": pair(padding),
            "dilation": pair(dilation),
            "output_padding": pair(output_padding),
            "groups": groups,
            "bias": bias,
        }
        name = label("conv_transpose2d", x_shape, w_shape, params)
        # Each output pixel sums at most C/groups * kh * kw terms.
        fan_in = c // groups * kh * kw
        case(name, "conv_transpose2d", draw(name, x_shape, w_shape, cout if bias else None, fan_in), params)


# ----------------------------------------------------------------- conv1d

# (input [N, C, L], out channels, kernel, stride, padding, dilation,
#  groups, bias)
CONV1D = [
    ((2, 3, 9), 4, 3, 1, 0, 1, 1, True),
    ((1, 4, 9), 2, 3, 2, 1, 1, 2, False),
    ((2, 2, 8), 4, 5, 1, 2, 2, 2, True),  # depthwise, channel multiplier 2
    ((1, 4, 9), 4, 2, 2, 0, 2, 4, False),  # depthwise
    ((1, 2, 7), 3, 1, 2, 1, 1, 1, True),
    ((2, 4, 9), 4, 3, 3, 2, 2, 1, True),  # stride 3: the last sample is never read
    ((1, 3, 6), 3, 5, 1, 2, 1, 3, False),  # depthwise
    ((1, 2, 5), 2, 4, 2, 1, 1, 1, True),
    ((2, 4, 9), 2, 3, 2, 2, 3, 2, True),
]


def conv1d_cases():
    for x_shape, cout, k, stride, padding, dilation, groups, bias in CONV1D:
        n, c, length = x_shape
        w_shape = (cout, c // groups, k)
        params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups, "bias": bias}
        name = label("conv1d", x_shape, w_shape, params)
        case(name, "conv1d", draw(name, x_shape, w_shape, cout if bias else None, c // groups * k), params)


# --------------------------------------------------------------- coverage


def coverage():
    """Counts, per op, the cases with each option value (float64 only);
    fails unless every value the grid asks for appears at least twice."""
    counts = collections.defaultdict(collections.Counter)
    for c in CASES:
        if c["dtype"] != "float64":
            continue
        op, p = c["op"], c["params"]
        x_shape, w_shape = c["inputs"][0]["shape"], c["inputs"][1]["shape"]
        feature = counts[op]
        for key in ("stride", "padding", "dilation", "output_padding"):
            if key in p:
                v = p[key]
                feature[(key, tuple(v) if isinstance(v, list) else v)] += 1
        groups = p["groups"]
        feature[("groups", "depthwise" if groups == x_shape[1] and groups > 1 else groups)] += 1
        feature[("kernel", tuple(w_shape[2:]))] += 1
        feature[("bias", p["bias"])] += 1
        feature[("batch", x_shape[0])] += 1
        assert x_shape[0] <= 2 and x_shape[1] <= 4 and all(s <= 9 for s in x_shape[2:]), c["name"]
    required = {
        "conv2d": [("kernel", k) for k in [(1, 1), (3, 3), (5, 5), (3, 2), (2, 5)]]
        + [("stride", s) for s in [(1, 1), (2, 2), (2, 1)]]
        + [("padding", p) for p in [(0, 0), (1, 1), (2, 2), (1, 0)]]
        + [("dilation", d) for d in [(1, 1), (2, 2)]]
        + [("groups", g) for g in [1, 2, "depthwise"]],
        "conv_transpose2d": [("stride", s) for s in [(1, 1), (2, 2)]]
        + [("padding", p) for p in [(0, 0), (1, 1)]]
        + [("output_padding", p) for p in [(0, 0), (1, 1)]]
        + [("dilation", d) for d in [(1, 1), (2, 2)]]
        + [("groups", g) for g in [1, 2]],
        "conv1d": [("stride", s) for s in [1, 2]]
        + [("padding", p) for p in [0, 1, 2]]
        + [("dilation", d) for d in [1, 2]]
        + [("groups", g) for g in [1, 2, "depthwise"]],
    }
    for op, needs in required.items():
        needs = needs + [("bias", True), ("bias", False), ("batch", 1), ("batch", 2)]
        for need in needs:
            assert counts[op][need] >= 2, f"{op}: {need} appears {counts[op][need]} times"
        print(f"{op}: {sum(1 for c in CASES if c['op'] == op and c['dtype'] == 'float64')} configurations")
        for (key, value), n in sorted(counts[op].items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
            print(f"  {key}={value}: {n}")


def main():
    torch.use_deterministic_algorithms(True)
    conv2d_cases()
    conv_transpose2d_cases()
    conv1d_cases()
    coverage()

    names = [(c["name"], c["dtype"]) for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    header = {"generator": "scripts/make_conv_fixtures.py", "torch_version": torch.__version__}
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
