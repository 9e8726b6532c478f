// .npy and .npz → the input document, or an .npz → its arrays by name (numpy.hpp). An .npy file is
//   "\x93NUMPY", major and minor version (1.0, 2.0 or 3.0), the header's length (2 bytes
//   little-endian in 1.0, 4 in 2.0 and 3.0), the header: a Python dict literal
//   {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), } padded with spaces to a '\n',
//   then the data, product(shape) elements, in C (row-major) or Fortran (column-major) order;
// an .npz is a zip archive of .npy files, one per array, each named after its key ("input.npy").
#include "numpy.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <zip.h>

#include "arrays.hpp"
#include "attn_trace/core/memory.hpp"
#include "attn_trace/core/suggest.hpp"
#include "attn_trace/core/text.hpp"
#include "attn_trace/input/state_dict.hpp"
#include "input_error.hpp"

namespace attn_trace::loader {
namespace {

constexpr std::string_view npy_magic = "\x93NUMPY";
constexpr std::size_t max_axes = 3;  // (B, L, E), or a batched attn_mask's (B·H, L, S)

// What every message about one array needs: the file, and the array's path in the document.
struct Where {
  std::string_view file;
  std::string path;  // "input", "weights.in_proj_weight"
};

// ---- the header ----

enum class Kind { floating, signed_integer, unsigned_integer, boolean };

// One element's type, from the header's 'descr': '<f8', '>f4', '|b1', '<i8'.
struct Dtype {
  Kind kind = Kind::floating;
  std::size_t size = 0;     // bytes
  bool big_endian = false;  // '>'; '<' and '|' (one byte) are little, '=' is this machine's
};

struct Header {
  std::string descr = {};  // as the file spells it: '<f8', '<U12'
  Dtype dtype = {};        // unset for text, which only read_npy_text takes
  bool fortran_order = false;
  std::vector<std::size_t> shape = {};
  std::size_t data_offset = 0;  // where the data starts, after the magic, lengths and header
};

// The hint for an array NumPy wrote in a type attn-trace does not read.
constexpr const char* astype_hint =
    "save it as floats: np.save(path, x.astype(np.float64)) (float32 and float16 also do)";

// A dtype attn-trace does not read, by what NumPy calls it, with the reason and what to do.
[[noreturn]] void unsupported_dtype(const Where& at, std::string_view descr) {
  const char kind = descr.size() > 1 ? descr[1] : '?';
  std::string what = fmt::format(
      "expected float64, float32, float16, integers or booleans, "
      "found dtype '{}'",
      excerpt(descr, 20));
  std::string hint = astype_hint;
  if (kind == 'O') {
    what =
        "expected numbers, found an array of Python objects ('|O'), which NumPy stores with "
        "pickle: attn-trace never unpickles";
  } else if (kind == 'c') {
    what = fmt::format("expected real numbers, found complex numbers ('{}')", excerpt(descr, 20));
    hint = "attention is real-valued: save x.real, or np.abs(x), as float64";
  } else if (kind == 'U' || kind == 'S') {
    what = fmt::format("expected numbers, found text ('{}')", excerpt(descr, 20));
    hint = "token labels go on the command line: --tokens \"the cat sat\"";
  } else if (kind == 'f') {
    what = fmt::format("expected float64, float32 or float16, found '{}' (extended precision)",
                       excerpt(descr, 20));
  }
  fail_value(at.file, at.path, what, hint);
}

// '<f8' → float64, little-endian. Structured dtypes (a list) never reach here.
Dtype parse_descr(const Where& at, std::string_view descr) {
  if (descr.size() < 3 || std::string_view("<>|=").find(descr[0]) == std::string_view::npos) {
    unsupported_dtype(at, descr);
  }
  Dtype dtype;
  dtype.big_endian =
      descr[0] == '>' || (descr[0] == '=' && std::endian::native == std::endian::big);
  const std::string_view size = descr.substr(2);
  if (size != "1" && size != "2" && size != "4" && size != "8") unsupported_dtype(at, descr);
  dtype.size = static_cast<std::size_t>(size[0] - '0');
  switch (descr[1]) {
    case 'f':
      if (dtype.size == 1) unsupported_dtype(at, descr);
      dtype.kind = Kind::floating;
      break;
    case 'i':
      dtype.kind = Kind::signed_integer;
      break;
    case 'u':
      dtype.kind = Kind::unsigned_integer;
      break;
    case 'b':
      if (dtype.size != 1) unsupported_dtype(at, descr);
      dtype.kind = Kind::boolean;
      break;
    default:
      unsupported_dtype(at, descr);
  }
  return dtype;
}

// Reads the header's dict literal, the small part of Python's syntax np.save writes: strings in
// single or double quotes, True and False, tuples of whole numbers.
class HeaderReader {
 public:
  // With `text`, a string dtype ('<U12') is taken too, for read_npy_text to check.
  HeaderReader(const Where& at, std::string_view text, bool text_dtype)
      : at_(at), text_(text), text_dtype_(text_dtype) {}

