#!/usr/bin/python3
"""Write tests/check/: the learners' files that `attn-trace check` is tested with.

Run from anywhere with Debian's python3 (NumPy and PyTorch):

    /usr/bin/python3 tools/make_check_cases.py

What it writes (everything under tests/check/, committed with this script):

  inputs/*.json     small attention problems in attn-trace's input format (docs/input-format.md),
                    each checked here against torch.nn.MultiheadAttention in float64; and the
                    input documents of the PyTorch goldens used (inputs/golden-*.json)
  mine/*.npz|json   what a learner's own NumPy attention saves: the correct one (must pass) and
                    one buggy variant per classic mistake of the check catalogue (must fail at
                    the stage where the mistake starts, with that mistake's id first)
  cases.tsv         one line per case: MINE, INPUT, exit status, first differing stage, first
                    diagnosis id (`-` for none)

The learner's code is `attention()` below: one float32 NumPy implementation, written the way a
course assignment is (x @ W.T + b, reshape(L, H, d), masked_fill with -inf, stable softmax, …),
with one flag per mistake. Everything is deterministic (fixed seeds; the .npz archives get a
fixed timestamp), so running it again rewrites the same bytes.

Before writing a file the script asserts what the file is meant to show:
  - every input gives torch's float64 output and weights (our float64 reference is right);
  - on the goldens, the float64 reference and the float32 learner match every stage of
    tests/golden/*.json (PyTorch's numbers) within rtol 1e-4 / atol 1e-6;
  - a correct learner's file matches the reference within rtol 1e-4 / atol 1e-6, tensor by tensor;
  - a buggy learner's file differs, and the first tensor (in stage order) that differs is in the
    stage where the mistake starts, or the first later stage the file holds.
"""

import json
import math
import os
import shutil
import sys
import time
import zipfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "check")
RTOL, ATOL = 1e-4, 1e-6

STAGES = ["input", "projections", "extra_keys", "split_heads", "scores", "scaling", "masking",
          "softmax", "weighted_values", "summation", "merge_heads", "out_proj"]


# ----------------------------------------------------------------------------------------------
# The problem: one attention setting, read from an input document (ours, a golden's, an example)
# ----------------------------------------------------------------------------------------------

def _arr(v):
    """Nested lists (with "-inf" strings) -> float64 array."""
    def conv(x):
        if isinstance(x, list):
            return [conv(y) for y in x]
        if isinstance(x, str):
            return {"-inf": -math.inf, "inf": math.inf, "nan": math.nan}[x]
        return float(x)
    return np.array(conv(v), dtype=np.float64)


def _is_bool_tree(v):
    while isinstance(v, list):
        if not v:
            return False
        v = v[0]
    return isinstance(v, bool)


class Unsupported(Exception):
    pass


