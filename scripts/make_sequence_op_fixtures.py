#!/usr/bin/env python3
"""Generate PyTorch golden values for the ops that sequence models use.

Writes crates/nabla/tests/fixtures/sequence_ops.json, which
crates/nabla/tests/sequence_ops_golden.rs checks nabla against.

How to run (from the repository root, with the virtual environment of
scripts/make_fixtures.py, whose seeding and number formatting this script
imports):

    /path/to/venv/bin/python scripts/make_sequence_op_fixtures.py

Every case draws its float64 inputs from a torch.Generator seeded with the
CRC32 of the case name; the float32 variant uses the same inputs (and
upstream gradients) cast to float32, with golden values computed by
PyTorch in float32.

Fixture format: {"generator", "torch_version", "cases": [case, ...]}, where
a case is

    {"name": str, "op": str, "dtype": "float32" | "float64",
     "params": {...},
     "inputs": [tensor, ...],       # every input requires grad
     "mask": tensor,                # masked_fill only: 0/1, broadcasting
     "index": itensor,              # one_hot only: the class indices
     "outputs": [tensor, ...],      # one per piece for split and chunk
     "indices": itensor,            # topk and argmax: the indices
     "grad_outputs": [tensor, ...], # upstream gradients, seeded randn
     "grads": [tensor, ...]}        # d(sum outputs . grad_outputs)/d(input)

with tensor = {"shape": [..], "values": [..]} (flat, row-major) and itensor
the same with integer values. one_hot's output is an itensor in `indices`
and it has no inputs, outputs or gradients; argmax has no gradients.

Ops, with their params (dims may be negative):
  sin cos
  tril triu {diagonal}
  masked_fill {value} + mask
  logsumexp {dim, keepdim}
  split {split_size: int or list of sizes, dim}   chunk {chunks, dim}
  one_hot {num_classes: int or -1} + index
  argmax {dim, keepdim}          topk {k, dim, largest}
  cumsum {dim}
  gelu {approximate: "none" | "tanh"}

multinomial and randint draw from nabla's own generator, whose stream is
not PyTorch's: they are tested by their distributions, not here.
"""

import json
import os
import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import Gen, dump, index_json, shape_name, tensor_json  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "crates", "nabla", "tests", "fixtures", "sequence_ops.json")

F64, F32 = torch.float64, torch.float32
DTYPE_NAMES = {F64: "float64", F32: "float32"}


def apply(op, p, xs, mask=None):
    """Runs `op` in PyTorch: a list of outputs, and the indices if any."""
    x = xs[0] if xs else None
    if op in ("sin", "cos"):
        return [getattr(torch, op)(x)], None
    if op in ("tril", "triu"):
        return [getattr(torch, op)(x, diagonal=p["diagonal"])], None
    if op == "masked_fill":
        return [x.masked_fill(mask.bool(), p["value"])], None
    if op == "logsumexp":
        return [torch.logsumexp(x, dim=p["dim"], keepdim=p["keepdim"])], None
    if op == "split":
        return list(torch.split(x, p["split_size"], dim=p["dim"])), None
    if op == "chunk":
        return list(torch.chunk(x, p["chunks"], dim=p["dim"])), None
    if op == "argmax":
        return [], torch.argmax(x, dim=p["dim"], keepdim=p["keepdim"])
    if op == "topk":
        values, indices = torch.topk(x, p["k"], dim=p["dim"], largest=p["largest"])
        return [values], indices
    if op == "cumsum":
        return [torch.cumsum(x, dim=p["dim"])], None
    if op == "gelu":
        return [F.gelu(x, approximate=p["approximate"])], None
    raise ValueError(op)


CASES = []


def case(name, op, inputs, params, mask=None):
    """Records `op` on float64 `inputs` and on their float32 casts."""
    gouts64 = None
    for dtype in (F64, F32):
        xs = [x.to(dtype).requires_grad_(True) for x in inputs]
        outs, indices = apply(op, params, xs, mask=mask)
        if gouts64 is None:
            g = Gen(name + "/grad_output")
            gouts64 = [g.randn(*o.shape) for o in outs]
        gouts = [g.to(dtype) for g in gouts64]
        entry = {"name": name, "op": op, "dtype": DTYPE_NAMES[dtype], "params": params}
        entry["inputs"] = [tensor_json(x) for x in xs]
        if mask is not None:
            entry["mask"] = tensor_json(mask.to(dtype))
        entry["outputs"] = [tensor_json(o) for o in outs]
        if indices is not None:
            entry["indices"] = index_json(indices)
        if outs:
            grads = torch.autograd.grad(outs, xs, gouts)
            entry["grad_outputs"] = [tensor_json(g) for g in gouts]
            entry["grads"] = [tensor_json(g) for g in grads]
        else:
            entry["grad_outputs"] = []
            entry["grads"] = []
        CASES.append(entry)


def trig_cases():
    for op in ("sin", "cos"):
        for shape in [(7,), (3, 4, 5)]:
            name = f"{op} {shape_name(shape)}"
            case(name, op, [Gen(name).randn(*shape, scale=3.0)], {})


