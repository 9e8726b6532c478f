"""Helpers for tools/make_goldens.py, the one script that writes tests/golden/*.json.

Not a script of its own: run tools/make_goldens.py (its docstring says what the golden files
hold, how each is checked, and which cases there are).  In here, for one configuration or
document: building the input document (build_case, with random masks that meet the config's
constraints), parsing it back and computing the stages with torch (parse_doc,
compute_stages), the independent loop re-computation (naive_stages), the checks against
torch.nn.MultiheadAttention (mha_check), and writing the file (process).
"""

import json
import math
import os
import zlib

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "golden")

RTOL = 1e-12
NEG_INF = float("-inf")

WORDS = ["the", "cat", "sat", "on", "a", "mat", "dogs", "bark", "loud",
         "we", "run", "fast", "sun", "is", "hot", "I", "see", "it"]
KV_WORDS = ["le", "chat", "est", "sur", "un", "tapis", "il", "fait", "beau",
            "nous", "voyons", "vite", "soleil", "chaud"]

STAGE_ORDER = ["input", "projections", "extra_keys", "split_heads", "scores", "scaling",
               "masking", "softmax", "weighted_values", "summation", "merge_heads", "out_proj"]

# A config's scale when the document has no "scale" key (see the Configurations legend in
# tools/make_goldens.py).
OMIT = object()


# ---------------------------------------------------------------------------
# Small helpers on JSON values and nested lists
# ---------------------------------------------------------------------------
def tolist(a, leaf=float):
    """A numpy array as nested Python lists, each element converted by leaf (float, int,
    bool, ...)."""
    return [tolist(x, leaf) for x in a] if np.ndim(a) > 0 else leaf(a)


def list_shape(a):
    """The shape of a nested JSON list (its depth is len(list_shape(a)))."""
    s = []
    while isinstance(a, list):
        s.append(len(a))
        a = a[0]
    return tuple(s)


def _flat(a):
    return [y for x in a for y in _flat(x)] if isinstance(a, list) else [a]


def json_number(v):
    """A number as the golden files write it (the reverse of num): a JSON number, or the string
    "-inf" (float masks and stage data) / "inf" / "nan" (stage data) for what JSON cannot hold."""
    return NEG_INF if v == "-inf" else float(v)


# ---------------------------------------------------------------------------
# Building input documents
# ---------------------------------------------------------------------------
def rnd(rng, shape, scale, decimals):
    return np.round(rng.uniform(-scale, scale, size=shape), decimals)


def build_case(cfg):
    """Return (doc, truth): the document and the torch-layout originals it was made from."""
    rng = np.random.default_rng(zlib.crc32(cfg["name"].encode()))
    H, E, L, B = cfg["H"], cfg["E"], cfg["L"], cfg["B"]
    S = cfg["S"] if cfg["S"] is not None else L
    cross = cfg["cross"]
    kdim = cfg["kdim"] or E
    vdim = cfg["vdim"] or E
    assert cross is not None or (S == L and kdim == E and vdim == E)
    assert cross == "sep" or kdim == vdim == E
    lead = (B,) if B else ()
    X = rnd(rng, lead + (L, E), 1.0, 2)
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

    def labels(kind, words, n):
        if kind == "shared":
            return [words[int(i)] for i in rng.choice(len(words), n, replace=False)]
        if kind == "per_batch":
            assert B
            return [[words[int(i)] for i in rng.choice(len(words), n, replace=False)]
                    for _ in range(B)]
        assert kind == "none"
        return None

    t = labels(cfg["tokens"], WORDS, L)
    if t is not None:
        doc["tokens"] = t
    if cross == "kv":
        Xkv = rnd(rng, lead + (S, E), 1.0, 2)
        truth["Xk"] = truth["Xv"] = Xkv
        doc["kv_input"] = tolist(Xkv)
    elif cross == "sep":
        Xk = rnd(rng, lead + (S, kdim), 1.0, 2)
        Xv = rnd(rng, lead + (S, vdim), 1.0, 2)
        truth["Xk"], truth["Xv"] = Xk, Xv
        doc["key_input"] = tolist(Xk)
        doc["value_input"] = tolist(Xv)
    else:
        truth["Xk"] = truth["Xv"] = X
    if cross is not None:
        t = labels(cfg["kv_tokens"], KV_WORDS, S)
        if t is not None:
            doc["kv_tokens"] = t
    else:
        assert cfg["kv_tokens"] == "none"
    doc["num_heads"] = H
    if cfg["scale"] is not OMIT:
        doc["scale"] = cfg["scale"]
    if cfg["layout"] is not None:
        doc["weight_layout"] = cfg["layout"]
    math_layout = cfg["layout"] == "math"

    def W(a):  # torch-layout (out, in) matrix -> as written in the doc
        return tolist(a.T if math_layout else a)

    if cfg["form"] == "identity":  # no "weights" key at all
        assert cross is None and cfg["bias_kv"] is None and cfg["out"] in ("bias", "none")
    else:
        Wq = rnd(rng, (E, E), 1.0, 3)
        Wk = rnd(rng, (E, kdim), 1.0, 3)
        Wv = rnd(rng, (E, vdim), 1.0, 3)
        truth.update(Wq=Wq, Wk=Wk, Wv=Wv)
        w = {}
        if cfg["in_bias"]:
            bq, bk, bv = (rnd(rng, (E,), 0.5, 3) for _ in range(3))
            truth.update(bq=bq, bk=bk, bv=bv)
        if cfg["form"] == "packed":
            assert kdim == vdim == E
            w["in_proj_weight"] = W(np.concatenate([Wq, Wk, Wv], axis=0))
            if cfg["in_bias"]:
                w["in_proj_bias"] = tolist(np.concatenate([bq, bk, bv]))
        elif cfg["form"] == "separate":
            w["q_proj_weight"], w["k_proj_weight"], w["v_proj_weight"] = W(Wq), W(Wk), W(Wv)
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
        if cfg["bias_kv"] is not None:
            bias_k = rnd(rng, (E,), 1.0, 3)
            bias_v = rnd(rng, (E,), 1.0, 3)
            truth.update(bias_k=bias_k, bias_v=bias_v)
            if cfg["bias_kv"] == "sd":
                w["bias_k"] = tolist(bias_k.reshape(1, 1, E))
                w["bias_v"] = tolist(bias_v.reshape(1, 1, E))
            else:
                w["bias_k"], w["bias_v"] = tolist(bias_k), tolist(bias_v)
        doc["weights"] = w
    doc.update(make_masks(cfg, rng, B, H, L, S))
    if cfg["zero_attn"] is not None:
        doc["add_zero_attn"] = cfg["zero_attn"]
    return doc, truth


