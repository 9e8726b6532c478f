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
  bart-decoder-self-attn  BART's attention (BartAttention: q_proj, k_proj, v_proj, out_proj, q
                          multiplied by head_dim^-0.5 after q_proj), a decoder layer's self_attn
                          beside its encoder_attn, causal, batched
  whisper-encoder-layer   Whisper's attention (k_proj without a bias), the second of two encoder
                          layers
  bert-attention          Hugging Face's BERT: encoder.layer.1.attention. of two layers, self.query/
                          key/value and output.dense read together, output.LayerNorm skipped; the
                          output is output.dense's, before the residual and the LayerNorm
  vit-attention           Hugging Face's ViT: vit.encoder.layer.0.attention. (attention.query/key/
                          value and output.dense), the FFN's output.dense beside it
  llama-no-rope           a Llama-family attention (Qwen2's biases on q/k/v, none on o_proj)
                          without rotary embeddings, traced with --rope none; causal

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


# ---- Hugging Face's attention modules, as their sources compute them (transformers 4.x) ----

class BartAttention(torch.nn.Module):
    """BartAttention (also OPT's, Whisper's, M2M100's): q_proj(x) * head_dim**-0.5, then
    q·kᵀ (+ the additive mask), softmax, ·v, out_proj. Whisper's k_proj has no bias."""

    def __init__(self, embed_dim, num_heads, k_bias=True):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, embed_dim // num_heads
        self.scaling = self.head_dim ** -0.5
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=k_bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim)
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim)

    def forward(self, x, attention_mask=None):
        bsz, tgt_len, embed_dim = x.shape
        query_states = self.q_proj(x) * self.scaling
        shape = lambda t: t.view(bsz, -1, self.num_heads, self.head_dim).transpose(1, 2)
        q, k, v = shape(query_states), shape(self.k_proj(x)), shape(self.v_proj(x))
        attn_weights = q @ k.transpose(-1, -2)
        if attention_mask is not None:
            attn_weights = attn_weights + attention_mask
        attn_weights = torch.softmax(attn_weights, dim=-1)
        attn_output = (attn_weights @ v).transpose(1, 2).reshape(bsz, tgt_len, embed_dim)
        return attn_weights, self.out_proj(attn_output)


def linear_qkv(module, x, names=("q_proj", "k_proj", "v_proj")):
    """Q, K and V as the trace shows them: each projection of x with the layer's own weights."""
    return {n: getattr(module, name)(x) for n, name in zip("QKV", names)}


def hf_causal_mask(bsz, t, dtype):
    """The additive causal mask Hugging Face builds: 0 where allowed, the dtype's minimum above
    the diagonal, shape (B, 1, L, L)."""
    mask = torch.full((t, t), torch.finfo(dtype).min, dtype=dtype).triu(1)
    return mask[None, None].expand(bsz, 1, t, t)


def bart():
    torch.manual_seed(16)
    layers = torch.nn.ModuleList()
    for _ in range(2):
        layer = torch.nn.Module()
        layer.self_attn = BartAttention(8, 2)
        layer.self_attn_layer_norm = torch.nn.LayerNorm(8)
        layer.encoder_attn = BartAttention(8, 2)
        layer.fc1 = torch.nn.Linear(8, 16)
        layer.fc2 = torch.nn.Linear(16, 8)
        layers.append(layer)
    model = torch.nn.Module()
    model.model = torch.nn.Module()
    model.model.decoder = torch.nn.Module()
    model.model.decoder.layers = layers
    model = model.double()
    g = torch.Generator().manual_seed(6)
    x = rounded((2, 4, 8), g)
    doc = {"input": x.tolist(), "num_heads": 2, "mask": "causal"}
    attn = model.model.decoder.layers[0].self_attn
    with torch.no_grad():
        weights, output = attn(x, hf_causal_mask(2, 4, torch.float64))
        stages = {"projections": linear_qkv(attn, x), "softmax": {"weights": weights},
                  "out_proj": {"output": output}}
    write_case("bart-decoder-self-attn",
               "BART's q_proj/k_proj/v_proj/out_proj .weight/.bias (q scaled by head_dim^-0.5 "
               "after q_proj), model.decoder.layers.0.self_attn. beside encoder_attn.; causal; "
               "batched",
               doc, model.state_dict(), {"weights_prefix": "model.decoder.layers.0.self_attn."},
               stages)


