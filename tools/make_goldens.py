#!/usr/bin/env python3
"""Generate the golden test files for attn-trace (every file in tests/golden/).

Which cases
-----------
Two families, one section of configurations each (PLAIN_CONFIGS and MASK_CONFIGS below):

* plain self-attention: tests/golden/h*.json and i-am-good.json (the tool's default example,
  "I am good").  1 to 4 heads, batched and unbatched, weights in packed / separate / plain form,
  torch or math layout, with or without biases and output projection, or no ``weights`` at all
  (identity projections); every ``scale`` option (omitted, "head_dim", "embed_dim", "none", a
  number); tokens shared or per batch;
* masks and cross-attention: tests/golden/mask-*.json and cross-*.json.  The input keys beyond
  those: ``mask``, ``attn_mask``, ``key_padding_mask`` (alone and combined, and rows blocked for
  every key), cross-attention (``kv_input``, or ``key_input`` + ``value_input`` with kdim/vdim
  different from E, ``kv_tokens``), ``weights.bias_k`` / ``weights.bias_v`` (add_bias_kv) and
  ``add_zero_attn``.

What it does
------------
For every configuration this script

1. builds an attn-trace input document exactly as a user would write it: ``input`` (and the
   key/value sources for cross-attention), optional ``tokens`` / ``kv_tokens`` / ``name`` /
   ``description``, ``num_heads``, ``scale``, ``weight_layout`` and ``weights`` (packed /
   separate / plain form, torch or math layout, with or without biases and output projection,
   or no ``weights`` at all = identity projections; bias_k/bias_v as the state_dict's (1, 1, E)
   or as a flat list), add_zero_attn, and the masks (``mask`` "causal" or a 0/1 keep matrix
   (L, S) or (B, L, S); ``attn_mask`` bool or float, (L, S) or 3-D (B*H, L, S) / (H, L, S),
   floats may be the string "-inf"; ``key_padding_mask`` (S) or (B, S));
2. parses that document back (independently of how it was generated) and computes every stage
   of the step trace with torch in float64:
   input, projections, extra_keys (bias_kv / zero_attn), split_heads (H>1), scores, scaling,
   masking (if any mask), softmax, weighted_values, summation, merge_heads (H>1), out_proj
   (if given);
3. re-computes every stage a second time with plain numpy / Python loops (explicit column
   slicing per head, explicit sums), reading the weights and masks straight from the JSON lists
   element by element, and asserts both agree (NaN at exactly the same places, equal
   infinities, finite values within 1e-12 relative);
4. cross-checks against a real ``torch.nn.MultiheadAttention`` (batch_first=True,
   bias / add_bias_kv / add_zero_attn / kdim / vdim as the document says) whose state_dict is
   translated from the document's weights (missing projections become identity / zero bias)
   and asserted equal to the generator's originals.  Scales other than 1/sqrt(d) are emulated
   by multiplying the q part of its in_proj weight and bias by c = scale*sqrt(d), with the
   scale worked out from the configuration independently of step 2.  It is called with the
   document's key_padding_mask as a bool tensor and an attn_mask that combines ``mask`` (as a
   bool mask, blocked = not keep, repeated over the heads for (B, L, S)) with the given
   attn_mask (logical_or for bool, masked_fill(-inf) for float).
   Its per-head attention weights (need_weights=True, average_attn_weights=False) must equal
   the ``softmax`` stage and its output the ``out_proj`` output (or the merged context when
   there is no output projection), within 1e-12 relative, with NaN at exactly the same
   positions (fully blocked rows) and equal infinities.
   The module is kept in training mode with dropout 0.0, i.e. on the reference
   F.multi_head_attention_forward path (not the fused eval-mode fast path).
   Any mismatch raises AssertionError and the script exits non-zero;
5. writes tests/golden/<config-name>.json, and reads it back to check it holds exactly the
   document and the stage tensors:
   {"name", "covers", "input": <document>,
    "stages": {stage: {tensor: {"shape": [...], "data": [flat row-major]}}}}
   Non-finite numbers in "data" are written as the strings "-inf", "inf" and "nan" (JSON has
   no infinities or NaN); every other number is a JSON number.

Everything is deterministic: each config's random numbers come from a numpy generator seeded
with crc32(config name); inputs, weights and float mask values are rounded to a few decimals,
and the expected values are computed from those exact numbers as written in the JSON.

How to rerun
------------
From the repository root:

    /usr/bin/python3 tools/make_goldens.py

(needs torch >= 1.13 and numpy).  It (re)writes every golden file, prints one line per file
written, and warns about any .json file in tests/golden/ that it does not produce.

This file holds the configurations; the code that builds, computes, checks and writes each
file is in tools/golden_lib.py (a module, not a second script).
"""

