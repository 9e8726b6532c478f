#!/usr/bin/env python3
"""Generate the golden test files for attn-trace (tests/golden/*.json).

What it does
------------
For every configuration listed in CONFIGS below this script

1. builds an attn-trace input document exactly as a user would write it
   (``input``, optional ``tokens``/``name``/``description``, ``num_heads``,
   ``scale``, ``weight_layout`` and ``weights`` in packed / separate /
   plain form, torch or math layout, with or without biases and output
   projection, or no ``weights`` at all = identity projections);
2. parses that document back (independently of how it was generated) and
   computes every stage of the step trace with torch in float64:
   input, projections, split_heads (H>1), scores, scaling, softmax,
   weighted_values, summation, merge_heads (H>1), out_proj (if given);
3. re-computes every stage a second time with plain numpy loops (explicit
   column slicing per head, explicit sums) and asserts both agree;
4. cross-checks against a real ``torch.nn.MultiheadAttention`` loaded with
   the original (torch-layout) weights: its per-head attention weights
   (need_weights=True, average_attn_weights=False) must equal the
   ``softmax`` stage and its output must equal the ``out_proj`` output
   (or the merged context when the config has no output projection),
   within 1e-12 relative.  Scales other than 1/sqrt(d) are emulated by
   multiplying the q part of MHA's in_proj weight and bias by
   c = scale*sqrt(d); missing projections become identity / zero bias.
   Any mismatch raises AssertionError and the script exits non-zero;
5. writes tests/golden/<config-name>.json:
   {"name", "covers", "input": <document>,
    "stages": {stage: {tensor: {"shape": [...], "data": [flat row-major]}}}}

Everything is deterministic: each config's random numbers come from a numpy
generator seeded with crc32(config name); inputs and weights are rounded to
a few decimals, and the expected values are computed from those exact
numbers as written in the JSON.

How to rerun
------------
From the repository root:

    /usr/bin/python3 tools/make_goldens.py

(needs torch >= 1.13 and numpy).  It (re)writes every golden file and prints
one line per file written.
"""

import json
import math
import os
import sys
import zlib

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "golden")

RTOL = 1e-12

WORDS = ["the", "cat", "sat", "on", "a", "mat", "dogs", "bark", "loud",
         "we", "run", "fast", "sun", "is", "hot", "I", "see", "it"]

# ---------------------------------------------------------------------------
# Configurations
#   H: num_heads, E: embed dim, L: sequence length, B: batch (None=unbatched)
#   form: packed | separate | plain | identity (no "weights" key)
#   in_bias: bool (in_proj_bias or b_q/b_k/b_v)
#   out: none | bias | nobias      out_names: "torch" (out_proj.*) | "plain" (W_o/b_o)
#   layout: None (omitted -> torch) | "torch" | "math"
#   scale: OMIT (key omitted) or the value to write
#   tokens: none | shared | per_batch
# ---------------------------------------------------------------------------
OMIT = object()


def C(name, covers, H, E, L, B=None, form="packed", in_bias=True, out="bias",
      out_names=None, layout=None, scale=OMIT, tokens="none", doc_name=None,
      description=None):
    if out_names is None:
        out_names = "plain" if form == "plain" else "torch"
    return dict(name=name, covers=covers, H=H, E=E, L=L, B=B, form=form,
                in_bias=in_bias, out=out, out_names=out_names, layout=layout,
                scale=scale, tokens=tokens, doc_name=doc_name,
                description=description)


