#!/usr/bin/env python3
"""Writes a BERT-base-sized 12-layer checkpoint as a safetensors file, and what the benchmark
bench/safetensors.sh compares it with:
    OUT/bert-base.safetensors     every tensor of a BERT-base encoder, F32, named as Hugging Face
                                  names them (bert.embeddings.*, bert.encoder.layer.N.attention.
                                  self.query.weight, ..., intermediate.dense, output.dense,
                                  LayerNorms, bert.pooler): 110 million numbers, about 440 MB, the
                                  attention of one layer 2.4 million of them
    OUT/layer-6.safetensors       only layer 6's attention (self.query/key/value, output.dense, its LayerNorm)
    OUT/layer-6.json              the same tensors as a JSON state_dict (json.dump of .tolist())
    OUT/input-8.json              an input of L = 8 tokens of width 768
The values are random (numpy, seeded); only their sizes and places matter. The safetensors writer
is the one of tools/make_safetensors.py, which checks itself against the reference
implementation's byte strings; here the tensors are streamed out one by one.
    /usr/bin/python3 bench/make_safetensors_model.py OUT
"""
import json
import os
import struct
import sys
import zlib

import numpy as np

E, FF, LAYERS, VOCAB, POSITIONS = 768, 3072, 12, 30522, 512
LAYER = 6


def bert_shapes():
    shapes = {"bert.embeddings.word_embeddings.weight": (VOCAB, E),
              "bert.embeddings.position_embeddings.weight": (POSITIONS, E),
              "bert.embeddings.token_type_embeddings.weight": (2, E),
              "bert.embeddings.LayerNorm.weight": (E,), "bert.embeddings.LayerNorm.bias": (E,)}
    for i in range(LAYERS):
        p = f"bert.encoder.layer.{i}."
        for name in ("query", "key", "value"):
            shapes[f"{p}attention.self.{name}.weight"] = (E, E)
            shapes[f"{p}attention.self.{name}.bias"] = (E,)
        shapes |= {f"{p}attention.output.dense.weight": (E, E),
                   f"{p}attention.output.dense.bias": (E,),
                   f"{p}attention.output.LayerNorm.weight": (E,),
                   f"{p}attention.output.LayerNorm.bias": (E,),
                   f"{p}intermediate.dense.weight": (FF, E), f"{p}intermediate.dense.bias": (FF,),
                   f"{p}output.dense.weight": (E, FF), f"{p}output.dense.bias": (E,),
                   f"{p}output.LayerNorm.weight": (E,), f"{p}output.LayerNorm.bias": (E,)}
    shapes |= {"bert.pooler.dense.weight": (E, E), "bert.pooler.dense.bias": (E,)}
    return shapes


def write(path, shapes, values):
    """A safetensors file of F32 tensors, `values(name, shape)` giving each, streamed out."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in shapes.items():
        size = 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for name, shape in shapes.items():
            f.write(values(name, shape).astype("<f4").tobytes())


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    shapes = bert_shapes()
    cache = {}

    def values(name, shape):
        # Seeded by name, so that the big file's layer 6 and the small file's are the same.
        if name not in cache:
            rng = np.random.default_rng(zlib.crc32(name.encode()))
            cache[name] = (rng.standard_normal(shape, dtype=np.float32) * 0.02)
        return cache.pop(name) if f"layer.{LAYER}." not in name else cache[name]

    write(os.path.join(out, "bert-base.safetensors"), shapes, values)
    prefix = f"bert.encoder.layer.{LAYER}.attention."
    layer = {k: v for k, v in shapes.items() if k.startswith(prefix)}
    write(os.path.join(out, f"layer-{LAYER}.safetensors"), layer, values)
    with open(os.path.join(out, f"layer-{LAYER}.json"), "w") as f:
        json.dump({k: values(k, s).astype(np.float64).tolist() for k, s in layer.items()}, f)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((8, E)).round(4)
    with open(os.path.join(out, "input-8.json"), "w") as f:
        json.dump({"input": x.tolist()}, f)
    # The same case as one .npz: the input and the layer's weights under their names in the layer
    # (the LayerNorm after output.dense is not attention's, and an input's weights do not hold it).
    np.savez(os.path.join(out, f"case-{LAYER}.npz"), input=x,
             **{k[len(prefix):]: values(k, s) for k, s in layer.items() if "LayerNorm" not in k})
    print(f"{out}: bert-base.safetensors ({os.path.getsize(os.path.join(out, 'bert-base.safetensors')) / 1e6:.0f} MB), "
          f"layer-{LAYER}.safetensors, layer-{LAYER}.json, input-8.json, case-{LAYER}.npz")


if __name__ == "__main__":
    main()