def load_problem(doc):
    """An input document -> a dict the learner's code and the reference both take.

    Everything is in torch layout (W is (out, in), used as x @ W.T) with a batch axis: X (B, L, E),
    XK (B, S, kdim), XV (B, S, vdim). `keep` is a boolean (B or 1, 1, L, S) keep-matrix (True = may
    attend) or None; `add` a float (B or 1, H or 1, L, S) additive mask (a float attn_mask) or None.
    """
    for key in ("bias_k", "bias_v"):
        if key in doc.get("weights", {}):
            raise Unsupported("bias_k/bias_v")
    if doc.get("add_zero_attn"):
        raise Unsupported("add_zero_attn")
    X = _arr(doc["input"])
    batched = X.ndim == 3
    if not batched:
        X = X[None]
    B, L, E = X.shape

    def side(key):
        a = _arr(doc[key])
        return a if batched else a[None]
    if "kv_input" in doc:
        XK = XV = side("kv_input")
    elif "key_input" in doc:
        XK, XV = side("key_input"), side("value_input")
    else:
        XK = XV = X
    S = XK.shape[1]

    w = {k: _arr(v) for k, v in doc.get("weights", {}).items()}
    math_layout = doc.get("weight_layout", "torch") == "math"

    def lay(m):  # a matrix whose layout follows weight_layout -> torch layout
        return m.T if math_layout else m

    p = {"packed": None}
    if "in_proj_weight" in w:
        W = lay(w["in_proj_weight"])
        D = W.shape[0] // 3
        p["packed"] = (W, w.get("in_proj_bias"))
        p["Wq"], p["Wk"], p["Wv"] = W[:D], W[D:2 * D], W[2 * D:]
        b = w.get("in_proj_bias")
        p["bq"], p["bk"], p["bv"] = (None,) * 3 if b is None else (b[:D], b[D:2 * D], b[2 * D:])
    elif "q_proj_weight" in w:
        p["Wq"], p["Wk"], p["Wv"] = (lay(w[k + "_proj_weight"]) for k in "qkv")
        D = p["Wq"].shape[0]
        b = w.get("in_proj_bias")
        p["bq"], p["bk"], p["bv"] = (None,) * 3 if b is None else (b[:D], b[D:2 * D], b[2 * D:])
    elif "W_q" in w:
        p["Wq"], p["Wk"], p["Wv"] = (lay(w["W_" + k]) for k in "qkv")
        p["bq"], p["bk"], p["bv"] = (w.get("b_" + k) for k in "qkv")
    elif "linear_q.weight" in w:
        p["Wq"], p["Wk"], p["Wv"] = (w["linear_%s.weight" % k] for k in "qkv")
        p["bq"], p["bk"], p["bv"] = (w.get("linear_%s.bias" % k) for k in "qkv")
    elif "qkv.weight" in w:
        W = w["qkv.weight"]
        D = W.shape[0] // 3
        p["packed"] = (W, w.get("qkv.bias"))
        p["Wq"], p["Wk"], p["Wv"] = W[:D], W[D:2 * D], W[2 * D:]
        b = w.get("qkv.bias")
        p["bq"], p["bk"], p["bv"] = (None,) * 3 if b is None else (b[:D], b[D:2 * D], b[2 * D:])
    else:  # no weights: Q = X, K = key input, V = value input
        p["Wq"], p["Wk"], p["Wv"] = np.eye(E), np.eye(XK.shape[2]), np.eye(XV.shape[2])
        p["bq"] = p["bk"] = p["bv"] = None
        p["identity"] = True
    known = {"in_proj_weight", "in_proj_bias", "q_proj_weight", "k_proj_weight", "v_proj_weight",
             "W_q", "W_k", "W_v", "b_q", "b_k", "b_v", "linear_q.weight", "linear_k.weight",
             "linear_v.weight", "linear_q.bias", "linear_k.bias", "linear_v.bias", "qkv.weight",
             "qkv.bias", "out_proj.weight", "out_proj.bias", "W_o", "b_o"}
    if set(w) - known:
        raise Unsupported("weights " + ", ".join(sorted(set(w) - known)))
    if "out_proj.weight" in w:
        p["Wo"], p["bo"] = lay(w["out_proj.weight"]), w.get("out_proj.bias")
    elif "W_o" in w:
        p["Wo"], p["bo"] = lay(w["W_o"]), w.get("b_o")
    else:
        p["Wo"] = p["bo"] = None
    D = p["Wq"].shape[0]
    H = int(doc.get("num_heads", 1))
    d = D // H
    scale = doc.get("scale", "head_dim")
    scale = {"head_dim": 1 / math.sqrt(d), "embed_dim": 1 / math.sqrt(E), "none": 1.0}.get(
        scale, scale)

    keep = np.ones((1, 1, L, S), dtype=bool)
    any_keep = False
    causal = False
    add = None
    if "mask" in doc:
        any_keep = True
        if doc["mask"] == "causal":
            causal = True
            keep = keep & (np.arange(S)[None, :] <= np.arange(L)[:, None])
        else:
            m = _arr(doc["mask"]) == 1
            keep = keep & (m[:, None] if m.ndim == 3 else m)
    if "attn_mask" in doc:
        if _is_bool_tree(doc["attn_mask"]):
            any_keep = True
            m = ~np.array(doc["attn_mask"], dtype=bool)
            if m.ndim == 3:
                m = m.reshape(B if batched else 1, H, L, S)
            keep = keep & m
        else:
            a = _arr(doc["attn_mask"])
            add = a.reshape(B if batched else 1, H, L, S) if a.ndim == 3 else a
    if "key_padding_mask" in doc:
        any_keep = True
        kpm = np.array(doc["key_padding_mask"], dtype=bool)  # true = that key is ignored
        keep = keep & ((~kpm)[:, None, None, :] if kpm.ndim == 2 else ~kpm)
    return {"X": X, "XK": XK, "XV": XV, "batched": batched, "p": p, "H": H, "E": E, "D": D,
            "d": d, "L": L, "S": S, "B": B, "scale": float(scale),
            "keep": keep if any_keep else None, "add": add, "causal": causal,
            "has_mask": any_keep or add is not None}


# ----------------------------------------------------------------------------------------------
# The learner's attention: float32 NumPy, with one flag per classic mistake
# ----------------------------------------------------------------------------------------------

def softmax(s, axis=-1, stable=True):
    if stable:  # subtract the max, for numerical stability (a fully blocked row stays nan)
        with np.errstate(invalid="ignore"):
            e = np.exp(s - s.max(axis=axis, keepdims=True))
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(s)
    with np.errstate(invalid="ignore"):
        return e / e.sum(axis=axis, keepdims=True)


