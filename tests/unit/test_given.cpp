// The learner's file for `attn-trace check` (input/given.hpp): JSON objects of named arrays, .npz
// archives and attn-trace traces, read into GivenTensors; and every file that is not one, refused
// with its message. tests/check/make_given_fixtures.py wrote tests/check/given/ (files to read) and
// tests/check/bad_given/ (files to refuse, each with its message in expected.tsv).
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/examples.hpp"
#include "attn_trace/input/given.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/render/npz.hpp"
#include "attn_trace/teach/check.hpp"
#include "attn_trace/teach/focus.hpp"

using namespace attn_trace;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

namespace fs = std::filesystem;

const fs::path tests_dir = ATTN_TRACE_TESTS_DIR;
const fs::path given_dir = tests_dir / "check" / "given";
const fs::path bad_dir = tests_dir / "check" / "bad_given";
constexpr std::uint64_t budget = std::uint64_t{1} << 30;  // 1 GiB, the CLI's default is larger
constexpr double inf = std::numeric_limits<double>::infinity();

// A file in a fresh temporary folder, holding `text`.
fs::path temp_file(const std::string& name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / "attn_trace_test_given";
  fs::create_directories(dir);
  const fs::path path = dir / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// What the CLI would print for the file at `path`: the message, and the hint on a line of its own.
std::string message_of(const fs::path& path, std::uint64_t memory_budget = budget) {
  try {
    (void)load_given_tensors(path.string(), memory_budget);
  } catch (const Error& e) {
    return std::string(e.what()) + "\nhint: " + e.hint();
  }
  return "(no error)";
}

const GivenTensor& named(const GivenTensors& given, const std::string& name) {
  for (const GivenTensor& t : given.tensors) {
    if (t.name == name) return t;
  }
  FAIL("no tensor " << name);
  throw;  // not reached
}

std::vector<std::string> names_of(const GivenTensors& given) {
  std::vector<std::string> names;
  for (const GivenTensor& t : given.tensors) names.push_back(t.name);
  return names;
}

using Shape = std::vector<std::size_t>;

// Every tensor of `trace` that its JSON writes with numbers, as `given` must hold them: the same
// names, in the same order, the same shapes and bit for bit the same numbers.
void require_same_as_trace(const GivenTensors& given, const Trace& trace,
                           const std::vector<std::string>& omitted = {}) {
  std::size_t i = 0;
  for (const Stage& stage : trace.stages) {
    for (const Tensor& tensor : stage.tensors) {
      const std::string name = std::string(stage_name(stage.id)) + "." + tensor.name;
      if (std::find(omitted.begin(), omitted.end(), name) != omitted.end()) continue;
      INFO(name);
      REQUIRE(i < given.tensors.size());
      const GivenTensor& read = given.tensors[i++];
      CHECK(read.name == name);
      CHECK(read.shape == tensor.shape);
      REQUIRE(read.values.size() == tensor.data.size());
      for (std::size_t k = 0; k < read.values.size(); ++k) {
        const double want = tensor.data[k];
        if (std::isnan(want)) {
          CHECK(std::isnan(read.values[k]));
        } else {
          CHECK(read.values[k] == want);
        }
      }
    }
  }
  CHECK(i == given.tensors.size());
}

}  // namespace

TEST_CASE("A JSON object of named arrays: every kind of leaf, every rank", "[given]") {
  const fs::path path = temp_file("mine.json", R"({
    "scores": [[1, -2.5], ["-inf", NaN]],
    "scale": Infinity,
    "leaves": [-Infinity, "inf", "nan", true, false, 0.1, 3],
    "weights": [[[[0.25, 0.75]]], [[[1, 0]]]],
    "split_heads.Q": "-inf"
  })");
  const GivenTensors given = load_given_tensors(path.string(), budget);
  CHECK(given.file == path.string());
  CHECK_FALSE(given.from_trace);
  // The file's order, not the alphabet's.
  REQUIRE(names_of(given) ==
          std::vector<std::string>{"scores", "scale", "leaves", "weights", "split_heads.Q"});

  const GivenTensor& scores = named(given, "scores");
  CHECK(scores.shape == Shape{2, 2});
  REQUIRE(scores.values.size() == 4);
  CHECK(scores.values[0] == 1);
  CHECK(scores.values[1] == -2.5);
  CHECK(scores.values[2] == -inf);
  CHECK(std::isnan(scores.values[3]));

  const GivenTensor& scale = named(given, "scale");
  CHECK(scale.shape.empty());
  CHECK(scale.values == std::vector<double>{inf});

  const GivenTensor& leaves = named(given, "leaves");
  CHECK(leaves.shape == Shape{7});
  REQUIRE(leaves.values.size() == 7);
  CHECK(leaves.values[0] == -inf);
  CHECK(leaves.values[1] == inf);
  CHECK(std::isnan(leaves.values[2]));
  CHECK(leaves.values[3] == 1);  // true
  CHECK(leaves.values[4] == 0);  // false
  CHECK(leaves.values[5] == 0.1);
  CHECK(leaves.values[6] == 3);

  const GivenTensor& weights = named(given, "weights");
  CHECK(weights.shape == Shape{2, 1, 1, 2});
  CHECK(weights.values == std::vector<double>{0.25, 0.75, 1, 0});

  CHECK(named(given, "split_heads.Q").values == std::vector<double>{-inf});
}

