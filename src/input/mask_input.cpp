// The masks of an input (load_parts.hpp), in the three conventions a learner meets (core/masks.hpp
// tells them apart): "mask", the tutorials' keep-mask (1 = may attend) or "causal"; "attn_mask",
// nn.MultiheadAttention's (booleans with true = blocked, or numbers added to the scores); and
// "key_padding_mask" (true = that key is ignored). Each is checked against the shapes PyTorch
// accepts and kept as the user gave it.
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "attn_trace/core/masks.hpp"
#include "attn_trace/core/text.hpp"
#include "input_error.hpp"
#include "json_values.hpp"
#include "load_parts.hpp"

namespace attn_trace::loader {
namespace {

// The sizes every mask is checked against, and how messages spell them.
struct MaskSizes {
  std::size_t L, S, B, H;  // query tokens, key tokens, batches, heads
  std::string LS;          // "(L, S) = (3, 4)"
  std::string counts;      // "one row per query token (3) and one column per key token (4)"
};

// `values`, row-major, cut into matrices of `rows` × `cols` each, in order.
std::vector<Matrix> blocks(const std::vector<double>& values, std::size_t rows, std::size_t cols) {
  std::vector<Matrix> out;
  for (std::size_t start = 0; start < values.size(); start += rows * cols) {
    out.push_back(Eigen::Map<const Matrix>(values.data() + start, static_cast<Index>(rows),
                                           static_cast<Index>(cols)));
  }
  return out;
}

// The hint for a mask of (B, B) blocks in a batched input of B ≠ L: its rows and columns count the
// input's first axis, so the input is most likely (L, B, E), not (B, L, E). Empty otherwise.
std::string lbe_hint(const Spec& spec, const std::vector<std::size_t>& shape,
                     const MaskSizes& size) {
  const std::size_t n = shape.size();
  if (!spec.batched || size.B == size.L || n < 2 || shape[n - 1] != size.B ||
      shape[n - 2] != size.B) {
    return "";
  }
  return fmt::format("its rows and columns count input's batches (B = {}), not its tokens: {}",
                     size.B, batch_first_hint);
}

// "mask": "causal", or 0/1 with 1 = may attend, (L, S) or per batch (B, L, S).
KeepMask read_keep_mask(std::string_view file, const json& value, const Spec& spec,
                        const MaskSizes& size) {
  KeepMask mask;
  if (value.is_string()) {
    if (value != "causal") {
      fail_value(
          file, "mask",
          fmt::format("expected \"causal\" or a 0/1 matrix {}, found {}", size.LS, describe(value)),
          "\"causal\" lets query i attend keys j ≤ i; a matrix says 1 = may attend, 0 = "
          "blocked for each query (row) and key (column)");
    }
    mask.causal = true;
    mask.keep.push_back(causal_keep(spec.q_len(), spec.kv_len()));
    return mask;
  }
  const Nested n = read_nested(file, value, "mask");
  const bool plain = n.shape == std::vector<std::size_t>{size.L, size.S};
  const bool per_batch =
      spec.batched && n.shape == std::vector<std::size_t>{size.B, size.L, size.S};
  if (!plain && !per_batch) {
    fail_value(
        file, "mask",
        fmt::format(
            "expected shape {}{}, {}, found {}", size.LS,
            spec.batched ? fmt::format(" or (B, L, S) = ({}, {}, {})", size.B, size.L, size.S) : "",
            size.counts, shape_text(n.shape)),
        !spec.batched && n.shape.size() == 3 ? "a (B, L, S) mask is for batched input"
                                             : lbe_hint(spec, n.shape, size));
  }
  std::vector<double> values;
  values.reserve(n.leaves.size());
  for (std::size_t i = 0; i < n.leaves.size(); ++i) {
    const json& leaf = *n.leaves[i];
    if (leaf.is_number() && (leaf.get<double>() == 0 || leaf.get<double>() == 1)) {
      values.push_back(leaf.get<double>());
      continue;
    }
    const bool minus_infinity =
        leaf.is_number() && leaf.get<double>() == -std::numeric_limits<double>::infinity();
    fail_value(
        file, leaf_path("mask", n, i),
        fmt::format("expected 0 or 1 (1 = may attend, 0 = blocked), found {}", describe(leaf)),
        leaf.is_boolean() ? "true/false is attn_mask's convention, where true = blocked; write "
                            "1/0 here, or use attn_mask"
        : minus_infinity  ? "-Infinity (Python's float('-inf')) is a float attn_mask's way to "
                            "block, added to the scores: give these numbers as attn_mask, or "
                            "write 0 here where a key is blocked and 1 elsewhere"
                          : "");
  }
  mask.per_batch = per_batch;
  mask.keep = blocks(values, size.L, size.S);
  return mask;
}

// A leaf of a float attn_mask that is neither a number nor "-inf".
[[noreturn]] void fail_attn_mask_leaf(std::string_view file, const Nested& n, std::size_t i,
                                      const std::string& like) {
  const json& leaf = *n.leaves[i];
  fail_value(file, leaf_path("attn_mask", n, i),
             fmt::format("expected a number or \"-inf\" like {}, found {}", like, describe(leaf)),
             leaf.is_boolean()   ? "attn_mask is either booleans (true = blocked) or numbers added "
                                   "to the scores, not both"
             : !leaf.is_string() ? ""
             : leaf.get<std::string>().starts_with('-')
                 ? "write −∞ as the string \"-inf\", exactly, or as the number -Infinity, "
                   "unquoted, as Python's json.dump writes it"
                 : "only \"-inf\" blocks; +inf or nan would make the softmax nan");
}

// "attn_mask": booleans (true = blocked) or numbers and "-inf" added to the scaled scores; (L, S),
// or one (L, S) block per head, (B·H, L, S) batched or (H, L, S) not. A float mask of only 0 and
// 1 blocks nothing, which gets a warning.
AttnMask read_attn_mask(std::string_view file, const json& value, Spec& spec,
                        const MaskSizes& size) {
  const Nested n = read_nested(file, value, "attn_mask");
  const std::size_t blocks_3d = spec.batched ? size.B * size.H : size.H;
  const bool plain = n.shape == std::vector<std::size_t>{size.L, size.S};
  const bool per_head = n.shape == std::vector<std::size_t>{blocks_3d, size.L, size.S};
  if (!plain && !per_head) {
    fail_value(file, "attn_mask",
               fmt::format("expected shape {} or {} = ({}, {}, {}), {}, found {}", size.LS,
                           spec.batched ? "(B·H, L, S)" : "(H, L, S)", blocks_3d, size.L, size.S,
                           size.counts, shape_text(n.shape)),
               lbe_hint(spec, n.shape, size).empty()
                   ? "nn.MultiheadAttention's attn_mask is (L, S) for every batch and head, or 3-D "
                     "with one (L, S) block per head (block b·H + h is batch b, head h)"
                   : lbe_hint(spec, n.shape, size));
  }
  AttnMask mask;
  mask.per_head = per_head && !plain;
  mask.boolean = n.leaves.front()->is_boolean();
  // The first leaf, which decides the mask's kind, for messages about a leaf of another kind.
  const std::string like = fmt::format("attn_mask{}", repeat_index(n.shape.size()));
  std::vector<double> values;
  values.reserve(n.leaves.size());
  bool zero_or_one = true, any_one = false;
  for (std::size_t i = 0; i < n.leaves.size(); ++i) {
    const json& leaf = *n.leaves[i];
    if (mask.boolean) {
      if (!leaf.is_boolean()) {
        fail_value(file, leaf_path("attn_mask", n, i),
                   fmt::format("expected a boolean like {}, found {}", like, describe(leaf)),
                   "attn_mask is either booleans (true = blocked) or numbers added to the "
                   "scores, not both");
      }
      values.push_back(leaf.get<bool>() ? 1.0 : 0.0);
    } else if (leaf.is_number()) {
      const double number = read_leaf_number(file, n, "attn_mask", i);
      if (std::isnan(number) || number == std::numeric_limits<double>::infinity()) {
        fail_value(file, leaf_path("attn_mask", n, i),
                   fmt::format("expected a finite number or -Infinity like {}, found {}", like,
                               describe(leaf)),
                   "only -Infinity (or the string \"-inf\") blocks; Infinity or NaN would make "
                   "the softmax nan");
      }
      zero_or_one = zero_or_one && (number == 0 || number == 1);
      any_one = any_one || number == 1;
      values.push_back(number);
    } else if (leaf == "-inf") {
      zero_or_one = false;
      values.push_back(-std::numeric_limits<double>::infinity());
    } else {
      fail_attn_mask_leaf(file, n, i, like);
    }
  }
  if (zero_or_one && any_one) {
    spec.warnings.push_back(
        "masking: attn_mask holds only the numbers 0 and 1: a float attn_mask is added to the "
        "scaled scores, so it adds 0 or 1 and blocks nothing. To block, write true where "
        "blocked (booleans), \"-inf\" where blocked, or use \"mask\" with 1 = may attend, "
        "0 = blocked");
  }
  mask.blocks = blocks(values, size.L, size.S);
  return mask;
}

// "key_padding_mask": booleans, true = that key is ignored; (S), or (B, S) batched.
KeyPaddingMask read_key_padding_mask(std::string_view file, const json& value, const Spec& spec,
                                     const MaskSizes& size) {
  const std::size_t S = size.S, B = size.B;
  const Nested n = read_nested(file, value, "key_padding_mask");
  const bool ok = spec.batched ? n.shape == std::vector<std::size_t>{B, S}
                               : n.shape == std::vector<std::size_t>{S};
  if (!ok) {
    fail_value(file, "key_padding_mask",
               spec.batched
                   ? fmt::format("expected shape (B, S) = ({}, {}), one row per batch and one "
                                 "column per key token, found {}",
                                 B, S, shape_text(n.shape))
                   : fmt::format("expected shape (S) = ({}), one per key token, found {}", S,
                                 shape_text(n.shape)),
               spec.batched && B != S && n.shape == std::vector<std::size_t>{S, B}
                   ? fmt::format("its shape is (B, S) with B and S swapped: {}", batch_first_hint)
                   : "");
  }
  // PyTorch also takes a float key_padding_mask, added to the scores: 0, and −inf where ignored.
  const bool additive = std::any_of(n.leaves.begin(), n.leaves.end(), [](const json* leaf) {
    return leaf->is_number() && leaf->get<double>() == -std::numeric_limits<double>::infinity();
  });
  KeyPaddingMask mask;
  for (std::size_t b = 0; b < (spec.batched ? B : 1); ++b) {
    Vector ignore(static_cast<Index>(S));
    for (std::size_t j = 0; j < S; ++j) {
      const std::size_t flat = b * S + j;
      const json& leaf = *n.leaves[flat];
      if (!leaf.is_boolean()) {
        fail_value(file, leaf_path("key_padding_mask", n, flat),
                   fmt::format("expected true or false (true = that key is ignored), found {}",
                               describe(leaf)),
                   additive ? "PyTorch's float key_padding_mask (-Infinity = ignored, 0 = "
                              "attended) is read here as booleans: write true where it has "
                              "-Infinity and false where it has 0, e.g. (mask == "
                              "float('-inf')).tolist()"
                            : "key_padding_mask is nn.MultiheadAttention's: true marks a padding "
                              "key; for the tutorials' 1 = may attend, 0 = blocked, use \"mask\"");
      }
      ignore(static_cast<Index>(j)) = leaf.get<bool>() ? 1.0 : 0.0;
    }
    mask.ignore.push_back(std::move(ignore));
  }
  return mask;
}

}  // namespace

void read_masks(const Reading& reading, const json& root, Spec& spec) {
  const std::size_t L = static_cast<std::size_t>(spec.q_len());
  const std::size_t S = static_cast<std::size_t>(spec.kv_len());
  const MaskSizes size{
      L,
      S,
      spec.inputs.size(),
      static_cast<std::size_t>(spec.num_heads),
      fmt::format("(L, S) = ({}, {})", L, S),
      fmt::format("one row per query token ({}) and one column per key token ({})", L, S)};
  const std::string& file = reading.file;
  if (root.contains("mask")) spec.masks.mask = read_keep_mask(file, root["mask"], spec, size);
  if (root.contains("attn_mask")) {
    spec.masks.attn_mask = read_attn_mask(file, root["attn_mask"], spec, size);
  }
  if (root.contains("key_padding_mask")) {
    spec.masks.key_padding_mask = read_key_padding_mask(file, root["key_padding_mask"], spec, size);
  }
}

}  // namespace attn_trace::loader
