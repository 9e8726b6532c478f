// A zip archive written as it goes, to any std::ostream (the atomic output file, a pipe): members
// stored uncompressed, each member's size known before its data, its CRC-32 computed while the
// data passes through and written after it in a data descriptor (general purpose flag bit 3), so
// that nothing is held back or sought over. What it writes is the format of PKWARE's APPNOTE.TXT
// (4.3.7 local header, 4.3.9 data descriptor, 4.3.12 central directory, 4.3.14–4.3.16 the end
// records), with zip64 (4.5.3) for any size or offset from 4 GiB up. Python's zipfile (and so
// np.load) and libzip read it.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace attn_trace::zip {

// Sizes and offsets from this many bytes up need zip64: the classic fields hold 32 bits, and
// 0xFFFFFFFF itself means "see the zip64 field".
inline constexpr std::uint64_t zip64_from = 0xFFFFFFFF;

class ZipWriter {
 public:
  // Writes to `out`. `zip64_threshold` is zip64_from except in tests, which lower it to check the
  // zip64 records without writing 4 GiB.
  explicit ZipWriter(std::ostream& out, std::uint64_t zip64_threshold = zip64_from);

  // Starts member `name` of exactly `size` bytes. REQUIRES: the previous member ended.
  void begin(std::string_view name, std::uint64_t size);
  // Writes `bytes` of the current member's data.
  void write(const void* data, std::size_t bytes);
  // Ends the current member: its data descriptor. REQUIRES: `size` bytes were written.
  void end();
  // Writes the central directory and the end records; the archive is then complete.
  void finish();

 private:
  struct Entry {
    std::string name;
    std::uint64_t size = 0, offset = 0;
    std::uint32_t crc = 0;
  };
  void put(const void* data, std::size_t bytes);  // to `out`, counted; throws on a failed write
  [[nodiscard]] bool needs_zip64(const Entry& e) const;

  std::ostream& out_;
  std::uint64_t zip64_threshold_;
  std::uint64_t written_ = 0;  // bytes of the archive so far
  std::vector<Entry> entries_;
  std::uint64_t member_written_ = 0;  // bytes of the current member's data so far
  bool open_ = false;
};

}  // namespace attn_trace::zip
