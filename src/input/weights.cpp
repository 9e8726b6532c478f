// The weights of one attention layer (load_parts.hpp), in every form they come in: the Q/K/V
// projections packed in one matrix or separate, under PyTorch's, the input format's or a model's
// names; the output projection; add_bias_kv's bias_k and bias_v. Each is translated here into the
// Spec's one form, nn.Linear's (out, in) weights, so that nothing downstream knows which form the
// user wrote. Messages name the file the weights come from (an input file or a --weights file)
// and write each key as it stands there.
#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "attn_trace/core/text.hpp"
#include "attn_trace/input/state_dict.hpp"
#include "input_error.hpp"
#include "json_values.hpp"
#include "load_parts.hpp"

namespace attn_trace::loader {
namespace {

// ---- How a weight is stored, and the hints about it ----

// How a weight matrix is stored. The input format's names follow "weight_layout"; a tutorial's
// module fixes the layout of its own weights: nn.Linear (out, in), GPT-2's Conv1D (in, out).
struct Storage {
  WeightLayout layout;
  std::string_view module;  // "" when weight_layout decides; else "an nn.Linear", "a Conv1D"
};

Storage storage_of(const Spec& spec, std::optional<WeightLayout> fixed, std::string_view module) {
  return fixed ? Storage{*fixed, module} : Storage{spec.weight_layout, {}};
}

// What shape `key`'s matrix has to be stored in, for a message about one of the wrong shape.
std::string layout_hint(const Storage& storage, std::string_view key) {
  const bool math = storage.layout == WeightLayout::math;
  if (!storage.module.empty()) {
    return fmt::format("{} is {} weight, stored {}", key, storage.module,
                       math ? "(in, out) and used as x·W" : "(out, in)");
  }
  return math ? "weight_layout \"math\": every weight is (in, out), used as x·W"
              : "weight_layout \"torch\": every weight is (out, in), as nn.Linear stores it";
}

// What to do about `key`'s matrix when its transpose would fit.
std::string transpose_hint(const Storage& storage, std::string_view key) {
  if (!storage.module.empty()) {
    return fmt::format(
        "{} is {} weight, stored {}: give the module's state_dict as it is, "
        "not transposed",
        key, storage.module, storage.layout == WeightLayout::math ? "(in, out)" : "(out, in)");
  }
  return storage.layout == WeightLayout::math
             ? "for (out, in) matrices as nn.Linear stores them, set \"weight_layout\": \"torch\""
             : "for (in, out) matrices used as x·W, set \"weight_layout\": \"math\"";
}

// ---- The forms of the weights ----

// The forms the Q/K/V weights come in. A packed form holds all three in one matrix (q, k, v in
// that order); a separate form holds one matrix each.
struct QkvForm {
  std::array<std::string_view, 3> weights;  // a packed form: weights[0] only
  std::array<std::string_view, 3> biases;   // a packed bias (also for q_proj_weight): [0] only
  bool packed;
  std::optional<WeightLayout> layout;  // none: "weight_layout" decides
  std::string_view module;             // what fixes the layout, for messages
  std::string_view split;              // how a packed matrix is split, for the note
};
constexpr QkvForm qkv_forms[] = {
    {{"in_proj_weight"}, {"in_proj_bias"}, true, {}, {}, "in PyTorch's order"},
    {{"qkv.weight"},
     {"qkv.bias"},
     true,
     WeightLayout::torch,
     "an nn.Linear",
     "in the order its name gives"},
    {{"c_attn.weight"},
     {"c_attn.bias"},
     true,
     WeightLayout::math,
     "a GPT-2 Conv1D",
     "as GPT-2 splits it"},
    {{"q_proj_weight", "k_proj_weight", "v_proj_weight"}, {"in_proj_bias"}, false, {}, {}, {}},
    {{"W_q", "W_k", "W_v"}, {"b_q", "b_k", "b_v"}, false, {}, {}, {}},
    {{"linear_q.weight", "linear_k.weight", "linear_v.weight"},
     {"linear_q.bias", "linear_k.bias", "linear_v.bias"},
     false,
     WeightLayout::torch,
     "an nn.Linear",
     {}},
    {{"q_proj.weight", "k_proj.weight", "v_proj.weight"},
     {"q_proj.bias", "k_proj.bias", "v_proj.bias"},
     false,
     WeightLayout::torch,
     "an nn.Linear",
     {}},
    {{"query.weight", "key.weight", "value.weight"},
     {"query.bias", "key.bias", "value.bias"},
     false,
     WeightLayout::torch,
     "an nn.Linear",
     {}},
    {{"self.query.weight", "self.key.weight", "self.value.weight"},
     {"self.query.bias", "self.key.bias", "self.value.bias"},
     false,
     WeightLayout::torch,
     "an nn.Linear",
     {}},
    {{"attention.query.weight", "attention.key.weight", "attention.value.weight"},
     {"attention.query.bias", "attention.key.bias", "attention.value.bias"},
     false,
     WeightLayout::torch,
     "an nn.Linear",
     {}},
};

// Hugging Face's BERT (and RoBERTa) and ViT: Q, K and V in an inner module, the output projection
// beside it as output.dense.
bool bert_family(const QkvForm* form) {
  return form &&
         (form->weights[0] == "self.query.weight" || form->weights[0] == "attention.query.weight");
}

// The output projection's forms: PyTorch's (and BART's), the input format's, GPT-2's Conv1D,
// timm's, the Llama family's, and BERT's and ViT's output.dense.
struct OutForm {
  std::string_view weight, bias, label;
  std::optional<WeightLayout> layout;
  std::string_view module;
};
constexpr OutForm out_forms[] = {
    {"out_proj.weight", "out_proj.bias", "out_proj.*", {}, {}},
    {"W_o", "b_o", "W_o/b_o", {}, {}},
    {"c_proj.weight", "c_proj.bias", "c_proj.*", WeightLayout::math, "a GPT-2 Conv1D"},
    {"proj.weight", "proj.bias", "proj.*", WeightLayout::torch, "an nn.Linear"},
    {"o_proj.weight", "o_proj.bias", "o_proj.*", WeightLayout::torch, "an nn.Linear"},
    {"output.dense.weight", "output.dense.bias", "output.dense.*", WeightLayout::torch,
     "an nn.Linear"},
};

// ---- Reading one weight ----

// The weights object being read, and where it came from.
struct Weights {
  const json& object;  // the named weights
  const WeightsSource& source;
  std::string_view input_file;  // the input's, for a message that blames the input
  bool rows_labelled = false;   // the input's "tokens" label its rows: they are tokens

