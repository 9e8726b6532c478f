"""A student's multi-head attention in NumPy, done right: the assignment of docs/check.md.

    python3 docs/check/student.py data/examples/multihead.json mine.npz

reads the assignment's input (an attn-trace input file: the bundled example `multihead`, as
`attn-trace examples --show multihead` prints it), computes attention in float32 and saves every
intermediate tensor with np.savez, under the names attn-trace check knows (docs/check.md#names).
"""
import json
import sys

import numpy as np


def attention(x, w_qkv, b_qkv, w_o, b_o, num_heads, mask):
    """Multi-head self-attention as nn.MultiheadAttention computes it.

    x (L, E); w_qkv (3E, E) and b_qkv (3E,): W_q, W_k, W_v stacked, each (out, in) as nn.Linear
    stores it; w_o (E, E), b_o (E,); mask (L, L), 1 where query i may attend key j.
    """
    L, E = x.shape
    H = num_heads
    d = E // H
    q, k, v = np.split(x @ w_qkv.T + b_qkv, 3, axis=-1)  # (L, E) each
    # Head h takes columns h·d … (h+1)·d − 1: (L, E) → (L, H, d) → (H, L, d)
    qh = q.reshape(L, H, d).transpose(1, 0, 2)
    kh = k.reshape(L, H, d).transpose(1, 0, 2)
    vh = v.reshape(L, H, d).transpose(1, 0, 2)
    scores = qh @ kh.transpose(0, 2, 1)  # (H, L, L)
    scaled = scores / np.sqrt(d)
    masked = np.where(mask == 0, -np.inf, scaled)
    e = np.exp(masked - masked.max(axis=-1, keepdims=True))  # subtract the max: no overflow
    weights = e / e.sum(axis=-1, keepdims=True)  # each row sums to 1
    context = weights @ vh  # (H, L, d)
    merged = context.transpose(1, 0, 2).reshape(L, E)  # the heads side by side
    output = merged @ w_o.T + b_o
    return {"q": q, "k": k, "v": v, "attn_scores": scores, "scaled": scaled, "masked": masked,
            "attn_weights": weights, "context": context, "attn_output": output}


def main(input_path, mine_path):
    with open(input_path) as f:
        example = json.load(f)
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    w = example["weights"]
    tensors = attention(f32(example["input"]), f32(w["qkv.weight"]), f32(w["qkv.bias"]),
                        f32(w["out_proj.weight"]), f32(w["out_proj.bias"]),
                        example["num_heads"], f32(example["mask"]))
    np.savez(mine_path, **tensors)


if __name__ == "__main__":
    main(*sys.argv[1:])
