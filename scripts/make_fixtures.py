#!/usr/bin/env python3
"""Generate PyTorch golden values for nabla's ops.

Writes crates/nabla/tests/fixtures/ops.json, which
crates/nabla/tests/pytorch_golden.rs checks nabla against.

How to run (from the repository root; keep the virtual environment outside
the repository):

    python -m venv /path/to/venv
    /path/to/venv/bin/pip install torch numpy safetensors
    /path/to/venv/bin/python scripts/make_fixtures.py

The output is deterministic: every case draws its inputs from a
torch.Generator seeded with the CRC32 of the case name, so adding, removing
or reordering cases leaves every other case's numbers unchanged. Inputs are
drawn in float64; the float32 variant of a case uses the same inputs cast to
float32 (and the same upstream gradient, cast), and its golden values are
computed by PyTorch in float32.

Fixture format: {"generator", "torch_version", "cases": [case, ...]}, where
a case is

    {"name": str, "op": str, "dtype": "float32" | "float64",
     "params": {...},                       # op parameters, may be empty
     "inputs": [tensor, ...],               # every input requires grad
     "index": itensor,                      # gather / index_select only
     "condition": tensor,                   # where only: 0/1 mask
     "output": tensor,
     "indices": itensor,                    # max_dim / min_dim only
     "grad_output": tensor,                 # upstream gradient, seeded randn
     "grads": [tensor, ...]}                # d(output . grad_output)/d(input)

with tensor = {"shape": [..], "values": [..]} (flat, row-major) and itensor
the same with integer values. Values of float64 cases are the shortest
decimal that reads back as the same double; values of float32 cases are the
shortest decimal that reads back as the same float32, even through a
(1-ulp inexact) decimal -> f64 -> f32 parse, which the script checks.

Ops, with their params (dims may be negative):
  add sub mul div pow maximum minimum              (two inputs, broadcasting)
  pow_scalar {exponent}
  neg exp log sqrt abs erf relu sigmoid tanh gelu  (gelu is the exact one)
  clamp {min, max} (either may be null)      leaky_relu {negative_slope}
  softmax log_softmax {dim}
  sum mean {dims: [..] or null for all, keepdim}
  var std {dims: [..] or null for all, correction, keepdim}
  max min                                    (full reduction, ties share)
  max_dim min_dim {dim, keepdim}             (output = values, + indices)
  matmul                                     (torch.matmul semantics)
  matmul_t {transpose_a, transpose_b}        (transpose(-1, -2) then matmul)
  cat stack {dim}                            (inputs = the tensors to join)
  index_select {dim} + index (1-D)           gather {dim} + index
  where + condition, inputs = [on_true, on_false]
"""

import json
import math
import os
import zlib

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "crates", "nabla", "tests", "fixtures", "ops.json")

F64, F32 = torch.float64, torch.float32
DTYPE_NAMES = {F64: "float64", F32: "float32"}


# ---------------------------------------------------------------- inputs


class Gen:
    """Seeded float64 draws for one case."""

    def __init__(self, name):
        self.g = torch.Generator().manual_seed(zlib.crc32(name.encode()))

    def randn(self, *shape, scale=1.0):
        return torch.randn(shape, generator=self.g, dtype=F64) * scale

    def uniform(self, lo, hi, *shape):
        return lo + (hi - lo) * torch.rand(shape, generator=self.g, dtype=F64)

    def nonzero(self, *shape):
        """Values with |x| in [0.5, 1.5], for denominators."""
        r = self.randn(*shape)
        sign = torch.where(r >= 0, 1.0, -1.0).to(F64)
        return sign * (0.5 + torch.rand(shape, generator=self.g, dtype=F64))

    def halves(self, lo, hi, *shape):
        """Multiples of 0.5 in [lo, hi]: exact in float32, ties are likely."""
        n = int(round((hi - lo) * 2)) + 1
        k = torch.randint(0, n, shape, generator=self.g)
        return lo + 0.5 * k.to(F64)

    def randint(self, high, *shape):
        return torch.randint(0, high, shape, generator=self.g)

    def distinct(self, *shape):
        """A permutation of well-separated values (no ties anywhere)."""
        n = math.prod(shape)
        perm = torch.randperm(n, generator=self.g).to(F64)
        jitter = torch.rand(n, generator=self.g, dtype=F64) * 0.25
        return ((perm + jitter - n / 2) * 0.5).reshape(shape)


