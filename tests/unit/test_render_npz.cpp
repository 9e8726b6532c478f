// The NumPy export: the archive read back by libzip (its consistency check on), each .npy header
// parsed here, and every number compared bit for bit with the trace's; trace.json parsed by
// nlohmann_json; the options filter what is written; zip64 records read back; a failed write
// throws. tests/numpy_export/check_npz.py reads the same files with NumPy itself.
#include <bit>
#include <cstring>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <zip.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/examples.hpp"
#include "attn_trace/input/init.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/render/npz.hpp"
#include "attn_trace/teach/focus.hpp"
#include "zip_writer.hpp"

using namespace attn_trace;
using json = nlohmann::json;

namespace {

// One .npy member: its header's fields and its data's bytes.
struct Npy {
  std::string descr;
  bool fortran_order = true;
  std::vector<std::size_t> shape;
  std::string data;
};

// The header dict's value after `key`: "'<f8'", "False", "(3, 4)".
std::string dict_value(const std::string& dict, const std::string& key) {
  const std::size_t at = dict.find("'" + key + "': ");
  REQUIRE(at != std::string::npos);
  const std::size_t start = at + key.size() + 4;
  const std::size_t end = dict[start] == '(' ? dict.find(')', start) + 1 : dict.find(',', start);
  return dict.substr(start, end - start);
}

Npy parse_npy(const std::string& bytes) {
  REQUIRE(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t length = static_cast<unsigned char>(bytes[8]) +
                             256 * static_cast<std::size_t>(static_cast<unsigned char>(bytes[9]));
  // NumPy's alignment: the data starts on a multiple of 64, the header ends in '\n'.
  CHECK((10 + length) % 64 == 0);
  const std::string dict = bytes.substr(10, length);
  CHECK(dict.back() == '\n');
  Npy npy;
  const std::string descr = dict_value(dict, "descr");
  npy.descr = descr.substr(1, descr.size() - 2);
  npy.fortran_order = dict_value(dict, "fortran_order") == "True";
  const std::string shape = dict_value(dict, "shape");
  std::istringstream dims(shape.substr(1, shape.size() - 2));
  for (std::string n; std::getline(dims, n, ',');) {
    if (n.find_first_not_of(' ') != std::string::npos) npy.shape.push_back(std::stoull(n));
  }
  npy.data = bytes.substr(10 + length);
  return npy;
}

// Every member of the zip in `bytes`, in the archive's order, read by libzip.
std::vector<std::pair<std::string, std::string>> unzip(const std::string& bytes) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  REQUIRE(source != nullptr);
  zip_t* archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  INFO(zip_error_strerror(&error));
  REQUIRE(archive != nullptr);
  std::vector<std::pair<std::string, std::string>> members;
  for (zip_int64_t i = 0; i < zip_get_num_entries(archive, 0); ++i) {
    zip_stat_t stat;
    REQUIRE(zip_stat_index(archive, static_cast<zip_uint64_t>(i), 0, &stat) == 0);
    CHECK(stat.comp_method == ZIP_CM_STORE);
    zip_file_t* file = zip_fopen_index(archive, static_cast<zip_uint64_t>(i), 0);
    REQUIRE(file != nullptr);
    std::string data(stat.size, '\0');
    // zip_fread checks the CRC-32 once the data is read to its end.
    CHECK(zip_fread(file, data.data(), stat.size) == static_cast<zip_int64_t>(stat.size));
    char past_end;
    CHECK(zip_fread(file, &past_end, 1) == 0);
    CHECK(zip_fclose(file) == 0);
    members.emplace_back(stat.name, std::move(data));
  }
  zip_discard(archive);
  return members;
}

std::string export_npz(const Trace& trace, const JsonOptions& options = {}) {
  std::ostringstream out;
  render_npz(trace, options, out);
  return out.str();
}

// The text of trace.json's 0-d '<U…' array (ASCII, one 4-byte code unit a character).
json trace_json_of(const std::pair<std::string, std::string>& member) {
  REQUIRE(member.first == "trace.json.npy");
  const Npy npy = parse_npy(member.second);
  CHECK(npy.descr == fmt::format("<U{}", npy.data.size() / 4));
  CHECK(npy.shape.empty());
  std::string text;
  for (std::size_t i = 0; i < npy.data.size(); i += 4) {
    std::uint32_t unit = 0;
    std::memcpy(&unit, npy.data.data() + i, 4);
    REQUIRE(unit < 0x80);
    text.push_back(static_cast<char>(unit));
  }
  return json::parse(text);
}

// The trace's tensors that `options` write, as (member name, tensor), in the trace's order.
std::vector<std::pair<std::string, const Tensor*>> written(const Trace& trace,
                                                           const JsonOptions& options) {
  std::vector<std::pair<std::string, const Tensor*>> tensors;
  for (const Stage& s : trace.stages) {
    if (!options.stages.shows(s.id)) continue;
    for (const Tensor& t : s.tensors) {
      if (left_out(s, t, options.weighted_limit)) continue;
      tensors.emplace_back(fmt::format("{}.{}.npy", stage_name(s.id), t.name), &t);
    }
  }
  return tensors;
}

// The archive holds trace.json, then exactly the tensors `options` write, each a float64 C-order
// array of the tensor's shape whose bytes are the trace's doubles (stored or generated).
void require_same_numbers(const Trace& trace, const JsonOptions& options = {}) {
  static_assert(std::endian::native == std::endian::little, "the test reads '<f8'");
  const auto members = unzip(export_npz(trace, options));
  const auto tensors = written(trace, options);
  REQUIRE(!tensors.empty());
  REQUIRE(members.size() == tensors.size() + 1);
  CHECK(members[0].first == "trace.json.npy");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, tensor] = tensors[i];
    INFO(name);
    REQUIRE(members[i + 1].first == name);
    const Npy npy = parse_npy(members[i + 1].second);
    CHECK(npy.descr == "<f8");
    CHECK_FALSE(npy.fortran_order);
    CHECK(npy.shape == tensor->shape);
    REQUIRE(npy.data.size() == tensor->size() * sizeof(double));
    std::vector<double> want;
    if (tensor->generated()) {
      for (std::size_t b = 0; b < tensor->block_count(); ++b) {
        const Matrix block = tensor->block_values(b);
        want.insert(want.end(), block.data(), block.data() + block.size());
      }
    } else {
      want = tensor->data;
    }
    CHECK(std::memcmp(npy.data.data(), want.data(), npy.data.size()) == 0);  // bit for bit
  }
}

