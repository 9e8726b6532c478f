// The learner's file for `attn-trace check` → GivenTensors (given.hpp). Three forms, told apart by
// their first bytes and their top level:
//   .npz    numpy.hpp's numpy_arrays, each member NAME.npy the array NAME; attn-trace's own
//           (run --format npz) has its tensors as "STAGE.TENSOR" and its trace.json, whose head is
//           checked as a JSON trace's is
//   trace   a JSON object with "format": "attn-trace" (run --format json): every tensor of every
//           stage that has "data", named "STAGE.TENSOR"
//   JSON    any other object: each key an array, nested lists (read_nested) or a single number
// Leaves are numbers (NaN, Infinity and -Infinity as Python's json.dump writes them), the strings
// "inf", "-inf" and "nan" (as the trace writes them), or booleans, read as 1 (true) and 0 (false):
// a learner's mask, or a trace's boolean attn_mask.
#include "attn_trace/input/given.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "attn_trace/core/memory.hpp"
#include "attn_trace/core/text.hpp"
#include "attn_trace/input/load.hpp"
#include "input_error.hpp"
#include "json_document.hpp"
#include "json_values.hpp"
#include "numpy.hpp"

namespace attn_trace {
namespace {

using namespace loader;

// No tensor of a trace has more axes than weighted_values' (B, H, L, S, d).
constexpr std::size_t max_axes = 5;

// How to write the file, for messages about one that is not it.
constexpr const char* how_to_save =
    "save the tensors by name: np.savez(path, q=q, scores=scores, …), or json.dump({\"q\": "
    "q.tolist(), …}, f) (docs/check.md)";

// ---- one array ----

// For a string where a number belongs.
constexpr const char* not_text_hint =
    "numbers go without quotes; only \"inf\", \"-inf\" and \"nan\" are read as text";

// A leaf's value: a number, a boolean as 1 or 0, or the strings "inf", "-inf" and "nan" as the
// trace spells them (text.hpp's Spelling::json); nothing for anything else.
std::optional<double> leaf_value(const json& leaf) {
  if (leaf.is_number()) return leaf.get<double>();
  if (leaf.is_boolean()) return leaf.get<bool>() ? 1.0 : 0.0;
  if (!leaf.is_string()) return std::nullopt;
  const std::string& text = leaf.get_ref<const std::string&>();
  constexpr double inf = std::numeric_limits<double>::infinity();
  for (const double value : {inf, -inf, std::numeric_limits<double>::quiet_NaN()}) {
    if (non_finite_text(value, Spelling::json) == text) return value;
  }
  return std::nullopt;
}

// A leaf that is none of those, at `path`.
[[noreturn]] void fail_leaf(std::string_view file, const std::string& path, const json& leaf) {
  std::string hint;
  if (leaf.is_null()) {
    hint = "null is Python's None: write float(\"nan\") for a number that is missing";
  } else if (leaf.is_string()) {
    hint = not_text_hint;
  }
  fail_value(file, path,
             fmt::format("expected a number, or the string \"inf\", \"-inf\" or \"nan\", found {}",
                         describe(leaf)),
             hint);
}

// No more axes than a trace's tensors have.
void check_axes(std::string_view file, const std::string& path,
                const std::vector<std::size_t>& shape) {
  if (shape.size() <= max_axes) return;
  fail_value(file, path,
             fmt::format("expected at most {} axes, as many as weighted_values' (B, H, L, S, d), "
                         "found shape {}",
                         max_axes, shape_text(shape)),
             "squeeze the axes of length 1 (x.squeeze()), or save one tensor per name");
}

// The array `value` at `path`: a rectangular nested list (read_nested's checks and messages), or a
// single number, of shape ().
GivenTensor read_array(std::string_view file, const json& value, const std::string& path,
                       std::string name) {
  GivenTensor tensor{std::move(name), {}, {}};
  if (!value.is_array()) {
    if (const std::optional<double> number = leaf_value(value)) {
      tensor.values.push_back(*number);
      return tensor;
    }
    std::string hint;
    if (value.is_object()) {
      hint =
          "give each array under a name of its own, at the top level: {\"scores\": [[…]], "
          "\"weights\": [[…]]}";
    } else if (value.is_null()) {
      hint = "null is Python's None: was the tensor saved before it was computed?";
    } else if (value.is_string() && value.get_ref<const std::string&>().starts_with('[')) {
      hint = "the array was written as text: save the list itself (x.tolist()), not str(x)";
    } else {
      hint = not_text_hint;
    }
    fail_value(file, path,
               fmt::format("expected an array (nested lists of numbers) or a number, found {}",
                           describe(value)),
               hint);
  }
  const Nested nested = read_nested(file, value, path);
  check_axes(file, path, nested.shape);
  tensor.shape = nested.shape;
  tensor.values.reserve(nested.leaves.size());
  for (std::size_t i = 0; i < nested.leaves.size(); ++i) {
    const std::optional<double> number = leaf_value(*nested.leaves[i]);
    if (!number) fail_leaf(file, leaf_path(path, nested, i), *nested.leaves[i]);
    tensor.values.push_back(*number);
  }
  return tensor;
}

// Adds `tensor` to `given`, unless its name is taken (at `path`).
void add(GivenTensors& given, GivenTensor tensor, const std::string& path) {
  const auto same = [&](const GivenTensor& t) { return t.name == tensor.name; };
  if (std::any_of(given.tensors.begin(), given.tensors.end(), same)) {
    fail_value(given.file, path, fmt::format("a second tensor named \"{}\"", excerpt(tensor.name)),
               "give each tensor once");
  }
  given.tensors.push_back(std::move(tensor));
}

// ---- an attn-trace trace ----

// `key` of the object at `path` in a trace, which must be there and pass `is` (json's is_string,
// is_array, …), described as `expected` when it does not.
const json& trace_field(std::string_view file, const json& object, const std::string& path,
                        const char* key, bool (json::*is)() const noexcept,
                        std::string_view expected) {
  const std::string where = path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
  if (!object.contains(key)) {
    fail_value(file, where, fmt::format("missing: every trace has it ({})", expected),
               "the trace was edited or cut short: write it again with attn-trace run … "
               "--format json");
  }
  const json& value = object[key];
  if (!(value.*is)()) {
    fail_value(file, where, fmt::format("expected {}, found {}", expected, describe(value)),
               "the trace was edited or damaged: write it again with attn-trace run … "
               "--format json");
  }
  return value;
}

// A tensor's "shape" in a trace: a list of whole numbers.
std::vector<std::size_t> trace_shape(std::string_view file, const json& shape,
                                     const std::string& path) {
  std::vector<std::size_t> dims;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (!shape[i].is_number_unsigned()) {
      fail_value(file, element_path(path, i),
                 fmt::format("expected a whole number, found {}", describe(shape[i])));
    }
    dims.push_back(shape[i].get<std::size_t>());
  }
  return dims;
}

// The version and the options a trace was written with: only a whole trace of version 1 holds
// whole tensors of the numbers this reads. `format` is the trace's, json or npz, for the hints.
void check_trace_header(std::string_view file, const json& root, std::string_view format) {
  const json& version = trace_field(file, root, "", "version", &json::is_number, "a number, 1");
  if (version != 1) {
    fail_value(
        file, "version",
        fmt::format("expected version 1, the trace format this attn-trace reads, found {}",
                    describe(version)),
        fmt::format("write the trace again with this attn-trace: attn-trace run … --format {}",
                    format));
  }
  if (root.contains("focus")) {
    fail_value(file, "focus",
               "this trace was written with --focus, so its tensors are slices (one batch, head "
               "or query), not the whole tensors to compare",
               fmt::format("write it again without --focus: attn-trace run … --format {} -o "
                           "trace.{}",
                           format, format));
  }
}

// Every tensor of the trace `root` with numbers ("data"; an "omitted" one has none), named
// "STAGE.TENSOR", in the trace's order.
void read_trace(const json& root, GivenTensors& given) {
  const std::string_view file = given.file;
  check_trace_header(file, root, "json");
  const json& stages = trace_field(file, root, "", "stages", &json::is_array, "a list of stages");
  for (std::size_t s = 0; s < stages.size(); ++s) {
    const std::string stage_path = element_path("stages", s);
    const json& stage = stages[s];
    if (!stage.is_object()) {
      fail_value(file, stage_path, fmt::format("expected a stage, found {}", describe(stage)));
    }
    const json& id = trace_field(file, stage, stage_path, "id", &json::is_string, "a stage id");
    const json& tensors =
        trace_field(file, stage, stage_path, "tensors", &json::is_array, "a list of tensors");
    for (std::size_t t = 0; t < tensors.size(); ++t) {
      const std::string path = element_path(stage_path + ".tensors", t);
      const json& tensor = tensors[t];
      if (!tensor.is_object()) {
        fail_value(file, path, fmt::format("expected a tensor, found {}", describe(tensor)));
      }
      const json& name = trace_field(file, tensor, path, "name", &json::is_string, "a name");
      const json& shape =
          trace_field(file, tensor, path, "shape", &json::is_array, "a list of whole numbers");
      if (!tensor.contains("data") && tensor.contains("omitted")) continue;  // no numbers
      trace_field(file, tensor, path, "data", &json::is_array, "nested lists of numbers");
      GivenTensor read =
          read_array(file, tensor["data"], path + ".data",
                     fmt::format("{}.{}", id.get<std::string>(), name.get<std::string>()));
      const std::vector<std::size_t> dims = trace_shape(file, shape, path + ".shape");
      if (read.shape != dims) {
        fail_value(file, path + ".data",
                   fmt::format("expected the shape its \"shape\" says, {}, found {}",
                               shape_text(dims), shape_text(read.shape)),
                   "the trace was edited or damaged: write it again with attn-trace run … "
                   "--format json");
      }
      add(given, std::move(read), path);
    }
  }
}

// ---- the file ----

// Whether the document is an attn-trace trace; fails for another document of attn-trace's (the
// report of check itself), which holds no tensors.
bool is_trace(std::string_view file, const json& root) {
  if (!root.contains("format") || !root["format"].is_string()) return false;
  const std::string& format = root["format"].get_ref<const std::string&>();
  if (format == "attn-trace") return true;
  if (!format.starts_with("attn-trace")) return false;
  fail_value(file, "format",
             fmt::format("expected the tensors to check, or a trace (\"format\": \"attn-trace\"), "
                         "found a document of format \"{}\"",
                         loader::excerpt(format, 40)),
             "give a trace written by attn-trace run … --format json, or your own tensors");
}

// The tensors of the JSON text `text`: a trace's, or an object's of named arrays.
void read_json(std::string_view text, GivenTensors& given) {
  const std::string& file = given.file;
  // An empty file, before parse_document, whose message would ask for an input.
  const std::string_view body = text.starts_with("\xEF\xBB\xBF") ? text.substr(3) : text;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    fail_file(file,
              file == "<stdin>" ? "standard input was empty: it closed before any tensor arrived"
                                : fmt::format("the file is {}, expected a JSON object that maps "
                                              "names to arrays, or an .npz archive",
                                              body.empty() ? "empty" : "only whitespace"),
              how_to_save);
  }
  json root = parse_document(text, file, DocumentKind::arrays);
  if (!root.is_object()) {
    fail_value(file, "(top level)",
               fmt::format("expected an object that maps names to arrays, e.g. "
                           "{{\"attn_weights\": [[…]]}}, found {}",
                           describe(root)),
               root.is_array()
                   ? "name the array: {\"attn_weights\": [[…]]}; " + std::string(how_to_save)
                   : how_to_save);
  }
  if (is_trace(file, root)) {
    given.from_trace = true;
    read_trace(root, given);
  } else {
    for (const auto& item : root.items()) {
      const std::string& name = item.key();
      if (name.empty()) {
        fail_value(file, "(top level)", "expected a name for every array, found the name \"\"",
                   how_to_save);
      }
      add(given, read_array(file, item.value(), excerpt(name), name), excerpt(name));
    }
  }
  dismantle(root);
}