  Header read() {
    Header header;
    bool descr = false, order = false, shape = false;
    expect('{');
    while (!peek('}')) {
      const std::string key = string();
      expect(':');
      if (key == "descr" && !descr) {
        if (peek('[')) {
          fail_value(at_.file, at_.path,
                     "expected an array of numbers, found a structured array (fields of their "
                     "own dtypes)",
                     "save each field as an array of its own: np.savez(path, input=x[\"f\"])");
        }
        header.descr = string();
        if (!(text_dtype_ && header.descr.size() > 2 && header.descr[1] == 'U')) {
          header.dtype = parse_descr(at_, header.descr);
        }
        descr = true;
      } else if (key == "fortran_order" && !order) {
        header.fortran_order = boolean();
        order = true;
      } else if (key == "shape" && !shape) {
        header.shape = tuple();
        shape = true;
      } else {
        bad(fmt::format("a key '{}'", excerpt(key, 30)));
      }
      if (!peek('}')) expect(',');
    }
    expect('}');
    skip_space();
    if (pos_ != text_.size()) bad("text after the dict");
    if (!descr || !order || !shape) bad("a dict without 'descr', 'fortran_order' and 'shape'");
    return header;
  }

 private:
  [[noreturn]] void bad(const std::string& found) {
    fail_value(at_.file, at_.path,
               fmt::format("expected an .npy header {{'descr': …, 'fortran_order': …, 'shape': "
                           "(…)}}, found {} in \"{}\"",
                           found, excerpt(text_, 80)),
               "the file is damaged, or was not written by np.save");
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n')) ++pos_;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  void expect(char c) {
    if (!peek(c)) bad(fmt::format("no '{}' where one belongs", c));
    ++pos_;
  }
  std::string string() {
    skip_space();
    const char quote = pos_ < text_.size() ? text_[pos_] : '\0';
    if (quote != '\'' && quote != '"') bad("a value that is not a string where one belongs");
    const std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) bad("a string without its closing quote");
    std::string s(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return s;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (text_.substr(pos_).starts_with(word)) {
        pos_ += std::strlen(word);
        return value;
      }
    }
    bad("a fortran_order that is neither True nor False");
  }
  std::vector<std::size_t> tuple() {
    expect('(');
    std::vector<std::size_t> shape;
    while (!peek(')')) {
      std::size_t n = 0, digits = 0;
      for (; pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9'; ++pos_, ++digits) {
        if (n > (SIZE_MAX - 9) / 10) bad("a length beyond any memory");
        n = n * 10 + static_cast<std::size_t>(text_[pos_] - '0');
      }
      if (digits == 0) bad("a shape that is not a tuple of whole numbers");
      shape.push_back(n);
      if (!peek(')')) expect(',');
    }
    expect(')');
    return shape;
  }

