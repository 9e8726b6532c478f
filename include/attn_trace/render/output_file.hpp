// Writing a file so that nobody ever sees it half-written: the text goes to a temporary file in
// the same folder, renamed over the destination only when complete. A failure (or Ctrl-C) leaves
// no new file behind and keeps an existing one intact.
//
// A destination that is not a regular file — a FIFO, a terminal, /dev/stdout — cannot be replaced
// atomically and is written directly; a symbolic link is followed, and the file it points to is
// the one replaced.
#pragma once

#include <fstream>
#include <string>
#include <thread>

namespace attn_trace {

class AtomicFile {
 public:
  // Creates the temporary file beside `path` (or opens `path` itself when it is not a regular
  // file). Throws Error when that folder cannot be written or `path` is a directory.
  explicit AtomicFile(std::string path);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  // Removes the temporary file unless commit() succeeded.
  ~AtomicFile();

  [[nodiscard]] std::ostream& stream() { return out_; }

  // Flushes, syncs and renames the temporary file over the destination. Throws Error (and removes
  // the temporary file) when any of that fails.
  void commit();

  // Gives up: removes the temporary file and throws Error saying `what` went wrong.
  [[noreturn]] void fail(const std::string& what);

 private:
  std::string path_;       // as the user gave it, for messages
  std::string target_;     // the file that is replaced (symbolic links followed)
  std::string temporary_;  // empty when writing `target_` directly
  std::ofstream out_;
  bool done_ = false;
  // While the text is written, a thread starts the disk writes of what has been written so far
  // every few milliseconds (sync_file_range), so that the sync before the rename has little
  // left to do: on a 280 MB export it took 0.2–0.3 s after the last number (bench/README.md).
  int sync_fd_ = -1;
  std::jthread writeback_;
  void stop_writeback();
};

}  // namespace attn_trace
