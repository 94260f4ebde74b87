"""The language models of nabla's benchmarks and fixtures, in PyTorch.

GPT follows nanoGPT's model.py (github.com/karpathy/nanoGPT): token and
learned position embeddings, pre-LayerNorm blocks of causal self-attention
(one c_attn product for q, k, v; scaled_dot_product_attention with
is_causal) and an MLP (c_fc, exact GELU, c_proj), a final LayerNorm, lm_head
tied to wte; init N(0, 0.02), residual projections N(0, 0.02/sqrt(2 n_layer)).
CharLSTM is nabla's zoo::char_lstm: embedding -> nn.LSTM(batch_first) -> fc.

The benchmark functions mirror crates/nabla/src/bench/language_models.rs:
same shapes, optimizers, clipping and arithmetic.
"""

import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (nanoGPT's)."""

    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_attn = nn.Linear(c["n_embd"], 3 * c["n_embd"], bias=c["bias"])
        self.c_proj = nn.Linear(c["n_embd"], c["n_embd"], bias=c["bias"])
        self.n_head = c["n_head"]

    def forward(self, x):
        b, t, e = x.shape
        q, k, v = self.c_attn(x).split(e, dim=2)
        heads = lambda z: z.view(b, t, self.n_head, e // self.n_head).transpose(1, 2)
        y = F.scaled_dot_product_attention(heads(q), heads(k), heads(v), is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, e))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = nn.Linear(c["n_embd"], 4 * c["n_embd"], bias=c["bias"])
        self.c_proj = nn.Linear(4 * c["n_embd"], c["n_embd"], bias=c["bias"])

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = LayerNorm(c["n_embd"], c["bias"])
        self.attn = CausalSelfAttention(c)
        self.ln_2 = LayerNorm(c["n_embd"], c["bias"])
        self.mlp = MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(c["vocab_size"], c["n_embd"]),
                wpe=nn.Embedding(c["block_size"], c["n_embd"]),
                h=nn.ModuleList([Block(c) for _ in range(c["n_layer"])]),
                ln_f=LayerNorm(c["n_embd"], c["bias"]),
            )
        )
        self.lm_head = nn.Linear(c["n_embd"], c["vocab_size"], bias=False)
        self.transformer.wte.weight = self.lm_head.weight
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, 0.0, 0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * c["n_layer"]))

    def forward(self, ids):
        t = ids.shape[1]
        x = self.transformer.wte(ids) + self.transformer.wpe(torch.arange(t))
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))

    @torch.no_grad()
    def generate_greedy(self, ids, tokens):
        """nanoGPT's generate at temperature 0: the context cropped to the
        last block_size characters, the whole window recomputed each step."""
        for _ in range(tokens):
            window = ids[:, -self.config["block_size"]:]
            next_id = self(window)[:, -1, :].argmax(dim=-1, keepdim=True)
            ids = torch.cat((ids, next_id), dim=1)
        return ids


class CharLSTM(nn.Module):
    def __init__(self, vocab, embedding_dim=128, hidden=128, layers=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden, layers, batch_first=True)
        self.fc = nn.Linear(hidden, vocab)

    def forward(self, ids):
        return self.fc(self.lstm(self.embedding(ids))[0])


def nanogpt_config(vocab=65):
    """nanoGPT's CPU configuration."""
    return dict(vocab_size=vocab, block_size=64, n_layer=4, n_head=4, n_embd=128, bias=False)


def nanogpt_adamw(model, lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1):
    """nanoGPT's configure_optimizers: decay on parameters of 2+ dimensions."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr, betas=betas)


def median_seconds(warmup, repetitions, f):
    for _ in range(warmup):
        f()
    times = []
    for _ in range(max(1, repetitions)):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def train_step(model, optimizer, batch, time_steps, vocab, clip):
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(0, vocab, (batch, time_steps), generator=g)
    targets = torch.randint(0, vocab, (batch, time_steps), generator=g)

    def run():
        optimizer.zero_grad(set_to_none=True)
        logits = model(ids)
        loss = F.cross_entropy(logits.view(-1, vocab), targets.view(-1))
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()

    return run


def gpt_train_tokens_per_s(repetitions):
    torch.manual_seed(5)
    model = GPT(nanogpt_config())
    run = train_step(model, nanogpt_adamw(model), 12, 64, 65, 1.0)
    return 12 * 64 / median_seconds(2, repetitions * 2, run)


def lstm_train_tokens_per_s(repetitions):
    torch.manual_seed(6)
    model = CharLSTM(65)
    run = train_step(model, torch.optim.Adam(model.parameters(), lr=2e-3), 50, 50, 65, None)
    return 50 * 50 / median_seconds(2, repetitions, run)


def gpt_generate_tokens_per_s(repetitions):
    torch.manual_seed(8)
    model = GPT(nanogpt_config())
    model.eval()
    prompt = torch.zeros((1, 1), dtype=torch.long)
    return 500 / median_seconds(1, (repetitions + 1) // 2, lambda: model.generate_greedy(prompt, 500))
