#!/usr/bin/env python3
"""Generate PyTorch golden values for nabla's sequence layers.

Writes, under crates/nabla/tests/fixtures/:

  rnn.json                   the cases below, which crates/nabla/tests/rnn_golden.rs
                             checks nabla against
  rnn_lstm_state.safetensors the float32 state_dict of a 2-layer bidirectional
                             nn.LSTM(3, 4, batch_first=True), saved with
                             safetensors.torch.save_file (case "lstm_from_safetensors"
                             of rnn.json holds an input and PyTorch's results)
  char_lstm_state.safetensors the float32 state_dict of the char-LSTM
                             (embedding -> 2-layer LSTM -> fc; case
                             "char_lstm_from_safetensors" holds ids and logits)

How to run (from the repository root, with the virtual environment of
scripts/make_fixtures.py, whose seeding and number formatting this script
reuses):

    /path/to/venv/bin/python scripts/make_rnn_fixtures.py

The output is deterministic: every case draws its weights and inputs from a
torch.Generator seeded with the CRC32 of the case name. Data is drawn in
float64; the float32 variant of a case uses the same data cast to float32,
its golden values computed by PyTorch in float32.

Fixture format: {"generator", "torch_version", "cases": [case, ...]}, where
a case is

    {"name": str, "layer": str, "dtype": "float32" | "float64",
     "params": {...},            # the layer's constructor arguments
     "weights": {name: tensor},  # the state_dict, copied into the layer
     "input": tensor,            # padded when "lengths" is present
     "lengths": [int, ...],      # optional: the layers run on
                                 # pack_padded_sequence(input, lengths,
                                 # batch_first, enforce_sorted=False), the
                                 # output padded back by pad_packed_sequence
                                 # with total_length = the input's steps
     "h0": tensor, "c0": tensor, # optional initial states
     "output": tensor, "h_n": tensor, "c_n": tensor,   # c_n: LSTM only
     "loss_weights": {key: tensor},   # loss = sum over key in (output,
                                 # h_n, c_n) of (result[key] * weight).sum()
     "grads": {name: tensor}}    # d loss / d every parameter (by its
                                 # state-dict name), "input", "h0", "c0"

with tensor = {"shape": [..], "values": [..]} (flat, row-major), numbers
written as in make_fixtures.py. Cells ("rnn_cell", "lstm_cell", "gru_cell")
take input [B, F] and h0 (c0) [B, H] and return h_n (and c_n) only.
"embedding" cases have integer "ids" ({"shape", "values"}) instead of
"input", a "padding_idx" param, and output "output" and grads "weight".

Layers: rnn (params input_size, hidden_size, num_layers, nonlinearity, bias,
batch_first, bidirectional), lstm and gru (the same without nonlinearity),
rnn_cell (input_size, hidden_size, bias, nonlinearity), lstm_cell, gru_cell
(input_size, hidden_size, bias), embedding (num_embeddings, embedding_dim,
padding_idx), char_lstm (vocab_size, embedding_dim, hidden_size, num_layers).
"""

import json
import os
import sys
import zlib

import torch
from safetensors.torch import save_file
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import DTYPE_NAMES, F32, F64, Gen, dump, tensor_json  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "crates", "nabla", "tests", "fixtures")
OUT = os.path.join(FIXTURES, "rnn.json")
LSTM_STATE = os.path.join(FIXTURES, "rnn_lstm_state.safetensors")
CHAR_LSTM_STATE = os.path.join(FIXTURES, "char_lstm_state.safetensors")

CASES = []

LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
CELLS = {"rnn_cell": nn.RNNCell, "lstm_cell": nn.LSTMCell, "gru_cell": nn.GRUCell}


def fill_weights(module, g, scale=0.6):
    """Overwrites every parameter with U(-scale, scale) draws of `g`, in
    state_dict order, and returns the float64 values by name."""
    weights = {}
    with torch.no_grad():
        for name, p in module.named_parameters():
            values = g.uniform(-scale, scale, *p.shape)
            p.copy_(values)
            weights[name] = values
    return weights


def run_layer(layer, params, weights, x, lengths, h0, c0, dtype):
    """The layer in `dtype` on the inputs: (results by key, module, inputs
    that require grad by key)."""
    kind = LAYERS[layer]
    kwargs = dict(params)
    module = kind(**kwargs).to(dtype)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(weights[name].to(dtype))
    leaves = {"input": x.detach().to(dtype).clone().requires_grad_(True)}
    if h0 is not None:
        leaves["h0"] = h0.detach().to(dtype).clone().requires_grad_(True)
    if c0 is not None:
        leaves["c0"] = c0.detach().to(dtype).clone().requires_grad_(True)
    state = None
    if layer == "lstm" and h0 is not None:
        state = (leaves["h0"], leaves["c0"])
    elif h0 is not None:
        state = leaves["h0"]
    batch_first = params.get("batch_first", False)
    inp = leaves["input"]
    if lengths is not None:
        steps = inp.shape[1 if batch_first else 0]
        packed = pack_padded_sequence(inp, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
        out, final = module(packed, state)
        out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=steps)
    else:
        out, final = module(inp, state)
    results = {"output": out}
    if layer == "lstm":
        results["h_n"], results["c_n"] = final
    else:
        results["h_n"] = final
    return results, module, leaves