def attention(pr, bug=None, variant=None, dtype=np.float32):
    """The learner's forward pass. Returns the trace's tensors, each with axes (B, H, L, …) or
    (B, L, …): {"Q", "K", "V" (B, L|S, D), "Qh", "Kh", "Vh" (B, H, L|S, d), "scores", "scaled",
    "masked" (None without a mask, or when the learner has no such tensor), "weights"
    (B, H, L, S), "context_h" (B, H, L, d), "context" (B, L, D), "output" (B, L, E) or None}."""
    f = lambda a: None if a is None else np.asarray(a, dtype=dtype)  # noqa: E731
    x, xk, xv = f(pr["X"]), f(pr["XK"]), f(pr["XV"])
    p = pr["p"]
    H, D = pr["H"], pr["D"]
    d = D // H
    B, L, S = x.shape[0], x.shape[1], xk.shape[1]

    # 1. projections: Q = x W_q^T + b_q (nn.Linear), from the packed in_proj when there is one
    Wq, Wk, Wv = f(p["Wq"]), f(p["Wk"]), f(p["Wv"])
    bq, bk, bv = f(p["bq"]), f(p["bk"]), f(p["bv"])
    if bug == "qkv_order":  # the packed blocks read in another order
        W, b = f(p["packed"][0]), f(p["packed"][1])
        blocks = {"q": slice(0, D), "k": slice(D, 2 * D), "v": slice(2 * D, 3 * D)}
        order = dict(zip("qkv", variant))  # e.g. "kqv": the first block read as K, …
        Wq, Wk, Wv = (W[blocks[order[n]]] for n in "qkv")
        bq, bk, bv = (b[blocks[order[n]]] for n in "qkv")
    if bug == "bias_missing" and variant in ("all", "in_proj"):
        bq = bk = bv = None

    def linear(a, W, b):
        y = a @ W if bug == "weights_transposed" else a @ W.T
        return y if b is None else y + b
    Q, K, V = linear(x, Wq, bq), linear(xk, Wk, bk), linear(xv, Wv, bv)

    # 2. split heads: (B, L, D) -> (B, H, L, d)
    def split(t):
        n = t.shape[1]
        if bug == "heads_interleaved":
            return t.reshape(B, n, d, H).transpose(0, 3, 1, 2)
        return t.reshape(B, n, H, d).transpose(0, 2, 1, 3)
    Qh, Kh, Vh = split(Q), split(K), split(V)

    # 3. scores and scaling
    scores = Qh @ Kh.transpose(0, 1, 3, 2)
    scale = pr["scale"]
    if bug == "scale_missing":
        scale = 1.0
    elif bug == "scale_by_d":
        scale = 1.0 / d
    elif bug == "scale_sqrt_embed":
        scale = 1.0 / math.sqrt(pr["E"] if variant != "D" else D)
    scaled = scores * dtype(scale)

    # 4. masking: masked_fill(mask == 0, -inf), plus a float attn_mask added as it is
    keep = pr["keep"]
    if keep is not None:
        if bug == "mask_inverted":
            keep = ~keep
        if bug == "causal_off_by_one":
            k = -1 if variant == "self" else 1  # cannot see itself / sees the next one
            keep = np.tril(np.ones((L, S), dtype=bool), k)[None, None]
    masked = None
    if pr["has_mask"]:
        masked = scaled
        if keep is not None and bug != "mask_after_softmax":
            fill = -np.inf if bug != "mask_not_infinite" else float(variant)
            masked = np.where(keep, scaled, dtype(fill))
        if pr["add"] is not None:
            masked = masked + f(pr["add"])
    logits = scaled if masked is None else masked

    # 5. softmax over the keys
    weights = softmax(logits, axis=-2 if bug == "softmax_wrong_axis" else -1,
                      stable=bug != "softmax_overflow")
    if bug == "mask_after_softmax":
        weights = weights * keep
        masked = None  # this learner never had a masked-scores tensor

    # 6. weights times V, summed over the keys
    if bug == "context_wrong_axis":
        context_h = weights.transpose(0, 1, 3, 2) @ Vh
    else:
        context_h = weights @ Vh

    # 7. merge heads: (B, H, L, d) -> (B, L, D)
    if bug == "heads_interleaved":
        context = context_h.transpose(0, 2, 3, 1).reshape(B, L, D)
    elif bug == "heads_merge_order" and variant == "reversed":
        context = context_h[:, ::-1].transpose(0, 2, 1, 3).reshape(B, L, D)
    elif bug == "heads_merge_order" and variant == "interleaved":
        context = context_h.transpose(0, 2, 3, 1).reshape(B, L, D)
    else:
        context = context_h.transpose(0, 2, 1, 3).reshape(B, L, D)

    # 8. output projection
    output = None
    if p["Wo"] is not None:
        Wo, bo = f(p["Wo"]), f(p["bo"])
        if bug == "bias_missing" and variant in ("all", "out_proj"):
            bo = None
        if bug == "out_proj_missing":
            output = context
        else:
            output = context @ Wo if bug == "weights_transposed" else context @ Wo.T
            if bo is not None:
                output = output + bo
    return {"Q": Q, "K": K, "V": V, "Qh": Qh, "Kh": Kh, "Vh": Vh, "scores": scores,
            "scaled": scaled, "masked": masked, "weights": weights, "context_h": context_h,
            "context": context, "output": output}


def reference(pr):
    """The trace's numbers: the same code in float64, without mistakes."""
    return attention(pr, dtype=np.float64)


# Where each internal tensor lives in the trace, in stage order.
TRACE = [("Q", "projections", "Q"), ("K", "projections", "K"), ("V", "projections", "V"),
         ("Qh", "split_heads", "Q"), ("Kh", "split_heads", "K"), ("Vh", "split_heads", "V"),
         ("scores", "scores", "scores"), ("scaled", "scaling", "scaled"),
         ("masked", "masking", "masked"), ("weights", "softmax", "weights"),
         ("context_h", "summation", "context"), ("context", "merge_heads", "context"),
         ("output", "out_proj", "output")]
STAGE_OF = {k: s for k, s, _ in TRACE}


