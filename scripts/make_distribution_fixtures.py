#!/usr/bin/env python3
"""Generate PyTorch golden values for nabla's distributions.

Writes crates/nabla/tests/fixtures/distributions.json, which
crates/nabla/tests/distributions_golden.rs checks nabla against.

How to run (from the repository root, with the same virtual environment as
scripts/make_fixtures.py, whose seeding and number formatting this script
imports):

    /path/to/venv/bin/python scripts/make_distribution_fixtures.py

Every case draws its float64 inputs from a torch.Generator seeded with the
CRC32 of the case name; a float32 variant (where there is one) uses the same
inputs and upstream gradient cast to float32.

Fixture format: {"torch_version", "cases": [case, ...]}, where a case is

    {"name": str, "dtype": "float32" | "float64",
     "family": "normal" | "bernoulli_probs" | "bernoulli_logits"
               | "categorical_probs" | "categorical_logits",
     "ndims": int,            # Independent(base, ndims); 0: the base itself
     "what": "log_prob" | "entropy" | "kl" | "rsample" | "mean" | "stddev" | "variance",
     "params": {name: tensor},        # loc, scale | probs | logits (p's)
     "q_params": {name: tensor},      # kl only: q's parameters, same family
     "value": tensor,                 # log_prob of a continuous family
     "classes": itensor,              # log_prob of a categorical
     "noise": tensor,                 # rsample: eps with x = loc + eps * scale
     "sample_shape": [..],            # rsample
     "output": tensor,
     "grad_output": tensor,           # upstream gradient, seeded randn
     "grads": {name: tensor}}         # d(output . grad_output)/d(input), by
                                      # input name (q's prefixed "q_"), zero
                                      # for an input the output does not use;
                                      # absent when not finite

with tensor = {"shape": [..], "values": [..]} (flat, row-major) and itensor
the same with integer values. An infinite value (a divergence where q gives
0 to what p does not) is written as the string "inf" (JSON has no infinity).
"""

import os
import sys

import torch
from torch.distributions import Bernoulli, Categorical, Independent, Normal, kl_divergence

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import Gen, dump, index_json, tensor_json  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "crates", "nabla", "tests", "fixtures", "distributions.json")

F64, F32 = torch.float64, torch.float32
DTYPE_NAMES = {F64: "float64", F32: "float32"}

CASES = []


def values_json(t):
    """tensor_json, with infinite values as the string "inf"."""
    out = tensor_json(t)
    if not torch.isfinite(t).all():
        assert not torch.isnan(t).any() and not (t == float("-inf")).any()
        out["values"] = ["inf" if v == float("inf") else v for v in t.detach().reshape(-1).tolist()]
    return out


def build(family, params, ndims):
    if family == "normal":
        d = Normal(params["loc"], params["scale"], validate_args=False)
    elif family == "bernoulli_probs":
        d = Bernoulli(probs=params["probs"], validate_args=False)
    elif family == "bernoulli_logits":
        d = Bernoulli(logits=params["logits"], validate_args=False)
    elif family == "categorical_probs":
        d = Categorical(probs=params["probs"], validate_args=False)
    elif family == "categorical_logits":
        d = Categorical(logits=params["logits"], validate_args=False)
    else:
        raise ValueError(family)
    return Independent(d, ndims, validate_args=False) if ndims else d