def truth_from_doc(doc):
    """Torch-layout originals for a hand-written doc (used for i-am-good)."""
    p = parse_doc(doc)
    assert doc.get("scale", "head_dim") == "head_dim"
    t = {"X": p["inputs"]["X"].numpy(), "Xk": p["Xk"].numpy(), "Xv": p["Xv"].numpy(),
         "scale": 1.0 / math.sqrt(p["d"])}
    for k in ("Wq", "Wk", "Wv", "bq", "bk", "bv", "Wo", "bo", "bias_k", "bias_v"):
        if p[k] is not None:
            t[k] = p[k].numpy()
    return t


def make_masks(cfg, rng, B, H, L, S):
    """Random masks as numpy arrays (bool blocked maps / float values), with constraints.
    Returns the document keys to add ({} when the config has no masks: no random draws)."""
    Bt = B or 1
    ex = cfg["explicit"]
    for _attempt in range(10000):
        m = {}
        blocked = {}  # name -> bool (Bt, H, L, S) of what that mask blocks
        if cfg["mask"] == "causal":
            keep = np.tril(np.ones((L, S), dtype=bool))  # j <= i
            m["mask"] = "causal"
            blocked["mask"] = np.broadcast_to(~keep, (Bt, H, L, S))
        elif cfg["mask"] in ("keep2d", "keep3d"):
            shape = (L, S) if cfg["mask"] == "keep2d" else (B, L, S)
            keep = np.array(ex["mask"], dtype=bool) if "mask" in ex else rng.random(shape) >= 0.3
            m["mask"] = tolist(keep.astype(int), int)
            kb = keep[None, None] if keep.ndim == 2 else keep[:, None]
            blocked["mask"] = np.broadcast_to(~kb, (Bt, H, L, S))
        a = cfg["attn"]
        if a is not None:
            three = a.endswith("3d")
            shape = ((B * H if B else H), L, S) if three else (L, S)
            if "attn_mask" in ex:
                arr = np.array(ex["attn_mask"], dtype=bool if a.startswith("bool") else float)
            elif a.startswith("bool"):
                arr = rng.random(shape) < 0.3
            elif a == "float01":
                arr = (rng.random(shape) < 0.5).astype(float)
            else:
                arr = np.round(rng.uniform(-2, 2, size=shape), 2)
                arr[rng.random(shape) < 0.2] = NEG_INF
            if a.startswith("bool"):
                m["attn_mask"] = tolist(arr, bool)
                blk = arr
            elif a == "float01":
                m["attn_mask"] = tolist(arr.astype(int), int)
                blk = np.zeros(shape, dtype=bool)
            else:
                m["attn_mask"] = tolist(arr, lambda v: num(float(v)))  # -inf as "-inf"
                blk = arr == NEG_INF
            blk = blk.reshape(Bt, H, L, S) if three else blk[None, None]
            blocked["attn_mask"] = np.broadcast_to(blk, (Bt, H, L, S))
        if cfg["kpm"]:
            shape = (B, S) if B else (S,)
            kp = np.array(ex["key_padding_mask"], dtype=bool) if "key_padding_mask" in ex \
                else rng.random(shape) < 0.3
            m["key_padding_mask"] = tolist(kp, bool)
            kb = kp.reshape(Bt, 1, 1, S)
            blocked["key_padding_mask"] = np.broadcast_to(kb, (Bt, H, L, S))
        if ok_masks(cfg, m, blocked, B):
            return m
        fixed = all(k in ex or (k == "mask" and cfg["mask"] == "causal") for k in m)
        assert not fixed, cfg["name"] + ": the explicit masks violate the config's constraints"
    raise AssertionError(cfg["name"] + ": could not draw masks meeting the constraints")


def ok_masks(cfg, m, blocked, B):
    if not blocked:
        return True
    allb = np.zeros_like(next(iter(blocked.values())))
    for b in blocked.values():
        allb = allb | b
    full = allb.all(axis=-1)  # (Bt, H, L): every real key blocked
    if cfg["full_rows"]:
        if not full.any() or full.all():
            return False
    elif full.any() and not cfg["allow_real_full"]:
        return False
    if cfg["allow_real_full"] and not full.any():
        return False
    for name, b in blocked.items():
        if name == "attn_mask" and cfg["attn"] == "float01":
            continue
        if not b.any():  # every mask must block something
            return False
    a = cfg["attn"]
    if a is not None and a.endswith("3d"):  # the blocks must differ
        blocks = [blocked["attn_mask"][bi, h] for bi in range(blocked["attn_mask"].shape[0])
                  for h in range(blocked["attn_mask"].shape[1])]
        if any(np.array_equal(blocks[i], blocks[j]) for i in range(len(blocks))
               for j in range(i + 1, len(blocks))):
            return False
    if cfg["mask"] == "keep3d" and np.array_equal(blocked["mask"][0], blocked["mask"][1]):
        return False
    if cfg["kpm"] and B and "key_padding_mask" not in cfg["explicit"]:
        kp = np.array(m["key_padding_mask"])
        if np.array_equal(kp[0], kp[1]):
            return False
    if a == "float01":
        arr = np.array(m["attn_mask"])
        if not (arr == 1).any() or not (arr == 0).any():
            return False
    if a in ("float2d", "float3d"):
        arr = np.array([json_number(v) for v in _flat(m["attn_mask"])])
        if not np.isfinite(arr).any() or np.isfinite(arr).all():
            return False
    if cfg["combo"]:
        for name, b in blocked.items():
            others = np.zeros_like(b)
            for n2, b2 in blocked.items():
                if n2 != name:
                    others = others | b2
            if not (b & ~others).any():
                return False
    return True


