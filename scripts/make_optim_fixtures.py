#!/usr/bin/env python3
"""Generate PyTorch golden values for nabla's optimizers, learning-rate
schedules and gradient clipping.

Writes crates/nabla/tests/fixtures/optim.json, which
crates/nabla/tests/optim_golden.rs checks nabla against.

How to run (from the repository root; see scripts/make_fixtures.py for the
virtual environment, whose helpers this script imports):

    /path/to/venv/bin/python scripts/make_optim_fixtures.py

The output is deterministic: every case draws its numbers from a
torch.Generator seeded with the CRC32 of the case name (make_fixtures.Gen).
Numbers are drawn in float64; the float32 variant of a case uses the same
numbers cast to float32 and PyTorch's float32 results. Values are written
as in ops.json (shortest round-tripping decimals; float32 values survive a
slightly inexact parse).

Fixture format: {"generator", "torch_version",
                 "optimizers": [...], "schedulers": [...], "clip": [...]}

An optimizer case runs torch.optim.<Optimizer> (single-tensor CPU path) for
five steps on two parameters, setting every parameter's .grad to a given
tensor (or None) before each step:

    {"name": str, "optimizer": "sgd" | "adam" | "adamw" | "rmsprop" | "adagrad",
     "dtype": "float32" | "float64",
     "config": {...},             # keyword arguments given to PyTorch
     "hyperparameters": {...},    # the resulting param_groups[0], without
                                  # "params" (betas as a list)
     "params": [tensor, ...],     # initial values
     "grads": [[tensor | null, ...], ...],   # per step, per parameter
     "steps": [[tensor, ...], ...],          # parameters after each step
     "state": {"state.{i}.{key}": tensor}}   # state_dict()["state"] at the end
                                             # (step counts cast to dtype)

A scheduler case records the learning rate right after construction and
after each of its epochs:

    {"name": str, "scheduler": "step_lr" | "exponential_lr"
                               | "cosine_annealing_lr" | "linear_lr"
                               | "reduce_lr_on_plateau",
     "params": {...},             # PyTorch's keyword arguments
     "lr": float,                 # the optimizer's initial learning rate
     "metrics": [float, ...],     # reduce_lr_on_plateau only: one per epoch
     "epochs": int,
     "lrs": [float, ...]}         # epochs + 1 values

A clip case calls torch.nn.utils.clip_grad_norm_ or clip_grad_value_ on
three parameters (the last has no gradient):

    {"name": str, "function": "clip_grad_norm_" | "clip_grad_value_",
     "dtype": ..., "max_norm": float, "norm_type": float | "inf" | "-inf",
     "clip_value": float,         # clip_grad_value_ only
     "grads": [tensor | null, ...],
     "total_norm": tensor,        # clip_grad_norm_ only (0-d)
     "clipped": [tensor | null, ...]}

with tensor = {"shape": [..], "values": [..]} (flat, row-major).
"""

import json
import math
import os
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import F32, F64, DTYPE_NAMES, REPO, Gen, dump, tensor_json  # noqa: E402

OUT = os.path.join(REPO, "crates", "nabla", "tests", "fixtures", "optim.json")

# ----------------------------------------------------------- optimizers

SHAPES = [(3, 4), (5,)]
# Gradient scale per step: magnitudes that rise and fall, so that the
# second-moment estimates decrease at times (AMSGrad's maximum matters).
GRAD_SCALES = [1.0, 0.3, 2.0, 0.05, 1.0]
# (step, parameter) pairs without a gradient in the "skip" cases: state
# created late, and step counts that differ between parameters.
SKIPS = {(0, 1), (2, 0), (3, 1)}

OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
}

OPTIMIZER_CASES = []


def plain(v):
    """A hyperparameter as JSON: tuples as lists, tensors refused."""
    if isinstance(v, tuple):
        return [plain(x) for x in v]
    assert v is None or isinstance(v, (bool, int, float, str)), v
    return v


