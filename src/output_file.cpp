// AtomicFile: temporary file, then rename(2), which replaces the destination in one step.
#include "attn_trace/output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "attn_trace/error.hpp"

namespace attn_trace {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (path_.empty()) throw Error("output path is empty");
  if (fs::is_directory(path_, ec)) {
    throw Error(fmt::format("cannot write {}: it is a directory", path_),
                "give a file name, e.g. -o trace.json");
  }
  const fs::path destination(path_);
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
  // mkstemp makes the file private (0600); give it the permissions a new file normally gets.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  ::close(fd);
  temporary_.assign(name.data());
  out_.open(temporary_, std::ios::binary | std::ios::trunc);
  if (!out_) fail(std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (!done_ && !temporary_.empty()) std::remove(temporary_.c_str());
}

void AtomicFile::fail(const std::string& what) {
  out_.close();
  std::remove(temporary_.c_str());
  done_ = true;
  throw Error(fmt::format("cannot write {}: {}", path_, what),
              "nothing was written; an existing file of that name is unchanged");
}

void AtomicFile::commit() {
  out_.flush();
  if (!out_) fail(std::strerror(errno));
  out_.close();
  if (!out_) fail(std::strerror(errno));
  // The data must be on disk before the rename makes it the file.
  const int fd = ::open(temporary_.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) {
    const int error = errno;
    if (fd >= 0) ::close(fd);
    fail(std::strerror(error));
  }
  ::close(fd);
  if (std::rename(temporary_.c_str(), path_.c_str()) != 0) fail(std::strerror(errno));
  done_ = true;
}

}  // namespace attn_trace