def trace_shape(pr, key, t):
    """The shape the trace gives this tensor: no batch axis unless batched, no head axis for one
    head, no split_heads or merge_heads stage for one head."""
    shape = list(t.shape)
    if key in ("Qh", "Kh", "Vh", "scores", "scaled", "masked", "weights", "context_h"):
        if pr["H"] == 1:
            del shape[1]
    if not pr["batched"]:
        del shape[0]
    return tuple(shape)


def in_trace(pr, key, ref):
    if ref.get(key) is None:
        return False
    if key in ("Qh", "Kh", "Vh", "context") and pr["H"] == 1:
        return False  # no split_heads / merge_heads with one head
    return True


def close(a, b):
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True))


# ----------------------------------------------------------------------------------------------
# PyTorch: the inputs mean what we think
# ----------------------------------------------------------------------------------------------

def check_with_torch(pr, name):
    """nn.MultiheadAttention in float64 on the problem gives our reference's output and weights."""
    p = pr["p"]
    assert p["Wo"] is not None and pr["add"] is None
    E, H = pr["E"], pr["H"]
    assert pr["scale"] == 1 / math.sqrt(pr["d"])
    mha = torch.nn.MultiheadAttention(E, H, batch_first=True, dtype=torch.float64)
    t = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    # the module's packed in_proj, from W_q, W_k, W_v in torch layout
    mha.load_state_dict({"in_proj_weight": t(np.concatenate([p["Wq"], p["Wk"], p["Wv"]])),
                         "in_proj_bias": t(np.concatenate([p["bq"], p["bk"], p["bv"]])),
                         "out_proj.weight": t(p["Wo"]), "out_proj.bias": t(p["bo"])})
    kw = {}
    if pr["keep"] is not None:
        keep = np.broadcast_to(pr["keep"], (pr["B"], 1, pr["L"], pr["S"]))
        # one (B·H, L, S) boolean attn_mask, true = blocked, covers every kind of keep mask
        kw["attn_mask"] = torch.tensor(np.repeat(~keep, H, axis=1).reshape(-1, pr["L"], pr["S"]))
    with torch.no_grad():
        out, w = mha(t(pr["X"]), t(pr["XK"]), t(pr["XV"]), need_weights=True,
                     average_attn_weights=False, **kw)
    ref = reference(pr)
    assert np.allclose(out.numpy(), ref["output"], rtol=1e-10, atol=1e-12), name
    assert np.allclose(w.numpy(), ref["weights"], rtol=1e-10, atol=1e-12, equal_nan=True), name


def check_with_golden(pr, golden, name):
    """Our float64 reference and the float32 learner against every stage of a PyTorch golden."""
    ref, mine = reference(pr), attention(pr)
    checked = 0
    for key, stage, tname in TRACE:
        g = golden["stages"].get(stage, {}).get(tname)
        if g is None or not in_trace(pr, key, ref):
            continue
        want = np.array([math.nan if v is None else v for v in g["data"]],
                        dtype=np.float64).reshape(g["shape"])
        for label, ours in (("float64", ref[key]), ("float32", mine[key])):
            got = ours.reshape(trace_shape(pr, key, ours)).astype(np.float64)
            assert got.shape == want.shape, (name, stage, got.shape, want.shape)
            assert np.allclose(got, want, rtol=RTOL, atol=ATOL, equal_nan=True), \
                (name, label, stage, tname, np.nanmax(np.abs(got - want)))
        checked += 1
    assert checked >= 6, (name, checked)


# ----------------------------------------------------------------------------------------------
# Writing a learner's file
# ----------------------------------------------------------------------------------------------

# What a learner's file holds. Each entry: internal key -> the name the learner gives it. Which
# alias each case uses rotates, so that every alias of the table appears somewhere.
ALIASES = {
    "Q": ["q", "query", "Q"], "K": ["k", "key", "K"], "V": ["v", "value", "V"],
    "scores": ["attn_scores", "logits", "energy", "scores"],
    "scaled": ["scaled_scores", "scaled"], "masked": ["masked_scores", "masked"],
    "weights": ["attn_weights", "attn_output_weights", "attention", "probs", "p_attn", "weights"],
    "output": ["attn_output", "out", "output"],
}
PROFILES = {
    # every tensor a learner has
    "full": ["Q", "K", "V", "Qh", "Kh", "Vh", "scores", "scaled", "masked", "weights",
             "context_h", "context", "output"],
    # the usual prints of a notebook: the context after the heads are merged (with one head,
    # the only one there is)
    "mid": ["Q", "K", "V", "scores", "masked", "weights", "context_h", "context", "output"],
    # what nn.MultiheadAttention returns
    "min": ["weights", "output"],
}
_counter = [0]


def squeezed(shape):
    return tuple(n for n in shape if n != 1)


def learner_name(pr, key, ref):
    """The name a learner gives the tensor. An unqualified Q, K, V or context goes to the stage
    whose shape it has, so where both stages have the same shape once axes of size 1 are dropped
    (one head of width 1 …) the learner writes the stage: `projections.Q`."""
    i = _counter[0]
    twin = {"Q": "Qh", "K": "Kh", "V": "Vh", "context": "context_h", "context_h": "context"}
    if key in twin and pr["H"] > 1:
        a, b = ref[key], ref[twin[key]]
        if squeezed(trace_shape(pr, key, a)) == squeezed(trace_shape(pr, twin[key], b)):
            return {"Q": "projections.Q", "K": "projections.K", "V": "projections.V",
                    "context": "merge_heads.context", "context_h": "summation.context"}[key]
    if key in ALIASES:
        names = ALIASES[key]
        return names[(i + len(key)) % len(names)]
    if key in ("Qh", "Kh", "Vh"):
        return "split_heads." + key[0]
    if key == "context_h":
        return "summation.context" if pr["H"] > 1 else "context"
    if key == "context":
        return "context" if i % 2 else "merge_heads.context"
    raise KeyError(key)


