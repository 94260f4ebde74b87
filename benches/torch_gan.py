"""nabla's DCGAN (nabla::generative) in PyTorch: the networks, with the same
sub-module names, and the benchmark of one training step, mirroring
crates/nabla/src/bench/gan.rs.

The step is PyTorch's examples/dcgan step: the generated batch is made once
from fresh noise, the discriminator takes a step on the real batch and on
the generated one (detached), summing the two BCE-with-logits losses, then
the generator takes a step on the non-saturating loss of the updated
discriminator's verdict on that same batch. During the generator's step
the discriminator's parameters do not require gradients (nabla's
GanTrainer freezes them too), so neither side computes gradients that its
optimizer would not use. Adam 2e-4, betas (0.5, 0.999), batch 64, latent
100, 64 feature maps, DCGAN's N(0, 0.02) initialisation.

scripts/make_gan_fixtures.py uses the networks for the golden values.
"""

import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Generator(nn.Module):
    """z [N, latent] -> fc -> [N, 2f, 7, 7] -> bn1, ReLU -> deconv1 -> bn2,
    ReLU -> deconv2 -> tanh: [N, 1, 28, 28]."""

    def __init__(self, latent, f):
        super().__init__()
        self.f = f
        self.fc = nn.Linear(latent, 2 * f * 7 * 7)
        self.bn1 = nn.BatchNorm2d(2 * f)
        self.deconv1 = nn.ConvTranspose2d(2 * f, f, 4, 2, 1)
        self.bn2 = nn.BatchNorm2d(f)
        self.deconv2 = nn.ConvTranspose2d(f, 1, 4, 2, 1)

    def forward(self, z):
        h = self.fc(z).view(-1, 2 * self.f, 7, 7)
        h = F.relu(self.bn1(h))
        h = F.relu(self.bn2(self.deconv1(h)))
        return torch.tanh(self.deconv2(h))


class Discriminator(nn.Module):
    """conv1, LeakyReLU(0.2) -> conv2 -> bn2 (DCGAN only), LeakyReLU(0.2)
    -> fc: one logit (or critic value) per image."""

    def __init__(self, f, batch_norm):
        super().__init__()
        self.conv1 = nn.Conv2d(1, f, 4, 2, 1)
        self.conv2 = nn.Conv2d(f, 2 * f, 4, 2, 1)
        self.bn2 = nn.BatchNorm2d(2 * f) if batch_norm else None
        self.fc = nn.Linear(2 * f * 7 * 7, 1)

    def forward(self, x):
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = self.conv2(h)
        if self.bn2 is not None:
            h = self.bn2(h)
        return self.fc(F.leaky_relu(h, 0.2).flatten(1))


def dcgan_init(module):
    """DCGAN's initialisation, as nabla's: weights N(0, 0.02), BatchNorm
    scales N(1, 0.02), biases 0."""
    for name, p in module.named_parameters():
        with torch.no_grad():
            if not name.endswith("weight"):
                p.zero_()
            elif name.startswith("bn"):
                p.normal_(1.0, 0.02)
            else:
                p.normal_(0.0, 0.02)


def median_seconds(warmup, repetitions, f):
    for _ in range(warmup):
        f()
    times = []
    for _ in range(max(repetitions, 1)):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def dcgan_train_samples_per_s(repetitions, batch=64, latent=100, maps=64):
    """Real images per second of one DCGAN training step (see the module doc)."""
    torch.manual_seed(9)
    g, d = Generator(latent, maps), Discriminator(maps, True)
    dcgan_init(g)
    dcgan_init(d)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = torch.rand(batch, 1, 28, 28) * 2 - 1
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    def step():
        fake = g(torch.randn(batch, latent))
        opt_d.zero_grad()
        d_loss = F.binary_cross_entropy_with_logits(d(real), ones) + \
            F.binary_cross_entropy_with_logits(d(fake.detach()), zeros)
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad()
        d.requires_grad_(False)
        g_loss = F.binary_cross_entropy_with_logits(d(fake), ones)
        g_loss.backward()
        d.requires_grad_(True)
        opt_g.step()

    return batch / median_seconds(2, repetitions * 2, step)


if __name__ == "__main__":
    import sys
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    print(f"dcgan_train_samples_per_s {dcgan_train_samples_per_s(7):.1f} ({threads} threads)")
