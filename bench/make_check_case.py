"""Writes the learner's files for bench/check.sh: a BERT-base-sized layer (L = 512, E = 768, 12
heads, causal mask) computed by a student's float32 PyTorch code, saved with np.savez.

  /usr/bin/python3 bench/make_check_case.py INPUT.json OUT_DIR

correct.npz        every tensor a student computes (q, k, v, scores, scaled, masked, weights,
                   context per head, merged context, output), right
scale_missing.npz  the same code without 1/√d: every tensor from `scaled` on differs
output-only.npz    only attn_output of the scale_missing run: the mistake must be found by
                   replaying every candidate all the way to the output
"""
import json
import sys

import numpy as np
import torch


def attention(spec, scale=True):
    x = torch.tensor(spec["input"], dtype=torch.float32)
    w = spec["weights"]
    W = torch.tensor(w["in_proj_weight"], dtype=torch.float32)
    b = torch.tensor(w["in_proj_bias"], dtype=torch.float32)
    Wo = torch.tensor(w["out_proj.weight"], dtype=torch.float32)
    bo = torch.tensor(w["out_proj.bias"], dtype=torch.float32)
    L, E = x.shape
    H = spec["num_heads"]
    d = E // H
    q, k, v = (x @ W.T + b).chunk(3, dim=-1)
    heads = lambda t: t.view(L, H, d).transpose(0, 1)
    qh, kh, vh = heads(q), heads(k), heads(v)
    scores = qh @ kh.transpose(-2, -1)
    scaled = scores / d**0.5 if scale else scores
    blocked = torch.triu(torch.ones(L, L, dtype=torch.bool), 1)
    masked = scaled.masked_fill(blocked, float("-inf"))
    weights = torch.softmax(masked, dim=-1)
    context = weights @ vh
    merged = context.transpose(0, 1).reshape(L, E)
    output = merged @ Wo.T + bo
    return dict(q=q, k=k, v=v, attn_scores=scores, scaled_scores=scaled, masked_scores=masked,
                attn_weights=weights, context=context, concat=merged, attn_output=output)


def main():
    spec = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    with torch.no_grad():
        right = attention(spec)
        wrong = attention(spec, scale=False)
    np.savez(f"{out}/correct.npz", **{k: t.numpy() for k, t in right.items()})
    np.savez(f"{out}/scale_missing.npz", **{k: t.numpy() for k, t in wrong.items()})
    np.savez(f"{out}/output-only.npz", attn_output=wrong["attn_output"].numpy())


if __name__ == "__main__":
    main()
