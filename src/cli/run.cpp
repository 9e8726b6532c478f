// attn-trace run [FILE]: load an input (or the bundled default example), trace it, render it.
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/suggest.hpp"
#include "attn_trace/core/tracer.hpp"
#include "attn_trace/render/html.hpp"
#include "attn_trace/render/json.hpp"
#include "attn_trace/render/latex.hpp"
#include "attn_trace/render/markdown.hpp"
#include "attn_trace/render/npz.hpp"
#include "attn_trace/render/output_file.hpp"
#include "attn_trace/render/text.hpp"
#include "attn_trace/teach/compare_published.hpp"
#include "attn_trace/teach/explain.hpp"
#include "attn_trace/teach/focus.hpp"
#include "commands.hpp"
#include "input.hpp"
#include "terminal.hpp"

namespace attn_trace::cli {
namespace {

struct RunOptions {
  InputOptions input;
  std::string format = "text";        // text | json | npz | markdown | latex | html
  std::optional<std::string> output;  // -o PATH; none: standard output
  std::vector<std::string> stages;    // --stages a,b: the stages shown
  std::optional<std::string> until;   // --until STAGE: the last stage shown
  std::size_t weighted_limit = default_weighted_limit;
  std::string color = "auto";            // --color auto|always|never
  std::vector<std::string> focus_parts;  // --focus head=1,query=am,batch=0, once or more
  std::optional<FocusRequest> focus;     // what they ask for together
  bool step = false;                     // --step: one stage at a time, a key between
  bool no_header = false;                // --no-header
  bool latex_fragment = false;           // --latex-fragment: the body of the LaTeX document only
  TextOptions text;
};

// The HTML page's cells explained as `attn-trace explain` explains them: from the spec and the
// whole trace, even when the page shows a focused slice (its cells carry whole-trace indices).
CellExplainer explainer(const Spec& spec, const Trace& whole) {
  return [&spec, &whole](StageId stage, const std::string& tensor,
                         const std::vector<std::size_t>& index) -> std::optional<Explanation> {
    CellRef cell{std::string(stage_name(stage)), tensor, {}};
    for (std::size_t i : index) cell.index.push_back(std::to_string(i));
    try {
      return explain(spec, whole, cell);
    } catch (const Error&) {  // a cell explain has no arithmetic for: the page shows none
      return std::nullopt;
    }
  };
}

// One renderer per format, each reading the finished trace.
void render(const Trace& trace, const RunOptions& options, const CellExplainer& explain_cell,
            std::ostream& out) {
  if (options.format == "json") {
    render_json(
        trace, JsonOptions{.stages = options.text.stages, .weighted_limit = options.weighted_limit},
        out);
  } else if (options.format == "npz") {
    render_npz(trace,
               JsonOptions{.stages = options.text.stages, .weighted_limit = options.weighted_limit},
               out);
  } else if (options.format == "markdown") {
    render_markdown(trace, options.text, out);
  } else if (options.format == "latex") {
    render_latex(trace, options.text, LatexOptions{.fragment = options.latex_fragment}, out);
  } else if (options.format == "html") {
    render_html(trace, options.text, HtmlOptions{.explain = explain_cell}, out);
  } else {
    render_text(trace, options.text, out);
  }
}

// --step pages through the walkthrough on a terminal; anywhere else it would wait for keys nobody
// can press, so it is ignored, and the reason given on one line.
bool should_step(const RunOptions& options) {
  if (!options.step) return false;
  std::string why;
  if (options.format != "text") {
    why = "it shows the text walkthrough, not --format " + options.format;
  } else if (options.output) {
    why = "the walkthrough goes to a file (-o)";
  } else if (!is_terminal(0) || !is_terminal(1)) {
    why = "standard input and output must both be a terminal";
  }
  if (why.empty()) return true;
  fmt::print(stderr, "attn-trace: note: --step ignored: {}; printing the whole walkthrough\n", why);
  return false;
}

// parse_focus's messages start "--focus: "; CLI11 names the option itself.
std::string_view without_focus_prefix(std::string_view message) {
  return message.starts_with("--focus: ") ? message.substr(9) : message;
}

// --stages takes known stage ids only; a typo is a usage error that lists them.
std::string check_stage_id(const std::string& id) {
  const auto ids = stage_names();
  if (stage_named(id)) return {};
  const auto suggestion = nearest(id, ids);
  return fmt::format("unknown stage '{}'{}; stages are: {}", id,
                     suggestion ? fmt::format(" (did you mean '{}'?)", *suggestion) : "",
                     fmt::join(ids, ", "));
}

// What the run computes: the stages shown and those they need, the focused slice, and, for a
// walkthrough without --full, only the rows of long tensors that it shows. The HTML page explains
// its cells from the whole trace, so it computes everything.
BudgetedRun plan_run(const RunOptions& options, const Spec& spec, const std::string& source) {
  // The exports write every number of every tensor shown; the walkthroughs summarise.
  const bool json = options.format == "json" || options.format == "npz";
  BudgetedRun run{.plan = {},
                  .rendering = options.format == "npz" ? Rendering::npz
                               : json                  ? Rendering::json
                                                       : Rendering::walkthrough};
  if (options.format == "html") return run;
  run.plan.shown = options.text.stages;
  run.plan.weighted_limit = options.weighted_limit;
  if (options.focus) run.plan.focus = resolve_focus(trace_header(spec), *options.focus, source);
  if (!json && !options.text.full) run.plan.summarising = walkthrough_summarising();
  return run;
}

void run_checked(const RunOptions& options) {
  const RunFor run_for = [&options](const Spec& spec, const std::string& source) {
    return plan_run(options, spec, source);
  };
  const auto [spec, source] = load_input(options.input.source, run_for);
  const BudgetedRun planned = plan_run(options, spec, source);
  Trace computed = trace_attention(spec, planned.plan);
  // The published values are checked on the whole trace (only small examples publish any).
  computed.published = check_published(
      spec.published,
      planned.plan.whole() || spec.published.empty() ? computed : trace_attention(spec), source);
  std::optional<Trace> focused;
  if (options.focus && options.format == "html")
    focused = focus_trace(computed, *options.focus, source);
  const Trace& trace = focused ? *focused : computed;
  const CellExplainer explain_cell =
      options.format == "html" ? explainer(spec, computed) : CellExplainer{};
  // The walkthrough on the terminal shows the warnings in its header; an export, a file or a
  // walkthrough without its header would hide them, so they go to standard error as well.
  if (options.format != "text" || options.output || !options.text.header) {
    for (const std::string& warning : trace.warnings) {
      fmt::print(stderr, "attn-trace: warning: {}\n", warning);
    }
  }
  if (should_step(options)) {
    return step_through(render_text_pages(trace, options.text), options.text.ascii);
  }
  if (options.output) {
    AtomicFile file(*options.output);
    try {
      render(trace, options, explain_cell, file.stream());
    } catch (const std::system_error& e) {  // a write failed half way
      file.fail(e.code().message());
    }
    file.commit();
    return;
  }
  try {
    render(trace, options, explain_cell, std::cout);
  } catch (const std::system_error& e) {
    throw Error(fmt::format("cannot write to standard output: {}", e.code().message()));
  }
  std::cout.flush();
  if (!std::cout) throw Error("cannot write to standard output");
}

// An allocation that fails on the way (a budget above what the machine has free) is reported with
// the input it was for.
void run(const RunOptions& options) {
  try {
    run_checked(options);
  } catch (const std::bad_alloc&) {
    const std::string source = input_name(options.input.source);
    throw Error(fmt::format("{}: out of memory: the machine has less free memory than this trace "
                            "needs",
                            source),
                "trace fewer tokens or batches; --memory-budget refuses such a trace before it "
                "starts");
  }
}

// The flags, checked together and turned into the renderers' options. A flag that would change
// nothing says so (an error, or a note for the terminal's own flags), rather than be ignored.
void settle_run_options(RunOptions& options) {
  if (options.no_header && (options.format == "json" || options.format == "npz")) {
    throw CLI::ValidationError("--no-header",
                               fmt::format("the {} export has no header to leave out: its "
                                           "config, tokens and notes are data (use it with the "
                                           "walkthrough formats: text, markdown, latex, html)",
                                           options.format == "json" ? "JSON" : "NumPy"));
  }
  // An .npz is binary, and a zip archive: it goes to a file, never to a terminal or a pipe.
  if (options.format == "npz" && !options.output) {
    throw CLI::ValidationError("--format npz",
                               "it needs -o FILE: the NumPy export is a binary archive, written "
                               "to a file, never to standard output (e.g. -o trace.npz)");
  }
  if (options.latex_fragment && options.format != "latex") {
    throw CLI::ValidationError("--latex-fragment", "it needs --format latex");
  }
  options.text.header = !options.no_header;
  if (!options.focus_parts.empty()) {  // "--focus head=1 --focus query=am" is one request
    try {
      options.focus = parse_focus(fmt::format("{}", fmt::join(options.focus_parts, ",")));
    } catch (const Error& e) {
      throw CLI::ValidationError("--focus", std::string(without_focus_prefix(e.what())));
    }
  }
  StageSelection& selection = options.text.stages;
  for (const std::string& name : options.stages) {
    selection.only.push_back(*stage_named(name));  // checked by the validator
  }
  if (options.until) selection.until = stage_named(*options.until);
  if (selection.until && !selection.only.empty() &&
      std::all_of(selection.only.begin(), selection.only.end(),
                  [&](StageId id) { return id > *selection.until; })) {
    throw CLI::ValidationError(
        "--stages", fmt::format("every stage it names comes after --until {}: nothing would be "
                                "shown",
                                *options.until));
  }
  options.text.weighted_limit = options.weighted_limit;
  options.text.color = options.format == "text"
                           ? pick_color(options.color, !options.output && is_terminal(1))
                           : ColorMode::none;
  if (options.format != "text") {
    if (options.text.ascii) {
      fmt::print(stderr,
                 "attn-trace: note: --ascii ignored: it is for the text walkthrough, not "
                 "--format {}\n",
                 options.format);
    }
    if (options.color == "always") {
      fmt::print(stderr, "attn-trace: note: --color ignored: it shades the text walkthrough{}\n",
                 options.format == "latex" || options.format == "html"
                     ? "; this format shades its own tables, always"
                     : "");
    }
  }
}

}  // namespace

void setup_run(CLI::App& app) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* sub =
      app.add_subcommand("run", "Trace attention over an input file and print every stage.");
  sub->set_version_flag("--version", "attn-trace " ATTN_TRACE_VERSION);
  add_input_options(sub, options->input);
  sub->add_option("--precision", options->text.precision, "Decimals per number")
      ->check(whole_number(0, 15))
      ->capture_default_str();
  sub->add_option("--format", options->format,
                  "Output format: text (the walkthrough), json (the trace as data), npz (every "
                  "tensor as a NumPy array, for np.load; needs -o), markdown (for notes and "
                  "READMEs), latex (a document for pdflatex) or html (one self-contained page; "
                  "docs/teaching.md)")
      ->check(CLI::IsMember({"text", "json", "npz", "markdown", "latex", "html"}))
      ->capture_default_str();
  sub->add_flag("--no-header", options->no_header,
                "Leave out the title, notes and sizes block: the stages alone (the walkthrough "
                "formats; not json)");
  sub->add_flag("--latex-fragment", options->latex_fragment,
                "With --format latex: only the document's body, to paste into beamer slides or "
                "notes (docs/latex.md)");
  sub->add_option("-o,--output", options->output,
                  "Write to this file instead of standard output (atomically: a failure never "
                  "leaves a partial file)")
      ->check(non_empty_path("output", "PATH"));
  sub->add_option("--weighted-limit", options->weighted_limit,
                  "Write weighted_values only when it has at most this many numbers")
      // 2^53: far above any weighted_values, and exact in a double.
      ->check(whole_number(0, std::uint64_t{1} << 53))
      ->capture_default_str();
  sub->add_flag("--full", options->text.full,
                "Print every number, even of tensors with more than 1000 elements");
  sub->add_option("--stages", options->stages,
                  fmt::format("Show only these stages, comma-separated (e.g. scores,softmax): {}",
                              fmt::join(stage_names(), ", ")))
      ->delimiter(',')
      ->check(CLI::Validator(check_stage_id, "STAGE", "stage id"));
  sub->add_flag("--explain", options->text.explain,
                "Under each stage header, what the stage does, why, and its shape rule "
                "(docs/stages.md)");
  sub->add_flag("--ascii", options->text.ascii,
                "Plain ASCII: no box-drawing characters or Unicode math (for old terminals and "
                "screen readers)");
  sub->add_option("--until", options->until, "Stop after this stage (e.g. softmax)")
      ->check(CLI::Validator(check_stage_id, "STAGE", "stage id"));
  sub->add_option("--color", options->color,
                  "Shade scores, scaled, masked and weights as heatmaps: auto (on a terminal, "
                  "unless NO_COLOR is set), always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  sub->add_option("--focus", options->focus_parts,
                  "Cut every stage to one slice: head=H, query=TOKEN or position, batch=B, "
                  "comma-separated (e.g. head=1,query=am); may be given more than once")
      ->type_name("SLICE")
      ->allow_extra_args(false)  // one SLICE per --focus: a later word is the input
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            try {
              (void)parse_focus(text);
              return {};
            } catch (const Error& e) {
              return std::string(without_focus_prefix(e.what()));
            }
          },
          "", "focus"));
  sub->add_flag("--step", options->step,
                "Show one stage at a time on a terminal: Enter or space next, b back, q quit");
  sub->callback([options] {
    settle_input_options(options->input);
    settle_run_options(*options);
    run(*options);
  });
}

}  // namespace attn_trace::cli