TEST_CASE("An .npz by np.savez: every dtype and layout, float32 as its exact doubles", "[given]") {
  const GivenTensors given = load_given_tensors((given_dir / "mine.npz").string(), budget);
  CHECK_FALSE(given.from_trace);
  REQUIRE(names_of(given) == std::vector<std::string>{"attn_scores", "p_attn", "counts", "mask",
                                                      "fortran", "big_endian", "half", "weighted",
                                                      "scale"});

  // float32: 0.1f is 0.100000001490116119384765625, not 0.1.
  const GivenTensor& scores = named(given, "attn_scores");
  CHECK(scores.shape == Shape{2, 3});
  CHECK(scores.values == std::vector<double>{static_cast<double>(0.1f), -2.5, 3.0,
                                             static_cast<double>(1e-8f), inf, -inf});
  CHECK(scores.values[0] != 0.1);

  const GivenTensor& p_attn = named(given, "p_attn");  // float64, (1, 1, 1, 3)
  CHECK(p_attn.shape == Shape{1, 1, 1, 3});
  REQUIRE(p_attn.values.size() == 3);
  CHECK(p_attn.values[0] == 0.25);
  CHECK(p_attn.values[1] == 0.75);
  CHECK(std::isnan(p_attn.values[2]));

  CHECK(named(given, "counts").values == std::vector<double>{-3, 0, 1099511627776.0});
  CHECK(named(given, "mask").values == std::vector<double>{1, 0, 0, 1});  // booleans
  // Fortran order, read in C order: arange(6).reshape(2, 3).
  CHECK(named(given, "fortran").shape == Shape{2, 3});
  CHECK(named(given, "fortran").values == std::vector<double>{0, 1, 2, 3, 4, 5});
  CHECK(named(given, "big_endian").values == std::vector<double>{1.5, -0.5});
  // float16: 0.1 is 0.0999755859375 = 1638.4 rounded / 2^14.
  CHECK(named(given, "half").values == std::vector<double>{0.0999755859375, 65504});

  const GivenTensor& weighted = named(given, "weighted");  // five axes, (B, H, L, S, d)
  CHECK(weighted.shape == Shape{2, 1, 2, 2, 3});
  REQUIRE(weighted.values.size() == 24);
  for (std::size_t i = 0; i < 24; ++i) CHECK(weighted.values[i] == static_cast<double>(i) / 8);

  const GivenTensor& scale = named(given, "scale");  // np.float64(0.5): shape ()
  CHECK(scale.shape.empty());
  CHECK(scale.values == std::vector<double>{0.5});
}

TEST_CASE("An .npz by np.savez_compressed", "[given]") {
  const GivenTensors given =
      load_given_tensors((given_dir / "mine-compressed.npz").string(), budget);
  REQUIRE(names_of(given) == std::vector<std::string>{"q", "split_heads"});
  CHECK(named(given, "q").values[0] == static_cast<double>(0.1f));
  CHECK(named(given, "split_heads").shape == Shape{1, 1, 1, 3});
}

TEST_CASE("A trace (run --format json) gives every tensor with numbers, as STAGE.TENSOR",
          "[given]") {
  SECTION("karim: one head, every stage's numbers bit for bit") {
    const GivenTensors given =
        load_given_tensors((given_dir / "karim-trace.json").string(), budget);
    CHECK(given.from_trace);
    const auto example = find_example("karim");
    REQUIRE(example);
    const Trace trace = trace_attention(load_spec(example->json, "karim"));
    REQUIRE(given.tensors.size() == 9);
    CHECK(given.tensors[0].name == "input.X");
    CHECK(given.tensors[1].name == "projections.Q");
    CHECK(named(given, "scores.scores").shape == Shape{3, 3});
    require_same_as_trace(given, trace);
  }
  SECTION("two heads and masks: split_heads, booleans, -inf, and weighted left out") {
    const GivenTensors given =
        load_given_tensors((given_dir / "masked-trace.json").string(), budget);
    CHECK(given.from_trace);
    LoadOptions options;
    options.num_heads = 2;
    const Trace trace = trace_attention(load_spec_file(
        (tests_dir / "cli" / "inputs" / "causal_padding.json").string(), budget, options));
    require_same_as_trace(given, trace, {"weighted_values.weighted"});
    CHECK(named(given, "split_heads.Q").shape == Shape{2, 4, 1});
    CHECK(named(given, "masking.key_padding_mask").values == std::vector<double>{0, 0, 0, 1});
    CHECK(named(given, "masking.masked").values[1] == -inf);  // query 0 cannot see key 1
    const auto names = names_of(given);
    CHECK(std::find(names.begin(), names.end(), "weighted_values.weighted") == names.end());
    CHECK(std::find(names.begin(), names.end(), "merge_heads.context") != names.end());
  }
}