# ---------------------------------------------------------------------------
# Parsing a document back (as the tool would) and computing the stages with torch
# ---------------------------------------------------------------------------
def parse_doc(doc):
    X = torch.tensor(doc["input"], dtype=torch.float64)
    assert X.dim() in (2, 3)
    batched = X.dim() == 3
    E, L = X.shape[-1], X.shape[-2]
    Bt = X.shape[0] if batched else 1
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
    p = dict(batched=batched, E=E, L=L, Bt=Bt, H=H, d=d, scale=scale, inputs={"X": X})

    if "kv_input" in doc:
        assert "key_input" not in doc and "value_input" not in doc
        Xk = Xv = torch.tensor(doc["kv_input"], dtype=torch.float64)
        p["inputs"]["X_kv"] = Xk
    elif "key_input" in doc or "value_input" in doc:
        Xk = torch.tensor(doc["key_input"], dtype=torch.float64)
        Xv = torch.tensor(doc["value_input"], dtype=torch.float64)
        p["inputs"]["X_k"], p["inputs"]["X_v"] = Xk, Xv
    else:
        Xk = Xv = X
    for t in (Xk, Xv):
        assert t.dim() == X.dim()
        if batched:
            assert t.shape[0] == Bt
    assert Xk.shape[-2] == Xv.shape[-2]
    S, kdim, vdim = Xk.shape[-2], Xk.shape[-1], Xv.shape[-1]
    p.update(Xk=Xk, Xv=Xv, S=S, kdim=kdim, vdim=vdim)

    def M(a, shape):  # doc matrix -> torch (out, in) layout
        t = torch.tensor(a, dtype=torch.float64)
        assert t.dim() == 2
        t = t.t().contiguous() if layout == "math" else t
        assert tuple(t.shape) == shape, (tuple(t.shape), shape)
        return t

    def Vec(a, n):
        t = torch.tensor(a, dtype=torch.float64)
        assert tuple(t.shape) == (n,)
        return t

    w = doc.get("weights")
    if w is None:  # no weights: identity projections and no output projection
        assert kdim == E and vdim == E
        p.update(Wq=None, Wk=None, Wv=None, bq=None, bk=None, bv=None, Wo=None, bo=None)
        w = {}
    else:
        if "in_proj_weight" in w:
            assert kdim == E and vdim == E
            Win = M(w["in_proj_weight"], (3 * E, E))
            p["Wq"], p["Wk"], p["Wv"] = Win[:E], Win[E:2 * E], Win[2 * E:]
        elif "q_proj_weight" in w:
            p["Wq"] = M(w["q_proj_weight"], (E, E))
            p["Wk"] = M(w["k_proj_weight"], (E, kdim))
            p["Wv"] = M(w["v_proj_weight"], (E, vdim))
        else:
            p["Wq"], p["Wk"], p["Wv"] = (M(w["W_q"], (E, E)), M(w["W_k"], (E, kdim)),
                                         M(w["W_v"], (E, vdim)))
        if "in_proj_bias" in w:
            b = Vec(w["in_proj_bias"], 3 * E)
            p["bq"], p["bk"], p["bv"] = b[:E], b[E:2 * E], b[2 * E:]
        elif "b_q" in w:
            p["bq"], p["bk"], p["bv"] = Vec(w["b_q"], E), Vec(w["b_k"], E), Vec(w["b_v"], E)
        else:
            p["bq"] = p["bk"] = p["bv"] = None
        if "out_proj.weight" in w:
            p["Wo"] = M(w["out_proj.weight"], (E, E))
            p["bo"] = Vec(w["out_proj.bias"], E) if "out_proj.bias" in w else None
        elif "W_o" in w:
            p["Wo"] = M(w["W_o"], (E, E))
            p["bo"] = Vec(w["b_o"], E) if "b_o" in w else None
        else:
            p["Wo"] = p["bo"] = None
    assert ("bias_k" in w) == ("bias_v" in w)
    if "bias_k" in w:
        bk_ = torch.tensor(w["bias_k"], dtype=torch.float64)
        bv_ = torch.tensor(w["bias_v"], dtype=torch.float64)
        for t in (bk_, bv_):
            assert tuple(t.shape) in ((1, 1, E), (E,))
        p["bias_k"], p["bias_v"] = bk_.reshape(E), bv_.reshape(E)
    else:
        p["bias_k"] = p["bias_v"] = None
    za = doc.get("add_zero_attn", False)
    assert isinstance(za, bool)
    p["zero_attn"] = za
    p["Sx"] = S + (1 if p["bias_k"] is not None else 0) + (1 if za else 0)

    # --- masks ---
    masks = {}
    if "mask" in doc:
        m = doc["mask"]
        if m == "causal":
            i = torch.arange(L).unsqueeze(1)
            j = torch.arange(S).unsqueeze(0)
            keep = (j <= i).to(torch.float64)
        else:
            flat = torch.tensor(m, dtype=torch.float64)
            assert all(not isinstance(v, bool) for v in _flat(m))
            assert ((flat == 0) | (flat == 1)).all()
            assert flat.shape == (L, S) or (batched and flat.shape == (Bt, L, S))
            keep = flat
        masks["mask"] = keep
    if "attn_mask" in doc:
        vals = _flat(doc["attn_mask"])
        is_bool = all(isinstance(v, bool) for v in vals)
        assert is_bool or all(not isinstance(v, bool) for v in vals)
        conv = [float(v) if is_bool else json_number(v) for v in vals]
        nd = len(list_shape(doc["attn_mask"]))
        if nd == 2:
            shape = (L, S)
        else:
            assert nd == 3
            shape = (Bt * H, L, S)
        t = torch.tensor(conv, dtype=torch.float64).reshape(shape)
        p["attn_is_bool"] = is_bool
        p["attn_3d"] = nd == 3
        masks["attn_mask"] = t
    if "key_padding_mask" in doc:
        vals = _flat(doc["key_padding_mask"])
        assert all(isinstance(v, bool) for v in vals)
        shape = (Bt, S) if batched else (S,)
        masks["key_padding_mask"] = torch.tensor([float(v) for v in vals]).reshape(shape)
    p["masks"] = masks
    return p


