// ZipWriter (zip_writer.hpp): the records of a stored zip archive, little-endian field by field,
// in the order APPNOTE.TXT gives them.
#include "zip_writer.hpp"

#include <cassert>
#include <cerrno>
#include <future>
#include <system_error>

#include <zlib.h>

namespace attn_trace::zip {
namespace {

// Every member carries the same time, 1980-01-01 00:00 (the earliest a zip can say): the same
// trace gives the same bytes, run after run.
constexpr std::uint16_t dos_time = 0, dos_date = (0 << 9) | (1 << 5) | 1;
constexpr std::uint16_t data_descriptor_flag = 1 << 3;
constexpr std::uint16_t version_plain = 20, version_zip64 = 45;  // 2.0, 4.5: what a reader needs
constexpr std::uint16_t made_by_unix = 3 << 8;
constexpr std::uint32_t regular_file_0644 = (0100644u) << 16;  // Unix mode, in the high 16 bits
constexpr std::uint32_t full32 = 0xFFFFFFFF;                   // "see the zip64 field"
constexpr std::uint16_t zip64_extra_id = 0x0001;
// A write of at least this many bytes has its CRC-32 computed on a second thread.
constexpr std::size_t parallel_crc_bytes = std::size_t{1} << 20;

// One record's bytes, little-endian whatever the machine.
class Record {
 public:
  Record& u16(std::uint64_t v) { return le(v, 2); }
  Record& u32(std::uint64_t v) { return le(v, 4); }
  Record& u64(std::uint64_t v) { return le(v, 8); }
  Record& text(std::string_view s) {
    bytes_.append(s);
    return *this;
  }
  [[nodiscard]] const std::string& bytes() const { return bytes_; }

 private:
  Record& le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    return *this;
  }
  std::string bytes_;
};

}  // namespace

ZipWriter::ZipWriter(std::ostream& out, std::uint64_t zip64_threshold)
    : out_(out), zip64_threshold_(zip64_threshold) {}

void ZipWriter::put(const void* data, std::size_t bytes) {
  out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  if (!out_) throw std::system_error(errno != 0 ? errno : EIO, std::generic_category());
  written_ += bytes;
}

bool ZipWriter::needs_zip64(const Entry& e) const {
  return e.size >= zip64_threshold_ || e.offset >= zip64_threshold_;
}

void ZipWriter::begin(std::string_view name, std::uint64_t size) {
  assert(!open_);
  entries_.push_back(Entry{std::string(name), size, written_, 0});
  const bool zip64 = needs_zip64(entries_.back());
  // With the data descriptor flag the CRC and sizes here are 0: they follow the data. A zip64
  // member says so with 0xFFFFFFFF and a zip64 field (of zeros too), so that its descriptor's
  // sizes are read as 8 bytes each.
  Record local;
  local.u32(0x04034b50)
      .u16(zip64 ? version_zip64 : version_plain)
      .u16(data_descriptor_flag)
      .u16(0)  // stored
      .u16(dos_time)
      .u16(dos_date)
      .u32(0)
      .u32(zip64 ? full32 : 0)
      .u32(zip64 ? full32 : 0)
      .u16(name.size())
      .u16(zip64 ? 20 : 0)
      .text(name);
  if (zip64) local.u16(zip64_extra_id).u16(16).u64(0).u64(0);
  put(local.bytes().data(), local.bytes().size());
  member_written_ = 0;
  open_ = true;
}

void ZipWriter::write(const void* data, std::size_t bytes) {
  assert(open_ && member_written_ + bytes <= entries_.back().size);
  Entry& e = entries_.back();
  const auto* p = static_cast<const Bytef*>(data);
  if (bytes < parallel_crc_bytes) {
    e.crc = static_cast<std::uint32_t>(crc32_z(e.crc, p, bytes));
    put(data, bytes);
  } else {
    // The CRC on another thread while this one writes the same bytes: a tensor of a BERT-sized
    // trace is 25 MB, whose CRC takes about as long as handing it to the kernel.
    std::future<uLong> crc =
        std::async(std::launch::async, [p, bytes] { return crc32_z(0, p, bytes); });
    put(data, bytes);
    e.crc =
        static_cast<std::uint32_t>(crc32_combine(e.crc, crc.get(), static_cast<z_off_t>(bytes)));
  }
  member_written_ += bytes;
}

void ZipWriter::end() {
  const Entry& e = entries_.back();
  assert(open_ && member_written_ == e.size);
  Record descriptor;
  descriptor.u32(0x08074b50).u32(e.crc);
  if (needs_zip64(e)) {
    descriptor.u64(e.size).u64(e.size);
  } else {
    descriptor.u32(e.size).u32(e.size);
  }
  put(descriptor.bytes().data(), descriptor.bytes().size());
  open_ = false;
}

void ZipWriter::finish() {
  assert(!open_);
  const std::uint64_t directory_offset = written_;
  bool any_zip64 = false;
  for (const Entry& e : entries_) {
    // The zip64 field holds, in this order, only what its classic field could not.
    const bool big_size = e.size >= zip64_threshold_, far = e.offset >= zip64_threshold_;
    Record extra;
    if (big_size) extra.u64(e.size).u64(e.size);
    if (far) extra.u64(e.offset);
    const bool zip64 = big_size || far;
    any_zip64 = any_zip64 || zip64;
    Record central;
    central.u32(0x02014b50)
        .u16(made_by_unix | version_zip64)
        .u16(zip64 ? version_zip64 : version_plain)
        .u16(data_descriptor_flag)
        .u16(0)
        .u16(dos_time)
        .u16(dos_date)
        .u32(e.crc)
        .u32(big_size ? full32 : e.size)
        .u32(big_size ? full32 : e.size)
        .u16(e.name.size())
        .u16(zip64 ? 4 + extra.bytes().size() : 0)
        .u16(0)  // comment
        .u16(0)  // disk
        .u16(0)  // internal attributes
        .u32(regular_file_0644)
        .u32(far ? full32 : e.offset)
        .text(e.name);
    if (zip64) central.u16(zip64_extra_id).u16(extra.bytes().size()).text(extra.bytes());
    put(central.bytes().data(), central.bytes().size());
  }
  const std::uint64_t directory_size = written_ - directory_offset;
  const std::uint64_t count = entries_.size();
  const bool zip64_end = any_zip64 || count >= 0xFFFF || directory_offset >= zip64_threshold_ ||
                         directory_size >= zip64_threshold_;
  Record end;
  if (zip64_end) {
    const std::uint64_t record_offset = written_;
    end.u32(0x06064b50)
        .u64(44)  // the size of the rest of this record
        .u16(made_by_unix | version_zip64)
        .u16(version_zip64)
        .u32(0)
        .u32(0)
        .u64(count)
        .u64(count)
        .u64(directory_size)
        .u64(directory_offset);
    end.u32(0x07064b50).u32(0).u64(record_offset).u32(1);  // the locator: where that record is
  }
  end.u32(0x06054b50)
      .u16(0)
      .u16(0)
      .u16(zip64_end ? 0xFFFF : count)
      .u16(zip64_end ? 0xFFFF : count)
      .u32(zip64_end ? full32 : directory_size)
      .u32(zip64_end ? full32 : directory_offset)
      .u16(0);  // comment
  put(end.bytes().data(), end.bytes().size());
}

}  // namespace attn_trace::zip
