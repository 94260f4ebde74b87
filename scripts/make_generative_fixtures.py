#!/usr/bin/env python3
"""Golden values for nabla's generative models from PyTorch: a VAE of PyTorch's
examples/vae (smaller: 784 -> 16 -> 4 latents), an MLP autoencoder
(784 -> 16 -> 8 -> 3) and a convolutional one (channels 4 and 8, 3 latents),
written with nabla's tensor names and checkpoint metadata so that
`load_vae` and `load_autoencoder` read PyTorch's files as they are.

Run (from the repository root, with a virtual environment outside it):
    ../venv/bin/python scripts/make_generative_fixtures.py

Writes, under crates/nabla/tests/fixtures/, all float32:

- {vae,ae,conv_ae}_weights.safetensors: the state dict, with the metadata
  nabla.model (vae, ae, conv-ae) and nabla.config (the sizes as JSON);
- vae_io.safetensors: input [5, 1, 28, 28] (pixels in [0, 1]), noise [5, 4]
  (eps of the reparameterisation), reconstruction, mu, logvar, the
  example's loss (BCE summed + KLD) as `loss` (and its two terms
  `reconstruction_loss`, `kl`), and grad.<param> of the loss;
- {ae,conv_ae}_io.safetensors: input, code, reconstruction, `loss` (BCE
  summed over pixels, averaged over the batch) and grad.<param>.
"""
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

OUT = Path(__file__).resolve().parent.parent / "crates" / "nabla" / "tests" / "fixtures"


class VAE(nn.Module):
    """PyTorch's examples/vae, with the sizes as arguments."""

    def __init__(self, d, h, l):
        super().__init__()
        self.fc1 = nn.Linear(d, h)
        self.fc21 = nn.Linear(h, l)
        self.fc22 = nn.Linear(h, l)
        self.fc3 = nn.Linear(l, h)
        self.fc4 = nn.Linear(h, d)
        self.d = d

    def forward(self, x, eps):
        h1 = F.relu(self.fc1(x.view(-1, self.d)))
        mu, logvar = self.fc21(h1), self.fc22(h1)
        z = mu + eps * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


class MlpAutoencoder(nn.Module):
    def __init__(self, widths):
        super().__init__()
        enc, dec = [], []
        for i, (a, b) in enumerate(zip(widths, widths[1:])):
            enc.append(nn.Linear(a, b))
            if i + 2 < len(widths):
                enc.append(nn.ReLU())
        pairs = list(zip(widths, widths[1:]))[::-1]
        for i, (a, b) in enumerate(pairs):
            dec.append(nn.Linear(b, a))
            dec.append(nn.ReLU() if i + 2 < len(widths) else nn.Sigmoid())
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)

    def code(self, x):
        return self.encoder(x.view(x.shape[0], -1))

    def decode(self, z):
        return self.decoder(z)


class ConvAutoencoder(nn.Module):
    def __init__(self, c1, c2, latent):
        super().__init__()
        self.c2 = c2
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c1, 3, 2, 1), nn.ReLU(), nn.Conv2d(c1, c2, 3, 2, 1), nn.ReLU(), nn.Flatten(),
            nn.Linear(c2 * 49, latent))
        self.project = nn.Linear(latent, c2 * 49)
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(c2, c1, 3, 2, 1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(c1, 1, 3, 2, 1, output_padding=1), nn.Sigmoid())

    def code(self, x):
        return self.encoder(x.view(-1, 1, 28, 28))

    def decode(self, z):
        maps = F.relu(self.project(z)).view(-1, self.c2, 7, 7)
        return self.decoder(maps).view(z.shape[0], 784)


def save(model, name, kind, config, io):
    meta = {"format": "pt", "nabla.model": kind, "nabla.config": json.dumps(config)}
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(OUT / f"{name}_weights.safetensors"),
              metadata=meta)
    params = list(model.named_parameters())
    grads = torch.autograd.grad(io["loss"], [p for _, p in params])
    for (n, _), g in zip(params, grads):
        io["grad." + n] = g
    save_file({k: v.detach().contiguous() for k, v in io.items()}, str(OUT / f"{name}_io.safetensors"),
              metadata={"torch_version": torch.__version__})
    print("wrote", OUT / f"{name}_weights.safetensors", OUT / f"{name}_io.safetensors")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(3)
    vae = VAE(784, 16, 4)
    x = torch.rand(5, 1, 28, 28)
    eps = torch.randn(5, 4)
    recon, mu, logvar = vae(x, eps)
    bce = F.binary_cross_entropy(recon, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    io = {"input": x, "noise": eps, "reconstruction": recon, "mu": mu, "logvar": logvar,
          "reconstruction_loss": bce, "kl": kld, "loss": bce + kld}
    save(vae, "vae", "vae", {"input_size": 784, "hidden_size": 16, "latent_size": 4}, io)

    for name, kind, model, config in [
        ("ae", "ae", MlpAutoencoder([784, 16, 8, 3]), {"input_size": 784, "hidden_sizes": [16, 8], "latent_size": 3}),
        ("conv_ae", "conv-ae", ConvAutoencoder(4, 8, 3), {"input_size": 784, "hidden_sizes": [4, 8], "latent_size": 3}),
    ]:
        x = torch.rand(5, 1, 28, 28)
        code = model.code(x)
        recon = model.decode(code)
        loss = F.binary_cross_entropy(recon, x.view(5, 784), reduction="sum") / 5
        save(model, name, kind, config, {"input": x, "code": code, "reconstruction": recon, "loss": loss})


if __name__ == "__main__":
    main()