def learner_shape(pr, key, t, style):
    """The learner's own shape: the trace's, or with size-1 axes added or dropped.
    style "trace": the trace's; "4d": (1, H, L, S) for unbatched input (a batch of one), with the
    head axis kept for one head; "3d": (H, L, S) even for one head."""
    shape = trace_shape(pr, key, t)
    four = key in ("Qh", "Kh", "Vh", "scores", "scaled", "masked", "weights", "context_h")
    if style == "trace" or not four:
        return shape
    if style == "4d":
        return t.shape  # (B, H, L, …): B = 1 unbatched, H = 1 for one head
    if style == "3d":
        return t.shape[1:] if not pr["batched"] else t.shape
    raise ValueError(style)


class _FixedTime:
    """zipfile stamps each member with the time: a fixed one keeps np.savez's bytes the same."""
    @staticmethod
    def time():
        return 315532800.0

    @staticmethod
    def localtime(t=None):
        return time.struct_time((1980, 1, 1, 0, 0, 0, 1, 1, 0))


def _strings(v):
    """-inf, inf and nan as the strings "-inf", "inf", "nan", as a learner's own converter writes
    them for a JSON reader that has no NaN or Infinity."""
    if isinstance(v, list):
        return [_strings(x) for x in v]
    if math.isnan(v):
        return "nan"
    return ("inf" if v > 0 else "-inf") if math.isinf(v) else v


def write_mine(path, arrays, strings=False):
    if path.endswith(".npz"):
        saved = zipfile.time
        zipfile.time = _FixedTime
        try:
            np.savez(path, **arrays)
        finally:
            zipfile.time = saved
    else:
        convert = _strings if strings else (lambda x: x)
        with open(path, "w") as fh:  # NaN, -Infinity as Python writes them, or strings
            json.dump({k: convert(v.tolist()) for k, v in arrays.items()}, fh,
                      allow_nan=not strings)
            fh.write("\n")


def read_mine(path):
    if path.endswith(".npz"):
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    with open(path) as fh:
        return {k: _arr(v) for k, v in json.load(fh).items()}


CASES = []  # (mine, input, exit, first_stage, first_id, problem, keys saved, learner's tensors)
PROBLEMS = {}  # input name -> problem


def make_case(mine_name, input_name, pr, bug=None, variant=None, profile="full", style="trace",
              ext="npz", drop=()):
    """Run the learner's code (with `bug`), save what `profile` says, check it, add a case."""
    _counter[0] += 1
    ref = reference(pr)
    got = attention(pr, bug, variant)
    keys = [k for k in PROFILES[profile] if k not in drop and in_trace(pr, k, ref)
            and got.get(k) is not None
            and not (profile == "mid" and k == "context_h" and pr["H"] > 1)]
    arrays, order = {}, []
    for k in keys:
        name = learner_name(pr, k, ref)
        arrays[name] = got[k].reshape(learner_shape(pr, k, got[k], style)).astype(np.float32)
        order.append((k, name))
    assert len(set(arrays)) == len(keys), (mine_name, arrays.keys())
    path = os.path.join(OUT, "mine", mine_name + "." + ext.replace("-strings", ""))
    write_mine(path, arrays, strings=ext.endswith("-strings"))

    # What the file shows, read back as the checker will read it.
    back = read_mine(path)
    first = None
    for k, name in order:  # stage order
        want = ref[k].reshape(trace_shape(pr, k, ref[k]))
        have = back[name].astype(np.float64).reshape(want.shape)
        if not close(have, want):
            first = STAGE_OF[k]
            break
    if bug is None:
        assert first is None, (mine_name, first)
        CASES.append((path, input_name, 0, "-", "-", pr, keys, got))
        return
    # The mistake changes the numbers, and the first difference is where it starts (or the
    # first later stage the file holds).
    assert first is not None, (mine_name, "the mistake changes nothing")
    origin = ORIGIN[bug] if not (bug == "bias_missing" and variant == "out_proj") else "out_proj"
    expect = next(STAGE_OF[k] for k, _ in order if STAGES.index(STAGE_OF[k]) >=
                  STAGES.index(origin))
    assert first == expect, (mine_name, first, expect)
    CASES.append((path, input_name, 3, first, bug, pr, keys, got))


ORIGIN = {"scale_sqrt_embed": "scaling", "scale_missing": "scaling", "scale_by_d": "scaling",
          "softmax_wrong_axis": "softmax", "qkv_order": "projections",
          "weights_transposed": "projections", "bias_missing": "projections",
          "mask_inverted": "masking", "causal_off_by_one": "masking",
          "mask_after_softmax": "softmax", "mask_not_infinite": "masking",
          "heads_interleaved": "split_heads", "heads_merge_order": "merge_heads",
          "out_proj_missing": "out_proj", "softmax_overflow": "softmax",
          "context_wrong_axis": "summation"}