def optimizer_case(name, optimizer, config, skip=False):
    g = Gen(name)
    params64 = [g.randn(*s) for s in SHAPES]
    grads64 = [[g.randn(*s, scale=scale) for s in SHAPES] for scale in GRAD_SCALES]
    for dtype in (F64, F32):
        ps = [p.to(dtype).clone().requires_grad_(True) for p in params64]
        opt = OPTIMIZERS[optimizer](ps, **config)
        group = {k: plain(v) for k, v in opt.param_groups[0].items() if k != "params"}
        entry = {"name": name, "optimizer": optimizer, "dtype": DTYPE_NAMES[dtype]}
        entry["config"] = {k: plain(v) for k, v in config.items()}
        entry["hyperparameters"] = group
        entry["params"] = [tensor_json(p) for p in ps]
        grads, steps = [], []
        for k, step_grads in enumerate(grads64):
            given = []
            for i, (p, g64) in enumerate(zip(ps, step_grads)):
                if skip and (k, i) in SKIPS:
                    p.grad = None
                    given.append(None)
                else:
                    p.grad = g64.to(dtype).clone()
                    given.append(tensor_json(p.grad))
            grads.append(given)
            opt.step()
            steps.append([tensor_json(p) for p in ps])
        entry["grads"] = grads
        entry["steps"] = steps
        state = {}
        for index, st in sorted(opt.state_dict()["state"].items()):
            for key, t in st.items():
                assert isinstance(t, torch.Tensor), (name, key, t)
                state[f"state.{index}.{key}"] = tensor_json(t.to(dtype))
        entry["state"] = state
        OPTIMIZER_CASES.append(entry)


def optimizer_cases():
    sgd = {
        "sgd default": {},
        "sgd plain": {"lr": 0.1},
        "sgd momentum": {"lr": 0.1, "momentum": 0.9},
        "sgd dampening": {"lr": 0.1, "momentum": 0.9, "dampening": 0.5},
        "sgd nesterov": {"lr": 0.1, "momentum": 0.9, "nesterov": True},
        "sgd weight_decay": {"lr": 0.1, "weight_decay": 0.1},
        "sgd momentum weight_decay": {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1},
        "sgd maximize": {"lr": 0.1, "maximize": True},
        "sgd nesterov weight_decay maximize": {
            "lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01, "maximize": True,
        },
    }
    adam = {
        "adam default": {},
        "adam lr": {"lr": 0.05},
        "adam weight_decay": {"lr": 0.05, "weight_decay": 0.1},
        "adam amsgrad": {"lr": 0.05, "amsgrad": True},
        "adam betas eps": {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-3},
        "adam amsgrad weight_decay maximize": {
            "lr": 0.05, "amsgrad": True, "weight_decay": 0.1, "maximize": True,
        },
        "adam decoupled_weight_decay": {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True},
    }
    adamw = {
        "adamw default": {},
        "adamw lr": {"lr": 0.05},
        "adamw weight_decay": {"lr": 0.05, "weight_decay": 0.5},
        "adamw amsgrad": {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1},
        "adamw maximize betas": {"lr": 0.05, "maximize": True, "betas": (0.5, 0.9)},
    }
    rmsprop = {
        "rmsprop default": {},
        "rmsprop lr": {"lr": 0.003},
        "rmsprop momentum": {"lr": 0.003, "momentum": 0.9},
        "rmsprop centered": {"lr": 0.003, "centered": True},
        "rmsprop centered momentum": {"lr": 0.003, "centered": True, "momentum": 0.5},
        "rmsprop weight_decay": {"lr": 0.003, "weight_decay": 0.1},
        "rmsprop alpha eps maximize": {"lr": 0.003, "alpha": 0.9, "eps": 1e-3, "maximize": True},
    }
    adagrad = {
        "adagrad default": {},
        "adagrad lr": {"lr": 0.1},
        "adagrad lr_decay": {"lr": 0.1, "lr_decay": 0.1},
        "adagrad weight_decay": {"lr": 0.1, "weight_decay": 0.1},
        "adagrad initial_accumulator_value": {"lr": 0.1, "initial_accumulator_value": 0.5},
        "adagrad eps maximize": {"lr": 0.1, "eps": 1e-3, "maximize": True},
    }
    for optimizer, cases in [("sgd", sgd), ("adam", adam), ("adamw", adamw), ("rmsprop", rmsprop), ("adagrad", adagrad)]:
        for name, config in cases.items():
            optimizer_case(name, optimizer, config)
    # Parameters without a gradient at some steps.
    optimizer_case("sgd momentum skip", "sgd", {"lr": 0.1, "momentum": 0.9}, skip=True)
    optimizer_case("adam amsgrad skip", "adam", {"lr": 0.05, "amsgrad": True}, skip=True)
    optimizer_case("adamw skip", "adamw", {"lr": 0.05}, skip=True)
    optimizer_case("rmsprop centered momentum skip", "rmsprop", {"lr": 0.003, "centered": True, "momentum": 0.5}, skip=True)
    optimizer_case("adagrad lr_decay skip", "adagrad", {"lr": 0.1, "lr_decay": 0.1}, skip=True)