  [[nodiscard]] bool has(std::string_view key) const { return object.contains(std::string(key)); }
  [[nodiscard]] const json& at(std::string_view key) const { return object[std::string(key)]; }
  // Where `key` stands, for messages: "weights.W_q" in an input file, the key with its layer's
  // prefix in a --weights file.
  [[nodiscard]] std::string path(std::string_view key) const {
    return source.key_prefix + std::string(key);
  }
};

// An input whose rows are as many as the width a Q weight takes, when its own width is not: the
// input is most likely transposed, (E, L) for (L, E), and the message blames it, not the weights.
// `width` is the weight's input width; fails only when the weight's transpose would not fit either,
// and when no "tokens" say that the rows are tokens.
void check_input_not_transposed(const Weights& weights, const Spec& spec, std::string_view key,
                                Index width) {
  if (weights.rows_labelled || width == spec.embed_dim() || width != spec.q_len()) return;
  const Index L = spec.q_len(), E = spec.embed_dim();
  const std::string shape =
      spec.batched ? shape_text({spec.batch_size(), L, E}) : shape_text({L, E});
  fail_value(
      weights.input_file, "input",
      fmt::format("expected rows of {} numbers, the width {} takes, found shape {}: its {} rows "
                  "match that width, so it looks transposed, {} instead of {}",
                  width, weights.path(key), shape, L, spec.batched ? "(B, E, L)" : "(E, L)",
                  spec.batched ? "(B, L, E)" : "(L, E)"),
      spec.batched ? "each row of input is one token; transpose each batch: x.transpose(1, 2)"
                   : "each row of input is one token; transpose it: x.T in NumPy, x.transpose(0, "
                     "1) in PyTorch");
}

// A weight matrix as stored, returned as (out, in). `in` is the width it must accept; `out` is
// the width it must produce, or -1 when the matrix itself decides. `queries`: the spec, for Q's
// weight, whose wrong width may be the input's fault (check_input_not_transposed).
Matrix read_weight(const Weights& weights, std::string_view key, Index in, Index out,
                   const Storage& storage, std::string_view why, const Spec* queries = nullptr) {
  const std::string path = weights.path(key);
  Matrix m = read_matrix(weights.source.file, weights.at(key), path);
  const bool math = storage.layout == WeightLayout::math;
  if (math) m.transposeInPlace();
  if (m.cols() == in && (out < 0 || m.rows() == out)) return m;

  // Shapes as stored: (out, in), or (in, out) for the math layout.
  const auto as_written = [&](const std::string& o, const std::string& i) {
    return math ? fmt::format("({}, {})", i, o) : fmt::format("({}, {})", o, i);
  };
  const std::string want_out = out < 0 ? "out" : std::to_string(out);
  const std::string found = as_written(std::to_string(m.rows()), std::to_string(m.cols()));
  // The transpose would fit: the matrix was most likely written in the other layout.
  const bool other_layout_fits = m.rows() == in && (out < 0 || m.cols() == out);
  if (queries && !other_layout_fits) check_input_not_transposed(weights, *queries, key, m.cols());
  fail_value(weights.source.file, path,
             fmt::format("expected shape {} {}, found {}", as_written(want_out, std::to_string(in)),
                         why, found),
             other_layout_fits ? fmt::format("{} is the shape of the transpose: {}", found,
                                             transpose_hint(storage, key))
                               : layout_hint(storage, key));
}

Vector read_bias(const Weights& weights, std::string_view key, Index length, std::string_view why) {
  const std::string path = weights.path(key);
  Vector v = read_vector(weights.source.file, weights.at(key), path);
  if (v.size() != length) {
    fail_value(weights.source.file, path,
               fmt::format("expected {} numbers {}, found {}", length, why, v.size()));
  }
  return v;
}

// ---- Q, K and V ----

// The first key of `form` that `weights` holds, if any. in_proj_bias, shared by two forms, does
// not decide the form.
std::optional<std::string_view> form_key(const Weights& weights, const QkvForm& form) {
  for (const auto& keys : {form.weights, form.biases}) {
    for (std::string_view key : keys) {
      if (!key.empty() && key != "in_proj_bias" && weights.has(key)) return key;
    }
  }
  return std::nullopt;
}

// The form the Q/K/V weights come in, or none when there are none; fails when keys of two forms
// are given.
const QkvForm* qkv_form(const Weights& weights) {
  std::vector<const QkvForm*> forms;
  std::vector<std::string_view> form_keys;
  for (const QkvForm& form : qkv_forms) {
    if (const auto key = form_key(weights, form)) {
      forms.push_back(&form);
      form_keys.push_back(*key);
    }
  }
  if (forms.size() > 1) {
    fail_value(
        weights.source.file, weights.source.object,
        fmt::format("two forms of the Q/K/V weights given at once: {}",
                    fmt::join(form_keys, " and ")),
        "give exactly one: in_proj_weight (packed), q_proj_weight/k_proj_weight/v_proj_weight, "
        "W_q/W_k/W_v, or one model's modules: linear_q/linear_k/linear_v, qkv, c_attn, "
        "q_proj/k_proj/v_proj, query/key/value, self.query/self.key/self.value, "
        "attention.query/attention.key/attention.value");
  }
  return forms.empty() ? nullptr : forms.front();
}

// in_proj_bias belongs to in_proj_weight, or to q_proj_weight/k_proj_weight/v_proj_weight.
void check_in_proj_bias(const Weights& weights, const QkvForm* form) {
  if (!weights.has("in_proj_bias")) return;
  const std::string path = weights.path("in_proj_bias");
  if (!form) {
    fail_value(weights.source.file, path, "given without in_proj_weight or q/k/v_proj_weight",
               "a bias needs the weights it belongs to");
  }
  if (form->biases[0] == "in_proj_bias") return;
  if (form->packed) {
    fail_value(
        weights.source.file, path,
        fmt::format("given with {}, whose bias is {}", form->weights[0], form->biases[0]),
        fmt::format("in_proj_bias goes with in_proj_weight; give it as {}", form->biases[0]));
  }
  fail_value(weights.source.file, path,
             fmt::format("given with {}, whose biases are {}", fmt::join(form->weights, ", "),
                         fmt::join(form->biases, ", ")),
             fmt::format("in_proj_bias goes with in_proj_weight or "
                         "q_proj_weight/k_proj_weight/v_proj_weight; split it into {} "
                         "(query, key, value, in that order)",
                         fmt::join(form->biases, ", ")));
}

// The hint for a packed matrix of the wrong shape, (rows, cols) after any transpose.
std::string packed_shape_hint(const Storage& storage, std::string_view key, Index rows, Index cols,
                              Index embed, const std::string& found) {
  const bool math = storage.layout == WeightLayout::math;
  if (rows == embed && cols % 3 == 0) {  // the transpose would fit
    return fmt::format(
        "{} is the shape of the transpose: {}", found,
        !storage.module.empty() ? transpose_hint(storage, key)
        : math ? "for nn.MultiheadAttention's (3E, E) matrix, set \"weight_layout\": \"torch\""
               : "for an (E, 3E) matrix used as x·W, set \"weight_layout\": \"math\"");
  }
  return fmt::format(
      "{} stacks W_q, W_k and W_v, each (E, E) = ({}, {}) in "
      "nn.MultiheadAttention{}",
      key, embed, embed,
      !storage.module.empty() ? fmt::format("; {}", layout_hint(storage, key))
      : math                  ? ", transposed for weight_layout \"math\""
                              : "");
}

// The packed bias (b_q, b_k, b_v stacked), split into the three projections' biases.
void split_packed_bias(const Weights& weights, Spec& spec, const QkvForm& form) {
  const Index model = spec.model_dim();
  const Vector bias = read_bias(weights, form.biases[0], 3 * model,
                                fmt::format("(b_q, b_k, b_v stacked, {} each)", model));
  spec.q_proj->bias = bias.segment(0, model);
  spec.k_proj->bias = bias.segment(model, model);
  spec.v_proj->bias = bias.segment(2 * model, model);
}

// One matrix holding W_q, W_k and W_v: (3D, E) as nn.Linear stores it, (E, 3D) as x·W uses it.
void read_packed(const Weights& weights, Spec& spec, const QkvForm& form, const Storage& storage) {
  const std::string_view key = form.weights[0];
  const std::string path = weights.path(key);
  const std::string& file = weights.source.file;
  if (!weights.has(key)) {
    fail_value(file, path, fmt::format("missing: {} is given without it", form.biases[0]));
  }
  const Index embed = spec.embed_dim();
  if (spec.key_dim() != embed || spec.value_dim() != embed) {
    const std::string widths =
        spec.key_source == KeySource::kv_input
            ? fmt::format("kv_input has {} columns", spec.key_dim())
            : fmt::format("key_input has kdim = {} and value_input vdim = {} columns",
                          spec.key_dim(), spec.value_dim());
    fail_value(file, path, fmt::format("maps inputs of width E = {} only, but {}", embed, widths),
               fmt::format("nn.MultiheadAttention with kdim/vdim stores q_proj_weight (E, E), "
                           "k_proj_weight (E, kdim) and v_proj_weight (E, vdim) instead of {}",
                           key));
  }
  Matrix packed = read_matrix(file, weights.at(key), path);
  const bool math = storage.layout == WeightLayout::math;
  if (math) packed.transposeInPlace();
  if (packed.cols() != embed || packed.rows() % 3 != 0) {
    const Index rows = packed.rows() % 3 == 0 ? packed.rows() : 3 * embed;
    const auto as_written = [&](Index o, Index i) {
      return math ? shape_text({i, o}) : shape_text({o, i});
    };
    const std::string found = as_written(packed.rows(), packed.cols());
    // A (3E, E) matrix that would fit the input transposed: the input is at fault.
    if (packed.rows() == 3 * packed.cols())
      check_input_not_transposed(weights, spec, key, packed.cols());
    fail_value(file, path,
               fmt::format("expected shape {} for embed dim {}, found {}", as_written(rows, embed),
                           embed, found),
               packed_shape_hint(storage, key, packed.rows(), packed.cols(), embed, found));
  }
  const Index model = packed.rows() / 3;
  spec.q_proj = Linear{packed.topRows(model), std::nullopt};
  spec.k_proj = Linear{packed.middleRows(model, model), std::nullopt};
  spec.v_proj = Linear{packed.bottomRows(model), std::nullopt};
  spec.notes.push_back(
      storage.module.empty()
          ? fmt::format("{} was split {}: query, key, value ({} rows each{})", key, form.split,
                        model, math ? ", after transposing the (in, out) matrix" : "")
          : fmt::format("{} ({} weight, stored {}) was split {}: query, key, value ({} {} each)",
                        key, storage.module, math ? "(in, out)" : "(out, in)", form.split, model,
                        math ? "columns" : "rows"));
  if (weights.has(form.biases[0])) split_packed_bias(weights, spec, form);
}

// The Llama family's grouped-query attention: k_proj and v_proj with fewer rows than q_proj, each
// K/V head shared by several query heads (num_key_value_heads < num_heads). Not traced yet.
void refuse_grouped_kv(const Weights& weights, const Spec& spec,
                       const std::array<std::string_view, 3>& keys) {
  const Matrix& q = spec.q_proj->weight;
  for (std::size_t i = 1; i < 3; ++i) {
    const std::string path = weights.path(keys[i]);
    const Matrix m = read_matrix(weights.source.file, weights.at(keys[i]), path);
    if (m.rows() == 0 || m.rows() >= q.rows() || q.rows() % m.rows() != 0) continue;
    fail_value(
        weights.source.file, path,
        fmt::format("expected shape {} like {}, found {}: K and V with fewer heads than Q "
                    "are grouped-query attention (num_key_value_heads < num_heads), which "
                    "is not supported yet",
                    shape_text({q.rows(), m.cols()}), keys[0], shape_text({m.rows(), m.cols()})),
        "attn-trace traces layers whose k_proj and v_proj have as many rows as q_proj "
        "(num_key_value_heads = num_heads)");
  }
}

// One matrix each for W_q, W_k and W_v, and their biases.
void read_separate(const Weights& weights, Spec& spec, const QkvForm& form,
                   const Storage& storage) {
  const auto& keys = form.weights;
  for (std::string_view key : keys) {
    if (!weights.has(key)) {
      fail_value(weights.source.file, weights.path(key),
                 fmt::format("missing: {}, {} and {} come together", keys[0], keys[1], keys[2]));
    }
  }
  const Index embed = spec.embed_dim();
  const std::string why = fmt::format("for embed dim {}", embed);
  spec.q_proj = Linear{read_weight(weights, keys[0], embed, -1, storage, why, &spec), std::nullopt};
  const Index model = spec.q_proj->weight.rows();
  if (keys[0] == "q_proj.weight") refuse_grouped_kv(weights, spec, keys);
  // K and V read the key and value inputs, which in cross-attention have widths of their own.
  const auto width = [&](Index in, std::string_view source, std::string_view dim) {
    return spec.key_source == KeySource::self
               ? fmt::format("for embed dim {}, like {}", embed, keys[0])
               : fmt::format("for {} = {} (the width of {}), with {} outputs like {}", dim, in,
                             source, model, keys[0]);
  };
  const bool kv = spec.key_source == KeySource::kv_input;
  spec.k_proj = Linear{read_weight(weights, keys[1], spec.key_dim(), model, storage,
                                   width(spec.key_dim(), kv ? "kv_input" : "key_input", "kdim")),
                       std::nullopt};
  spec.v_proj =
      Linear{read_weight(weights, keys[2], spec.value_dim(), model, storage,
                         width(spec.value_dim(), kv ? "kv_input" : "value_input", "vdim")),
             std::nullopt};

  if (form.biases[1].empty()) {  // q_proj_weight & co. take in_proj_bias, packed
    if (weights.has(form.biases[0])) split_packed_bias(weights, spec, form);
    return;
  }
  const std::string why_bias = fmt::format("for projection width {}", model);
  std::optional<Vector>* biases[] = {&spec.q_proj->bias, &spec.k_proj->bias, &spec.v_proj->bias};
  for (std::size_t i = 0; i < 3; ++i) {
    if (weights.has(form.biases[i])) {
      *biases[i] = read_bias(weights, form.biases[i], model, why_bias);
    }
  }
}

// Without Q/K/V weights, K and V are the key and value inputs themselves: they must be as wide as
// the input, for Q·Kᵀ. `file` is the one messages name.
void check_identity_widths(std::string_view file, const Spec& spec) {
  if (spec.learned_projections() || spec.key_source == KeySource::self) return;
  const auto check = [&](const char* key, Index width) {
    if (width == spec.embed_dim()) return;
    fail_value(file, key,
               fmt::format("expected {} columns like input (E = {}), found {}", spec.embed_dim(),
                           spec.embed_dim(), width),
               "without Q/K/V weights, K and V are the inputs themselves, and Q·Kᵀ needs rows of "
               "one width; give q_proj_weight (E, E), k_proj_weight (E, kdim) and v_proj_weight "
               "(E, vdim) to project them");
  };
  const bool kv = spec.key_source == KeySource::kv_input;
  check(kv ? "kv_input" : "key_input", spec.key_dim());
  if (!kv) check("value_input", spec.value_dim());
}

// ---- The output projection and the extra key ----

// The form the output projection comes in, or none; fails when keys of two forms are given.
const OutForm* out_form(const Weights& weights) {
  std::vector<const OutForm*> forms;
  for (const OutForm& form : out_forms) {
    if (weights.has(form.weight) || weights.has(form.bias)) forms.push_back(&form);
  }
  if (forms.empty()) return nullptr;
  if (forms.size() > 1) {
    fail_value(weights.source.file, weights.source.object,
               fmt::format("two forms of the output projection given at once: {} and {}",
                           forms[0]->label, forms[1]->label),
               "give exactly one");
  }
  return forms.front();
}

// output.dense is BERT's and ViT's output projection only beside their self.query/attention.query:
// a layer of a whole BERT layer (not its attention) has the feed-forward's output.dense there.
void check_output_dense(const Weights& weights, const QkvForm* form, const OutForm* out) {
  if (!out || out->weight != "output.dense.weight") return;
  const std::string path = weights.path(weights.has(out->weight) ? out->weight : out->bias);
  if (!bert_family(form)) {
    fail_value(weights.source.file, path,
               fmt::format("given without self.query.weight{}: output.dense is the output "
                           "projection of Hugging Face's BERT (and ViT) attention, beside "
                           "self.query, self.key and self.value",
                           form ? fmt::format(" (Q/K/V are {})", form->weights[0]) : ""),
               "pick the layer whose prefix ends in \"attention.\" (e.g. --weights-prefix "
               "encoder.layer.0.attention.), which holds both");
  }
  if (weights.has("intermediate.dense.weight")) {
    fail_value(weights.source.file, path,
               "is the feed-forward's output here: this prefix is a whole layer, which also "
               "holds intermediate.dense",
               "pick the layer's attention, the prefix that ends in \"attention.\"");
  }
}

// The output projection in the form `form` found, if any.
void read_out_proj(const Weights& weights, Spec& spec, const OutForm* found) {
  if (!found) return;
  const OutForm& form = *found;
  if (!weights.has(form.weight)) {
    fail_value(weights.source.file, weights.path(form.weight),
               fmt::format("missing: {} is given without it", form.bias));
  }
  const Index model = spec.model_dim();
  Linear out{
      read_weight(weights, form.weight, model, -1, storage_of(spec, form.layout, form.module),
                  fmt::format("to map the context of width {}", model)),
      std::nullopt};
  if (weights.has(form.bias)) {
    out.bias = read_bias(weights, form.bias, out.weight.rows(),
                         fmt::format("(one per output of {})", form.weight));
  }
  spec.out_proj = std::move(out);
}

// ---- Rotary position embeddings ----

// A layer that applies rotary position embeddings (RoPE) to Q and K is refused: RoPE is not traced
// yet, and its tables have no weights, so a state_dict does not say whether a layer applies it.
// A layer with rotary_emb.inv_freq (RoPE's frequencies, saved by older Llama code) does; an o_proj
// layer (Llama, Mistral, Qwen2) does unless the user says it has none. `rope` is what "rope" or
// --rope says (read_rope).
void check_rotary(const Weights& weights, const OutForm* out, const RopeChoice& rope) {
  const std::string file(weights.source.file);
  if (weights.has("rotary_emb.inv_freq")) {
    fail_value(file, weights.path("rotary_emb.inv_freq"),
               fmt::format("this layer applies rotary position embeddings (RoPE), which are not "
                           "supported yet: inv_freq is the frequency table RoPE rotates Q and K "
                           "with{}",
                           rope.none ? fmt::format(", so {} cannot be right", rope.said()) : ""),
               "attn-trace traces attention without rotary embeddings only");
  }
  if (!out || out->weight != "o_proj.weight") return;
  if (!rope.none) {
    fail_value(
        file, weights.path(weights.has(out->weight) ? out->weight : out->bias),
        "o_proj is the Llama family's (Llama, Mistral, Qwen2), whose layers rotate Q and K by "
        "position with rotary embeddings (RoPE); these are not supported yet, and a state_dict "
        "cannot say whether this layer applies them",
        fmt::format("if this layer has no rotary embeddings, say so: --rope none, or \"rope\": "
                    "\"none\" in {}",
                    weights.input_file));
  }
}

// What the walkthrough says about the models whose weights these are: where their math differs
// in form (not in numbers) from the trace's.
void note_model(Spec& spec, const QkvForm* form, const OutForm* out, const RopeChoice& rope) {
  if (!form || !out) return;
  if (out->weight == "o_proj.weight") {
    spec.notes.push_back(
        fmt::format("o_proj: a Llama-family layer, traced without rotary "
                    "position embeddings, as {} says",
                    rope.said()));
  } else if (out->weight == "output.dense.weight") {
    spec.notes.push_back(
        form->weights[0] == "self.query.weight"
            ? "out_proj is BERT's output.dense; BERT then adds the residual and applies "
              "output.LayerNorm, outside attention"
            : "out_proj is ViT's output.dense; ViT adds the residual in the layer, outside "
              "attention");
  } else if (form->weights[0] == "q_proj.weight" && out->weight == "out_proj.weight") {
    spec.notes.push_back(
        "Q is q_proj(x): BART, OPT, Whisper and fairseq multiply it by head_dim^-0.5 at once; "
        "the scale stage multiplies the scores instead, the same numbers: (s·Q)·Kᵀ = s·(Q·Kᵀ)");
  }
}

// add_bias_kv's bias_k and bias_v: D numbers each, or PyTorch's (1, 1, D) parameter as it is.
void read_bias_kv(const Weights& weights, Spec& spec) {
  const bool k = weights.has("bias_k"), v = weights.has("bias_v");
  if (!k && !v) return;
  if (k != v) {
    fail_value(weights.source.file, weights.path(k ? "bias_v" : "bias_k"),
               "missing: bias_k and bias_v come together (nn.MultiheadAttention's add_bias_kv)");
  }
  const Index model = spec.model_dim();
  const auto read = [&](const char* key) {
    const std::string path = weights.path(key);
    // (1, 1, D) and (1, D) are the same D numbers.
    const json* value = &weights.at(key);
    while (value->is_array() && value->size() == 1 && (*value)[0].is_array()) {
      value = &(*value)[0];
    }
    Vector bias = read_vector(weights.source.file, *value, path);
    if (bias.size() != model) {
      fail_value(weights.source.file, path,
                 fmt::format("expected {} numbers, one per column of K and V (or PyTorch's "
                             "shape (1, 1, {})), found {}",
                             model, model, bias.size()));
    }
    return bias;
  };
  spec.bias_k = read("bias_k");
  spec.bias_v = read("bias_v");
}

// ---- The layout the weights are shown in ----

// Weights whose modules fix their layout (all of GPT-2's, say) are shown in that layout; a
// "weight_layout" that then applies to none of them gets a note.
void settle_layout(const json& root, Spec& spec, const QkvForm* form, const OutForm* out) {
  std::vector<std::optional<WeightLayout>> layouts;
  if (form) layouts.push_back(form->layout);
  if (out) layouts.push_back(out->layout);
  const bool all_fixed =
      !layouts.empty() && std::all_of(layouts.begin(), layouts.end(), [&](const auto& layout) {
        return layout && *layout == *layouts.front();
      });
  if (!all_fixed || *layouts.front() == spec.weight_layout) return;
  if (root.contains("weight_layout")) {
    spec.notes.push_back(fmt::format(
        "weight_layout \"{}\" applies to none of these weights: {}'s module stores it {}",
        weight_layout_name(spec.weight_layout), form ? form->weights[0] : out->weight,
        *layouts.front() == WeightLayout::math ? "(in, out)" : "(out, in)"));
  }
  spec.weight_layout = *layouts.front();
}

// The weights object: the --weights file's layer, or the input's own "weights"; none when there
// is neither.
const json* find_weights(const Reading& reading, const json& root) {
  if (reading.weights.layer) {
    if (root.contains("weights")) {
      fail_value(reading.file, "weights",
                 fmt::format("given here and with --weights {} too", reading.weights.file),
                 "keep one: drop --weights, or the \"weights\" object of this file");
    }
    return reading.weights.layer;
  }
  if (!root.contains("weights")) return nullptr;
  const json& weights = root["weights"];
  if (!weights.is_object()) {
    fail_value(
        reading.file, "weights",
        fmt::format("expected an object of named weight matrices, found {}", describe(weights)));
  }
  return &weights;
}

}  // namespace

void read_weights(const Reading& reading, const json& root, Spec& spec) {
  const RopeChoice rope = read_rope(reading, root);
  const json* found = find_weights(reading, root);
  if (!found) return check_identity_widths(reading.file, spec);
  const Weights weights{*found, reading.weights, reading.file, root.contains("tokens")};
  const WeightsSource& source = reading.weights;
  // RoPE's buffer is no weight: refused before the unknown keys are.
  check_rotary(weights, nullptr, rope);
  // The top level of a weights file has no path of its own: its keys are the paths.
  check_keys(source.file, *found, source.key_prefix.empty() ? "" : source.object, weight_names());

  const QkvForm* form = qkv_form(weights);
  check_in_proj_bias(weights, form);
  const OutForm* out = out_form(weights);
  check_output_dense(weights, form, out);
  if (form) {
    const Storage storage = storage_of(spec, form->layout, form->module);
    if (form->packed) {
      read_packed(weights, spec, *form, storage);
    } else {
      read_separate(weights, spec, *form, storage);
    }
  }
  check_rotary(weights, out, rope);  // after Q/K/V: a layer with grouped K/V heads says so first
  // A message from here names the weights' file, though kv_input and key_input stand in the input
  // file: only a --weights layer with no Q/K/V weights of its own (its Q/K/V keys all belong to
  // deeper layers, with --weights-prefix "") gets here and can fail.
  check_identity_widths(source.file, spec);
  read_out_proj(weights, spec, out);
  read_bias_kv(weights, spec);
  settle_layout(root, spec, form, out);
  note_model(spec, form, out, rope);
}

}  // namespace attn_trace::loader
