// Mistyped flags and subcommands (usage.hpp).
#include "usage.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "attn_trace/core/suggest.hpp"

namespace attn_trace::cli {
namespace {

std::vector<const CLI::App*> subcommands_of(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App*) { return true; });
}

// Every long flag of `command`, with its dashes, in the order its help lists them.
std::vector<std::string> long_flags(const CLI::App& command) {
  std::vector<std::string> flags;
  for (const CLI::Option* option : command.get_options()) {
    for (const std::string& name : option->get_lnames()) flags.push_back("--" + name);
  }
  return flags;
}

// The option of `command` that `typed` names (`--heads`, `--heads=2`, `-o`, `-otrace.json`),
// if any.
const CLI::Option* option_named(const CLI::App& command, std::string_view typed) {
  for (const CLI::Option* option : command.get_options()) {
    if (typed.starts_with("--")) {
      const std::string_view name = typed.substr(2, typed.find('=') - 2);
      if (std::ranges::count(option->get_lnames(), name) > 0) return option;
    } else if (typed.size() >= 2 &&
               std::ranges::count(option->get_snames(), typed.substr(1, 1)) > 0) {
      return option;
    }
  }
  return nullptr;
}

bool takes_value(const CLI::Option& option) {
  return option.get_items_expected_max() > 0;
}

// Whether `typed`, which starts with '-', is a flag as CLI11 reads it here: a long flag of
// `command`, or a short one (`-h`; `-o` followed by its value, `-otrace.json`). A short flag that
// takes no value followed by more letters (`-heads`: -h and "eads") is a long flag with one dash.
bool known_flag(const CLI::App& command, std::string_view typed) {
  const CLI::Option* option = option_named(command, typed);
  if (option == nullptr) return false;
  if (typed.starts_with("--") || typed.size() == 2) return true;
  // -otrace.json is -o and its value; -output, a long flag with one dash, is not.
  const std::string as_long = "-" + std::string(typed.substr(0, typed.find('=')));
  return takes_value(*option) && std::ranges::count(long_flags(command), as_long) == 0;
}

// "-5", "-0.5", "-": values, never flags.
bool looks_like_flag(std::string_view word) {
  return word.size() >= 2 && word[0] == '-' &&
         !(std::isdigit(static_cast<unsigned char>(word[1])) || word[1] == '.');
}

UsageProblem unknown_flag(const CLI::App& app, const CLI::App& command, std::string_view typed) {
  const std::vector<std::string> flags = long_flags(command);
  const std::vector<std::string_view> names(flags.begin(), flags.end());
  const bool top = &command == &app;
  const std::string who = top ? app.get_name() : command.get_name();
  if (const auto suggestion = nearest_flag(typed, names)) {
    return {fmt::format("{} has no flag {}: did you mean {}?", who, typed, *suggestion), ""};
  }
  if (top) {  // a subcommand's flag given before the subcommand: say whose it is
    std::vector<std::string> owners;
    const std::string name(typed.substr(0, typed.find('=')));
    for (const CLI::App* sub : subcommands_of(app)) {
      if (std::ranges::count(long_flags(*sub), name) > 0) owners.push_back(sub->get_name());
    }
    if (!owners.empty()) {
      return {fmt::format("{} has no flag {}, it is a flag of {}", who, typed,
                          fmt::join(owners, " and ")),
              fmt::format("put it after the subcommand: {} {} {}", app.get_name(), owners.front(),
                          typed)};
    }
  }
  return {fmt::format("{} has no flag {}", who, typed),
          fmt::format("the flags of {} are {}; '{}{} --help' says what each does", who,
                      fmt::join(flags, ", "), app.get_name(), top ? "" : " " + who)};
}

UsageProblem unknown_subcommand(const CLI::App& app, std::string_view typed) {
  std::vector<std::string> names;
  for (const CLI::App* sub : subcommands_of(app)) names.push_back(sub->get_name());
  const std::vector<std::string_view> candidates(names.begin(), names.end());
  if (const auto suggestion = nearest(typed, candidates)) {
    return {fmt::format("{} has no subcommand '{}': did you mean '{}'?", app.get_name(), typed,
                        *suggestion),
            ""};
  }
  return {fmt::format("{} has no subcommand '{}'", app.get_name(), typed),
          fmt::format("the subcommands are {}", fmt::join(names, ", "))};
}

}  // namespace

std::optional<UsageProblem> find_unknown_argument(const CLI::App& app,
                                                  std::span<const std::string> args) {
  const CLI::App* command = &app;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "--") return std::nullopt;
    if (!looks_like_flag(word)) {
      if (command != &app) continue;  // a value, or the subcommand's FILE or CELL
      const CLI::App* sub = nullptr;
      for (const CLI::App* candidate : subcommands_of(app)) {
        if (candidate->check_name(word)) sub = candidate;
      }
      if (sub == nullptr) return unknown_subcommand(app, word);
      command = sub;
      continue;
    }
    if (!known_flag(*command, word)) return unknown_flag(app, *command, word);
    // The word after a flag that takes a value is that value, whatever it looks like.
    const CLI::Option* option = option_named(*command, word);
    const bool value_attached =
        word.find('=') != std::string::npos || (!word.starts_with("--") && word.size() > 2);
    if (takes_value(*option) && !value_attached) ++i;
  }
  return std::nullopt;
}

}  // namespace attn_trace::cli
