// Reading safetensors files (safetensors.hpp): the header checked against the data, the chosen
// layer's tensors converted to double.
#include "safetensors.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <system_error>

#include <fmt/format.h>

#include "arrays.hpp"
#include "attn_trace/core/memory.hpp"
#include "attn_trace/core/text.hpp"
#include "input_error.hpp"
#include "json_values.hpp"

namespace attn_trace::loader {
namespace {

// The dtypes safetensors defines whose elements are whole bytes, and their sizes.
struct DtypeSize {
  std::string_view name;
  std::size_t bytes;
};
constexpr DtypeSize dtype_sizes[] = {
    {"F64", 8}, {"F32", 4},     {"F16", 2},     {"BF16", 2},    {"BOOL", 1}, {"U8", 1},
    {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"F8_E8M0", 1}, {"I16", 2},  {"U16", 2},
    {"I32", 4}, {"U32", 4},     {"I64", 8},     {"U64", 8},     {"C64", 8}};

// The memory one value of a layer takes while it is loaded: a JSON number (16 bytes), the double
// it is converted to first, and the one in the Spec's matrix.
constexpr std::uint64_t bytes_per_loaded_value = 32;

constexpr const char* header_hint =
    "a safetensors header is one JSON object: {\"NAME\": {\"dtype\": \"F32\", \"shape\": "
    "[768, 768], \"data_offsets\": [BEGIN, END]}, …, \"__metadata__\": {…}}";

constexpr const char* damaged_hint =
    "each tensor's bytes follow the previous tensor's, from the data's first byte to the file's "
    "last: the file is damaged, or was not written by a safetensors library";

// A tensor's name as the path of a message, with `field` after it: "NAME.shape". Long enough
// for a large model's names, safe for a terminal.
std::string tensor_path(std::string_view name, std::string_view field = "") {
  return excerpt(name, 120) + std::string(field);
}

// The unsigned number of `size` bytes at `p`, little-endian whatever the machine is.
std::uint64_t little_endian(const char* p, std::size_t size) {
  std::uint64_t value = 0;
  for (std::size_t i = size; i-- > 0;) {
    value = (value << 8) | static_cast<unsigned char>(p[i]);
  }
  return value;
}

// What a file that is not safetensors at all may be, from its first bytes.
std::string not_safetensors_hint(std::string_view bytes) {
  const std::string_view start = bytes.substr(0, 64);  // not the whole file, which may be GBs
  const std::size_t first = start.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (start[first] == '{' || start[first] == '[')) {
    return "this looks like JSON text: a state_dict dumped as JSON is read as such when its name "
           "does not end in .safetensors";
  }
  if (bytes.starts_with("PK\x03\x04")) {
    return "this looks like a torch.save file (.pt, .pth), a zip archive: save the state_dict "
           "with safetensors.torch.save_file(state_dict, \"model.safetensors\")";
  }
  return "a safetensors file begins with its header's length, 8 bytes little-endian";
}

// The header's text: the N bytes after its length N.
std::string_view header_text(std::string_view bytes, const std::string& file) {
  if (bytes.size() < 8) {
    fail_file(file,
              bytes.empty()
                  ? "the file is empty, expected a safetensors file"
                  : fmt::format("{} long, too short for a safetensors file, which begins with an "
                                "8-byte header length",
                                plural(bytes.size(), "byte", "bytes")),
              "is the file cut off? download or copy it again");
  }
  const std::uint64_t length = little_endian(bytes.data(), 8);
  if (length > max_safetensors_header) {
    fail_file(file,
              fmt::format("the header length (the file's first 8 bytes) is {} bytes, more than "
                          "the 100 MB the safetensors format allows",
                          length),
              not_safetensors_hint(bytes));
  }
  if (length > bytes.size() - 8) {
    fail_file(file,
              fmt::format("the header length (the file's first 8 bytes) is {} bytes, but only {} "
                          "follow",
                          length, plural(bytes.size() - 8, "byte", "bytes")),
              "is the file cut off? download or copy it again");
  }
  const std::string_view text = bytes.substr(8, length);
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    fail_file(file,
              fmt::format("the header is {}, expected a JSON object of tensors",
                          length == 0 ? "empty (its length is 0)" : "only spaces"),
              header_hint);
  }
  return text;
}

