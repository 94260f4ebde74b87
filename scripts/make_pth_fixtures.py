"""PyTorch checkpoints as `torch.save` writes them, for nabla's `.pth` reader
(crates/nabla/src/checkpoint/pth/) and `nabla convert`.

Run (from the repository root, with a virtual environment outside it):
    python3 -m venv ../venv && ../venv/bin/pip install torch numpy safetensors
    ../venv/bin/python scripts/make_pth_fixtures.py

Writes, in crates/nabla/tests/fixtures/pth/:

  state_dict.pth            a dict of tensors in every layout the reader must
                            handle: float32, float64, float16 (with infinities,
                            a subnormal and -0), bfloat16, int64 (beyond 2**31);
                            five views of one shared storage (whole, rows at an
                            offset, a slice at an odd offset, the transpose, a
                            column step), a broadcast view (stride 0), a scalar
                            and an empty tensor
  state_dict_legacy.pth     the same dict in the legacy (pre-1.6, non-zip)
                            format: `_use_new_zipfile_serialization=False`
  state_dict_expected.safetensors
                            the same tensors made contiguous, float16 and
                            bfloat16 as float32 (exact), int64 as int64
  nested.pth                a training checkpoint: {"model": an OrderedDict state
                            dict, "tied": the model's weight again (one tensor
                            pickled twice), "epoch": 3, "names": ["a", "b"],
                            "optimizer": SGD's state dict (int keys, lists)}
  parameters.pth            dict(model.named_parameters()) of a Linear(3, 2):
                            tensors pickled as nn.Parameter (_rebuild_parameter)
  conv_bn.pth               model.state_dict() of the Conv2d + BatchNorm2d of
                            conv_bn_weights.safetensors (make_lenet_fixtures.py),
                            with its int64 num_batches_tracked (3); the eval
                            output is conv_bn_io.safetensors's
  lenet5.pth                model.state_dict() of the reference LeNet-5 of
                            lenet5_weights.safetensors; its logits for
                            lenet5_io.safetensors's input are that file's
  lenet5_trained.pth        model.state_dict() of the trained LeNet-5 of
                            lenet5_trained.safetensors (make_trained_lenet_fixture.py),
                            for `nabla eval` and `nabla convert` end to end
  deflated.pth              conv_bn.pth's entries recompressed with deflate,
                            which torch.save never writes (nabla refuses it
                            with a message saying so)
  malicious_system.pth      a zip archive laid out as torch.save's whose
                            data.pkl (written by pickle from an object whose
                            __reduce__ is os.system) would run
                            `touch /tmp/nabla_pth_pwned` when unpickled: the
                            global is `posix.system`
  malicious_eval.pth        the same with builtins.eval, pickle protocol 4
                            (STACK_GLOBAL instead of GLOBAL)
  malicious_legacy.pth      the legacy format's header pickles, then a pickle
                            calling os.system

Each checkpoint is loaded back with torch.load(weights_only=True) and compared
with what was saved; the malicious ones are checked to be refused by
torch.load(weights_only=True) too, without running them.
"""
import io
import os
import pickle
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_lenet_fixtures import LeNet5  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "crates" / "nabla" / "tests" / "fixtures"
OUT = FIXTURES / "pth"
PWNED = "/tmp/nabla_pth_pwned"


def layouts():
    g = torch.Generator().manual_seed(0)
    base = torch.arange(24, dtype=torch.float32) * 0.5 - 3.0
    grid = base.view(4, 6)
    f16 = torch.cat([
        torch.randn(4, generator=g),
        torch.tensor([float("inf"), float("-inf"), 6e-8, -0.0, 65504.0, 1.0 / 3.0]),
    ]).half()
    tensors = {
        "f32": torch.randn(2, 3, generator=g),
        "f64": torch.randn(3, 2, generator=g, dtype=torch.float64),
        "f16": f16,
        "bf16": torch.randn(2, 2, generator=g).to(torch.bfloat16),
        "i64": torch.tensor([0, -1, 2**40, 7], dtype=torch.int64),
        "shared_whole": grid,
        "shared_rows": grid[1:3],
        "shared_offset": base[5:11],
        "shared_transposed": grid.t(),
        "shared_step": grid[:, ::2],
        "broadcast": torch.randn(3, 1, generator=g).expand(3, 4),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
    }
    assert not tensors["shared_transposed"].is_contiguous()
    assert tensors["shared_offset"].storage_offset() == 5
    assert tensors["broadcast"].stride() == (1, 0)
    return tensors


def expected(tensors):
    out = {}
    for name, t in tensors.items():
        if t.dtype in (torch.float16, torch.bfloat16):
            t = t.float()
        out[name] = t.contiguous().clone()
    return out