def whisper():
    torch.manual_seed(17)
    layers = torch.nn.ModuleList()
    for _ in range(2):
        layer = torch.nn.Module()
        layer.self_attn = BartAttention(6, 3, k_bias=False)
        layer.self_attn_layer_norm = torch.nn.LayerNorm(6)
        layer.fc1 = torch.nn.Linear(6, 24)
        layer.fc2 = torch.nn.Linear(24, 6)
        layer.final_layer_norm = torch.nn.LayerNorm(6)
        layers.append(layer)
    model = torch.nn.Module()
    model.encoder = torch.nn.Module()
    model.encoder.layers = layers
    model = model.double()
    g = torch.Generator().manual_seed(7)
    x = rounded((1, 5, 6), g)
    doc = {"input": x[0].tolist(), "tokens": ["a", "b", "c", "d", "e"], "num_heads": 3}
    attn = model.encoder.layers[1].self_attn
    with torch.no_grad():
        weights, output = attn(x)
        stages = {"projections": {k: v[0] for k, v in linear_qkv(attn, x).items()},
                  "softmax": {"weights": weights[0]}, "out_proj": {"output": output[0]}}
    write_case("whisper-encoder-layer",
               "Whisper's attention: k_proj has no bias while q_proj, v_proj and out_proj have "
               "theirs; encoder.layers.1.self_attn. of two layers; three heads",
               doc, model.state_dict(), {"weights_prefix": "encoder.layers.1.self_attn."}, stages)


class BertSelfAttention(torch.nn.Module):
    """BertSelfAttention (ViTSelfAttention is the same): query/key/value, q·kᵀ / √d (+ the
    extended attention mask), softmax, ·v, heads merged."""

    def __init__(self, hidden, heads):
        super().__init__()
        self.heads, self.d = heads, hidden // heads
        self.query = torch.nn.Linear(hidden, hidden)
        self.key = torch.nn.Linear(hidden, hidden)
        self.value = torch.nn.Linear(hidden, hidden)

    def forward(self, x, attention_mask=None):
        split = lambda t: t.view(*t.shape[:-1], self.heads, self.d).permute(0, 2, 1, 3)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.d)
        if attention_mask is not None:
            scores = scores + attention_mask
        probs = torch.softmax(scores, dim=-1)
        context = (probs @ v).permute(0, 2, 1, 3).reshape(*x.shape[:-1], self.heads * self.d)
        return probs, context


def bert_layer(hidden, heads, inner, layer_norm):
    """A BertLayer's (or ViTLayer's) modules under their Hugging Face names."""
    layer = torch.nn.Module()
    layer.attention = torch.nn.Module()
    setattr(layer.attention, inner, BertSelfAttention(hidden, heads))
    layer.attention.output = torch.nn.Module()
    layer.attention.output.dense = torch.nn.Linear(hidden, hidden)
    if layer_norm:
        layer.attention.output.LayerNorm = torch.nn.LayerNorm(hidden)
    layer.intermediate = torch.nn.Module()
    layer.intermediate.dense = torch.nn.Linear(hidden, 4 * hidden)
    layer.output = torch.nn.Module()
    layer.output.dense = torch.nn.Linear(4 * hidden, hidden)
    if layer_norm:
        layer.output.LayerNorm = torch.nn.LayerNorm(hidden)
    else:
        layer.layernorm_before = torch.nn.LayerNorm(hidden)
        layer.layernorm_after = torch.nn.LayerNorm(hidden)
    return layer


def bert():
    torch.manual_seed(18)
    model = torch.nn.Module()
    model.encoder = torch.nn.Module()
    model.encoder.layer = torch.nn.ModuleList(bert_layer(8, 2, "self", True) for _ in range(2))
    model = model.double()
    g = torch.Generator().manual_seed(8)
    x = rounded((2, 3, 8), g)
    # BERT's extended attention mask: the last token of the second sequence is padding.
    padding = torch.tensor([[False, False, False], [False, False, True]])
    extended = (padding.double() * torch.finfo(torch.float64).min)[:, None, None, :]
    doc = {"input": x.tolist(), "num_heads": 2, "key_padding_mask": padding.tolist()}
    attention = model.encoder.layer[1].attention
    with torch.no_grad():
        probs, context = attention.self(x, extended)
        stages = {"projections": linear_qkv(attention.self, x, ("query", "key", "value")),
                  "softmax": {"weights": probs},
                  "out_proj": {"output": attention.output.dense(context)}}
    write_case("bert-attention",
               "Hugging Face's BERT, two layers: encoder.layer.1.attention. reads self.query/key/"
               "value and output.dense together, skips output.LayerNorm; the FFN's output.dense "
               "is not out_proj; a padded key",
               doc, model.state_dict(), {"weights_prefix": "encoder.layer.1.attention."}, stages)