// The trace.json of attn-trace's NumPy export (the arrays are read already): a trace's head,
// checked as a JSON trace's is, so that a focused one is refused the same way.
void read_npz_trace(const std::string& text, GivenTensors& given) {
  const std::string& file = given.file;
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object() || !is_trace(file, root)) {
    fail_value(file, std::string(npz_trace_member),
               "expected the JSON document of attn-trace's NumPy export, a trace's head "
               "(\"format\": \"attn-trace\"), found other text",
               "write it again with attn-trace run … --format npz -o trace.npz, or name your "
               "own array otherwise");
  }
  check_trace_header(file, root, "npz");
  given.from_trace = true;
}

}  // namespace

GivenTensors load_given_tensors(const std::string& path, std::uint64_t memory_budget) {
  // As for an input: reading JSON takes up to json_memory_factor times its size, and an .npz
  // may unpack to as much.
  const std::uint64_t max_bytes = memory_budget / json_memory_factor;
  return read_given_tensors(read_input_file(path, max_bytes), path == "-" ? "<stdin>" : path,
                            max_bytes);
}

GivenTensors read_given_tensors(std::string_view bytes, const std::string& file,
                                std::uint64_t max_unpacked) {
  GivenTensors given{file, false, {}};
  if (is_numpy(bytes)) {
    NpzArrays npz = numpy_arrays(bytes, given.file, max_unpacked);
    if (npz.trace_json) read_npz_trace(*npz.trace_json, given);
    given.tensors = std::move(npz.arrays);
    for (const GivenTensor& tensor : given.tensors) {
      check_axes(given.file, excerpt(tensor.name), tensor.shape);
    }
  } else {
    read_json(bytes, given);
  }
  if (given.tensors.empty()) {
    fail_file(
        given.file,
        given.from_trace ? "the trace holds no tensor with numbers (were its stages left out "
                           "with --stages?)"
                         : "holds no arrays: nothing to check",
        given.from_trace ? "write it again with attn-trace run … --format json" : how_to_save);
  }
  return given;
}

}  // namespace attn_trace
