"""A LeNet-5 trained in PyTorch on the bundled MNIST, with PyTorch's own test
results, to check that `nabla eval` gives the same accuracy on that model.

The images are read from the bundled gz IDX files in data/mnist/ (gzip and
numpy, no torchvision; their SHA-256 sums are checked against
data/mnist/SHA256SUMS), scaled to [0, 1] as float32 (byte / 255) and then
normalised with PyTorch's MNIST convention, (x - 0.1307) / 0.3081, all in
float32 — the same arithmetic as torchvision's ToTensor + Normalize and as
nabla's MNIST loader. The model is the reference LeNet-5 of
scripts/make_lenet_fixtures.py (imported from there), trained for one epoch
with Adam (lr 1e-3), batches of 64, a fixed seed and two threads, then
evaluated in float32 on the 10,000 test images.

Run (from the repository root, with a virtual environment outside it):
    python3 -m venv ../venv && ../venv/bin/pip install torch numpy safetensors
    ../venv/bin/python scripts/make_trained_lenet_fixture.py

Writes, in crates/nabla/tests/fixtures/:

  lenet5_trained.safetensors              the state dict (PyTorch names, float32),
                                          metadata: test_accuracy ("98.53", percent
                                          with two decimals, as `nabla eval` prints
                                          it), test_accuracy_exact, test_correct,
                                          test_examples, predictions_sha256 (of the
                                          10,000 predicted classes as bytes), and
                                          the training settings
  lenet5_trained_predictions.safetensors  `predictions` [10000] (the predicted
                                          classes, as float32: nabla's loader
                                          reads F32/F64/I64) and `logits`
                                          [10000, 10], float32; same metadata

crates/nabla-cli/tests/pytorch_eval.rs runs `nabla eval` on the checkpoint and
compares nabla's predictions with these. The script refuses a model that has a
test image whose two largest logits are within 1e-3 (a near-tie that float32
rounding could flip), so the test can require every prediction to agree.
"""
import gzip
import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from make_lenet_fixtures import LeNet5

ROOT = Path(__file__).resolve().parent.parent
MNIST = ROOT / "data" / "mnist"
OUT = ROOT / "crates" / "nabla" / "tests" / "fixtures"

SEED = 2024
EPOCHS = 1
BATCH_SIZE = 64
LR = 1e-3
THREADS = 2
EVAL_BATCH = 1000
MEAN = np.float32(0.1307)
STD = np.float32(0.3081)


def verified(name):
    """The bytes of data/mnist/<name>, after checking its SHA-256 sum."""
    sums = {}
    for line in (MNIST / "SHA256SUMS").read_text().splitlines():
        if line.strip():
            digest, file = line.split()
            sums[file.lstrip("*")] = digest
    data = (MNIST / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == sums[name], f"{name}: checksum mismatch"
    return gzip.decompress(data)


def read_images(name):
    raw = verified(name)
    magic, n, rows, cols = np.frombuffer(raw[:16], dtype=">u4")
    assert magic == 2051, f"{name}: not an IDX image file"
    pixels = np.frombuffer(raw[16:], dtype=np.uint8)
    assert pixels.size == n * rows * cols, f"{name}: truncated"
    return pixels.reshape(n, 1, rows, cols)


def read_labels(name):
    raw = verified(name)
    magic, n = np.frombuffer(raw[:8], dtype=">u4")
    assert magic == 2049, f"{name}: not an IDX label file"
    labels = np.frombuffer(raw[8:], dtype=np.uint8)
    assert labels.size == n, f"{name}: truncated"
    return labels


def normalised(pixels):
    """Bytes -> float32 in [0, 1] -> (x - mean) / std, every step in float32."""
    x = pixels.astype(np.float32) / np.float32(255.0)
    x = (x - MEAN) / STD
    assert x.dtype == np.float32
    return torch.from_numpy(x)


def save(tensors, path, metadata):
    """safetensors' save_file, with the metadata in sorted order (save_file
    writes it in hash order) so that the same run writes the same bytes."""
    save_file(tensors, str(path), metadata=metadata)
    data = bytearray(path.read_bytes())
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length].decode())
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":")).encode()
    assert len(text) <= length
    data[8 : 8 + length] = text + b" " * (length - len(text))
    path.write_bytes(bytes(data))


def main():
    torch.set_num_threads(THREADS)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)

    train_x = normalised(read_images("train-images-idx3-ubyte.gz"))
    train_y = torch.from_numpy(read_labels("train-labels-idx1-ubyte.gz").astype(np.int64))
    test_x = normalised(read_images("t10k-images-idx3-ubyte.gz"))
    test_y = torch.from_numpy(read_labels("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    assert train_x.shape == (60000, 1, 28, 28) and test_x.shape == (10000, 1, 28, 28)

    # Sanity check of the normalisation against torch's own ops (and thus
    # torchvision's ToTensor + Normalize, which are these ops).
    torch_way = (torch.from_numpy(read_images("t10k-images-idx3-ubyte.gz").copy()).float() / 255.0 - 0.1307) / 0.3081
    assert (torch_way - test_x).abs().max().item() < 1e-6

    model = LeNet5()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    order_rng = torch.Generator().manual_seed(SEED)
    model.train()
    for epoch in range(EPOCHS):
        order = torch.randperm(len(train_x), generator=order_rng)
        total, seen = 0.0, 0
        for start in range(0, len(order), BATCH_SIZE):
            idx = order[start : start + BATCH_SIZE]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(train_x[idx]), train_y[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        print(f"epoch {epoch + 1}: train loss {total / seen:.4f}")

    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(test_x[s : s + EVAL_BATCH]) for s in range(0, len(test_x), EVAL_BATCH)])
    assert logits.dtype == torch.float32 and logits.shape == (10000, 10)
    predictions = logits.argmax(dim=1)
    correct = int((predictions == test_y).sum().item())
    accuracy = correct / len(test_y)
    top2 = logits.topk(2, dim=1).values
    margins = top2[:, 0] - top2[:, 1]
    print(
        f"PyTorch test accuracy {100 * accuracy:.2f}% ({correct}/{len(test_y)}), "
        f"smallest top-2 logit margin {margins.min().item():.3e}"
    )

    # The Rust test asserts that nabla predicts exactly these classes; that is
    # only fair if no test image is a near-tie, where float32 rounding (about
    # 1e-5 on these logits) could flip the argmax.
    assert margins.min().item() > 1e-3, "a test image is a near-tie; pick another seed"

    pred_bytes = predictions.to(torch.uint8).numpy().tobytes()
    metadata = {
        "torch_version": torch.__version__,
        "seed": str(SEED),
        "epochs": str(EPOCHS),
        "batch_size": str(BATCH_SIZE),
        "optimizer": f"Adam(lr={LR})",
        "threads": str(THREADS),
        "normalization": "(x / 255 - 0.1307) / 0.3081, float32",
        "test_accuracy": f"{100 * accuracy:.2f}",
        "test_accuracy_exact": repr(accuracy),
        "test_correct": str(correct),
        "test_examples": str(len(test_y)),
        "predictions_sha256": hashlib.sha256(pred_bytes).hexdigest(),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    weights = OUT / "lenet5_trained.safetensors"
    outputs = OUT / "lenet5_trained_predictions.safetensors"
    save({k: v.contiguous() for k, v in model.state_dict().items()}, weights, metadata)
    save({"predictions": predictions.to(torch.float32), "logits": logits.contiguous()}, outputs, metadata)
    print("wrote", weights, outputs)


if __name__ == "__main__":
    main()
