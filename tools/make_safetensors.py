#!/usr/bin/env python3
"""Write tests/safetensors/ and the bad safetensors files of tests/bad_inputs/.

safetensors is Hugging Face's checkpoint format: an 8-byte little-endian header length N, N bytes
of JSON header {"NAME": {"dtype", "shape", "data_offsets": [begin, end]}, ..., "__metadata__":
{...}} padded with spaces, then the tensors' raw little-endian bytes back to back. Debian 12 has no
`safetensors` package, so write_safetensors below writes the format by hand, as the reference
implementation (huggingface/safetensors, safetensors/src/tensor.rs) does; check_writer() first
checks it against the byte strings of that implementation's own tests.

Each case of tests/safetensors/ is a directory with
  input.json         the input file, as a user writes it
  model.safetensors  the module's state_dict in one dtype
  weights.json       the same values as a JSON state_dict: json.dump of stored.double().tolist(),
                     so that tracing it must give the very same numbers as the safetensors file
  expected.json      as tests/state_dicts/: {"name", "covers", "args", "stages"}: what the module
                     computes in float64 with the stored values (stored.double()), i.e. the F32,
                     F16 and BF16 values converted exactly
Cases
  mha-f64, mha-f32, mha-f16, mha-bf16   one nn.MultiheadAttention (E = 8, 2 heads), stored in each
                     dtype; --heads 2
  encoder-two-layers nn.TransformerEncoder with two layers, F32, an I64 buffer beside the layers
                     and __metadata__; --weights-prefix layers.1.self_attn.
and dtypes.safetensors: F16 and BF16 edge values (±0, subnormals, the smallest normal, the
largest, ±inf, nan) and every 251st bit pattern, each beside torch's own .double() of it as F64;
a tensor of shape (0, 3) and a scalar. tests/unit/test_safetensors.cpp reads them all.

The bad files of tests/bad_inputs/*.safetensors are made from mha-f32's tensors, one mistake each.

Rerun from the repository root with Debian's python3-torch:
    /usr/bin/python3 tools/make_safetensors.py
"""

import json
import os
import struct

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "safetensors")
BAD = os.path.join(ROOT, "tests", "bad_inputs")

DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16",
          torch.bfloat16: "BF16", torch.int64: "I64", torch.uint8: "U8", torch.bool: "BOOL"}


