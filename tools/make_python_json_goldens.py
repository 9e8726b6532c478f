#!/usr/bin/env python3
"""Write tests/python_json/: files as Python's json.dump writes them, NaN and Infinity included.

json.dump's default (allow_nan=True) writes float('nan') as NaN and ±float('inf') as Infinity and
-Infinity, which attn-trace reads as those numbers. Each case here is dumped exactly that way, with
no conversion, from a real torch.nn.MultiheadAttention, and a directory of three files:
  input.json     the input file (X, tokens, num_heads, an attn_mask), json.dump(doc, f)
  weights.json   the module's state_dict, json.dump({k: v.tolist() ...}, f)
  expected.json  {"name", "covers", "args": {}, "stages": {stage: {tensor: {"shape", "data"}}}},
                 what the module computes: Q, K, V from its own in_proj, the attention weights
                 and the output it returns (need_weights=True, average_attn_weights=False). Here,
                 read by nlohmann's strict parser, nan and ±inf are the strings "nan", "inf",
                 "-inf", as in tests/golden/ and tests/state_dicts/.

Cases
  causal-mask      PyTorch's own causal mask, nn.Transformer.generate_square_subsequent_mask(4):
                   0 on and below the diagonal, -inf above, dumped as -Infinity
  nan-input        the same with a NaN in one token of X: every score that reads it is nan, and
                   so is every row of weights (nan + -inf is nan), as in PyTorch
  infinite-bias    the causal mask, and out_proj.bias[0] = Infinity: the output's first column
                   is inf, the rest finite

tests/unit/test_load.cpp traces each through load_spec and requires every tensor within 1e-9
relative, with nan and inf exactly where PyTorch has them.

Rerun from the repository root with Debian's python3-torch:
    /usr/bin/python3 tools/make_python_json_goldens.py
"""

import json
import math
import os

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "python_json")
E, H, L = 4, 2, 4
TOKENS = ["the", "cat", "sat", "down"]


def number(v):
    """A golden number: nan and ±inf as the strings strict JSON needs."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def tensor_entry(t):
    t = t.detach().double()
    return {"shape": list(t.shape), "data": [number(float(v)) for v in t.reshape(-1).tolist()]}


def module():
    """nn.MultiheadAttention as PyTorch creates it (float32, seeded), then run in float64."""
    torch.manual_seed(15)
    return torch.nn.MultiheadAttention(E, H, batch_first=True).double().eval()


def stages(mha, x, mask):
    w_q, w_k, w_v = mha.in_proj_weight.chunk(3)
    b_q, b_k, b_v = mha.in_proj_bias.chunk(3)
    lin = torch.nn.functional.linear
    with torch.no_grad():
        output, weights = mha(x, x, x, attn_mask=mask, need_weights=True,
                              average_attn_weights=False)
        return {"projections": {"Q": lin(x, w_q, b_q), "K": lin(x, w_k, b_k),
                                "V": lin(x, w_v, b_v)},
                "softmax": {"weights": weights}, "out_proj": {"output": output}}


def write_case(name, covers, x, edit_state_dict=None):
    mha = module()
    if edit_state_dict:
        with torch.no_grad():
            edit_state_dict(mha)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(L)  # float32: 0 and -inf
    assert mask.dtype == torch.float32 and torch.isinf(mask).sum() == L * (L - 1) // 2
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    doc = {"name": f"Python's JSON: {name}", "description": covers, "input": x.tolist(),
           "tokens": TOKENS, "num_heads": H, "attn_mask": mask.tolist()}
    with open(os.path.join(folder, "input.json"), "w") as f:
        json.dump(doc, f, indent=1)  # allow_nan=True, the default: -Infinity, NaN
        f.write("\n")
    with open(os.path.join(folder, "weights.json"), "w") as f:
        json.dump({k: v.tolist() for k, v in mha.state_dict().items()}, f)
        f.write("\n")
    expected = {"name": name, "covers": covers, "args": {},
                "stages": {stage: {t: tensor_entry(v) for t, v in tensors.items()}
                           for stage, tensors in stages(mha, x, mask.double()).items()}}
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, allow_nan=False)
        f.write("\n")
    # What the files hold is what this script meant: Python's words for the numbers, as they are.
    with open(os.path.join(folder, "input.json")) as f:
        assert "-Infinity" in f.read()
    print(f"tests/python_json/{name}")


def main():
    generator = torch.Generator().manual_seed(15)
    x = torch.round(torch.rand(L, E, generator=generator, dtype=torch.float64) * 2 - 1,
                    decimals=2)
    write_case("causal-mask", "nn.Transformer.generate_square_subsequent_mask(4) as attn_mask, "
               "dumped by json.dump as -Infinity", x)

    x_nan = x.clone()
    x_nan[1, 2] = math.nan
    write_case("nan-input", "a NaN in token 1 of X, with the causal mask", x_nan)

    def infinite_bias(mha):
        mha.out_proj.bias[0] = math.inf

    write_case("infinite-bias", "out_proj.bias[0] = Infinity in the state_dict, with the causal "
               "mask", x, infinite_bias)


if __name__ == "__main__":
    main()
