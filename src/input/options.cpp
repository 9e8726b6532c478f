// The options of an input (load_parts.hpp): how the weights are laid out ("weight_layout"), the
// head count ("num_heads" or --heads), the scale of the scores, add_zero_attn, and what a source
// published for some stages ("published"), to compare with the trace.
#include <cmath>

#include <fmt/format.h>

#include "attn_trace/core/stage_id.hpp"
#include "attn_trace/core/suggest.hpp"
#include "input_error.hpp"
#include "json_values.hpp"
#include "load_parts.hpp"

namespace attn_trace::loader {
namespace {

// ---- num_heads ----

// --heads N, which replaces the input's num_heads (a note says so when they differ).
void heads_from_flag(const Reading& reading, const json& root, Spec& spec, Index model) {
  const Index heads = *reading.heads_flag;
  if (heads < 1 || heads > model) {
    fail_value(
        reading.file, "--heads",
        fmt::format("expected a whole number from 1 to {} (the width of Q, K and V), found {}",
                    model, heads),
        fmt::format("head counts that divide {}: {}", model, fmt::join(head_counts(model), ", ")));
  }
  spec.num_heads = heads;
  if (root.contains("num_heads") && root["num_heads"] != heads) {
    const json& given = root["num_heads"];
    spec.notes.push_back(
        fmt::format("{} heads, from --heads (the file says num_heads {})", spec.num_heads,
                    excerpt(given.is_number() ? number_text(given) : given.dump())));
  }
}

// The input's "num_heads": a whole number from 1 to the width of Q, K and V.
void heads_from_file(const Reading& reading, const json& value, Spec& spec, Index model) {
  // 2 and 2.0 are the same count; 1.5, 0 and -1 are not counts.
  const double heads = value.is_number() ? value.get<double>() : 0;
  if (!value.is_number() || heads < 1 || heads != std::floor(heads)) {
    fail_value(reading.file, "num_heads",
               fmt::format("expected a whole number ≥ 1, found {}", describe(value)));
  }
  if (heads > static_cast<double>(model)) {
    fail_value(reading.file, "num_heads",
               fmt::format("expected at most {} (the width of Q, K and V), found {}", model,
                           number_text(value)));
  }
  spec.num_heads = static_cast<Index>(heads);
}

// ---- published ----

// One published tensor at `path`: {"values": [...], "decimals": N, "note": "..."}.
PublishedTensor read_published_tensor(std::string_view file, const json& entry,
                                      const std::string& path, StageId stage,
                                      const std::string& tensor) {
  if (!entry.is_object()) {
    fail_value(
        file, path,
        fmt::format("expected {{\"values\": [...], \"decimals\": N}}, found {}", describe(entry)));
  }
  constexpr std::string_view entry_keys[] = {"values", "decimals", "note"};
  check_keys(file, entry, path, entry_keys);
  if (!entry.contains("values")) {
    fail_value(file, path + ".values", "missing: the numbers as the source printed them");
  }
  PublishedTensor p;
  p.stage = stage;
  p.tensor = tensor;
  const std::string values_path = path + ".values";
  const Nested n = read_nested(file, entry["values"], values_path);
  p.shape = n.shape;
  for (std::size_t i = 0; i < n.leaves.size(); ++i) {
    p.values.push_back(read_leaf_number(file, n, values_path, i));
  }
  if (entry.contains("decimals")) {
    const json& decimals = entry["decimals"];
    if (!decimals.is_number_integer() || decimals.get<int>() < 0 || decimals.get<int>() > 15) {
      fail_value(file, path + ".decimals",
                 fmt::format("expected a whole number from 0 to 15 (the decimals the source "
                             "printed), found {}",
                             describe(decimals)));
    }
    p.decimals = decimals.get<int>();
  }
  p.note = optional_string(file, entry, "note", path);
  return p;
}

}  // namespace

void read_layout(const Reading& reading, const json& root, Spec& spec) {
  if (!root.contains("weight_layout")) return;
  const json& value = root["weight_layout"];
  if (value == "torch") {
    spec.weight_layout = WeightLayout::torch;
  } else if (value == "math") {
    spec.weight_layout = WeightLayout::math;
  } else {
    fail_value(reading.file, "weight_layout",
               fmt::format("expected \"torch\" or \"math\", found {}", describe(value)),
               "\"torch\": W is (out, in) and y = x·Wᵀ + b, as nn.Linear stores it; "
               "\"math\": W is (in, out) and y = x·W + b");
  }
}

void read_num_heads(const Reading& reading, const json& root, Spec& spec) {
  const Index model = spec.model_dim();
  if (reading.heads_flag) {
    heads_from_flag(reading, root, spec, model);
  } else if (root.contains("num_heads")) {
    heads_from_file(reading, root["num_heads"], spec, model);
  } else if (reading.weights.layer) {
    // A state_dict holds the weights but not the head count (nn.MultiheadAttention keeps it as
    // an attribute): one head would be a guess, and a wrong guess changes every number.
    fail_value(reading.file, "num_heads",
               fmt::format("missing: the weights come from {}, and a state_dict does not record "
                           "the number of heads",
                           reading.weights.file),
               fmt::format("give it with --heads N, or as \"num_heads\": N in {}; N divides the "
                           "width of Q, K and V ({}): {}",
                           reading.file, model, fmt::join(head_counts(model), ", ")));
  }
  if (model % spec.num_heads != 0) {
    // Messages name whichever gave the count: --heads replaces the file's num_heads.
    fail_value(reading.file, reading.heads_flag ? "--heads" : "num_heads",
               fmt::format("{} does not divide the width of Q, K and V ({}), so the heads cannot "
                           "be equal slices",
                           spec.num_heads, model),
               fmt::format("head counts that would: {}", fmt::join(head_counts(model), ", ")));
  }
}

RopeChoice read_rope(const Reading& reading, const json& root) {
  RopeChoice rope;
  std::string value;
  if (reading.rope_flag) {
    value = *reading.rope_flag;
  } else if (root.contains("rope")) {
    rope.where = "rope";
    const json& given = root["rope"];
    if (!given.is_string()) {
      fail_value(reading.file, "rope", fmt::format("expected \"none\", found {}", describe(given)),
                 "\"rope\": \"none\" says the layer has no rotary position embeddings");
    }
    value = given.get<std::string>();
  } else {
    return rope;
  }
  if (value == "none") {
    rope.none = true;
    return rope;
  }
  const bool later = value == "rotate_half" || value == "interleaved";
  fail_value(reading.file, rope.where,
             later ? fmt::format("rotary position embeddings (\"{}\") are not supported yet", value)
                   : fmt::format("expected \"none\", found \"{}\"", excerpt(value)),
             later ? "attn-trace traces attention without rotary embeddings only; \"none\" says "
                     "a layer has none"
                   : "\"none\" says the layer has no rotary position embeddings; rotary ones "
                     "(\"rotate_half\", \"interleaved\") are not supported yet");
}

void read_scale(const Reading& reading, const json& root, Spec& spec) {
  if (!root.contains("scale")) return;
  const json& value = root["scale"];
  const char* expected = "expected \"head_dim\", \"embed_dim\", \"none\" or a positive number";
  if (value.is_number()) {
    const double s = read_number(reading.file, value, "scale");
    if (!(s > 0)) {
      fail_value(reading.file, "scale", fmt::format("{}, found {}", expected, describe(value)));
    }
    if (std::isinf(s)) {
      fail_value(reading.file, "scale", "expected a finite multiplier, found Infinity",
                 "every score times Infinity is ±Infinity or nan, and so is every weight");
    }
    spec.scale_rule = ScaleRule::custom;
    spec.custom_scale = s;
    if (s > 1) {
      spec.notes.push_back(fmt::format(
          "scale {} multiplies the scores; to divide them by {} instead, write \"scale\": {}",
          value.dump(), value.dump(), fmt::format("{:g}", 1.0 / s)));
    }
  } else if (value == "head_dim") {
    spec.scale_rule = ScaleRule::head_dim;
  } else if (value == "embed_dim") {
    spec.scale_rule = ScaleRule::embed_dim;
  } else if (value == "none") {
    spec.scale_rule = ScaleRule::none;
  } else {
    fail_value(reading.file, "scale", fmt::format("{}, found {}", expected, describe(value)),
               "\"head_dim\" multiplies the scores by 1/√d, as PyTorch does; a number is the "
               "multiplier itself");
  }
}

void read_add_zero_attn(const Reading& reading, const json& root, Spec& spec) {
  if (!root.contains("add_zero_attn")) return;
  const json& value = root["add_zero_attn"];
  if (!value.is_boolean()) {
    fail_value(reading.file, "add_zero_attn",
               fmt::format("expected true or false, found {}", describe(value)));
  }
  spec.add_zero_attn = value.get<bool>();
}

// "published": {STAGE: {TENSOR: {"values": [...], "decimals": N, "note": "..."}}}. Whether the
// stage has that tensor, and its shape, is checked against the trace (check_published), which
// alone knows them.
void read_published(const Reading& reading, const json& root, Spec& spec) {
  if (!root.contains("published")) return;
  const std::string& file = reading.file;
  const json& published = root["published"];
  const char* form =
      "an object: stage id → tensor name → {\"values\": [...], \"decimals\": N, \"note\": "
      "\"...\"}";
  if (!published.is_object()) {
    fail_value(file, "published", fmt::format("expected {}, found {}", form, describe(published)));
  }
  const auto ids = stage_names();
  for (const auto& item : published.items()) {
    const std::string& stage = item.key();
    const json& tensors = item.value();
    const std::string stage_path = "published." + excerpt(stage);
    const std::optional<StageId> id = stage_named(stage);
    if (!id) {
      const auto suggestion = nearest(stage, ids);
      fail_value(file, stage_path,
                 fmt::format("unknown stage \"{}\"{}", excerpt(stage),
                             suggestion ? fmt::format("; did you mean \"{}\"?", *suggestion) : ""),
                 fmt::format("stages are: {}", fmt::join(ids, ", ")));
    }
    if (!tensors.is_object()) {
      fail_value(file, stage_path, fmt::format("expected {}, found {}", form, describe(tensors)));
    }
    for (const auto& entry : tensors.items()) {
      const std::string path = stage_path + "." + excerpt(entry.key());
      spec.published.push_back(read_published_tensor(file, entry.value(), path, *id, entry.key()));
    }
  }
}

}  // namespace attn_trace::loader
