#!/usr/bin/env python3
"""Writes a long-sequence input for bench/long.sh: L tokens of width E, H heads, packed weights
initialised as nn.MultiheadAttention does (xavier-uniform in_proj, zero biases), fixed seed.
    make_long_input.py OUT.json L E H"""
import json
import sys

import numpy as np


def main() -> None:
    out, L, E, H = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rng = np.random.default_rng(18)
    bound = np.sqrt(6.0 / (E + 3 * E))
    doc = {
        "name": f"long sequence L={L}",
        "input": np.round(rng.standard_normal((L, E)), 6).tolist(),
        "num_heads": H,
        "weights": {
            "in_proj_weight": np.round(rng.uniform(-bound, bound, (3 * E, E)), 6).tolist(),
            "in_proj_bias": [0.0] * (3 * E),
            "out_proj.weight": np.round(rng.uniform(-1 / np.sqrt(E), 1 / np.sqrt(E), (E, E)), 6).tolist(),
            "out_proj.bias": [0.0] * E,
        },
    }
    with open(out, "w") as f:
        json.dump(doc, f)


if __name__ == "__main__":
    main()