  const Where& at_;
  std::string_view text_;
  bool text_dtype_ = false;
  std::size_t pos_ = 0;
};

// The magic string, the version, the header's length and the header of the .npy in `bytes`; with
// `text_dtype`, of an array of numbers or of text.
Header read_header(const Where& at, std::string_view bytes, bool text_dtype = false) {
  if (!bytes.starts_with(npy_magic)) {
    fail_value(
        at.file, at.path,
        fmt::format("expected an .npy array (bytes \\x93NUMPY), found {}",
                    bytes.size() < npy_magic.size() ? "a file of a few bytes" : "other bytes"),
        "each array of an .npz is an .npy file: write the archive with np.savez");
  }
  const auto byte = [&](std::size_t i) -> std::size_t {
    return i < bytes.size() ? static_cast<unsigned char>(bytes[i]) : 0;
  };
  const std::size_t major = byte(6), minor = byte(7);
  if (bytes.size() < 10 || major < 1 || major > 3 || minor != 0) {
    fail_value(at.file, at.path,
               bytes.size() < 10
                   ? std::string("expected an .npy header, found a file that ends in its first "
                                 "bytes")
                   : fmt::format("expected .npy format version 1.0, 2.0 or 3.0, found {}.{}", major,
                                 minor),
               "the file is damaged, or was written by a NumPy newer than attn-trace knows");
  }
  // 1.0 has a 2-byte length; 2.0 and 3.0 (headers over 64 KiB, UTF-8 headers) a 4-byte one.
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  std::size_t length = 0;
  for (std::size_t i = 0; i < length_bytes; ++i) length |= byte(8 + i) << (8 * i);
  const std::size_t start = 8 + length_bytes;
  if (bytes.size() < start || bytes.size() - start < length) {
    fail_value(at.file, at.path,
               fmt::format("expected a header of {} bytes, found the file ends after {}", length,
                           bytes.size() > start ? bytes.size() - start : 0),
               "the file is cut off: save it again");
  }
  Header header = HeaderReader(at, bytes.substr(start, length), text_dtype).read();
  header.data_offset = start + length;
  return header;
}

// ---- the data ----

// The bits of the element at `p`, in this machine's byte order.
std::uint64_t element_bits(const char* p, const Dtype& dtype) {
  unsigned char b[8] = {};
  std::memcpy(b, p, dtype.size);
  if (dtype.big_endian != (std::endian::native == std::endian::big)) {
    std::reverse(b, b + dtype.size);
  }
  std::uint64_t bits = 0;
  switch (dtype.size) {
    case 1:
      return b[0];
    case 2: {
      std::uint16_t v = 0;
      std::memcpy(&v, b, 2);
      return v;
    }
    case 4: {
      std::uint32_t v = 0;
      std::memcpy(&v, b, 4);
      return v;
    }
    default:
      std::memcpy(&bits, b, 8);
      return bits;
  }
}

// The element at `p` as a leaf of the document: a number or true/false.
json leaf(const char* p, const Dtype& dtype) {
  const std::uint64_t bits = element_bits(p, dtype);
  switch (dtype.kind) {
    case Kind::boolean:
      return bits != 0;
    case Kind::unsigned_integer:
      return bits;
    case Kind::signed_integer: {
      // Sign-extend from the element's width.
      const unsigned shift = 64 - 8 * static_cast<unsigned>(dtype.size);
      return static_cast<std::int64_t>(bits << shift) >> shift;
    }
    case Kind::floating:
      break;
  }
  if (dtype.size == 2) return f16_to_double(static_cast<std::uint16_t>(bits));
  if (dtype.size == 4) {
    float f = 0;
    const auto v = static_cast<std::uint32_t>(bits);
    std::memcpy(&f, &v, 4);
    return static_cast<double>(f);
  }
  double d = 0;
  std::memcpy(&d, &bits, 8);
  return d;
}

// The element at `p` as a double: a float exactly, an integer as near as a double holds it
// (exactly up to 2^53), a boolean as 1 or 0.
double element_value(const char* p, const Dtype& dtype) {
  const json value = leaf(p, dtype);
  if (value.is_boolean()) return value.get<bool>() ? 1.0 : 0.0;
  return value.get<double>();
}

// The data of the .npy `bytes` whose header is `header`, checked to hold exactly the elements its
// shape says before anything is allocated (a product that overflows is more than any file holds).
std::string_view checked_data(const Where& at, std::string_view bytes, const Header& header) {
  const std::vector<std::size_t>& shape = header.shape;
  const std::string_view data = bytes.substr(header.data_offset);
  std::size_t count = 1, size = 0;
  bool overflow = false;
  for (const std::size_t n : shape) overflow = overflow || __builtin_mul_overflow(count, n, &count);
  overflow = overflow || __builtin_mul_overflow(count, header.dtype.size, &size);
  if (overflow || size != data.size()) {
    fail_value(at.file, at.path,
               fmt::format("expected {} bytes of data for shape {}, found {}",
                           overflow ? std::string("more") : std::to_string(size), shape_text(shape),
                           data.size()),
               overflow || size > data.size()
                   ? "the file is cut off: save it again"
                   : "the file has bytes after its data: it is damaged, or not one np.save");
  }
  return data;
}

// Calls `visit(p)` for every element of `data` (checked_data) in C order, the last axis fastest,
// `p` pointing at its bytes, whichever order the file stores them in.
void for_each_element(const Header& header, std::string_view data,
                      const std::function<void(const char*)>& visit) {
  const std::vector<std::size_t>& shape = header.shape;
  const std::size_t count = data.size() / header.dtype.size;
  // Fortran order stores the first axis fastest: element (i, j, k) of shape (I, J, K) is at
  // i + I·(j + J·k).
  std::vector<std::size_t> stride(shape.size(), 1);
  for (std::size_t a = 0; a < shape.size(); ++a) {
    if (header.fortran_order) {
      stride[a] = a == 0 ? 1 : stride[a - 1] * shape[a - 1];
    } else {
      for (std::size_t b = a + 1; b < shape.size(); ++b) stride[a] *= shape[b];
    }
  }
  std::vector<std::size_t> index(shape.size(), 0);
  for (std::size_t c = 0; c < count; ++c) {
    std::size_t offset = 0;
    for (std::size_t a = 0; a < shape.size(); ++a) offset += index[a] * stride[a];
    visit(data.data() + offset * header.dtype.size);
    for (std::size_t a = shape.size(); a-- > 0;) {  // the next index, the last axis fastest
      if (++index[a] < shape[a]) break;
      index[a] = 0;
    }
  }
}

// The array an .npy file holds, as the document's nested lists.
json read_npy(const Where& at, std::string_view bytes) {
  Header header = read_header(at, bytes);
  // PyTorch takes a uint8 attn_mask or key_padding_mask as bool (true = blocked), as it did before
  // bool tensors existed; np.uint8 masks saved from such code mean the same here.
  if (header.dtype.kind == Kind::unsigned_integer && header.dtype.size == 1 &&
      (at.path == "attn_mask" || at.path == "key_padding_mask")) {
    header.dtype.kind = Kind::boolean;
  }
  if (header.shape.size() > max_axes) {
    fail_value(at.file, at.path,
               fmt::format("expected at most 3 axes, (L, E) or batched (B, L, E), found shape {}",
                           shape_text(header.shape)),
               "squeeze the axes of length 1 (x.squeeze()), or save one layer's arrays");
  }
  const std::string_view data = checked_data(at, bytes, header);
  std::vector<json> leaves;
  leaves.reserve(data.size() / header.dtype.size);
  for_each_element(header, data, [&](const char* p) { leaves.push_back(leaf(p, header.dtype)); });
  return nested_json(header.shape, std::move(leaves));
}

// The array an .npy file holds, of any number of axes, as its shape and its values.
GivenTensor read_npy_values(const Where& at, std::string_view bytes) {
  const Header header = read_header(at, bytes);
  const std::string_view data = checked_data(at, bytes, header);
  GivenTensor tensor{at.path, header.shape, std::vector<double>(data.size() / header.dtype.size)};
  double* out = tensor.values.data();
  for_each_element(header, data, [&](const char* p) { *out++ = element_value(p, header.dtype); });
  return tensor;
}

// The text of the .npy `bytes` that holds one string, a 0-d array of dtype '<U…' (NumPy's
// np.array("…"): UCS-4 code units, the trailing NULs of a shorter string dropped), as UTF-8.
std::string read_npy_text(const Where& at, std::string_view bytes) {
  const Header header = read_header(at, bytes, /*text_dtype=*/true);
  const std::string& descr = header.descr;
  const std::string_view expected =
      "expected the JSON text of attn-trace's NumPy export there (a 0-d string array, '<U…')";
  const std::string_view rewrite = "write it again with attn-trace run … --format npz -o FILE.npz";
  std::size_t count = 0;
  const bool text = descr.size() > 2 && descr[1] == 'U' &&
                    descr.find_first_not_of("0123456789", 2) == std::string::npos &&
                    descr.size() < 12;
  if (text) count = std::stoull(descr.substr(2));
  if (!text || !header.shape.empty() || header.fortran_order) {
    fail_value(at.file, at.path,
               fmt::format("{}, found dtype '{}' of shape {}", expected, excerpt(descr, 20),
                           shape_text(header.shape)),
               std::string(rewrite));
  }
  const std::string_view data = bytes.substr(header.data_offset);
  if (data.size() != 4 * count) {
    fail_value(at.file, at.path,
               fmt::format("expected {} bytes of text for dtype '{}', found {}", 4 * count, descr,
                           data.size()),
               std::string(rewrite));
  }
  const bool big = descr[0] == '>' || (descr[0] == '=' && std::endian::native == std::endian::big);
  std::string utf8;
  utf8.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    unsigned char b[4];
    std::memcpy(b, data.data() + 4 * i, 4);
    if (big) std::reverse(b, b + 4);
    const std::uint32_t c = b[0] | (b[1] << 8) | (b[2] << 16) | (std::uint32_t{b[3]} << 24);
    if (c == 0) break;  // NumPy pads a shorter string with NULs
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
      fail_value(at.file, at.path,
                 fmt::format("{}, found a code unit {:#x} that is no character", expected, c),
                 std::string(rewrite));
    }
    if (c < 0x80) {
      utf8.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      utf8.push_back(static_cast<char>(0xC0 | (c >> 6)));
      utf8.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      utf8.push_back(static_cast<char>(0xE0 | (c >> 12)));
      utf8.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      utf8.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      utf8.push_back(static_cast<char>(0xF0 | (c >> 18)));
      utf8.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      utf8.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      utf8.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return utf8;
}

// ---- the archive ----

// The names an .npz's arrays may have: the input format's arrays at its top level, and the
// weights' names (state_dict.hpp), which go inside "weights".
constexpr std::string_view top_level_arrays[] = {
    "input",     "kv_input",         "key_input", "value_input", "mask",
    "attn_mask", "key_padding_mask", "num_heads", "scale",       "add_zero_attn"};

// The input format's keys that hold text, which no array of numbers can.
constexpr std::string_view text_keys[] = {"tokens", "kv_tokens",     "name",     "description",
                                          "source", "weight_layout", "published"};

bool is_weight_name(std::string_view key) {
  const auto names = weight_names();
  return std::find(names.begin(), names.end(), key) != names.end();
}

using Archive = std::unique_ptr<zip_t, decltype(&zip_discard)>;
using ArchiveFile = std::unique_ptr<zip_file_t, decltype(&zip_fclose)>;

constexpr const char* damaged_archive_hint =
    "save it again with np.savez or np.savez_compressed; a file cut off while copying is the "
    "usual cause";

// "Not a zip archive" → "not a zip archive", for the middle of a sentence.
std::string lowercase_first(std::string text) {
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') {
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  }
  return text;
}