# ----------------------------------------------------------------------------------------------
# Our inputs
# ----------------------------------------------------------------------------------------------

def r(a, n=3):
    return np.round(a, n)


def make_inputs():
    """Small problems in our input format, packed in_proj with biases and out_proj."""
    docs = {}
    toks = ["the", "cat", "sat", "down", "here"]

    def base(seed, E, H, L, B=None, big=False):
        rng = np.random.default_rng(seed)
        shape = (L, E) if B is None else (B, L, E)
        x = r(rng.uniform(-1, 1, shape) * (6 if big else 1), 2)
        doc = {"input": x.tolist(), "tokens": toks[:L], "num_heads": H,
               "weights": {"in_proj_weight": r(rng.uniform(-0.8, 0.8, (3 * E, E))).tolist(),
                           "in_proj_bias": r(rng.uniform(-0.3, 0.3, 3 * E)).tolist(),
                           "out_proj.weight": r(rng.uniform(-0.6, 0.6, (E, E))).tolist(),
                           "out_proj.bias": r(rng.uniform(-0.2, 0.2, E)).tolist()}}
        if big:  # large projections too: scores far above 88, where float32 exp overflows
            doc["weights"]["in_proj_weight"] = r(rng.uniform(-2, 2, (3 * E, E)), 2).tolist()
        return doc

    keep4 = [[1, 1, 0, 1], [0, 1, 1, 0], [1, 0, 1, 1], [1, 1, 1, 0]]
    kpm4 = [False, False, True, False]
    for hname, (seed, E, H) in {"h1": (11, 4, 1), "h2": (12, 8, 2)}.items():
        docs[hname] = base(seed, E, H, 4)
        docs[hname + "-causal"] = dict(base(seed, E, H, 4), mask="causal")
        docs[hname + "-keep"] = dict(base(seed, E, H, 4), mask=keep4)
        docs[hname + "-kpm"] = dict(base(seed, E, H, 4), key_padding_mask=kpm4)
    docs["h2e6"] = base(13, 6, 2, 5)
    docs["h2e6-causal"] = dict(base(13, 6, 2, 5), mask="causal")
    docs["h2-batched"] = base(14, 8, 2, 4, B=2)
    docs["h2-batched-kpm"] = dict(base(14, 8, 2, 4, B=2),
                                  key_padding_mask=[[False, False, False, True],
                                                    [False, True, False, False]])
    docs["h1-batched-causal"] = dict(base(15, 4, 1, 3, B=2), mask="causal")
    docs["large-h1"] = base(16, 4, 1, 4, big=True)
    docs["large-h2"] = base(17, 8, 2, 4, big=True)
    docs["large-h2-causal"] = dict(base(17, 8, 2, 4, big=True), mask="causal")
    # a blog post's plain weights written (in, out), used as x·W: the learner who computes x·Wᵀ
    # with them makes weights_transposed the other way round
    plain = base(18, 6, 2, 4)
    w = plain["weights"]
    W, b = np.array(w["in_proj_weight"]), np.array(w["in_proj_bias"])
    plain["weights"] = {"W_q": W[:6].T.tolist(), "W_k": W[6:12].T.tolist(),
                        "W_v": W[12:].T.tolist(), "b_q": b[:6].tolist(), "b_k": b[6:12].tolist(),
                        "b_v": b[12:].tolist(), "W_o": np.array(w["out_proj.weight"]).T.tolist(),
                        "b_o": w["out_proj.bias"]}
    plain["weight_layout"] = "math"
    docs["h2e6-math"] = plain
    docs["h2e6-math-keep"] = dict(plain, mask=[[1, 0, 1, 1], [1, 1, 0, 1], [0, 1, 1, 1],
                                               [1, 1, 1, 0]])
    for name, doc in docs.items():
        doc["name"] = "check case " + name
        with open(os.path.join(OUT, "inputs", name + ".json"), "w") as fh:
            json.dump(doc, fh)
            fh.write("\n")
        pr = load_problem(doc)
        check_with_torch(pr, name)
        PROBLEMS[name] = pr
    for name in ("large-h1", "large-h2", "large-h2-causal"):
        assert reference(PROBLEMS[name])["scaled"].max() > 89, name
    return docs


# ----------------------------------------------------------------------------------------------
# The cases
# ----------------------------------------------------------------------------------------------

