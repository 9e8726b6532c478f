// attn-trace explain CELL [FILE]: the arithmetic behind one number of the trace.
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/tracer.hpp"
#include "attn_trace/render/explanation.hpp"
#include "attn_trace/teach/explain.hpp"
#include "commands.hpp"
#include "input.hpp"

namespace attn_trace::cli {
namespace {

struct ExplainOptions {
  std::string cell;
  InputOptions input;
  std::string format = "text";  // text | json
  int precision = 4;
};

void explain_cell(const ExplainOptions& options) {
  const CellRef cell = parse_cell(options.cell);  // checked when the argument was parsed
  const auto [spec, source] = load_input(options.input.source);
  const Trace trace = trace_attention(spec);
  Explanation explanation;
  try {
    explanation = explain(spec, trace, cell);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", source, e.what()), e.hint());
  }
  if (options.format == "json") {
    render_explanation_json(explanation, std::cout);
  } else {
    render_explanation_text(explanation, options.precision, std::cout);
  }
  std::cout.flush();
  if (!std::cout) throw Error("cannot write to standard output");
}

}  // namespace

void setup_explain(CLI::App& app) {
  auto options = std::make_shared<ExplainOptions>();
  CLI::App* sub = app.add_subcommand(
      "explain", "Show how one number of the trace is computed, with the actual numbers.");
  sub->add_option("CELL", options->cell,
                  "[STAGE.]TENSOR[I,J,…]: scores[0,2], weights[am,good], split_heads.Q[1,0,1]; "
                  "indices follow the tensor's shape, tokens may name query and key positions")
      ->required()
      ->check(CLI::Validator(
          [](const std::string& text) -> std::string {
            try {
              (void)parse_cell(text);
              return "";
            } catch (const Error& e) {
              // CLI11 names the argument itself: "CELL: 'scores': expected …".
              std::string_view what = e.what();
              if (what.starts_with("CELL ")) what.remove_prefix(5);
              return fmt::format("{} ({})", what, e.hint());
            }
          },
          "CELL", "cell"));
  add_input_options(sub, options->input);
  sub->add_option("--format", options->format, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  sub->add_option("--precision", options->precision, "Decimals per number in the arithmetic")
      ->check(whole_number(0, 15))
      ->capture_default_str();
  sub->callback([options] {
    settle_input_options(options->input);
    explain_cell(*options);
  });
}

}  // namespace attn_trace::cli
