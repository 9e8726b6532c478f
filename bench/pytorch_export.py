#!/usr/bin/env python3
"""The PyTorch way of exporting a step trace, for bench/export_bert.sh to compare against.

Usage: pytorch_export.py INPUT.json OUTPUT.json

Does what a user would do in a notebook: read the same attn-trace input with json, compute every
intermediate of the stage table except weighted_values (X, Q, K, V, the heads, scores, scaled,
weights, context per head, merged context, output) with torch in float64, and json.dump them.
Prints the seconds from reading the input to the end of json.dump (interpreter start-up and
`import torch` are not counted), and checks the output against torch.nn.MultiheadAttention.
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F


def main():
    source, destination = sys.argv[1], sys.argv[2]
    start = time.perf_counter()
    with open(source) as f:
        doc = json.load(f)
    w = doc["weights"]
    x = torch.tensor(doc["input"], dtype=torch.float64)                 # (L, E)
    L, E = x.shape
    H = doc.get("num_heads", 1)
    d = E // H
    in_w = torch.tensor(w["in_proj_weight"], dtype=torch.float64)       # (3E, E)
    in_b = torch.tensor(w["in_proj_bias"], dtype=torch.float64)         # (3E)
    out_w = torch.tensor(w["out_proj.weight"], dtype=torch.float64)     # (E, E)
    out_b = torch.tensor(w["out_proj.bias"], dtype=torch.float64)       # (E)

    q = F.linear(x, in_w[:E], in_b[:E])
    k = F.linear(x, in_w[E:2 * E], in_b[E:2 * E])
    v = F.linear(x, in_w[2 * E:], in_b[2 * E:])
    qh, kh, vh = (t.view(L, H, d).transpose(0, 1) for t in (q, k, v))  # (H, L, d)
    scores = qh @ kh.transpose(1, 2)                                     # (H, L, L)
    scaled = scores * (1.0 / math.sqrt(d))
    weights = torch.softmax(scaled, dim=-1)
    context_h = weights @ vh                                             # (H, L, d)
    context = context_h.transpose(0, 1).reshape(L, E)
    output = F.linear(context, out_w, out_b)

    trace = {"input": {"X": x.tolist()},
             "projections": {"Q": q.tolist(), "K": k.tolist(), "V": v.tolist()},
             "split_heads": {"Q": qh.tolist(), "K": kh.tolist(), "V": vh.tolist()},
             "scores": {"scores": scores.tolist()}, "scaling": {"scaled": scaled.tolist()},
             "softmax": {"weights": weights.tolist()}, "summation": {"context": context_h.tolist()},
             "merge_heads": {"context": context.tolist()}, "out_proj": {"output": output.tolist()}}
    with open(destination, "w") as f:
        json.dump(trace, f)
    seconds = time.perf_counter() - start

    mha = torch.nn.MultiheadAttention(E, H, dtype=torch.float64)
    mha.load_state_dict({"in_proj_weight": in_w, "in_proj_bias": in_b,
                         "out_proj.weight": out_w, "out_proj.bias": out_b})
    mha.train()  # the plain path (eval mode takes a fused one)
    expected, _ = mha(x, x, x, need_weights=False)
    assert torch.allclose(output, expected, rtol=1e-9, atol=1e-12), "differs from PyTorch's MHA"
    print(f"{seconds:.2f}")


if __name__ == "__main__":
    main()
