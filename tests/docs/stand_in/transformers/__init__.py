"""A stand-in for Hugging Face's `transformers`, for tests/docs/your_own_model.py only.

Debian 12 has no `transformers` package, and the tests download nothing, so the snippets of
docs/your-own-model.md import this instead. It builds a small BERT with exactly the module
and parameter names of transformers' BertModel (src/transformers/models/bert/modeling_bert.py):
embeddings.{word,position,token_type}_embeddings, embeddings.LayerNorm,
encoder.layer.N.attention.self.{query,key,value}, encoder.layer.N.attention.output.{dense,
LayerNorm}, encoder.layer.N.intermediate.dense, encoder.layer.N.output.{dense,LayerNorm},
pooler.dense; and computes what BertModel computes in eval mode (scores / √d plus the
extended attention mask, softmax, weights·V, then dense, residual and LayerNorm). It is
4 layers of hidden size 24 with 12 heads (d = 2) instead of bert-base's 12 layers of 768, so
that `--weights-prefix encoder.layer.3.attention. --heads 12` names a real layer of it.

What the snippets use, with transformers' signatures: AutoModel.from_pretrained(name or
folder), model(**inputs, output_hidden_states=True).hidden_states, model.save_pretrained(folder)
writing folder/model.safetensors (F32, serialised here by hand: an 8-byte little-endian header
length, the JSON header, the raw data) and folder/config.json; AutoTokenizer.from_pretrained
(name), tokenizer(text, return_tensors="pt"), tokenizer.convert_ids_to_tokens(ids).
"""

import json
import math
import os
import struct
import types
import zlib

import torch
from torch import nn

__version__ = "0.0-stand-in"

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "sat", "on", "mat", "a", "dog"]
CONFIG = {"model_type": "bert", "hidden_size": 24, "num_attention_heads": 12,
          "num_hidden_layers": 4, "intermediate_size": 48, "vocab_size": len(WORDS),
          "max_position_embeddings": 32, "type_vocab_size": 2, "layer_norm_eps": 1e-12}


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_attention_heads = c["num_attention_heads"]
        self.attention_head_size = c["hidden_size"] // c["num_attention_heads"]
        self.query = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.key = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.value = nn.Linear(c["hidden_size"], c["hidden_size"])

    def heads(self, x):  # (B, L, D) → (B, H, L, d)
        return x.view(*x.shape[:-1], self.num_attention_heads, self.attention_head_size).permute(0, 2, 1, 3)

    def forward(self, hidden_states, attention_mask=None):
        q, k, v = (self.heads(f(hidden_states)) for f in (self.query, self.key, self.value))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.attention_head_size)
        if attention_mask is not None:
            scores = scores + attention_mask
        context = (scores.softmax(-1) @ v).permute(0, 2, 1, 3)
        return (context.reshape(*context.shape[:-2], -1),)


class BertSelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, hidden_states, input_tensor):
        return self.LayerNorm(self.dense(hidden_states) + input_tensor)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c)

    def forward(self, hidden_states, attention_mask=None):
        return (self.output(self.self(hidden_states, attention_mask)[0], hidden_states),)


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.output = nn.Module()
        self.output.dense = nn.Linear(c["intermediate_size"], c["hidden_size"])
        self.output.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, hidden_states, attention_mask=None):
        a = self.attention(hidden_states, attention_mask)[0]
        h = nn.functional.gelu(self.intermediate.dense(a))
        return (self.output.LayerNorm(self.output.dense(h) + a),)


class BertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = types.SimpleNamespace(**c)
        self.embeddings = nn.Module()
        self.embeddings.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.embeddings.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.embeddings.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["hidden_size"])
        self.embeddings.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList(BertLayer(c) for _ in range(c["num_hidden_layers"]))
        self.pooler = nn.Module()
        self.pooler.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, input_ids, token_type_ids=None, attention_mask=None,
                output_hidden_states=False):
        e = self.embeddings
        positions = torch.arange(input_ids.shape[1])[None]
        types_ = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids
        h = e.LayerNorm(e.word_embeddings(input_ids) + e.token_type_embeddings(types_)
                        + e.position_embeddings(positions))
        extended = None
        if attention_mask is not None:  # 0 where attended, the dtype's minimum where padding
            extended = (1.0 - attention_mask[:, None, None, :].to(h.dtype)) * torch.finfo(h.dtype).min
        hidden_states = [h]
        for layer in self.encoder.layer:
            h = layer(h, extended)[0]
            hidden_states.append(h)
        return types.SimpleNamespace(last_hidden_state=h,
                                     hidden_states=tuple(hidden_states) if output_hidden_states else None)

    def save_pretrained(self, folder):
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(vars(self.config), f, indent=2)
        _save_safetensors(self.state_dict(), os.path.join(folder, "model.safetensors"))


_DTYPES = {torch.float32: ("F32", 4), torch.float64: ("F64", 8)}


def _save_safetensors(tensors, path):
    header, offset, blobs = {}, 0, []
    for name, tensor in tensors.items():
        code, size = _DTYPES[tensor.dtype]
        data = tensor.detach().contiguous().numpy().astype("<" + ("f4" if size == 4 else "f8")).tobytes()
        header[name] = {"dtype": code, "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)   # as safetensors does: the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def _load_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    header.pop("__metadata__", None)
    data = raw[8 + length:]
    out = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        kind = {"F32": "<f4", "F64": "<f8"}[entry["dtype"]]
        out[name] = torch.from_numpy(np.frombuffer(data[begin:end], dtype=kind).copy()).reshape(entry["shape"])
    return out


class AutoModel:
    @staticmethod
    def from_pretrained(name):
        model = BertModel(CONFIG)
        if os.path.isdir(name):
            model.load_state_dict(_load_safetensors(os.path.join(name, "model.safetensors")))
        else:  # "downloading" a checkpoint: weights as a trained model's, fixed by its name
            torch.manual_seed(zlib.crc32(name.encode()))
            for parameter_name, p in model.named_parameters():
                with torch.no_grad():
                    if "LayerNorm.weight" in parameter_name:
                        p.normal_(1.0, 0.1)
                    else:
                        p.normal_(0.0, 0.3)
        return model.eval()


class BertTokenizer:
    def __call__(self, text, return_tensors="pt"):
        ids = [WORDS.index("[CLS]")] + [WORDS.index(w) if w in WORDS else WORDS.index("[UNK]")
                                        for w in text.lower().split()] + [WORDS.index("[SEP]")]
        input_ids = torch.tensor([ids])
        return {"input_ids": input_ids, "token_type_ids": torch.zeros_like(input_ids),
                "attention_mask": torch.ones_like(input_ids)}

    def convert_ids_to_tokens(self, ids):
        return [WORDS[int(i)] for i in ids]


class AutoTokenizer:
    @staticmethod
    def from_pretrained(name):
        return BertTokenizer()