// A whole number of the header (a shape's axis, an offset).
std::size_t whole_number(const std::string& file, const json& value, std::string_view path) {
  if (value.is_number_unsigned() || (value.is_number_integer() && value.get<std::int64_t>() >= 0)) {
    return value.get<std::size_t>();
  }
  fail_value(file, path,
             fmt::format("expected a whole number, 0 or more, found {}", describe(value)));
}

// `name`'s dtype, which must be one safetensors defines.
std::string_view read_dtype(const std::string& file, const json& entry, const std::string& name,
                            std::size_t& bytes) {
  const json& dtype = entry["dtype"];
  const std::string path = tensor_path(name, ".dtype");
  if (!dtype.is_string()) {
    fail_value(file, path,
               fmt::format("expected a dtype such as \"F32\", found {}", describe(dtype)));
  }
  const std::string& text = dtype.get_ref<const std::string&>();
  for (const DtypeSize& known : dtype_sizes) {
    if (known.name == text) {
      bytes = known.bytes;
      return known.name;
    }
  }
  fail_value(file, path, fmt::format("unknown dtype \"{}\"", excerpt(text)),
             "safetensors defines F64, F32, F16, BF16, F8_E5M2, F8_E4M3, F8_E8M0, C64, "
             "I64, I32, I16, I8, U64, U32, U16, U8 and BOOL");
}

// One tensor's entry of the header: {"dtype": …, "shape": […], "data_offsets": [begin, end]},
// its bytes as many as its dtype and shape need.
SafetensorsTensor read_entry(const std::string& file, const std::string& name, const json& entry) {
  if (!entry.is_object()) {
    fail_value(file, tensor_path(name),
               fmt::format("expected a tensor's entry {{\"dtype\", \"shape\", \"data_offsets\"}}, "
                           "found {}",
                           describe(entry)),
               header_hint);
  }
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!entry.contains(field)) {
      fail_value(file, tensor_path(name),
                 fmt::format("missing \"{}\": a tensor's entry has a dtype, a shape and "
                             "data_offsets",
                             field),
                 header_hint);
    }
  }
  SafetensorsTensor tensor{.name = name};
  tensor.dtype = read_dtype(file, entry, name, tensor.element_bytes);
  const json& shape = entry["shape"];
  const std::string shape_path = tensor_path(name, ".shape");
  if (!shape.is_array()) {
    fail_value(file, shape_path,
               fmt::format("expected a list of whole numbers, found {}", describe(shape)));
  }
  std::size_t elements = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    tensor.shape.push_back(whole_number(file, shape[i], element_path(shape_path, i)));
    if (__builtin_mul_overflow(elements, tensor.shape.back(), &elements)) {
      fail_value(file, shape_path, "more elements than any file can hold", damaged_hint);
    }
  }
  const json& offsets = entry["data_offsets"];
  const std::string offsets_path = tensor_path(name, ".data_offsets");
  if (!offsets.is_array() || offsets.size() != 2) {
    fail_value(
        file, offsets_path,
        fmt::format("expected [begin, end], two whole numbers, found {}", describe(offsets)));
  }
  tensor.begin = whole_number(file, offsets[0], offsets_path + "[0]");
  tensor.end = whole_number(file, offsets[1], offsets_path + "[1]");
  if (tensor.end < tensor.begin) {
    fail_value(file, offsets_path,
               fmt::format("[{}, {}] ends before it begins", tensor.begin, tensor.end),
               damaged_hint);
  }
  std::size_t bytes = 0;
  if (__builtin_mul_overflow(elements, tensor.element_bytes, &bytes) ||
      bytes != tensor.end - tensor.begin) {
    const bool overflow = elements > std::numeric_limits<std::size_t>::max() / tensor.element_bytes;
    fail_value(
        file, offsets_path,
        fmt::format("[{}, {}] hold {}, but shape {} of {} takes {} ({} of {} bytes)", tensor.begin,
                    tensor.end, plural(tensor.end - tensor.begin, "byte", "bytes"),
                    shape_text(tensor.shape), tensor.dtype,
                    overflow ? "more than any file holds" : plural(bytes, "byte", "bytes"),
                    plural(elements, "element", "elements"), tensor.element_bytes),
        damaged_hint);
  }
  return tensor;
}