// The zip archive in `bytes`, opened for reading where it lies. With `name_twice`, an archive
// that holds two members of one name (which libzip refuses to open) is reported as that.
Archive open_archive(std::string_view bytes, std::string_view file, bool name_twice = false) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  zip_t* zip = source ? zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error) : nullptr;
  if (zip == nullptr) {
    if (source != nullptr) zip_source_free(source);
    const std::string why = zip_error_strerror(&error);
    const bool twice = zip_error_code_zip(&error) == ZIP_ER_EXISTS;
    zip_error_fini(&error);
    if (name_twice && twice) {
      fail_file(file, "expected one array per name, found an archive with two members of one name",
                "save each array once: np.savez(path, q=q, k=k, …)");
    }
    fail_file(file,
              fmt::format("expected an .npz (a zip archive of .npy arrays), found one that cannot "
                          "be opened: {}",
                          lowercase_first(why)),
              "an .npz cut off while copying is the usual cause: save it again with np.savez; a "
              "torch.save file (.pt) is not read: dump its tensors as lists "
              "(docs/input-format.md)");
  }
  zip_error_fini(&error);
  return Archive(zip, zip_discard);
}

// One array of the archive: member `index`, "input.npy", at `path` in the document.
struct Member {
  zip_uint64_t index = 0;
  std::string key;         // "input", "in_proj_weight"
  std::string path;        // "input", "weights.in_proj_weight"
  std::uint64_t size = 0;  // unpacked, as the archive's directory declares it
};

