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
4. Peak RSS of 200 LeNet-5 training steps at batch 64: PyTorch in a fresh
   subprocess (resource.getrusage), nabla through `/usr/bin/time -v` on
   `nabla train` limited to 12,800 examples (200 steps).

Then prints a Markdown table: benchmark | nabla | PyTorch | NumPy | speed
ratio nabla vs PyTorch (>1 means nabla is faster) | target | met.

Usage:
    /work/venv/bin/python benches/compare_pytorch.py --threads 2 --repetitions 7
"""

import argparse
import json
import os
import platform
import re
import shutil
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
    return out


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

def nabla_bench(nabla, threads, repetitions):
    bench_args = ["bench", "--json", "--threads", str(threads), "--repetitions", str(repetitions)]
    if nabla:
        cmd = [nabla] + bench_args
    else:
        cmd = ["cargo", "run", "--release", "-q", "-p", "nabla-cli", "--"] + bench_args
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


def small_mnist_copy(train, test):
    """A folder with the first `train` training and `test` test examples of
    the bundled MNIST, as uncompressed IDX files (`--data-dir` loads them
    without the checksum of the official files)."""
    import gzip
    src = REPO / "data" / "mnist"
    dst = Path(tempfile.mkdtemp(prefix="nabla-mnist-small-"))
    for prefix, n in (("train", train), ("t10k", test)):
        images = gzip.open(src / f"{prefix}-images-idx3-ubyte.gz").read()
        labels = gzip.open(src / f"{prefix}-labels-idx1-ubyte.gz").read()
        (dst / f"{prefix}-images-idx3-ubyte").write_bytes(
            images[:4] + n.to_bytes(4, "big") + images[8:16] + images[16:16 + n * 784])
        (dst / f"{prefix}-labels-idx1-ubyte").write_bytes(labels[:4] + n.to_bytes(4, "big") + labels[8:8 + n])
    return dst


def nabla_rss(nabla, threads, data_dir=None):
    """Peak RSS (KiB) of `nabla train` for 200 LeNet-5 steps at batch 64."""
    time_bin = "/usr/bin/time"
    if not os.path.exists(time_bin):
        return None, "GNU time (/usr/bin/time) not installed: `apt-get install -y time`"
    out_dir = tempfile.mkdtemp(prefix="nabla-rss-")
    cmd = [time_bin, "-v", nabla, "train", "--model", "lenet5", "--epochs", "1",
           "--limit", "12800", "--batch-size", "64", "--workers", "1",
           "--optimizer", "sgd", "--lr", "0.01", "--momentum", "0.9",
           "--threads", str(threads), "--out", out_dir]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    log("nabla: peak RSS: " + " ".join(cmd))
    try:
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    if proc.returncode != 0 or not m:
        return None, "failed: " + proc.stderr[-500:]
    shown = " ".join(cmd).replace(out_dir, "/tmp/nabla-rss-XXXX")
    if data_dir is not None:
        shown = shown.replace(str(data_dir), "/tmp/nabla-mnist-small-XXXX")
    return int(m.group(1)), shown


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
]


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


def table(nabla, torch_res, numpy_res, rss):
    lines = [
        "| benchmark | nabla | PyTorch | NumPy | ratio nabla/PyTorch | target | met? |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for key, label, higher, target, target_text, vs in ROWS:
        n, t, p = nabla.get(key), torch_res.get(key), numpy_res.get(key)
        r_torch = speed_ratio(n, t, higher)
        r_target = speed_ratio(n, p if vs == "numpy" else t, higher)
        met = "–" if r_target is None else ("yes" if r_target >= target else "no")
        if vs == "numpy" and r_target is not None:
            target_text += f" (now {r_target:.2f}x)"
        ratio = "–" if r_torch is None else f"{r_torch:.2f}x"
        lines.append(f"| {label} | {fmt(n)} | {fmt(t)} | {fmt(p)} | {ratio} | {target_text} | {met} |")
    n_kib, t_kib = rss.get("nabla_kib"), rss.get("torch_kib")
    n_mib = None if n_kib is None else n_kib / 1024
    t_mib = None if t_kib is None else t_kib / 1024
    ratio = "–" if not (n_mib and t_mib) else f"{t_mib / n_mib:.2f}x"
    met = "–" if n_mib is None else ("yes" if n_mib <= 32 else "no")
    lines.append(f"| peak RSS, 200 LeNet-5 steps bs64 (MiB) | {fmt(n_mib)} | {fmt(t_mib)} | – | {ratio} | ≤ 32 MiB | {met} |")
    full = rss.get("nabla_full_kib")
    if full is not None:
        met = "yes" if full / 1024 <= 32 else "no"
        lines.append(f"| peak RSS, same with all of MNIST loaded (MiB) | {fmt(full / 1024)} | – | – | – | ≤ 32 MiB | {met} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="threads for nabla, PyTorch and NumPy (default 2)")
    ap.add_argument("--repetitions", type=int, default=7, help="as `nabla bench --repetitions` (default 7)")
    ap.add_argument("--nabla", help="a built nabla binary (default: cargo run --release -q -p nabla-cli)")
    ap.add_argument("--json-out", help="also write every raw number to this JSON file")
    args = ap.parse_args()
    threads, reps = args.threads, max(args.repetitions, 1)

    import torch
    torch.set_num_threads(threads)

    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    load_start = os.getloadavg()
    torch_res = torch_benchmarks(torch, reps)
    numpy_data = numpy_sgemm(threads, reps)
    nabla_res, nabla_cmd = nabla_bench(args.nabla, threads, reps)
    nabla_bin = args.nabla or str(REPO / "target" / "release" / "nabla")
    t_rss = torch_rss(threads)
    n_rss_kib, n_rss_cmd = nabla_rss(nabla_bin, threads)
    small = small_mnist_copy(12800, 1000)
    try:
        n_rss_small_kib, n_rss_small_cmd = nabla_rss(nabla_bin, threads, small)
    finally:
        shutil.rmtree(small, ignore_errors=True)

    load_end = os.getloadavg()
    rss = {"torch_kib": t_rss["peak_kib"],
           "nabla_kib": n_rss_small_kib, "nabla_full_kib": n_rss_kib}
    print(f"# nabla vs PyTorch, {threads} threads, --repetitions {reps} (medians)\n")
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
    print(table(nabla_res, torch_res, numpy_data["results"], rss))
    print()
    print("Peak RSS, exactly what was measured:")
    print(f"- PyTorch: ru_maxrss of a fresh `{Path(sys.executable).name}` subprocess that imports torch "
          f"(peak {t_rss['after_import_kib'] / 1024:.1f} MiB just after `import torch`, current RSS "
          f"{t_rss['rss_after_import_kib'] / 1024:.1f} MiB then and {t_rss['rss_after_steps_kib'] / 1024:.1f} MiB after the steps; "
          f"torch {torch.__version__} is the wheel installed here) and runs 200 LeNet-5 SGD steps "
          f"(momentum 0.9) at batch 64 on random inputs: {t_rss['peak_kib'] / 1024:.1f} MiB.")
    if n_rss_kib is None:
        print(f"- nabla: not measured: {n_rss_cmd}")
    else:
        print(f"- nabla: `Maximum resident set size` of `{n_rss_cmd}`: {n_rss_kib / 1024:.1f} MiB. "
              "This is a whole `nabla train` run: it loads the bundled MNIST train and test sets, trains 200 steps "
              "at batch 64 (12,800 examples) on one data-loading worker, evaluates the 10,000 test images at batch 256, "
              "and writes a checkpoint, the model and a PNG of the curves; so it bounds the 200 steps from above "
              "(the MNIST images alone stay in memory as bytes: 47.0 MB train + 7.8 MB test).")
    if n_rss_small_kib is None:
        print(f"- nabla on a small MNIST copy: not measured: {n_rss_small_cmd}")
    else:
        print(f"- nabla, the same run on a copy of MNIST cut to the 12,800 training and 1,000 test images it uses "
              f"(uncompressed IDX, 10.0 MB + 0.8 MB of pixels): `{n_rss_small_cmd}`: {n_rss_small_kib / 1024:.1f} MiB. "
              "The table's nabla RSS is this run (the 200 steps with only the data they use).")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({
            "date": started, "threads": threads, "repetitions": reps,
            "load_start": load_start, "load_end": load_end,
            "nabla": nabla_res, "torch": torch_res, "numpy": numpy_data,
            "rss": {"torch": t_rss, "nabla_kib": n_rss_kib, "nabla_cmd": n_rss_cmd,
                    "nabla_small_mnist_kib": n_rss_small_kib, "nabla_small_mnist_cmd": n_rss_small_cmd},
        }, indent=2))


if __name__ == "__main__":
    main()
