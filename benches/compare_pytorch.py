#!/usr/bin/env python3
"""Compare nabla's standard benchmarks with PyTorch (and NumPy for sgemm).

Runs, in one invocation and one after the other (never concurrently):

1. PyTorch versions of every benchmark of `crates/nabla/src/bench.rs`, with
   the same shapes, models, loss, optimizer and methodology: untimed
   warm-up calls, then the median of timed repetitions, with the repetition
   counts that `bench::run_all(R)` uses for `--repetitions R`.
2. NumPy sgemm (`np.matmul` of float32 n x n) in a subprocess with
   OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (they may be set on this
   machine and select a slower kernel), limited to N BLAS threads; which
   BLAS and kernel ran is recorded from threadpoolctl.
3. `nabla bench --json --threads N --repetitions R` (through
   `cargo run --release -q -p nabla-cli --`, or a given `--nabla` binary).
4. Peak RSS of 200 LeNet-5 training steps at batch 64 on random inputs:
   PyTorch in a fresh subprocess (resource.getrusage), nabla through
   `/usr/bin/time -v` on `nabla bench --only lenet_train_bs64
   --repetitions 100` (3 warm-up steps, then the 200 timed ones).
5. Peak RSS of a whole `nabla train --epochs 1` on the full bundled MNIST
   (the default LeNet-5 run, one epoch), through `/usr/bin/time -v`.
6. Thread scaling: the LeNet-5 training step at batch 256 on 1 thread,
   in nabla and in PyTorch, against the same step on N threads.
7. The EfficientNet-Lite0 rows (benches/torch_pretrained.py; needs
   efficientnet-lite-pytorch) on 1 thread as well, both sides.

Steps 1-3 and the 1-thread runs of step 6 repeat `--rounds` times, one
side after the other, and every number in the table is the median over the
rounds: on a shared machine a burst of load skews one round, not the table.

Then prints a Markdown table: benchmark | nabla | PyTorch | NumPy | speed
ratio nabla vs PyTorch (>1 means nabla is faster) | target | met.

Usage:
    ../venv/bin/python benches/compare_pytorch.py --threads 2 --repetitions 7 --rounds 3
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Methodology: the same as nabla::bench::median_seconds.
# --------------------------------------------------------------------------

def median_seconds(warmup, repetitions, f):
    """The median of `repetitions` timings of f (after `warmup` untimed calls).

    Like the Rust version: the element at index len/2 of the sorted times
    (the upper median for an even count).
    """
    for _ in range(warmup):
        f()
    times = []
    for _ in range(max(repetitions, 1)):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def ceil_div(a, b):
    return -(-a // b)


# --------------------------------------------------------------------------
# PyTorch benchmarks (run in this process after torch.set_num_threads(N)).
# --------------------------------------------------------------------------

def torch_models(torch):
    nn = torch.nn

    def mlp():
        return nn.Sequential(
            nn.Linear(784, 256), nn.ReLU(),
            nn.Linear(256, 128), nn.ReLU(),
            nn.Linear(128, 10),
        )

    def lenet5():
        # zoo::lenet5: conv1 (padding 2) relu pool, conv2 relu pool, flatten,
        # fc1 400->120 relu, fc2 120->84 relu, fc3 84->10. 61,706 parameters.
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10),
        )

    return mlp, lenet5


def torch_train_step(torch, model, input_shape):
    """bench::TrainStep: random inputs, labels i % 10, cross-entropy (mean),
    SGD lr 0.01 momentum 0.9; one call = zero_grad, forward, loss, backward, step."""
    F = torch.nn.functional
    g = torch.Generator().manual_seed(2)
    batch = input_shape[0]
    inputs = torch.randn(*input_shape, generator=g)
    targets = torch.arange(batch) % 10
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def run():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs), targets, reduction="mean")
        loss.backward()
        optimizer.step()

    return run


def torch_benchmarks(torch, repetitions):
    F = torch.nn.functional
    mlp, lenet5 = torch_models(torch)
    r = repetitions
    out = {}

    def sgemm(n, reps):
        g = torch.Generator().manual_seed(1)
        a = torch.randn(n, n, generator=g)
        b = torch.randn(n, n, generator=g)
        s = median_seconds(2, reps, lambda: torch.matmul(a, b))
        return 2.0 * n ** 3 / s / 1e9

    log("torch: sgemm")
    out["sgemm_512_gflops"] = sgemm(512, r)
    out["sgemm_1024_gflops"] = sgemm(1024, r)
    out["sgemm_2048_gflops"] = sgemm(2048, ceil_div(r, 2))

    def train(make, shape, reps):
        torch.manual_seed(0)
        step = torch_train_step(torch, make(), shape)
        return shape[0] / median_seconds(3, reps, step)

    log("torch: training steps")
    out["mlp_train_bs64_samples_per_s"] = train(mlp, (64, 784), r * 4)
    out["mlp_train_bs256_samples_per_s"] = train(mlp, (256, 784), r * 2)
    out["lenet_train_bs64_samples_per_s"] = train(lenet5, (64, 1, 28, 28), r * 2)
    out["lenet_train_bs256_samples_per_s"] = train(lenet5, (256, 1, 28, 28), r)

    log("torch: conv2d")
    g = torch.Generator().manual_seed(5)
    x = torch.randn(32, 64, 32, 32, generator=g)
    w = torch.randn(64, 64, 3, 3, generator=g)
    b = torch.randn(64, generator=g)

    def conv_fwd():
        with torch.no_grad():
            F.conv2d(x, w, b, padding=1)

    out["conv_fwd_ms"] = median_seconds(2, r, conv_fwd) * 1e3

    xg, wg, bg = (t.clone().requires_grad_(True) for t in (x, w, b))

    def conv_fwdbwd():
        F.conv2d(xg, wg, bg, padding=1).sum().backward()
        for t in (xg, wg, bg):
            t.grad = None  # ConvStep::run zeroes the gradients after each pass

    out["conv_fwdbwd_ms"] = median_seconds(2, r, conv_fwdbwd) * 1e3

    log("torch: LeNet-5 batch-1 inference")
    torch.manual_seed(6)
    model = lenet5()
    model.eval()
    img = torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(7))

    def infer():
        with torch.no_grad():
            model(img)

    out["lenet_b1_latency_us"] = median_seconds(20, r * 20, infer) * 1e6

    log("torch: language models")
    import torch_lm

    out["gpt_train_tokens_per_s"] = torch_lm.gpt_train_tokens_per_s(r)
    out["lstm_train_tokens_per_s"] = torch_lm.lstm_train_tokens_per_s(r)
    out["gpt_generate_tokens_per_s"] = torch_lm.gpt_generate_tokens_per_s(r)

    log("torch: DCGAN")
    import torch_gan

    out["dcgan_train_samples_per_s"] = torch_gan.dcgan_train_samples_per_s(r)

    log("torch: VAE")
    import torch_vae

    out["vae_train_samples_per_s"] = torch_vae.vae_train_samples_per_s(r)

    log("torch: Madry et al.'s MNIST network")
    import torch_adversarial

    out["madry_train_bs256_samples_per_s"] = torch_adversarial.madry_train_samples_per_s(r)
    out["madry_pgd_step_bs256_samples_per_s"] = torch_adversarial.madry_pgd_step_samples_per_s(r)

    log("torch: DQN update and PPO epoch")
    try:
        import torch_rl  # needs gymnasium
    except ImportError as e:
        log(f"torch: skipping the RL rows ({e}; pip install gymnasium)")
    else:
        out.update(torch_rl.bench_rows(r))

    log("torch: EfficientNet-Lite0")
    out.update(torch_efficientnet(r))
    return out


def torch_efficientnet(r):
    """The EfficientNet-Lite0 rows (empty without efficientnet-lite-pytorch)."""
    try:
        import torch_pretrained
        import efficientnet_lite_pytorch  # noqa: F401
    except ImportError as e:
        log(f"torch: skipping the EfficientNet rows ({e}; pip install efficientnet-lite-pytorch==0.1.0)")
        return {}
    return torch_pretrained.bench_rows(r)


def torch_efficientnet_one_thread(torch, repetitions):
    """The EfficientNet-Lite0 rows on 1 thread, keys suffixed `_1t`."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return {f"{k}_1t": v for k, v in torch_efficientnet(repetitions).items()}
    finally:
        torch.set_num_threads(threads)


