#!/usr/bin/env python3
"""Generate the PyTorch checkpoint fixtures for nabla's checkpoint tests.

Writes, under crates/nabla/tests/fixtures/:

  torch_mlp.safetensors  the state_dict of
                         nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
                         (seed 0, float32), saved with
                         safetensors.torch.save_file: tensors "0.weight" [8, 4],
                         "0.bias" [8], "2.weight" [3, 8], "2.bias" [3]
  torch_mlp_io.json      {"torch_version", "input": {"shape", "values"},
                         "output": {"shape", "values"}}: a fixed input [2, 4]
                         and the model's float32 output for it, values flat
                         and row-major

crates/nabla/tests/checkpoint.rs loads the file into the same nabla model and
checks that it reproduces the output.

How to run (from the repository root, with a virtual environment outside the
repository that has torch and safetensors; see scripts/make_fixtures.py):

    /path/to/venv/bin/python scripts/make_checkpoint_fixtures.py

The output is deterministic. Values are written as the shortest decimal that
reads back as the same float32, even through a decimal -> f64 parse that is
off by an ulp or two (serde_json without float_roundtrip) followed by a cast
to f32; the script checks that.
"""

import json
import os

import numpy as np
import torch
from safetensors.torch import load_file, save_file

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "crates", "nabla", "tests", "fixtures")
MODEL = os.path.join(FIXTURES, "torch_mlp.safetensors")
IO = os.path.join(FIXTURES, "torch_mlp_io.json")


def f32_values(t):
    """Flat row-major values of a float32 tensor, as exact short decimals."""
    out = []
    for v in t.detach().reshape(-1).tolist():
        f = np.float32(v)
        text = np.format_float_positional(f, unique=True, trim="-")
        if "e" in text or len(text) > 16:
            text = np.format_float_scientific(f, unique=True, trim="-")
        d = float(text)
        for near in (d, *np.nextafter(d, [np.inf, -np.inf]), *np.nextafter(np.nextafter(d, [np.inf, -np.inf]), [np.inf, -np.inf])):
            assert np.float32(near) == f, (text, f)
        out.append(float(text))
    return out


def tensor_json(t):
    return {"shape": list(t.shape), "values": f32_values(t)}


def main():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    model.eval()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, generator=g, dtype=torch.float32)
    with torch.no_grad():
        y = model(x)

    os.makedirs(FIXTURES, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, MODEL)
    os.chmod(MODEL, 0o644)  # save_file creates it private (0600)
    # Read it back as a check of the file itself.
    loaded = load_file(MODEL)
    assert loaded.keys() == state.keys()
    for k in state:
        assert torch.equal(loaded[k], state[k]), k

    with open(IO, "w") as f:
        json.dump(
            {
                "torch_version": torch.__version__,
                "input": tensor_json(x),
                "output": tensor_json(y),
            },
            f,
            indent=1,
        )
        f.write("\n")
    print(f"wrote {MODEL} ({', '.join(f'{k} {list(v.shape)}' for k, v in state.items())})")
    print(f"wrote {IO}")


if __name__ == "__main__":
    main()