// An array's name the input format does not know, with the nearest it does.
[[noreturn]] void unknown_key(std::string_view file, const std::string& key) {
  if (std::find(std::begin(text_keys), std::end(text_keys), key) != std::end(text_keys)) {
    fail_value(file, key,
               "expected an array of numbers, found text, which attn-trace does not "
               "read from an .npz",
               key == "tokens" ? "give the labels on the command line: --tokens \"the cat sat\""
                               : "give it in a JSON input file (docs/input-format.md)");
  }
  std::vector<std::string_view> known(std::begin(top_level_arrays), std::end(top_level_arrays));
  for (std::string_view name : weight_names()) known.push_back(name);
  std::string hint = "name each array after its key: np.savez(path, input=x, attn_mask=m, …)";
  if (const auto near = nearest(key, known)) hint = fmt::format("did you mean '{}'?", *near);
  fail_value(file, key,
             "expected an array named after a key of the input format (input, kv_input, "
             "attn_mask, in_proj_weight, …), found an unknown name",
             hint);
}

// The path in the input document of the array named `key`, a name the input format knows.
std::string document_path(std::string_view file, const std::string& key) {
  const bool top = std::find(std::begin(top_level_arrays), std::end(top_level_arrays), key) !=
                   std::end(top_level_arrays);
  if (!top && !is_weight_name(key)) unknown_key(file, key);
  return top ? key : "weights." + key;
}

