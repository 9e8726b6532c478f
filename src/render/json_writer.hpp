// The JSON export's streaming writer (render_json, json.hpp): text goes into a buffer that a
// thread of its own hands to the stream every few megabytes, so that memory grows with the largest
// 2-D block, not with the document, and writing overlaps with formatting. Numbers are formatted
// here too, by hand, because formatting millions of them is most of an export's time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <iterator>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "attn_trace/core/matrix.hpp"

namespace attn_trace::json_export {

// Appends the shortest text that reads back as the same double, laid out as JavaScript prints
// numbers (1200, 12.34, 0.0001234, 1.234e-7); "-0.0" for −0, which as "-0" would read back as the
// integer 0. JSON has no inf or nan: those are the strings "inf", "-inf" and "nan".
void append_number(fmt::memory_buffer& out, double value);

// Appends rows `first` … `last` − 1 of `m` as JSON lists of numbers, one row a line at indentation
// level `at` (two spaces each), each after a newline and, but for row 0, a comma. Each row is
// written straight into room reserved for it.
void append_rows(fmt::memory_buffer& out, const Eigen::Map<const Matrix>& m, Index first,
                 Index last, int at);

// Hands full buffers to the stream on a thread of its own, in order, so that writing a large
// trace (hundreds of megabytes) overlaps with formatting the next numbers; written buffers come
// back through spare(), so that an export of any size holds a few buffers (about 11 MB for the
// BERT-sized one) and never copies one to grow it.
class BackgroundWriter {
 public:
  // REQUIRES: `out` outlives the writer, and nobody else writes to it until finish().
  explicit BackgroundWriter(std::ostream& out) : out_(out), thread_([this] { run(); }) {}
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;
  ~BackgroundWriter() { finish(); }

  // Queues `buffer` for writing; waits while two buffers are already waiting. Once a write has
  // failed (disk full, file too large), throws std::system_error with its cause: there is no
  // point formatting the rest.
  void push(fmt::memory_buffer buffer);

  // An empty buffer for more text: one already written, whose memory is reused (each 4 KB of
  // fresh memory costs a page fault), or a new one. Any thread may call it.
  [[nodiscard]] fmt::memory_buffer spare();

  // Writes what is queued and stops the thread. The stream is the caller's again afterwards.
  void finish();

 private:
  void run();

  std::ostream& out_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<fmt::memory_buffer> queue_;
  std::deque<fmt::memory_buffer> spares_;  // written, emptied, for spare()
  bool done_ = false;
  std::atomic<int> failure_ = 0;  // errno of the first failed write
  std::thread thread_;            // last: it starts once everything above exists
};

// The JSON text of one document, written as it goes: each method appends to the current buffer,
// which goes to the stream (through a BackgroundWriter) when flushed. Nothing checks that the
// result is well-formed; render_json writes the structure.
class JsonWriter {
 public:
  // REQUIRES: `out` outlives the writer; read its state only after finish().
  explicit JsonWriter(std::ostream& out) : writer_(out) {}

  // `text` as it is: punctuation, literals, indentation.
  void raw(std::string_view text) { buffer_.append(text); }
  // A JSON string: quotes, backslashes and control characters escaped; UTF-8 passes through.
  void string(std::string_view text);
  void number(double value) { append_number(buffer_, value); }
  void integer(long long value) { fmt::format_to(std::back_inserter(buffer_), "{}", value); }

  // `"key": ` on a new line at the given depth, with a comma before it unless it is the first.
  void key(std::string_view name, int depth, bool first = false) {
    raw(first ? "\n" : ",\n");
    indent(depth);
    string(name);
    raw(": ");
  }
  void indent(int depth) { buffer_.append(std::string(static_cast<std::size_t>(depth) * 2, ' ')); }

  // The current buffer, for append_rows to write a block's numbers straight into.
  [[nodiscard]] fmt::memory_buffer& buffer() { return buffer_; }
  // Room for `bytes` more in the current buffer, without copying what it holds: a buffer too
  // small for them is handed to the stream first.
  void reserve(std::size_t bytes);
  // An empty buffer, for text to be appended with append_buffer (BackgroundWriter::spare).
  [[nodiscard]] fmt::memory_buffer spare() { return writer_.spare(); }

  // Hands the buffer to the stream once it holds a few megabytes.
  void flush_if_full();
  // Hands the buffer to the stream now.
  void flush();
  // Writes `rows` after everything so far, without copying it.
  void append_buffer(fmt::memory_buffer rows);
  // Everything written; the stream may be checked.
  void finish();

 private:
  BackgroundWriter writer_;
  fmt::memory_buffer buffer_;
};

}  // namespace attn_trace::json_export
