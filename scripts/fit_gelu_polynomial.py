"""Fits the polynomial of `gelu_f32_near_zero` (crates/nabla/src/f32_math.rs).

For |x| <= 3, Phi(x) = 1/2 + x Q(x^2), with Q a polynomial of degree 14
fitted by least squares on 300 Chebyshev nodes of s = x^2 in [0, 9],
each weighted by x so that the fit minimises the error of x Q(x^2), in
40-digit arithmetic (mpmath). Prints the coefficients from s^0 up, then
the largest error of Phi evaluated as the kernel does (Horner in f64)
over 4,001 points of [-3, 3] against mpmath's Phi.

    python3 -m venv venv && venv/bin/pip install mpmath
    venv/bin/python scripts/fit_gelu_polynomial.py
"""

import mpmath as mp

mp.mp.dps = 40
BOUND = mp.mpf(3)
DEGREE = 14
NODES = 300


def q_exact(s):
    """(Phi(x) - 1/2) / x at s = x^2; its limit 1 / sqrt(2 pi) at 0."""
    if s == 0:
        return 1 / mp.sqrt(2 * mp.pi)
    x = mp.sqrt(s)
    return (mp.ncdf(x) - mp.mpf(1) / 2) / x


def fit():
    nodes = [BOUND**2 / 2 * (1 - mp.cos(mp.pi * (k + mp.mpf(1) / 2) / NODES)) for k in range(NODES)]
    a = mp.matrix(NODES, DEGREE + 1)
    b = mp.matrix(NODES, 1)
    for i, s in enumerate(nodes):
        weight = mp.sqrt(s)
        for j in range(DEGREE + 1):
            a[i, j] = weight * s**j
        b[i] = weight * q_exact(s)
    solution, _ = mp.qr_solve(a, b)
    return [float(solution[j]) for j in range(DEGREE + 1)]


def phi_in_f64(coefficients, x):
    s = x * x
    q = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        q = q * s + c
    return 0.5 + x * q


def main():
    coefficients = fit()
    for c in coefficients:
        print(repr(c))
    bound = float(BOUND)
    error = max(
        abs(phi_in_f64(coefficients, x) - float(mp.ncdf(mp.mpf(x))))
        for x in (bound * (2 * k / 4000 - 1) for k in range(4001))
    )
    print(f"largest error of Phi on [-{bound:g}, {bound:g}]: {error:.3e}")


if __name__ == "__main__":
    main()
