#!/usr/bin/env python3
"""Write tests/numpy/: NumPy .npy and .npz inputs, as np.save, np.savez and np.savez_compressed
write them, with what torch.nn.MultiheadAttention computes from them; and the bad NumPy files of
tests/bad_inputs/.

Each case of tests/numpy/ is three files:
  CASE.npz or CASE.npy   the arrays, under the input format's key names
  CASE.json              the same case as an input file: every array's values exactly (float32
                         and float16 values converted to double, -inf as "-inf"), so the C++ test
                         can require identical traces from both
  CASE.expected.json     {"name", "covers", "args": {"heads", "tokens"},
                          "stages": {stage: {tensor: {"shape", "data"}}}}: Q, K, V from the
                         module's own projections, and the attention weights and output that
                         nn.MultiheadAttention returns (need_weights=True,
                         average_attn_weights=False), computed in float64 on the arrays' values
tests/unit/test_numpy.cpp traces each case through load_spec and requires every tensor within
1e-9 relative, and the trace of CASE.json to be identical, number for number.

Cases
  self-f64-h2            savez; 2-D float64 input, in_proj/out_proj with biases, num_heads as a
                         0-d integer array
  batched-f32-causal     savez_compressed; (B, L, E) float32 input and weights, a float32
                         causal attn_mask with -inf, a bool key_padding_mask; heads from --heads
  cross-f16-fortran      savez; float16 input in Fortran order, a big-endian float32 kv_input of
                         another width (kdim = vdim), q/k/v_proj_weight, a bool attn_mask
  x-f32-fortran          .npy; a float32 (L, E) input in Fortran order, no weights, one head
  x-f16-big-batched      .npy; a big-endian float16 (B, L, E) input, no weights, one head

Rerun from the repository root with Debian's python3-torch and python3-numpy:
    /usr/bin/python3 tools/make_numpy_cases.py
"""

import io
import json
import os
import struct
import zipfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "numpy")
BAD = os.path.join(ROOT, "tests", "bad_inputs")


