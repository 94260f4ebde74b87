#!/usr/bin/env python3
"""Generate PyTorch golden values for nabla's GANs (nabla::generative::gan).

Writes crates/nabla/tests/fixtures/gan.json, which
crates/nabla/tests/gan_golden.rs checks nabla against.

How to run (from the repository root, with the virtual environment of
scripts/make_fixtures.py, whose number formatting this script reuses):

    /path/to/venv/bin/python scripts/make_gan_fixtures.py

Everything is float64 and deterministic (torch.manual_seed). The networks
are the DCGAN generator and discriminator of nabla::generative with the
same sub-module names (benches/torch_gan.py defines them), at a tiny width (latent 6, 3 feature maps), with
PyTorch's default initialisation (the weights are copied into nabla, so
the initialisation does not matter), on a batch of 4:

  generator        state dict (parameters and buffers, before any pass)
  discriminator    state dict of the DCGAN discriminator (with bn2)
  critic           state dict of the WGAN-GP critic (no bn2)
  z [4, 6], real [4, 1, 28, 28] (uniform in [-1, 1])
  fake             generator(z) in training mode
  bn1_running_mean, bn1_running_var   the generator's after that pass
  real_logits, fake_logits            discriminator(real), discriminator(fake.detach())
  d_loss           BCE-with-logits(real_logits, 1) + BCE-with-logits(fake_logits, 0)
  d_grad.<name>    d d_loss / d parameter, for every discriminator parameter
  g_loss           BCE-with-logits(discriminator(fake), 1) (non-saturating)
  g_grad.<name>    d g_loss / d parameter, for every generator parameter
  epsilon [4, 1, 1, 1]                uniform mixing weights
  critic_loss      mean(critic(fake)) - mean(critic(real))
  penalty          mean((||d critic(x_hat) / d x_hat||_2 - 1)^2) at
                   x_hat = epsilon real + (1 - epsilon) fake.detach(),
                   through torch.autograd.grad(create_graph=True)
  penalty_grad.<name>                 d penalty / d parameter, for every critic parameter
                                      (zeros for fc.bias, on which it does not depend)

Format: {"torch_version", "tensors": {name: {"shape", "values"}}}.
"""

import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benches"))
from make_fixtures import dump, tensor_json  # noqa: E402
from torch_gan import Discriminator, Generator  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "crates", "nabla", "tests", "fixtures", "gan.json")

LATENT, MAPS, BATCH = 6, 3, 4


def state(prefix, module, out):
    for name, t in module.state_dict().items():
        if t.is_floating_point():
            out[f"{prefix}.{name}"] = tensor_json(t.clone())
        else:  # num_batches_tracked: nabla keeps it as a float
            out[f"{prefix}.{name}"] = tensor_json(t.to(torch.float64))


def grads(prefix, module, loss, out):
    named = list(module.named_parameters())
    found = torch.autograd.grad(loss, [p for _, p in named], retain_graph=True, allow_unused=True)
    for (name, p), g in zip(named, found):
        # A parameter the loss does not depend on (the critic's last bias,
        # for the penalty) has gradient zero.
        out[f"{prefix}.{name}"] = tensor_json(torch.zeros_like(p) if g is None else g)


def main():
    torch.manual_seed(2024)
    torch.set_default_dtype(torch.float64)
    generator = Generator(LATENT, MAPS)
    discriminator = Discriminator(MAPS, True)
    critic = Discriminator(MAPS, False)
    out = {}
    state("generator", generator, out)
    state("discriminator", discriminator, out)
    state("critic", critic, out)

    z = torch.randn(BATCH, LATENT)
    real = torch.rand(BATCH, 1, 28, 28) * 2 - 1
    fake = generator(z)
    out["z"], out["real"], out["fake"] = tensor_json(z), tensor_json(real), tensor_json(fake)
    out["bn1_running_mean"] = tensor_json(generator.bn1.running_mean)
    out["bn1_running_var"] = tensor_json(generator.bn1.running_var)

    real_logits = discriminator(real)
    fake_logits = discriminator(fake.detach())
    d_loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + \
        F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    out["real_logits"], out["fake_logits"] = tensor_json(real_logits), tensor_json(fake_logits)
    out["d_loss"] = tensor_json(d_loss)
    grads("d_grad", discriminator, d_loss, out)
    judged = discriminator(fake)
    g_loss = F.binary_cross_entropy_with_logits(judged, torch.ones_like(judged))
    out["g_loss"] = tensor_json(g_loss)
    grads("g_grad", generator, g_loss, out)

    epsilon = torch.rand(BATCH, 1, 1, 1)
    out["epsilon"] = tensor_json(epsilon)
    fake = fake.detach()
    out["critic_loss"] = tensor_json(critic(fake).mean() - critic(real).mean())
    between = (epsilon * real + (1 - epsilon) * fake).requires_grad_(True)
    gradients, = torch.autograd.grad(critic(between).sum(), between, create_graph=True)
    penalty = ((gradients.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
    out["penalty"] = tensor_json(penalty)
    grads("penalty_grad", critic, penalty, out)

    with open(OUT, "w") as f:
        f.write(dump({"torch_version": torch.__version__, "tensors": out}) + "\n")
    print(f"wrote {OUT} ({len(out)} tensors)")


if __name__ == "__main__":
    main()
