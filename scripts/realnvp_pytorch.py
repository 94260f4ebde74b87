#!/usr/bin/env python3
"""RealNVP in PyTorch, the same models as nabla's `nabla::generative::flow`
(parameter names and all, so state dicts move either way through
safetensors), and the same training runs as `nabla train --model realnvp`.

Models (importable: scripts/make_flow_fixtures.py uses them):
  RealNVP            affine couplings on vectors (nabla's RealNvp)
  MultiScaleRealNVP  checkerboard/channel couplings, squeeze, factor-out,
                     logit transform (nabla's MultiScaleRealNvp)

Runs (from the repository root, with a virtual environment holding torch
and numpy):

  python scripts/realnvp_pytorch.py moons [--epochs 300] [--threads 1]
      make_moons(3000, noise=0.05) (scikit-learn's algorithm, NumPy's
      random stream) standardised, the last 20% held out; 6 couplings,
      s and t 4x256; Adam 1e-4, batch 256. Prints the validation NLL.
      --init keras initialises the s and t nets as the Keras example's
      Dense layers are (Glorot-uniform weights, zero biases).

  python scripts/realnvp_pytorch.py mnist [--epochs 2] [--threads 1]
      The bundled MNIST (data/mnist), dequantised (x + u) / 256 with fresh
      noise every batch; MultiScaleConfig::mnist(); Adam 1e-3, batch 64
      (938 steps an epoch, the last batch of 32), gradients clipped to norm
      100; the test set's bits per dimension after each epoch, each image
      dequantised once with seeded noise.
      With --save F, writes the trained state dict as safetensors with the
      metadata nabla's checkpoints carry (nabla sample reads it).

Each prints one JSON line at the end with its figures and timings.
"""
import argparse
import gzip
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------- models


def mlp(features, hidden, hidden_layers):
    layers, width = [], features
    for _ in range(hidden_layers):
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    return layers + [nn.Linear(width, features)]


def standard_normal_log_prob(z):
    z = z.flatten(1)
    return -0.5 * (z.square().sum(1) + z.shape[1] * math.log(2 * math.pi))


class AffineCoupling(nn.Module):
    """y = m x + (1 - m)(x exp(s(m x)) + t(m x)); coupling k keeps the
    features j with j + k odd."""

    def __init__(self, features, hidden, hidden_layers, index):
        super().__init__()
        self.s = nn.Sequential(*mlp(features, hidden, hidden_layers), nn.Tanh())
        self.t = nn.Sequential(*mlp(features, hidden, hidden_layers))
        self.keep = [(j + index) % 2 == 1 for j in range(features)]

    def masks(self, x):
        keep = torch.tensor(self.keep, dtype=x.dtype)
        return keep, 1 - keep

    def forward(self, x):
        keep, change = self.masks(x)
        kept = x * keep
        s, t = self.s(kept) * change, self.t(kept) * change
        return kept + change * (x * s.exp() + t), s.sum(1)

    def inverse(self, y):
        keep, change = self.masks(y)
        kept = y * keep
        s, t = self.s(kept) * change, self.t(kept) * change
        return kept + change * (y - t) * (-s).exp()


class RealNVP(nn.Module):
    def __init__(self, features=2, couplings=6, hidden=256, hidden_layers=4):
        super().__init__()
        self.config = dict(features=features, couplings=couplings, hidden=hidden, hidden_layers=hidden_layers)
        self.couplings = nn.ModuleList(
            AffineCoupling(features, hidden, hidden_layers, k) for k in range(couplings)
        )

    def forward(self, x):
        log_det = torch.zeros(x.shape[0], dtype=x.dtype)
        for c in self.couplings:
            x, ld = c(x)
            log_det = log_det + ld
        return x, log_det

    def inverse(self, z):
        for c in reversed(self.couplings):
            z = c.inverse(z)
        return z

    def log_prob(self, x):
        z, log_det = self(x)
        return standard_normal_log_prob(z) + log_det


def checkerboard(h, w, parity, dtype):
    i = torch.arange(h).view(h, 1)
    j = torch.arange(w).view(1, w)
    keep = ((i + j + parity) % 2 == 0).to(dtype).view(1, 1, h, w)
    return keep, 1 - keep