def json_value(a):
    """An array's values as the input format writes them: nested lists, -inf as "-inf"."""
    a = np.asarray(a)
    if a.dtype == np.bool_:
        return a.tolist()
    if a.dtype.kind in "iu":
        return a.tolist()
    flat = [("-inf" if v == -np.inf else float(v)) for v in a.astype(np.float64).reshape(-1)]
    def nest(values, shape):
        if not shape:
            return values[0]
        step = len(values) // shape[0] if shape[0] else 0
        return [nest(values[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]
    return nest(flat, list(a.shape))


WEIGHT_NAMES = {"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias",
                "q_proj_weight", "k_proj_weight", "v_proj_weight", "bias_k", "bias_v"}


def json_case(arrays):
    """The input file an .npz's arrays stand for."""
    doc, weights = {}, {}
    for key, a in arrays.items():
        (weights if key in WEIGHT_NAMES else doc)[key] = json_value(a)
    if weights:
        doc["weights"] = weights
    return doc


def tensor_entry(t):
    t = t.detach().double()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def write_case(name, covers, arrays, stages, args, save):
    os.makedirs(OUT, exist_ok=True)
    save(os.path.join(OUT, name), arrays)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(json_case(arrays), f)
        f.write("\n")
    with open(os.path.join(OUT, name + ".expected.json"), "w") as f:
        json.dump({"name": name, "covers": covers, "args": args,
                   "stages": {stage: {t: tensor_entry(v) for t, v in tensors.items()}
                              for stage, tensors in stages.items()}}, f)
        f.write("\n")
    print(f"tests/numpy/{name}: {', '.join(arrays)}")


def t64(a):
    return torch.from_numpy(np.asarray(a).astype(np.float64))


def mha_stages(mha, q, kv, **kw):
    """Q, K, V from the module's own projections, and what nn.MultiheadAttention returns."""
    lin = torch.nn.functional.linear
    b = mha.in_proj_bias
    if mha._qkv_same_embed_dim:
        w_q, w_k, w_v = mha.in_proj_weight.chunk(3)
    else:
        w_q, w_k, w_v = mha.q_proj_weight, mha.k_proj_weight, mha.v_proj_weight
    b_q, b_k, b_v = b.chunk(3) if b is not None else (None, None, None)
    output, weights = mha(q, kv, kv, need_weights=True, average_attn_weights=False, **kw)
    return {"projections": {"Q": lin(q, w_q, b_q), "K": lin(kv, w_k, b_k),
                            "V": lin(kv, w_v, b_v)},
            "softmax": {"weights": weights}, "out_proj": {"output": output}}


def set_params(mha, arrays):
    state = {k: t64(v) for k, v in arrays.items() if k in WEIGHT_NAMES}
    mha.load_state_dict(state, strict=False)


def savez(path, arrays):
    np.savez(path + ".npz", **arrays)


def savez_compressed(path, arrays):
    np.savez_compressed(path + ".npz", **arrays)


def self_f64_h2():
    rng = np.random.default_rng(1)
    E, L = 6, 4
    arrays = {"input": rng.uniform(-1, 1, (L, E)),
              "in_proj_weight": rng.uniform(-0.5, 0.5, (3 * E, E)),
              "in_proj_bias": rng.uniform(-0.1, 0.1, 3 * E),
              "out_proj.weight": rng.uniform(-0.5, 0.5, (E, E)),
              "out_proj.bias": rng.uniform(-0.1, 0.1, E),
              "num_heads": np.array(2)}
    mha = torch.nn.MultiheadAttention(E, 2, dtype=torch.float64)
    set_params(mha, arrays)
    with torch.no_grad():
        stages = mha_stages(mha, t64(arrays["input"]), t64(arrays["input"]))
    write_case("self-f64-h2", "savez; 2-D float64; packed weights with biases; num_heads 0-d",
               arrays, stages, {}, savez)


def batched_f32_causal():
    rng = np.random.default_rng(2)
    B, L, E, H = 2, 4, 8, 2
    f32 = np.float32
    causal = np.triu(np.full((L, L), -np.inf, dtype=f32), k=1)
    kpm = np.zeros((B, L), dtype=np.bool_)
    kpm[1, 3] = True
    arrays = {"input": rng.uniform(-1, 1, (B, L, E)).astype(f32),
              "in_proj_weight": rng.uniform(-0.5, 0.5, (3 * E, E)).astype(f32),
              "in_proj_bias": rng.uniform(-0.1, 0.1, 3 * E).astype(f32),
              "out_proj.weight": rng.uniform(-0.5, 0.5, (E, E)).astype(f32),
              "out_proj.bias": rng.uniform(-0.1, 0.1, E).astype(f32),
              "attn_mask": causal, "key_padding_mask": kpm}
    mha = torch.nn.MultiheadAttention(E, H, batch_first=True, dtype=torch.float64)
    set_params(mha, arrays)
    x = t64(arrays["input"])
    with torch.no_grad():
        stages = mha_stages(mha, x, x, attn_mask=t64(causal),
                            key_padding_mask=torch.from_numpy(kpm))
    write_case("batched-f32-causal",
               "savez_compressed; (B, L, E) float32 input and weights; float32 causal attn_mask "
               "with -inf; bool key_padding_mask; --heads 2; --tokens",
               arrays, stages, {"heads": 2, "tokens": "the cat sat down"}, savez_compressed)


def cross_f16_fortran():
    rng = np.random.default_rng(3)
    L, S, E, K, H = 3, 5, 4, 6, 2
    x = np.asfortranarray(rng.uniform(-1, 1, (L, E)).astype(np.float16))
    kv = rng.uniform(-1, 1, (S, K)).astype(">f4")
    mask = np.zeros((L, S), dtype=np.bool_)
    mask[0, 4] = mask[2, 0] = True
    arrays = {"input": x, "kv_input": kv,
              "q_proj_weight": rng.uniform(-0.5, 0.5, (E, E)),
              "k_proj_weight": rng.uniform(-0.5, 0.5, (E, K)),
              "v_proj_weight": rng.uniform(-0.5, 0.5, (E, K)),
              "in_proj_bias": rng.uniform(-0.1, 0.1, 3 * E),
              "out_proj.weight": rng.uniform(-0.5, 0.5, (E, E)),
              "out_proj.bias": np.zeros(E),
              "attn_mask": mask, "num_heads": np.array(H, dtype=np.int32)}
    assert x.flags.f_contiguous and not x.flags.c_contiguous
    mha = torch.nn.MultiheadAttention(E, H, kdim=K, vdim=K, dtype=torch.float64)
    set_params(mha, arrays)
    with torch.no_grad():
        stages = mha_stages(mha, t64(x), t64(kv), attn_mask=torch.from_numpy(mask))
    write_case("cross-f16-fortran",
               "savez; float16 input in Fortran order; big-endian float32 kv_input, kdim = vdim "
               "= 6; q/k/v_proj_weight; bool attn_mask; num_heads as int32",
               arrays, stages, {}, savez)


def identity_stages(x):
    """No weights: Q = K = V = X, one head, no output projection (the context is the output)."""
    E = x.shape[-1]
    mha = torch.nn.MultiheadAttention(E, 1, bias=False, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.eye(E).repeat(3, 1))
        mha.out_proj.weight.copy_(torch.eye(E))
        output, weights = mha(x, x, x, need_weights=True, average_attn_weights=False)
    # One head: the trace has no head axis.
    return {"projections": {"Q": x, "K": x, "V": x}, "softmax": {"weights": weights.squeeze(-3)},
            "summation": {"context": output}}


def npy_cases():
    rng = np.random.default_rng(4)
    x = np.asfortranarray(rng.uniform(-1, 1, (3, 4)).astype(np.float32))
    assert x.flags.f_contiguous and not x.flags.c_contiguous
    write_case("x-f32-fortran", ".npy; float32 (L, E) in Fortran order; no weights",
               {"input": x}, identity_stages(t64(x)), {},
               lambda path, a: np.save(path + ".npy", a["input"]))
    xb = rng.uniform(-2, 2, (2, 3, 4)).astype(">f2")
    write_case("x-f16-big-batched", ".npy; big-endian float16 (B, L, E); no weights",
               {"input": xb}, identity_stages(t64(xb)), {"tokens": "I am good"},
               lambda path, a: np.save(path + ".npy", a["input"]))


# ---------------------------------------------------------------------------
# Bad NumPy files: tests/bad_inputs/, each with its line in expected.tsv
# ---------------------------------------------------------------------------
def npy_bytes(a):
    buffer = io.BytesIO()
    np.save(buffer, a, allow_pickle=True)
    return buffer.getvalue()


def write_bad(name, data):
    with open(os.path.join(BAD, name), "wb") as f:
        f.write(data)
    print(f"tests/bad_inputs/{name}: {len(data)} bytes")


def zip_of(members, compression=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def bad_files():
    x = np.arange(12, dtype=np.float64).reshape(3, 4) / 8
    write_bad("npy-object-array.npy", npy_bytes(np.array([[1.0, "a"]], dtype=object)))
    write_bad("npy-complex.npy", npy_bytes(x.astype(np.complex128)))
    write_bad("npy-float128.npy", npy_bytes(x.astype(np.longdouble)))
    write_bad("npy-strings.npy", npy_bytes(np.array(["the", "cat"])))
    write_bad("npy-4-axes.npy", npy_bytes(x.reshape(1, 1, 3, 4)))
    write_bad("npy-truncated.npy", npy_bytes(x)[:-20])
    header = npy_bytes(x)
    write_bad("npy-bad-header.npy", header.replace(b"'shape': (3, 4)", b"'shape': [3, 4]"))
    write_bad("npy-version-9.npy", header[:6] + b"\x09\x00" + header[8:])
    small = npy_bytes(np.ones((2, 2)))
    write_bad("npz-member-not-npy.npz", zip_of({"input.npy": small, "notes.txt": b"hello"}))
    write_bad("npz-unknown-key.npz", zip_of({"input.npy": small, "attn_msk.npy": small}))
    write_bad("npz-no-input.npz", zip_of({"in_proj_weight.npy": npy_bytes(np.ones((6, 2)))}))
    write_bad("npz-positional-array.npz", zip_of({"arr_0.npy": small}))
    write_bad("npz-tokens-as-text.npz",
              zip_of({"input.npy": small, "tokens.npy": npy_bytes(np.array(["a", "b"]))}))
    write_bad("npz-truncated.npz", zip_of({"input.npy": npy_bytes(x)})[:-30])
    write_bad("npz-member-not-an-array.npz", zip_of({"input.npy": b"just text, not an array"}))
    write_bad("npz-attn-mask-plus-inf.npz",
              zip_of({"input.npy": small,
                      "attn_mask.npy": npy_bytes(np.array([[0, np.inf], [0, 0]]))}))
    # -inf blocks in a float attn_mask only: the 0/1 mask keeps a key with 1 and blocks it with 0.
    write_bad("npz-mask-minus-inf.npz",
              zip_of({"input.npy": small, "mask.npy": npy_bytes(np.array([[1, -np.inf], [1, 1]]))}))
    # 32 MiB of zeros deflate to 32 KiB: refused from the archive's directory under a 64 MiB
    # budget (4 MiB of input), before anything is inflated.
    zeros = npy_bytes(np.zeros((4096, 1024)))
    write_bad("npz-zip-bomb.npz", zip_of({"input.npy": zeros}, zipfile.ZIP_DEFLATED))
    write_bad("npz-size-lie.npz", lying_zip(npy_bytes(np.zeros((64, 64)))))


def lying_zip(data):
    """A zip whose one member declares 128 bytes but inflates to len(data): the size fields of
    its local header and its directory entry rewritten."""
    raw = bytearray(zip_of({"input.npy": data}, zipfile.ZIP_DEFLATED))
    local = raw.find(b"PK\x03\x04")
    central = raw.find(b"PK\x01\x02")
    assert struct.unpack_from("<I", raw, local + 22)[0] == len(data)
    struct.pack_into("<I", raw, local + 22, 128)
    assert struct.unpack_from("<I", raw, central + 24)[0] == len(data)
    struct.pack_into("<I", raw, central + 24, 128)
    return bytes(raw)


def uint8_masks():
    """The same masks as np.uint8 and as np.bool_: PyTorch reads a uint8 attn_mask or
    key_padding_mask as bool (true = blocked), and so must attn-trace."""
    x = np.arange(12, dtype=np.float64).reshape(3, 4) / 10
    attn = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    padding = np.array([0, 0, 1])
    for name, dtype in (("masks-uint8.npz", np.uint8), ("masks-bool.npz", np.bool_)):
        path = os.path.join(OUT, name)
        with open(path, "wb") as f:
            f.write(zip_of({"input.npy": npy_bytes(x),
                            "attn_mask.npy": npy_bytes(attn.astype(dtype)),
                            "key_padding_mask.npy": npy_bytes(padding.astype(dtype))}))
        print(f"tests/numpy/{name}")


def main():
    torch.set_default_dtype(torch.float64)
    self_f64_h2()
    batched_f32_causal()
    cross_f16_fortran()
    npy_cases()
    uint8_masks()
    bad_files()


if __name__ == "__main__":
    main()