def compute_stages(p):
    """Stage tensors with torch ops (float64), in the presented shapes."""
    E, H, d, L, S, Sx, Bt = p["E"], p["H"], p["d"], p["L"], p["S"], p["Sx"], p["Bt"]
    batched = p["batched"]

    def lin(x, Wt, b):
        if Wt is None:  # no weights: identity projection
            return x.clone()
        y = x @ Wt.t()
        return y + b if b is not None else y

    def canon(t):  # add the batch axis for unbatched tensors
        return t if batched else t.unsqueeze(0)

    def present(t, heads=True):  # canonical (Bt, [H,] ...) -> presented shape
        if heads and H == 1:
            t = t.squeeze(1)
        if not batched:
            t = t.squeeze(0)
        return t.contiguous()

    Q = lin(canon(p["inputs"]["X"]), p["Wq"], p["bq"])   # (Bt, L, E)
    K = lin(canon(p["Xk"]), p["Wk"], p["bk"])             # (Bt, S, E)
    V = lin(canon(p["Xv"]), p["Wv"], p["bv"])
    st = {"input": dict(p["inputs"]),
          "projections": {"Q": present(Q, False), "K": present(K, False),
                          "V": present(V, False)}}
    if p["bias_k"] is not None:
        K = torch.cat([K, p["bias_k"].expand(Bt, 1, E)], dim=1)
        V = torch.cat([V, p["bias_v"].expand(Bt, 1, E)], dim=1)
    if p["zero_attn"]:
        K = torch.cat([K, torch.zeros(Bt, 1, E)], dim=1)
        V = torch.cat([V, torch.zeros(Bt, 1, E)], dim=1)
    if Sx != S:
        st["extra_keys"] = {"K": present(K, False), "V": present(V, False)}

    def split(t):  # (Bt, n, E) -> (Bt, H, n, d)
        return t.reshape(t.shape[0], t.shape[1], H, d).transpose(1, 2).contiguous()

    Qh, Kh, Vh = split(Q), split(K), split(V)
    if H > 1:
        st["split_heads"] = {"Q": present(Qh, False), "K": present(Kh, False),
                             "V": present(Vh, False)}
    scores = Qh @ Kh.transpose(-1, -2)           # (Bt, H, L, Sx)
    scaled = scores * p["scale"]
    st["scores"] = {"scores": present(scores)}
    st["scaling"] = {"scaled": present(scaled)}

    masks = p["masks"]
    logits = scaled
    if masks:
        ms = {}
        value = torch.zeros(Bt, H, L, S)
        blocked = torch.zeros(Bt, H, L, S, dtype=torch.bool)
        if "mask" in masks:
            keep = masks["mask"]
            ms["mask"] = keep
            kb = keep.reshape(1, 1, L, S) if keep.dim() == 2 else keep.unsqueeze(1)
            blocked = blocked | (kb == 0)
        if "attn_mask" in masks:
            am = masks["attn_mask"]
            am4 = am.reshape(1, 1, L, S) if am.dim() == 2 else am.reshape(Bt, H, L, S)
            if p["attn_is_bool"]:
                blocked = blocked | (am4 != 0)
            else:
                value = value + am4
            shown = am if am.dim() == 2 else present(am4)
            ms["attn_mask"] = shown
        if "key_padding_mask" in masks:
            kpm = masks["key_padding_mask"]
            ms["key_padding_mask"] = kpm
            blocked = blocked | (kpm.reshape(Bt, 1, 1, S) != 0)
        add = value.masked_fill(blocked, NEG_INF)
        add = torch.cat([add, torch.zeros(Bt, H, L, Sx - S)], dim=-1)
        logits = scaled + add
        ms["additive_mask"] = present(add)
        ms["masked"] = present(logits)
        st["masking"] = ms

    weights = torch.softmax(logits, dim=-1)
    weighted = weights.unsqueeze(-1) * Vh.unsqueeze(2)    # (Bt, H, L, Sx, d)
    context = weighted.sum(dim=-2)                        # (Bt, H, L, d)
    merged = context.transpose(1, 2).reshape(Bt, L, E)
    st["softmax"] = {"weights": present(weights)}
    st["weighted_values"] = {"weighted": present(weighted)}
    st["summation"] = {"context": present(context)}
    if H > 1:
        st["merge_heads"] = {"context": present(merged, False)}
    if p["Wo"] is not None:
        st["out_proj"] = {"output": present(lin(merged, p["Wo"], p["bo"]), False)}
    return st


