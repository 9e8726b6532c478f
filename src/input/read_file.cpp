// Reading an input file (or standard input) into memory, within the memory budget: the file's
// size is checked before it is read, a pipe's while it arrives. Or mapping it (mapped_file.hpp),
// for a safetensors file, of which only one layer is read. Loading it is load.cpp's.
#include "attn_trace/input/load.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "attn_trace/core/memory.hpp"
#include "input_error.hpp"
#include "mapped_file.hpp"
#include "numpy.hpp"

namespace attn_trace {
namespace {

using loader::fail_file;

// A file too large to read within the memory budget. `size` is its size, or for a pipe how much
// had arrived when it went past the limit; `start` is its first bytes, which tell NumPy's files.
[[noreturn]] void too_large(const std::string& name, std::uint64_t size, std::uint64_t max_bytes,
                            std::string_view start) {
  const double budget = static_cast<double>(max_bytes) * json_memory_factor;
  const bool numpy = loader::is_numpy(start);
  fail_file(
      name,
      fmt::format("{}{} of {}, more than the {} that the memory budget of {} allows "
                  "(reading {} takes up to {} times its size in memory)",
                  name == "<stdin>" ? "at least " : "", format_size(static_cast<double>(size)),
                  numpy ? "NumPy data" : "JSON", format_size(static_cast<double>(max_bytes)),
                  format_size(budget), numpy ? "it" : "JSON", json_memory_factor),
      "raise --memory-budget if the machine has the memory, or give one attention "
      "layer's weights at a time");
}

// Asks the kernel to back the 2 MiB pages inside [data, data + size) with huge pages, where it
// does so only when asked (transparent_hugepage = madvise; elsewhere this changes nothing). A page
// fault costs microseconds, more in a virtual machine: reading a BERT-sized input of 35 MB took
// 150 ms of CPU in 8,500 faults of 4 KB pages, 17 ms in 17 faults of 2 MiB.
void use_huge_pages(void* data, std::size_t size) {
  constexpr std::uintptr_t huge = std::uintptr_t{1} << 21;
  const auto start = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (start + huge - 1) & ~(huge - 1);
  const std::uintptr_t last = (start + size) & ~(huge - 1);
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
}

// Everything `fd` holds, read with read(2): iostreams would throw their own exceptions, without the
// file's name, for a read error (EIO, EISDIR, …). `expected` is the size when known; more than
// `max_bytes` is an error, found before it is all in memory.
std::string read_all(int fd, const std::string& name, std::size_t expected,
                     std::uint64_t max_bytes) {
  std::string text;
  text.reserve(expected + 1);  // + 1: the read that finds the end needs no new room
  use_huge_pages(text.data(), text.capacity());
  text.resize(expected + 1);
  std::size_t used = 0;
  while (true) {
    if (used > max_bytes) too_large(name, used, max_bytes, std::string_view(text.data(), used));
    if (used == text.size()) text.resize(std::max<std::size_t>(2 * text.size(), 1 << 16));
    const ssize_t n = ::read(fd, text.data() + used, text.size() - used);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_file(name, fmt::format("cannot read: {}", std::strerror(errno)));
    }
    used += static_cast<std::size_t>(n);
  }
  text.resize(used);
  return text;
}

// FILE, opened for reading, and what fstat(2) says of it (all zero when it says nothing). Throws
// Error when it is missing, cannot be opened or is a directory.
int open_file(const std::string& path, struct stat& info) {
  // open(2) first: its errno tells a missing file from one that cannot be reached.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      fail_file(path, "no such file",
                "check the path; `attn-trace run` with no file traces the bundled example");
    }
    fail_file(path, fmt::format("cannot open: {}", std::strerror(errno)));
  }
  if (::fstat(fd, &info) != 0) info = {};
  if (S_ISDIR(info.st_mode)) {
    ::close(fd);
    fail_file(path, "is a directory, expected a JSON file");
  }
  return fd;
}

}  // namespace

std::string read_input_file(const std::string& path, std::uint64_t max_bytes) {
  if (path == "-") return read_all(STDIN_FILENO, "<stdin>", 0, max_bytes);
  struct stat info {};
  const int fd = open_file(path, info);
  // A regular file is read in one go, its size checked first; a pipe, or a file that does not
  // know its size (/proc), in chunks.
  const std::uint64_t size = S_ISREG(info.st_mode) ? static_cast<std::uint64_t>(info.st_size) : 0;
  std::string text;
  try {
    if (size > max_bytes) {
      char start[8] = {};
      const ssize_t n = ::pread(fd, start, sizeof start, 0);
      too_large(path, size, max_bytes,
                std::string_view(start, n > 0 ? static_cast<std::size_t>(n) : 0));
    }
    text = read_all(fd, path, static_cast<std::size_t>(size), max_bytes);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return text;
}

MappedFile::MappedFile(const std::string& path) {
  struct stat info {};
  const int fd = open_file(path, info);
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    fail_file(path, "is not a regular file, and a safetensors file is read in place (mapped)",
              "copy it to a file first");
  }
  size_ = static_cast<std::size_t>(info.st_size);
  if (size_ > 0) {
    data_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data_ == MAP_FAILED) {
      const int error = errno;
      data_ = nullptr;
      ::close(fd);
      fail_file(path, fmt::format("cannot map into memory: {}", std::strerror(error)));
    }
  }
  ::close(fd);  // the mapping keeps the file
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

std::shared_ptr<const MappedFile> map_input_file(const std::string& path) {
  return std::make_shared<const MappedFile>(path);
}

}  // namespace attn_trace