// "__metadata__": an object of strings (the reference implementation's HashMap<String, String>),
// or null.
void check_metadata(const std::string& file, const json& metadata) {
  if (metadata.is_null()) return;
  if (!metadata.is_object()) {
    fail_value(file, "__metadata__",
               fmt::format("expected an object of strings, found {}", describe(metadata)));
  }
  for (const auto& item : metadata.items()) {
    if (!item.value().is_string()) {
      fail_value(file, "__metadata__." + excerpt(item.key()),
                 fmt::format("expected a string, found {}", describe(item.value())));
    }
  }
}

// The tensors' bytes lie back to back, from the data's first byte to the file's last, as the
// reference implementation requires: no tensor outside the data, none overlapping another, no
// byte belonging to none.
void check_layout(const SafetensorsIndex& index, const std::string& file, std::size_t file_size) {
  std::vector<const SafetensorsTensor*> order;
  for (const SafetensorsTensor& tensor : index.tensors) order.push_back(&tensor);
  std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return std::pair(a->begin, a->end) < std::pair(b->begin, b->end);
  });
  const std::size_t data_size = index.data.size();
  const std::size_t header_end = file_size - data_size;  // 8 + the header's length
  std::size_t next = 0;                                  // where the next tensor's bytes must begin
  const SafetensorsTensor* previous = nullptr;
  for (const SafetensorsTensor* tensor : order) {
    const std::string path = tensor_path(tensor->name, ".data_offsets");
    if (tensor->end > data_size) {
      fail_value(file, path,
                 fmt::format("[{}, {}] reach past the end of the data, which holds {} after the "
                             "header",
                             tensor->begin, tensor->end, plural(data_size, "byte", "bytes")),
                 fmt::format("is the file cut off? with its header it should be at least {} "
                             "bytes long, and it is {}; download or copy it again",
                             header_end + tensor->end, file_size));
    }
    if (tensor->begin < next) {
      fail_value(
          file, path,
          fmt::format("[{}, {}] overlap the bytes of {}, [{}, {}]", tensor->begin, tensor->end,
                      tensor_path(previous->name), previous->begin, previous->end),
          damaged_hint);
    }
    if (tensor->begin > next) {
      fail_value(file, path,
                 fmt::format("[{}, {}] leave bytes {} to {} of the data to no tensor",
                             tensor->begin, tensor->end, next, tensor->begin),
                 damaged_hint);
    }
    next = tensor->end;
    previous = tensor;
  }
  if (next < data_size) {
    fail_file(file,
              fmt::format("the last {} after the tensors' data belong to no tensor (the header's "
                          "tensors end at byte {} of the data, which holds {})",
                          plural(data_size - next, "byte", "bytes"), next, data_size),
              damaged_hint);
  }
}

// "layer.10" after "layer.2": names compared with their runs of digits as numbers.
bool natural_less(std::string_view a, std::string_view b) {
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  // The run of digits at `at`, without its leading zeros; `at` moves past it.
  const auto number = [&](std::string_view text, std::size_t& at) {
    const std::size_t end = std::min(text.find_first_not_of("0123456789", at), text.size());
    std::string_view digits = text.substr(at, end - at);
    digits.remove_prefix(std::min(digits.find_first_not_of('0'), digits.size()));
    at = end;
    return digits;
  };
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    if (is_digit(a[i]) && is_digit(b[j])) {
      const std::string_view x = number(a, i);
      const std::string_view y = number(b, j);
      if (x.size() != y.size()) return x.size() < y.size();
      if (x != y) return x < y;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

}  // namespace

bool is_safetensors_file(const std::string& path) {
  if (path == "-") return false;
  if (path.ends_with(".safetensors")) return true;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec || size < 9) return false;
  std::ifstream in(path, std::ios::binary);
  char head[9] = {};
  if (!in.read(head, sizeof head)) return false;
  // No JSON text begins so: its first 8 bytes, read as a length, are far beyond any file.
  const std::uint64_t length = little_endian(head, 8);
  return head[8] == '{' && length >= 2 && length <= size - 8;
}

