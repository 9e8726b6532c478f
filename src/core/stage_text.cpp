#include "attn_trace/core/stage_text.hpp"

#include <algorithm>
#include <array>

namespace attn_trace {
namespace {

constexpr std::array<StageText, 12> texts = {{
    {"input", "Each token is one row of X: E numbers that stand for it.",
     "Attention sees only these numbers; where a token stands in the sentence reaches it only "
     "through a positional encoding already added into them.",
     "X is (L, E): L tokens (query), E features."},
    {"projections",
     "Three learned linear maps turn every token into a query (what it looks for), a key (what "
     "it can be found by) and a value (what it passes on).",
     "The same token plays three parts, and the weights let each part look different; without "
     "them (Q = K = V = X), the scores only measure how alike two tokens already are.",
     "(L, E)·(D, E)ᵀ + (D) → (L, D) for each of Q, K, V; K and V have S rows, one per key."},
    {"extra_keys",
     "nn.MultiheadAttention can append a learned key and value row (add_bias_kv) and a row of "
     "zeros (add_zero_attn) after the given keys.",
     "They give every query something to attend to besides the tokens themselves.",
     "(S, D) → (S', D): one more key per extra row."},
    {"split_heads",
     "With H heads, the D columns of Q, K and V are cut into H slices of d = D / H columns, one "
     "per head.",
     "Each head attends on its own slice, so different heads can look for different things.",
     "(L, D) → (H, L, d): head h takes columns h·d to (h+1)·d − 1."},
    {"scores", "Every query is compared with every key by a dot product.",
     "The dot product is large when the query and the key point the same way: it measures how "
     "well a key answers a query.",
     "(L, d)·(S, d)ᵀ → (L, S): one row per query, one column per key."},
    {"scaling",
     "The scores are multiplied by 1/√d (PyTorch's choice; tutorials sometimes use 1/√E or "
     "nothing).",
     "The dot product of d numbers of unit variance has variance d, so scores grow with d and "
     "the softmax would saturate into one-hot rows; dividing by √d brings the variance back to "
     "1.",
     "(L, S) → (L, S): the same shape, every number times the same factor."},
    {"masking",
     "A mask stops some queries from attending to some keys (the future, padding): their scores "
     "become −∞.",
     "exp(−∞) = 0, so a blocked key gets no weight at all, and the weights of the others still "
     "sum to 1.",
     "(L, S) + (L, S) → (L, S): the additive mask is 0 where a query may attend, −∞ where not."},
    {"softmax",
     "Each row of scores becomes weights that are positive and sum to 1: how much the query "
     "attends to each key.",
     "exp makes every weight positive and stresses the largest scores; subtracting the row's "
     "maximum first changes no weight but keeps exp from overflowing.",
     "(L, S) → (L, S): each row normalised on its own."},
    {"weighted_values",
     "Each key's value row is multiplied by the weight the query gives that key.",
     "This is the step the tutorials draw as arrows from each value into each output: what each "
     "key contributes to each query.",
     "(L, S, 1) ⊙ (1, S, d) → (L, S, d): one value row per query and key."},
    {"summation", "Adding the weighted values over the keys gives each query's context vector.",
     "The context is a mix of the values in the proportions of the weights; the two steps "
     "together are the product weights·V.",
     "(L, S, d) → (L, d): the key axis is summed away."},
    {"merge_heads", "The heads' context vectors are put side by side again.",
     "Concatenating gives back the width D, so that one output projection can read every head.",
     "(H, L, d) → (L, D): head h fills columns h·d to (h+1)·d − 1."},
    {"out_proj", "A last linear map mixes the context's columns into the output.",
     "Until here each head kept to its own columns; this is where the heads meet, since every "
     "output number uses all of them.",
     "(L, D)·(E, D)ᵀ + (E) → (L, E): one output row per query token."},
}};

}  // namespace

std::span<const StageText> stage_texts() {
  return texts;
}

const StageText* stage_text(std::string_view id) {
  const auto found =
      std::find_if(texts.begin(), texts.end(), [&](const StageText& t) { return t.id == id; });
  return found == texts.end() ? nullptr : &*found;
}

}  // namespace attn_trace