def bug_cases():
    P = PROBLEMS

    def case(bug, variant, inp, profile="full", style="trace", ext="npz", tag="", drop=()):
        label = None if variant is None else "fill" + variant if bug == "mask_not_infinite" \
            else variant
        parts = [bug] + ([label] if label else []) + [inp] + ([tag] if tag else [])
        where = inp[len("example-"):] if inp.startswith("example-") else "inputs/%s.json" % inp
        make_case("-".join(parts), where, P[inp], bug, variant, profile, style, ext, drop)

    for name in ("multihead", "i-am-good", "ithome", "cross"):  # bundled examples, by name
        with open(os.path.join(ROOT, "data", "examples", name + ".json")) as fh:
            P["example-" + name] = load_problem(json.load(fh))

    # scaling
    case("scale_sqrt_embed", None, "h2")
    case("scale_sqrt_embed", None, "h2-causal", "mid", "4d", "json")
    case("scale_sqrt_embed", None, "h2e6", "min", "3d", "json")
    case("scale_sqrt_embed", "D", "h2-batched-kpm", "full")
    case("scale_missing", None, "h1")
    case("scale_missing", None, "h1-causal", "mid", "4d", "json")
    case("scale_missing", None, "h2-causal", "full", "3d")
    case("scale_missing", None, "h2-batched", "min", ext="json")
    case("scale_by_d", None, "h1", "full", "3d", "json")
    case("scale_by_d", None, "h2")
    case("scale_by_d", None, "h2e6-causal", "mid", "4d")
    case("scale_by_d", None, "h1-kpm", "min", "trace", "json")
    # softmax
    case("softmax_wrong_axis", None, "h1")
    case("softmax_wrong_axis", None, "h1-keep", "mid", "4d", "json")
    case("softmax_wrong_axis", None, "h2-causal", "min", "3d")
    case("softmax_wrong_axis", None, "h2-batched-kpm", "full", ext="json")
    case("softmax_overflow", None, "large-h1")
    case("softmax_overflow", None, "large-h2", "mid", "3d", "json")
    case("softmax_overflow", None, "large-h2-causal", "full", "4d")
    case("softmax_overflow", None, "large-h2-causal", "min", "trace", "json", tag="min")
    # projections
    case("qkv_order", "kqv", "h1")
    case("qkv_order", "kqv", "h2-causal", "mid", "4d", "json")
    case("qkv_order", "kqv", "h2", "min", "3d", tag="min")
    case("qkv_order", "qvk", "h2-batched-kpm", "full", ext="json")
    case("weights_transposed", None, "h1", "full", "3d", "json")
    case("weights_transposed", None, "h2")
    case("weights_transposed", None, "h2e6-causal", "mid", "4d")
    case("weights_transposed", None, "h1-keep", "min", ext="json")
    case("weights_transposed", None, "h2e6-math", "mid", "3d")
    case("weights_transposed", None, "h2e6-math-keep", "full", ext="json")
    case("bias_missing", "all", "h1")
    case("bias_missing", "all", "h2-kpm", "mid", "3d", "json")
    case("bias_missing", "in_proj", "h2e6", "full", "4d")
    case("bias_missing", "out_proj", "h2-causal", "full", ext="json")
    # masks
    case("mask_inverted", None, "h1-keep")
    case("mask_inverted", None, "h1-kpm", "mid", "4d", "json")
    case("mask_inverted", None, "h2-keep", "full", "3d", "json-strings")
    case("mask_inverted", None, "h2-kpm", "min")
    case("mask_inverted", None, "h2-batched-kpm", "full")
    case("causal_off_by_one", "self", "h1-causal")
    case("causal_off_by_one", "next", "h1-causal", "mid", "4d", "json")
    case("causal_off_by_one", "next", "h2-causal", "full", "3d")
    case("causal_off_by_one", "self", "h2e6-causal", "min", ext="json-strings")
    case("causal_off_by_one", "next", "h1-batched-causal", "full", ext="json")
    case("mask_after_softmax", None, "h1-causal")
    case("mask_after_softmax", None, "h1-keep", "mid", "4d", "json")
    case("mask_after_softmax", None, "h2-kpm", "full", "3d")
    case("mask_after_softmax", None, "h2-causal", "min", ext="json")
    case("mask_not_infinite", "0", "h1-causal")
    case("mask_not_infinite", "-10", "h1-keep", "mid", "4d", "json")
    case("mask_not_infinite", "-1", "h2-kpm", "full", "3d", "json")
    case("mask_not_infinite", "0", "h2-causal", "min")
    case("mask_not_infinite", "-10", "h2-batched-kpm", "full", tag="nomasked", drop=("masked",))
    # heads
    case("heads_interleaved", None, "h2")
    case("heads_interleaved", None, "h2-causal", "full", "4d", "json")
    case("heads_interleaved", None, "h2e6", "mid", "3d")
    case("heads_interleaved", None, "h2-batched-kpm", "min", ext="json")
    case("heads_merge_order", "reversed", "h2")
    case("heads_merge_order", "interleaved", "h2-causal", "full", "3d", "json")
    case("heads_merge_order", "interleaved", "h2e6", "mid", "4d")
    case("heads_merge_order", "reversed", "h2-batched", "min", ext="json")
    # output
    case("out_proj_missing", None, "h1")
    case("out_proj_missing", None, "h1-causal", "min", "trace", "json")
    case("out_proj_missing", None, "h2-keep", "mid", "3d", "json")
    case("out_proj_missing", None, "h2-batched-kpm", "full", "4d")
    case("context_wrong_axis", None, "h1")
    case("context_wrong_axis", None, "h1-causal", "mid", "4d", "json")
    case("context_wrong_axis", None, "h2", "full", "3d", "json")
    case("context_wrong_axis", None, "h2-kpm", "min")
    case("context_wrong_axis", None, "h2-batched", "full")
    # the bundled examples: seed 003's reading of in_proj_weight, seed 004's course assignment
    case("qkv_order", "kqv", "example-multihead", "mid")
    case("scale_sqrt_embed", None, "example-multihead", "full", "4d", "json")
    case("softmax_wrong_axis", None, "example-i-am-good", "min", "3d", "json")
    case("bias_missing", "all", "example-ithome", "full")
    case("mask_inverted", None, "example-cross", "full", "3d")