def case(name, family, what, params, ndims=0, q_params=None, value=None, classes=None,
         sample_shape=None, dtypes=(F64,)):
    """Records `what` of the distribution `family(params)` in each dtype."""
    gout64 = None
    for dtype in dtypes:
        ps = {k: v.to(dtype).requires_grad_(True) for k, v in params.items()}
        qs = {k: v.to(dtype).requires_grad_(True) for k, v in (q_params or {}).items()}
        x = None if value is None else value.to(dtype).requires_grad_(True)
        d = build(family, ps, ndims)
        noise = None
        if what == "log_prob":
            out = d.log_prob(x if classes is None else classes)
        elif what == "entropy":
            out = d.entropy()
        elif what == "kl":
            out = kl_divergence(d, build(family, qs, ndims))
        elif what == "rsample":
            torch.manual_seed(0)
            out = d.rsample(torch.Size(sample_shape))
            base = d.base_dist if ndims else d
            noise = ((out - base.loc) / base.scale).detach()
        elif what in ("mean", "stddev", "variance"):
            out = getattr(d, what)
        else:
            raise ValueError(what)
        if gout64 is None:
            gout64 = Gen(name + "/grad_output").randn(*out.shape)
        gout = gout64.to(dtype)
        inputs = dict(ps)
        inputs.update({"q_" + k: v for k, v in qs.items()})
        if x is not None:
            inputs["value"] = x
        grads = torch.autograd.grad(out, list(inputs.values()), gout, allow_unused=True)
        entry = {"name": name, "dtype": DTYPE_NAMES[dtype], "family": family, "ndims": ndims, "what": what}
        entry["params"] = {k: tensor_json(v) for k, v in ps.items()}
        if qs:
            entry["q_params"] = {k: tensor_json(v) for k, v in qs.items()}
        if x is not None:
            entry["value"] = tensor_json(x)
        if classes is not None:
            entry["classes"] = index_json(classes)
        if noise is not None:
            entry["noise"] = tensor_json(noise)
            entry["sample_shape"] = list(sample_shape)
        entry["output"] = values_json(out)
        entry["grad_output"] = tensor_json(gout)
        entry["grads"] = {}
        for (k, v), g in zip(inputs.items(), grads):
            g = torch.zeros_like(v) if g is None else g
            if torch.isfinite(g).all():
                entry["grads"][k] = tensor_json(g)
        CASES.append(entry)


def normal_cases():
    for what in ("log_prob", "entropy", "mean", "stddev", "variance"):
        name = f"normal {what} loc [3,4] scale [4]"
        g = Gen(name)
        params = {"loc": g.randn(3, 4), "scale": g.uniform(0.3, 2.0, 4)}
        value = g.randn(2, 3, 4, scale=2.0) if what == "log_prob" else None
        case(name, "normal", what, params, value=value, dtypes=(F64, F32))
    name = "normal log_prob scalar parameters value [5]"
    g = Gen(name)
    case(name, "normal", "log_prob", {"loc": g.randn(), "scale": g.uniform(0.5, 1.5)}, value=g.randn(5))
    name = "normal rsample loc [3,2] scale [3,2] sample [4]"
    g = Gen(name)
    case(name, "normal", "rsample", {"loc": g.randn(3, 2), "scale": g.uniform(0.3, 2.0, 3, 2)},
         sample_shape=(4,), dtypes=(F64, F32))
    for sp, sq in [((2, 3), (2, 3)), ((2, 3), (3,))]:
        name = f"normal kl p [{','.join(map(str, sp))}] q [{','.join(map(str, sq))}]"
        g = Gen(name)
        case(name, "normal", "kl", {"loc": g.randn(*sp), "scale": g.uniform(0.3, 2.0, *sp)},
             q_params={"loc": g.randn(*sq), "scale": g.uniform(0.3, 2.0, *sq)}, dtypes=(F64, F32))


def bernoulli_cases():
    for family, make in [("bernoulli_probs", lambda g: {"probs": g.uniform(0.02, 0.98, 3, 4)}),
                         ("bernoulli_logits", lambda g: {"logits": g.randn(3, 4, scale=3.0)})]:
        for kind in ("binary", "grey"):
            name = f"{family} log_prob [3,4] {kind} values"
            g = Gen(name)
            params = make(g)
            value = g.randint(2, 3, 4).to(F64) if kind == "binary" else g.uniform(0.0, 1.0, 3, 4)
            case(name, family, "log_prob", params, value=value, dtypes=(F64, F32))
        for what in ("entropy", "mean", "variance"):
            name = f"{family} {what} [3,4]"
            case(name, family, what, make(Gen(name)), dtypes=(F64, F32))
        name = f"{family} kl [3,4]"
        g = Gen(name)
        case(name, family, "kl", make(g), q_params=make(g), dtypes=(F64, F32))
    # Probabilities at 0 and 1: a term of weight 0 counts 0; q of 0 (or 1)
    # where p is not gives infinity.
    p = torch.tensor([0.0, 1.0, 0.3, 0.5, 0.0, 1.0], dtype=F64)
    q = torch.tensor([0.2, 0.7, 0.0, 1.0, 0.0, 1.0], dtype=F64)
    case("bernoulli_probs kl [6] probabilities 0 and 1", "bernoulli_probs", "kl", {"probs": p},
         q_params={"probs": q})
    case("bernoulli_probs log_prob [6] probabilities 0 and 1", "bernoulli_probs", "log_prob", {"probs": p},
         value=torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0, 0.0], dtype=F64))
    name = "bernoulli_logits kl [2,3] large logits"
    case(name, "bernoulli_logits", "kl",
         {"logits": torch.tensor([[25.0, -25.0, 30.0], [0.5, 40.0, -3.0]], dtype=F64)},
         q_params={"logits": torch.tensor([[21.0, -30.0, -2.0], [22.0, 0.0, 35.0]], dtype=F64)})