SafetensorsIndex read_safetensors_index(std::string_view bytes, const std::string& file) {
  const std::string_view text = header_text(bytes, file);
  // The header may be padded with spaces (writers align the data to 8 bytes), which JSON allows.
  const json header = parse_document(text, file + ": header", DocumentKind::state_dict);
  if (!header.is_object()) {
    fail_value(file, "header",
               fmt::format("expected a JSON object of tensors, found {}", describe(header)),
               header_hint);
  }
  SafetensorsIndex index{.tensors = {}, .data = bytes.substr(8 + text.size())};
  for (const auto& item : header.items()) {
    if (item.key() == "__metadata__") {
      check_metadata(file, item.value());
    } else {
      index.tensors.push_back(read_entry(file, item.key(), item.value()));
    }
  }
  check_layout(index, file, bytes.size());
  return index;
}

std::vector<double> tensor_values(const SafetensorsIndex& index, const SafetensorsTensor& tensor,
                                  const std::string& file) {
  const std::size_t count = (tensor.end - tensor.begin) / tensor.element_bytes;
  const char* bytes = index.data.data() + tensor.begin;
  std::vector<double> values(count);
  const std::string_view dtype = tensor.dtype;
  if (dtype == "F64") {
    for (std::size_t i = 0; i < count; ++i) {
      values[i] = std::bit_cast<double>(little_endian(bytes + 8 * i, 8));
    }
  } else if (dtype == "F32") {
    for (std::size_t i = 0; i < count; ++i) {
      values[i] = std::bit_cast<float>(static_cast<std::uint32_t>(little_endian(bytes + 4 * i, 4)));
    }
  } else if (dtype == "F16" || dtype == "BF16") {
    const auto convert = dtype == "F16" ? f16_to_double : bf16_to_double;
    for (std::size_t i = 0; i < count; ++i) {
      values[i] = convert(static_cast<std::uint16_t>(little_endian(bytes + 2 * i, 2)));
    }
  } else {
    const bool whole = dtype.starts_with("I") || dtype.starts_with("U") || dtype == "BOOL";
    fail_value(file, tensor_path(tensor.name),
               fmt::format("unsupported dtype {}: attn-trace reads weights in F64, F32, F16 and "
                           "BF16",
                           dtype),
               whole ? "whole numbers are a buffer (position ids, a mask), not weights: is the "
                       "layer's prefix right?"
                     : "save the weights as floats: {k: v.float() for k, v in "
                       "state_dict.items()}");
  }
  return values;
}

json placeholder_state_dict(const SafetensorsIndex& index) {
  std::vector<std::size_t> order(index.tensors.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return natural_less(index.tensors[a].name, index.tensors[b].name);
  });
  json document = json::object();
  // The names are unique (the header's parser refuses a key twice): appended without a lookup.
  auto& entries = document.get_ref<json::object_t&>();
  entries.reserve(order.size());
  for (const std::size_t i : order) entries.emplace_back(index.tensors[i].name, i);
  return document;
}

void read_layer_values(const SafetensorsIndex& index, json& layer, const WeightsFile& weights,
                       std::string_view prefix) {
  const auto tensor_of = [&](const json& placeholder) -> const SafetensorsTensor& {
    assert(placeholder.is_number_unsigned());
    return index.tensors.at(placeholder.get<std::size_t>());
  };
  std::uint64_t values = 0;
  for (const auto& item : layer.items()) {
    const SafetensorsTensor& tensor = tensor_of(item.value());
    values += (tensor.end - tensor.begin) / tensor.element_bytes;
  }
  const double need = static_cast<double>(values) * bytes_per_loaded_value;
  if (need > static_cast<double>(weights.max_layer_bytes)) {
    fail_file(
        weights.file,
        fmt::format("the {} of {} hold {} numbers, which take about {} of memory once "
                    "read, more than the memory budget of {}",
                    plural(layer.size(), "tensor", "tensors"),
                    prefix.empty() ? "the top level" : fmt::format("layer \"{}\"", excerpt(prefix)),
                    values, format_size(need),
                    format_size(static_cast<double>(weights.max_layer_bytes))),
        "raise --memory-budget if the machine has the memory");
  }
  for (auto& item : layer.items()) {
    const SafetensorsTensor& tensor = tensor_of(item.value());
    item.value() = nested_json(tensor.shape, tensor_values(index, tensor, weights.file));
  }
}

}  // namespace attn_trace::loader
