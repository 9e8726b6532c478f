#!/usr/bin/env python3
"""Writes a BERT-base-sized nn.TransformerEncoderLayer's whole state_dict as a --weights file,
and an input file of L = 512 tokens for it, the way docs/input-format.md tells users to:
    json.dump({k: v.tolist() for k, v in layer.state_dict().items()}, f)
d_model 768, 12 heads, dim_feedforward 3072: its self_attn is what bench/make_bert_input.py
writes inline, and the feed-forward and norm weights around it are two thirds of the file.
Needs Debian's python3-torch (run with /usr/bin/python3).
    bench/make_encoder_layer.py WEIGHTS.json INPUT.json
"""
import json
import sys

import torch

torch.manual_seed(0)
layer = torch.nn.TransformerEncoderLayer(d_model=768, nhead=12, dim_feedforward=3072,
                                         batch_first=True)
with open(sys.argv[1], "w") as f:
    json.dump({k: v.tolist() for k, v in layer.state_dict().items()}, f)
with open(sys.argv[2], "w") as f:
    json.dump({"input": torch.randn(512, 768).tolist()}, f)