import os
import sys

# The helpers live next to this script, in tools/golden_lib.py (importing it also sets torch's
# default dtype to float64).
from golden_lib import OMIT, OUT_DIR, build_case, process, truth_from_doc

MASK_PREFIXES = ("mask-", "cross-")

# ---------------------------------------------------------------------------
# Configurations
#   H heads, E embed dim, L query length, B batch (None = unbatched)
#   S: key count (None = self-attention, S = L)
#   cross: None (self) | "kv" (kv_input (S, E_kv), E_kv = E) | "sep" (key_input (S, kdim),
#          value_input (S, vdim))
#   form: packed | separate | plain | identity (no "weights" key)
#   layout: None (omitted -> torch) | "torch" | "math"
#   in_bias: bool (in_proj_bias or b_q/b_k/b_v)
#   out: none | bias | nobias      out_names: "torch" (out_proj.*) | "plain" (W_o/b_o);
#        default "plain" for the plain form, "torch" otherwise
#   scale: OMIT (key omitted) or the value to write
#   bias_kv: None | "sd" ((1, 1, E) lists) | "flat" (E numbers) ; zero_attn: None (key omitted)
#            | True | False
#   mask: None | "causal" | "keep2d" | "keep3d"
#   attn: None | "bool2d" | "bool3d" | "float2d" | "float3d" | "float01"
#   kpm: False | True
#   explicit: dict of hand-written mask values (doc key -> value) used instead of random ones
#   full_rows: the masks must block at least one whole row (and not all rows); otherwise no row
#              may be fully blocked by the masks (counting the real keys only when
#              allow_real_full is set: the extra bias_kv / zero_attn keys keep the row finite)
#   combo: every mask given must block at least one position that no other mask blocks
#   tokens / kv_tokens: "none" | "shared" | "per_batch"
#   doc_name / description: the document's "name" / "description" (None = key omitted)
# ---------------------------------------------------------------------------
def C(name, covers, H, E, L, B=None, S=None, cross=None, kdim=None, vdim=None, form="packed",
      layout=None, in_bias=True, out="bias", out_names=None, scale=OMIT, bias_kv=None,
      zero_attn=None, mask=None, attn=None, kpm=False, explicit=None, full_rows=False,
      allow_real_full=False, combo=False, tokens="none", kv_tokens="none", doc_name=None,
      description=None):
    if out_names is None:
        out_names = "plain" if form == "plain" else "torch"
    return dict(name=name, covers=covers, H=H, E=E, L=L, B=B, S=S, cross=cross, kdim=kdim,
                vdim=vdim, form=form, layout=layout, in_bias=in_bias, out=out,
                out_names=out_names, scale=scale, bias_kv=bias_kv, zero_attn=zero_attn,
                mask=mask, attn=attn, kpm=kpm, explicit=explicit or {}, full_rows=full_rows,
                allow_real_full=allow_real_full, combo=combo, tokens=tokens,
                kv_tokens=kv_tokens, doc_name=doc_name, description=description)


