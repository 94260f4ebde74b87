#!/usr/bin/env python3
"""Generate the golden Fréchet distance for nabla::generative::frechet_distance.

Writes crates/nabla/tests/fixtures/frechet.json, which
crates/nabla/tests/gan_scores.rs checks nabla against.

How to run (from the repository root, in a virtual environment with numpy
and scipy):

    /path/to/venv/bin/pip install numpy scipy
    /path/to/venv/bin/python scripts/make_frechet_fixture.py

Two fixed sets of 84-dimensional feature vectors (the size of LeNet-5's
penultimate layer), 200 each, drawn with numpy's seeded generator and
rounded to float32 (nabla's features are float32): `a` is ReLU'd Gaussian
noise with unequal scales (features after a ReLU are non-negative, with
many zeros), `b` is another draw mixed by a random matrix and shifted, so
that the means and covariances differ. The distance is computed in float64
exactly as the reference FID code (pytorch-fid's
calculate_frechet_distance) does, with scipy.linalg.sqrtm:

    ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 sqrtm(S_a S_b))

with np.cov(rowvar=False) covariances. Also written: the distance of `a`
to itself (0 up to sqrtm's rounding) and the traces, for diagnosis.

Format: {"scipy_version", "numpy_version", "a": tensor, "b": tensor,
"distance": float, "self_distance": float}, tensor = {"shape", "values"}.
"""

import json
import os

import numpy as np
import scipy
from scipy import linalg

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "crates", "nabla", "tests", "fixtures", "frechet.json")
N, D = 200, 84


def frechet(a, b):
    mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1.dot(s2))
    if np.iscomplexobj(covmean):
        assert np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3), "complex square root"
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def f32_list(x):
    # float32 values written as the shortest decimal that reads back to them.
    return [float(np.format_float_positional(v, unique=True)) for v in x.astype(np.float32).reshape(-1)]


def main():
    rng = np.random.default_rng(2024)
    scales = rng.uniform(0.2, 3.0, D)
    a = np.maximum(rng.normal(0.5, 1.0, (N, D)) * scales, 0).astype(np.float32)
    mix = np.eye(D) + 0.3 * rng.normal(0, 1, (D, D)) / np.sqrt(D)
    b = (np.maximum(rng.normal(0.3, 1.2, (N, D)) * scales, 0) @ mix + 0.1).astype(np.float32)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    out = {
        "scipy_version": scipy.__version__,
        "numpy_version": np.__version__,
        "a": {"shape": [N, D], "values": f32_list(a)},
        "b": {"shape": [N, D], "values": f32_list(b)},
        "distance": frechet(a64, b64),
        "self_distance": frechet(a64, a64),
    }
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: distance {out['distance']!r}, self {out['self_distance']!r}")


if __name__ == "__main__":
    main()
