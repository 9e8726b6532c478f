// attn-trace examples [--show NAME]: the bundled examples, listed one line each, or one of them
// printed as the input file to start from.
#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <nlohmann/json.hpp>

#include "attn_trace/core/suggest.hpp"
#include "attn_trace/core/text.hpp"
#include "attn_trace/core/text_width.hpp"
#include "attn_trace/input/examples.hpp"
#include "attn_trace/input/load.hpp"
#include "commands.hpp"

namespace attn_trace::cli {
namespace {

constexpr std::size_t line_width = 80;

// "I am good (3 tokens · 1 head)": the example's own name, then as much of what it is made of as
// fits in `width` columns.
std::string summary(const EmbeddedExample& example, std::size_t width) {
  const Spec spec = load_spec(example.json, std::string(example.name));
  std::vector<std::string> facts = {
      spec.key_source == KeySource::self
          ? plural(spec.q_len(), "token", "tokens")
          : fmt::format("{} queries × {} keys", spec.q_len(), spec.kv_len()),
      plural(spec.num_heads, "head", "heads")};
  if (spec.masks.any()) facts.emplace_back("masked");
  if (!spec.published.empty()) facts.emplace_back("published numbers");
  const std::string title = printable(spec.name.empty() ? std::string(example.name) : spec.name);
  for (; !facts.empty(); facts.pop_back()) {
    std::string line = fmt::format("{} ({})", title, fmt::join(facts, " · "));
    if (display_width(line) <= width) return line;
  }
  return truncate_to_width(title, width);
}

void list() {
  std::size_t width = 0;
  for (const EmbeddedExample& example : embedded_examples()) {
    width = std::max(width, display_width(example.name));
  }
  for (const EmbeddedExample& example : embedded_examples()) {
    const std::string mark = example.name == default_example ? "(default) " : "";
    const std::string name =
        std::string(example.name) + std::string(width - example.name.size(), ' ');
    fmt::print("{}  {}{}\n", name, mark,
               summary(example, line_width - width - 2 - display_width(mark)));
  }
  fmt::print(
      "\nattn-trace run NAME traces one; attn-trace examples --show NAME prints its input.\n");
}

}  // namespace

std::string check_example_name(const std::string& name) {
  if (find_example(name)) return {};
  const std::vector<std::string_view> names = example_names();
  const auto suggestion = nearest(name, names);
  return fmt::format("unknown example '{}'{}; examples are: {}", name,
                     suggestion ? fmt::format(" (did you mean '{}'?)", *suggestion) : "",
                     fmt::join(names, ", "));
}

void setup_examples(CLI::App& app) {
  auto show = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "examples", "List the bundled examples, or print one's input JSON to start from.");
  sub->add_option("--show", *show, "Print the input JSON of example NAME")
      ->check(CLI::Validator(check_example_name, "NAME", "example name"));
  sub->callback([show] {
    if (show->empty()) return list();
    const std::string_view json = find_example(*show)->json;  // checked by the validator
    std::cout << json;
    if (!json.ends_with('\n')) std::cout << '\n';
    std::cout.flush();
  });
}

}  // namespace attn_trace::cli
