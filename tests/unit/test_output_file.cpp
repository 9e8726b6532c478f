// AtomicFile: the destination holds either its old contents or the complete new ones.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "attn_trace/core/error.hpp"
#include "attn_trace/render/output_file.hpp"

using namespace attn_trace;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path =
      fs::temp_directory_path() / fs::path("attn-trace-test-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  [[nodiscard]] std::size_t entries() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(path), {}));
  }
};

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("commit puts the complete file in place", "[output]") {
  TempDir dir;
  const fs::path target = dir.path / "trace.json";
  {
    AtomicFile file(target.string());
    file.stream() << "complete";
    CHECK_FALSE(fs::exists(target));  // nothing at the destination until commit
    file.commit();
  }
  CHECK(read(target) == "complete");
  CHECK(dir.entries() == 1);  // no temporary left behind
}

TEST_CASE("a failure before commit leaves an existing file untouched", "[output]") {
  TempDir dir;
  const fs::path target = dir.path / "trace.json";
  std::ofstream(target) << "old and good";
  try {
    AtomicFile file(target.string());
    file.stream() << "half of the new";
    throw std::runtime_error("the renderer failed half way");
  } catch (const std::runtime_error&) {
  }
  CHECK(read(target) == "old and good");
  CHECK(dir.entries() == 1);
}

TEST_CASE("paths that cannot be written are clear errors", "[output]") {
  TempDir dir;
  REQUIRE_THROWS_AS(AtomicFile((dir.path / "missing" / "x.json").string()), Error);
  REQUIRE_THROWS_WITH(
      AtomicFile((dir.path / "missing" / "x.json").string()),
      Catch::Contains("cannot write") && Catch::Contains("No such file or directory"));
  REQUIRE_THROWS_WITH(AtomicFile(dir.path.string()), Catch::Contains("it is a directory"));
  CHECK(dir.entries() == 0);
}