# ------------------------------------------------- the ops, as in nabla


def apply(op, params, xs, index=None, condition=None):
    """Runs `op` in PyTorch; returns the output (and indices, if any)."""
    p = params
    if op == "add":
        return xs[0] + xs[1]
    if op == "sub":
        return xs[0] - xs[1]
    if op == "mul":
        return xs[0] * xs[1]
    if op == "div":
        return xs[0] / xs[1]
    if op == "pow":
        return torch.pow(xs[0], xs[1])
    if op == "maximum":
        return torch.maximum(xs[0], xs[1])
    if op == "minimum":
        return torch.minimum(xs[0], xs[1])
    if op == "pow_scalar":
        return torch.pow(xs[0], p["exponent"])
    if op in ("neg", "exp", "log", "sqrt", "abs", "erf", "relu", "sigmoid", "tanh"):
        return getattr(torch, op)(xs[0])
    if op == "gelu":
        return torch.nn.functional.gelu(xs[0], approximate="none")
    if op == "clamp":
        return torch.clamp(xs[0], min=p["min"], max=p["max"])
    if op == "leaky_relu":
        return torch.nn.functional.leaky_relu(xs[0], negative_slope=p["negative_slope"])
    if op == "softmax":
        return torch.softmax(xs[0], dim=p["dim"])
    if op == "log_softmax":
        return torch.log_softmax(xs[0], dim=p["dim"])
    if op in ("sum", "mean"):
        f = getattr(torch, op)
        if p["dims"] is None:
            assert not p["keepdim"]
            return f(xs[0])
        return f(xs[0], dim=p["dims"], keepdim=p["keepdim"])
    if op in ("var", "std"):
        f = getattr(torch, op)
        return f(xs[0], dim=p["dims"], correction=p["correction"], keepdim=p["keepdim"])
    if op == "max":
        return torch.max(xs[0])
    if op == "min":
        return torch.min(xs[0])
    if op == "max_dim":
        r = torch.max(xs[0], dim=p["dim"], keepdim=p["keepdim"])
        return r.values, r.indices
    if op == "min_dim":
        r = torch.min(xs[0], dim=p["dim"], keepdim=p["keepdim"])
        return r.values, r.indices
    if op == "matmul":
        return torch.matmul(xs[0], xs[1])
    if op == "matmul_t":
        a = xs[0].transpose(-1, -2) if p["transpose_a"] else xs[0]
        b = xs[1].transpose(-1, -2) if p["transpose_b"] else xs[1]
        return torch.matmul(a, b)
    if op == "cat":
        return torch.cat(xs, dim=p["dim"])
    if op == "stack":
        return torch.stack(xs, dim=p["dim"])
    if op == "index_select":
        return torch.index_select(xs[0], p["dim"], index)
    if op == "gather":
        return torch.gather(xs[0], p["dim"], index)
    if op == "where":
        return torch.where(condition, xs[0], xs[1])
    raise ValueError(f"unknown op {op}")


# ------------------------------------------------------- serialisation


class F32Values:
    """Marks a list of float32 values for compact output."""

    def __init__(self, values):
        self.values = values


def f32_text(v):
    """The shortest decimal for float32 `v` that survives a parse to f64
    that may be off by an ulp or two, followed by a cast to f32."""
    v = np.float32(v)
    assert np.isfinite(v), v
    text = np.format_float_positional(v, unique=True, trim="-") if v != 0 else "0"
    if "e" in text or len(text) > 16:
        text = np.format_float_scientific(v, unique=True, trim="-")
    d = float(text)
    candidates = [d]
    for direction in (math.inf, -math.inf):
        x = d
        for _ in range(2):
            x = math.nextafter(x, direction)
            candidates.append(x)
    if all(np.float32(c) == v for c in candidates):
        return text
    # Too close to a rounding boundary: write the exact value instead.
    return repr(float(v))


