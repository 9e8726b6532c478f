// The JSON export (render_json, json.hpp): the trace as one document, written field by field
// through the streaming writer of json_writer.hpp. The format is docs/trace-format.md.
#include "attn_trace/render/json.hpp"

#include <functional>
#include <future>
#include <numeric>
#include <optional>
#include <string_view>
#include <utility>

#include "json_writer.hpp"

namespace attn_trace {
namespace {

// A block of at least this many numbers is formatted by two threads, half the rows each.
constexpr Index parallel_numbers = 20'000;

using json_export::append_rows;
using json_export::JsonWriter;

void string_list(JsonWriter& w, const std::vector<std::string>& items) {
  w.raw("[");
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) w.raw(", ");
    w.string(items[i]);
  }
  w.raw("]");
}

// Unbatched: one list of labels; batched: one list per batch.
void token_lists(JsonWriter& w, const Trace& trace,
                 const std::vector<std::vector<std::string>>& tokens) {
  if (!trace.config.batch) {
    string_list(w, tokens.front());
    return;
  }
  w.raw("[");
  for (std::size_t b = 0; b < tokens.size(); ++b) {
    if (b > 0) w.raw(", ");
    string_list(w, tokens[b]);
  }
  w.raw("]");
}

// A stored tensor of any rank, booleans as true/false: the masks as given, which are small.
void plain_tensor_data(JsonWriter& w, const Tensor& t, int depth) {
  const auto value = [&](std::size_t flat) {
    if (t.boolean) {
      w.raw(t.data[flat] != 0 ? "true" : "false");
    } else {
      w.number(t.data[flat]);
    }
  };
  // Innermost lists on one line; the lists around them one element per line.
  const auto nest = [&](const auto& self, std::size_t axis, std::size_t offset, int at) -> void {
    w.raw("[");
    const std::size_t stride = std::accumulate(t.shape.begin() + static_cast<long>(axis) + 1,
                                               t.shape.end(), std::size_t{1}, std::multiplies<>());
    for (std::size_t i = 0; i < t.shape[axis]; ++i) {
      if (axis + 1 == t.rank()) {
        if (i > 0) w.raw(", ");
        value(offset + i);
        continue;
      }
      w.raw(i == 0 ? "\n" : ",\n");
      w.indent(at + 1);
      self(self, axis + 1, offset + i * stride, at + 1);
    }
    if (axis + 1 < t.rank()) {
      w.raw("\n");
      w.indent(at);
    }
    w.raw("]");
  };
  nest(nest, 0, 0, depth);
}

// The numbers of `t` as nested lists, row-major; each innermost row on one line. Generated
// tensors are computed one block at a time, here, while being written.
void tensor_data(JsonWriter& w, const Tensor& t, int depth) {
  if (t.boolean || t.rank() < 2) return plain_tensor_data(w, t, depth);
  const std::size_t leading = t.rank() - 2;
  const auto write_block = [&](std::size_t block, int at) {
    // A stored block is read in place; a generated one is computed now.
    Matrix generated;
    if (t.generated()) generated = t.generate(block);
    const Eigen::Map<const Matrix> m =
        t.generated()
            ? Eigen::Map<const Matrix>(generated.data(), generated.rows(), generated.cols())
            : t.block(block);
    w.raw("[");
    if (m.size() >= parallel_numbers) {
      // Formatting the numbers is most of the export's time: the second half of the rows goes
      // to another thread, into its own buffer, appended after the first half.
      const Index half = m.rows() / 2;
      // About 24 characters a number: reserved up front, so the buffers never grow by copying.
      const std::size_t bytes = static_cast<std::size_t>(m.size()) * 12 + 4096;
      w.reserve(bytes);
      auto second = std::async(std::launch::async, [&w, &m, half, at, bytes] {
        fmt::memory_buffer rows = w.spare();
        rows.reserve(bytes);
        append_rows(rows, m, half, m.rows(), at + 1);
        return rows;
      });
      append_rows(w.buffer(), m, 0, half, at + 1);
      w.append_buffer(second.get());
    } else {
      append_rows(w.buffer(), m, 0, m.rows(), at + 1);
    }
    w.flush_if_full();
    w.raw("\n");
    w.indent(at);
    w.raw("]");
  };
  // Nested lists over the leading axes, down to the blocks.
  const auto nest = [&](const auto& self, std::size_t axis, std::size_t block, int at) -> void {
    if (axis == leading) {
      write_block(block, at);
      return;
    }
    w.raw("[");
    for (std::size_t i = 0; i < t.shape[axis]; ++i) {
      w.raw(i == 0 ? "\n" : ",\n");
      w.indent(at + 1);
      self(self, axis + 1, block * t.shape[axis] + i, at + 1);
    }
    w.raw("\n");
    w.indent(at);
    w.raw("]");
  };
  nest(nest, 0, 0, depth);
}