def raw_bytes(t):
    """The tensor's elements, row-major, little-endian."""
    t = t.detach().contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.bool:
        return t.numpy().astype("u1").tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def header_entries(tensors):
    """The header's tensor entries and the data, the tensors back to back in the given order."""
    entries, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = raw_bytes(t)
        entries[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                         "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    return entries, b"".join(blobs)


def pack(header, data):
    """A file from a header (a dict, or bytes as they are) and the data: the header padded with
    spaces to a multiple of 8 bytes, as the reference implementation writes it."""
    text = header if isinstance(header, bytes) else json.dumps(
        header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def write_safetensors(path, tensors, metadata=None):
    entries, data = header_entries(tensors)
    header = ({"__metadata__": metadata} if metadata else {}) | entries
    with open(path, "wb") as f:
        f.write(pack(header, data))


def read_safetensors(path):
    """An independent reading, to check what was written: {name: (dtype, shape, bytes)}."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    header.pop("__metadata__", None)
    data = blob[8 + n:]
    return {k: (v["dtype"], v["shape"], data[v["data_offsets"][0]:v["data_offsets"][1]])
            for k, v in header.items()}


def check_writer():
    """The writer against the reference implementation's tests (tensor.rs: test_serialization,
    test_empty, test_serialization_forced_alignement)."""
    attn = torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float32)
    expected = bytes([
        64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
        116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
        58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
        101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
        0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64])
    assert pack(*header_entries({"attn.0": attn.reshape(1, 2, 3)})) == expected
    assert pack({}, b"") == bytes([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32])
    assert pack({"__metadata__": {"framework": "pt"}}, b"") == bytes([
        40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
        95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
        116, 34, 125, 125, 32, 32, 32, 32, 32])
    aligned = pack(*header_entries({"attn0": attn.reshape(1, 1, 2, 3)}))
    assert aligned[:8] == bytes([72, 0, 0, 0, 0, 0, 0, 0]) and aligned[73:80] == b" " * 7


def tensor_entry(t):
    t = t.detach().double()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def mha_stages(mha, x):
    """Q, K, V from the layer's own in_proj, and what nn.MultiheadAttention returns."""
    w_q, w_k, w_v = mha.in_proj_weight.chunk(3)
    b_q, b_k, b_v = mha.in_proj_bias.chunk(3)
    lin = torch.nn.functional.linear
    output, weights = mha(x, x, x, need_weights=True, average_attn_weights=False)
    return {"projections": {"Q": lin(x, w_q, b_q), "K": lin(x, w_k, b_k), "V": lin(x, w_v, b_v)},
            "softmax": {"weights": weights}, "out_proj": {"output": output}}


def write_case(name, covers, doc, stored, module, attention, x, args, metadata=None):
    """`stored`: the state_dict as the file holds it; `module` is then loaded with the stored
    values in float64, and `attention` (one of its submodules) traced on x."""
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "input.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    path = os.path.join(folder, "model.safetensors")
    write_safetensors(path, stored, metadata)
    for k, (dtype, shape, data) in read_safetensors(path).items():
        assert dtype == DTYPES[stored[k].dtype] and shape == list(stored[k].shape)
        assert data == raw_bytes(stored[k]), k
    floats = {k: v for k, v in stored.items() if v.is_floating_point()}
    with open(os.path.join(folder, "weights.json"), "w") as f:
        json.dump({k: v.double().tolist() for k, v in floats.items()}, f)
        f.write("\n")
    module = module.double().eval()
    module.load_state_dict({k: v.double() if v.is_floating_point() else v
                            for k, v in stored.items() if k in module.state_dict()})
    with torch.no_grad():
        stages = mha_stages(attention(module), x)
    expected = {"name": name, "covers": covers, "args": args,
                "stages": {stage: {t: tensor_entry(v) for t, v in tensors.items()}
                           for stage, tensors in stages.items()}}
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print(f"tests/safetensors/{name}: {len(stored)} tensors, {os.path.getsize(path)} bytes")


def rounded(shape, generator, decimals=3):
    return torch.round(torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1,
                       decimals=decimals)


def mha_module():
    torch.manual_seed(21)
    return torch.nn.MultiheadAttention(8, 2, batch_first=True)


def mha_cases():
    g = torch.Generator().manual_seed(5)
    x = rounded((4, 8), g)
    doc = {"input": x.tolist(), "tokens": ["a", "small", "safe", "file"]}
    for dtype in (torch.float64, torch.float32, torch.float16, torch.bfloat16):
        stored = {k: v.to(dtype) for k, v in mha_module().state_dict().items()}
        write_case(f"mha-{DTYPES[dtype].lower()}",
                   f"nn.MultiheadAttention(8, 2)'s state_dict stored as {DTYPES[dtype]}; "
                   "the trace is torch's in float64 with the stored values; --heads 2",
                   doc, stored, mha_module(), lambda m: m, x, {"heads": 2})


def encoder_case():
    torch.manual_seed(22)
    layer = torch.nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0,
                                             batch_first=True)
    encoder = torch.nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
    with torch.no_grad():  # the two layers start as copies of one; make them differ
        for p in encoder.layers[1].parameters():
            p.add_(torch.rand(p.shape) * 0.2 - 0.1)
    stored = dict(encoder.state_dict())
    # A buffer of whole numbers beside the layers, as BERT's embeddings.position_ids: not read.
    stored["position_ids"] = torch.arange(16, dtype=torch.int64).reshape(1, 16)
    g = torch.Generator().manual_seed(6)
    x = rounded((2, 3, 8), g)
    write_case("encoder-two-layers",
               "nn.TransformerEncoder with two layers, F32, an I64 buffer and __metadata__; "
               "layers.1.self_attn. picked by --weights-prefix; batched input; --heads 2",
               {"input": x.tolist()}, stored, encoder, lambda m: m.layers[1].self_attn, x,
               {"weights_prefix": "layers.1.self_attn.", "heads": 2}, {"format": "pt"})