# ------------------------------------------------------------ schedules

SCHEDULERS = {
    "step_lr": torch.optim.lr_scheduler.StepLR,
    "exponential_lr": torch.optim.lr_scheduler.ExponentialLR,
    "cosine_annealing_lr": torch.optim.lr_scheduler.CosineAnnealingLR,
    "linear_lr": torch.optim.lr_scheduler.LinearLR,
    "reduce_lr_on_plateau": torch.optim.lr_scheduler.ReduceLROnPlateau,
}

SCHEDULER_CASES = []

# A loss that falls, stalls (with changes below the 1e-4 relative
# threshold), rises, and falls again.
LOSSES = [
    1.0, 0.9, 0.8, 0.81, 0.8, 0.79995, 0.85, 0.7, 0.7, 0.7,
    0.7, 0.69, 0.72, 0.71, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6,
    0.6, 0.59, 0.6, 0.6, 0.6,
]
# An accuracy that rises by small and large steps.
ACCURACIES = [
    0.5, 0.6, 0.62, 0.61, 0.63, 0.64, 0.64, 0.66, 0.66, 0.65,
    0.7, 0.7, 0.69, 0.71, 0.72, 0.72, 0.72, 0.8, 0.79, 0.79,
    0.79, 0.8, 0.8, 0.8, 0.81,
]


def scheduler_case(name, scheduler, params, lr=0.1, epochs=25, metrics=None):
    p = torch.zeros(2, dtype=F64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = SCHEDULERS[scheduler](opt, **params)
        lrs = [opt.param_groups[0]["lr"]]
        for epoch in range(epochs):
            p.grad = torch.zeros_like(p)
            opt.step()
            if metrics is None:
                sched.step()
            else:
                sched.step(metrics[epoch])
            lrs.append(opt.param_groups[0]["lr"])
    assert all(isinstance(v, float) for v in lrs), lrs
    entry = {"name": name, "scheduler": scheduler, "params": params, "lr": lr}
    if metrics is not None:
        entry["metrics"] = metrics[:epochs]
    entry["epochs"] = epochs
    entry["lrs"] = lrs
    SCHEDULER_CASES.append(entry)


def scheduler_cases():
    scheduler_case("step_lr step_size=3 gamma=0.5", "step_lr", {"step_size": 3, "gamma": 0.5})
    scheduler_case("step_lr step_size=1 gamma=0.9", "step_lr", {"step_size": 1, "gamma": 0.9})
    scheduler_case("exponential_lr gamma=0.9", "exponential_lr", {"gamma": 0.9})
    scheduler_case("exponential_lr gamma=0.7 lr=0.3", "exponential_lr", {"gamma": 0.7}, lr=0.3)
    # Past T_max the rate rises again; epochs T_max + 1 and 3 T_max + 1
    # take PyTorch's special branch.
    scheduler_case("cosine_annealing_lr T_max=6 eta_min=0.001", "cosine_annealing_lr", {"T_max": 6, "eta_min": 0.001})
    scheduler_case("cosine_annealing_lr T_max=10", "cosine_annealing_lr", {"T_max": 10})
    scheduler_case("cosine_annealing_lr T_max=1 eta_min=0.01", "cosine_annealing_lr", {"T_max": 1, "eta_min": 0.01}, epochs=8)
    scheduler_case("linear_lr defaults", "linear_lr", {})
    scheduler_case("linear_lr warmup 0.1 to 1 in 8", "linear_lr", {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 8})
    scheduler_case("linear_lr decay 1 to 0.2 in 10", "linear_lr", {"start_factor": 1.0, "end_factor": 0.2, "total_iters": 10})
    scheduler_case("linear_lr total_iters=0", "linear_lr", {"start_factor": 0.5, "total_iters": 0}, epochs=5)
    scheduler_case(
        "reduce_lr_on_plateau min rel patience=2 cooldown=1 min_lr",
        "reduce_lr_on_plateau",
        {"mode": "min", "factor": 0.5, "patience": 2, "threshold": 1e-4, "threshold_mode": "rel",
         "cooldown": 1, "min_lr": 0.01},
        metrics=LOSSES,
    )
    scheduler_case(
        "reduce_lr_on_plateau min abs patience=0",
        "reduce_lr_on_plateau",
        {"mode": "min", "factor": 0.7, "patience": 0, "threshold": 0.005, "threshold_mode": "abs"},
        metrics=LOSSES,
    )
    scheduler_case(
        "reduce_lr_on_plateau max rel patience=1 cooldown=2",
        "reduce_lr_on_plateau",
        {"mode": "max", "factor": 0.5, "patience": 1, "threshold": 0.01, "cooldown": 2},
        metrics=ACCURACIES,
    )
    scheduler_case(
        "reduce_lr_on_plateau max abs",
        "reduce_lr_on_plateau",
        {"mode": "max", "factor": 0.2, "patience": 1, "threshold": 0.015, "threshold_mode": "abs"},
        metrics=ACCURACIES,
    )
    scheduler_case(
        "reduce_lr_on_plateau defaults",
        "reduce_lr_on_plateau",
        {},
        metrics=[1.0] * 25,
    )
    scheduler_case(
        "reduce_lr_on_plateau eps skips tiny reductions",
        "reduce_lr_on_plateau",
        {"factor": 0.5, "patience": 0, "eps": 0.01},
        lr=0.1,
        metrics=[1.0] * 10,
        epochs=10,
    )


# ------------------------------------------------------------- clipping

CLIP_SHAPES = [(3, 4), (5,), (2,)]
CLIP_CASES = []


def norm_json(norm_type):
    return "inf" if norm_type == math.inf else "-inf" if norm_type == -math.inf else norm_type


def clip_case(name, function, max_norm=None, norm_type=None, clip_value=None):
    g = Gen(name)
    grads64 = [g.randn(*s, scale=2.0) for s in CLIP_SHAPES[:-1]] + [None]
    for dtype in (F64, F32):
        ps = [torch.zeros(s, dtype=dtype, requires_grad=True) for s in CLIP_SHAPES]
        for p, g64 in zip(ps, grads64):
            p.grad = None if g64 is None else g64.to(dtype).clone()
        entry = {"name": name, "function": function, "dtype": DTYPE_NAMES[dtype]}
        entry["grads"] = [None if p.grad is None else tensor_json(p.grad) for p in ps]
        if function == "clip_grad_norm_":
            total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type)
            entry["max_norm"] = max_norm
            entry["norm_type"] = norm_json(norm_type)
            entry["total_norm"] = tensor_json(total)
        else:
            torch.nn.utils.clip_grad_value_(ps, clip_value)
            entry["clip_value"] = clip_value
        entry["clipped"] = [None if p.grad is None else tensor_json(p.grad) for p in ps]
        CLIP_CASES.append(entry)