def correct_cases():
    # the correct learner on every one of our inputs, in several file styles
    styles = [("full", "trace", "npz"), ("mid", "4d", "json"), ("min", "3d", "npz"),
              ("full", "3d", "json-strings")]
    for i, name in enumerate(sorted(n for n in PROBLEMS if not n.startswith("example-"))):
        profile, style, ext = styles[i % len(styles)]
        make_case("correct-" + name, "inputs/%s.json" % name, PROBLEMS[name], None, None,
                  profile, style, ext)

    # the bundled examples, by name
    for path in sorted(os.listdir(os.path.join(ROOT, "data", "examples"))):
        name = path[:-5]
        with open(os.path.join(ROOT, "data", "examples", path)) as fh:
            pr = load_problem(json.load(fh))
        make_case("correct-example-" + name, name, pr, None, None, "full", "trace",
                  "json" if len(name) % 2 else "npz")

    # PyTorch's goldens: every one whose features the learner's code has
    gdir = os.path.join(ROOT, "tests", "golden")
    used = 0
    for i, path in enumerate(sorted(os.listdir(gdir))):
        if not path.endswith(".json"):
            continue
        with open(os.path.join(gdir, path)) as fh:
            golden = json.load(fh)
        try:
            pr = load_problem(golden["input"])
        except Unsupported as e:
            print("skip golden %s: %s" % (path, e))
            continue
        check_with_golden(pr, golden, path)
        name = "golden-" + path[:-5]
        with open(os.path.join(OUT, "inputs", name + ".json"), "w") as fh:
            json.dump(golden["input"], fh)
            fh.write("\n")
        profile, style, ext = [("full", "trace", "npz"), ("mid", "4d", "json"),
                               ("full", "3d", "json")][i % 3]
        make_case("correct-" + name, "inputs/%s.json" % name, pr, None, None, profile, style,
                  ext)
        used += 1
    assert used >= 10, used


def applies(pr, bug):
    """Whether the mistake can be made on this problem at all."""
    if bug in ("mask_inverted", "mask_after_softmax", "mask_not_infinite"):
        return pr["keep"] is not None
    if bug == "causal_off_by_one":
        return pr["causal"]
    if bug in ("heads_interleaved", "heads_merge_order", "scale_sqrt_embed"):
        return pr["H"] > 1
    if bug == "qkv_order":
        return pr["p"]["packed"] is not None
    if bug == "context_wrong_axis":
        return pr["L"] == pr["S"]
    if bug == "weights_transposed":
        return all(pr["p"][w].shape[0] == pr["p"][w].shape[1] for w in ("Wq", "Wk", "Wv"))
    return True


def coincidences():
    """For each buggy case, the other mistakes that give the same numbers at its first stage."""
    found = []
    for mine, inp, status, stage, bug, pr, keys, got in CASES:
        if status != 3:
            continue
        at = [k for k in keys if STAGE_OF[k] == stage]
        for other, variants in VARIANTS.items():
            for v in variants:
                if other == bug or not applies(pr, other):
                    continue
                alt = attention(pr, other, v)
                if all(alt.get(k) is not None and close(alt[k], got[k]) for k in at):
                    found.append((os.path.basename(mine), other, v))
    return found


VARIANTS = {"scale_sqrt_embed": [None], "scale_missing": [None], "scale_by_d": [None],
            "softmax_wrong_axis": [None], "qkv_order": ["kqv", "qvk", "vkq"],
            "weights_transposed": [None], "bias_missing": ["all", "in_proj", "out_proj"],
            "mask_inverted": [None], "causal_off_by_one": ["self", "next"],
            "mask_after_softmax": [None], "mask_not_infinite": ["0", "-1", "-10"],
            "heads_interleaved": [None], "heads_merge_order": ["reversed", "interleaved"],
            "out_proj_missing": [None], "softmax_overflow": [None],
            "context_wrong_axis": [None]}


def main():
    for sub in ("inputs", "mine"):
        shutil.rmtree(os.path.join(OUT, sub), ignore_errors=True)
        os.makedirs(os.path.join(OUT, sub))
    make_inputs()
    bug_cases()
    correct_cases()
    with open(os.path.join(OUT, "cases.tsv"), "w") as fh:
        fh.write("# MINE\tINPUT\tEXIT\tFIRST_STAGE\tFIRST_DIAGNOSIS_ID"
                 "  (written by tools/make_check_cases.py)\n")
        for mine, inp, status, stage, bug, *_ in CASES:
            fh.write("%s\t%s\t%d\t%s\t%s\n" % (os.path.relpath(mine, OUT), inp, status, stage,
                                               bug))
    counts = {}
    for c in CASES:
        counts[c[4]] = counts.get(c[4], 0) + 1
    print("%d cases: %s" % (len(CASES), ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
    for mine, other, v in coincidences():
        print("coincidence: %s is also reproduced by %s%s" % (mine, other,
                                                               "" if v is None else " " + v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