def triangle_cases():
    for op in ("tril", "triu"):
        for shape, diagonal in [((4, 4), 0), ((3, 5), 1), ((5, 3), -2), ((2, 3, 4), -1), ((2, 3, 4), 3)]:
            name = f"{op} {shape_name(shape)} diagonal {diagonal}"
            case(name, op, [Gen(name).randn(*shape)], {"diagonal": diagonal})


def masked_fill_cases():
    for shape, mask_shape, value in [
        ((3, 4), (3, 4), -1e9),
        ((2, 3, 4), (3, 4), 0.5),
        ((4, 4), (4, 1), -1e30),
        ((3,), (2, 3), 2.0),  # the mask broadcasts the input
    ]:
        name = f"masked_fill {shape_name(shape, mask_shape)} value {value}"
        g = Gen(name)
        mask = (torch.rand(mask_shape, generator=g.g, dtype=F64) < 0.4).to(F64)
        case(name, "masked_fill", [g.randn(*shape)], {"value": value}, mask=mask)


def logsumexp_cases():
    for shape, dim, keepdim, scale in [
        ((3, 4, 5), -1, False, 1.0),
        ((3, 4, 5), 0, True, 1.0),
        ((4, 6), 1, False, 300.0),  # large values: exp would overflow unshifted
        ((5,), 0, False, 2.0),
    ]:
        name = f"logsumexp {shape_name(shape)} dim {dim} keepdim {keepdim} scale {scale}"
        params = {"dim": dim, "keepdim": keepdim}
        case(name, "logsumexp", [Gen(name).randn(*shape, scale=scale)], params)


def split_cases():
    for shape, size, dim in [((10, 3), 4, 0), ((2, 9), [2, 3, 4], -1), ((4, 6, 2), 6, 1)]:
        name = f"split {shape_name(shape)} size {size} dim {dim}"
        case(name, "split", [Gen(name).randn(*shape)], {"split_size": size, "dim": dim})
    for shape, chunks, dim in [((10, 3), 4, 0), ((5, 2), 4, 0), ((3, 8), 3, -1), ((2, 6), 6, 1)]:
        name = f"chunk {shape_name(shape)} chunks {chunks} dim {dim}"
        case(name, "chunk", [Gen(name).randn(*shape)], {"chunks": chunks, "dim": dim})


def one_hot_cases():
    for shape, num_classes in [((5,), 4), ((2, 3), -1), ((0,), 3)]:
        name = f"one_hot {shape_name(shape)} classes {num_classes}"
        index = Gen(name).randint(4 if num_classes == -1 else num_classes, *shape)
        out = F.one_hot(index, num_classes)
        CASES.append({"name": name, "op": "one_hot", "dtype": "float64", "params": {"num_classes": num_classes},
                      "inputs": [], "index": index_json(index), "outputs": [], "indices": index_json(out),
                      "grad_outputs": [], "grads": []})


def argmax_topk_cases():
    for shape, dim, keepdim in [((4, 7), 1, False), ((3, 4, 5), 0, True), ((6,), 0, False)]:
        name = f"argmax {shape_name(shape)} dim {dim} keepdim {keepdim}"
        case(name, "argmax", [Gen(name).distinct(*shape)], {"dim": dim, "keepdim": keepdim})
    for shape, k, dim, largest in [
        ((4, 7), 3, 1, True),
        ((4, 7), 2, -1, False),
        ((5, 3, 2), 5, 0, True),
        ((3, 6, 2), 1, 1, False),
        ((8,), 8, 0, True),
    ]:
        name = f"topk {shape_name(shape)} k {k} dim {dim} largest {largest}"
        params = {"k": k, "dim": dim, "largest": largest}
        case(name, "topk", [Gen(name).distinct(*shape)], params)


def cumsum_cases():
    for shape, dim in [((6,), 0), ((3, 5), 1), ((4, 3, 2), 0), ((2, 3, 4), -2)]:
        name = f"cumsum {shape_name(shape)} dim {dim}"
        case(name, "cumsum", [Gen(name).randn(*shape)], {"dim": dim})


def gelu_cases():
    for approximate in ("none", "tanh"):
        for shape, scale in [((7,), 1.0), ((3, 4, 5), 3.0)]:
            name = f"gelu {approximate} {shape_name(shape)} scale {scale}"
            x = Gen(name).randn(*shape, scale=scale)
            case(name, "gelu", [x], {"approximate": approximate})


def main():
    trig_cases()
    triangle_cases()
    masked_fill_cases()
    logsumexp_cases()
    split_cases()
    one_hot_cases()
    argmax_topk_cases()
    cumsum_cases()
    gelu_cases()
    root = {"generator": "torch.Generator seeded with crc32(case name)", "torch_version": torch.__version__,
            "cases": CASES}
    with open(OUT, "w") as f:
        f.write(dump(root))
        f.write("\n")
    print(f"wrote {len(CASES)} cases to {os.path.relpath(OUT, REPO)}")


if __name__ == "__main__":
    main()