CONFIGS = [
    C("h1-packed-bias-torch",
      "1 head, unbatched, packed in_proj with bias, out_proj with bias, explicit torch layout, scale head_dim, tokens, L=5",
      H=1, E=4, L=5, layout="torch", scale="head_dim", tokens="shared"),
    C("h1-packed-nobias-noout",
      "1 head, unbatched, packed in_proj without bias, no out_proj, layout and scale omitted (defaults), no tokens",
      H=1, E=3, L=3, in_bias=False, out="none"),
    C("h1-separate-math-embed-dim-scale",
      "1 head, unbatched, separate q/k/v_proj_weight in math layout + in_proj_bias, out_proj.weight+bias (math), scale embed_dim",
      H=1, E=4, L=3, form="separate", layout="math", scale="embed_dim", tokens="shared"),
    C("h1-plain-math-none-scale",
      "1 head, unbatched, plain W_q/W_k/W_v + b_q/b_k/b_v in math layout, W_o+b_o, scale none",
      H=1, E=3, L=4, form="plain", layout="math", scale="none",
      description="plain names, math layout, no scaling"),
    C("h1-identity",
      "1 head, unbatched, no weights key (Q=K=V=X), scale omitted, tokens",
      H=1, E=3, L=3, form="identity", tokens="shared"),
    C("h1-batched-identity-per-batch-tokens",
      "1 head, batched B=2, identity projections, per-batch token lists",
      H=1, E=2, L=3, B=2, form="identity", tokens="per_batch"),
    C("h1-batched-packed-torch-numeric-scale",
      "1 head, batched B=3, packed with bias, out_proj with bias, numeric scale 1.5, shared tokens",
      H=1, E=3, L=3, B=3, scale=1.5, tokens="shared"),
    C("h2-packed-bias-torch",
      "2 heads, unbatched, packed in_proj+bias, out_proj+bias, torch layout, scale omitted, tokens",
      H=2, E=4, L=3, tokens="shared", doc_name="two heads",
      description="packed weights as in a state_dict"),
    C("h2-batched-separate-math-embed-dim-scale",
      "2 heads, batched B=2, separate PyTorch names in math layout + in_proj_bias, out_proj.weight without bias, scale embed_dim",
      H=2, E=4, L=4, B=2, form="separate", layout="math", out="nobias",
      scale="embed_dim", tokens="shared"),
    C("h2-identity",
      "2 heads, unbatched, identity projections (no weights key), explicit scale head_dim, tokens",
      H=2, E=4, L=4, form="identity", scale="head_dim", tokens="shared"),
    C("h2-batched-identity-numeric-scale",
      "2 heads, batched B=2, identity projections, numeric scale 0.25, no tokens",
      H=2, E=4, L=3, B=2, form="identity", scale=0.25),
    C("h2-plain-torch-nobias",
      "2 heads, unbatched, plain W_q/W_k/W_v without biases, W_o without b_o, torch layout",
      H=2, E=6, L=3, form="plain", in_bias=False, out="nobias", layout="torch"),
    C("h2-batched-packed-math-numeric-scale",
      "2 heads, batched B=3, packed (E,3E) math layout + bias, out_proj+bias (math), numeric scale 0.25, per-batch tokens",
      H=2, E=4, L=3, B=3, layout="math", scale=0.25, tokens="per_batch"),
    C("h2-packed-inbias-out-nobias",
      "2 heads, unbatched, packed in_proj with bias but out_proj.weight without out_proj.bias",
      H=2, E=4, L=4, out="nobias"),
    C("h2-packed-noinbias-out-bias",
      "2 heads, unbatched, packed in_proj without bias, out_proj with bias, scale none",
      H=2, E=4, L=3, in_bias=False, scale="none"),
    C("h2-packed-with-plain-wo",
      "2 heads, batched B=2, packed in_proj+bias combined with plain-name output projection W_o+b_o",
      H=2, E=4, L=3, B=2, out_names="plain", tokens="shared"),
    C("h2-single-token",
      "2 heads, unbatched, L=1 (softmax over one key), packed+bias, out_proj+bias",
      H=2, E=4, L=1, tokens="shared"),
    C("h3-packed-bias-torch",
      "3 heads, unbatched, packed+bias, out_proj+bias, torch layout, scale head_dim",
      H=3, E=6, L=4, scale="head_dim", tokens="shared"),
    C("h3-batched-plain-math-bias",
      "3 heads, batched B=2, plain W_*/b_* in math layout, W_o+b_o, scale omitted, shared tokens",
      H=3, E=6, L=3, B=2, form="plain", layout="math", tokens="shared"),
    C("h3-separate-torch-none-scale-noout",
      "3 heads, unbatched, separate q/k/v_proj_weight without bias, no out_proj, scale none",
      H=3, E=6, L=4, form="separate", in_bias=False, out="none", scale="none"),
    C("h3-batched-separate-math-embed-dim",
      "3 heads, batched B=3, separate names in math layout + in_proj_bias, out_proj+bias, scale embed_dim, per-batch tokens",
      H=3, E=3, L=3, B=3, form="separate", layout="math", scale="embed_dim",
      tokens="per_batch"),
    C("h4-packed-bias-torch",
      "4 heads, unbatched, packed+bias, out_proj+bias, torch layout, E=8",
      H=4, E=8, L=4, tokens="shared"),
    C("h4-batched-packed-math-nobias-noout",
      "4 heads, batched B=2, packed math layout without bias, no out_proj, no tokens",
      H=4, E=8, L=3, B=2, layout="math", in_bias=False, out="none"),
    C("h4-plain-torch-numeric-scale",
      "4 heads, unbatched, plain W_*/b_* torch layout, W_o+b_o, numeric scale 0.3",
      H=4, E=8, L=3, form="plain", scale=0.3, tokens="shared"),
    C("h4-batched-separate-torch-embed-dim",
      "4 heads, batched B=2, separate torch names + in_proj_bias, out_proj.weight without bias, scale embed_dim",
      H=4, E=8, L=3, B=2, form="separate", out="nobias", scale="embed_dim",
      tokens="shared"),
    C("h4-plain-math-none-scale-noout",
      "4 heads, unbatched, plain W_* math layout with biases, no output projection, scale none",
      H=4, E=8, L=3, form="plain", layout="math", out="none", scale="none"),
    C("h4-head-dim-1",
      "4 heads with head_dim 1 (E=4), unbatched, packed+bias, out_proj+bias",
      H=4, E=4, L=3, tokens="shared"),
]