TEST_CASE("attn-trace's own .npz (run --format npz): every tensor as STAGE.TENSOR, checked right",
          "[given]") {
  const auto example = find_example("multihead");
  REQUIRE(example);
  const Spec spec = load_spec(example->json, "multihead");
  const Trace trace = trace_attention(spec);
  std::ostringstream npz;
  render_npz(trace, {}, npz);
  const GivenTensors given = read_given_tensors(npz.str(), "multihead.npz", budget);
  CHECK(given.from_trace);  // its trace.json was read, not refused as text
  CHECK(given.tensors.front().name == "input.X");
  require_same_as_trace(given, trace);
  // As MINE, against its own input: every tensor matches.
  const CheckReport report = check_tensors(spec, trace, given, CheckOptions{});
  CHECK(report.match());
  CHECK(report.tensors.size() >= 10);

  SECTION("a focused one is refused, as a focused JSON trace is") {
    const Trace focused = focus_trace(trace, parse_focus("head=1"), "multihead");
    std::ostringstream focused_npz;
    render_npz(focused, {}, focused_npz);
    try {
      (void)read_given_tensors(focused_npz.str(), "focused.npz", budget);
      FAIL("a focused .npz was read");
    } catch (const Error& e) {
      CHECK_THAT(e.what(), StartsWith("focused.npz: focus: this trace was written with --focus, "
                                      "so its tensors are slices"));
      CHECK_THAT(e.hint(), Contains("--format npz"));
    }
  }
}

TEST_CASE("Files that cannot be read", "[given]") {
  SECTION("missing") {
    const fs::path missing = bad_dir / "no-such-file.json";
    CHECK_THAT(message_of(missing), StartsWith(missing.string() + ": no such file"));
  }
  SECTION("a directory") {
    CHECK_THAT(message_of(bad_dir), Contains("is a directory"));
  }
  SECTION("over the memory budget, whatever its form") {
    // 1 KiB lets 64 bytes be read: reading takes up to 16 times the file's size.
    CHECK_THAT(message_of(given_dir / "mine.npz", 1024),
               Contains("mine.npz: 2.24 KiB of NumPy data, more than the 64 bytes"));
    CHECK_THAT(message_of(given_dir / "karim-trace.json", 1024),
               Contains("of JSON, more than the 64 bytes that the memory budget of 1 KiB allows"));
  }
}

// tests/check/bad_given/expected.tsv: NAME <tab> STATUS <tab> FRAGMENT [<tab> ARGS...], as
// tests/bad_inputs/check.sh reads it; here the message is load_given_tensors', which names the file
// by its path, and --memory-budget is the only argument.
TEST_CASE("Every bad learner's file gets its message (bad_given/expected.tsv)", "[given]") {
  std::ifstream tsv(bad_dir / "expected.tsv");
  REQUIRE(tsv);
  std::vector<std::string> listed;
  for (std::string line; std::getline(tsv, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::istringstream in(line);
    for (std::string field; std::getline(in, field, '\t');) fields.push_back(field);
    REQUIRE(fields.size() >= 3);
    const std::string& name = fields[0];
    listed.push_back(name);
    std::uint64_t memory_budget = budget;
    if (fields.size() == 5 && fields[3] == "--memory-budget" && fields[4].ends_with("KiB")) {
      memory_budget = std::stoull(fields[4]) * 1024;
    } else {
      REQUIRE(fields.size() == 3);
    }
    DYNAMIC_SECTION(name) {
      CHECK(fields[1] == "1");
      const fs::path path = bad_dir / name;
      REQUIRE(fs::exists(path));
      const std::string message = message_of(path, memory_budget);
      // One message, naming the file first, holding the fragment.
      CHECK_THAT(message, StartsWith(path.string() + ":"));
      CHECK_THAT("attn-trace: error: " + message, Contains(fields[2]));
    }
  }
  // Every file of bad_given/ is listed: a file without a line is a test nobody runs.
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(bad_dir)) {
    const std::string file = entry.path().filename().string();
    if (file == "expected.tsv") continue;
    ++files;
    CHECK(std::find(listed.begin(), listed.end(), file) != listed.end());
  }
  CHECK(files == listed.size());
  CHECK(files >= 30);
}