# ---------------------------------------------------------------------------
# Independent re-implementation: Python loops over the JSON lists
# ---------------------------------------------------------------------------
def naive_stages(doc):
    X = np.array(doc["input"], dtype=float)
    batched = X.ndim == 3
    Xb = X if batched else X[None]
    B, L, E = Xb.shape
    H = doc.get("num_heads", 1)
    d = E // H
    sc = doc.get("scale", "head_dim")
    scale = {"head_dim": 1.0 / math.sqrt(d), "embed_dim": 1.0 / math.sqrt(E),
             "none": 1.0}[sc] if isinstance(sc, str) else float(sc)
    math_layout = doc.get("weight_layout") == "math"
    w = doc.get("weights", {})

    def mat(name):  # (out, in) as nested Python lists
        a = np.array(w[name], dtype=float)
        return a.T if math_layout else a

    if "kv_input" in doc:
        Kin = Vin = np.array(doc["kv_input"], dtype=float)
    elif "key_input" in doc:
        Kin, Vin = np.array(doc["key_input"], dtype=float), np.array(doc["value_input"], dtype=float)
    else:
        Kin = Vin = X
    Kb = Kin if batched else Kin[None]
    Vb = Vin if batched else Vin[None]
    S = Kb.shape[1]

    if "in_proj_weight" in w:
        Win = mat("in_proj_weight")
        Wq, Wk, Wv = Win[0:E], Win[E:2 * E], Win[2 * E:3 * E]
    elif "q_proj_weight" in w:
        Wq, Wk, Wv = mat("q_proj_weight"), mat("k_proj_weight"), mat("v_proj_weight")
    elif "W_q" in w:
        Wq, Wk, Wv = mat("W_q"), mat("W_k"), mat("W_v")
    else:  # no weights: identity projections
        Wq = Wk = Wv = None
    if "in_proj_bias" in w:
        ib = w["in_proj_bias"]
        bq, bk, bv = ib[0:E], ib[E:2 * E], ib[2 * E:3 * E]
    elif "b_q" in w:
        bq, bk, bv = w["b_q"], w["b_k"], w["b_v"]
    else:
        bq = bk = bv = None
    if "out_proj.weight" in w:
        Wo, bo = mat("out_proj.weight"), w.get("out_proj.bias")
    elif "W_o" in w:
        Wo, bo = mat("W_o"), w.get("b_o")
    else:
        Wo = bo = None

    def proj(Xs, Wt, b):
        n, k_in = Xs.shape[1], Xs.shape[2]
        out = np.zeros((B, n, E if Wt is None else Wt.shape[0]))
        for bi in range(B):
            for i in range(n):
                for o in range(out.shape[2]):
                    if Wt is None:  # identity projection
                        out[bi, i, o] = Xs[bi, i, o]
                        continue
                    s = 0.0 if b is None else float(b[o])
                    for k in range(k_in):
                        s += Xs[bi, i, k] * Wt[o, k]
                    out[bi, i, o] = s
        return out

    Q, K, V = proj(Xb, Wq, bq), proj(Kb, Wk, bk), proj(Vb, Wv, bv)
    st = {"input": {"X": Xb}}
    if "kv_input" in doc:
        st["input"]["X_kv"] = Kb
    elif "key_input" in doc:
        st["input"]["X_k"], st["input"]["X_v"] = Kb, Vb
    st["projections"] = {"Q": Q, "K": K, "V": V}

    extra_k, extra_v = [], []
    if "bias_k" in w:
        extra_k.append(np.array(_flat(w["bias_k"]), dtype=float))
        extra_v.append(np.array(_flat(w["bias_v"]), dtype=float))
    if doc.get("add_zero_attn", False):
        extra_k.append(np.zeros(E))
        extra_v.append(np.zeros(E))
    Sx = S + len(extra_k)
    Kx = np.zeros((B, Sx, E))
    Vx = np.zeros((B, Sx, E))
    for bi in range(B):
        for j in range(Sx):
            Kx[bi, j] = K[bi, j] if j < S else extra_k[j - S]
            Vx[bi, j] = V[bi, j] if j < S else extra_v[j - S]
    if Sx != S:
        st["extra_keys"] = {"K": Kx, "V": Vx}

    Qh = np.zeros((B, H, L, d))
    Kh = np.zeros((B, H, Sx, d))
    Vh = np.zeros((B, H, Sx, d))
    for bi in range(B):
        for h in range(H):
            for c in range(d):
                Qh[bi, h, :, c] = Q[bi, :, h * d + c]
                Kh[bi, h, :, c] = Kx[bi, :, h * d + c]
                Vh[bi, h, :, c] = Vx[bi, :, h * d + c]
    if H > 1:
        st["split_heads"] = {"Q": Qh, "K": Kh, "V": Vh}

    scores = np.zeros((B, H, L, Sx))
    for bi in range(B):
        for h in range(H):
            for i in range(L):
                for j in range(Sx):
                    scores[bi, h, i, j] = sum(Qh[bi, h, i, c] * Kh[bi, h, j, c] for c in range(d))
    scaled = scores * scale
    st["scores"] = {"scores": scores}
    st["scaling"] = {"scaled": scaled}

    # Masks, read element by element from the JSON lists.
    mask, am, kpm = doc.get("mask"), doc.get("attn_mask"), doc.get("key_padding_mask")

    def additive(bi, h, i, j):
        if j >= S:
            return 0.0  # bias_kv / zero_attn columns are never blocked
        val, blocked = 0.0, False
        if mask == "causal":
            blocked = blocked or j > i
        elif mask is not None:
            m2 = mask[bi] if len(list_shape(mask)) == 3 else mask
            blocked = blocked or m2[i][j] == 0
        if am is not None:
            a2 = (am[bi * H + h] if batched else am[h]) if len(list_shape(am)) == 3 else am
            v = a2[i][j]
            if isinstance(v, bool):
                blocked = blocked or v
            else:
                val = json_number(v)
        if kpm is not None:
            k1 = kpm[bi] if batched else kpm
            blocked = blocked or k1[j]
        return NEG_INF if blocked else val

    logits = scaled
    if mask is not None or am is not None or kpm is not None:
        ms = {}
        if mask is not None:
            if mask == "causal":
                ms["mask"] = np.array([[1.0 if j <= i else 0.0 for j in range(S)]
                                       for i in range(L)])
            else:
                ms["mask"] = np.array(mask, dtype=float)
        if am is not None:
            conv = lambda v: float(v) if isinstance(v, bool) else json_number(v)
            if len(list_shape(am)) == 2:
                ms["attn_mask"] = np.array([[conv(v) for v in row] for row in am])
            elif batched:
                a4 = np.array([[[[conv(v) for v in row] for row in am[bi * H + h]]
                                for h in range(H)] for bi in range(B)])
                ms["attn_mask"] = a4 if H > 1 else a4[:, 0]
            else:
                a3 = np.array([[[conv(v) for v in row] for row in am[h]] for h in range(H)])
                ms["attn_mask"] = a3 if H > 1 else a3[0]
        if kpm is not None:
            ms["key_padding_mask"] = np.array(kpm, dtype=float)
        add = np.zeros((B, H, L, Sx))
        for bi in range(B):
            for h in range(H):
                for i in range(L):
                    for j in range(Sx):
                        add[bi, h, i, j] = additive(bi, h, i, j)
        logits = scaled + add
        ms["additive_mask"] = add
        ms["masked"] = logits
        st["masking"] = ms

    weights = np.zeros((B, H, L, Sx))
    for bi in range(B):
        for h in range(H):
            for i in range(L):
                row = logits[bi, h, i]
                m = max(row)
                if m == NEG_INF:
                    weights[bi, h, i, :] = math.nan  # nothing to attend: 0/0
                    continue
                e = [0.0 if x == NEG_INF else math.exp(x - m) for x in row]
                tot = sum(e)
                weights[bi, h, i, :] = [x / tot for x in e]
    weighted = np.zeros((B, H, L, Sx, d))
    for bi in range(B):
        for h in range(H):
            for i in range(L):
                for j in range(Sx):
                    weighted[bi, h, i, j, :] = weights[bi, h, i, j] * Vh[bi, h, j, :]
    context = np.zeros((B, H, L, d))
    for bi in range(B):
        for h in range(H):
            for i in range(L):
                for c in range(d):
                    context[bi, h, i, c] = sum(weighted[bi, h, i, j, c] for j in range(Sx))
    merged = np.zeros((B, L, E))
    for h in range(H):
        merged[:, :, h * d:(h + 1) * d] = context[:, h]
    hx = (lambda t: t) if H > 1 else (lambda t: t[:, 0])
    st["scores"] = {"scores": hx(scores)}
    st["scaling"] = {"scaled": hx(scaled)}
    st["softmax"] = {"weights": hx(weights)}
    st["weighted_values"] = {"weighted": hx(weighted)}
    st["summation"] = {"context": hx(context)}
    if H > 1:
        st["merge_heads"] = {"context": merged}
    if Wo is not None:
        out = np.zeros((B, L, E))
        for bi in range(B):
            for i in range(L):
                for o in range(E):
                    s = 0.0 if bo is None else float(bo[o])
                    for k in range(E):
                        s += merged[bi, i, k] * Wo[o, k]
                    out[bi, i, o] = s
        st["out_proj"] = {"output": out}
    if "masking" in st:
        for k in ("additive_mask", "masked"):
            st["masking"][k] = hx(st["masking"][k])
    if not batched:
        keep_as_is = {("masking", "mask"), ("masking", "attn_mask"),
                      ("masking", "key_padding_mask")}
        st = {s: {k: (v if (s, k) in keep_as_is else v[0]) for k, v in ts.items()}
              for s, ts in st.items()}
    return st


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------
def assert_close(what, got, want, rtol=RTOL):
    """Equal shapes, NaN at the same places, equal infinities, finite values close."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise AssertionError("%s: shape %s != %s" % (what, got.shape, want.shape))
    if not np.array_equal(np.isnan(got), np.isnan(want)):
        raise AssertionError("%s: NaN at different positions:\n%s\n%s"
                             % (what, np.argwhere(np.isnan(got)), np.argwhere(np.isnan(want))))
    gi, wi = np.isinf(got), np.isinf(want)
    if not np.array_equal(gi, wi) or not np.array_equal(got[gi], want[wi]):
        raise AssertionError("%s: infinities differ" % what)
    fin = np.isfinite(want)
    if not fin.any():
        return 0.0
    ref = max(1.0, float(np.max(np.abs(want[fin]))))
    err = float(np.max(np.abs(got[fin] - want[fin])))
    if not (err <= rtol * ref):
        raise AssertionError("%s: max abs diff %.3e exceeds %.1e (relative to %.3g)"
                             % (what, err, rtol, ref))
    return err


def mha_state_dict_from_doc(doc, E, kdim, vdim):
    """nn.MultiheadAttention state_dict from the document's weights (torch layout); a missing
    projection (no "weights" key, no output projection) is the identity."""
    w = doc.get("weights", {})
    math_layout = doc.get("weight_layout", "torch") == "math"
    T = lambda a: (torch.tensor(a).t() if math_layout else torch.tensor(a)).contiguous()
    if "in_proj_weight" in w:
        Wq, Wk, Wv = T(w["in_proj_weight"]).chunk(3, dim=0)
    elif "q_proj_weight" in w:
        Wq, Wk, Wv = T(w["q_proj_weight"]), T(w["k_proj_weight"]), T(w["v_proj_weight"])
    elif "W_q" in w:
        Wq, Wk, Wv = T(w["W_q"]), T(w["W_k"]), T(w["W_v"])
    else:
        Wq = Wk = Wv = torch.eye(E)
    if "in_proj_bias" in w:
        in_bias = torch.tensor(w["in_proj_bias"])
    elif "b_q" in w:
        in_bias = torch.cat([torch.tensor(w[k]) for k in ("b_q", "b_k", "b_v")])
    else:
        in_bias = None
    if "out_proj.weight" in w:
        Wo, bo = T(w["out_proj.weight"]), w.get("out_proj.bias")
    elif "W_o" in w:
        Wo, bo = T(w["W_o"]), w.get("b_o")
    else:
        Wo, bo = torch.eye(E), None
    bo = None if bo is None else torch.tensor(bo)
    has_bias = in_bias is not None or bo is not None
    sd = {}
    if kdim == E and vdim == E:
        sd["in_proj_weight"] = torch.cat([Wq, Wk, Wv], dim=0)
    else:
        sd["q_proj_weight"], sd["k_proj_weight"], sd["v_proj_weight"] = Wq, Wk, Wv
    if has_bias:  # MHA's bias=True has both biases; a missing one is zero
        sd["in_proj_bias"] = in_bias if in_bias is not None else torch.zeros(3 * E)
        sd["out_proj.bias"] = bo if bo is not None else torch.zeros(E)
    sd["out_proj.weight"] = Wo
    if "bias_k" in w:
        sd["bias_k"] = torch.tensor(w["bias_k"]).reshape(1, 1, E)
        sd["bias_v"] = torch.tensor(w["bias_v"]).reshape(1, 1, E)
    return sd, has_bias


def check_sd_against_truth(name, sd, truth, E):
    eye, z = np.eye(E), np.zeros(E)
    want = {"out_proj.weight": truth.get("Wo", eye)}
    if "in_proj_weight" in sd:
        want["in_proj_weight"] = np.concatenate([truth.get(k, eye) for k in ("Wq", "Wk", "Wv")])
    else:
        want.update(q_proj_weight=truth["Wq"], k_proj_weight=truth["Wk"],
                    v_proj_weight=truth["Wv"])
    if "in_proj_bias" in sd:
        want["in_proj_bias"] = np.concatenate([truth.get(k, z) for k in ("bq", "bk", "bv")])
        want["out_proj.bias"] = truth.get("bo", z)
    if "bias_k" in truth:
        want["bias_k"] = truth["bias_k"].reshape(1, 1, E)
        want["bias_v"] = truth["bias_v"].reshape(1, 1, E)
    assert set(sd) == set(want), (name, sorted(sd), sorted(want))
    for k in want:
        assert np.array_equal(sd[k].numpy(), want[k]), (name, k)


def mha_check(name, doc, truth, stages):
    """Cross-check softmax weights and output against torch.nn.MultiheadAttention.
    Returns (max difference, number of output rows that are NaN)."""
    X = torch.tensor(doc["input"])
    E, L = X.shape[-1], X.shape[-2]
    H = doc.get("num_heads", 1)
    d = E // H
    if "kv_input" in doc:
        key = value = torch.tensor(doc["kv_input"])
    elif "key_input" in doc:
        key, value = torch.tensor(doc["key_input"]), torch.tensor(doc["value_input"])
    else:
        key = value = X  # the same tensor object: self-attention
    S, kdim, vdim = key.shape[-2], key.shape[-1], value.shape[-1]
    assert np.array_equal(X.numpy(), truth["X"])
    assert np.array_equal(key.numpy(), truth["Xk"]) and np.array_equal(value.numpy(), truth["Xv"])

    sd, has_bias = mha_state_dict_from_doc(doc, E, kdim, vdim)
    check_sd_against_truth(name, sd, truth, E)
    # MHA always multiplies the scores by 1/sqrt(d): emulate any other intended scale (from the
    # config, not from parse_doc) by multiplying the q part of the in-projection by c.  When c
    # is 1 up to rounding (d**-0.5 * sqrt(d) can be 1 + 1 ulp), leave MHA's own scaling alone.
    c = truth["scale"] * math.sqrt(d)
    if not math.isclose(c, 1.0, rel_tol=1e-15):
        qw = "in_proj_weight" if "in_proj_weight" in sd else "q_proj_weight"
        sd[qw] = torch.cat([c * sd[qw][:E], sd[qw][E:]])
        if has_bias:
            sd["in_proj_bias"] = torch.cat([c * sd["in_proj_bias"][:E],
                                            sd["in_proj_bias"][E:]])
    mha = torch.nn.MultiheadAttention(E, H, bias=has_bias, add_bias_kv="bias_k" in sd,
                                      add_zero_attn=doc.get("add_zero_attn", False),
                                      kdim=kdim, vdim=vdim, batch_first=True,
                                      dtype=torch.float64)
    mha.load_state_dict(sd, strict=True)
    # Stay in training mode (dropout is 0.0, so this is deterministic): in eval mode under
    # no_grad torch 1.13 may take the fused "fast path", which crashes for bias=False; train
    # mode uses the reference F.multi_head_attention_forward implementation.
    mha.train()
    assert mha.dropout == 0.0

    # attn_mask for PyTorch: `mask` as a bool mask (blocked = not keep) combined with attn_mask.
    attn_mask = None
    if "attn_mask" in doc:
        vals = _flat(doc["attn_mask"])
        if all(isinstance(v, bool) for v in vals):
            attn_mask = torch.tensor(doc["attn_mask"], dtype=torch.bool)
        else:
            attn_mask = torch.tensor([json_number(v) for v in vals],
                                     dtype=torch.float64).reshape(list_shape(doc["attn_mask"]))
    if "mask" in doc:
        if doc["mask"] == "causal":
            blocked = torch.triu(torch.ones(L, S), 1).bool()
        else:
            blocked = torch.tensor(doc["mask"], dtype=torch.float64) == 0
            if blocked.dim() == 3:
                blocked = blocked.repeat_interleave(H, dim=0)  # (B, L, S) -> (B*H, L, S)
        if attn_mask is None:
            attn_mask = blocked
        elif attn_mask.dtype == torch.bool:
            attn_mask = attn_mask.logical_or(blocked)
        else:
            shape = torch.broadcast_shapes(attn_mask.shape, blocked.shape)
            attn_mask = attn_mask.expand(shape).clone().masked_fill(blocked.expand(shape), NEG_INF)
    kpm = None
    if "key_padding_mask" in doc:
        kpm = torch.tensor(doc["key_padding_mask"], dtype=torch.bool)

    with torch.no_grad():
        out, attn = mha(X, key, value, key_padding_mask=kpm, need_weights=True,
                        attn_mask=attn_mask, average_attn_weights=False)
    assert out.dtype == torch.float64 and attn.dtype == torch.float64
    w_gold = stages["softmax"]["weights"]
    # MHA gives (B, H, L, S') / (H, L, S'); the stage drops the head axis when H = 1.
    assert attn.numel() == w_gold.numel()
    e1 = assert_close(name + ": MHA attention weights vs softmax stage",
                      w_gold.numpy(), attn.reshape(w_gold.shape).numpy())
    if "out_proj" in stages:
        e2 = assert_close(name + ": MHA output vs out_proj stage",
                          stages["out_proj"]["output"].numpy(), out.numpy())
        # and the other way round (the tolerance is relative to the second argument)
        assert_close(name + ": out_proj from MHA sanity", out.numpy(),
                     stages["out_proj"]["output"].numpy())
    else:
        # No output projection: MHA's is the identity, so its output is the merged context
        # (the summation stage itself when H = 1: there is nothing to merge).
        merged = stages["merge_heads" if H > 1 else "summation"]["context"]
        e2 = assert_close(name + ": MHA output (identity out_proj) vs merged context",
                          merged.numpy(), out.numpy())
    return max(e1, e2), int(torch.isnan(out).any(dim=-1).sum())


def expected_shapes(p, doc):
    """The stage/tensor -> shape contract of the trace, in the order the tensors must come."""
    B = [p["Bt"]] if p["batched"] else []
    L, S, Sx, E, H, d = p["L"], p["S"], p["Sx"], p["E"], p["H"], p["d"]
    hd = [H] if H > 1 else []
    sh = {("input", "X"): B + [L, E]}
    if "kv_input" in doc:
        sh[("input", "X_kv")] = B + [S, p["kdim"]]
    elif "key_input" in doc:
        sh[("input", "X_k")] = B + [S, p["kdim"]]
        sh[("input", "X_v")] = B + [S, p["vdim"]]
    sh.update({("projections", "Q"): B + [L, E], ("projections", "K"): B + [S, E],
               ("projections", "V"): B + [S, E]})
    if Sx != S:
        sh[("extra_keys", "K")] = B + [Sx, E]
        sh[("extra_keys", "V")] = B + [Sx, E]
    if H > 1:
        sh.update({("split_heads", "Q"): B + [H, L, d], ("split_heads", "K"): B + [H, Sx, d],
                   ("split_heads", "V"): B + [H, Sx, d]})
    sh[("scores", "scores")] = B + hd + [L, Sx]
    sh[("scaling", "scaled")] = B + hd + [L, Sx]
    if "mask" in doc:
        sh[("masking", "mask")] = ([p["Bt"]] if len(list_shape(doc["mask"])) == 3 else []) + [L, S]
    if "attn_mask" in doc:
        sh[("masking", "attn_mask")] = ([L, S] if len(list_shape(doc["attn_mask"])) == 2
                                        else B + hd + [L, S])
    if "key_padding_mask" in doc:
        sh[("masking", "key_padding_mask")] = B + [S]
    if any(k in doc for k in ("mask", "attn_mask", "key_padding_mask")):
        sh[("masking", "additive_mask")] = B + hd + [L, Sx]
        sh[("masking", "masked")] = B + hd + [L, Sx]
    sh[("softmax", "weights")] = B + hd + [L, Sx]
    sh[("weighted_values", "weighted")] = B + hd + [L, Sx, d]
    sh[("summation", "context")] = B + hd + [L, d]
    if H > 1:
        sh[("merge_heads", "context")] = B + [L, E]
    if p["Wo"] is not None:
        sh[("out_proj", "output")] = B + [L, E]
    return sh


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------
def num(v):
    """A float as written in the golden files: JSON has no infinities or NaN, so those become
    the strings "-inf", "inf" and "nan" (json_number reads them back)."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


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
            ts[k] = {"shape": list(t.shape), "data": [num(float(v)) for v in t.reshape(-1).tolist()]}
        lines.append("  %s: %s" % (json.dumps(s), dumps(ts)))
    parts.append("\n" + ",\n".join(lines) + "\n }\n}\n")
    text = "".join(parts)
    json.loads(text)  # must be valid JSON
    return text


