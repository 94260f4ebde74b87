"""The matrix products of one char-GPT training step, timed alone in PyTorch.

The same products, shapes and timing as
crates/nabla/examples/gpt_step_products.rs (nanoGPT's CPU configuration:
batch 12 x 64, 128 features, 4 heads, 4 layers, 65 characters): forward and
both backward products of each linear layer and of attention, and their sum
per step.

Run with `python benches/torch_gpt_products.py [threads]` (default 2).
"""

import sys
import time

import torch


def seconds_per_call(f):
    """The median of 7 rounds of 50 calls, in seconds per call."""
    for _ in range(10):
        f()
    rounds = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(50):
            f()
        rounds.append((time.perf_counter() - start) / 50)
    return sorted(rounds)[3]


def main():
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    batch, t, c, heads, layers, vocab = 12, 64, 128, 4, 4, 65
    rows, d = batch * t, c // heads
    total = 0.0
    # c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj (per layer), then lm_head.
    for k, n, count in [(c, 3 * c, layers), (c, c, layers), (c, 4 * c, layers), (4 * c, c, layers), (c, vocab, 1)]:
        x, w, dy = torch.randn(rows, k), torch.randn(n, k), torch.randn(rows, n)
        forward = seconds_per_call(lambda: x @ w.t())
        input_grad = seconds_per_call(lambda: dy @ w)
        weight_grad = seconds_per_call(lambda: dy.t() @ x)
        total += count * (forward + input_grad + weight_grad)
        print(
            f"[{rows}, {k}] x [{k}, {n}]: forward {forward * 1e6:.0f} us, "
            f"input gradient {input_grad * 1e6:.0f} us, weight gradient {weight_grad * 1e6:.0f} us"
        )
    q, k, v, dout = (torch.randn(batch, heads, t, d) for _ in range(4))
    p, dscores = torch.randn(batch, heads, t, t), torch.randn(batch, heads, t, t)
    forward = seconds_per_call(lambda: q @ k.transpose(-1, -2)) + seconds_per_call(lambda: p @ v)
    backward = (
        seconds_per_call(lambda: dscores @ k)
        + seconds_per_call(lambda: dscores.transpose(-1, -2) @ q)
        + seconds_per_call(lambda: dout @ v.transpose(-1, -2))
        + seconds_per_call(lambda: p.transpose(-1, -2) @ dout)
    )
    total += layers * (forward + backward)
    print(f"attention, per layer: forward {forward * 1e6:.0f} us, backward {backward * 1e6:.0f} us")
    print(f"all products of a step: {total * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
