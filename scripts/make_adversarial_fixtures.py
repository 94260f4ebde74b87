#!/usr/bin/env python3
"""Generate PyTorch golden values for nabla's adversarial attacks.

Writes crates/nabla/tests/fixtures/adversarial.json, which
crates/nabla/tests/adversarial_golden.rs checks nabla against.

How to run (from the repository root), with the environment of
scripts/make_fixtures.py:

    /path/to/venv/bin/python scripts/make_adversarial_fixtures.py

The attacks are written here as PyTorch users write them (torchattacks,
Madry et al.'s and the FGSM tutorial's code): the gradient of the summed
per-example loss with respect to the input by torch.autograd.grad, a step
along its sign (L-infinity) or along it over its per-example L2 length, the
projection onto the eps ball (a clamp of the perturbation, or its rescaling
to length eps) and a clamp to [0, 1]. There is no random start, so each
case is deterministic, and the attack returns its last iterate.

A case is {"name", "model", "norm", "eps", "steps", "step_size",
"targeted", "loss", "labels", "adversarial"}; the file also holds the
models' weights (an MLP 6-5-3 and a small CNN on 1x6x6 images) in float64
and their inputs in [0, 1].
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import F64, Gen, dump, index_json, tensor_json  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "crates", "nabla", "tests", "fixtures", "adversarial.json")
TINY = 1e-12


def mlp():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)).double()


def cnn():
    torch.manual_seed(2)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(27, 4)
    ).double()


def per_example_loss(kind, logits, labels):
    if kind == "cross-entropy":
        return F.cross_entropy(logits, labels, reduction="none")
    own = logits.gather(1, labels[:, None])
    others = logits.scatter(1, labels[:, None], -1e9)
    return (others.max(1, keepdim=True).values - own)[:, 0]


def l2(t):
    return t.flatten(1).norm(dim=1).reshape(-1, *([1] * (t.dim() - 1)))


def attack(model, x, labels, norm, eps, steps, step_size, targeted, loss):
    sign = -1.0 if targeted else 1.0
    x_adv = x.clone()
    for _ in range(steps):
        x_adv = x_adv.detach().requires_grad_(True)
        total = per_example_loss(loss, model(x_adv), labels).sum()
        (g,) = torch.autograd.grad(total, x_adv)
        with torch.no_grad():
            direction = g.sign() if norm == "linf" else g / (l2(g) + TINY)
            x_adv = x_adv + sign * step_size * direction
            delta = x_adv - x
            if norm == "linf":
                delta = delta.clamp(-eps, eps)
            else:
                delta = delta * (eps / (l2(delta) + TINY)).clamp(max=1.0)
            x_adv = (x + delta).clamp(0.0, 1.0)
    return x_adv.detach()


def main():
    models = {"mlp": mlp(), "cnn": cnn()}
    g = Gen("adversarial")
    inputs = {"mlp": g.uniform(0.0, 1.0, 8, 6), "cnn": g.uniform(0.0, 1.0, 8, 1, 6, 6)}
    classes = {"mlp": 3, "cnn": 4}
    labels = {name: g.randint(classes[name], 8) for name in models}
    targets = {name: (labels[name] + 1) % classes[name] for name in models}
    cases = []
    for name, model in models.items():
        for norm, eps, steps, step_size, targeted, loss in [
            ("linf", 0.1, 1, 0.1, False, "cross-entropy"),
            ("l2", 0.5, 1, 0.5, False, "cross-entropy"),
            ("linf", 0.1, 5, 0.03, False, "cross-entropy"),
            ("l2", 0.5, 5, 0.2, False, "cross-entropy"),
            ("linf", 0.2, 5, 0.05, True, "cross-entropy"),
            ("linf", 0.1, 5, 0.03, False, "margin"),
        ]:
            y = targets[name] if targeted else labels[name]
            x_adv = attack(model, inputs[name], y, norm, eps, steps, step_size, targeted, loss)
            kind = "fgsm" if steps == 1 else f"pgd{steps}"
            goal = "targeted" if targeted else "untargeted"
            cases.append(
                {
                    "name": f"{name}_{kind}_{norm}_{goal}_{loss}",
                    "model": name,
                    "norm": norm,
                    "eps": eps,
                    "steps": steps,
                    "step_size": step_size,
                    "targeted": targeted,
                    "loss": loss,
                    "labels": index_json(y),
                    "adversarial": tensor_json(x_adv),
                }
            )
    out = {
        "generator": "scripts/make_adversarial_fixtures.py",
        "torch_version": torch.__version__,
        "models": {
            name: {k: tensor_json(v) for k, v in model.state_dict().items()} for name, model in models.items()
        },
        "inputs": {name: tensor_json(x) for name, x in inputs.items()},
        "cases": cases,
    }
    with open(OUT, "w") as f:
        f.write(dump(out))
        f.write("\n")
    print(f"wrote {OUT}: {len(cases)} cases")


if __name__ == "__main__":
    main()
