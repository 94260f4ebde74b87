#!/usr/bin/env python3
"""Generate PyTorch golden values for nabla's AveragedModel
(torch.optim.swa_utils.AveragedModel).

Writes crates/nabla/tests/fixtures/averaged.json, which
crates/nabla/tests/averaged_golden.rs checks nabla against.

How to run (from the repository root; see scripts/make_fixtures.py for the
virtual environment, whose helpers this script imports):

    /path/to/venv/bin/python scripts/make_averaged_fixtures.py

The model is Linear(3, 2) then BatchNorm1d(2), in float64. Each case sets
the model's parameters and running statistics to seeded random values
before each of five calls of update_parameters, and records the average's
float tensors after each call:

    {"cases": [{"name": str,
                "averaging": "equal" | "exponential",
                "decay": float,            # exponential only
                "use_buffers": bool,
                "updates": [{name: tensor}, ...],    # the model's values
                "averages": [{name: tensor}, ...]}]} # the average after each

with tensor = {"shape": [..], "values": [..]} (flat, row-major). The
integer num_batches_tracked is left out: PyTorch averages it in int64.
"""

import json
import os
import sys

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import F64, REPO, Gen, dump, tensor_json  # noqa: E402

OUT = os.path.join(REPO, "crates", "nabla", "tests", "fixtures", "averaged.json")
UPDATES = 5


def model():
    return torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2)).to(F64)


def float_state(module):
    return {k: v for k, v in module.state_dict().items() if v.is_floating_point()}


def case(name, averaging, use_buffers, decay=None):
    g = Gen(name)
    source = model()
    if averaging == "equal":
        average = AveragedModel(source, use_buffers=use_buffers)
    else:
        average = AveragedModel(source, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=use_buffers)
    updates, averages = [], []
    for _ in range(UPDATES):
        with torch.no_grad():
            for key, t in float_state(source).items():
                values = g.randn(*t.shape)
                t.copy_(values.abs() + 0.5 if key.endswith("running_var") else values)
        updates.append({k: tensor_json(v) for k, v in float_state(source).items()})
        average.update_parameters(source)
        averages.append({k: tensor_json(v) for k, v in float_state(average.module).items()})
    entry = {"name": name, "averaging": averaging, "use_buffers": use_buffers}
    if decay is not None:
        entry["decay"] = decay
    entry["updates"] = updates
    entry["averages"] = averages
    return entry


def main():
    cases = [
        case("equal_parameters", "equal", False),
        case("equal_with_buffers", "equal", True),
        case("ema_0.9_with_buffers", "exponential", True, decay=0.9),
        case("ema_0.5_parameters", "exponential", False, decay=0.5),
    ]
    with open(OUT, "w") as f:
        f.write(dump({"generator": "scripts/make_averaged_fixtures.py", "torch_version": torch.__version__,
                      "cases": cases}))
        f.write("\n")
    print(f"wrote {OUT} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