def dtypes_file():
    edges = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x3C00, 0x3555, 0x7BFF, 0xFBFF,
             0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7C01, 0x0080, 0x007F, 0x7F7F, 0xFF7F, 0x7F80,
             0xFF80, 0x7FC0, 0x3F80, 0x3EAB]
    bits = torch.tensor(edges + list(range(0, 65536, 251)), dtype=torch.int32)
    bits16 = torch.where(bits >= 32768, bits - 65536, bits).to(torch.int16)
    f16 = bits16.view(torch.float16)
    bf16 = bits16.view(torch.bfloat16)
    tensors = {"f16": f16, "f16_as_f64": f16.double(), "bf16": bf16, "bf16_as_f64": bf16.double(),
               "empty": torch.zeros(0, 3, dtype=torch.float32),
               "scalar": torch.tensor(0.1, dtype=torch.float32),
               "scalar_as_f64": torch.tensor(0.1, dtype=torch.float32).double()}
    path = os.path.join(OUT, "dtypes.safetensors")
    write_safetensors(path, tensors)
    print(f"tests/safetensors/dtypes.safetensors: {len(bits)} F16 and BF16 values")


def bad_files():
    """One mistake each, made from mha-f32's tensors. Each has its line in expected.tsv."""
    stored = {k: v.float() for k, v in mha_module().state_dict().items()}
    entries, data = header_entries(stored)
    good = pack(entries, data)

    def with_entry(name, **change):
        changed = json.loads(json.dumps(entries))
        changed[name].update(change)
        return pack(changed, data)

    w = "in_proj_weight"
    end = entries[w]["data_offsets"][1]
    last_begin, last_end = entries["out_proj.bias"]["data_offsets"]
    files = {
        "too-short.safetensors": good[:5],
        "header-longer-than-file.safetensors": struct.pack("<Q", len(good)) + good[8:],
        "header-over-100-mb.safetensors": struct.pack("<Q", 100_000_001) + good[8:],
        "header-not-json.safetensors": pack(json.dumps(entries).replace(",", "", 1).encode(), data),
        "header-not-an-object.safetensors": pack([1, 2], b""),
        "header-entry-without-shape.safetensors": pack(
            {k: ({"dtype": "F32", "data_offsets": v["data_offsets"]} if k == w else v)
             for k, v in entries.items()}, data),
        "header-negative-offset.safetensors": with_entry(w, data_offsets=[-4, end]),
        "offsets-outside-data.safetensors": with_entry(
            "out_proj.bias", data_offsets=[last_begin + (1 << 20), last_end + (1 << 20)]),
        "overlapping-tensors.safetensors": pack(
            {k: (v | {"data_offsets": [0, v["data_offsets"][1] - v["data_offsets"][0]]}
                 if k == "in_proj_bias" else v) for k, v in entries.items()}, data),
        "offsets-size-mismatch.safetensors": with_entry(w, shape=[24, 9]),
        "unsupported-dtype.safetensors": pack(*header_entries(
            stored | {w: (stored[w] * 100).to(torch.int64)})),
        "unknown-dtype.safetensors": with_entry(w, dtype="F128"),
        "truncated.safetensors": good[:len(good) - 100],
        "bytes-after-last-tensor.safetensors": good + b"\0" * 16,
        "metadata-not-strings.safetensors": pack({"__metadata__": {"layers": 2}} | entries, data),
        "json-named-safetensors.safetensors": json.dumps(
            {k: v.tolist() for k, v in stored.items()}).encode(),
        "no-attention-layer.safetensors": pack(*header_entries(
            {"linear.weight": stored["out_proj.weight"], "linear.bias": stored["out_proj.bias"]})),
    }
    # A gap: the last tensor's bytes start 4 bytes after the one before it ends.
    files["gap-between-tensors.safetensors"] = pack(
        entries | {"out_proj.bias": entries["out_proj.bias"] | {
            "data_offsets": [last_begin + 4, last_end + 4]}},
        data[:last_begin] + b"\0" * 4 + data[last_begin:])
    for name, blob in files.items():
        with open(os.path.join(BAD, name), "wb") as f:
            f.write(blob)
    print(f"tests/bad_inputs/: {len(files)} bad safetensors files")


def main():
    check_writer()
    os.makedirs(OUT, exist_ok=True)
    mha_cases()
    encoder_case()
    dtypes_file()
    bad_files()


if __name__ == "__main__":
    main()
