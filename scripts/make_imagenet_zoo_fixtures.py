"""Golden values for the ImageNet models of nabla's zoo (torchvision's
resnet18 and vgg16) and for the ImageNet evaluation preprocessing
(Resize(256), CenterCrop(224), ToTensor, Normalize), plus the 1,000 class
names.

Run (from the repository root):
    ../venv/bin/python scripts/make_imagenet_zoo_fixtures.py

No weights are committed: every parameter and buffer of the models is filled
from a formula that crates/nabla/tests/imagenet.rs reproduces. Element i
(flat, row-major) of the k-th entry of the state dict (k counts every entry,
num_batches_tracked included, in state-dict order) is, with u = uniform(i, k)
in [-1, 1) from the SplitMix64 hash below (integer arithmetic, the same bits
in Rust):

    conv / linear weight   sqrt(6) u / sqrt(fan_in)   (He-uniform; fan_in = numel / shape[0])
    conv / linear bias     0.1 u
    BatchNorm weight       1 + 0.2 u
    BatchNorm bias         0.1 u
    running_mean           0.1 u
    running_var            1 + 0.5 |u|
    num_batches_tracked    0

and element i of an input is uniform(i, 1000). (A smooth formula such as a
sine of i makes the convolutions cancel: in training mode every BatchNorm
then magnifies float32 rounding, and PyTorch's own float32 and float64
logits disagree. With hashed values they agree to 2e-6.)

Writes, under crates/nabla/tests/fixtures/:
- imagenet_zoo.json: the formula's constants, the input shapes, and the
  state-dict names and shapes of both models as torchvision has them;
- imagenet_zoo.safetensors (float32): `resnet18.eval_logits` ([2, 1000] for
  a [2, 3, 64, 64] input in eval mode), `resnet18.train_logits` (the same
  input in training mode: batch statistics), `resnet18.after_train.<name>`
  (every running_mean and running_var after that training-mode forward),
  `vgg16.eval_logits` ([1, 1000] for a [1, 3, 32, 32] input);
- imagenet/*.png, imagenet/*.jpg: small test images of several sizes and
  colour types; imagenet/<image>.crop.png: torchvision's uint8 result of
  Resize(256) + CenterCrop(224) after PIL's .convert("RGB");
  imagenet/<jpeg>.decoded.png: PIL's decoded pixels of the JPEG;
  imagenet/preprocess.json: per image, the resized size, per-channel sums of
  the normalised float32 values and a few sampled values;
and crates/nabla/src/data/imagenet/classes.txt: torchvision's
_IMAGENET_CATEGORIES, one per line.
"""
import json
import math
import sys
import warnings
import zlib
import struct
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

warnings.filterwarnings("ignore")
import torchvision  # noqa: E402
from torchvision import transforms  # noqa: E402
from torchvision.models._meta import _IMAGENET_CATEGORIES  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "crates" / "nabla" / "tests" / "fixtures"
IMAGES = FIXTURES / "imagenet"
CLASSES = ROOT / "crates" / "nabla" / "src" / "data" / "imagenet" / "classes.txt"

WEIGHT_GAIN = math.sqrt(6.0)
INPUT_STREAM = 1000

U64 = np.uint64


def uniform(n, k):
    """Element i in 0..n of stream k: SplitMix64's finaliser on
    (i + 1) * 0x9E3779B97F4A7C15 + k * 0xD1B54A32D192ED03 (wrapping), its top
    53 bits as a float in [0, 1), mapped to [-1, 1)."""
    z = (np.arange(n, dtype=U64) + U64(1)) * U64(0x9E3779B97F4A7C15) + U64(k) * U64(0xD1B54A32D192ED03)
    z = (z ^ (z >> U64(30))) * U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> U64(27))) * U64(0x94D049BB133111EB)
    z = z ^ (z >> U64(31))
    return (z >> U64(11)).astype(np.float64) * 2.0**-53 * 2.0 - 1.0


def formula_value(name, shape, k):
    n = int(np.prod(shape)) if shape else 1
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "num_batches_tracked":
        return np.zeros(shape, dtype=np.int64)
    u = uniform(n, k)
    if leaf == "weight" and len(shape) >= 2:
        fan_in = n // shape[0]
        v = WEIGHT_GAIN * u / math.sqrt(fan_in)
    elif leaf == "weight":  # BatchNorm
        v = 1.0 + 0.2 * u
    elif leaf in ("bias", "running_mean"):
        v = 0.1 * u
    elif leaf == "running_var":
        v = 1.0 + 0.5 * np.abs(u)
    else:
        raise ValueError(f"no formula for {name}")
    return v.reshape(shape)


def fill(model):
    state = model.state_dict()
    with torch.no_grad():
        for k, (name, t) in enumerate(state.items()):
            t.copy_(torch.from_numpy(formula_value(name, tuple(t.shape), k)))


def formula_input(shape):
    n = int(np.prod(shape))
    return torch.from_numpy(uniform(n, INPUT_STREAM).reshape(shape)).float()


def names_and_shapes(model):
    return [[n, list(t.shape)] for n, t in model.state_dict().items()]


