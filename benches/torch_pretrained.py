"""The transfer-learning benchmarks in PyTorch, mirroring
crates/nabla/src/bench/pretrained.rs: EfficientNet-Lite0 (the
efficientnet-lite-pytorch package's model, random weights, 1,000 classes)
on standard-normal 224x224 images:

- efficientnet_b1_latency_ms: eval mode, torch.no_grad, one image;
- efficientnet_b32_inference_ms: the same on a batch of 32;
- efficientnet_finetune_b32_step_s: train mode (batch statistics, dropout
  and drop connect at the package's defaults), cross-entropy against
  labels i % 1000, backward through every layer, an Adam (1e-4) step.

Same methodology and repetition counts as `nabla bench --repetitions R`
(2 warm-up calls and 4R timed ones at batch 1, 2 and R at batch 32, 1 and
ceil(R / 2) for the step; the median).

Standalone, it runs both sides on 1 and N threads, one after the other,
for `--rounds` rounds and prints the medians as a Markdown table:
    ../venv/bin/python benches/torch_pretrained.py --nabla target/release/nabla \
        --threads 2 --repetitions 7 --rounds 3
(needs `pip install efficientnet-lite-pytorch==0.1.0`).
"""

import argparse
import json
import statistics
import subprocess
import time

import torch
import torch.nn.functional as F

KEYS = ("efficientnet_b1_latency_ms", "efficientnet_b32_inference_ms", "efficientnet_finetune_b32_step_s")


def median_seconds(warmup, repetitions, f):
    """As nabla::bench::median_seconds: the element at index len/2 of the
    sorted timings, after `warmup` untimed calls."""
    for _ in range(warmup):
        f()
    times = []
    for _ in range(max(repetitions, 1)):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def model_and_batch(batch):
    from efficientnet_lite_pytorch import EfficientNet

    torch.manual_seed(21)
    model = EfficientNet.from_name("efficientnet-lite0")
    x = torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(22))
    return model, x


def inference_milliseconds(batch, repetitions):
    model, x = model_and_batch(batch)
    model.eval()

    def forward():
        with torch.no_grad():
            model(x)

    return median_seconds(2, repetitions, forward) * 1e3


def finetune_step_seconds(batch, repetitions):
    model, x = model_and_batch(batch)
    model.train()
    labels = torch.arange(batch) % 1000
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        optimizer.zero_grad()
        F.cross_entropy(model(x), labels).backward()
        optimizer.step()

    return median_seconds(1, repetitions, step)


def bench_rows(r):
    """The three rows with `nabla bench --repetitions r`'s counts, on the
    threads torch is set to."""
    return {
        "efficientnet_b1_latency_ms": inference_milliseconds(1, r * 4),
        "efficientnet_b32_inference_ms": inference_milliseconds(32, r),
        "efficientnet_finetune_b32_step_s": finetune_step_seconds(32, -(-r // 2)),
    }


def nabla_rows(binary, threads, r):
    out = subprocess.run(
        [binary, "bench", "--only", "efficientnet", "--json", "--threads", str(threads), "--repetitions", str(r)],
        check=True, capture_output=True, text=True,
    ).stdout
    results = json.loads(out)
    results = results.get("results", results)
    return {k: results[k] for k in KEYS}


def fmt(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nabla", required=True, help="a built nabla binary")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repetitions", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    runs = {}
    for rnd in range(args.rounds):
        for threads in sorted({1, args.threads}):
            torch.set_num_threads(threads)
            print(f"round {rnd + 1}: {threads} threads", flush=True)
            runs.setdefault(("torch", threads), []).append(bench_rows(args.repetitions))
            runs.setdefault(("nabla", threads), []).append(nabla_rows(args.nabla, threads, args.repetitions))
    print(f"\nEfficientNet-Lite0, torch {torch.__version__}, --repetitions {args.repetitions}, "
          f"medians of {args.rounds} rounds\n")
    print("| benchmark | threads | nabla | PyTorch | ratio nabla/PyTorch | target |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for threads in sorted({1, args.threads}):
        for key in KEYS:
            n = statistics.median(r[key] for r in runs[("nabla", threads)])
            t = statistics.median(r[key] for r in runs[("torch", threads)])
            print(f"| {key} | {threads} | {fmt(n)} | {fmt(t)} | {t / n:.2f}x | ≥ 2.0x PyTorch |")


if __name__ == "__main__":
    main()
