#!/usr/bin/python3
"""The files docs/check.md runs `attn-trace check` on, written the way a student's code writes them.

    /usr/bin/python3 docs/check/make_examples.py [OUT]     # OUT: docs/check (the default)

writes into OUT:

- mine.npz: docs/check/student.py's correct attention on the bundled example `multihead`
  (data/examples/multihead.json), every tensor saved with np.savez;
- mistakes/ID.json, one per entry of the catalogue (docs/check.md#the-catalogue): the same
  attention with that one mistake made (the wrong line docs/check.md shows), the tensors a student
  typically saves (q, k, v, attn_scores, attn_weights, and attn_output, or context where there is
  no out_proj) written with json.dump, as
  float32 numbers (nine digits) and -inf as the string "-inf";
- mistakes/ID-one-head.json for the mistakes that can also be made with one head, on the bundled
  example `karim` (one head, (in, out) weights, no bias, no scale, no out_proj);
- large-scores.json: an input, `multihead` with every input number ×20, whose scores overflow
  float32's exp (softmax_overflow);
- mistakes/softmax_overflow.json: the softmax without the max subtracted, on large-scores.json;
- weights-only.json: karim's attn_weights alone, softmax over the wrong axis (the page's JSON
  report, kept short);
- typo.json and transposed.json: right tensors of multihead, one of them misspelt (attn_wieghts)
  or transposed (q.T), for the page's error messages.

Every number is computed in float32, as a student's NumPy or PyTorch code computes it, so the
files also show that check's default tolerance accepts float32. tests/docs/check_schema.py runs
this script into a temporary folder and fails when its files differ from the committed ones.
NumPy only.
"""
import copy
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import student  # noqa: E402  (docs/check/student.py, the correct attention)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def attention(x, w_qkv, b_qkv, w_o, b_o, H, mask, scale=True, mistake=None):
    """student.attention, with one mistake of the catalogue made where `mistake` names it.

    x (L, E); w_qkv (3E, E), b_qkv (3E,) as nn.Linear stores them (out, in); w_o (E, E) or None
    (no out_proj); mask (L, L) with 1 where query i may attend key j, or None; scale False for
    an input that does not scale its scores (karim).
    """
    L, E = x.shape
    D = w_qkv.shape[0] // 3  # E, except in karim (D = 3)
    d = D // H
    w_q, w_k, w_v = np.split(w_qkv, 3)  # (D, E) each
    b_q, b_k, b_v = np.split(b_qkv, 3)

    # projections
    if mistake == "qkv_order":
        k, q, v = np.split(x @ w_qkv.T + b_qkv, 3, axis=-1)  # wrong: q, k, v
    elif mistake == "weights_transposed":
        q, k, v = x @ w_q + b_q, x @ w_k + b_k, x @ w_v + b_v  # wrong: x @ w_q.T + b_q
    elif mistake == "bias_missing":
        q, k, v = x @ w_q.T, x @ w_k.T, x @ w_v.T  # wrong: + b_q …
    else:
        q, k, v = x @ w_q.T + b_q, x @ w_k.T + b_k, x @ w_v.T + b_v

    # split_heads: (L, E) → (H, L, d)
    def split(t):
        if mistake == "heads_interleaved":
            return t.reshape(L, d, H).transpose(2, 0, 1)  # wrong: reshape(L, H, d).transpose(1, 0, 2)
        return t.reshape(L, H, d).transpose(1, 0, 2)

    qh, kh, vh = split(q), split(k), split(v)
    scores = qh @ kh.transpose(0, 2, 1)  # (H, L, L)

    # scaling
    if mistake == "scale_sqrt_embed":
        scaled = scores / np.sqrt(E)  # wrong: np.sqrt(d)
    elif mistake == "scale_missing":
        scaled = scores  # wrong: scores / np.sqrt(d)
    elif mistake == "scale_by_d":
        scaled = scores / d  # wrong: np.sqrt(d)
    elif not scale:
        scaled = scores
    else:
        scaled = scores / np.sqrt(d)

    # masking
    if mask is None:
        masked = scaled
    elif mistake == "mask_inverted":
        masked = np.where(mask == 1, -np.inf, scaled)  # wrong: mask == 0
    elif mistake == "causal_off_by_one":
        blocked = np.triu(np.ones((L, L), dtype=bool), k=0)  # wrong: k=1
        masked = np.where(blocked, -np.inf, scaled)
    elif mistake == "mask_not_infinite":
        masked = scaled * mask  # wrong: np.where(mask == 0, -np.inf, scaled)
    else:
        masked = np.where(mask == 0, -np.inf, scaled)

    # softmax
    if mistake == "softmax_wrong_axis":
        weights = softmax(masked, axis=-2)  # wrong: axis=-1
    elif mistake == "mask_after_softmax":
        weights = softmax(scaled) * mask  # wrong: softmax of the masked scores
    elif mistake == "softmax_overflow":
        e = np.exp(masked)  # wrong: np.exp(masked - masked.max(axis=-1, keepdims=True))
        weights = e / e.sum(axis=-1, keepdims=True)
    else:
        weights = softmax(masked)

    # summation
    if mistake == "context_wrong_axis":
        context = weights.transpose(0, 2, 1) @ vh  # wrong: weights @ vh
    else:
        context = weights @ vh  # (H, L, d)

    # merge_heads: (H, L, d) → (L, D)
    if mistake == "heads_merge_order":
        merged = context.transpose(1, 2, 0).reshape(L, D)  # wrong: transpose(1, 0, 2)
    else:
        merged = context.transpose(1, 0, 2).reshape(L, D)

    # out_proj
    if w_o is None:
        output = merged
    elif mistake == "out_proj_missing":
        output = merged  # wrong: merged @ w_o.T + b_o
    elif mistake == "weights_transposed":
        output = merged @ w_o + b_o  # wrong: merged @ w_o.T + b_o
    elif mistake == "bias_missing":
        output = merged @ w_o.T  # wrong: + b_o
    else:
        output = merged @ w_o.T + b_o
    tensors = {"q": q, "k": k, "v": v, "attn_scores": scores, "attn_weights": weights}
    if w_o is None:  # no out_proj: the trace's last tensor is the context (output is an error)
        tensors["context"] = merged
    else:
        tensors["attn_output"] = output
    return tensors


