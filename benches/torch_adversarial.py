"""The robustness benchmarks in PyTorch, mirroring
crates/nabla/src/bench/adversarial.rs: Madry et al.'s MNIST network
(conv 5x5x32, pool, conv 5x5x64, pool, fc 1024, fc 10) on a batch of 256
uniform pixels with labels i % 10; a training step (cross-entropy, backward,
Adam 1e-4), and a PGD step (L-infinity, eps 0.3, step 0.01: the input's
gradient by torch.autograd.grad with the weights frozen, the signed step,
the projection and the clamp to [0, 1]) in eval mode.
"""

import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_gan import median_seconds


def madry_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 1024), nn.ReLU(), nn.Linear(1024, 10),
    )


def batch(size):
    g = torch.Generator().manual_seed(12)
    return torch.rand(size, 1, 28, 28, generator=g), torch.arange(size) % 10


def madry_train_samples_per_s(repetitions, size=256):
    torch.manual_seed(11)
    model = madry_cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    x, y = batch(size)

    def step():
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    return size / median_seconds(2, repetitions, step)


def madry_pgd_step_samples_per_s(repetitions, size=256, eps=0.3, alpha=0.01):
    torch.manual_seed(11)
    model = madry_cnn().eval()
    model.requires_grad_(False)
    x, y = batch(size)

    def step():
        x_adv = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(F.cross_entropy(model(x_adv), y, reduction="sum"), x_adv)
        with torch.no_grad():
            x_adv = x_adv + alpha * g.sign()
            x_adv = torch.min(torch.max(x_adv, x - eps), x + eps).clamp(0, 1)
        return x_adv

    return size / median_seconds(2, repetitions, step)


if __name__ == "__main__":
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    train = madry_train_samples_per_s(5)
    pgd = madry_pgd_step_samples_per_s(5)
    print(f"madry_train_bs256_samples_per_s {train:.1f}, madry_pgd_step_bs256_samples_per_s {pgd:.1f}, "
          f"PGD step / training step {train / pgd:.2f}x the time ({threads} threads)")
