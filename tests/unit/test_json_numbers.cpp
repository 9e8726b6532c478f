// The JSON export's number formatting (src/render/json_writer.hpp): every double is written as
// the shortest text that reads back as the same double, laid out as JavaScript prints numbers.
// The reference is independent of the writer's: libstdc++'s std::to_chars (Ryu) gives the
// shortest digits, laid out here by the rule of append_number's contract.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "json_writer.hpp"  // src/render

using attn_trace::Index;
using attn_trace::Matrix;
using attn_trace::json_export::append_number;
using attn_trace::json_export::append_rows;

namespace {

std::string written(double value) {
  fmt::memory_buffer out;
  append_number(out, value);
  return fmt::to_string(out);
}

// The layout append_number promises, from std::to_chars's shortest scientific form: plain
// digits up to 21 before the point (1200, 12.34), "0." and up to five zeros before the digits
// (0.0001234), the exponent otherwise (1.234e-7, 1e21).
std::string reference(double value) {
  if (std::isnan(value)) return "\"nan\"";
  if (std::isinf(value)) return value > 0 ? "\"inf\"" : "\"-inf\"";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0";
  char text[64];
  char* end =
      std::to_chars(text, text + sizeof text, std::abs(value), std::chars_format::scientific).ptr;
  const std::string scientific(text, end);  // "1.234e-07"
  const std::size_t e = scientific.find('e');
  std::string digits = scientific.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int count = static_cast<int>(digits.size());
  const int point = std::stoi(scientific.substr(e + 1)) + 1;  // digits before the point
  const std::string sign = value < 0 ? "-" : "";
  if (point >= count && point <= 21) {
    return sign + digits + std::string(static_cast<std::size_t>(point - count), '0');
  }
  if (point > 0 && point <= 21) {
    return sign + digits.substr(0, static_cast<std::size_t>(point)) + "." +
           digits.substr(static_cast<std::size_t>(point));
  }
  if (point > -6 && point <= 0) {
    return sign + "0." + std::string(static_cast<std::size_t>(-point), '0') + digits;
  }
  return sign + digits.substr(0, 1) + (count > 1 ? "." + digits.substr(1) : "") + "e" +
         std::to_string(point - 1);
}

// `text` read back as JSON readers read a number.
double read_back(const std::string& text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  REQUIRE(error == std::errc());
  REQUIRE(end == text.data() + text.size());
  return value;
}

}  // namespace

TEST_CASE("numbers are written as JavaScript lays them out", "[json][numbers]") {
  CHECK(written(0.0) == "0");
  CHECK(written(-0.0) == "-0.0");  // "-0" would read back as the integer 0
  CHECK(written(1) == "1");
  CHECK(written(-1.25) == "-1.25");
  CHECK(written(1200) == "1200");
  CHECK(written(12.34) == "12.34");
  CHECK(written(0.1) == "0.1");
  CHECK(written(0.0001234) == "0.0001234");
  CHECK(written(0.000001) == "0.000001");
  CHECK(written(1e-7) == "1e-7");
  CHECK(written(1.234e-7) == "1.234e-7");
  CHECK(written(1e-300) == "1e-300");
  CHECK(written(5e-324) == "5e-324");  // the smallest denormal
  CHECK(written(-4.9406564584124654e-320) == "-4.9407e-320");
  CHECK(written(2.2250738585072014e-308) == "2.2250738585072014e-308");
  CHECK(written(1.7976931348623157e308) == "1.7976931348623157e308");
  CHECK(written(123456789012345678.0) == "123456789012345680");
  CHECK(written(1e20) == "100000000000000000000");
  CHECK(written(1e21) == "1e21");
  CHECK(written(0.1 + 0.2) == "0.30000000000000004");
  CHECK(written(-0.0019531250000000004) == "-0.0019531250000000004");  // 17 digits
  CHECK(written(std::numeric_limits<double>::infinity()) == "\"inf\"");
  CHECK(written(-std::numeric_limits<double>::infinity()) == "\"-inf\"");
  CHECK(written(std::numeric_limits<double>::quiet_NaN()) == "\"nan\"");
}

TEST_CASE("every double is written as the reference writes it, and reads back exactly",
          "[json][numbers]") {
  std::mt19937_64 random(20261208);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> values = {0.0,     -0.0,   1e-300, -1e-300, 5e-324,
                                -5e-324, 1e-310, 1e21,   1e22,    9.999999999999999e20};
  for (int i = 0; i < 100'000; ++i) {
    std::uint64_t bits = random();  // any double: denormals, huge, tiny, nan, inf
    double any = 0;
    std::memcpy(&any, &bits, sizeof any);
    values.push_back(any);
    values.push_back(std::ldexp(normal(random), static_cast<int>(random() % 160) - 80));
    values.push_back(normal(random));  // the numbers of a trace: 16 or 17 digits, near 1
    values.push_back(static_cast<double>(random() % 1'000'000));  // integers
  }
  std::size_t checked = 0;
  for (const double value : values) {
    const std::string text = written(value);
    INFO(fmt::format("{:a} written as {}", value, text));
    REQUIRE(text == reference(value));
    if (std::isfinite(value)) {
      const double back = read_back(text);
      REQUIRE(std::memcmp(&back, &value, sizeof back) == 0);  // the same bits, -0.0 too
    }
    ++checked;
  }
  CHECK(checked == 400'010);
}

TEST_CASE("rows are lists of numbers, one a line, each number as append_number writes it",
          "[json][numbers]") {
  Matrix m(3, 2);
  m << 0.5, -0.0, 1e-7, std::numeric_limits<double>::infinity(), 12.34, 1200;
  const Eigen::Map<const Matrix> map(m.data(), m.rows(), m.cols());
  fmt::memory_buffer out;
  append_rows(out, map, 0, 3, 2);
  CHECK(fmt::to_string(out) == "\n    [0.5, -0.0],\n    [1e-7, \"inf\"],\n    [12.34, 1200]");
  fmt::memory_buffer tail;
  append_rows(tail, map, 1, 3, 1);  // the rows after the first start with a comma
  CHECK(fmt::to_string(tail) == ",\n  [1e-7, \"inf\"],\n  [12.34, 1200]");
}