# ---------------------------------------------------------------------------
# Plain self-attention cases: h*.json and i-am-good.json
# ---------------------------------------------------------------------------
PLAIN_CONFIGS = [
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

# The tool's default example, written by hand rather than drawn at random.
I_AM_GOOD_NAME = "i-am-good"
I_AM_GOOD_COVERS = ("the tool's default example: 1 head, unbatched, packed in_proj+bias, "
                    "out_proj+bias, tokens")
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
# Masks and cross-attention cases: mask-*.json and cross-*.json
# ---------------------------------------------------------------------------
def MC(name, covers, **kw):
    """A mask / cross-attention config: its document carries the config's name, and it has
    query tokens unless told otherwise."""
    kw.setdefault("tokens", "shared")
    return C(name, covers, doc_name=name, **kw)


T_, F_ = True, False

MASK_CONFIGS = [
    # ----- mask ---------------------------------------------------------------------------
    MC("mask-causal-h1",
       "mask \"causal\", 1 head, unbatched, L=4, packed in_proj+bias, out_proj+bias",
       H=1, E=4, L=4, mask="causal",
       description="causal self-attention: each token sees itself and the tokens before it"),
    MC("mask-causal-h2-batched",
       "mask \"causal\" broadcast over a batch B=2, 2 heads, L=4, per-batch tokens",
       H=2, E=4, L=4, B=2, mask="causal", tokens="per_batch",
       description="causal mask shared by both sequences of the batch"),
    MC("mask-keep-2d-h2",
       "mask as a 0/1 keep matrix (L, S), 2 heads, unbatched, L=5, E=6",
       H=2, E=6, L=5, mask="keep2d",
       description="1 = may attend, 0 = blocked"),
    MC("mask-keep-3d-batched-h2",
       "mask as a 0/1 keep matrix per batch (B, L, S), B=2 with different masks, 2 heads, L=4",
       H=2, E=4, L=4, B=2, mask="keep3d",
       description="a different keep matrix for each sequence of the batch"),
    MC("mask-attn-bool-2d-h2",
       "bool attn_mask (L, S) (true = blocked), 2 heads, unbatched, L=4",
       H=2, E=4, L=4, attn="bool2d",
       description="nn.MultiheadAttention's bool attn_mask: true = not allowed to attend"),
    MC("mask-attn-bool-3d-batched-h2",
       "bool attn_mask 3-D (B*H, L, S), B=2, 2 heads: four different (L, S) blocks, block b*H+h = batch b head h",
       H=2, E=4, L=3, B=2, attn="bool3d",
       description="one bool mask per batch and head"),
    MC("mask-attn-bool-3d-unbatched-h2",
       "bool attn_mask 3-D (H, L, S) for unbatched input, 2 heads, L=4, separate q/k/v_proj_weight in math layout + in_proj_bias",
       H=2, E=4, L=4, attn="bool3d", form="separate", layout="math",
       description="one bool mask per head"),
    MC("mask-attn-float-2d-h1",
       "float attn_mask (L, S) with finite numbers and some \"-inf\", added to the scaled scores, broadcast over a batch B=2, 1 head, plain W_*/b_* in math layout + W_o/b_o",
       H=1, E=4, L=4, B=2, attn="float2d", form="plain", layout="math", out_names="plain",
       description="an additive float mask: numbers are added, -inf blocks"),
    MC("mask-attn-float-3d-batched-h2",
       "float attn_mask 3-D (B*H, L, S) with finite numbers and \"-inf\", B=2, 2 heads, L=3",
       H=2, E=4, L=3, B=2, attn="float3d",
       description="one additive float mask per batch and head"),
    MC("mask-attn-bool-3d-batched-h1",
       "bool attn_mask 3-D (B*H, L, S) with H=1, B=2: the masking stage shows it as (B, L, S) (head axis dropped), L=4",
       H=1, E=4, L=4, B=2, attn="bool3d",
       description="one bool mask per sequence, one head"),
    MC("mask-attn-float-3d-unbatched-h1",
       "float attn_mask 3-D (H, L, S) = (1, L, S) for unbatched input with H=1: the masking stage shows it as (L, S), numbers and \"-inf\", L=3",
       H=1, E=4, L=3, attn="float3d",
       description="a 3-D float mask with a single block"),
    MC("mask-kpm-unbatched-h2",
       "key_padding_mask (S) bools, 2 heads, unbatched, L=5",
       H=2, E=4, L=5, kpm=True,
       description="the last tokens are padding: no query attends them"),
    MC("mask-kpm-batched-h2",
       "key_padding_mask (B, S), B=2 with different padding, 2 heads, L=4, separate torch names + in_proj_bias, out_proj.weight without bias",
       H=2, E=4, L=4, B=2, kpm=True, form="separate", out="nobias", tokens="per_batch",
       description="padding that differs per sequence"),
    MC("mask-combo-causal-kpm-batched-h2",
       "mask \"causal\" combined with key_padding_mask (B, S), B=2, 2 heads, L=4",
       H=2, E=4, L=4, B=2, mask="causal", kpm=True,
       explicit={"key_padding_mask": [[F_, F_, F_, T_], [F_, F_, T_, T_]]},
       description="a causal decoder over padded sequences"),
    MC("mask-combo-float-attn-kpm-batched-h2",
       "float attn_mask (L, S) with numbers and \"-inf\" combined with key_padding_mask (B, S) (masked_fill -inf), B=2, 2 heads, L=4",
       H=2, E=4, L=4, B=2, attn="float2d", kpm=True, combo=True,
       description="float attn_mask plus padding"),
    MC("mask-combo-keep-bool-attn-kpm-h2",
       "mask keep matrix (L, S) + bool attn_mask (H, L, S) + key_padding_mask (S), unbatched, 2 heads, L=5, E=6: each blocks something the others do not",
       H=2, E=6, L=5, mask="keep2d", attn="bool3d", kpm=True, combo=True,
       description="three masks at once, combined with a logical or"),
    MC("mask-fully-blocked-row-h2",
       "bool attn_mask (B*H, L, S) + key_padding_mask (B, S), B=2, 2 heads, L=3: batch 0 head 1 row 2 and batch 1 head 0 row 0 are blocked for every key -> NaN rows in weights, weighted, context and the whole output row",
       H=2, E=4, L=3, B=2, attn="bool3d", kpm=True, full_rows=True,
       explicit={
           "attn_mask": [
               [[F_, T_, F_], [F_, F_, T_], [T_, F_, F_]],   # batch 0, head 0
               [[F_, F_, T_], [T_, F_, F_], [T_, T_, F_]],   # batch 0, head 1: row 2 + padding
               [[T_, T_, T_], [F_, F_, F_], [F_, T_, F_]],   # batch 1, head 0: row 0 all blocked
               [[F_, F_, F_], [T_, F_, F_], [F_, F_, T_]],   # batch 1, head 1
           ],
           "key_padding_mask": [[F_, F_, T_], [F_, T_, F_]],
       },
       description="rows with nothing to attend: softmax of all -inf is NaN, as in PyTorch"),
    MC("mask-float-01-h1",
       "float attn_mask of only the numbers 0 and 1 (L, S): added to the scores, so it blocks nothing (not a keep mask), 1 head, unbatched, L=4",
       H=1, E=4, L=4, attn="float01",
       description="0/1 numbers in attn_mask are added, not used as a keep mask"),
    # ----- cross-attention, bias_kv, zero_attn --------------------------------------------
    MC("cross-kv-input-h2",
       "cross-attention: kv_input (S, E) with S=5 != L=3, packed in_proj_weight+bias, out_proj+bias, 2 heads, unbatched, tokens and kv_tokens",
       H=2, E=4, L=3, S=5, cross="kv", kv_tokens="shared",
       description="queries from input, keys and values from kv_input"),
    MC("cross-kdim-vdim-h2",
       "cross-attention: key_input (S, kdim=3) and value_input (S, vdim=5), E=4, S=3, L=4, q_proj_weight (E,E) / k_proj_weight (E,kdim) / v_proj_weight (E,vdim) + in_proj_bias, 2 heads, unbatched",
       H=2, E=4, L=4, S=3, cross="sep", kdim=3, vdim=5, form="separate", layout="torch",
       kv_tokens="shared",
       description="nn.MultiheadAttention(4, 2, kdim=3, vdim=5)"),
    MC("cross-kdim-vdim-math-batched-h2",
       "cross-attention batched B=2: key_input (B, S, kdim=6), value_input (B, S, vdim=2), E=4, S=4, L=3, plain W_q/W_k/W_v + b_q/b_k/b_v and W_o/b_o in math layout, per-batch kv_tokens",
       H=2, E=4, L=3, B=2, S=4, cross="sep", kdim=6, vdim=2, form="plain", layout="math",
       out_names="plain", kv_tokens="per_batch",
       description="kdim and vdim differ from E, weights written (in, out)"),
    MC("cross-bias-kv-h2",
       "self-attention with add_bias_kv: weights.bias_k and bias_v (1, 1, E) add one key/value row (extra_keys stage, S'=L+1), add_zero_attn written as false, 2 heads, unbatched, L=3",
       H=2, E=4, L=3, bias_kv="sd", zero_attn=False,
       description="nn.MultiheadAttention(4, 2, add_bias_kv=True)"),
    MC("cross-bias-kv-flat-kpm-h1",
       "bias_k and bias_v written as flat lists of E numbers, with key_padding_mask (S) and a bool attn_mask (L, S): the bias_kv column is never blocked; 1 head, unbatched, L=4",
       H=1, E=4, L=4, bias_kv="flat", attn="bool2d", kpm=True,
       explicit={"key_padding_mask": [F_, F_, F_, T_]},
       description="add_bias_kv with masks: PyTorch pads every mask with an unblocked column"),
    MC("cross-zero-attn-h1",
       "add_zero_attn only (a zero key/value row appended, S'=L+1), self-attention, 1 head, unbatched, L=3, no biases (nn.MultiheadAttention bias=False)",
       H=1, E=4, L=3, zero_attn=True, in_bias=False, out="nobias",
       description="nn.MultiheadAttention(4, 1, bias=False, add_zero_attn=True)"),
    MC("cross-bias-kv-zero-attn-causal-batched-h2",
       "cross-attention batched B=2 with kv_input (S=3 != L=4), bias_k/bias_v (1, 1, E) + add_zero_attn (S'=5), mask \"causal\" (top-left aligned) and key_padding_mask (B, S); batch 1 row 0 has every real key blocked but stays finite thanks to the two extra keys",
       H=2, E=4, L=4, B=2, S=3, cross="kv", bias_kv="sd", zero_attn=True, mask="causal",
       kpm=True, allow_real_full=True, kv_tokens="shared",
       explicit={"key_padding_mask": [[F_, T_, F_], [T_, F_, F_]]},
       description="everything at once: extra keys, causal mask, padding"),
    MC("cross-causal-s-ne-l-h2",
       "mask \"causal\" with S=5 > L=3 (kv_input, top-left aligned: query i sees keys 0..i), 2 heads, unbatched",
       H=2, E=4, L=3, S=5, cross="kv", mask="causal", kv_tokens="shared",
       description="causal cross-attention with more keys than queries"),
    MC("cross-causal-s-lt-l-h2",
       "mask \"causal\" with S=3 < L=5 (kv_input, top-left aligned: queries 2..4 see every key), 2 heads, batched B=2",
       H=2, E=4, L=5, B=2, S=3, cross="kv", mask="causal", kv_tokens="shared",
       description="causal cross-attention with fewer keys than queries"),
]


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    plain_names = [I_AM_GOOD_NAME] + [c["name"] for c in PLAIN_CONFIGS]
    mask_names = [c["name"] for c in MASK_CONFIGS]
    names = plain_names + mask_names
    assert len(set(names)) == len(names), "duplicate config names"
    # The two families are told apart by their file names (README, tests).
    assert all(n.startswith(MASK_PREFIXES) for n in mask_names)
    assert not any(n.startswith(MASK_PREFIXES) for n in plain_names)

    process(I_AM_GOOD_NAME, I_AM_GOOD_COVERS, I_AM_GOOD, truth_from_doc(I_AM_GOOD))
    for cfg in PLAIN_CONFIGS + MASK_CONFIGS:
        doc, truth = build_case(cfg)
        process(cfg["name"], cfg["covers"], doc, truth, cfg["full_rows"])

    stale = sorted(f for f in os.listdir(OUT_DIR) if f.endswith(".json") and f[:-5] not in names)
    for f in stale:
        print("warning: %s is not produced by this script" % os.path.join("tests", "golden", f),
              file=sys.stderr)
    print("%d golden files written (%d plain self-attention, %d masks and cross-attention), "
          "all naive and MHA cross-checks passed" % (len(names), len(plain_names), len(mask_names)))


if __name__ == "__main__":
    main()
