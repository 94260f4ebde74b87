#!/usr/bin/env python3
"""Generate PyTorch golden values for nabla's losses.

Writes crates/nabla/tests/fixtures/losses.json, which
crates/nabla/tests/loss_golden.rs checks nabla against.

How to run (from the repository root, with the same virtual environment as
scripts/make_fixtures.py, whose seeding and number formatting this script
imports):

    /path/to/venv/bin/python scripts/make_loss_fixtures.py

As in make_fixtures.py, every case draws its float64 inputs from a
torch.Generator seeded with the CRC32 of the case name; the float32 variant
uses the same inputs (and upstream gradient) cast to float32, with golden
values computed by PyTorch in float32.

Fixture format: {"generator", "torch_version", "cases": [case, ...]}, where
a case is

    {"name": str, "loss": str, "dtype": "float32" | "float64",
     "params": {"reduction": "mean" | "sum" | "none",
                "ignore_index": int | null,      # nll_loss, cross_entropy
                "label_smoothing": float},       # cross_entropy
     "input": tensor,            # probabilities, logits or log-probabilities
     "target": tensor,           # mse_loss, binary_cross_entropy(_with_logits)
     "classes": itensor,         # nll_loss, cross_entropy: class indices
     "weight": tensor,           # optional
     "pos_weight": tensor,       # optional, binary_cross_entropy_with_logits
     "output": tensor,
     "grad_output": tensor,      # upstream gradient, seeded randn
     "grad_input": tensor,       # d(output . grad_output)/d(input)
     "grad_target": tensor}      # the same for a float target, when finite

with tensor = {"shape": [..], "values": [..]} (flat, row-major) and itensor
the same with integer values, written as make_fixtures.py writes them.

Losses (torch.nn.functional names): mse_loss, binary_cross_entropy,
binary_cross_entropy_with_logits, nll_loss, cross_entropy (class indices).
An ignore_index of null means none (PyTorch's default -100 is passed).
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
OUT = os.path.join(REPO, "crates", "nabla", "tests", "fixtures", "losses.json")

F64, F32 = torch.float64, torch.float32
DTYPE_NAMES = {F64: "float64", F32: "float32"}
REDUCTIONS = ("mean", "sum", "none")
FLOAT_TARGET = ("mse_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits")
CLASS_TARGET = ("nll_loss", "cross_entropy")


def apply(loss, p, x, target, classes, weight, pos_weight):
    r = p["reduction"]
    if loss == "mse_loss":
        return F.mse_loss(x, target, reduction=r)
    if loss == "smooth_l1_loss":
        return F.smooth_l1_loss(x, target, reduction=r, beta=p["beta"])
    if loss == "huber_loss":
        return F.huber_loss(x, target, reduction=r, delta=p["delta"])
    if loss == "binary_cross_entropy":
        return F.binary_cross_entropy(x, target, weight=weight, reduction=r)
    if loss == "binary_cross_entropy_with_logits":
        return F.binary_cross_entropy_with_logits(x, target, weight=weight, pos_weight=pos_weight, reduction=r)
    ignore = -100 if p["ignore_index"] is None else p["ignore_index"]
    if loss == "nll_loss":
        return F.nll_loss(x, classes, weight=weight, ignore_index=ignore, reduction=r)
    if loss == "cross_entropy":
        return F.cross_entropy(
            x, classes, weight=weight, ignore_index=ignore, reduction=r, label_smoothing=p["label_smoothing"]
        )
    raise ValueError(f"unknown loss {loss}")


CASES = []


def case(name, loss, x, target=None, classes=None, weight=None, pos_weight=None, reduction="mean",
         ignore_index=None, label_smoothing=0.0, beta=None, delta=None):
    """Records `loss` on float64 inputs and their float32 casts."""
    assert (target is None) == (loss in CLASS_TARGET) and (classes is None) == (loss in FLOAT_TARGET)
    params = {"reduction": reduction}
    if loss in CLASS_TARGET:
        params["ignore_index"] = ignore_index
        assert ignore_index is None or (classes == ignore_index).any(), name
        assert ignore_index is None or (classes != ignore_index).any(), name  # no 0/0
    if loss == "cross_entropy":
        params["label_smoothing"] = label_smoothing
    if loss == "smooth_l1_loss":
        params["beta"] = beta
    if loss == "huber_loss":
        params["delta"] = delta
    gout64 = None
    for dtype in (F64, F32):
        xi = x.to(dtype).requires_grad_(True)
        ti = None if target is None else target.to(dtype).requires_grad_(True)
        w = None if weight is None else weight.to(dtype)
        pw = None if pos_weight is None else pos_weight.to(dtype)
        out = apply(loss, params, xi, ti, classes, w, pw)
        if gout64 is None:
            gout64 = Gen(name + "/grad_output").randn(*out.shape)
        gout = gout64.to(dtype)
        wrt = [xi] if ti is None else [xi, ti]
        grads = torch.autograd.grad(out, wrt, gout)
        assert torch.isfinite(out).all() and torch.isfinite(grads[0]).all(), name
        entry = {"name": name, "loss": loss, "dtype": DTYPE_NAMES[dtype], "params": params}
        entry["input"] = tensor_json(xi)
        if ti is not None:
            entry["target"] = tensor_json(ti)
        if classes is not None:
            entry["classes"] = index_json(classes)
        if w is not None:
            entry["weight"] = tensor_json(w)
        if pw is not None:
            entry["pos_weight"] = tensor_json(pw)
        entry["output"] = tensor_json(out)
        entry["grad_output"] = tensor_json(gout)
        entry["grad_input"] = tensor_json(grads[0])
        # PyTorch's target gradient of the binary cross-entropy, -logit(p),
        # is infinite at p = 0 and p = 1: such cases carry none.
        if ti is not None and torch.isfinite(grads[1]).all():
            entry["grad_target"] = tensor_json(grads[1])
        CASES.append(entry)


# ------------------------------------------------------------------ MSE


def mse_cases():
    for shape in [(3, 4), (2, 3, 2)]:
        for r in REDUCTIONS:
            name = f"mse_loss {r} {shape_name(shape)}"
            g = Gen(name)
            case(name, "mse_loss", g.randn(*shape), target=g.randn(*shape), reduction=r)
    name = "mse_loss mean [3,4] large values"
    g = Gen(name)
    case(name, "mse_loss", g.randn(3, 4, scale=1e3), target=g.randn(3, 4, scale=1e3))


# ------------------------------------------------------------------ BCE

# Probabilities exactly 0 and 1 (log 0 is clamped at -100, the gradient's
# denominator p (1 - p) at 1e-12), nearly 0 and 1 (1e-50 underflows to 0 in
# float32; 1 - 2^-30 rounds to 1 in float32), and soft targets there too.
EXTREME_P = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1e-30, 1 - 1e-7, 1e-50, 1e-8, 0.5, 1 - 2.0**-30]
EXTREME_Y = [0.0, 1.0, 1.0, 0.0, 0.5, 0.5, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0]


def bce_cases():
    loss = "binary_cross_entropy"
    for kind in ("binary", "soft"):
        for r in REDUCTIONS:
            name = f"{loss} {r} {kind} targets [3,4]"
            g = Gen(name)
            p = g.uniform(0.02, 0.98, 3, 4)
            y = g.randint(2, 3, 4).to(F64) if kind == "binary" else g.uniform(0.0, 1.0, 3, 4)
            case(name, loss, p, target=y, reduction=r)
    for wshape, reductions in [((4,), REDUCTIONS), ((3, 4), ("mean",)), ((3, 1), ("sum",))]:
        for r in reductions:
            name = f"{loss} {r} weight {shape_name(wshape)} [3,4]"
            g = Gen(name)
            p, y = g.uniform(0.02, 0.98, 3, 4), g.randint(2, 3, 4).to(F64)
            case(name, loss, p, target=y, weight=g.uniform(0.0, 2.0, *wshape), reduction=r)
    p = torch.tensor(EXTREME_P, dtype=F64).reshape(3, 4)
    y = torch.tensor(EXTREME_Y, dtype=F64).reshape(3, 4)
    for r in REDUCTIONS:
        case(f"{loss} {r} [3,4] probabilities 0 and 1", loss, p, target=y, reduction=r)
    name = f"{loss} mean weight [4] [3,4] probabilities 0 and 1"
    case(name, loss, p, target=y, weight=Gen(name).uniform(0.5, 2.0, 4))


LARGE_Z = [0.0, 20.0, -20.0, 50.0, -50.0, 100.0, -100.0, 500.0, -500.0, 1e-3, -1e-3, 88.0]
LARGE_Z_Y = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.5, 1.0, 0.0, 1.0, 0.3]


def bce_with_logits_cases():
    loss = "binary_cross_entropy_with_logits"
    for r in REDUCTIONS:
        name = f"{loss} {r} soft targets [3,4]"
        g = Gen(name)
        case(name, loss, g.randn(3, 4, scale=3.0), target=g.uniform(0.0, 1.0, 3, 4), reduction=r)
        name = f"{loss} {r} weight [3,1] [3,4]"
        g = Gen(name)
        z, y = g.randn(3, 4, scale=3.0), g.randint(2, 3, 4).to(F64)
        case(name, loss, z, target=y, weight=g.uniform(0.0, 2.0, 3, 1), reduction=r)
        name = f"{loss} {r} pos_weight [4] [3,4]"
        g = Gen(name)
        z, y = g.randn(3, 4, scale=3.0), g.randint(2, 3, 4).to(F64)
        case(name, loss, z, target=y, pos_weight=g.uniform(0.5, 4.0, 4), reduction=r)
    for r in ("mean", "none"):
        name = f"{loss} {r} weight [4] pos_weight [4] soft targets [3,4]"
        g = Gen(name)
        z, y = g.randn(3, 4, scale=3.0), g.uniform(0.0, 1.0, 3, 4)
        case(name, loss, z, target=y, weight=g.uniform(0.0, 2.0, 4), pos_weight=g.uniform(0.5, 4.0, 4),
             reduction=r)
    name = f"{loss} sum pos_weight [] [2,3]"
    g = Gen(name)
    z, y = g.randn(2, 3, scale=3.0), g.randint(2, 2, 3).to(F64)
    case(name, loss, z, target=y, pos_weight=torch.tensor(2.5, dtype=F64), reduction="sum")
    z = torch.tensor(LARGE_Z, dtype=F64).reshape(3, 4)
    y = torch.tensor(LARGE_Z_Y, dtype=F64).reshape(3, 4)
    for r in REDUCTIONS:
        case(f"{loss} {r} [3,4] large logits", loss, z, target=y, reduction=r)
    name = f"{loss} mean pos_weight [4] [3,4] large logits"
    case(name, loss, z, target=y, pos_weight=Gen(name).uniform(0.5, 4.0, 4))


# ------------------------------------------------------- class targets


def classes_with_ignored(g, classes, shape, ignore_index):
    """Random classes with the first and the fourth-last target ignored."""
    t = g.randint(classes, *shape)
    if ignore_index is not None:
        flat = t.view(-1)
        flat[0] = ignore_index
        flat[-4] = ignore_index
    return t


def class_cases(loss):
    def inputs(g, shape):
        x = g.randn(*shape, scale=2.0)
        # nll_loss takes log-probabilities (any values would do).
        return torch.log_softmax(x, dim=1 if len(shape) > 1 else 0) if loss == "nll_loss" else x

    # [N, C] = [5, 4]; weights; an ignore_index that is a class (2) and one
    # that is not (255, as for unlabelled pixels).
    for label, weighted, ignore in [("", False, None), (" weight", True, None),
                                    (" ignore_index=2", False, 2), (" weight ignore_index=255", True, 255)]:
        for r in REDUCTIONS:
            name = f"{loss} {r}{label} [5,4]"
            g = Gen(name)
            x = inputs(g, (5, 4))
            t = classes_with_ignored(g, 4, (5,), ignore)
            w = g.uniform(0.2, 2.0, 4) if weighted else None
            case(name, loss, x, classes=t, weight=w, reduction=r, ignore_index=ignore)
    # A class per position: [N, C, d] and [N, C, d1, d2].
    for r in REDUCTIONS:
        name = f"{loss} {r} weight ignore_index=1 [2,4,3]"
        g = Gen(name)
        x, t = inputs(g, (2, 4, 3)), classes_with_ignored(g, 4, (2, 3), 1)
        case(name, loss, x, classes=t, weight=g.uniform(0.2, 2.0, 4), reduction=r, ignore_index=1)
    name = f"{loss} mean [2,3,2,2]"
    g = Gen(name)
    case(name, loss, inputs(g, (2, 3, 2, 2)), classes=g.randint(3, 2, 2, 2))
    # A single example: input [C], target [].
    for r in ("mean", "none"):
        name = f"{loss} {r} unbatched [4]"
        g = Gen(name)
        case(name, loss, inputs(g, (4,)), classes=torch.tensor(2), weight=g.uniform(0.2, 2.0, 4), reduction=r)


def cross_entropy_cases():
    loss = "cross_entropy"
    class_cases(loss)
    # Logits far beyond exp's range (float32 overflows at ~88).
    for r in ("mean", "none"):
        name = f"{loss} {r} [3,4] large logits"
        g = Gen(name)
        sign = torch.where(g.randn(3, 4) >= 0, 1.0, -1.0).to(F64)
        x = sign * torch.tensor([100.0, 1000.0, 50.0]).to(F64).reshape(3, 1) + g.randn(3, 4)
        case(name, loss, x, classes=g.randint(4, 3), reduction=r)
    # PyTorch's label smoothing.
    for label, weighted, ignore in [("", False, None), (" weight ignore_index=0", True, 0)]:
        for r in REDUCTIONS:
            name = f"{loss} {r} label_smoothing=0.1{label} [5,4]"
            g = Gen(name)
            x, t = g.randn(5, 4, scale=2.0), classes_with_ignored(g, 4, (5,), ignore)
            w = g.uniform(0.2, 2.0, 4) if weighted else None
            case(name, loss, x, classes=t, weight=w, reduction=r, ignore_index=ignore, label_smoothing=0.1)
    name = f"{loss} mean label_smoothing=0.25 weight ignore_index=3 [2,4,3]"
    g = Gen(name)
    x, t = g.randn(2, 4, 3, scale=2.0), classes_with_ignored(g, 4, (2, 3), 3)
    case(name, loss, x, classes=t, weight=g.uniform(0.2, 2.0, 4), ignore_index=3, label_smoothing=0.25)


def huber_cases():
    """Errors on both sides of the threshold (scaled normals of scale 2)."""
    for loss, key, values in (("smooth_l1_loss", "beta", (1.0, 0.5, 0.0)), ("huber_loss", "delta", (1.0, 2.5))):
        for threshold in values:
            for r in REDUCTIONS:
                name = f"{loss} {r} {key} {threshold} [4,5]"
                g = Gen(name)
                case(name, loss, g.randn(4, 5, scale=2.0), target=g.randn(4, 5), reduction=r,
                     **{key: threshold})


def main():
    torch.use_deterministic_algorithms(True)
    mse_cases()
    huber_cases()
    bce_cases()
    bce_with_logits_cases()
    class_cases("nll_loss")
    cross_entropy_cases()

    names = [(c["name"], c["dtype"]) for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    header = {"generator": "scripts/make_loss_fixtures.py", "torch_version": torch.__version__}
    lines = ["{" + ",".join(json.dumps(k) + ":" + json.dumps(v) for k, v in header.items()) + ',"cases":[']
    lines.append(",\n".join(dump(c) for c in CASES))
    lines.append("]}")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    json.load(open(OUT))  # well-formed
    losses = sorted({c["loss"] for c in CASES})
    size = os.path.getsize(OUT)
    print(f"wrote {len(CASES)} cases ({len(losses)} losses) to {os.path.relpath(OUT, REPO)}: {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
