"""The benchmark of one training step of PyTorch's examples/vae, mirroring
crates/nabla/src/bench/generative.rs: the 784-400-20 VAE of
scripts/vae_pytorch.py (the example's model and loss), batch 128 of
uniform pixels fixed once, a fresh draw of the noise every step, the summed
binary cross-entropy plus the KL term, backward, Adam 1e-3.
"""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from torch_gan import median_seconds  # noqa: E402
from vae_pytorch import VAE, loss_function  # noqa: E402


def vae_train_samples_per_s(repetitions, batch=128):
    """Images per second of one VAE training step (see the module doc)."""
    torch.manual_seed(8)
    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images = torch.rand(batch, 1, 28, 28)

    def step():
        optimizer.zero_grad()
        recon, mu, logvar = model(images)
        loss_function(recon, images, mu, logvar).backward()
        optimizer.step()

    return batch / median_seconds(3, repetitions * 4, step)


if __name__ == "__main__":
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    print(f"vae_train_samples_per_s {vae_train_samples_per_s(7):.1f} ({threads} threads)")