def load(name):
    with open(os.path.join(ROOT, "data", "examples", name + ".json")) as f:
        return json.load(f)


def f32(a):
    return np.asarray(a, dtype=np.float32)


def multihead_args(example):
    w = example["weights"]
    return (f32(example["input"]), f32(w["qkv.weight"]), f32(w["qkv.bias"]),
            f32(w["out_proj.weight"]), f32(w["out_proj.bias"]), example["num_heads"],
            f32(example["mask"]))


def karim_args(example):
    # karim's weights are (in, out), used as x·W: as nn.Linear would store them, (out, in), they
    # are their transposes. No bias, no out_proj, no mask.
    w = example["weights"]
    w_qkv = np.concatenate([f32(w[n]).T for n in ("W_q", "W_k", "W_v")])
    E = w_qkv.shape[0] // 3
    return (f32(example["input"]), w_qkv, np.zeros(3 * E, np.float32), None, None,
            example["num_heads"], None)


def number(v):
    """A float32 as JSON: nine significant digits (enough to give back the same float32)."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return float(f"{v:.9g}")


def nested(a):
    return number(a) if a.ndim == 0 else [nested(row) for row in a]


def write_json(path, tensors):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({name: nested(np.asarray(t)) for name, t in tensors.items()}, f)
        f.write("\n")


# The catalogue in docs/check.md's order, and the ones that can also be made with karim's one
# head (karim does not scale, has no mask, no bias and no out_proj, and its weights are not square).
CATALOGUE = ["qkv_order", "weights_transposed", "bias_missing", "heads_interleaved",
             "scale_sqrt_embed", "scale_missing", "scale_by_d", "mask_inverted",
             "causal_off_by_one", "mask_not_infinite", "softmax_wrong_axis", "mask_after_softmax",
             "softmax_overflow", "context_wrong_axis", "heads_merge_order", "out_proj_missing"]
ONE_HEAD = ["qkv_order", "softmax_wrong_axis", "context_wrong_axis"]


def main(out):
    multihead = load("multihead")
    student.main(os.path.join(ROOT, "data", "examples", "multihead.json"),
                 os.path.join(out, "mine.npz"))

    large = copy.deepcopy(multihead)
    large["name"] = "multihead, every input number ×20"
    large["description"] = ("The bundled example multihead with its input multiplied by 20, so "
                            "that the scaled scores reach the hundreds and exp overflows in "
                            "float32 (docs/check.md#softmax_overflow). Written by "
                            "docs/check/make_examples.py.")
    large["input"] = [[round(20 * v, 4) for v in row] for row in multihead["input"]]
    del large["source"]
    with open(os.path.join(out, "large-scores.json"), "w") as f:
        json.dump(large, f, indent=2, ensure_ascii=False)
        f.write("\n")

    for mistake in CATALOGUE:
        example = large if mistake == "softmax_overflow" else multihead
        with np.errstate(over="ignore", invalid="ignore"):  # the mistakes' own inf and nan
            tensors = attention(*multihead_args(example), mistake=mistake)
        write_json(os.path.join(out, "mistakes", mistake + ".json"), tensors)
    karim = load("karim")
    for mistake in ONE_HEAD:
        tensors = attention(*karim_args(karim), scale=False, mistake=mistake)
        write_json(os.path.join(out, "mistakes", mistake + "-one-head.json"), tensors)
        if mistake == "softmax_wrong_axis":
            write_json(os.path.join(out, "weights-only.json"),
                       {"attn_weights": tensors["attn_weights"]})
    right = attention(*multihead_args(multihead))
    write_json(os.path.join(out, "typo.json"),
               {"q": right["q"], "attn_wieghts": right["attn_weights"]})
    write_json(os.path.join(out, "transposed.json"), {"q": right["q"].T, "k": right["k"]})


if __name__ == "__main__":
    if len(sys.argv) > 2:
        sys.exit("usage: make_examples.py [OUT]")
    main(sys.argv[1] if len(sys.argv) == 2 else HERE)
