"""Golden values for LeNet-5 from PyTorch: the reference model's weights,
a fixed input batch, its logits, and the gradients of every parameter and of
the input under a fixed upstream gradient.

Run (from the repository root, with a virtual environment outside it):
    python3 -m venv ../venv && ../venv/bin/pip install torch numpy safetensors
    ../venv/bin/python scripts/make_lenet_fixtures.py

Writes crates/nabla/tests/fixtures/lenet5_weights.safetensors (the state dict,
PyTorch names) and crates/nabla/tests/fixtures/lenet5_io.safetensors (input,
upstream, logits, grad.<param>, grad.input), all float32.

Also a CNN with BatchNorm trained for three steps, whose checkpoint holds
PyTorch's int64 `num_batches_tracked`: conv_bn_weights.safetensors and
conv_bn_io.safetensors (input, eval-mode output).
"""
from pathlib import Path

import torch
from torch import nn
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "crates" / "nabla" / "tests" / "fixtures"


class LeNet5(nn.Module):
    """The reference of the CNN issue, names and all."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


def main():
    torch.manual_seed(5)
    model = LeNet5()
    x = torch.randn(4, 1, 28, 28, requires_grad=True)
    logits = model(x)
    upstream = torch.randn(4, 10)
    names = [n for n, _ in model.named_parameters()]
    grads = torch.autograd.grad(logits, [p for _, p in model.named_parameters()] + [x], upstream)
    OUT.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(OUT / "lenet5_weights.safetensors"))
    io = {"input": x.detach(), "upstream": upstream, "logits": logits.detach()}
    for name, g in zip(names + ["input"], grads):
        io["grad." + name] = g.contiguous()
    save_file(io, str(OUT / "lenet5_io.safetensors"), metadata={"torch_version": torch.__version__})
    print("wrote", OUT / "lenet5_weights.safetensors", OUT / "lenet5_io.safetensors")


def conv_bn():
    torch.manual_seed(6)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        model(torch.randn(4, 1, 6, 6)).square().mean().backward()
        optimizer.step()
    model.eval()
    x = torch.randn(2, 1, 6, 6)
    with torch.no_grad():
        y = model(x)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    assert state["1.num_batches_tracked"].dtype == torch.int64
    save_file(state, str(OUT / "conv_bn_weights.safetensors"))
    save_file({"input": x, "output": y}, str(OUT / "conv_bn_io.safetensors"))
    print("wrote", OUT / "conv_bn_weights.safetensors", OUT / "conv_bn_io.safetensors")


if __name__ == "__main__":
    main()
    conv_bn()
