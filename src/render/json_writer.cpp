// The JSON export's streaming writer (json_writer.hpp): the number layout, the rows of a block,
// and the thread that writes full buffers.
#include "json_writer.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <system_error>

#include <fmt/compile.h>

#include "attn_trace/core/text.hpp"

namespace attn_trace::json_export {
namespace {

// A buffer is handed to the stream once it holds this many bytes.
constexpr std::size_t flush_bytes = 1 << 22;

// The most characters write_number writes.
constexpr std::size_t max_number_chars = 32;

// Writes `value` at `p` and returns the end; append_number says how. The digits come from fmt's
// Dragonbox (the shortest decimal that rounds to the double); they are laid out here because fmt's
// general path costs twice as much. REQUIRES: room for max_number_chars characters at `p`.
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

}  // namespace

void append_number(fmt::memory_buffer& out, double value) {
  const std::size_t size = out.size();
  out.resize(size + max_number_chars);
  out.resize(static_cast<std::size_t>(write_number(out.data() + size, value) - out.data()));
}

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

void BackgroundWriter::push(fmt::memory_buffer buffer) {
  if (const int error = failure_.load()) throw std::system_error(error, std::generic_category());
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return queue_.size() < 2; });
  queue_.push_back(std::move(buffer));
  changed_.notify_all();
}

void BackgroundWriter::finish() {
  {
    std::lock_guard lock(mutex_);
    if (done_) return;
    done_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void BackgroundWriter::run() {
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

void JsonWriter::string(std::string_view text) {
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

void JsonWriter::flush_if_full() {
  if (buffer_.size() >= flush_bytes) flush();
}

void JsonWriter::flush() {
  writer_.push(std::move(buffer_));
  buffer_ = fmt::memory_buffer();
}

void JsonWriter::append_buffer(fmt::memory_buffer rows) {
  flush();
  writer_.push(std::move(rows));
}

void JsonWriter::finish() {
  flush();
  writer_.finish();
}

}  // namespace attn_trace::json_export
