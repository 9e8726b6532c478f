// The inputs and their labels (load_parts.hpp): X ("input"), cross-attention's sources of K and V
// ("kv_input", or "key_input" and "value_input"), and the token labels of the queries and the keys
// ("tokens", "kv_tokens").
#include <algorithm>

#include <fmt/format.h>

#include "attn_trace/core/text.hpp"
#include "input_error.hpp"
#include "json_values.hpp"
#include "load_parts.hpp"

namespace attn_trace::loader {
namespace {

// Whether `value` looks like a batch of matrices (B, L, E) rather than one matrix (L, E): its
// first element's first element is a list.
bool looks_batched(const json& value) {
  return value.is_array() && !value.empty() && value[0].is_array() && !value[0].empty() &&
         value[0][0].is_array();
}

// A matrix of rows (L, width), or B of them when `batched`, all of the same shape.
std::vector<Matrix> read_rows(std::string_view file, const json& value, const std::string& path,
                              bool batched) {
  if (!batched) return {read_matrix(file, value, path)};
  if (!value.is_array() || value.empty()) {
    fail_value(file, path,
               fmt::format("expected a batch of matrices (B, L, E), found {}", describe(value)));
  }
  std::vector<Matrix> rows;
  for (std::size_t b = 0; b < value.size(); ++b) {
    const std::string at = element_path(path, b);
    Matrix x = read_matrix(file, value[b], at);
    if (b > 0 && (x.rows() != rows[0].rows() || x.cols() != rows[0].cols())) {
      fail_value(file, at,
                 fmt::format("expected shape {} like {}[0], found {}",
                             shape_text({rows[0].rows(), rows[0].cols()}), path,
                             shape_text({x.rows(), x.cols()})),
                 "every batch must have the same number of tokens and the same width");
    }
    rows.push_back(std::move(x));
  }
  return rows;
}

// The matrices of `key`, batched exactly when the input is, one per batch of it.
std::vector<Matrix> read_key_input(std::string_view file, const json& root, const char* key,
                                   const Spec& spec) {
  const json& value = root[key];
  const bool batched = looks_batched(value);
  if (batched != spec.batched) {
    fail_value(
        file, key,
        spec.batched
            ? fmt::format("expected a batch of {} matrices (B, S, width) like input, found {}",
                          spec.batch_size(), "a single matrix")
            : "expected a matrix (S, width) like input, found a batch of matrices",
        "the keys and values are batched exactly when the queries are");
  }
  std::vector<Matrix> rows = read_rows(file, value, key, batched);
  if (rows.size() != spec.inputs.size()) {
    fail_value(
        file, key,
        fmt::format("expected {} batches like input, found {}", spec.inputs.size(), rows.size()));
  }
  return rows;
}

// What a count of labels that fits another axis of the input says: the input is (L, B, E), or
// transposed. Empty when it says nothing, and for one batch's list of several (tokens[1]): the
// others may be right.
std::string token_count_hint(const Spec& spec, std::size_t count, const char* rows_of,
                             bool per_batch) {
  const auto n = static_cast<Index>(count);
  if (per_batch || std::string_view(rows_of) != "input" || n == spec.q_len()) return "";
  if (spec.batched && n == spec.batch_size()) {
    return fmt::format("as many labels as input has batches (B = {}): {}", n, batch_first_hint);
  }
  if (n == spec.embed_dim()) {
    return fmt::format(
        "as many labels as input has columns (E = {}): if input is transposed, "
        "{}, transpose it so that each row is one token: {}",
        n, spec.batched ? "(B, E, L)" : "(E, L)", spec.batched ? "x.transpose(1, 2)" : "x.T");
  }
  return "";
}

// One list of `length` labels, one per row of `rows_of`.
std::vector<std::string> read_token_list(std::string_view file, const json& value,
                                         const std::string& path, Index length, const Spec& spec,
                                         const char* rows_of) {
  if (!value.is_array()) {
    fail_value(file, path,
               fmt::format("expected a list of {}, found {}",
                           plural(length, "token label", "token labels"), describe(value)));
  }
  if (static_cast<Index>(value.size()) != length) {
    fail_value(file, path,
               fmt::format("expected {}, one per row of {}, found {}",
                           plural(length, "token label", "token labels"), rows_of, value.size()),
               token_count_hint(spec, value.size(), rows_of, path.ends_with(']')));
  }
  std::vector<std::string> tokens;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string()) {
      fail_value(file, element_path(path, i),
                 fmt::format("expected a token label (a string), found {}", describe(value[i])));
    }
    tokens.push_back(value[i].get<std::string>());
  }
  return tokens;
}

