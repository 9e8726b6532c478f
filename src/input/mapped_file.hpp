// A file mapped into memory, read-only (mmap): only the pages that are read come from disk, so
// picking one layer's tensors out of a checkpoint of hundreds of MB reads only that layer. Private
// to input; read_file.cpp maps it, safetensors.cpp reads it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace attn_trace {

class MappedFile {
 public:
  // Maps FILE. Throws Error naming it, as read_input_file does, when it does not exist, is a
  // directory or cannot be opened or mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // The whole file; valid while this object lives.
  [[nodiscard]] std::string_view bytes() const { return {static_cast<const char*>(data_), size_}; }

 private:
  void* data_ = nullptr;  // null for an empty file, which cannot be mapped
  std::size_t size_ = 0;
};

}  // namespace attn_trace
