"""Trains nabla's DCGAN recipe in PyTorch and judges it with the same bundled
LeNet-5 that `nabla train --model dcgan` uses, so that nabla's MNIST score
and Fréchet LeNet distance can be read beside PyTorch's for the same
model, data, optimizer and number of epochs.

The recipe is benches/torch_gan.py's (the networks, DCGAN's
initialisation, the step of PyTorch's examples/dcgan with the
discriminator frozen during the generator's step): Adam 2e-4, betas (0.5,
0.999), batch 64, the MNIST training digits scaled to [-1, 1] and shuffled
every epoch. After each epoch, 10,000 digits from the generator in eval
mode are scored as nabla scores them: the MNIST score exp(E KL(p(y|x) ||
p(y))) of data/mnist-lenet5/lenet5.safetensors's class probabilities
(inputs normalised with its recorded mean 0.1307 and std 0.3081), and the
Fréchet distance between its 84 fc2-after-ReLU features of those digits and
of the 10,000 test digits (scipy.linalg.sqrtm, as the FID reference code).

    python scripts/gan_side_by_side.py [--epochs 10] [--threads 2] [--seed 0]

prints one line per epoch. The nabla side is `nabla train --model dcgan`
(its metrics.jsonl has the same figures per epoch).
"""

import argparse
import gzip
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from scipy import linalg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benches"))
sys.path.insert(0, str(ROOT / "scripts"))
from torch_gan import Discriminator, Generator, dcgan_init  # noqa: E402
from make_lenet_fixtures import LeNet5  # noqa: E402


def mnist(name):
    raw = gzip.decompress((ROOT / "data" / "mnist" / name).read_bytes())
    return torch.from_numpy(np.frombuffer(raw[16:], dtype=np.uint8).copy()).float().div(255).view(-1, 1, 28, 28)


class Judge:
    def __init__(self):
        self.net = LeNet5()
        self.net.load_state_dict(load_file(str(ROOT / "data" / "mnist-lenet5" / "lenet5.safetensors")))
        self.net.eval()

    def run(self, unit_images):
        """Probabilities [N, 10] and fc2-after-ReLU features [N, 84], in float64."""
        probs, feats = [], []
        net = self.net
        with torch.no_grad():
            for x in unit_images.split(1000):
                h = (x - 0.1307) / 0.3081
                h = F.max_pool2d(F.relu(net.conv1(h)), 2)
                h = F.max_pool2d(F.relu(net.conv2(h)), 2).flatten(1)
                h = F.relu(net.fc2(F.relu(net.fc1(h))))
                feats.append(h.double())
                probs.append(F.softmax(net.fc3(h), 1).double())
        return torch.cat(probs), torch.cat(feats).numpy()


def mnist_score(p):
    py = p.mean(0)
    return float(torch.exp((p * (p.clamp_min(1e-300).log() - py.log())).sum(1).mean()))


def frechet(a, b):
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1.dot(s2)).real
    diff = a.mean(0) - b.mean(0)
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    train = mnist("train-images-idx3-ubyte.gz") * 2 - 1
    judge = Judge()
    _, test_features = judge.run(mnist("t10k-images-idx3-ubyte.gz"))
    g, d = Generator(100, 64), Discriminator(64, True)
    dcgan_init(g)
    dcgan_init(d)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    for epoch in range(args.epochs):
        start = time.time()
        for idx in torch.randperm(len(train)).split(64):
            real = train[idx]
            n = len(idx)
            fake = g(torch.randn(n, 100))
            opt_d.zero_grad()
            d_loss = F.binary_cross_entropy_with_logits(d(real), torch.ones(n, 1)) + \
                F.binary_cross_entropy_with_logits(d(fake.detach()), torch.zeros(n, 1))
            d_loss.backward()
            opt_d.step()
            opt_g.zero_grad()
            d.requires_grad_(False)
            g_loss = F.binary_cross_entropy_with_logits(d(fake), torch.ones(n, 1))
            g_loss.backward()
            d.requires_grad_(True)
            opt_g.step()
        seconds = time.time() - start
        g.eval()
        with torch.no_grad():
            samples = torch.cat([g(z) for z in torch.randn(10000, 100).split(500)])
        g.train()
        probs, features = judge.run((samples + 1) / 2)
        print(f"epoch {epoch + 1:>2}/{args.epochs}: MNIST score {mnist_score(probs):.3f}  "
              f"Fréchet {frechet(features, test_features):.3f}  {seconds:.1f}s ({len(train) / seconds:.0f} img/s)",
              flush=True)


if __name__ == "__main__":
    main()