def vit():
    torch.manual_seed(19)
    model = torch.nn.Module()
    model.vit = torch.nn.Module()
    model.vit.encoder = torch.nn.Module()
    model.vit.encoder.layer = torch.nn.ModuleList(
        bert_layer(4, 2, "attention", False) for _ in range(2))
    model = model.double()
    g = torch.Generator().manual_seed(9)
    x = rounded((1, 5, 4), g)
    doc = {"input": x[0].tolist(), "num_heads": 2}
    attention = model.vit.encoder.layer[0].attention
    with torch.no_grad():
        probs, context = attention.attention(x)
        qkv = linear_qkv(attention.attention, x, ("query", "key", "value"))
        stages = {"projections": {k: v[0] for k, v in qkv.items()},
                  "softmax": {"weights": probs[0]},
                  "out_proj": {"output": attention.output.dense(context)[0]}}
    write_case("vit-attention",
               "Hugging Face's ViT: vit.encoder.layer.0.attention. reads attention.query/key/value "
               "and output.dense; the layer's own output.dense (the FFN) is not out_proj",
               doc, model.state_dict(), {"weights_prefix": "vit.encoder.layer.0.attention."},
               stages)


class LlamaAttentionNoRope(torch.nn.Module):
    """LlamaAttention's eager forward with num_key_value_heads = num_heads, rotary embeddings left
    out: q/k/v_proj, q·kᵀ / √d + the causal mask, softmax (in float32 in the source; float64
    here), ·v, o_proj. Qwen2 gives q_proj, k_proj and v_proj biases, o_proj none."""

    def __init__(self, hidden, heads):
        super().__init__()
        self.heads, self.d = heads, hidden // heads
        self.q_proj = torch.nn.Linear(hidden, hidden, bias=True)
        self.k_proj = torch.nn.Linear(hidden, hidden, bias=True)
        self.v_proj = torch.nn.Linear(hidden, hidden, bias=True)
        self.o_proj = torch.nn.Linear(hidden, hidden, bias=False)

    def forward(self, x, attention_mask):
        bsz, q_len, hidden = x.shape
        split = lambda t: t.view(bsz, q_len, self.heads, self.d).transpose(1, 2)
        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        attn_weights = q @ k.transpose(2, 3) / math.sqrt(self.d) + attention_mask
        attn_weights = torch.softmax(attn_weights, dim=-1)
        out = (attn_weights @ v).transpose(1, 2).reshape(bsz, q_len, hidden)
        return attn_weights, self.o_proj(out)


def llama():
    torch.manual_seed(20)
    layers = torch.nn.ModuleList()
    for _ in range(2):
        layer = torch.nn.Module()
        layer.self_attn = LlamaAttentionNoRope(8, 4)
        layer.mlp = torch.nn.Module()
        layer.mlp.gate_proj = torch.nn.Linear(8, 16, bias=False)
        layer.mlp.up_proj = torch.nn.Linear(8, 16, bias=False)
        layer.mlp.down_proj = torch.nn.Linear(16, 8, bias=False)
        layers.append(layer)
    model = torch.nn.Module()
    model.model = torch.nn.Module()
    model.model.layers = layers
    model = model.double()
    g = torch.Generator().manual_seed(10)
    x = rounded((1, 4, 8), g)
    doc = {"input": x[0].tolist(), "tokens": ["The", "cat", "sat", "down"], "num_heads": 4,
           "mask": "causal"}
    attn = model.model.layers[1].self_attn
    with torch.no_grad():
        weights, output = attn(x, hf_causal_mask(1, 4, torch.float64))
        stages = {"projections": {k: v[0] for k, v in linear_qkv(attn, x).items()},
                  "softmax": {"weights": weights[0]}, "out_proj": {"output": output[0]}}
    write_case("llama-no-rope",
               "a Llama-family layer (o_proj; Qwen2's q/k/v biases) without rotary embeddings, "
               "model.layers.1.self_attn. traced with --rope none; causal",
               doc, model.state_dict(),
               {"weights_prefix": "model.layers.1.self_attn.", "rope": "none"}, stages)


def main():
    encoder_layer()
    encoder_second_layer()
    seed001()
    seed004()
    gpt2()
    bart()
    whisper()
    bert()
    vit()
    llama()


if __name__ == "__main__":
    main()
