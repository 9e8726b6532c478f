// AtomicFile: temporary file, then rename(2), which replaces the destination in one step.
#include "attn_trace/render/output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "attn_trace/core/error.hpp"

namespace attn_trace {
namespace {

namespace fs = std::filesystem;

// The temporary file being written, for the signal handler to remove on Ctrl-C or kill: only
// async-signal-safe calls (unlink, signal, raise) happen there.
char pending_temporary[4096];
std::atomic<bool> pending = false;

extern "C" void remove_pending_and_reraise(int signal) {
  if (pending.load()) ::unlink(pending_temporary);
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

void watch_for_signals(const std::string& temporary) {
  if (temporary.size() >= sizeof pending_temporary) return;
  std::memcpy(pending_temporary, temporary.c_str(), temporary.size() + 1);
  pending = true;
  for (const int signal : {SIGINT, SIGTERM, SIGHUP})
    std::signal(signal, remove_pending_and_reraise);
}

void stop_watching() {
  pending = false;
}

// The permissions a new file gets: 0666 less the umask. The umask can only be read by setting it;
// no other thread is running when an output file is opened.
mode_t new_file_mode() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  std::error_code ec;
  if (path_.empty()) throw Error("output path is empty");
  if (fs::is_directory(path_, ec)) {
    throw Error(fmt::format("cannot write {}: it is a directory", path_),
                "give a file name, e.g. -o trace.json");
  }
  // A link is followed, so that the file it names is replaced, not the link.
  target_ = fs::is_symlink(path_, ec) ? fs::weakly_canonical(path_, ec).string() : path_;
  if (ec) target_ = path_;

  struct stat existing {};
  const bool exists = ::stat(target_.c_str(), &existing) == 0;
  if (exists && !S_ISREG(existing.st_mode)) {
    // A FIFO, a terminal, /dev/null: nothing to replace atomically.
    out_.open(target_, std::ios::binary);
    if (!out_) fail(std::strerror(errno));
    return;
  }

  const fs::path destination(target_);
  const fs::path folder = destination.has_parent_path() ? destination.parent_path() : ".";
  const std::string pattern =
      (folder / fmt::format(".{}.tmp-XXXXXX", destination.filename().string())).string();
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  if (fd < 0) {
    const int error = errno;
    throw Error(
        fmt::format("cannot write {}: {}", path_, std::strerror(error)),
        error == ENOENT ? fmt::format("the folder {} does not exist", folder.string()) : "");
  }
  temporary_.assign(name.data());
  watch_for_signals(temporary_);
  // mkstemp makes the file private (0600): a replaced file keeps its permissions, a new one gets
  // those a new file normally gets.
  const mode_t mode = exists ? (existing.st_mode & 07777) : new_file_mode();
  const bool permitted = ::fchmod(fd, mode) == 0;
  const int chmod_error = errno;
  if (!permitted) {
    ::close(fd);
    fail(std::strerror(chmod_error));
  }
  sync_fd_ = fd;
  out_.open(temporary_, std::ios::binary | std::ios::trunc);
  if (!out_) fail(std::strerror(errno));
  try {
    writeback_ = std::jthread([fd](std::stop_token stop) {
      while (!stop.stop_requested()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);  // a hint: its failure changes nothing
      }
    });
  } catch (const std::system_error&) {  // no thread to be had: the sync at the end does it all
  }
}

void AtomicFile::stop_writeback() {
  if (writeback_.joinable()) {
    writeback_.request_stop();
    writeback_.join();
  }
}

AtomicFile::~AtomicFile() {
  stop_writeback();
  if (sync_fd_ >= 0) ::close(sync_fd_);
  if (!done_ && !temporary_.empty()) std::remove(temporary_.c_str());
  if (!temporary_.empty()) stop_watching();
}

void AtomicFile::fail(const std::string& what) {
  stop_writeback();
  // fail() may throw out of the constructor, where no destructor closes the descriptor.
  if (sync_fd_ >= 0) ::close(sync_fd_);
  sync_fd_ = -1;
  out_.close();
  if (!temporary_.empty()) std::remove(temporary_.c_str());
  done_ = true;
  throw Error(fmt::format("cannot write {}: {}", path_, what),
              temporary_.empty() ? ""
                                 : "nothing was written; an existing file of that name is "
                                   "unchanged");
}

void AtomicFile::commit() {
  out_.flush();
  if (!out_) fail(std::strerror(errno));
  out_.close();
  if (!out_) fail(std::strerror(errno));
  if (temporary_.empty()) {  // written in place
    done_ = true;
    return;
  }
  // The data must be on disk before the rename makes it the file.
  stop_writeback();
  if (::fsync(sync_fd_) != 0) fail(std::strerror(errno));
  if (std::rename(temporary_.c_str(), target_.c_str()) != 0) fail(std::strerror(errno));
  done_ = true;
}

}  // namespace attn_trace