Trace example_trace(const std::string& name) {
  const auto example = find_example(name);
  REQUIRE(example);
  return trace_attention(load_spec(example->json, name));
}

}  // namespace

TEST_CASE("npz: every tensor of the default example, bit for bit", "[npz]") {
  const Trace trace = example_trace("i-am-good");
  require_same_numbers(trace);
  const auto members = unzip(export_npz(trace));
  CHECK(members[1].first == "input.X.npy");
  CHECK(members[2].first == "projections.Q.npy");
}

TEST_CASE("npz: two heads and a causal mask, -inf and the split heads bit for bit", "[npz]") {
  const Trace trace = example_trace("multihead");
  REQUIRE(trace.config.num_heads == 2);
  REQUIRE_FALSE(trace.config.masks.empty());
  require_same_numbers(trace);
  const auto members = unzip(export_npz(trace));
  bool masked_inf = false;
  for (const auto& [name, bytes] : members) {
    if (name != "masking.masked.npy") continue;
    const Npy npy = parse_npy(bytes);
    CHECK(npy.shape.size() == 3);  // (H, L, S)
    double first_row[2];
    std::memcpy(first_row, npy.data.data(), sizeof first_row);
    masked_inf = first_row[1] == -HUGE_VAL;  // query 0 cannot see key 1
  }
  CHECK(masked_inf);
}

TEST_CASE("npz: trace.json has the JSON export's head and each tensor's array", "[npz]") {
  const Trace trace = example_trace("multihead");
  const json doc = trace_json_of(unzip(export_npz(trace))[0]);
  CHECK(doc["format"] == "attn-trace");
  CHECK(doc["version"] == 1);
  CHECK(doc["config"]["num_heads"] == 2);
  CHECK(doc["config"]["q_len"] == trace.config.q_len);
  CHECK(doc["tokens"] == trace.tokens.front());
  CHECK(doc["kv_tokens"] == trace.kv_tokens.front());
  CHECK(doc["notes"] == trace.notes);
  CHECK(doc.contains("skipped"));
  CHECK_FALSE(doc.contains("focus"));
  REQUIRE(doc["stages"].size() == trace.stages.size());
  for (std::size_t n = 0; n < trace.stages.size(); ++n) {
    const Stage& s = trace.stages[n];
    const json& stage = doc["stages"][n];
    CHECK(stage["id"] == stage_name(s.id));
    CHECK(stage["formula"] == s.formula);
    REQUIRE(stage["tensors"].size() == s.tensors.size());
    for (std::size_t k = 0; k < s.tensors.size(); ++k) {
      const json& t = stage["tensors"][k];
      CHECK(t["name"] == s.tensors[k].name);
      CHECK(t["shape"] == s.tensors[k].shape);
      CHECK(t["array"] == npz_array_name(s, s.tensors[k]));
      CHECK_FALSE(t.contains("data"));
    }
  }
  CHECK(doc["stages"][4]["tensors"][0]["axes"] == json{"head", "query", "key"});
}

