// NumPy's .npy and .npz as input: tests/numpy/ was written by tools/make_numpy_cases.py with
// np.save, np.savez and np.savez_compressed, and holds what nn.MultiheadAttention computes from the
// same arrays, and each case again as an input file (CASE.json).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/load.hpp"
#include "golden.hpp"

using namespace attn_trace;
using json = nlohmann::json;
using Catch::Matchers::Contains;

namespace {

const std::filesystem::path cases = std::filesystem::path(ATTN_TRACE_TESTS_DIR) / "numpy";

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// Splits "the cat sat" at spaces.
std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

// The options a case's expected.json names.
LoadOptions options_of(const json& args) {
  LoadOptions options;
  if (args.contains("heads")) options.num_heads = args["heads"].get<Index>();
  if (args.contains("tokens")) options.tokens = words(args["tokens"].get<std::string>());
  return options;
}

// The NumPy file of case `name`: NAME.npz, or NAME.npy.
std::filesystem::path numpy_file(const std::string& name) {
  const std::filesystem::path npz = cases / (name + ".npz");
  return std::filesystem::exists(npz) ? npz : cases / (name + ".npy");
}

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(cases)) {
    const std::string file = entry.path().filename().string();
    if (file.ends_with(".expected.json")) names.push_back(file.substr(0, file.size() - 14));
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string message_of(std::string_view bytes, const std::string& file,
                       const LoadOptions& options = {}) {
  try {
    (void)load_spec(bytes, file, options);
  } catch (const Error& e) {
    return std::string(e.what()) + "\nhint: " + e.hint();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("NumPy cases trace as nn.MultiheadAttention computes them", "[numpy]") {
  const auto names = case_names();
  REQUIRE(names.size() == 5);
  for (const std::string& name : names) {
    DYNAMIC_SECTION(name) {
      const json expected = json::parse(read(cases / (name + ".expected.json")));
      const LoadOptions options = options_of(expected["args"]);
      const std::filesystem::path file = numpy_file(name);
      const Trace trace = trace_attention(load_spec_file(file.string(), UINT64_MAX, options));
      REQUIRE(!expected["stages"].empty());
      golden::check_stages(trace, expected["stages"]);
      // The same case written as an input file traces to the same doubles, every one.
      const Trace from_json =
          trace_attention(load_spec(read(cases / (name + ".json")), name + ".json", options));
      golden::require_identical(trace, from_json);
    }
  }
}

TEST_CASE("float32 and float16 values are converted to double exactly", "[numpy]") {
  // CASE.json holds Python's float() of each float32 and float16: the exact double.
  for (const char* name : {"x-f32-fortran", "x-f16-big-batched", "batched-f32-causal"}) {
    INFO(name);
    const Spec spec = load_spec(read(numpy_file(name)), name, options_of(json::object()));
    const json doc = json::parse(read(cases / (std::string(name) + ".json")));
    const json& input = doc["input"];
    const bool batched = input[0][0].is_array();
    REQUIRE(spec.inputs.size() == (batched ? input.size() : 1));
    for (std::size_t b = 0; b < spec.inputs.size(); ++b) {
      const json& rows = batched ? input[b] : input;
      const Matrix& x = spec.inputs[b];
      REQUIRE(x.rows() == static_cast<Index>(rows.size()));
      for (Index i = 0; i < x.rows(); ++i) {
        for (Index j = 0; j < x.cols(); ++j) {
          const double expected = rows[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
          CHECK(x(i, j) == expected);
          // And it is a float32 (float16 values are float32 values too): no digits were added.
          CHECK(static_cast<double>(static_cast<float>(x(i, j))) == x(i, j));
        }
      }
    }
  }
}

TEST_CASE("Fortran order is read as NumPy reads it", "[numpy]") {
  // x-f32-fortran's X, row-major in the JSON: element (0, 1) is not the second number stored.
  const Spec spec = load_spec_file((cases / "x-f32-fortran.npy").string());
  const json doc = json::parse(read(cases / "x-f32-fortran.json"));
  REQUIRE(spec.inputs.size() == 1);
  CHECK(spec.inputs[0](0, 1) == doc["input"][0][1].get<double>());
  CHECK(spec.inputs[0](2, 3) == doc["input"][2][3].get<double>());
  CHECK(spec.inputs[0](0, 1) != spec.inputs[0](1, 0));
}

TEST_CASE("the labels of --tokens go to every batch, replace the file's own and count L",
          "[numpy]") {
  LoadOptions options;
  options.tokens = words("I am good");
  const Spec spec = load_spec_file((cases / "x-f16-big-batched.npy").string(), UINT64_MAX, options);
  REQUIRE(spec.tokens.size() == 2);
  CHECK(spec.tokens[0] == words("I am good"));
  CHECK(spec.tokens[1] == words("I am good"));

  options.tokens = words("the cat");
  CHECK_THAT(message_of(read(cases / "x-f16-big-batched.npy"), "x.npy", options),
             Contains("x.npy: --tokens: expected 3 token labels, one per row of input, found 2"));

  // A JSON input's own tokens give way, with a note.
  const std::string text = R"({"input": [[1, 0], [0, 1]], "tokens": ["a", "b"]})";
  options.tokens = words("x y");
  const Spec replaced = load_spec(text, "t.json", options);
  CHECK(replaced.tokens[0] == words("x y"));
  REQUIRE(!replaced.notes.empty());
  CHECK_THAT(replaced.notes.back(), Contains("token labels from --tokens"));
  options.tokens = words("a b");
  CHECK(load_spec(text, "t.json", options).notes.empty());
}

TEST_CASE("an .npz unpacks no further than the budget allows", "[numpy][memory]") {
  const std::string bomb =
      read(std::filesystem::path(ATTN_TRACE_TESTS_DIR) / "bad_inputs" / "npz-zip-bomb.npz");
  LoadOptions options;
  options.max_unpacked = std::uint64_t{4} << 20;
  CHECK_THAT(
      message_of(bomb, "bomb.npz", options),
      Contains("bomb.npz: its arrays unpack to more than 4 MiB, the most the memory budget lets an "
               "input take"));
  // Its 32 MiB, declared honestly, load under a budget that has room for them.
  options.max_unpacked = std::uint64_t{64} << 20;
  options.num_heads = 1;
  CHECK(load_spec(bomb, "bomb.npz", options).inputs[0].rows() == 4096);
}

TEST_CASE("NumPy files are told from JSON by their first bytes", "[numpy]") {
  // The .npy under a .json name still loads; JSON text is never taken for NumPy.
  const std::string npy = read(cases / "x-f32-fortran.npy");
  CHECK(load_spec(npy, "renamed.json").inputs[0].cols() == 4);
  CHECK_THAT(message_of("PK", "short.json"), Contains("short.json"));
  // torch.save's zip archives, whose first member is "<name>/data.pkl", keep their own message.
  const std::string torch_save =
      std::string("PK\x03\x04\0\0\x08\x08", 8) + std::string(18, '\0') + "archive/data.pkl";
  CHECK_THAT(message_of(torch_save, "model.pt"), Contains("this looks like a torch.save file"));
  CHECK_THAT(message_of(std::string("\x93NUMPY\x01", 7), "cut.npy"),
             Contains("cut.npy: input: expected an .npy header, found a file that ends"));
}

TEST_CASE("the .npy format's versions 2.0 and 3.0 read as 1.0 does", "[numpy]") {
  // Version 1.0 has a 2-byte header length, 2.0 and 3.0 (NumPy's choice for headers over 64 KiB
  // and for UTF-8 ones) a 4-byte one; the header and the data are the same.
  const std::string v1 = read(cases / "x-f32-fortran.npy");
  REQUIRE(v1.substr(6, 2) == std::string("\x01\x00", 2));
  const Spec expected = load_spec(v1, "v1.npy");
  for (const char major : {'\x02', '\x03'}) {
    const std::string v =
        v1.substr(0, 6) + major + '\0' + v1.substr(8, 2) + std::string(2, '\0') + v1.substr(10);
    const Spec spec = load_spec(v, "v.npy");
    REQUIRE(spec.inputs.size() == 1);
    CHECK(spec.inputs[0] == expected.inputs[0]);
  }
}

TEST_CASE("a uint8 attn_mask or key_padding_mask blocks where it is not 0, as PyTorch reads it",
          "[numpy]") {
  const Spec as_uint8 = load_spec(read(cases / "masks-uint8.npz"), "masks-uint8.npz");
  const Spec as_bool = load_spec(read(cases / "masks-bool.npz"), "masks-bool.npz");
  const Trace uint8_trace = trace_attention(as_uint8);
  golden::require_identical(uint8_trace, trace_attention(as_bool));
  // Query 0 sees keys 0 and 1 but key 1 is blocked by attn_mask, key 2 by the padding: only key 0.
  const Stage* softmax = golden::find_stage(uint8_trace, "softmax");
  REQUIRE(softmax != nullptr);
  const Tensor* weights = golden::find_tensor(*softmax, "weights");
  REQUIRE(weights != nullptr);
  CHECK(weights->data[0] == 1.0);
  CHECK(weights->data[1] == 0.0);
  CHECK(weights->data[2] == 0.0);
}
