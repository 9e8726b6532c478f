#!/usr/bin/env python3
"""Write tests/state_dicts/: real PyTorch modules' state_dicts, traced with run --weights.

Each case is a directory with three files:
  input.json     the input file (X, tokens, num_heads unless --heads gives it, a mask), as a
                 user writes it
  weights.json   the module's state_dict, dumped as the docs say:
                     json.dump({k: v.tolist() for k, v in m.state_dict().items()}, f)
  expected.json  {"name", "covers", "args": {"weights_prefix", "heads"},
                  "stages": {stage: {tensor: {"shape", "data"}}}}
The expected tensors are what the modules themselves compute: the attention weights and output
that nn.MultiheadAttention returns (need_weights=True, average_attn_weights=False), or the output
of the tutorials' own forward code, and Q, K, V from the layer's own weights. The modules are
created as PyTorch creates them (float32, the default initialisation, seeded) and then run in
float64, so the state_dicts hold float32 values and the results are exact to double rounding.
tests/unit/test_state_dicts.cpp traces each case through load_spec with the same options and
requires every tensor within 1e-9 relative.

Cases
  encoder-layer           nn.TransformerEncoderLayer's whole state_dict; --weights-prefix
                          self_attn. picks its attention; batched input; --heads 2
  encoder-second-layer    nn.TransformerEncoder with two layers; layers.1.self_attn. of it
  seed001-linear-names    seed 001's MySelfAttention: linear_q/linear_k/linear_v with biases
  seed004-qkv-out-proj    seed 004's SelfAttention: qkv (rows q, k, v) and out_proj, two heads,
                          hidden_size 4 ≠ input_size 6, a 0/1 keep-mask, two sequences
  gpt2-conv1d             GPT-2's attention (Hugging Face's GPT2Attention, Conv1D weights stored
                          (in, out)), the second of two blocks, causal

Rerun from the repository root with Debian's python3-torch:
    /usr/bin/python3 tools/make_state_dict_goldens.py
"""

import json
import math
import os

import torch

from tutorial_modules import MySelfAttention, SelfAttention

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "state_dicts")


def rounded(shape, generator, decimals=3):
    return torch.round(torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1,
                       decimals=decimals)


def tensor_entry(t):
    t = t.detach().double()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def write_case(name, covers, doc, state_dict, args, stages):
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "input.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    with open(os.path.join(folder, "weights.json"), "w") as f:
        json.dump({k: v.tolist() for k, v in state_dict.items()}, f)
        f.write("\n")
    expected = {"name": name, "covers": covers, "args": args,
                "stages": {stage: {t: tensor_entry(v) for t, v in tensors.items()}
                           for stage, tensors in stages.items()}}
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print(f"tests/state_dicts/{name}: {len(state_dict)} keys")


def mha_stages(mha, x):
    """Q, K, V from the layer's own in_proj, and what nn.MultiheadAttention returns."""
    w_q, w_k, w_v = mha.in_proj_weight.chunk(3)
    b_q, b_k, b_v = mha.in_proj_bias.chunk(3)
    lin = torch.nn.functional.linear
    output, weights = mha(x, x, x, need_weights=True, average_attn_weights=False)
    return {"projections": {"Q": lin(x, w_q, b_q), "K": lin(x, w_k, b_k), "V": lin(x, w_v, b_v)},
            "softmax": {"weights": weights}, "out_proj": {"output": output}}


def encoder_layer():
    torch.manual_seed(11)
    layer = torch.nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0,
                                             batch_first=True).double().eval()
    g = torch.Generator().manual_seed(1)
    x = rounded((2, 5, 8), g)
    doc = {"input": x.tolist()}
    with torch.no_grad():
        stages = mha_stages(layer.self_attn, x)
    write_case("encoder-layer",
               "a whole nn.TransformerEncoderLayer state_dict (self_attn., linear1., norm1., ...); "
               "--weights-prefix self_attn.; num_heads from --heads; batched input",
               doc, layer.state_dict(), {"weights_prefix": "self_attn.", "heads": 2}, stages)


def encoder_second_layer():
    torch.manual_seed(12)
    layer = torch.nn.TransformerEncoderLayer(d_model=8, nhead=4, dim_feedforward=16, dropout=0.0)
    encoder = torch.nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
    # TransformerEncoder copies one layer, so both start equal; training would make them differ.
    with torch.no_grad():
        for p in encoder.layers[1].parameters():
            p.add_(torch.rand(p.shape) * 0.2 - 0.1)
    encoder = encoder.double().eval()
    g = torch.Generator().manual_seed(2)
    x = rounded((4, 8), g)
    doc = {"input": x.tolist(), "tokens": ["the", "cat", "sat", "down"], "num_heads": 4}
    with torch.no_grad():
        stages = mha_stages(encoder.layers[1].self_attn, x)
    write_case("encoder-second-layer",
               "nn.TransformerEncoder with two layers: layers.1.self_attn. picked by "
               "--weights-prefix (without the trailing dot); num_heads from the input",
               doc, encoder.state_dict(), {"weights_prefix": "layers.1.self_attn"}, stages)


