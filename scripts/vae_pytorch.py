#!/usr/bin/env python3
"""PyTorch's examples/vae (main.py), run on the bundled MNIST, for its test
loss beside `nabla train --model vae`.

The model, loss, optimizer, data order and random draws are the example's:
torch.manual_seed(1), DataLoader(batch_size=128, shuffle=True) over the
60,000 training images as ToTensor() gives them (bytes / 255, not
binarised), Adam(lr=1e-3), BCE(reduction='sum') + KLD per batch, 10 epochs,
the test loss summed over the 10,000 test images (batch 128, one draw of z
per image) divided by 10,000, and the 64 prior draws the example decodes
after each epoch (which advance the random stream, so they are kept). The
only difference is the reading of the files: the bundled idx files through
NumPy instead of torchvision (not installed here), giving the same floats.

Usage (from the repository root):

    /path/to/venv/bin/python scripts/vae_pytorch.py [--epochs 10] [--threads 2] [--seed 1]

Prints the example's lines ("====> Epoch: 1 Average loss: ...",
"====> Test set loss: ...") with the seconds per epoch.
"""

import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST = os.path.join(REPO, "data", "mnist")


def idx_images(name):
    with gzip.open(os.path.join(MNIST, name)) as f:
        data = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    return torch.from_numpy(data.reshape(-1, 1, 28, 28).copy()).float().div(255)


def idx_labels(name):
    with gzip.open(os.path.join(MNIST, name)) as f:
        return torch.from_numpy(np.frombuffer(f.read(), dtype=np.uint8, offset=8).astype(np.int64))


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    train_set = TensorDataset(idx_images("train-images-idx3-ubyte.gz"), idx_labels("train-labels-idx1-ubyte.gz"))
    test_set = TensorDataset(idx_images("t10k-images-idx3-ubyte.gz"), idx_labels("t10k-labels-idx1-ubyte.gz"))
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=args.batch_size, shuffle=False)

    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, seed {args.seed}", flush=True)
    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        model.train()
        train_loss = 0.0
        for data, _ in train_loader:
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        train_seconds = time.perf_counter() - started
        print(f"====> Epoch: {epoch} Average loss: {train_loss / len(train_loader.dataset):.4f}", flush=True)
        model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for data, _ in test_loader:
                recon_batch, mu, logvar = model(data)
                test_loss += loss_function(recon_batch, data, mu, logvar).item()
        test_loss /= len(test_loader.dataset)
        print(f"====> Test set loss: {test_loss:.4f}  ({train_seconds:.1f}s training, "
              f"{len(train_loader.dataset) / train_seconds:.0f} img/s)", flush=True)
        with torch.no_grad():
            model.decode(torch.randn(64, 20))


if __name__ == "__main__":
    main()
