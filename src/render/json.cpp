// The JSON export, streamed: numbers go into a buffer that is handed to the stream every few
// megabytes, so memory grows with the largest 2-D block, not with the document.
// See docs/trace-format.md.
#include "attn_trace/render/json.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <iterator>
#include <mutex>
#include <numeric>
#include <optional>
#include <system_error>
#include <thread>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "attn_trace/core/text.hpp"

namespace attn_trace {
namespace {

constexpr std::size_t flush_bytes = 1 << 22;
// A block of at least this many numbers is formatted by two threads, half the rows each.
constexpr Index parallel_numbers = 20'000;

// The shortest text that reads back as the same double; JSON has no inf or nan, so those are the
// strings "inf", "-inf" and "nan". The digits come from fmt's Dragonbox (the shortest decimal that
// rounds to the double); they are laid out here, as JavaScript prints numbers, because formatting
// millions of numbers is most of an export's time and fmt's general path costs twice as much.
// Writes `value` at `p` (at most max_number_chars characters) and returns the end.
constexpr std::size_t max_number_chars = 32;
char* write_number(char* p, double value) {
  const auto put = [&p](std::string_view text) {
    std::memcpy(p, text.data(), text.size());
    p += text.size();
  };
  if (!std::isfinite(value)) [[unlikely]] {  // one test keeps the common path short
    *p++ = '"';
    put(*non_finite_text(value, Spelling::json));
    *p++ = '"';
    return p;
  }
  if (value == 0) {  // "-0" would read back as the integer 0: keep the sign with "-0.0"
    put(std::signbit(value) ? "-0.0" : "0");
    return p;
  }
  if (value < 0) *p++ = '-';
  const auto decimal = fmt::detail::dragonbox::to_decimal(std::abs(value));
  char digits[24];
  const int count =
      static_cast<int>(fmt::format_to(digits, FMT_COMPILE("{}"), decimal.significand) - digits);
  const std::string_view d(digits, static_cast<std::size_t>(count));
  const int point = count + decimal.exponent;  // digits before the decimal point
  if (decimal.exponent >= 0 && point <= 21) {  // 1200
    put(d);
    std::memset(p, '0', static_cast<std::size_t>(decimal.exponent));
    p += decimal.exponent;
  } else if (point > 0 && point <= 21) {  // 12.34
    put(d.substr(0, static_cast<std::size_t>(point)));
    *p++ = '.';
    put(d.substr(static_cast<std::size_t>(point)));
  } else if (point > -6 && point <= 0) {  // 0.0001234
    put("0.");
    std::memset(p, '0', static_cast<std::size_t>(-point));
    p += -point;
    put(d);
  } else {  // 1.234e-7, 1e300
    *p++ = d[0];
    if (count > 1) {
      *p++ = '.';
      put(d.substr(1));
    }
    p = fmt::format_to(p, FMT_COMPILE("e{}"), point - 1);
  }
  return p;
}

void append_number(fmt::memory_buffer& out, double value) {
  const std::size_t size = out.size();
  out.resize(size + max_number_chars);
  out.resize(static_cast<std::size_t>(write_number(out.data() + size, value) - out.data()));
}

// Rows first … last − 1 of m, one list per line at indentation `at`, each after a separator.
// Each row is written straight into room reserved for it.
void append_rows(fmt::memory_buffer& out, const Eigen::Map<const Matrix>& m, Index first,
                 Index last, int at) {
  const std::size_t indent = static_cast<std::size_t>(at) * 2;
  const std::size_t row_room =
      4 + indent + static_cast<std::size_t>(m.cols()) * (max_number_chars + 2);
  for (Index r = first; r < last; ++r) {
    const std::size_t size = out.size();
    out.resize(size + row_room);
    char* p = out.data() + size;
    if (r > 0) *p++ = ',';
    *p++ = '\n';
    std::memset(p, ' ', indent);
    p += indent;
    *p++ = '[';
    for (Index c = 0; c < m.cols(); ++c) {
      if (c > 0) *p++ = ',', *p++ = ' ';
      p = write_number(p, m(r, c));
    }
    *p++ = ']';
    out.resize(static_cast<std::size_t>(p - out.data()));
  }
}

// Hands full buffers to the stream on a thread of its own, in order, so that writing a large
// trace (hundreds of megabytes) overlaps with formatting the next numbers.
class BackgroundWriter {
 public:
  explicit BackgroundWriter(std::ostream& out) : out_(out), thread_([this] { run(); }) {}
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;
  ~BackgroundWriter() { finish(); }

