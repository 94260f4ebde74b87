"""Trains a character-level language model in PyTorch and in nabla with the
same configuration, data and number of steps, and compares their
validation losses.

The configurations are `nabla train --model char-lstm|char-gpt`'s defaults:

- char-lstm (char-rnn's model: embedding 128 -> 2-layer LSTM 128 ->
  linear): batch 50 x 50, AdamW (betas 0.9, 0.99, no weight decay) at 2e-3
  with 100 warmup steps and cosine decay to 2e-4, clipping at 5;
- char-gpt (nanoGPT's CPU configuration, benches/torch_lm.py's GPT): batch
  12 x 64, AdamW (betas 0.9, 0.99, weight decay 0.1 on matrices) at 3e-3
  (nanoGPT's is 1e-3: `--lr 1e-3`) with 100 warmup steps and cosine decay
  to a tenth of it, clipping at 1;

on windows of tiny-shakespeare's first 90%, for 2,000 steps. The
validation loss is the mean over 200 batches of windows from the last 10%.

    python scripts/lm_side_by_side.py --model char-lstm [--steps 2000]
        [--lr 2e-3] [--threads 2] [--nabla target/release/nabla] [--skip-nabla]

prints both validation losses and their difference (issue 13 asks for at
most 0.03 for the LSTM). The nabla side runs the binary (build it first
with `cargo build --release`); its run goes to a temporary folder.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benches"))
from torch_lm import GPT, CharLSTM, nanogpt_adamw, nanogpt_config  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WARMUP, EVAL_BATCHES = 100, 200
# batch, block, learning rate, weight decay, clipping
SETTINGS = {"char-lstm": (50, 50, 2e-3, 0.0, 5.0), "char-gpt": (12, 64, 3e-3, 0.1, 1.0)}


def warmup_cosine(step, steps, lr):
    """nanoGPT's get_lr, as nabla's WarmupCosine (the floor is lr / 10)."""
    min_lr = lr / 10
    if step < WARMUP:
        return lr * (step + 1) / (WARMUP + 1)
    if step > steps:
        return min_lr
    ratio = (step - WARMUP) / (steps - WARMUP)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


def windows(data, generator, count, block):
    starts = torch.randint(len(data) - block, (count,), generator=generator)
    x = torch.stack([data[s : s + block] for s in starts])
    y = torch.stack([data[s + 1 : s + 1 + block] for s in starts])
    return x, y


def train_pytorch(model_name, steps, lr, seed):
    batch, block, _, weight_decay, clip = SETTINGS[model_name]
    text = (ROOT / "data/tinyshakespeare/input.txt").read_text(encoding="utf-8")
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    data = torch.tensor([index[c] for c in text], dtype=torch.long)
    cut = int(0.9 * len(data))
    train, val = data[:cut], data[cut:]
    torch.manual_seed(seed)
    if model_name == "char-gpt":
        model = GPT(nanogpt_config(len(vocab)))
    else:
        model = CharLSTM(len(vocab))
    optimizer = nanogpt_adamw(model, lr=lr, betas=(0.9, 0.99), weight_decay=weight_decay)
    sampler = torch.Generator().manual_seed(seed)
    started = time.perf_counter()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = warmup_cosine(step, steps, lr)
        x, y = windows(train, sampler, batch, block)
        loss = F.cross_entropy(model(x).view(-1, len(vocab)), y.view(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
    seconds = time.perf_counter() - started
    model.eval()
    evaluator = torch.Generator().manual_seed(seed + 1)
    losses = []
    with torch.no_grad():
        for _ in range(EVAL_BATCHES):
            x, y = windows(val, evaluator, batch, block)
            losses.append(F.cross_entropy(model(x).view(-1, len(vocab)), y.view(-1)).item())
    return sum(losses) / len(losses), seconds


def train_nabla(binary, model_name, steps, lr, threads, seed):
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run"
        command = [
            binary, "train", "--model", model_name, "--max-steps", str(steps), "--lr", str(lr),
            "--eval-every", str(steps), "--seed", str(seed), "--threads", str(threads),
            "--out", str(out),
        ]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        last = [r for r in records if r.get("val_loss") is not None][-1]
        return last["val_loss"], seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(SETTINGS), default="char-lstm")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--lr", type=float, help="the peak learning rate (default: the model's)")
    parser.add_argument("--skip-nabla", action="store_true", help="train only the PyTorch side")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nabla", default=str(ROOT / "target/release/nabla"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("RAYON_NUM_THREADS", str(args.threads))
    lr = args.lr if args.lr is not None else SETTINGS[args.model][2]
    torch_val, torch_seconds = train_pytorch(args.model, args.steps, lr, args.seed)
    print(f"pytorch {args.model}: validation loss {torch_val:.4f} ({torch_seconds:.0f} s of training)", flush=True)
    if args.skip_nabla:
        return
    nabla_val, nabla_seconds = train_nabla(args.nabla, args.model, args.steps, lr, args.threads, args.seed)
    print(f"nabla {args.model}: validation loss {nabla_val:.4f} ({nabla_seconds:.0f} s with evaluation)")
    print(f"difference (nabla - pytorch): {nabla_val - torch_val:+.4f}")


if __name__ == "__main__":
    main()