TEST_CASE("npz: --stages, --until and --weighted-limit write what the JSON export writes",
          "[npz]") {
  const Trace trace = example_trace("multihead");
  SECTION("--until scaling") {
    const JsonOptions options{.stages = {.until = StageId::scaling}};
    require_same_numbers(trace, options);
    const json doc = trace_json_of(unzip(export_npz(trace, options))[0]);
    CHECK(doc["stages"].back()["id"] == "scaling");
  }
  SECTION("--stages softmax,output") {
    const JsonOptions options{.stages = {.only = {StageId::softmax, StageId::out_proj}}};
    require_same_numbers(trace, options);
    CHECK(trace_json_of(unzip(export_npz(trace, options))[0])["stages"].size() == 2);
  }
  SECTION("--weighted-limit 0: weighted_values omitted, with why") {
    const JsonOptions options{.stages = {}, .weighted_limit = 0};
    require_same_numbers(trace, options);
    const json doc = trace_json_of(unzip(export_npz(trace, options))[0]);
    bool omitted = false;
    for (const json& stage : doc["stages"]) {
      if (stage["id"] != "weighted_values") continue;
      omitted = stage["tensors"][0].contains("omitted") && !stage["tensors"][0].contains("array");
    }
    CHECK(omitted);
  }
}

TEST_CASE("npz: a generated weighted_values is written block by block, bit for bit", "[npz]") {
  // H·L·S·d = 2·128·128·64 = 2 million numbers: more than the tracer holds whole.
  const Trace trace = trace_attention(
      load_spec(initial_input(InitOptions{
                    .seq_len = 128, .embed_dim = 128, .num_heads = 2, .tokens = {}, .seed = 7}),
                "big.json"));
  const Stage* weighted = trace.find_stage(StageId::weighted_values);
  REQUIRE(weighted);
  REQUIRE(weighted->tensors[0].generated());
  require_same_numbers(trace, JsonOptions{.stages = {.only = {StageId::weighted_values}},
                                          .weighted_limit = std::size_t{1} << 30});
}

TEST_CASE("npz: a focused trace says so in trace.json", "[npz]") {
  const Trace whole = example_trace("multihead");
  const Trace focused = focus_trace(whole, parse_focus("head=1,query=2"), "multihead");
  require_same_numbers(focused);
  const json doc = trace_json_of(unzip(export_npz(focused))[0]);
  CHECK(doc["focus"]["head"] == 1);
  CHECK(doc["focus"]["query"] == 2);
}

// Two members: a short one, and one of 3 MiB written in two parts, the CRC-32 of each part
// computed on a second thread and combined (libzip checks it when reading to the end).
std::string two_members(std::uint64_t zip64_threshold, std::string& second) {
  second.resize(3 << 20);
  for (std::size_t i = 0; i < second.size(); ++i) second[i] = static_cast<char>(i * 2654435761u);
  std::ostringstream out;
  zip::ZipWriter zip(out, zip64_threshold);
  zip.begin("a.npy", 12);
  zip.write("first member", 12);
  zip.end();
  zip.begin("b.npy", second.size());
  zip.write(second.data(), 2 << 20);
  zip.write(second.data() + (2 << 20), second.size() - (2 << 20));
  zip.end();
  zip.finish();
  return out.str();
}

TEST_CASE("npz: the zip records, classic and zip64 (a member or an offset past 4 GiB)", "[npz]") {
  std::string second;
  SECTION("classic") {
    const std::string bytes = two_members(zip::zip64_from, second);
    const auto members = unzip(bytes);
    REQUIRE(members.size() == 2);
    CHECK(members[0] == std::pair<std::string, std::string>{"a.npy", "first member"});
    CHECK(members[1] == std::pair<std::string, std::string>{"b.npy", second});
    CHECK(bytes.find("PK\x06\x06") == std::string::npos);
  }
  SECTION("zip64: a threshold of 0 writes every size and offset the zip64 way") {
    const std::string bytes = two_members(0, second);
    const auto members = unzip(bytes);
    REQUIRE(members.size() == 2);
    CHECK(members[0] == std::pair<std::string, std::string>{"a.npy", "first member"});
    CHECK(members[1] == std::pair<std::string, std::string>{"b.npy", second});
    CHECK(bytes.find("PK\x06\x06") != std::string::npos);  // the zip64 end record
  }
}

TEST_CASE("npz: a failed write throws std::system_error", "[npz]") {
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  CHECK_THROWS_AS(render_npz(example_trace("i-am-good"), {}, out), std::system_error);
}
