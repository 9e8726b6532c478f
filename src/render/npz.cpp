// The NumPy export (render_npz, npz.hpp): an .npz is a zip archive of .npy files, one per array,
// each member "NAME.npy" the array NAME (numpy/lib/npyio.py). An .npy file (numpy/lib/format.py)
// is "\x93NUMPY", the version 1.0, the header's length (2 bytes, little-endian) and the header,
// a Python dict literal padded with spaces to a '\n' so that the data starts on a multiple of 64,
// then the data in C order. The archive is written as it goes (zip_writer.hpp), stored: the
// numbers of a trace hardly compress (docs/trace-format.md, "The NumPy export").
#include "attn_trace/render/npz.hpp"

#include <bit>
#include <cassert>
#include <cstdint>
#include <sstream>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "zip_writer.hpp"

namespace attn_trace {
namespace {

using ordered_json = nlohmann::ordered_json;

// Both dtypes in the machine's own byte order, which the header names, so that a tensor's doubles
// go out as they lie in memory.
constexpr char byte_order = std::endian::native == std::endian::little ? '<' : '>';

// The .npy header for an array of `descr` ("<f8") and `shape`, up to the first byte of data.
std::string npy_header(std::string_view descr, const std::vector<std::size_t>& shape) {
  std::string dims;
  for (const std::size_t n : shape) dims += fmt::format("{}, ", n);
  if (shape.size() > 1) dims.resize(dims.size() - 2);  // (3, 4); but (3,) and ()
  if (shape.size() == 1) dims.pop_back();
  std::string dict =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", descr, dims);
  constexpr std::size_t preamble = 10;  // magic, version, header length
  const std::size_t total = (preamble + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - preamble - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string header("\x93NUMPY\x01\x00", 8);
  header.push_back(static_cast<char>(dict.size() & 0xFF));
  header.push_back(static_cast<char>(dict.size() >> 8));
  return header + dict;
}

// A trace with everything of `trace` but its stages: what render_json writes of it is the
// document's head, every field but "stages".
Trace without_stages(const Trace& trace) {
  Trace head;
  head.name = trace.name;
  head.description = trace.description;
  head.source = trace.source;
  head.config = trace.config;
  head.tokens = trace.tokens;
  head.kv_tokens = trace.kv_tokens;
  head.notes = trace.notes;
  head.warnings = trace.warnings;
  head.skipped = trace.skipped;
  head.published = trace.published;
  head.focus = trace.focus;
  return head;
}

// One stage of trace.json: the JSON export's, each tensor naming its array instead of its data.
ordered_json stage_json(const Stage& s, const JsonOptions& options) {
  ordered_json stage = {
      {"id", stage_name(s.id)}, {"title", s.title}, {"formula", s.formula}, {"shapes", s.shapes}};
  if (!s.note.empty()) stage["note"] = s.note;
  ordered_json tensors = ordered_json::array();
  for (const Tensor& t : s.tensors) {
    ordered_json tensor = {{"name", t.name}, {"axes", ordered_json::array()}, {"shape", t.shape}};
    for (const Axis a : t.axes) tensor["axes"].push_back(axis_name(a));
    if (const auto why = left_out(s, t, options.weighted_limit)) {
      tensor["omitted"] = *why;
    } else {
      tensor["array"] = npz_array_name(s, t);
    }
    if (t.boolean) tensor["boolean"] = true;
    tensors.push_back(std::move(tensor));
  }
  stage["tensors"] = std::move(tensors);
  return stage;
}

// The numbers of `t`, block by block: stored ones as they lie, generated ones computed a block at
// a time and dropped once written.
void write_data(zip::ZipWriter& zip, const Tensor& t) {
  if (!t.generated()) {
    assert(t.data.size() == t.size());
    zip.write(t.data.data(), t.data.size() * sizeof(double));
    return;
  }
  for (std::size_t b = 0; b < t.block_count(); ++b) {
    const Matrix block = t.block_values(b);
    zip.write(block.data(), static_cast<std::size_t>(block.size()) * sizeof(double));
  }
}

}  // namespace

std::string npz_array_name(const Stage& stage, const Tensor& tensor) {
  return fmt::format("{}.{}", stage_name(stage.id), tensor.name);
}

std::string npz_trace_json(const Trace& trace, const JsonOptions& options) {
  // The head comes from the JSON export itself, so the two say the same, field for field.
  std::ostringstream head_text;
  render_json(without_stages(trace), JsonOptions{}, head_text);
  ordered_json document = ordered_json::parse(head_text.str());
  ordered_json& stages = document["stages"];
  for (const Stage& s : trace.stages) {
    if (options.stages.shows(s.id)) stages.push_back(stage_json(s, options));
  }
  // ASCII only (other characters as \u escapes): each character is then one UCS-4 code unit of
  // the NumPy string.
  return document.dump(2, ' ', true, nlohmann::json::error_handler_t::replace) + "\n";
}

void render_npz(const Trace& trace, const JsonOptions& options, std::ostream& out) {
  zip::ZipWriter zip(out);

  // trace.json: a 0-d array of dtype <U(length), the text as 4-byte code units.
  const std::string text = npz_trace_json(trace, options);
  const std::string header = npy_header(fmt::format("{}U{}", byte_order, text.size()), {});
  std::vector<std::uint32_t> units(text.begin(), text.end());
  zip.begin("trace.json.npy", header.size() + units.size() * sizeof(std::uint32_t));
  zip.write(header.data(), header.size());
  zip.write(units.data(), units.size() * sizeof(std::uint32_t));
  zip.end();

  const std::string f8 = fmt::format("{}f8", byte_order);
  for (const Stage& s : trace.stages) {
    if (!options.stages.shows(s.id)) continue;
    for (const Tensor& t : s.tensors) {
      if (left_out(s, t, options.weighted_limit)) continue;
      const std::string array = npy_header(f8, t.shape);
      zip.begin(npz_array_name(s, t) + ".npy", array.size() + t.size() * sizeof(double));
      zip.write(array.data(), array.size());
      write_data(zip, t);
      zip.end();
    }
  }
  zip.finish();
}

}  // namespace attn_trace