def run_cell(layer, params, weights, x, h0, c0, dtype):
    module = CELLS[layer](**params).to(dtype)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(weights[name].to(dtype))
    leaves = {"input": x.detach().to(dtype).clone().requires_grad_(True)}
    if h0 is not None:
        leaves["h0"] = h0.detach().to(dtype).clone().requires_grad_(True)
    if c0 is not None:
        leaves["c0"] = c0.detach().to(dtype).clone().requires_grad_(True)
    if layer == "lstm_cell":
        state = (leaves["h0"], leaves["c0"]) if h0 is not None else None
        h, c = module(leaves["input"], state)
        results = {"h_n": h, "c_n": c}
    else:
        results = {"h_n": module(leaves["input"], leaves.get("h0"))}
    return results, module, leaves


def record(name, layer, params, g, x, lengths=None, h0=None, c0=None, dtypes=(F64,)):
    """Runs `layer` in each dtype on the same float64 data and appends the
    cases."""
    probe = (CELLS if layer in CELLS else LAYERS)[layer](**params).to(F64)
    weights = fill_weights(probe, g)
    loss_weights = None
    for dtype in dtypes:
        if layer in CELLS:
            results, module, leaves = run_cell(layer, params, weights, x, h0, c0, dtype)
        else:
            results, module, leaves = run_layer(layer, params, weights, x, lengths, h0, c0, dtype)
        if loss_weights is None:
            loss_weights = {k: g.randn(*v.shape) for k, v in results.items()}
        loss = sum((v * loss_weights[k].to(dtype)).sum() for k, v in results.items())
        loss.backward()
        grads = {n: p.grad for n, p in module.named_parameters()}
        grads.update({k: t.grad for k, t in leaves.items()})
        case = {
            "name": name,
            "layer": layer,
            "dtype": DTYPE_NAMES[dtype],
            "params": params,
            "weights": {n: tensor_json(w.to(dtype)) for n, w in weights.items()},
            "input": tensor_json(x.to(dtype)),
        }
        if lengths is not None:
            case["lengths"] = lengths
        if h0 is not None:
            case["h0"] = tensor_json(h0.to(dtype))
        if c0 is not None:
            case["c0"] = tensor_json(c0.to(dtype))
        case.update({k: tensor_json(v) for k, v in results.items()})
        case["loss_weights"] = {k: tensor_json(v.to(dtype)) for k, v in loss_weights.items()}
        case["grads"] = {k: tensor_json(v) for k, v in grads.items()}
        CASES.append(case)


def layer_cases():
    F, H, T, B = 3, 4, 5, 3
    for layer, extra in [
        ("rnn", {"nonlinearity": "tanh"}),
        ("rnn", {"nonlinearity": "relu"}),
        ("lstm", {}),
        ("gru", {}),
    ]:
        tag = layer if layer != "rnn" else "rnn_" + extra["nonlinearity"]
        states = 2 if layer == "lstm" else 1
        configs = [
            # (suffix, num_layers, bidirectional, batch_first, bias, initial state, lengths)
            ("uni_1layer", 1, False, False, True, False, None),
            ("uni_1layer_batch_first_h0", 1, False, True, True, True, None),
            ("bi_1layer", 1, True, False, True, False, None),
            ("uni_2layers_h0", 2, False, False, True, True, None),
            ("bi_2layers_batch_first_h0", 2, True, True, True, True, None),
            ("no_bias_bi_2layers", 2, True, False, False, False, None),
            ("uni_2layers_padded", 2, False, False, True, True, [3, 5, 2]),
            ("bi_1layer_batch_first_padded", 1, True, True, True, True, [4, 2, 4]),
            ("bi_2layers_padded_short", 2, True, False, True, False, [2, 3, 1]),
        ]
        for suffix, layers, bi, batch_first, bias, with_state, lengths in configs:
            name = f"{tag}_{suffix}"
            g = Gen(name)
            params = dict(input_size=F, hidden_size=H, num_layers=layers, bias=bias,
                          batch_first=batch_first, bidirectional=bi, **extra)
            x = g.randn(*((B, T, F) if batch_first else (T, B, F)))
            d = 2 if bi else 1
            h0 = g.randn(layers * d, B, H) if with_state else None
            c0 = g.randn(layers * d, B, H) if with_state and states == 2 else None
            dtypes = (F64, F32) if suffix.startswith("bi_2layers_batch_first") else (F64,)
            record(name, layer, params, g, x, lengths=lengths, h0=h0, c0=c0, dtypes=dtypes)
        # Unbatched input [T, F] with a state [L * D, H].
        name = f"{tag}_unbatched"
        g = Gen(name)
        params = dict(input_size=F, hidden_size=H, num_layers=2, bidirectional=True, **extra)
        h0 = g.randn(4, H)
        c0 = g.randn(4, H) if states == 2 else None
        record(name, layer, params, g, g.randn(T, F), h0=h0, c0=c0)