def torch_lenet_bs256_one_thread(torch, repetitions):
    """The LeNet-5 bs256 training step of `torch_benchmarks` on 1 thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        step = torch_train_step(torch, torch_models(torch)[1](), (256, 1, 28, 28))
        return 256 / median_seconds(3, repetitions, step)
    finally:
        torch.set_num_threads(threads)


# --------------------------------------------------------------------------
# NumPy sgemm, in a subprocess with the OpenBLAS core-type overrides unset.
# --------------------------------------------------------------------------

NUMPY_CHILD = r"""
import json, sys, time
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits
threads, r = int(sys.argv[1]), int(sys.argv[2])

def median_seconds(warmup, repetitions, f):
    for _ in range(warmup):
        f()
    times = []
    for _ in range(max(repetitions, 1)):
        s = time.perf_counter(); f(); times.append(time.perf_counter() - s)
    times.sort()
    return times[len(times) // 2]

out = {}
with threadpool_limits(limits=threads, user_api="blas"):
    rng = np.random.default_rng(1)
    for n, reps in ((512, r), (1024, r), (2048, -(-r // 2))):
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        s = median_seconds(2, reps, lambda: np.matmul(a, b))
        out["sgemm_%d_gflops" % n] = 2.0 * n ** 3 / s / 1e9
    info = [
        {k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "filepath")}
        for d in threadpool_info() if d.get("user_api") == "blas"
    ]
print(json.dumps({"results": out, "numpy": np.__version__, "threadpoolctl": info}))
"""


def numpy_sgemm(threads, repetitions):
    env = dict(os.environ)
    unset = {k: env.pop(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in env}
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    log("numpy: sgemm (unset for this subprocess: %s)" % (", ".join(f"{k}={v}" for k, v in unset.items()) or "none were set"))
    proc = subprocess.run(
        [sys.executable, "-c", NUMPY_CHILD, str(threads), str(repetitions)],
        env=env, capture_output=True, text=True, check=True,
    )
    data = json.loads(proc.stdout)
    data["unset"] = unset
    return data


# --------------------------------------------------------------------------
# nabla.
# --------------------------------------------------------------------------

def nabla_command(nabla, args):
    if nabla:
        return [nabla] + args
    return ["cargo", "run", "--release", "-q", "-p", "nabla-cli", "--"] + args


def nabla_bench(nabla, threads, repetitions, only=None):
    bench_args = ["bench", "--json", "--threads", str(threads), "--repetitions", str(repetitions)]
    if only:
        bench_args += ["--only", only]
    cmd = nabla_command(nabla, bench_args)
    log("nabla: " + " ".join(cmd))
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True)
    line = [l for l in proc.stdout.splitlines() if l.strip().startswith("{")][-1]
    return json.loads(line), " ".join(cmd)


# --------------------------------------------------------------------------
# Peak RSS of 200 LeNet-5 training steps at batch 64.
# --------------------------------------------------------------------------

TORCH_RSS_CHILD = r"""
import json, resource, sys
threads, steps = int(sys.argv[1]), int(sys.argv[2])
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.set_num_threads(threads)
after_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

def vm_rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

rss_after_import = vm_rss_kib()
torch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
g = torch.Generator().manual_seed(2)
for i in range(steps):
    x = torch.randn(64, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (64,), generator=g)
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_kib": peak, "after_import_kib": after_import,
                  "rss_after_import_kib": rss_after_import, "rss_after_steps_kib": vm_rss_kib()}))
