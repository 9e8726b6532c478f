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

#include "attn_trace/examples.hpp"
#include "attn_trace/suggest.hpp"
#include "attn_trace/text_width.hpp"
#include "commands.hpp"

namespace attn_trace::cli {
namespace {

constexpr std::size_t line_width = 80;

// "I am good: Three tokens of two numbers through one head of …", from the example's own name
// and the first sentence of its description.
std::string summary(const EmbeddedExample& example) {
  const auto doc = nlohmann::json::parse(example.json, nullptr, false);
  const auto text = [&](const char* key) {
    return doc.is_object() && doc.contains(key) && doc[key].is_string()
               ? doc[key].get<std::string>()
               : std::string();
  };
  std::string description = text("description");
  if (const std::size_t end = description.find(". "); end != std::string::npos) {
    description.resize(end + 1);
  }
  const std::string title = text("name");
  return printable(title.empty()         ? description
                   : description.empty() ? title
                                         : title + ": " + description);
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
    fmt::print("{}\n", truncate_to_width(fmt::format("{}  {}{}", name, mark, summary(example)),
                                         line_width));
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
