// Writing a file so that nobody ever sees it half-written: the text goes to a temporary file in
// the same folder, renamed over the destination only when complete. A failure leaves no new file
// behind and keeps an existing one intact.
#pragma once

#include <fstream>
#include <string>

namespace attn_trace {

class AtomicFile {
 public:
  // Creates the temporary file beside `path`. Throws Error when that folder cannot be written or
  // `path` is a directory.
  explicit AtomicFile(std::string path);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  // Removes the temporary file unless commit() succeeded.
  ~AtomicFile();

  [[nodiscard]] std::ostream& stream() { return out_; }

  // Flushes, syncs and renames the temporary file over the destination. Throws Error (and removes
  // the temporary file) when any of that fails.
  void commit();

 private:
  [[noreturn]] void fail(const std::string& what);

  std::string path_, temporary_;
  std::ofstream out_;
  bool done_ = false;
};

}  // namespace attn_trace