class ConvCoupling(nn.Module):
    """nabla's ConvCoupling: mask is ("checkerboard" | "channels", parity)."""

    def __init__(self, channels, hidden, mask, parity):
        super().__init__()
        self.mask, self.parity = mask, parity
        width = channels if mask == "checkerboard" else channels // 2
        self.net = nn.Sequential(
            nn.Conv2d(width, hidden, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden, hidden, 1),
            nn.ReLU(),
            nn.Conv2d(hidden, 2 * width, 3, padding=1),
        )
        nn.init.zeros_(self.net[4].weight)
        nn.init.zeros_(self.net[4].bias)
        self.scale = nn.Parameter(torch.ones(width, 1, 1))

    def scale_and_shift(self, kept):
        s_raw, t = self.net(kept).chunk(2, 1)
        return self.scale * s_raw.tanh(), t

    def halves(self, x):
        a, b = x.chunk(2, 1)
        return (a, b) if self.parity == 0 else (b, a)

    def join(self, kept, changed):
        return torch.cat([kept, changed] if self.parity == 0 else [changed, kept], 1)

    def forward(self, x):
        if self.mask == "checkerboard":
            keep, change = checkerboard(x.shape[2], x.shape[3], self.parity, x.dtype)
            kept = x * keep
            s, t = self.scale_and_shift(kept)
            s, t = s * change, t * change
            return kept + change * (x * s.exp() + t), s.sum((1, 2, 3))
        kept, changed = self.halves(x)
        s, t = self.scale_and_shift(kept)
        return self.join(kept, changed * s.exp() + t), s.sum((1, 2, 3))

    def inverse(self, y):
        if self.mask == "checkerboard":
            keep, change = checkerboard(y.shape[2], y.shape[3], self.parity, y.dtype)
            kept = y * keep
            s, t = self.scale_and_shift(kept)
            s, t = s * change, t * change
            return kept + change * (y - t) * (-s).exp()
        kept, changed = self.halves(y)
        s, t = self.scale_and_shift(kept)
        return self.join(kept, (changed - t) * (-s).exp())


def squeeze(x):
    b, c, h, w = x.shape
    return x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, 4 * c, h // 2, w // 2)