  // Queues `buffer` for writing; waits while two buffers are already waiting. Once a write has
  // failed (disk full, file too large), throws std::system_error with its cause: there is no
  // point formatting the rest.
  void push(fmt::memory_buffer buffer) {
    if (const int error = failure_.load()) throw std::system_error(error, std::generic_category());
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return queue_.size() < 2; });
    queue_.push_back(std::move(buffer));
    changed_.notify_all();
  }

  // Writes what is queued and stops the thread. The stream is the caller's again afterwards.
  void finish() {
    {
      std::lock_guard lock(mutex_);
      if (done_) return;
      done_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

 private:
  void run() {
    while (true) {
      fmt::memory_buffer buffer;
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [this] { return !queue_.empty() || done_; });
        if (queue_.empty()) return;
        buffer = std::move(queue_.front());
        queue_.pop_front();
      }
      changed_.notify_all();
      out_.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      if (!out_ && failure_.load() == 0) failure_ = errno != 0 ? errno : EIO;
    }
  }

  std::ostream& out_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<fmt::memory_buffer> queue_;
  bool done_ = false;
  std::atomic<int> failure_ = 0;  // errno of the first failed write
  std::thread thread_;            // last: it starts once everything above exists
};

class JsonWriter {
 public:
  explicit JsonWriter(std::ostream& out) : writer_(out) {}

  void raw(std::string_view text) { buffer_.append(text); }

  // A JSON string: quotes, backslashes and control characters escaped; UTF-8 passes through.
  void string(std::string_view text) {
    buffer_.push_back('"');
    for (const char c : text) {
      const auto byte = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        buffer_.push_back('\\');
        buffer_.push_back(c);
      } else if (c == '\n') {
        raw("\\n");
      } else if (c == '\t') {
        raw("\\t");
      } else if (byte < 0x20 || byte == 0x7F) {
        fmt::format_to(std::back_inserter(buffer_), "\\u{:04x}", byte);
      } else {
        buffer_.push_back(c);
      }
    }
    buffer_.push_back('"');
  }

  void number(double value) { append_number(buffer_, value); }
  [[nodiscard]] fmt::memory_buffer& buffer() { return buffer_; }

  void integer(long long value) { fmt::format_to(std::back_inserter(buffer_), "{}", value); }

  // `"key": ` on a new line at the given depth, with a comma before it unless it is the first.
  void key(std::string_view name, int depth, bool first = false) {
    raw(first ? "\n" : ",\n");
    indent(depth);
    string(name);
    raw(": ");
  }

  void indent(int depth) { buffer_.append(std::string(static_cast<std::size_t>(depth) * 2, ' ')); }

  void flush_if_full() {
    if (buffer_.size() >= flush_bytes) flush();
  }
  void flush() {
    writer_.push(std::move(buffer_));
    buffer_ = fmt::memory_buffer();
  }
  // Writes `rows` after everything so far, without copying it.
  void append_buffer(fmt::memory_buffer rows) {
    flush();
    writer_.push(std::move(rows));
  }
  // Everything written; the stream may be checked.
  void finish() {
    flush();
    writer_.finish();
  }

 private:
  BackgroundWriter writer_;
  fmt::memory_buffer buffer_;
};

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
      w.buffer().reserve(w.buffer().size() + bytes);
      auto second = std::async(std::launch::async, [&m, half, at, bytes] {
        fmt::memory_buffer rows;
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
    const TraceFocus& f = *trace.focus;
    w.key("focus", 1);
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
  w.key("tokens", 1);
  token_lists(w, trace, trace.tokens);
  w.key("kv_tokens", 1);
  token_lists(w, trace, trace.kv_tokens);
  w.key("notes", 1);
  string_list(w, trace.notes);
  w.key("warnings", 1);
  string_list(w, trace.warnings);
  w.key("skipped", 1);
  w.raw("[");
  for (std::size_t i = 0; i < trace.skipped.size(); ++i) {
    w.raw(i == 0 ? "\n    {" : ",\n    {");
    w.raw("\"id\": ");
    w.string(stage_name(trace.skipped[i].id));
    w.raw(", \"reason\": ");
    w.string(trace.skipped[i].reason);
    w.raw("}");
  }
  w.raw(trace.skipped.empty() ? "]" : "\n  ]");
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
