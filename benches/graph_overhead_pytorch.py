"""PyTorch's side of crates/nabla/benches/graph_overhead.rs: the backward
pass through a chain of 1,000 one-element adds, and the backward of 32
time-step slices x[:, t] of a [32, 32, 128] tensor, each times a [32, 128]
weight and summed. Only backward is timed; the forward is rebuilt untimed
before each run. Prints the median over rounds of the per-run time.

    /work/venv/bin/python benches/graph_overhead_pytorch.py [--rounds 5]
"""

import argparse
import statistics
import time

import torch

CHAIN = 1000


def chain_of_adds():
    x = torch.ones(1, requires_grad=True)
    one = torch.ones(1)
    y = x
    for _ in range(CHAIN):
        y = y + one
    return y


def time_step_slices(x, w):
    x.grad = None
    w.grad = None
    total = (x.select(1, 0) * w).sum()
    for t in range(1, 32):
        total = total + (x.select(1, t) * w).sum()
    return total


def time_backward(build, runs):
    """Median over `runs` of one backward's time, in seconds."""
    times = []
    for _ in range(runs):
        out = build()
        start = time.perf_counter()
        out.backward()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    torch.manual_seed(0)
    x = torch.randn(32, 32, 128, requires_grad=True)
    w = torch.randn(32, 128, requires_grad=True)
    chain, slices = [], []
    for _ in range(args.rounds):
        chain.append(time_backward(chain_of_adds, args.runs))
        slices.append(time_backward(lambda: time_step_slices(x, w), args.runs))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"chain_of_adds/{CHAIN}: {statistics.median(chain) * 1e6:.1f} us "
          f"({statistics.median(chain) / CHAIN * 1e9:.0f} ns per op)")
    print(f"time_step_slices/32x32x128: {statistics.median(slices) * 1e6:.1f} us")


if __name__ == "__main__":
    main()
