// The JSON export's streaming writer (json_writer.hpp): the number layout, the rows of a block,
// and the thread that writes full buffers.
#include "json_writer.hpp"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <system_error>

#include <fmt/compile.h>

#include "attn_trace/core/text.hpp"

namespace attn_trace::json_export {
namespace {

// A buffer is handed to the stream once it holds this many bytes.
constexpr std::size_t flush_bytes = 1 << 22;

// Written buffers kept for reuse: the current one, a block's second half and the two queued are
// all the buffers an export has at once.
constexpr std::size_t max_spares = 4;

// The room write_number needs at its start: the longest number is 24 characters
// ("-2.2250738585072014e-308"), but the digits are copied in blocks of fixed size, which may run
// past a number's end.
constexpr std::size_t number_room = 48;

// "00", "01", … "99": the digits are written two at a time.
constexpr char digit_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

// The eight decimal digits of `value` (< 10⁸, zeros in front) at `p`. Four independent pairs,
// rather than a loop dividing by 100, so that the processor works on them at once.
void put_eight_digits(char* p, std::uint32_t value) {
  const std::uint32_t high = value / 10000;
  const std::uint32_t low = value % 10000;
  std::memcpy(p, digit_pairs + 2 * (high / 100), 2);
  std::memcpy(p + 2, digit_pairs + 2 * (high % 100), 2);
  std::memcpy(p + 4, digit_pairs + 2 * (low / 100), 2);
  std::memcpy(p + 6, digit_pairs + 2 * (low % 100), 2);
}

// Writes `value` at `p` and returns the end; append_number says how. The digits come from fmt's
// Dragonbox (the shortest decimal that rounds to the double), which is about two thirds of the
// time; they are laid out here, without fmt's general path. Branches a tensor's numbers take at
// random (the sign, 16 or 17 digits) are arithmetic instead: all 17 digits are written, zeros in
// front, and the significant ones copied in blocks of fixed size. REQUIRES: number_room
// characters of room at `p`.
char* write_number(char* p, double value) {
  if (!std::isfinite(value)) [[unlikely]] {  // one test keeps the common path short
    *p++ = '"';
    const std::string_view text = *non_finite_text(value, Spelling::json);
    std::memcpy(p, text.data(), text.size());
    p += text.size();
    *p++ = '"';
    return p;
  }
  if (value == 0) [[unlikely]] {  // "-0" would read back as the integer 0: "-0.0" keeps the sign
    const std::string_view text = std::signbit(value) ? "-0.0" : "0";
    std::memcpy(p, text.data(), text.size());
    return p + text.size();
  }
  *p = '-';
  p += std::signbit(value) ? 1 : 0;
  const auto decimal = fmt::detail::dragonbox::to_decimal(std::abs(value));
  const std::uint64_t significand = decimal.significand;  // < 10¹⁷
  char all[48] = {};  // 17 digits, then room for the fixed-size copies below to read past them
  const std::uint64_t high = significand / 100'000'000;
  all[0] = static_cast<char>('0' + high / 100'000'000);
  put_eight_digits(all + 1, static_cast<std::uint32_t>(high % 100'000'000));
  put_eight_digits(all + 9, static_cast<std::uint32_t>(significand % 100'000'000));
  const int count = fmt::detail::count_digits(significand);
  const char* digits = all + 17 - count;
  const int point = count + decimal.exponent;  // digits before the decimal point
  if (point > -6 && point <= 0) {              // 0.0001234
    std::memcpy(p, "0.000000", 8);
    std::memcpy(p + 2 - point, digits, 24);
    return p + 2 - point + count;
  }
  if (point > 0 && point < count) {  // 12.34
    std::memcpy(p, digits, 16);
    p[point] = '.';
    std::memcpy(p + point + 1, digits + point, 16);
    return p + count + 1;
  }
  if (decimal.exponent >= 0 && point <= 21) {  // 1200
    std::memcpy(p, digits, 24);
    p += count;
    std::memset(p, '0', static_cast<std::size_t>(decimal.exponent));
    return p + decimal.exponent;
  }
  *p++ = digits[0];  // 1.234e-7, 1e300
  if (count > 1) {
    *p++ = '.';
    std::memcpy(p, digits + 1, 16);
    p += count - 1;
  }
  return fmt::format_to(p, FMT_COMPILE("e{}"), point - 1);
}

}  // namespace

void append_number(fmt::memory_buffer& out, double value) {
  const std::size_t size = out.size();
  out.resize(size + number_room);
  out.resize(static_cast<std::size_t>(write_number(out.data() + size, value) - out.data()));
}

void append_rows(fmt::memory_buffer& out, const Eigen::Map<const Matrix>& m, Index first,
                 Index last, int at) {
  const std::size_t indent = static_cast<std::size_t>(at) * 2;
  const std::size_t row_room = 4 + indent + static_cast<std::size_t>(m.cols()) * (number_room + 2);
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
    buffer.clear();
    std::lock_guard lock(mutex_);
    if (spares_.size() < max_spares) spares_.push_back(std::move(buffer));
  }
}

fmt::memory_buffer BackgroundWriter::spare() {
  std::lock_guard lock(mutex_);
  if (spares_.empty()) return fmt::memory_buffer();
  fmt::memory_buffer buffer = std::move(spares_.front());
  spares_.pop_front();
  return buffer;
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

void JsonWriter::reserve(std::size_t bytes) {
  if (buffer_.size() + bytes <= buffer_.capacity()) return;
  if (buffer_.size() > 0) flush();
  buffer_.reserve(bytes);
}

void JsonWriter::flush() {
  writer_.push(std::move(buffer_));
  buffer_ = writer_.spare();
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