def read_back(text):
    """Parse a written golden file back into float arrays ("nan"/"-inf" strings decoded)."""
    g = json.loads(text)
    out = {}
    for s, ts in g["stages"].items():
        out[s] = {}
        for k, t in ts.items():
            assert all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       or v in ("nan", "inf", "-inf") for v in t["data"])
            out[s][k] = np.array([json_number(v) for v in t["data"]], dtype=float).reshape(t["shape"])
    return g, out


def process(name, covers, doc, truth, full_rows=False):
    """Compute, check and write tests/golden/<name>.json; full_rows: the masks block whole rows,
    so the output must have NaN rows (and otherwise none at all)."""
    # Round-trip through JSON text: compute from exactly the numbers the golden file holds.
    doc = json.loads(json.dumps(doc, allow_nan=False))
    p = parse_doc(doc)
    stages = compute_stages(p)
    assert list(stages) == [s for s in STAGE_ORDER if s in stages], (name, list(stages))

    shapes = expected_shapes(p, doc)
    got = {(s, k): list(t.shape) for s, ts in stages.items() for k, t in ts.items()}
    assert got == shapes, (name, got, shapes)
    for s, ts in stages.items():  # tensor order within each stage is part of the contract
        want_order = [k for (s2, k) in shapes if s2 == s]
        assert list(ts) == want_order, (name, s, list(ts), want_order)

    naive = naive_stages(doc)
    assert set(naive) == set(stages), (name, sorted(naive), sorted(stages))
    for s in stages:
        assert list(naive[s]) == list(stages[s]), (name, s, list(naive[s]), list(stages[s]))
        for k in stages[s]:
            assert_close("%s: naive %s.%s" % (name, s, k), stages[s][k].numpy(), naive[s][k])

    err, nan_rows = mha_check(name, doc, truth, stages)
    if full_rows:
        assert nan_rows > 0, name
    else:
        assert nan_rows == 0 and not any(torch.isnan(t).any() for ts in stages.values()
                                         for t in ts.values()), name

    text = serialize(name, covers, doc, stages)
    g, back = read_back(text)
    assert g["input"] == doc
    for s in stages:
        for k in stages[s]:
            assert_close("%s: read back %s.%s" % (name, s, k), back[s][k], stages[s][k].numpy(), 0.0)
    path = os.path.join(OUT_DIR, name + ".json")
    with open(path, "w") as f:
        f.write(text)
    Bdesc = (" B=%d" % p["Bt"]) if p["batched"] else ""
    print("wrote %s (%d bytes; H=%d E=%d L=%d S=%d S'=%d%s; stages: %s; MHA check ok, max diff %.1e%s)"
          % (os.path.relpath(path, REPO_ROOT), len(text), p["H"], p["E"], p["L"], p["S"], p["Sx"],
             Bdesc, " ".join(stages), err, ("; %d NaN output rows" % nan_rows) if nan_rows else ""))