def f64_text(v):
    assert math.isfinite(v), v
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text


def dump(obj):
    if isinstance(obj, F32Values):
        return "[" + ",".join(f32_text(v) for v in obj.values) + "]"
    if isinstance(obj, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dump(v) for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(dump(v) for v in obj) + "]"
    if isinstance(obj, float):
        return f64_text(obj)
    return json.dumps(obj)


def tensor_json(t):
    t = t.detach()
    values = t.reshape(-1).tolist()
    if t.dtype == F32:
        values = F32Values(values)
    return {"shape": list(t.shape), "values": values}


def index_json(t):
    return {"shape": list(t.shape), "values": t.reshape(-1).tolist()}


# -------------------------------------------------------------- cases

CASES = []


def case(name, op, inputs, params=None, index=None, condition=None, dtypes=(F64, F32)):
    """Records `op` on float64 `inputs` (and their float32 casts)."""
    params = params or {}
    gout64 = None
    for dtype in dtypes:
        xs = [x.to(dtype).requires_grad_(True) for x in inputs]
        result = apply(op, params, xs, index=index, condition=condition)
        out, indices = result if isinstance(result, tuple) else (result, None)
        if gout64 is None:
            gout64 = Gen(name + "/grad_output").randn(*out.shape)
        gout = gout64.to(dtype)
        grads = torch.autograd.grad(out, xs, gout, allow_unused=True)
        entry = {"name": name, "op": op, "dtype": DTYPE_NAMES[dtype], "params": params}
        entry["inputs"] = [tensor_json(x) for x in xs]
        if index is not None:
            entry["index"] = index_json(index)
        if condition is not None:
            entry["condition"] = tensor_json(condition.to(F64))
        entry["output"] = tensor_json(out)
        if indices is not None:
            entry["indices"] = index_json(indices)
        entry["grad_output"] = tensor_json(gout)
        entry["grads"] = [
            tensor_json(g) if g is not None else tensor_json(torch.zeros_like(x))
            for g, x in zip(grads, xs)
        ]
        CASES.append(entry)


def shape_name(*shapes):
    return " ".join("[" + ",".join(map(str, s)) + "]" for s in shapes)


def binary_cases():
    pairs = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((4,), (2, 3, 4)), ((2, 3, 4), (3, 1))]
    for op in ("add", "sub", "mul", "div"):
        for sa, sb in pairs:
            name = f"{op} {shape_name(sa, sb)}"
            g = Gen(name)
            b = g.nonzero(*sb) if op == "div" else g.randn(*sb)
            case(name, op, [g.randn(*sa), b])

    # Positive bases; exponents of both signs; broadcasting both ways.
    for sa, sb in [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,))]:
        name = f"pow {shape_name(sa, sb)}"
        g = Gen(name)
        case(name, "pow", [g.uniform(0.5, 2.0, *sa), g.uniform(-2.0, 2.0, *sb)])

    # A zero base: the exponent's gradient x^y ln(x) is taken as 0 there.
    name = "pow [3,4] [3,4] zero base"
    g = Gen(name)
    base = g.uniform(0.5, 2.0, 3, 4)
    base.view(-1)[[0, 5, 10]] = 0.0
    case(name, "pow", [base, g.uniform(1.5, 3.0, 3, 4)])

    for e in (2.0, 3.0, 0.5, -1.5, 1.0, 0.0):
        name = f"pow_scalar e={e} [3,4]"
        g = Gen(name)
        x = g.uniform(0.5, 2.0, 3, 4) if e != int(e) else g.randn(3, 4)
        case(name, "pow_scalar", [x], {"exponent": e})

    # Multiples of 0.5 from a small range, so that ties (which split the
    # gradient in half) occur.
    for op in ("maximum", "minimum"):
        for sa, sb in [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,))]:
            name = f"{op} {shape_name(sa, sb)} with ties"
            g = Gen(name)
            a, b = g.halves(-1.0, 1.0, *sa), g.halves(-1.0, 1.0, *sb)
            case(name, op, [a, b])
        name = f"{op} [3,4] [3,4] has ties"
        g = Gen(name)
        a = g.randn(3, 4)
        b = g.randn(3, 4)
        b[0, :2] = a[0, :2]
        b[2, 3] = a[2, 3]
        case(name, op, [a, b])