def check_loads(path, saved):
    loaded = torch.load(path, weights_only=True)
    assert loaded.keys() == saved.keys(), path
    for name, t in saved.items():
        assert torch.equal(loaded[name], t), (path, name)


class RunsCommand:
    """Unpickling an instance calls its __reduce__'s callable: os.system."""

    def __reduce__(self):
        return (os.system, (f"touch {PWNED}",))


class EvaluatesCode:
    def __reduce__(self):
        return (eval, (f"__import__('os').system('touch {PWNED}')",))


def torch_like_zip(path, pickled):
    """A zip archive with torch.save's entries, data.pkl being `pickled`."""
    stem = path.stem
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(f"{stem}/data.pkl", pickled)
        z.writestr(f"{stem}/byteorder", "little")
        z.writestr(f"{stem}/version", "3\n")


def refused_by_torch(path):
    try:
        torch.load(path, weights_only=True)
    except pickle.UnpicklingError:
        return True
    return False


def malicious():
    system = pickle.dumps(RunsCommand(), protocol=2)
    assert b"posix\nsystem" in system, "os.system pickles as posix.system on Linux"
    torch_like_zip(OUT / "malicious_system.pth", system)
    evaluate = pickle.dumps(EvaluatesCode(), protocol=4)
    assert b"builtins" in evaluate and b"\x93" in evaluate, "protocol 4 names it with STACK_GLOBAL"
    torch_like_zip(OUT / "malicious_eval.pth", evaluate)
    legacy = io.BytesIO()
    # torch.serialization's legacy header: magic number, protocol version, system info.
    pickle.dump(0x1950A86A20F9469CFC6C, legacy, protocol=2)
    pickle.dump(1001, legacy, protocol=2)
    pickle.dump({"protocol_version": 1001, "little_endian": True,
                 "type_sizes": {"short": 2, "int": 4, "long": 4}}, legacy, protocol=2)
    pickle.dump(RunsCommand(), legacy, protocol=2)
    (OUT / "malicious_legacy.pth").write_bytes(legacy.getvalue())
    for name in ["malicious_system.pth", "malicious_eval.pth", "malicious_legacy.pth"]:
        assert refused_by_torch(OUT / name), name
    assert not os.path.exists(PWNED)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    tensors = layouts()
    torch.save(tensors, OUT / "state_dict.pth")
    check_loads(OUT / "state_dict.pth", tensors)
    torch.save(tensors, OUT / "state_dict_legacy.pth", _use_new_zipfile_serialization=False)
    check_loads(OUT / "state_dict_legacy.pth", tensors)
    save_file(expected(tensors), str(OUT / "state_dict_expected.safetensors"))

    torch.manual_seed(1)
    linear = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.1, momentum=0.9)
    linear(torch.randn(4, 3)).square().sum().backward()
    optimizer.step()
    model_state = linear.state_dict()
    assert isinstance(model_state, OrderedDict)
    nested = {
        "model": model_state,
        "tied": model_state["weight"],
        "epoch": 3,
        "names": ["a", "b"],
        "optimizer": optimizer.state_dict(),
    }
    torch.save(nested, OUT / "nested.pth")
    torch.save(dict(linear.named_parameters()), OUT / "parameters.pth")
    assert isinstance(torch.load(OUT / "parameters.pth", weights_only=True)["weight"], nn.Parameter)

    conv_bn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    conv_bn.load_state_dict(load_file(str(FIXTURES / "conv_bn_weights.safetensors")))
    assert conv_bn.state_dict()["1.num_batches_tracked"].dtype == torch.int64
    torch.save(conv_bn.state_dict(), OUT / "conv_bn.pth")
    with zipfile.ZipFile(OUT / "conv_bn.pth") as stored, \
            zipfile.ZipFile(OUT / "deflated.pth", "w", compression=zipfile.ZIP_DEFLATED) as deflated:
        for entry in stored.infolist():
            deflated.writestr(entry.filename.replace("conv_bn/", "deflated/"), stored.read(entry))
    check_loads(OUT / "deflated.pth", conv_bn.state_dict())

    lenet = LeNet5()
    lenet.load_state_dict(load_file(str(FIXTURES / "lenet5_weights.safetensors")))
    io_tensors = load_file(str(FIXTURES / "lenet5_io.safetensors"))
    with torch.no_grad():
        # The same weights give lenet5_io.safetensors's logits (up to the
        # order of float32 sums, which depends on the threads).
        assert torch.allclose(lenet(io_tensors["input"]), io_tensors["logits"], rtol=1e-5, atol=1e-6)
    torch.save(lenet.state_dict(), OUT / "lenet5.pth")

    trained = LeNet5()
    trained.load_state_dict(load_file(str(FIXTURES / "lenet5_trained.safetensors")))
    torch.save(trained.state_dict(), OUT / "lenet5_trained.pth")

    malicious()
    for path in sorted(OUT.iterdir()):
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
