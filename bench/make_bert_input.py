#!/usr/bin/env python3
"""Writes a BERT-base-sized attention layer as an attn-trace input (stdout or a file argument).

L = 512 tokens, E = 768, 12 heads, packed in_proj_weight (2304, 768) and in_proj_bias, out_proj
with bias: the shapes of one bert-base-uncased self-attention layer. The numbers are random (fixed
seed) with the spread of a trained layer (weights ~ N(0, 0.02²), inputs ~ N(0, 1)), written with 8
significant digits. Needs only the standard library.
"""
import json
import random
import sys

L, E, H = 512, 768, 12


def matrix(rows, cols, sigma, rng):
    return [[float(f"{rng.gauss(0.0, sigma):.8g}") for _ in range(cols)] for _ in range(rows)]


def main():
    rng = random.Random(512768)
    doc = {
        "name": "BERT-base self-attention layer (random weights)",
        "input": matrix(L, E, 1.0, rng),
        "tokens": [f"t{i}" for i in range(L)],
        "num_heads": H,
        "weights": {
            "in_proj_weight": matrix(3 * E, E, 0.02, rng),
            "in_proj_bias": [float(f"{rng.gauss(0.0, 0.02):.8g}") for _ in range(3 * E)],
            "out_proj.weight": matrix(E, E, 0.02, rng),
            "out_proj.bias": [float(f"{rng.gauss(0.0, 0.02):.8g}") for _ in range(E)],
        },
    }
    out = open(sys.argv[1], "w") if len(sys.argv) > 1 else sys.stdout
    json.dump(doc, out, separators=(",", ":"))


if __name__ == "__main__":
    main()