def seed001():
    torch.manual_seed(13)
    module = MySelfAttention(4).double()
    g = torch.Generator().manual_seed(3)
    x = rounded((3, 4), g)
    # One head: MySelfAttention has no heads to split. A state_dict does not record the count, so
    # the input says it (attn-trace refuses to guess it).
    doc = {"input": x.tolist(), "num_heads": 1, "scale": "embed_dim"}
    with torch.no_grad():
        q, k, v, weights, context = module(x)
    write_case("seed001-linear-names",
               "seed 001's module names linear_q/k/v .weight/.bias, a state_dict of one module "
               "without prefix; scale hidden_size ** -0.5",
               doc, module.state_dict(), {},
               {"projections": {"Q": q, "K": k, "V": v}, "softmax": {"weights": weights},
                "summation": {"context": context}})


def seed004():
    torch.manual_seed(14)
    module = SelfAttention(input_size=6, hidden_size=4, num_head=2).double()
    g = torch.Generator().manual_seed(4)
    x = rounded((2, 3, 6), g)
    # The tutorial's mask, [N, Tk, Tq]: in the first sequence, key 2 is hidden from query 0.
    mask = torch.ones(2, 3, 3)
    mask[0, 2, 0] = 0
    mask[1, 0, 2] = 0
    doc = {"input": x.tolist(), "num_heads": 2,
           "mask": mask.transpose(1, 2).int().tolist()}  # the tool's keep-mask is [N, Tq, Tk]
    with torch.no_grad():
        q, k, v, att_weight, output = module(x, mask)
    weights = module.weights_as_traced(att_weight)
    write_case("seed004-qkv-out-proj",
               "seed 004's module names qkv.weight/qkv.bias and out_proj.*, hidden_size 4 with "
               "input_size 6, two heads, its [N, Tk, Tq] keep-mask given transposed",
               doc, module.state_dict(), {},
               {"projections": {"Q": q, "K": k, "V": v}, "softmax": {"weights": weights},
                "out_proj": {"output": output}})


class Conv1D(torch.nn.Module):
    """Hugging Face's Conv1D: a linear layer whose weight is stored (in, out), y = x·W + b."""

    def __init__(self, nf, nx):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(nx, nf) * 0.02)
        self.bias = torch.nn.Parameter(torch.randn(nf) * 0.02)

    def forward(self, x):
        return torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight).view(
            *x.shape[:-1], self.weight.shape[1])


class GPT2Attention(torch.nn.Module):
    """GPT2Attention's forward for one sequence (transformers 4.x, scale_attn_weights=True):
    split c_attn(x) into q, k, v, split heads, q·kᵀ / √d, causal mask with the dtype's minimum,
    softmax, ·v, merge heads, c_proj."""

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.c_attn = Conv1D(3 * embed_dim, embed_dim)
        self.c_proj = Conv1D(embed_dim, embed_dim)

    def forward(self, x):
        q, k, v = self.c_attn(x).split(self.embed_dim, dim=-1)
        t, d = x.shape[0], self.embed_dim // self.num_heads
        heads = [m.view(t, self.num_heads, d).transpose(0, 1) for m in (q, k, v)]
        scores = heads[0] @ heads[1].transpose(-1, -2) / math.sqrt(d)
        causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
        scores = torch.where(causal, scores, torch.tensor(torch.finfo(scores.dtype).min,
                                                          dtype=scores.dtype))
        weights = torch.softmax(scores, dim=-1)
        context = (weights @ heads[2]).transpose(0, 1).reshape(t, self.embed_dim)
        return q, k, v, weights, self.c_proj(context)


def gpt2():
    torch.manual_seed(15)
    blocks = torch.nn.ModuleDict()
    for i in range(2):  # two blocks, with the names GPT-2's state_dict has
        block = torch.nn.Module()
        block.ln_1 = torch.nn.LayerNorm(8)
        block.attn = GPT2Attention(8, 2)
        block.mlp = torch.nn.Module()
        block.mlp.c_fc = Conv1D(32, 8)
        block.mlp.c_proj = Conv1D(8, 32)
        blocks[str(i)] = block
    model = torch.nn.Module()
    model.h = blocks
    model = model.double()
    g = torch.Generator().manual_seed(5)
    x = rounded((4, 8), g)
    doc = {"input": x.tolist(), "tokens": ["I", "am", "very", "good"], "num_heads": 2,
           "mask": "causal"}
    with torch.no_grad():
        q, k, v, weights, output = model.h["1"].attn(x)
    write_case("gpt2-conv1d",
               "GPT-2's Conv1D names c_attn.* (E, 3E) and c_proj.* stored (in, out), h.1.attn. "
               "of two blocks whose mlp.c_proj must not count as a layer; causal",
               doc, model.state_dict(), {"weights_prefix": "h.1.attn."},
               {"projections": {"Q": q, "K": k, "V": v}, "softmax": {"weights": weights},
                "out_proj": {"output": output}})


def main():
    encoder_layer()
    encoder_second_layer()
    seed001()
    seed004()
    gpt2()


if __name__ == "__main__":
    main()