def unary_cases():
    for shape in [(3, 4), (2, 3, 4)]:
        s = shape_name(shape)
        for op in ("neg", "exp", "tanh", "sigmoid", "erf"):
            name = f"{op} {s}"
            case(name, op, [Gen(name).randn(*shape, scale=1.5)])
        for op in ("log", "sqrt"):
            name = f"{op} {s}"
            case(name, op, [Gen(name).uniform(0.1, 4.0, *shape)])
        name = f"abs {s}"
        x = Gen(name).randn(*shape)
        x.view(-1)[[0, 5]] = 0.0  # |x|'s gradient at 0 is 0
        case(name, "abs", [x])

    # Saturating inputs.
    name = "sigmoid [3,4] large"
    big = torch.tensor([[-100.0, -50.0, -30.0, -20.0], [-5.0, -1e-3, 0.0, 1e-3], [5.0, 20.0, 50.0, 100.0]], dtype=F64)
    case(name, "sigmoid", [big])
    case("tanh [3,4] large", "tanh", [big / 5])
    case("erf [3,4] large", "erf", [big / 10])
    case("exp [3,4] large", "exp", [big / 3])


def activation_cases():
    for shape in [(3, 4), (2, 3, 4)]:
        s = shape_name(shape)
        name = f"relu {s}"
        x = Gen(name).randn(*shape)
        x.view(-1)[[1, 6]] = 0.0  # relu's gradient at 0 is 0
        case(name, "relu", [x])
        for slope in (0.01, 0.2):
            name = f"leaky_relu slope={slope} {s}"
            x = Gen(name).randn(*shape)
            x.view(-1)[[2, 7]] = 0.0  # at 0 the gradient is the slope
            case(name, "leaky_relu", [x], {"negative_slope": slope})
        name = f"gelu {s}"
        case(name, "gelu", [Gen(name).randn(*shape, scale=2.0)])

    name = "gelu [3,4] wide"
    x = torch.linspace(-8.0, 8.0, 12, dtype=F64).reshape(3, 4)
    case(name, "gelu", [x])

    # Clamp inside the bounds (no value on a bound).
    for lo, hi, shape in [(-0.5, 0.5, (2, 3, 4)), (-0.5, None, (3, 4)), (None, 0.5, (3, 4))]:
        name = f"clamp min={lo} max={hi} {shape_name(shape)}"
        case(name, "clamp", [Gen(name).randn(*shape)], {"min": lo, "max": hi})
    # Values exactly on the bounds: PyTorch 2.15 passes no gradient there
    # (its clamp_backward uses min < x < max for scalar bounds).
    for lo, hi in [(-0.5, 0.5), (-0.5, None), (None, 0.5), (0.25, 0.25)]:
        name = f"clamp min={lo} max={hi} [3,4] values on the bounds"
        x = Gen(name).randn(3, 4)
        x.view(-1)[[0, 1, 2, 3]] = torch.tensor([-0.5, 0.5, 0.25, 0.0], dtype=F64)
        case(name, "clamp", [x], {"min": lo, "max": hi})