def models():
    tensors = {}
    resnet = torchvision.models.resnet18(num_classes=1000)
    fill(resnet)
    x = formula_input((2, 3, 64, 64))
    resnet.eval()
    with torch.no_grad():
        tensors["resnet18.eval_logits"] = resnet(x)
    resnet.train()
    with torch.no_grad():
        tensors["resnet18.train_logits"] = resnet(x)
    for name, t in resnet.state_dict().items():
        if name.endswith("running_mean") or name.endswith("running_var"):
            tensors[f"resnet18.after_train.{name}"] = t.clone()
    vgg = torchvision.models.vgg16(num_classes=1000)
    fill(vgg)
    vgg.eval()
    with torch.no_grad():
        tensors["vgg16.eval_logits"] = vgg(formula_input((1, 3, 32, 32)))
    for key, t in tensors.items():
        print(f"{key}: {list(t.shape)} max |v| {t.abs().max().item():.3g}")
    save_file({k: v.float().contiguous() for k, v in tensors.items()}, FIXTURES / "imagenet_zoo.safetensors")
    meta = {
        "weight_gain": WEIGHT_GAIN,
        "input_stream": INPUT_STREAM,
        "resnet18_input": [2, 3, 64, 64],
        "vgg16_input": [1, 3, 32, 32],
        "resnet18_state_dict": names_and_shapes(resnet),
        "vgg16_state_dict": names_and_shapes(vgg),
    }
    (FIXTURES / "imagenet_zoo.json").write_text(json.dumps(meta, indent=1) + "\n")


def write_png16(path, pixels):
    """A 16-bit PNG (PIL cannot write 16-bit colour): pixels [H, W, C] uint16."""
    h, w, c = pixels.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    rows = np.frombuffer(pixels.astype(">u2").tobytes(), np.uint8).reshape(h, -1)
    # PNG's "Up" filter (type 2): each byte minus the byte above, for zlib.
    up = np.vstack([rows[:1], rows[1:] - rows[:-1]])
    raw = b"".join(b"\x02" + up[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    )


def pattern(h, w, channels, seed):
    """Smooth colour gradients with sharp diagonal stripes and a patch of
    3-pixel checks in the middle: enough to exercise every filter tap, small
    enough to compress."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = []
    for c in range(channels):
        fx, fy = rng.uniform(0.01, 0.08, 2)
        base = 127.5 + 100 * np.sin(fx * x + c) * np.cos(fy * y - c)
        stripes = 40.0 * ((x + 2 * y + 7 * c) % 41 < 3)
        checks = 60.0 * (((x // 3 + y // 3) % 2 == 0) & (abs(x - w / 2) < 12) & (abs(y - h / 2) < 12))
        planes.append(base + stripes + checks)
    return np.clip(np.stack(planes, -1), 0, 255)


def images():
    IMAGES.mkdir(parents=True, exist_ok=True)
    made = []

    def save(name, image):
        image.save(IMAGES / name)
        made.append(name)

    save("rgb_300x257.png", Image.fromarray(pattern(257, 300, 3, 1).astype(np.uint8), "RGB"))
    save("gray_181x320.png", Image.fromarray(pattern(320, 181, 1, 2)[..., 0].astype(np.uint8), "L"))
    save("rgba_260x260.png", Image.fromarray(pattern(260, 260, 4, 3).astype(np.uint8), "RGBA"))
    palette_source = Image.fromarray(pattern(250, 233, 3, 4).astype(np.uint8), "RGB")
    save("palette_233x250.png", palette_source.quantize(colors=64))
    save("photo_320x240.jpg", Image.fromarray(pattern(240, 320, 3, 5).astype(np.uint8), "RGB"))
    save("small_150x100.png", Image.fromarray(pattern(100, 150, 3, 6).astype(np.uint8), "RGB"))
    save("exact_256x290.png", Image.fromarray(pattern(290, 256, 3, 7).astype(np.uint8), "RGB"))
    # High byte the pattern, low byte 255 - high: PIL keeps the high byte, a
    # rounding conversion (v / 257) would not.
    high = pattern(230, 270, 3, 8).astype(np.uint16)
    rgb16 = high * 256 + (255 - high)
    write_png16(IMAGES / "rgb16_270x230.png", rgb16)
    made.append("rgb16_270x230.png")
    gray16 = (pattern(240, 250, 1, 10) * 1.6).astype(np.uint16)  # up to ~400: PIL saturates above 255
    write_png16(IMAGES / "gray16_250x240.png", gray16)
    made.append("gray16_250x240.png")
    (IMAGES / "corrupt.png").write_bytes((IMAGES / "small_150x100.png").read_bytes()[:200])

    resize_crop = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])
    to_float = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])]
    )
    cases = []
    for name in made:
        with Image.open(IMAGES / name) as opened:
            mode = opened.mode
            rgb = opened.convert("RGB")
        if name.endswith(".jpg"):
            # libjpeg-turbo's pixels: JPEG decoders differ by a level or
            # two, the resize is tested on these.
            rgb.save(IMAGES / f"{name}.decoded.png")
        resized = transforms.Resize(256)(rgb)
        crop = resize_crop(rgb)
        crop.save(IMAGES / f"{name}.crop.png")
        values = to_float(crop)
        flat = values.flatten()
        sample_at = list(range(0, flat.numel(), 7919))
        cases.append(
            {
                "file": name,
                "pil_mode": mode,
                "size": list(rgb.size),
                "resized": list(resized.size),
                "channel_sums": [float(values[c].double().sum()) for c in range(3)],
                "sample_indices": sample_at,
                "sample_values": [float(flat[i]) for i in sample_at],
            }
        )
    (IMAGES / "preprocess.json").write_text(json.dumps({"images": cases}, indent=1) + "\n")
    total = sum(p.stat().st_size for p in IMAGES.iterdir())
    print(f"{len(made)} images, {total / 1e3:.0f} kB in {IMAGES}")


def classes():
    assert len(_IMAGENET_CATEGORIES) == 1000
    CLASSES.write_text("".join(f"{c}\n" for c in _IMAGENET_CATEGORIES))


def main():
    classes()
    images()
    if "--images-only" not in sys.argv:
        models()


if __name__ == "__main__":
    main()
