#!/usr/bin/env python3
"""The cost model of data-parallel training in docs/DISTRIBUTED.md.

Ring all-reduce of S bytes over N nodes sends 2(N-1)/N * S bytes through
each node's link and takes 2(N-1) steps, each paying a latency:

    T(N, S) = 2(N-1)/N * S / B  +  2(N-1) * alpha  +  c * S

with B the link bandwidth, alpha the latency of one step, and c * S what
nabla adds on each node (dividing the gradients while copying them into the
buckets: one pass over S), fitted here from `nabla bench --distributed`.

A step of data-parallel training computes for t_c seconds (a rank's batch,
forward and backward) and then waits for whatever part of the all-reduce
the backward pass did not hide. Without overlap (LeNet-5's 247 KB of
gradients fit one bucket, summed after the backward pass) the efficiency at
N nodes is

    E(N) = t_c / (t_c + T(N, S)),

and with a fraction f of the all-reduce hidden behind the backward pass it
is t_c / (t_c + (1 - f) T). The table below assumes no overlap, the lower
bound.

Usage (pure Python, no dependencies; the inputs are the figures measured on
this machine, see docs/DISTRIBUTED.md for the commands):

    python3 scripts/distributed_cost_model.py \\
        --copy-gb-per-s 6.0 --lenet-step-s 0.115 --gpt-step-s 0.100
"""

import argparse

LINKS_GBIT = [10, 25, 100]
NODES = [2, 4, 8, 16, 32, 64]
MODELS = {
    # name: (gradient bytes in f32, the measured step option)
    "LeNet-5, batch 256 per node": (61_706 * 4, "lenet_step_s"),
    "char-GPT (4 x 128, batch 12 x 64 per node)": (802_944 * 4, "gpt_step_s"),
}


def allreduce_seconds(nodes, size, link_gbit, latency, copy_gb_per_s):
    bandwidth = link_gbit * 1e9 / 8
    ring = 2 * (nodes - 1) / nodes * size / bandwidth + 2 * (nodes - 1) * latency
    return ring + size / (copy_gb_per_s * 1e9)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copy-gb-per-s", type=float, required=True,
                        help="nabla's own pass over the gradients (GB/s), from the 64 MiB bench rows")
    parser.add_argument("--latency-us", type=float, default=10.0,
                        help="latency of one ring step over the network, microseconds (default 10: TCP "
                             "on a data-centre Ethernet; RDMA is nearer 2)")
    parser.add_argument("--lenet-step-s", type=float, required=True,
                        help="seconds of one LeNet-5 step at batch 256 on one node")
    parser.add_argument("--gpt-step-s", type=float, required=True,
                        help="seconds of one char-GPT step at batch 12 x 64 on one node")
    args = parser.parse_args()
    steps = {"lenet_step_s": args.lenet_step_s, "gpt_step_s": args.gpt_step_s}
    latency = args.latency_us * 1e-6
    for model, (size, step_key) in MODELS.items():
        compute = steps[step_key]
        print(f"\n{model}: {size / 1e6:.2f} MB of gradients, {compute * 1e3:.1f} ms of compute per step\n")
        print("| nodes | " + " | ".join(f"{g} Gbit/s" for g in LINKS_GBIT) + " |")
        print("|---|" + "---|" * len(LINKS_GBIT))
        for nodes in NODES:
            cells = []
            for link in LINKS_GBIT:
                t = allreduce_seconds(nodes, size, link, latency, args.copy_gb_per_s)
                cells.append(f"{100 * compute / (compute + t):.1f}% ({t * 1e3:.2f} ms)")
            print(f"| {nodes} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