// The path of the array named `key` when any name will do: the name itself.
std::string plain_path(std::string_view /*file*/, const std::string& key) {
  return key;
}

// The archive's arrays, their names checked by `path_of` (which gives an array's path in
// messages) and their declared sizes, together, within `max_unpacked` before anything is
// inflated: a few kilobytes can declare gigabytes.
using PathOf = std::string (*)(std::string_view file, const std::string& key);
std::vector<Member> list_members(zip_t* zip, std::string_view file, std::uint64_t max_unpacked,
                                 PathOf path_of) {
  std::vector<Member> members;
  std::uint64_t total = 0;
  const zip_int64_t count = zip_get_num_entries(zip, 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    zip_stat_t stat;
    zip_stat_init(&stat);
    const auto index = static_cast<zip_uint64_t>(i);
    if (zip_stat_index(zip, index, 0, &stat) != 0 || (stat.valid & ZIP_STAT_NAME) == 0 ||
        (stat.valid & ZIP_STAT_SIZE) == 0) {
      fail_file(file, fmt::format("expected an .npz, found a damaged zip archive (member {})", i),
                damaged_archive_hint);
    }
    const std::string name = stat.name;
    if (!name.ends_with(".npy")) {
      fail_value(file, excerpt(name),
                 "expected an .npy array, found a member of the archive that is not one",
                 "an .npz holds only .npy files, one per array, as np.savez writes them");
    }
    Member member{index, name.substr(0, name.size() - 4), "", stat.size};
    member.path = path_of(file, member.key);
    if (stat.size > max_unpacked - total) {
      fail_file(file,
                fmt::format("its arrays unpack to more than {}, the most the memory budget lets "
                            "an input take ({} declares {})",
                            format_size(static_cast<double>(max_unpacked)), member.path,
                            format_size(static_cast<double>(stat.size))),
                "raise --memory-budget if the machine has the memory, or save fewer or smaller "
                "arrays");
    }
    total += stat.size;
    members.push_back(std::move(member));
  }
  return members;
}