"""


def torch_rss(threads, steps=200):
    log("torch: peak RSS of %d LeNet-5 steps" % steps)
    proc = subprocess.run(
        [sys.executable, "-c", TORCH_RSS_CHILD, str(threads), str(steps)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(proc.stdout)


def peak_rss_kib(cmd):
    """`Maximum resident set size` (KiB) of `cmd` under GNU time, or None and why not."""
    time_bin = "/usr/bin/time"
    if not os.path.exists(time_bin):
        return None, "GNU time (/usr/bin/time) not installed: `apt-get install -y time`"
    log("peak RSS: " + " ".join(cmd))
    proc = subprocess.run([time_bin, "-v"] + cmd, cwd=REPO, capture_output=True, text=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    if proc.returncode != 0 or not m:
        return None, "failed: " + proc.stderr[-500:]
    return int(m.group(1)), None


def nabla_steps_rss(nabla, threads):
    """Peak RSS of 200 LeNet-5 steps at batch 64 on random inputs, as the
    PyTorch child above: `nabla bench` runs 3 warm-up steps, then
    2 x repetitions timed ones."""
    cmd = [nabla, "bench", "--threads", str(threads), "--only", "lenet_train_bs64", "--repetitions", "100"]
    kib, why = peak_rss_kib(cmd)
    return kib, why or " ".join(cmd)


def nabla_train_rss(nabla, threads):
    """Peak RSS of one epoch of the default `nabla train` on the full bundled MNIST."""
    out_dir = tempfile.mkdtemp(prefix="nabla-rss-")
    cmd = [nabla, "train", "--epochs", "1", "--threads", str(threads), "--out", out_dir]
    try:
        kib, why = peak_rss_kib(cmd)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return kib, why or " ".join(cmd).replace(out_dir, "/tmp/nabla-rss-XXXX")


# --------------------------------------------------------------------------
# The table.
# --------------------------------------------------------------------------

# key, label, unit, higher_is_better, target (speed ratio), target text, vs
ROWS = [
    ("sgemm_512_gflops", "sgemm 512 (GFLOP/s)", True, 1.0, "≥ 1.0x NumPy", "numpy"),
    ("sgemm_1024_gflops", "sgemm 1024 (GFLOP/s)", True, 1.0, "≥ 1.0x NumPy", "numpy"),
    ("sgemm_2048_gflops", "sgemm 2048 (GFLOP/s)", True, 1.0, "≥ 1.0x NumPy", "numpy"),
    ("mlp_train_bs64_samples_per_s", "MLP train bs64 (samples/s)", True, 1.5, "≥ 1.5x PyTorch", "torch"),
    ("mlp_train_bs256_samples_per_s", "MLP train bs256 (samples/s)", True, 1.5, "≥ 1.5x PyTorch", "torch"),
    ("lenet_train_bs64_samples_per_s", "LeNet-5 train bs64 (samples/s)", True, 2.0, "≥ 2.0x PyTorch", "torch"),
    ("lenet_train_bs256_samples_per_s", "LeNet-5 train bs256 (samples/s)", True, 2.0, "≥ 2.0x PyTorch", "torch"),
    ("conv_fwd_ms", "conv2d fwd (ms)", False, 1.0, "≥ 1.0x PyTorch", "torch"),
    ("conv_fwdbwd_ms", "conv2d fwd+bwd (ms)", False, 1.0, "≥ 1.0x PyTorch", "torch"),
    ("lenet_b1_latency_us", "LeNet-5 inference bs1 (µs)", False, 4.0, "≥ 4.0x PyTorch (latency ≤ 0.25x)", "torch"),
    ("gpt_train_tokens_per_s", "char-GPT train 12x64 (tokens/s)", True, 2.0, "≥ 2.0x PyTorch", "torch"),
    ("lstm_train_tokens_per_s", "char-LSTM train 50x50 (tokens/s)", True, 1.5, "≥ 1.5x PyTorch", "torch"),
    ("gpt_generate_tokens_per_s", "char-GPT generate, greedy (tokens/s)", True, 3.0, "≥ 3.0x PyTorch", "torch"),
    ("dcgan_train_samples_per_s", "DCGAN train bs64 (samples/s)", True, 1.5, "≥ 1.5x PyTorch", "torch"),
    ("vae_train_samples_per_s", "VAE train bs128 (samples/s)", True, 1.5, "≥ 1.5x PyTorch", "torch"),
    ("madry_train_bs256_samples_per_s", "madry_cnn train bs256 (samples/s)", True, None, "–", "torch"),
    ("madry_pgd_step_bs256_samples_per_s", "madry_cnn PGD step bs256 (samples/s)", True, None, "–", "torch"),
    ("dqn_update_per_s", "DQN update bs64 [256,256] (updates/s)", True, 3.0, "≥ 3.0x PyTorch (whole runs)", "torch"),
    ("ppo_epoch_per_s", "PPO epoch 8x256 [64,64] (epochs/s)", True, 3.0, "≥ 3.0x PyTorch (whole runs)", "torch"),
    ("efficientnet_b1_latency_ms", "EfficientNet-Lite0 inference bs1 (ms)", False, 2.0, "≥ 2.0x PyTorch", "torch"),
    ("efficientnet_b32_inference_ms", "EfficientNet-Lite0 inference bs32 (ms)", False, 2.0, "≥ 2.0x PyTorch", "torch"),
    ("efficientnet_finetune_b32_step_s", "EfficientNet-Lite0 fine-tuning step bs32 (s)", False, 2.0,
     "≥ 2.0x PyTorch", "torch"),
    ("efficientnet_b1_latency_ms_1t", "EfficientNet-Lite0 inference bs1, 1 thread (ms)", False, None, "–", "torch"),
    ("efficientnet_b32_inference_ms_1t", "EfficientNet-Lite0 inference bs32, 1 thread (ms)", False, None, "–",
     "torch"),
    ("efficientnet_finetune_b32_step_s_1t", "EfficientNet-Lite0 fine-tuning step bs32, 1 thread (s)", False, None,
     "–", "torch"),
]


def median_of_rounds(results):
    """Per key, the median of the rounds' values (string values such as the
    version are taken from the first round)."""
    out = {}
    for key, value in results[0].items():
        if isinstance(value, (int, float)):
            out[key] = statistics.median(r[key] for r in results)
        else:
            out[key] = value
    return out


def speed_ratio(nabla, other, higher_is_better):
    if nabla is None or other is None or nabla == 0 or other == 0:
        return None
    return nabla / other if higher_is_better else other / nabla


def fmt(v):
    if v is None:
        return "–"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.1f}"
    return f"{v:.2f}"


def table(nabla, torch_res, numpy_res, rss, scaling, threads):
    lines = [
        "| benchmark | nabla | PyTorch | NumPy | ratio nabla/PyTorch | target | met? |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for key, label, higher, target, target_text, vs in ROWS:
        n, t, p = nabla.get(key), torch_res.get(key), numpy_res.get(key)
        r_torch = speed_ratio(n, t, higher)
        r_target = speed_ratio(n, p if vs == "numpy" else t, higher)
        met = "–" if r_target is None or target is None else ("yes" if r_target >= target else "no")
        if vs == "numpy" and r_target is not None:
            target_text += f" (now {r_target:.2f}x)"
        ratio = "–" if r_torch is None else f"{r_torch:.2f}x"
        lines.append(f"| {label} | {fmt(n)} | {fmt(t)} | {fmt(p)} | {ratio} | {target_text} | {met} |")
    # An attack step against a training step of the same network: the issue's
    # "a PGD step within 1.2x of a training step", in each framework.
    step_cost = {}
    for name, res in (("nabla", nabla), ("torch", torch_res)):
        train, pgd = res.get("madry_train_bs256_samples_per_s"), res.get("madry_pgd_step_bs256_samples_per_s")
        step_cost[name] = None if not (train and pgd) else train / pgd
    met = "–" if step_cost["nabla"] is None else ("yes" if step_cost["nabla"] <= 1.2 else "no")
    lines.append(f"| madry_cnn PGD step ÷ training step (time) | {fmt(step_cost['nabla'])}x | "
                 f"{fmt(step_cost['torch'])}x | – | – | ≤ 1.2x | {met} |")
    n_kib, t_kib = rss.get("nabla_kib"), rss.get("torch_kib")
    n_mib = None if n_kib is None else n_kib / 1024
    t_mib = None if t_kib is None else t_kib / 1024
    ratio = "–" if not (n_mib and t_mib) else f"{t_mib / n_mib:.2f}x"
    met = "–" if n_mib is None else ("yes" if n_mib <= 32 else "no")
    lines.append(f"| peak RSS, 200 LeNet-5 steps bs64 (MiB) | {fmt(n_mib)} | {fmt(t_mib)} | – | {ratio} | ≤ 32 MiB | {met} |")
    train = rss.get("nabla_train_kib")
    met = "–" if train is None else ("yes" if train / 1024 <= 300 else "no")
    train_mib = None if train is None else train / 1024
    lines.append(f"| peak RSS, `nabla train` 1 epoch of full MNIST (MiB) | {fmt(train_mib)} | – | – | – | ≤ 300 MiB | {met} |")
    n1, t1 = scaling.get("nabla_1"), scaling.get("torch_1")
    nn_, tn = nabla.get("lenet_train_bs256_samples_per_s"), torch_res.get("lenet_train_bs256_samples_per_s")
    n_scale = None if not (n1 and nn_) else nn_ / n1
    t_scale = None if not (t1 and tn) else tn / t1
    met = "–" if n_scale is None else ("yes" if n_scale >= 1.7 else "no")
    lines.append(f"| LeNet-5 train bs256, {threads} threads ÷ 1 thread | {fmt(n_scale)}x | {fmt(t_scale)}x | – | – | ≥ 1.7x | {met} |")
    lines.append(f"| LeNet-5 train bs256 on 1 thread (samples/s) | {fmt(n1)} | {fmt(t1)} | – | "
                 f"{'–' if not (n1 and t1) else f'{n1 / t1:.2f}x'} | – | – |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="threads for nabla, PyTorch and NumPy (default 2)")
    ap.add_argument("--repetitions", type=int, default=7, help="as `nabla bench --repetitions` (default 7)")
    ap.add_argument("--nabla", help="a built nabla binary (default: cargo run --release -q -p nabla-cli)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="run every side this many times, alternating, and report medians (default 3)")
    ap.add_argument("--json-out", help="also write every raw number to this JSON file")
    args = ap.parse_args()
    threads, reps = args.threads, max(args.repetitions, 1)

    import torch
    torch.set_num_threads(threads)

    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    load_start = os.getloadavg()
    # Each round runs every side once, one after the other; the table shows
    # each number's median over the rounds, so a burst of load from another
    # tenant of the machine skews one round, not the result.
    rounds = {"torch": [], "numpy": [], "nabla": [], "torch_1": [], "nabla_1": [],
              "torch_eff_1": [], "nabla_eff_1": []}
    for r in range(args.rounds):
        log(f"round {r + 1} of {args.rounds}")
        rounds["torch"].append(torch_benchmarks(torch, reps))
        numpy_data = numpy_sgemm(threads, reps)
        rounds["numpy"].append(numpy_data["results"])
        nabla_round, nabla_cmd = nabla_bench(args.nabla, threads, reps)
        rounds["nabla"].append(nabla_round)
        log("torch: LeNet-5 bs256 on 1 thread")
        rounds["torch_1"].append(torch_lenet_bs256_one_thread(torch, reps))
        one, one_cmd = nabla_bench(args.nabla, 1, reps, only="lenet_train_bs256")
        rounds["nabla_1"].append(one.get("lenet_train_bs256_samples_per_s"))
        # PyTorch on 2 threads is sometimes far slower than on 1 on this
        # shared machine: the EfficientNet rows on 1 thread show both sides.
        log("torch: EfficientNet-Lite0 on 1 thread")
        rounds["torch_eff_1"].append(torch_efficientnet_one_thread(torch, reps))
        eff, _ = nabla_bench(args.nabla, 1, reps, only="efficientnet")
        rounds["nabla_eff_1"].append({f"{k}_1t": v for k, v in eff.items() if k.startswith("efficientnet")})
    torch_res = median_of_rounds(rounds["torch"])
    numpy_data["results"] = median_of_rounds(rounds["numpy"])
    nabla_res = median_of_rounds(rounds["nabla"])
    if rounds["torch_eff_1"][0]:
        torch_res.update(median_of_rounds(rounds["torch_eff_1"]))
    nabla_res.update(median_of_rounds(rounds["nabla_eff_1"]))
    scaling = {"torch_1": statistics.median(rounds["torch_1"]), "nabla_1": statistics.median(rounds["nabla_1"])}
    nabla_bin = args.nabla or str(REPO / "target" / "release" / "nabla")
    t_rss = torch_rss(threads)
    n_steps_kib, n_steps_cmd = nabla_steps_rss(nabla_bin, threads)
    n_train_kib, n_train_cmd = nabla_train_rss(nabla_bin, threads)

    load_end = os.getloadavg()
    rss = {"torch_kib": t_rss["peak_kib"], "nabla_kib": n_steps_kib, "nabla_train_kib": n_train_kib}
    print(f"# nabla vs PyTorch, {threads} threads, --repetitions {reps}, {args.rounds} rounds (medians)\n")
    print(f"- date: {started}; host: {platform.node()}; python {platform.python_version()}")
    print(f"- nabla {nabla_res.get('version')} on {nabla_res.get('threads')} threads: `{nabla_cmd}`")
    print(f"- torch {torch.__version__}, torch.get_num_threads() = {torch.get_num_threads()}, "
          f"MKL: {torch.backends.mkl.is_available()}, mkldnn: {torch.backends.mkldnn.is_available()}")
    unset = numpy_data["unset"]
    print(f"- numpy {numpy_data['numpy']}; unset for the NumPy subprocess: "
          f"{', '.join(f'{k}={v}' for k, v in unset.items()) or 'none (neither OPENBLAS_CORETYPE nor OPENBLAS_L2_SIZE was set)'}; "
          f"threadpoolctl: {json.dumps(numpy_data['threadpoolctl'])}")
    print(f"- load average (1, 5, 15 min) at start {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}, "
          f"at end {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}; everything ran one after the other")
    print(f"- ratio: speed ratio, >1 means nabla is faster (samples/s and GFLOP/s: nabla ÷ other; ms and µs: other ÷ nabla)")
    print()
    print(table(nabla_res, torch_res, numpy_data["results"], rss, scaling, threads))
    print()
    print("Peak RSS, exactly what was measured:")
    print(f"- PyTorch: ru_maxrss of a fresh `{Path(sys.executable).name}` subprocess that imports torch "
          f"(peak {t_rss['after_import_kib'] / 1024:.1f} MiB just after `import torch`, current RSS "
          f"{t_rss['rss_after_import_kib'] / 1024:.1f} MiB then and {t_rss['rss_after_steps_kib'] / 1024:.1f} MiB after the steps; "
          f"torch {torch.__version__} is the wheel installed here) and runs 200 LeNet-5 SGD steps "
          f"(momentum 0.9) at batch 64 on random inputs: {t_rss['peak_kib'] / 1024:.1f} MiB.")
    if n_steps_kib is None:
        print(f"- nabla, 200 steps: not measured: {n_steps_cmd}")
    else:
        print(f"- nabla, 200 steps: `Maximum resident set size` of `/usr/bin/time -v {n_steps_cmd}`: "
              f"{n_steps_kib / 1024:.1f} MiB (3 warm-up steps and 200 timed LeNet-5 SGD steps, momentum 0.9, "
              "batch 64, random inputs: the same work as the PyTorch child).")
    if n_train_kib is None:
        print(f"- nabla train: not measured: {n_train_cmd}")
    else:
        print(f"- nabla train: `Maximum resident set size` of `/usr/bin/time -v {n_train_cmd}`: "
              f"{n_train_kib / 1024:.1f} MiB (loads the bundled MNIST, keeps its images as bytes, trains one "
              "epoch of the default LeNet-5 run, evaluates the test set, writes a checkpoint, the model and a plot).")
    print(f"- thread scaling: `{one_cmd}` against the {threads}-thread row; PyTorch with torch.set_num_threads(1).")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({
            "date": started, "threads": threads, "repetitions": reps,
            "load_start": load_start, "load_end": load_end,
            "nabla": nabla_res, "torch": torch_res, "numpy": numpy_data, "rounds": rounds,
            "rss": {"torch": t_rss, "nabla_steps_kib": n_steps_kib, "nabla_steps_cmd": n_steps_cmd,
                    "nabla_train_kib": n_train_kib, "nabla_train_cmd": n_train_cmd},
            "scaling": scaling,
        }, indent=2))


if __name__ == "__main__":
    main()