def cell_cases():
    F, H, B = 3, 4, 3
    for layer, extra in [
        ("rnn_cell", {"nonlinearity": "tanh"}),
        ("rnn_cell", {"nonlinearity": "relu"}),
        ("lstm_cell", {}),
        ("gru_cell", {}),
    ]:
        tag = layer if layer != "rnn_cell" else "rnn_cell_" + extra["nonlinearity"]
        for suffix, bias, with_state in [("h0", True, True), ("zero_state", True, False), ("no_bias", False, True)]:
            name = f"{tag}_{suffix}"
            g = Gen(name)
            params = dict(input_size=F, hidden_size=H, bias=bias, **extra)
            x = g.randn(B, F)
            h0 = g.randn(B, H) if with_state else None
            c0 = g.randn(B, H) if with_state and layer == "lstm_cell" else None
            record(name, layer, params, g, x, h0=h0, c0=c0, dtypes=(F64, F32))


def embedding_cases():
    for name, padding_idx in [("embedding", None), ("embedding_padding", 1)]:
        g = Gen(name)
        for dtype in (F64, F32):
            module = nn.Embedding(6, 3, padding_idx=padding_idx).to(dtype)
            weight = g.randn(6, 3) if dtype == F64 else weight
            with torch.no_grad():
                module.weight.copy_(weight.to(dtype))
            ids = torch.tensor([[1, 2, 1, 5], [0, 1, 1, 3]])
            out = module(ids)
            grad_out = g.randn(*out.shape) if dtype == F64 else grad_out
            (out * grad_out.to(dtype)).sum().backward()
            CASES.append({
                "name": name,
                "layer": "embedding",
                "dtype": DTYPE_NAMES[dtype],
                "params": {"num_embeddings": 6, "embedding_dim": 3, "padding_idx": padding_idx},
                "weights": {"weight": tensor_json(weight.to(dtype))},
                "ids": {"shape": list(ids.shape), "values": ids.reshape(-1).tolist()},
                "output": tensor_json(out),
                "loss_weights": {"output": tensor_json(grad_out.to(dtype))},
                "grads": {"weight": tensor_json(module.weight.grad)},
            })


def state_dict_cases():
    """A PyTorch LSTM and a char-LSTM saved as safetensors, with their
    float32 results on fixed inputs."""
    name = "lstm_from_safetensors"
    g = Gen(name)
    torch.manual_seed(zlib.crc32(name.encode()))
    params = dict(input_size=3, hidden_size=4, num_layers=2, batch_first=True, bidirectional=True)
    lstm = nn.LSTM(**params)
    save_file({k: v.contiguous() for k, v in lstm.state_dict().items()}, LSTM_STATE)
    x = g.randn(2, 5, 3).to(F32)
    with torch.no_grad():
        out, (h_n, c_n) = lstm(x)
    CASES.append({
        "name": name, "layer": "lstm", "dtype": "float32", "params": params,
        "input": tensor_json(x), "output": tensor_json(out), "h_n": tensor_json(h_n), "c_n": tensor_json(c_n),
    })

    name = "char_lstm_from_safetensors"
    torch.manual_seed(zlib.crc32(name.encode()))
    g = Gen(name)
    config = dict(vocab_size=11, embedding_dim=5, hidden_size=6, num_layers=2)

    class CharLstm(nn.Module):
        def __init__(self, vocab_size, embedding_dim, hidden_size, num_layers):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embedding_dim)
            self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers, batch_first=True)
            self.fc = nn.Linear(hidden_size, vocab_size)

        def forward(self, ids):
            out, _ = self.lstm(self.embedding(ids))
            return self.fc(out)

    model = CharLstm(**config)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, CHAR_LSTM_STATE)
    ids = g.randint(config["vocab_size"], 2, 7)
    with torch.no_grad():
        logits = model(ids)
    CASES.append({
        "name": name, "layer": "char_lstm", "dtype": "float32", "params": config,
        "ids": {"shape": list(ids.shape), "values": ids.reshape(-1).tolist()},
        "output": tensor_json(logits),
        "state_dict_names": list(model.state_dict().keys()),
    })


def main():
    torch.use_deterministic_algorithms(True)
    layer_cases()
    cell_cases()
    embedding_cases()
    state_dict_cases()

    names = [(c["name"], c["dtype"]) for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    header = {"generator": "scripts/make_rnn_fixtures.py", "torch_version": torch.__version__}
    lines = ["{" + ",".join(json.dumps(k) + ":" + json.dumps(v) for k, v in header.items()) + ',"cases":[']
    lines.append(",\n".join(dump(c) for c in CASES))
    lines.append("]}")
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    json.load(open(OUT))  # well-formed
    size = os.path.getsize(OUT)
    print(f"wrote {len(CASES)} cases to {os.path.relpath(OUT, REPO)}: {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