def softmax_cases():
    for op in ("softmax", "log_softmax"):
        for shape, dims in [((3, 4), (0, 1, -1)), ((2, 3, 4), (0, 1, -1))]:
            for dim in dims:
                name = f"{op} dim={dim} {shape_name(shape)}"
                case(name, op, [Gen(name).randn(*shape, scale=2.0)], {"dim": dim})
        # Large magnitudes: naive exp would overflow (float32 at ~88).
        for shape, dims in [((3, 4), (0, 1, -1)), ((2, 3, 4), (1,))]:
            for dim in dims:
                name = f"{op} dim={dim} {shape_name(shape)} large"
                g = Gen(name)
                sign = torch.where(g.randn(*shape) >= 0, 1.0, -1.0).to(F64)
                x = sign * 50.0 + g.randn(*shape, scale=3.0)
                case(name, op, [x], {"dim": dim})
        name = f"{op} dim=1 [3,4] all large positive"
        case(name, op, [100.0 + Gen(name).randn(3, 4)], {"dim": 1})


def reduce_cases():
    for op in ("sum", "mean"):
        for dims in ([0], [1], [-1], [0, 2]):
            for keepdim in (False, True):
                name = f"{op} dims={dims} keepdim={keepdim} [2,3,4]"
                case(name, op, [Gen(name).randn(2, 3, 4)], {"dims": dims, "keepdim": keepdim})
        name = f"{op} all [3,4]"
        case(name, op, [Gen(name).randn(3, 4)], {"dims": None, "keepdim": False})
        name = f"{op} dims=[0,1] keepdim=True [3,4]"
        case(name, op, [Gen(name).randn(3, 4)], {"dims": [0, 1], "keepdim": True})

    for op in ("var", "std"):
        for correction in (0, 1):
            for dims, keepdim in [([1], False), ([-1], True), ([0, 2], False), ([0, 2], True), ([0], False)]:
                name = f"{op} dims={dims} correction={correction} keepdim={keepdim} [2,3,4]"
                x = Gen(name).randn(2, 3, 4, scale=2.0)
                case(name, op, [x], {"dims": dims, "correction": correction, "keepdim": keepdim})
            name = f"{op} all correction={correction} [3,4]"
            x = Gen(name).randn(3, 4) + 3.0
            case(name, op, [x], {"dims": None, "correction": correction, "keepdim": False})


def extremum_cases():
    for op in ("max", "min"):
        name = f"{op} [3,4]"
        case(name, op, [Gen(name).randn(3, 4)])
        name = f"{op} [2,3,4]"
        case(name, op, [Gen(name).randn(2, 3, 4)])
        # Three-way tie: each copy gets a third of the gradient.
        name = f"{op} [3,4] three-way tie"
        x = Gen(name).halves(-1.0, 1.0, 3, 4)
        extreme = 2.0 if op == "max" else -2.0
        x.view(-1)[[1, 6, 11]] = extreme
        case(name, op, [x])

    # Along a dimension: distinct values, so the selected index is unique.
    for op in ("max_dim", "min_dim"):
        for shape, dim, keepdim in [((3, 4), 0, False), ((3, 4), 1, True), ((2, 3, 4), -1, False), ((2, 3, 4), 1, True)]:
            name = f"{op} dim={dim} keepdim={keepdim} {shape_name(shape)}"
            case(name, op, [Gen(name).distinct(*shape)], {"dim": dim, "keepdim": keepdim})


def matmul_cases():
    for sa, sb in [
        ((3, 4), (4, 5)),  # 2-D
        ((2, 3, 4), (2, 4, 5)),  # batched
        ((2, 1, 2, 3), (3, 3, 2)),  # batch dimensions broadcast both ways
        ((3, 4), (2, 4, 5)),  # 2-D lhs broadcast over rhs batch
        ((2, 3, 4), (4, 5)),  # 2-D rhs broadcast over lhs batch
        ((4,), (4,)),  # dot product: a 0-d result
        ((4,), (4, 3)),  # vector-matrix
        ((3, 4), (4,)),  # matrix-vector
        ((4,), (2, 4, 3)),  # vector times batch
        ((2, 3, 4), (4,)),  # batch times vector
    ]:
        name = f"matmul {shape_name(sa, sb)}"
        g = Gen(name)
        case(name, "matmul", [g.randn(*sa), g.randn(*sb)])

    for sa, sb, ta, tb in [
        ((4, 3), (4, 5), True, False),
        ((3, 4), (5, 4), False, True),
        ((4, 3), (5, 4), True, True),
        ((2, 4, 3), (2, 4, 5), True, False),
        ((2, 3, 4), (5, 4), False, True),
    ]:
        name = f"matmul_t ta={ta} tb={tb} {shape_name(sa, sb)}"
        g = Gen(name)
        params = {"transpose_a": ta, "transpose_b": tb}
        case(name, "matmul_t", [g.randn(*sa), g.randn(*sb)], params)