I_AM_GOOD = {
    "name": "I am good",
    "input": [[0.2, 0.1], [0.9, 0.4], [0.7, 0.8]],
    "tokens": ["I", "am", "good"],
    "num_heads": 1,
    "weights": {
        "in_proj_weight": [[0.5, -0.3], [0.2, 0.8], [0.4, 0.1],
                           [-0.6, 0.7], [0.9, 0.2], [-0.1, 0.5]],
        "in_proj_bias": [0.1, -0.1, 0.0, 0.2, 0.05, -0.05],
        "out_proj.weight": [[0.6, -0.4], [0.3, 0.7]],
        "out_proj.bias": [0.01, -0.02],
    },
}


# ---------------------------------------------------------------------------
# Building input documents
# ---------------------------------------------------------------------------
def rnd(rng, shape, scale, decimals):
    a = rng.uniform(-scale, scale, size=shape)
    return np.round(a, decimals)


def tolist(a):
    return [float(x) if np.ndim(x) == 0 else tolist(x) for x in a] \
        if np.ndim(a) > 0 else float(a)


def build_case(cfg):
    """Return (doc, truth) where truth holds torch-layout originals."""
    rng = np.random.default_rng(zlib.crc32(cfg["name"].encode()))
    H, E, L, B = cfg["H"], cfg["E"], cfg["L"], cfg["B"]
    xshape = (L, E) if B is None else (B, L, E)
    X = rnd(rng, xshape, 1.0, 2)
    # The intended multiplier, worked out here independently of parse_doc so
    # the MHA cross-check also validates the scale handling.
    sc = cfg["scale"]
    truth = {"X": X, "scale": {"head_dim": (E // H) ** -0.5, "embed_dim": E ** -0.5,
                               "none": 1.0}.get(sc, (E // H) ** -0.5 if sc is OMIT else sc)}
    doc = {}
    if cfg["doc_name"]:
        doc["name"] = cfg["doc_name"]
    if cfg["description"]:
        doc["description"] = cfg["description"]
    doc["input"] = tolist(X)
    if cfg["tokens"] == "shared":
        doc["tokens"] = [WORDS[int(i)] for i in rng.choice(len(WORDS), L, replace=False)]
    elif cfg["tokens"] == "per_batch":
        doc["tokens"] = [[WORDS[int(i)] for i in rng.choice(len(WORDS), L, replace=False)]
                         for _ in range(B)]
    doc["num_heads"] = H
    if cfg["scale"] is not OMIT:
        doc["scale"] = cfg["scale"]
    if cfg["layout"] is not None:
        doc["weight_layout"] = cfg["layout"]
    math_layout = cfg["layout"] == "math"

    def W(a):  # torch-layout (out,in) matrix -> as written in the doc
        return tolist(a.T if math_layout else a)

    if cfg["form"] != "identity":
        Wq, Wk, Wv = (rnd(rng, (E, E), 1.0, 3) for _ in range(3))
        truth.update(Wq=Wq, Wk=Wk, Wv=Wv)
        w = {}
        if cfg["in_bias"]:
            bq, bk, bv = (rnd(rng, (E,), 0.5, 3) for _ in range(3))
            truth.update(bq=bq, bk=bk, bv=bv)
        if cfg["form"] == "packed":
            w["in_proj_weight"] = W(np.concatenate([Wq, Wk, Wv], axis=0))
            if cfg["in_bias"]:
                w["in_proj_bias"] = tolist(np.concatenate([bq, bk, bv]))
        elif cfg["form"] == "separate":
            w["q_proj_weight"] = W(Wq)
            w["k_proj_weight"] = W(Wk)
            w["v_proj_weight"] = W(Wv)
            if cfg["in_bias"]:
                w["in_proj_bias"] = tolist(np.concatenate([bq, bk, bv]))
        elif cfg["form"] == "plain":
            w["W_q"], w["W_k"], w["W_v"] = W(Wq), W(Wk), W(Wv)
            if cfg["in_bias"]:
                w["b_q"], w["b_k"], w["b_v"] = tolist(bq), tolist(bk), tolist(bv)
        else:
            raise ValueError(cfg["form"])
        if cfg["out"] != "none":
            Wo = rnd(rng, (E, E), 1.0, 3)
            truth["Wo"] = Wo
            wn, bn = (("out_proj.weight", "out_proj.bias") if cfg["out_names"] == "torch"
                      else ("W_o", "b_o"))
            w[wn] = W(Wo)
            if cfg["out"] == "bias":
                bo = rnd(rng, (E,), 0.5, 3)
                truth["bo"] = bo
                w[bn] = tolist(bo)
        doc["weights"] = w
    else:
        assert cfg["out"] in ("bias", "none")
    return doc, truth


def truth_from_doc(doc):
    """Torch-layout originals for a hand-written doc (used for i-am-good)."""
    p = parse_doc(doc)
    t = {"X": p["X"].numpy(), "scale": 1.0 / math.sqrt(p["d"])}
    assert doc.get("scale", "head_dim") == "head_dim"
    for k in ("Wq", "Wk", "Wv", "bq", "bk", "bv", "Wo", "bo"):
        if p.get(k) is not None:
            t[k] = p[k].numpy()
    return t


# ---------------------------------------------------------------------------
# Parsing a document back (as the tool would) and computing the stages
# ---------------------------------------------------------------------------
def parse_doc(doc):
    X = torch.tensor(doc["input"], dtype=torch.float64)
    E = X.shape[-1]
    H = doc.get("num_heads", 1)
    assert E % H == 0
    d = E // H
    sc = doc.get("scale", "head_dim")
    if sc == "head_dim":
        scale = 1.0 / math.sqrt(d)
    elif sc == "embed_dim":
        scale = 1.0 / math.sqrt(E)
    elif sc == "none":
        scale = 1.0
    else:
        assert isinstance(sc, (int, float)) and not isinstance(sc, bool)
        scale = float(sc)
    layout = doc.get("weight_layout", "torch")
    assert layout in ("torch", "math")

    def M(a):  # doc matrix -> torch (out,in) layout
        t = torch.tensor(a, dtype=torch.float64)
        assert t.dim() == 2
        return t.t().contiguous() if layout == "math" else t

    def V(a):
        t = torch.tensor(a, dtype=torch.float64)
        assert t.shape == (E,) or t.shape == (3 * E,)
        return t

    p = dict(X=X, E=E, H=H, d=d, scale=scale)
    w = doc.get("weights")
    if w is None:
        p.update(Wq=None, Wk=None, Wv=None, bq=None, bk=None, bv=None,
                 Wo=None, bo=None)
        return p
    if "in_proj_weight" in w:
        Win = M(w["in_proj_weight"])
        assert Win.shape == (3 * E, E)
        p["Wq"], p["Wk"], p["Wv"] = Win[:E], Win[E:2 * E], Win[2 * E:]
    elif "q_proj_weight" in w:
        p["Wq"], p["Wk"], p["Wv"] = (M(w[k]) for k in
                                     ("q_proj_weight", "k_proj_weight", "v_proj_weight"))
    else:
        p["Wq"], p["Wk"], p["Wv"] = M(w["W_q"]), M(w["W_k"]), M(w["W_v"])
    for k in ("Wq", "Wk", "Wv"):
        assert p[k].shape == (E, E)
    if "in_proj_bias" in w:
        b = V(w["in_proj_bias"])
        assert b.shape == (3 * E,)
        p["bq"], p["bk"], p["bv"] = b[:E], b[E:2 * E], b[2 * E:]
    elif "b_q" in w:
        p["bq"], p["bk"], p["bv"] = V(w["b_q"]), V(w["b_k"]), V(w["b_v"])
    else:
        p["bq"] = p["bk"] = p["bv"] = None
    if "out_proj.weight" in w:
        p["Wo"] = M(w["out_proj.weight"])
        p["bo"] = V(w["out_proj.bias"]) if "out_proj.bias" in w else None
    elif "W_o" in w:
        p["Wo"] = M(w["W_o"])
        p["bo"] = V(w["b_o"]) if "b_o" in w else None
    else:
        p["Wo"] = p["bo"] = None
    return p


def compute_stages(p):
    """Stage tensors with torch ops (float64). Returns ordered dict."""
    X, E, H, d, scale = p["X"], p["E"], p["H"], p["d"], p["scale"]
    L = X.shape[-2]

    def lin(x, Wt, b):
        if Wt is None:
            return x.clone()
        y = x @ Wt.t()
        return y + b if b is not None else y

    Q = lin(X, p["Wq"], p["bq"])
    K = lin(X, p["Wk"], p["bk"])
    Vv = lin(X, p["Wv"], p["bv"])
    st = {"input": {"X": X}, "projections": {"Q": Q, "K": K, "V": Vv}}

    def split(t):  # (..., L, E) -> (..., H, L, d)
        return t.reshape(*t.shape[:-1], H, d).transpose(-3, -2).contiguous()

    Qh, Kh, Vh = split(Q), split(K), split(Vv)
    if H > 1:
        st["split_heads"] = {"Q": Qh, "K": Kh, "V": Vh}
    scores = Qh @ Kh.transpose(-1, -2)
    scaled = scores * scale
    weights = torch.softmax(scaled, dim=-1)
    weighted = weights.unsqueeze(-1) * Vh.unsqueeze(-3)  # (..., H, L, S, d)
    context = weighted.sum(dim=-2)  # (..., H, L, d)
    merged = context.transpose(-3, -2).reshape(*context.shape[:-3], L, E)

    if H == 1:
        st["scores"] = {"scores": scores.squeeze(-3)}
        st["scaling"] = {"scaled": scaled.squeeze(-3)}
        st["softmax"] = {"weights": weights.squeeze(-3)}
        st["weighted_values"] = {"weighted": weighted.squeeze(-4)}
        st["summation"] = {"context": context.squeeze(-3)}
    else:
        st["scores"] = {"scores": scores}
        st["scaling"] = {"scaled": scaled}
        st["softmax"] = {"weights": weights}
        st["weighted_values"] = {"weighted": weighted}
        st["summation"] = {"context": context}
        st["merge_heads"] = {"context": merged}
    if p["Wo"] is not None:
        st["out_proj"] = {"output": lin(merged, p["Wo"], p["bo"])}
    return st, weights, merged


def naive_stages(p):
    """Independent numpy re-implementation with explicit loops."""
    X = p["X"].numpy()
    E, H, d, scale = p["E"], p["H"], p["d"], p["scale"]
    batched = X.ndim == 3
    Xb = X if batched else X[None]
    B, L, _ = Xb.shape

    def proj(Wt, b):
        out = np.zeros((B, L, E))
        for bi in range(B):
            for i in range(L):
                for o in range(E):
                    s = 0.0 if b is None else float(b[o])
                    if Wt is None:
                        s = Xb[bi, i, o]
                    else:
                        for k in range(E):
                            s += Xb[bi, i, k] * float(Wt[o, k])
                    out[bi, i, o] = s
        return out

    nz = lambda t: None if t is None else t.numpy()
    Q = proj(nz(p["Wq"]), nz(p["bq"]))
    K = proj(nz(p["Wk"]), nz(p["bk"]))
    V = proj(nz(p["Wv"]), nz(p["bv"]))
    Qh = np.stack([Q[:, :, h * d:(h + 1) * d] for h in range(H)], axis=1)
    Kh = np.stack([K[:, :, h * d:(h + 1) * d] for h in range(H)], axis=1)
    Vh = np.stack([V[:, :, h * d:(h + 1) * d] for h in range(H)], axis=1)
    scores = np.zeros((B, H, L, L))
    for bi in range(B):
        for h in range(H):
            for i in range(L):
                for j in range(L):
                    scores[bi, h, i, j] = sum(Qh[bi, h, i, c] * Kh[bi, h, j, c] for c in range(d))
    scaled = scores * scale
    m = scaled.max(axis=-1, keepdims=True)
    e = np.exp(scaled - m)
    weights = e / e.sum(axis=-1, keepdims=True)
    weighted = np.zeros((B, H, L, L, d))
    for bi in range(B):
        for h in range(H):
            for i in range(L):
                for j in range(L):
                    weighted[bi, h, i, j, :] = weights[bi, h, i, j] * Vh[bi, h, j, :]
    context = weighted.sum(axis=3)
    merged = np.concatenate([context[:, h] for h in range(H)], axis=-1)
    st = {"input": {"X": Xb}, "projections": {"Q": Q, "K": K, "V": V}}
    hx = (lambda t: t) if H > 1 else (lambda t: t[:, 0])
    if H > 1:
        st["split_heads"] = {"Q": Qh, "K": Kh, "V": Vh}
    st["scores"] = {"scores": hx(scores)}
    st["scaling"] = {"scaled": hx(scaled)}
    st["softmax"] = {"weights": hx(weights)}
    st["weighted_values"] = {"weighted": hx(weighted)}
    st["summation"] = {"context": hx(context)}
    if H > 1:
        st["merge_heads"] = {"context": merged}
    if p["Wo"] is not None:
        out = merged @ p["Wo"].numpy().T
        if p["bo"] is not None:
            out = out + p["bo"].numpy()
        st["out_proj"] = {"output": out}
    if not batched:
        st = {s: {k: v[0] for k, v in ts.items()} for s, ts in st.items()}
    return st


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------
def assert_close(what, got, want, rtol=RTOL):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise AssertionError("%s: shape %s != %s" % (what, got.shape, want.shape))
    ref = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    err = float(np.max(np.abs(got - want))) if want.size else 0.0
    if not (err <= rtol * ref):
        raise AssertionError("%s: max abs diff %.3e exceeds %.1e (relative to %.3g)"
                             % (what, err, rtol, ref))
    return err


def mha_check(name, p, truth, weights, merged, stages):
    """Cross-check weights and output against torch.nn.MultiheadAttention."""
    E, H, d = p["E"], p["H"], p["d"]
    scale = truth["scale"]
    eye = np.eye(E)
    zero = np.zeros(E)
    g = lambda k, default: truth[k] if k in truth else default
    Wq, Wk, Wv = g("Wq", eye), g("Wk", eye), g("Wv", eye)
    bq, bk, bv = g("bq", zero), g("bk", zero), g("bv", zero)
    has_out = "Wo" in truth
    Wo, bo = g("Wo", eye), g("bo", zero)
    any_bias = any(k in truth for k in ("bq", "bo"))
    c = scale * math.sqrt(d)  # MHA always multiplies by 1/sqrt(d)

    mha = torch.nn.MultiheadAttention(E, H, bias=any_bias, batch_first=True,
                                      dtype=torch.float64)
    sd = {"in_proj_weight": torch.tensor(np.concatenate([c * Wq, Wk, Wv], axis=0)),
          "out_proj.weight": torch.tensor(Wo)}
    if any_bias:
        sd["in_proj_bias"] = torch.tensor(np.concatenate([c * bq, bk, bv]))
        sd["out_proj.bias"] = torch.tensor(bo)
    mha.load_state_dict(sd, strict=True)
    # Stay in training mode (dropout is 0.0, so this is deterministic): in
    # eval mode under no_grad torch 1.13 may take the fused "fast path",
    # which crashes for bias=False; train mode uses the reference
    # F.multi_head_attention_forward implementation.
    mha.train()
    assert mha.dropout == 0.0
    X = torch.tensor(truth["X"])
    with torch.no_grad():
        out, attn = mha(X, X, X, need_weights=True, average_attn_weights=False)
    assert out.dtype == torch.float64 and attn.dtype == torch.float64
    e1 = assert_close(name + ": MHA attention weights vs softmax stage", weights, attn)
    if has_out:
        e2 = assert_close(name + ": MHA output vs out_proj stage",
                          stages["out_proj"]["output"], out)
        assert_close(name + ": out_proj from MHA sanity", out,
                     stages["out_proj"]["output"])
    else:
        e2 = assert_close(name + ": MHA output (identity out_proj) vs merged context",
                          merged, out)
    return max(e1, e2)


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------
STAGE_ORDER = ["input", "projections", "split_heads", "scores", "scaling",
               "softmax", "weighted_values", "summation", "merge_heads", "out_proj"]


def serialize(name, covers, doc, stages):
    dumps = lambda o: json.dumps(o, separators=(",", ":"), allow_nan=False)
    parts = ['{\n "name": %s,\n "covers": %s,\n "input": %s,\n "stages": {'
             % (json.dumps(name), json.dumps(covers), dumps(doc))]
    lines = []
    for s in STAGE_ORDER:
        if s not in stages:
            continue
        ts = {}
        for k, t in stages[s].items():
            t = t.detach().contiguous()
            ts[k] = {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}
        lines.append("  %s: %s" % (json.dumps(s), dumps(ts)))
    parts.append("\n" + ",\n".join(lines) + "\n }\n}\n")
    text = "".join(parts)
    json.loads(text)  # must be valid JSON
    return text


def expected_stage_ids(p):
    ids = ["input", "projections"]
    if p["H"] > 1:
        ids.append("split_heads")
    ids += ["scores", "scaling", "softmax", "weighted_values", "summation"]
    if p["H"] > 1:
        ids.append("merge_heads")
    if p["Wo"] is not None:
        ids.append("out_proj")
    return ids


def process(name, covers, doc, truth):
    # Round-trip the document through JSON text so we compute from exactly
    # the numbers a reader of the golden file sees.
    doc = json.loads(json.dumps(doc))
    p = parse_doc(doc)
    stages, weights, merged = compute_stages(p)
    assert list(stages) == expected_stage_ids(p), (name, list(stages))

    # Shape contract.
    batched = p["X"].dim() == 3
    lead = [p["X"].shape[0]] if batched else []
    L, E, H, d = p["X"].shape[-2], p["E"], p["H"], p["d"]
    hd = [H] if H > 1 else []
    want_shapes = {
        ("input", "X"): [L, E],
        ("projections", "Q"): [L, E], ("projections", "K"): [L, E],
        ("projections", "V"): [L, E],
        ("split_heads", "Q"): [H, L, d], ("split_heads", "K"): [H, L, d],
        ("split_heads", "V"): [H, L, d],
        ("scores", "scores"): hd + [L, L], ("scaling", "scaled"): hd + [L, L],
        ("softmax", "weights"): hd + [L, L],
        ("weighted_values", "weighted"): hd + [L, L, d],
        ("summation", "context"): hd + [L, d],
        ("merge_heads", "context"): [L, E], ("out_proj", "output"): [L, E],
    }
    for s, ts in stages.items():
        for k, t in ts.items():
            assert list(t.shape) == lead + want_shapes[(s, k)], (name, s, k, t.shape)

    # Independent naive recomputation.
    naive = naive_stages(p)
    assert set(naive) == set(stages), name
    for s in stages:
        assert set(naive[s]) == set(stages[s]), (name, s)
        for k in stages[s]:
            assert_close("%s: naive %s.%s" % (name, s, k), stages[s][k].numpy(), naive[s][k])

    # PyTorch MultiheadAttention cross-check.
    err = mha_check(name, p, truth, weights, merged, stages)

    text = serialize(name, covers, doc, stages)
    path = os.path.join(OUT_DIR, name + ".json")
    with open(path, "w") as f:
        f.write(text)
    print("wrote %s (%d bytes; H=%d E=%d L=%d%s; MHA check ok, max diff %.1e)"
          % (os.path.relpath(path, REPO_ROOT), len(text), H, E, L,
             (" B=%d" % lead[0]) if lead else "", err))


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    names = ["i-am-good"] + [c["name"] for c in CONFIGS]
    assert len(set(names)) == len(names), "duplicate config names"

    process("i-am-good",
            "the tool's default example: 1 head, unbatched, packed in_proj+bias, out_proj+bias, tokens",
            I_AM_GOOD, truth_from_doc(I_AM_GOOD))
    for cfg in CONFIGS:
        doc, truth = build_case(cfg)
        process(cfg["name"], cfg["covers"], doc, truth)

    # mask-*/cross-* files come from tools/make_mask_goldens.py.
    stale = sorted(f for f in os.listdir(OUT_DIR)
                   if f.endswith(".json") and f[:-5] not in names
                   and not f.startswith(("mask-", "cross-")))
    for f in stale:
        print("warning: %s is not produced by this script" % os.path.join("tests", "golden", f),
              file=sys.stderr)
    print("%d golden files written, all MHA cross-checks passed" % len(names))


if __name__ == "__main__":
    main()