// `key`'s labels: one list of `length`, or one per batch; numbers 0 … length−1 when absent.
std::vector<std::vector<std::string>> read_token_lists(std::string_view file, const json& root,
                                                       const char* key, Index length,
                                                       const Spec& spec, const char* rows_of) {
  if (!root.contains(key)) {
    std::vector<std::string> numbers;
    for (Index i = 0; i < length; ++i) numbers.push_back(std::to_string(i));
    return std::vector<std::vector<std::string>>(spec.inputs.size(), numbers);
  }
  const json& tokens = root[key];
  const bool per_batch =
      tokens.is_array() &&
      std::any_of(tokens.begin(), tokens.end(), [](const json& t) { return t.is_array(); });
  if (!per_batch) {
    return std::vector<std::vector<std::string>>(
        spec.inputs.size(), read_token_list(file, tokens, key, length, spec, rows_of));
  }
  if (!spec.batched) {
    fail_value(file, key, "expected a list of token labels, found a list of lists",
               "one list per batch is only for batched input (B, L, E)");
  }
  if (tokens.size() != spec.inputs.size()) {
    fail_value(file, key,
               fmt::format("expected one list of labels per batch ({} lists), found {}",
                           spec.inputs.size(), tokens.size()));
  }
  std::vector<std::vector<std::string>> lists;
  for (std::size_t b = 0; b < tokens.size(); ++b) {
    lists.push_back(read_token_list(file, tokens[b], element_path(key, b), length, spec, rows_of));
  }
  return lists;
}

// --tokens: one label per row of the queries, the same for every batch, instead of the input's
// "tokens" (a note says so when they differ).
std::vector<std::vector<std::string>> tokens_from_flag(const Reading& reading, const json& root,
                                                       Spec& spec) {
  const std::vector<std::string>& labels = *reading.tokens_flag;
  const Index length = spec.q_len();
  if (static_cast<Index>(labels.size()) != length) {
    fail_value(reading.file, "--tokens",
               fmt::format("expected {}, one per row of input, found {}",
                           plural(length, "token label", "token labels"), labels.size()),
               "give one label per token, separated by spaces: --tokens \"the cat sat\"");
  }
  if (root.contains("tokens") && root["tokens"] != json(labels)) {
    spec.notes.push_back(fmt::format("token labels from --tokens (the file's \"tokens\" are {})",
                                     excerpt(root["tokens"].dump())));
  }
  return std::vector<std::vector<std::string>>(spec.inputs.size(), labels);
}

}  // namespace

void read_input(const Reading& reading, const json& root, Spec& spec) {
  if (!root.contains("input")) {
    fail_value(reading.file, "input",
               "missing: the input matrix X is required, (L, E) or batched (B, L, E)");
  }
  const json& input = root["input"];
  spec.batched = looks_batched(input);
  spec.inputs = read_rows(reading.file, input, "input", spec.batched);
  // Traced as asked, but most likely meant otherwise: a sequence of B tokens in one batch.
  if (spec.batched && spec.batch_size() > 1 && spec.q_len() == 1) {
    spec.warnings.push_back(fmt::format("input: (B, L, E) = {}, {} batches of one token each; {}",
                                        shape_text({spec.batch_size(), 1, spec.embed_dim()}),
                                        spec.batch_size(), batch_first_hint));
  }
}

void read_key_inputs(const Reading& reading, const json& root, Spec& spec) {
  const std::string& file = reading.file;
  const bool kv = root.contains("kv_input"), k = root.contains("key_input"),
             v = root.contains("value_input");
  if (kv && (k || v)) {
    fail_value(file, k ? "key_input" : "value_input", "given with kv_input",
               "kv_input is the source of both K and V; key_input and value_input give one each: "
               "use one form");
  }
  if (k != v) {
    fail_value(file, k ? "value_input" : "key_input",
               "missing: key_input and value_input come together",
               "for one source of both K and V, write kv_input");
  }
  if (!kv && !k) return;  // self-attention: K and V come from the input
  if (kv) {
    spec.key_source = KeySource::kv_input;
    spec.key_inputs = read_key_input(file, root, "kv_input", spec);
    spec.value_inputs = spec.key_inputs;
    return;
  }
  spec.key_source = KeySource::separate;
  spec.key_inputs = read_key_input(file, root, "key_input", spec);
  spec.value_inputs = read_key_input(file, root, "value_input", spec);
  const Index keys = spec.key_inputs.front().rows(), values = spec.value_inputs.front().rows();
  if (values != keys) {
    fail_value(file, "value_input",
               fmt::format("expected {}, one per row of key_input, found {}",
                           plural(keys, "row", "rows"), values),
               "key j and value j belong to the same token");
  }
}

void read_tokens(const Reading& reading, const json& root, Spec& spec) {
  spec.tokens = reading.tokens_flag
                    ? tokens_from_flag(reading, root, spec)
                    : read_token_lists(reading.file, root, "tokens", spec.q_len(), spec, "input");
  if (spec.key_source == KeySource::self) {
    if (root.contains("kv_tokens")) {
      fail_value(reading.file, "kv_tokens", "given without kv_input or key_input/value_input",
                 "in self-attention the keys are the query tokens, labelled by \"tokens\"");
    }
    spec.kv_tokens = spec.tokens;
    return;
  }
  spec.kv_tokens =
      read_token_lists(reading.file, root, "kv_tokens", spec.kv_len(), spec,
                       spec.key_source == KeySource::kv_input ? "kv_input" : "key_input");
}

}  // namespace attn_trace::loader