def clip_cases():
    for norm_type in (2.0, 1.0, math.inf, 3.0, 0.5):
        clip_case(f"clip_grad_norm_ norm_type={norm_type} clips", "clip_grad_norm_", max_norm=1.0, norm_type=norm_type)
    clip_case("clip_grad_norm_ norm_type=2.0 below max_norm", "clip_grad_norm_", max_norm=100.0, norm_type=2.0)
    clip_case("clip_grad_norm_ norm_type=inf below max_norm", "clip_grad_norm_", max_norm=100.0, norm_type=math.inf)
    clip_case("clip_grad_value_ 0.5", "clip_grad_value_", clip_value=0.5)
    clip_case("clip_grad_value_ 2.5", "clip_grad_value_", clip_value=2.5)


def main():
    torch.use_deterministic_algorithms(True)
    optimizer_cases()
    scheduler_cases()
    clip_cases()
    for cases, kind in [(OPTIMIZER_CASES, "optimizer"), (CLIP_CASES, "clip")]:
        names = [(c["name"], c["dtype"]) for c in cases]
        assert len(names) == len(set(names)), f"duplicate {kind} case names"
    names = [c["name"] for c in SCHEDULER_CASES]
    assert len(names) == len(set(names)), "duplicate scheduler case names"

    header = {"generator": "scripts/make_optim_fixtures.py", "torch_version": torch.__version__}
    lines = ["{" + ",".join(json.dumps(k) + ":" + json.dumps(v) for k, v in header.items()) + ","]
    for key, cases in [("optimizers", OPTIMIZER_CASES), ("schedulers", SCHEDULER_CASES), ("clip", CLIP_CASES)]:
        end = "]," if key != "clip" else "]"
        lines.append(json.dumps(key) + ":[" + ",\n".join(dump(c) for c in cases) + end)
    lines.append("}")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    json.load(open(OUT))  # well-formed
    size = os.path.getsize(OUT)
    print(
        f"wrote {len(OPTIMIZER_CASES)} optimizer, {len(SCHEDULER_CASES)} scheduler and "
        f"{len(CLIP_CASES)} clipping cases to {os.path.relpath(OUT, REPO)}: {size / 1024:.0f} KiB"
    )


if __name__ == "__main__":
    main()