def unsqueeze(x):
    b, c4, h, w = x.shape
    return x.view(b, c4 // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c4 // 4, 2 * h, 2 * w)


def to_logit(x, alpha):
    p = alpha + (1 - 2 * alpha) * x
    log_p, log_q = p.log(), (1 - p).log()
    d = x[0].numel()
    return log_p - log_q, d * math.log(1 - 2 * alpha) - (log_p + log_q).flatten(1).sum(1)


def from_logit(y, alpha):
    return (y.sigmoid() - alpha) / (1 - 2 * alpha)


class ScaleBlock(nn.Module):
    def __init__(self, channels, hidden, couplings):
        super().__init__()
        self.checkerboard = nn.ModuleList(
            ConvCoupling(channels, hidden, "checkerboard", k % 2) for k in range(couplings)
        )
        self.channelwise = nn.ModuleList(
            ConvCoupling(4 * channels, hidden, "channels", k % 2) for k in range(couplings)
        )


MNIST_CONFIG = dict(channels=1, height=28, width=28, hidden=32, scales=1, couplings=3, final_couplings=4, alpha=0.05)


class MultiScaleRealNVP(nn.Module):
    def __init__(self, channels, height, width, hidden, scales, couplings, final_couplings, alpha):
        super().__init__()
        self.config = dict(
            channels=channels, height=height, width=width, hidden=hidden, scales=scales,
            couplings=couplings, final_couplings=final_couplings, alpha=alpha,
        )
        self.scales = nn.ModuleList()
        c = channels
        for _ in range(scales):
            self.scales.append(ScaleBlock(c, hidden, couplings))
            c *= 2
        self.final_couplings = nn.ModuleList(
            ConvCoupling(c, hidden, "checkerboard", k % 2) for k in range(final_couplings)
        )

    def latent_shapes(self):
        c, h, w = self.config["channels"], self.config["height"], self.config["width"]
        shapes = []
        for _ in range(self.config["scales"]):
            c, h, w = 2 * c, h // 2, w // 2
            shapes.append((c, h, w))
        return shapes + [(c, h, w)]

    def forward(self, x):
        h, log_det = to_logit(x, self.config["alpha"])
        latents = []
        for scale in self.scales:
            for c in scale.checkerboard:
                h, ld = c(h)
                log_det = log_det + ld
            h = squeeze(h)
            for c in scale.channelwise:
                h, ld = c(h)
                log_det = log_det + ld
            h, out = h.chunk(2, 1)
            latents.append(out.flatten(1))
        for c in self.final_couplings:
            h, ld = c(h)
            log_det = log_det + ld
        latents.append(h.flatten(1))
        return torch.cat(latents, 1), log_det

    def inverse(self, z):
        shapes = self.latent_shapes()
        pieces = z.split([math.prod(s) for s in shapes], 1)
        image = lambda p, s: p.reshape(z.shape[0], *s)
        h = image(pieces[-1], shapes[-1])
        for c in reversed(self.final_couplings):
            h = c.inverse(h)
        for k in reversed(range(len(self.scales))):
            h = torch.cat([h, image(pieces[k], shapes[k])], 1)
            for c in reversed(self.scales[k].channelwise):
                h = c.inverse(h)
            h = unsqueeze(h)
            for c in reversed(self.scales[k].checkerboard):
                h = c.inverse(h)
        return from_logit(h, self.config["alpha"])

    def log_prob(self, x):
        z, log_det = self(x)
        return standard_normal_log_prob(z) + log_det

    def bits_per_dim(self, x):
        d = x[0].numel()
        return -self.log_prob(x) / (d * math.log(2)) + 8.0


# ------------------------------------------------------------------- data


def make_moons(n_samples, noise, rng):
    """scikit-learn's make_moons, with `rng` a NumPy RandomState."""
    n_out = n_samples // 2
    n_in = n_samples - n_out
    outer = np.linspace(0, np.pi, n_out)
    inner = np.linspace(0, np.pi, n_in)
    x = np.concatenate([np.cos(outer), 1 - np.cos(inner)])
    y = np.concatenate([np.sin(outer), 1 - np.sin(inner) - 0.5])
    points = np.stack([x, y], 1)[rng.permutation(n_samples)]
    return points + rng.normal(scale=noise, size=points.shape)


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    n, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    return torch.from_numpy(np.frombuffer(data, np.uint8, offset=16).reshape(n, 1, rows, cols).copy())


def dequantize(pixels, generator=None):
    """(k + u) / 256 for 8-bit pixels k, u ~ U[0, 1)."""
    return (pixels.float() + torch.rand(pixels.shape, generator=generator)) / 256.0


# ------------------------------------------------------------------- runs


def run_moons(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.points:
        from safetensors.torch import load_file
        points = load_file(args.points)
        train, val = points["train"].float(), points["validation"].float()
    else:
        points = make_moons(3000, 0.05, np.random.RandomState(args.seed))
        points = (points - points.mean(0)) / points.std(0)
        data = torch.tensor(points, dtype=torch.float32)
        train, val = data[:2400], data[2400:]
    flow = RealNVP(hidden=args.hidden)
    if args.init == "keras":
        # The Keras example's Dense layers: Glorot-uniform weights, zero biases.
        for m in flow.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
    epochs = args.epochs or 300
    lr, batch_size = 1e-4, 256
    # Only randperm draws from torch's generator after the initialisation,
    # so drawing every epoch's order now gives the orders of drawing them
    # epoch by epoch.
    orders = torch.stack([torch.randperm(len(train)) for _ in range(epochs)])
    if args.export:
        from safetensors.torch import save_file
        tensors = {f"init.{k}": v.detach().clone().contiguous() for k, v in flow.state_dict().items()}
        tensors.update(train=train.contiguous(), validation=val.contiguous(), order=orders)
        save_file(tensors, args.export, metadata=dict(
            config=json.dumps(flow.config), lr=str(lr), batch_size=str(batch_size)))
    optimizer = torch.optim.Adam(flow.parameters(), lr=lr)
    started, best, history = time.time(), (math.inf, 0), []
    for epoch in range(epochs):
        for idx in orders[epoch].split(batch_size):
            loss = -flow.log_prob(train[idx]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            val_nll = -flow.log_prob(val).mean().item()
            train_nll = -flow.log_prob(train).mean().item() if args.train_nll else None
        history.append(dict(epoch=epoch + 1, val_nll=val_nll, train_nll=train_nll))
        best = min(best, (val_nll, epoch + 1))
        if (epoch + 1) % 25 == 0 or epoch == 0:
            train_text = f"  train NLL {train_nll:.4f}" if args.train_nll else ""
            print(f"epoch {epoch + 1:3}{train_text}  validation NLL {val_nll:.4f}  ({time.time() - started:.0f}s)",
                  flush=True)
    last10 = sum(h["val_nll"] for h in history[-10:]) / len(history[-10:])
    print(json.dumps(dict(run="moons", epochs=epochs, hidden=args.hidden, val_nll=val_nll, best_val_nll=best[0],
                          best_epoch=best[1], last10_val_nll=last10, seconds=time.time() - started,
                          history=history)))


def run_mnist(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    epochs = args.epochs or 2
    mnist = ROOT / "data" / "mnist"
    train = read_idx_images(mnist / "train-images-idx3-ubyte.gz")[: args.limit]
    test = read_idx_images(mnist / "t10k-images-idx3-ubyte.gz")
    flow = MultiScaleRealNVP(**MNIST_CONFIG)
    print(f"MultiScaleRealNVP with {sum(p.numel() for p in flow.parameters())} parameters, {epochs} epochs")
    optimizer = torch.optim.Adam(flow.parameters(), lr=args.lr)
    test_noise = torch.Generator().manual_seed(12345)
    test_dequantized = dequantize(test, test_noise)
    started, train_seconds, steps, history = time.time(), 0.0, 0, []
    for epoch in range(epochs):
        epoch_started, total = time.time(), 0.0
        for idx in torch.randperm(len(train)).split(args.batch_size):
            loss = flow.bits_per_dim(dequantize(train[idx])).mean()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(flow.parameters(), 100.0)
            optimizer.step()
            total += loss.item() * len(idx)
            steps += 1
            if steps % 100 == 0:
                print(f"step {steps:5}  train bits/dim {loss.item():.4f}  ({time.time() - started:.0f}s)", flush=True)
        train_seconds += time.time() - epoch_started
        with torch.no_grad():
            test_bpd = sum(flow.bits_per_dim(c).sum().item() for c in test_dequantized.split(500)) / len(test)
        history.append(dict(epoch=epoch + 1, train_bits_per_dim=total / len(train), test_bits_per_dim=test_bpd))
        print(f"epoch {epoch + 1}: train {total / len(train):.4f} test {test_bpd:.4f} bits/dim "
              f"({time.time() - started:.0f}s)", flush=True)
    if args.save:
        from safetensors.torch import save_file
        config = dict(architecture="multi-scale", **MNIST_CONFIG)
        save_file({k: v.contiguous() for k, v in flow.state_dict().items()}, args.save,
                  metadata={"format": "pt", "nabla.model": "realnvp", "nabla.config": json.dumps(config)})
    print(json.dumps(dict(run="mnist", epochs=epochs, steps=steps, batch_size=args.batch_size, lr=args.lr,
                          test_bits_per_dim=test_bpd, history=history, train_seconds=train_seconds,
                          steps_per_second=steps / train_seconds, threads=args.threads,
                          torch_version=torch.__version__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", choices=["moons", "mnist"])
    parser.add_argument("--epochs", type=int, help="default: 300 for moons, 2 for mnist")
    parser.add_argument("--limit", type=int, help="train on the first N MNIST digits only")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", choices=["pytorch", "keras"], default="pytorch",
                        help="moons: the s and t nets' initialisation, PyTorch's Linear default or the "
                             "Keras example's (Glorot-uniform weights, zero biases)")
    parser.add_argument("--save")
    parser.add_argument("--hidden", type=int, default=256, help="moons: units of the s and t hidden layers")
    parser.add_argument("--points", help="moons: train and validate on the `train` and `validation` "
                        "tensors of this safetensors file (from examples/realnvp_moons_parity.rs dump)")
    parser.add_argument("--export", help="moons: write the initial weights, the points and every epoch's "
                        "batch order to this safetensors file (for examples/realnvp_moons_parity.rs train)")
    parser.add_argument("--train-nll", action="store_true", help="moons: also the training set's NLL each epoch")
    args = parser.parse_args()
    run_moons(args) if args.run == "moons" else run_mnist(args)


if __name__ == "__main__":
    main()