void config(JsonWriter& w, const TraceConfig& c) {
  w.raw("{");
  w.key("batch", 2, true);
  c.batch ? w.integer(*c.batch) : w.raw("null");
  const std::pair<std::string_view, Index> sizes[] = {
      {"q_len", c.q_len},        {"kv_len", c.kv_len},       {"embed_dim", c.embed_dim},
      {"proj_dim", c.model_dim}, {"num_heads", c.num_heads}, {"head_dim", c.head_dim}};
  for (const auto& [name, value] : sizes) {
    w.key(name, 2);
    w.integer(value);
  }
  w.key("scale", 2);
  w.number(c.scale);
  w.key("scale_rule", 2);
  w.string(scale_rule_name(c.scale_rule));
  w.key("weight_layout", 2);
  w.string(weight_layout_name(c.weight_layout));
  w.key("projections", 2);
  w.string(c.learned_projections ? "learned" : "identity");
  w.key("out_proj", 2);
  w.raw(c.out_proj ? "true" : "false");
  w.key("key_source", 2);
  w.string(key_source_name(c.key_source));
  w.key("key_dim", 2);
  w.integer(c.key_dim);
  w.key("value_dim", 2);
  w.integer(c.value_dim);
  std::vector<std::string> extra;
  if (c.bias_kv) extra.emplace_back("bias_kv");
  if (c.zero_attn) extra.emplace_back("zero_attn");
  w.key("extra_keys", 2);
  string_list(w, extra);
  w.key("masks", 2);
  string_list(w, c.masks);
  w.raw("\n  }");
}

// The slice a focused trace kept: {"batch": 0, "head": null, "query": 2}.
void focus(JsonWriter& w, const TraceFocus& f) {
  w.raw("{");
  bool first = true;
  for (const auto& [key, value] :
       {std::pair<std::string_view, std::optional<std::size_t>>{"batch", f.batch},
        {"head", f.head},
        {"query", f.query}}) {
    w.raw(first ? "\"" : ", \"");
    first = false;
    w.raw(key);
    w.raw("\": ");
    if (value) {
      w.integer(static_cast<long long>(*value));
    } else {
      w.raw("null");
    }
  }
  w.raw("}");
}

// Every stage this trace does not have, and why: one object per line.
void skipped(JsonWriter& w, const std::vector<SkippedStage>& stages) {
  w.raw("[");
  for (std::size_t i = 0; i < stages.size(); ++i) {
    w.raw(i == 0 ? "\n    {" : ",\n    {");
    w.raw("\"id\": ");
    w.string(stage_name(stages[i].id));
    w.raw(", \"reason\": ");
    w.string(stages[i].reason);
    w.raw("}");
  }
  w.raw(stages.empty() ? "]" : "\n  ]");
}

