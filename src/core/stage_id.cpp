// The stage table of stage_id.hpp: each stage's name, title, and what it does and why, in plain
// sentences (run --explain, docs/stages.md).
#include "attn_trace/core/stage_id.hpp"

#include <algorithm>
#include <array>
#include <cassert>

namespace attn_trace {
namespace {

constexpr std::array<StageInfo, 12> stages = {{
    {.id = StageId::input,
     .name = "input",
     .title = "The input: one vector per token",
     .what = "Each token is one row of X: E numbers that stand for it.",
     .why =
         "Attention sees only these numbers; where a token stands in the sentence reaches it only "
         "through a positional encoding already added into them.",
     .shape = "X is (L, E): L tokens (query), E features."},
    {.id = StageId::projections,
     .name = "projections",
     .title = "Query, key and value projections",
     .what =
         "Three learned linear maps turn every token into a query (what it looks for), a key (what "
         "it can be found by) and a value (what it passes on).",
     .why =
         "The same token plays three parts, and the weights let each part look different; without "
         "them (Q = K = V = X), the scores only measure how alike two tokens already are.",
     .shape =
         "(L, E)·(D, E)ᵀ + (D) → (L, D) for each of Q, K, V; K and V have S rows, one per key."},
    {.id = StageId::extra_keys,
     .name = "extra_keys",
     .title = "Extra keys appended by nn.MultiheadAttention",
     .what =
         "nn.MultiheadAttention can append a learned key and value row (add_bias_kv) and a row of "
         "zeros (add_zero_attn) after the given keys.",
     .why = "They give every query something to attend to besides the tokens themselves.",
     .shape = "(S, D) → (S', D): one more key per extra row."},
    {.id = StageId::split_heads,
     .name = "split_heads",
     .title = "Split into heads",
     .what = "With H heads, the D columns of Q, K and V are cut into H slices of d = D / H "
             "columns, one "
             "per head.",
     .why = "Each head attends on its own slice, so different heads can look for different things.",
     .shape = "(L, D) → (H, L, d): head h takes columns h·d to (h+1)·d − 1."},
    {.id = StageId::scores,
     .name = "scores",
     .title = "Attention scores: every query against every key",
     .what = "Every query is compared with every key by a dot product.",
     .why =
         "The dot product is large when the query and the key point the same way: it measures how "
         "well a key answers a query.",
     .shape = "(L, d)·(S, d)ᵀ → (L, S): one row per query, one column per key."},
    {.id = StageId::scaling,
     .name = "scaling",
     .title = "Scaling the scores",
     .what = "The scores are multiplied by 1/√d (PyTorch's choice; tutorials sometimes use 1/√E or "
             "nothing).",
     .why =
         "The dot product of d numbers of unit variance has variance d, so scores grow with d and "
         "the softmax would saturate into one-hot rows; dividing by √d brings the variance back to "
         "1.",
     .shape = "(L, S) → (L, S): the same shape, every number times the same factor."},
    {.id = StageId::masking,
     .name = "masking",
     .title = "Masking: blocked keys get −∞",
     .what = "A mask stops some queries from attending to some keys (the future, padding): their "
             "scores "
             "become −∞.",
     .why =
         "exp(−∞) = 0, so a blocked key gets no weight at all, and the weights of the others still "
         "sum to 1.",
     .shape = "(L, S) + (L, S) → (L, S): the additive mask is 0 where a query may attend, −∞ where "
              "not."},
    {.id = StageId::softmax,
     .name = "softmax",
     .title = "Softmax over each row",
     .what =
         "Each row of scores becomes weights that are positive and sum to 1: how much the query "
         "attends to each key.",
     .why =
         "exp makes every weight positive and stresses the largest scores; subtracting the row's "
         "maximum first changes no weight but keeps exp from overflowing.",
     .shape = "(L, S) → (L, S): each row normalised on its own."},
    {.id = StageId::weighted_values,
     .name = "weighted_values",
     .title = "Weighted values: each value row times its weight",
     .what = "Each key's value row is multiplied by the weight the query gives that key.",
     .why = "This is the step the tutorials draw as arrows from each value into each output: what "
            "each "
            "key contributes to each query.",
     .shape = "(L, S, 1) ⊙ (1, S, d) → (L, S, d): one value row per query and key."},
    {.id = StageId::summation,
     .name = "summation",
     .title = "Sum over the keys",
     .what = "Adding the weighted values over the keys gives each query's context vector.",
     .why = "The context is a mix of the values in the proportions of the weights; the two steps "
            "together are the product weights·V.",
     .shape = "(L, S, d) → (L, d): the key axis is summed away."},
    {.id = StageId::merge_heads,
     .name = "merge_heads",
     .title = "Merge the heads",
     .what = "The heads' context vectors are put side by side again.",
     .why =
         "Concatenating gives back the width D, so that one output projection can read every head.",
     .shape = "(H, L, d) → (L, D): head h fills columns h·d to (h+1)·d − 1."},
    {.id = StageId::out_proj,
     .name = "out_proj",
     .title = "Output projection",
     .what = "A last linear map mixes the context's columns into the output.",
     .why =
         "Until here each head kept to its own columns; this is where the heads meet, since every "
         "output number uses all of them.",
     .shape = "(L, D)·(E, D)ᵀ + (E) → (L, E): one output row per query token."},
}};

// The names alone, for messages and suggestions.
constexpr std::array<std::string_view, stages.size()> names = [] {
  std::array<std::string_view, stages.size()> out;
  for (std::size_t k = 0; k < stages.size(); ++k) out[k] = stages[k].name;
  return out;
}();

}  // namespace

std::span<const StageInfo> all_stages() {
  return stages;
}

const StageInfo& stage_info(StageId id) {
  const auto& info = stages[static_cast<std::size_t>(id)];
  assert(info.id == id);  // the table is in the enum's order
  return info;
}

std::string_view stage_name(StageId id) {
  return stage_info(id).name;
}

std::optional<StageId> stage_named(std::string_view name) {
  const auto found = std::find(names.begin(), names.end(), name);
  if (found == names.end()) return std::nullopt;
  return stages[static_cast<std::size_t>(found - names.begin())].id;
}

std::span<const std::string_view> stage_names() {
  return names;
}

bool StageSelection::shows(StageId id) const {
  if (until && id > *until) return false;
  return only.empty() || std::find(only.begin(), only.end(), id) != only.end();
}

}  // namespace attn_trace