def categorical_cases():
    for family, make in [("categorical_probs", lambda g, *s: {"probs": g.uniform(0.05, 1.0, *s)}),
                         ("categorical_logits", lambda g, *s: {"logits": g.randn(*s, scale=2.0)})]:
        name = f"{family} log_prob [2,3,5] classes [4,2,3]"
        g = Gen(name)
        case(name, family, "log_prob", make(g, 2, 3, 5), classes=g.randint(5, 4, 2, 3), dtypes=(F64, F32))
        name = f"{family} log_prob [5] classes [6]"
        g = Gen(name)
        case(name, family, "log_prob", make(g, 5), classes=g.randint(5, 6))
        name = f"{family} entropy [2,3,5]"
        case(name, family, "entropy", make(Gen(name), 2, 3, 5), dtypes=(F64, F32))
        name = f"{family} kl [3,4]"
        g = Gen(name)
        case(name, family, "kl", make(g, 3, 4), q_params=make(g, 3, 4), dtypes=(F64, F32))
    p = torch.tensor([[0.0, 0.5, 0.5], [0.2, 0.3, 0.5]], dtype=F64)
    q = torch.tensor([[0.3, 0.3, 0.4], [0.5, 0.5, 0.0]], dtype=F64)
    case("categorical_probs entropy [2,3] a zero probability", "categorical_probs", "entropy", {"probs": p})
    case("categorical_probs kl [2,3] zero probabilities", "categorical_probs", "kl", {"probs": p},
         q_params={"probs": q})


def independent_cases():
    for ndims in (1, 2):
        for what in ("log_prob", "entropy", "kl"):
            name = f"independent normal {ndims} {what} [2,3,4]"
            g = Gen(name)
            params = {"loc": g.randn(2, 3, 4), "scale": g.uniform(0.3, 2.0, 2, 3, 4)}
            q = {"loc": g.randn(2, 3, 4), "scale": g.uniform(0.3, 2.0, 2, 3, 4)} if what == "kl" else None
            value = g.randn(5, 2, 3, 4) if what == "log_prob" else None
            case(name, "normal", what, params, ndims=ndims, q_params=q, value=value, dtypes=(F64, F32))
    name = "independent normal 1 rsample [3,2] sample [4]"
    g = Gen(name)
    case(name, "normal", "rsample", {"loc": g.randn(3, 2), "scale": g.uniform(0.3, 2.0, 3, 2)}, ndims=1,
         sample_shape=(4,))
    for what in ("log_prob", "entropy", "kl"):
        name = f"independent bernoulli_logits 1 {what} [3,4]"
        g = Gen(name)
        q = {"logits": g.randn(3, 4, scale=2.0)} if what == "kl" else None
        value = g.uniform(0.0, 1.0, 3, 4) if what == "log_prob" else None
        case(name, "bernoulli_logits", what, {"logits": g.randn(3, 4, scale=2.0)}, ndims=1, q_params=q,
             value=value)


def main():
    normal_cases()
    bernoulli_cases()
    categorical_cases()
    independent_cases()
    names = [(c["name"], c["dtype"]) for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    with open(OUT, "w") as f:
        f.write(dump({"torch_version": torch.__version__, "cases": CASES}))
        f.write("\n")
    print(f"wrote {len(CASES)} cases to {OUT}")


if __name__ == "__main__":
    main()