// How the traced numbers compare with what a source printed: one object per published tensor.
void published(JsonWriter& w, const std::vector<PublishedCheck>& checks) {
  w.raw("[");
  for (std::size_t n = 0; n < checks.size(); ++n) {
    const PublishedCheck& check = checks[n];
    const PublishedTensor& p = check.published;
    w.raw(n == 0 ? "\n    {" : ",\n    {");
    w.raw("\"stage\": ");
    w.string(stage_name(p.stage));
    w.raw(", \"tensor\": ");
    w.string(p.tensor);
    w.raw(", \"decimals\": ");
    w.integer(p.decimals);
    w.raw(", \"matches\": ");
    w.raw(check.mismatches.empty() ? "true" : "false");
    w.raw(", \"mismatches\": [");
    for (std::size_t i = 0; i < check.mismatches.size(); ++i) {
      const PublishedMismatch& m = check.mismatches[i];
      w.raw(i == 0 ? "{\"index\": [" : ", {\"index\": [");
      for (std::size_t k = 0; k < m.index.size(); ++k) {
        if (k > 0) w.raw(", ");
        w.integer(static_cast<long long>(m.index[k]));
      }
      w.raw("], \"published\": ");
      w.number(m.published);
      w.raw(", \"traced\": ");
      w.number(m.traced);
      w.raw("}");
    }
    w.raw("]");
    if (!p.note.empty()) {
      w.raw(", \"note\": ");
      w.string(p.note);
    }
    w.raw("}");
  }
  w.raw(checks.empty() ? "]" : "\n  ]");
}

void stage(JsonWriter& w, const Stage& s, const JsonOptions& options) {
  w.raw("{");
  w.key("id", 3, true);
  w.string(stage_name(s.id));
  w.key("title", 3);
  w.string(s.title);
  w.key("formula", 3);
  w.string(s.formula);
  w.key("shapes", 3);
  w.string(s.shapes);
  if (!s.note.empty()) {
    w.key("note", 3);
    w.string(s.note);
  }
  w.key("tensors", 3);
  w.raw("[");
  for (std::size_t n = 0; n < s.tensors.size(); ++n) {
    const Tensor& t = s.tensors[n];
    w.raw(n == 0 ? "\n" : ",\n");
    w.indent(4);
    w.raw("{");
    w.key("name", 5, true);
    w.string(t.name);
    w.key("axes", 5);
    std::vector<std::string> axes;
    for (Axis a : t.axes) axes.emplace_back(axis_name(a));
    string_list(w, axes);
    w.key("shape", 5);
    w.raw("[");
    for (std::size_t i = 0; i < t.shape.size(); ++i) {
      if (i > 0) w.raw(", ");
      w.integer(static_cast<long long>(t.shape[i]));
    }
    w.raw("]");
    if (const auto why = left_out(s, t, options.weighted_limit)) {
      w.key("omitted", 5);
      w.string(*why);
    } else {
      w.key("data", 5);
      tensor_data(w, t, 5);
    }
    w.raw("\n");
    w.indent(4);
    w.raw("}");
  }
  w.raw("\n      ]\n    }");
}

}  // namespace

void render_json(const Trace& trace, const JsonOptions& options, std::ostream& out) {
  JsonWriter w(out);
  w.raw("{");
  w.key("format", 1, true);
  w.string("attn-trace");
  w.key("version", 1);
  w.integer(trace_format_version);
  for (const auto& [key, value] :
       {std::pair<std::string_view, const std::string&>{"name", trace.name},
        {"description", trace.description},
        {"source", trace.source}}) {
    if (value.empty()) continue;
    w.key(key, 1);
    w.string(value);
  }
  w.key("config", 1);
  config(w, trace.config);
  if (trace.focus) {  // run --focus: the tensors hold this slice only, as the whole trace counts
    w.key("focus", 1);
    focus(w, *trace.focus);
  }
  w.key("tokens", 1);
  token_lists(w, trace, trace.tokens);
  w.key("kv_tokens", 1);
  token_lists(w, trace, trace.kv_tokens);
  w.key("notes", 1);
  string_list(w, trace.notes);
  w.key("warnings", 1);
  string_list(w, trace.warnings);
  w.key("skipped", 1);
  skipped(w, trace.skipped);
  w.key("published", 1);
  published(w, trace.published);
  w.key("stages", 1);
  w.raw("[");
  bool first = true;
  for (const Stage& s : trace.stages) {
    if (!options.stages.shows(s.id)) continue;
    w.raw(first ? "\n    " : ",\n    ");
    first = false;
    stage(w, s, options);
    w.flush_if_full();
  }
  w.raw(first ? "]\n}\n" : "\n  ]\n}\n");
  w.finish();
}

}  // namespace attn_trace