def index_cases():
    for shapes, dim in [
        (((2, 4), (3, 4)), 0),
        (((3, 2), (3, 4), (3, 1)), 1),
        (((2, 3, 1), (2, 3, 2)), -1),
        (((2, 1, 4), (2, 2, 4)), 1),
    ]:
        name = f"cat dim={dim} {shape_name(*shapes)}"
        g = Gen(name)
        case(name, "cat", [g.randn(*s) for s in shapes], {"dim": dim})

    for shapes, dim in [
        (((3, 4),) * 3, 0),
        (((3, 4),) * 3, 1),
        (((3, 4),) * 3, -1),
        (((2, 3),) * 2, 1),
    ]:
        name = f"stack dim={dim} {shape_name(*shapes)}"
        g = Gen(name)
        case(name, "stack", [g.randn(*s) for s in shapes], {"dim": dim})

    # Repeated indices: their gradients accumulate.
    for shape, dim, idx in [((4, 3), 0, [2, 0, 2, 3]), ((3, 4), 1, [3, 3, 0]), ((2, 3, 4), -1, [1, 0, 1])]:
        name = f"index_select dim={dim} {shape_name(shape)} {idx}"
        index = torch.tensor(idx, dtype=torch.int64)
        case(name, "index_select", [Gen(name).randn(*shape)], {"dim": dim}, index=index)

    for shape, dim, ishape in [
        ((3, 4), 1, (3, 2)),
        ((3, 4), 0, (2, 4)),
        ((3, 4), 1, (2, 6)),  # index longer than the input along dim
        ((2, 3, 4), -1, (2, 3, 2)),
        ((2, 3, 4), 1, (2, 2, 4)),
    ]:
        name = f"gather dim={dim} {shape_name(shape)} index {shape_name(ishape)}"
        g = Gen(name)
        x = g.randn(*shape)
        index = g.randint(shape[dim], *ishape)
        case(name, "gather", [x], {"dim": dim}, index=index)

    for sc, st, sf in [((3, 4), (3, 4), (3, 4)), ((3, 4), (3, 1), (4,)), ((2, 3, 4), (2, 3, 4), ()), ((3, 1), (1, 4), (3, 4))]:
        name = f"where {shape_name(sc, st, sf)}"
        g = Gen(name)
        condition = g.randn(*sc) > 0
        case(name, "where", [g.randn(*st), g.randn(*sf)], condition=condition)


def main():
    torch.use_deterministic_algorithms(True)
    binary_cases()
    unary_cases()
    activation_cases()
    softmax_cases()
    reduce_cases()
    extremum_cases()
    matmul_cases()
    index_cases()

    names = [(c["name"], c["dtype"]) for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    header = {"generator": "scripts/make_fixtures.py", "torch_version": torch.__version__}
    lines = ["{" + ",".join(json.dumps(k) + ":" + json.dumps(v) for k, v in header.items()) + ',"cases":[']
    lines.append(",\n".join(dump(c) for c in CASES))
    lines.append("]}")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    json.load(open(OUT))  # well-formed
    ops = sorted({c["op"] for c in CASES})
    size = os.path.getsize(OUT)
    print(f"wrote {len(CASES)} cases ({len(ops)} ops) to {os.path.relpath(OUT, REPO)}: {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