// The bytes of `member`, inflated no further than the size its directory entry declares.
std::string unpack(zip_t* zip, const Member& member, std::string_view file) {
  const ArchiveFile entry(zip_fopen_index(zip, member.index, 0), zip_fclose);
  if (!entry) {
    fail_value(file, member.path, fmt::format("cannot be unpacked: {}", zip_strerror(zip)),
               damaged_archive_hint);
  }
  std::string data;
  char chunk[1 << 16];
  while (true) {
    const zip_int64_t n = zip_fread(entry.get(), chunk, sizeof chunk);
    if (n < 0) {
      fail_value(file, member.path,
                 fmt::format("cannot be unpacked: {}", zip_file_strerror(entry.get())),
                 damaged_archive_hint);
    }
    if (n == 0) break;
    if (static_cast<std::uint64_t>(n) > member.size - data.size()) {
      fail_value(file, member.path,
                 fmt::format("expected {} bytes, as the archive's directory declares, found more",
                             member.size),
                 damaged_archive_hint);
    }
    data.append(chunk, static_cast<std::size_t>(n));
  }
  if (data.size() != member.size) {
    fail_value(file, member.path,
               fmt::format("expected {} bytes, as the archive's directory declares, found {}",
                           member.size, data.size()),
               damaged_archive_hint);
  }
  return data;
}

// The document an .npz stands for: each array under its key, the weights inside "weights".
json read_npz(std::string_view bytes, const std::string& file, std::uint64_t max_unpacked) {
  const Archive archive = open_archive(bytes, file);
  const std::vector<Member> members =
      list_members(archive.get(), file, max_unpacked, document_path);
  json root = json::object();
  std::vector<std::string> keys;
  for (const Member& member : members) {
    const bool weight = member.path != member.key;
    json& parent = weight ? root["weights"] : root;
    if (parent.contains(member.key)) {
      fail_value(file, member.path, "appears twice in the archive",
                 "save each array once: np.savez(path, input=x, …)");
    }
    parent[member.key] = read_npy({file, member.path}, unpack(archive.get(), member, file));
    keys.push_back(member.key);
  }
  if (!root.contains("input")) {
    fail_value(file, "input",
               fmt::format("missing: the input matrix X is required, (L, E) or batched (B, L, E); "
                           "the archive holds {}",
                           keys.empty() ? std::string("no arrays")
                                        : fmt::format("{}", fmt::join(keys, ", "))),
               "save it with the others: np.savez(path, input=x, …)");
  }
  return root;
}

}  // namespace

bool is_numpy(std::string_view bytes) {
  if (bytes.starts_with(npy_magic) || bytes.starts_with("PK\x05\x06")) return true;
  // torch.save writes a zip archive too, its first member "<name>/data.pkl": that one is left to
  // the JSON reader, whose message knows it.
  return bytes.starts_with("PK\x03\x04") &&
         bytes.substr(0, 256).find("data.pkl") == std::string_view::npos;
}

NpzArrays numpy_arrays(std::string_view bytes, const std::string& file,
                       std::uint64_t max_unpacked) {
  if (bytes.starts_with(npy_magic)) {
    fail_file(file,
              "expected an .npz archive of named arrays, found a single .npy array (np.save), "
              "which has no name",
              "save the tensors with np.savez(path, q=q, …) so each has a name");
  }
  const Archive archive = open_archive(bytes, file, /*name_twice=*/true);
  const std::vector<Member> members = list_members(archive.get(), file, max_unpacked, plain_path);
  NpzArrays npz;
  // No name is there twice: libzip refuses to open such an archive (open_archive).
  for (const Member& member : members) {
    const Where at{file, member.path};
    if (member.key == npz_trace_member) {
      npz.trace_json = read_npy_text(at, unpack(archive.get(), member, file));
    } else {
      npz.arrays.push_back(read_npy_values(at, unpack(archive.get(), member, file)));
    }
  }
  return npz;
}

json numpy_document(std::string_view bytes, const std::string& file, std::uint64_t max_unpacked) {
  if (!bytes.starts_with(npy_magic)) return read_npz(bytes, file, max_unpacked);
  json root = json::object();
  root["input"] = read_npy({file, "input"}, bytes);
  return root;
}

}  // namespace attn_trace::loader
