// libFuzzer target: any bytes through the loader (as an input file — JSON, or NumPy's .npy and
// .npz, told apart by their first bytes — or an input file and a weights file), and whatever
// loads through the tracer, both renderers and explain, as `attn-trace run` and
// `attn-trace explain` do; and, after "\n#check\n", a learner's file through `attn-trace check`
// against that trace. An attn_trace::Error is the expected end of bad
// input; any other exception, a crash, a hang or a sanitizer report is a bug. Run by tools/fuzz.sh.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/memory.hpp"
#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/given.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/render/check.hpp"
#include "attn_trace/render/explanation.hpp"
#include "attn_trace/render/html.hpp"
#include "attn_trace/render/json.hpp"
#include "attn_trace/render/latex.hpp"
#include "attn_trace/render/markdown.hpp"
#include "attn_trace/render/text.hpp"
#include "attn_trace/teach/check.hpp"
#include "attn_trace/teach/explain.hpp"
#include "attn_trace/teach/focus.hpp"

namespace {

// A stream that counts and drops what it is given: the renderers run in full, nothing is kept.
class NullBuffer : public std::streambuf {
 protected:
  int_type overflow(int_type c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

// The CLI refuses traces above its memory budget before computing them; the fuzzer uses a small
// budget so that every input runs in milliseconds.
constexpr double fuzz_budget = 32.0 * (1 << 20);

// "INPUT\n#weights\nPREFIX\nWEIGHTS" is an input file and a --weights file (with --weights-prefix
// PREFIX when that line is not empty), "INPUT\n#safetensors\nPREFIX\nWEIGHTS" the same with a
// safetensors file's bytes; anything else is an input file alone.
attn_trace::LoadOptions split_weights(std::string_view& text) {
  attn_trace::LoadOptions options;
  for (const auto format :
       {attn_trace::WeightsFormat::json, attn_trace::WeightsFormat::safetensors}) {
    const std::string_view separator =
        format == attn_trace::WeightsFormat::json ? "\n#weights\n" : "\n#safetensors\n";
    const std::size_t at = text.find(separator);
    if (at == std::string_view::npos) continue;
    std::string_view rest = text.substr(at + separator.size());
    text = text.substr(0, at);
    const std::size_t line_end = std::min(rest.find('\n'), rest.size());
    std::optional<std::string> prefix;
    if (line_end > 0) prefix = std::string(rest.substr(0, line_end));
    rest = rest.substr(std::min(line_end + 1, rest.size()));
    options.weights = attn_trace::WeightsFile{.text = std::string(rest),
                                              .file = "weights",
                                              .prefix = std::move(prefix),
                                              .format = format};
    return options;
  }
  return options;
}

// "INPUT\n#check\nMINE": a learner's file for check, cut off the end of `text`.
std::optional<std::string_view> split_check(std::string_view& text) {
  const std::string_view separator = "\n#check\n";
  const std::size_t at = text.find(separator);
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view mine = text.substr(at + separator.size());
  text = text.substr(0, at);
  return mine;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::optional<std::string_view> mine = split_check(text);
  try {  // the text's first line as an explain CELL
    (void)attn_trace::parse_cell(text.substr(0, std::min(text.find('\n'), text.size())));
  } catch (const attn_trace::Error&) {
  }
  try {
    attn_trace::LoadOptions options = split_weights(text);
    // An .npz may unpack to no more than the CLI would let it under the same budget.
    options.max_unpacked = static_cast<std::uint64_t>(fuzz_budget) / attn_trace::json_memory_factor;
    const attn_trace::Spec spec = attn_trace::load_spec(text, "fuzz.json", options);
    if (attn_trace::estimate_memory(spec).bytes > fuzz_budget) return 0;
    const attn_trace::Trace trace = attn_trace::trace_attention(spec);
    NullBuffer null;
    std::ostream out(&null);
    if (mine) {  // check: the learner's file against this trace, through both renderers
      const attn_trace::GivenTensors given = attn_trace::read_given_tensors(
          *mine, "mine.json",
          static_cast<std::uint64_t>(fuzz_budget) / attn_trace::json_memory_factor);
      const attn_trace::CheckReport report = attn_trace::check_tensors(spec, trace, given, {});
      attn_trace::render_check_text(report, {}, out);
      attn_trace::render_check_json(report, out);
      return 0;
    }
    attn_trace::render_text(trace, attn_trace::TextOptions{}, out);
    attn_trace::render_json(trace, attn_trace::JsonOptions{}, out);
    attn_trace::render_markdown(trace, attn_trace::TextOptions{}, out);
    attn_trace::render_latex(trace, attn_trace::TextOptions{}, attn_trace::LatexOptions{}, out);
    // The page, its cells explained as run --format html explains them.
    attn_trace::HtmlOptions html;
    html.explain =
        [&](attn_trace::StageId id, const std::string& tensor,
            const std::vector<std::size_t>& index) -> std::optional<attn_trace::Explanation> {
      attn_trace::CellRef cell{std::string(attn_trace::stage_name(id)), tensor, {}};
      for (std::size_t i : index) cell.index.push_back(std::to_string(i));
      try {
        return attn_trace::explain(spec, trace, cell);
      } catch (const attn_trace::Error&) {
        return std::nullopt;
      }
    };
    attn_trace::render_html(trace, attn_trace::TextOptions{}, html, out);
    // explain, on the first and the last number of every tensor.
    for (const attn_trace::Stage& stage : trace.stages) {
      for (const attn_trace::Tensor& tensor : stage.tensors) {
        for (const bool last : {false, true}) {
          attn_trace::CellRef cell{std::string(attn_trace::stage_name(stage.id)), tensor.name, {}};
          for (std::size_t extent : tensor.shape) {
            cell.index.push_back(std::to_string(last ? extent - 1 : 0));
          }
          attn_trace::render_explanation_text(attn_trace::explain(spec, trace, cell), 4, out);
        }
      }
    }
    // --focus on the last batch, head and query, through both renderers, shaded and paged.
    const attn_trace::TraceConfig& c = trace.config;
    const attn_trace::Trace focused = attn_trace::focus_trace(
        trace,
        attn_trace::FocusRequest{std::to_string(c.batch.value_or(1) - 1),
                                 std::to_string(c.num_heads - 1), std::to_string(c.q_len - 1)},
        "fuzz.json");
    attn_trace::TextOptions shaded;
    shaded.color = attn_trace::ColorMode::truecolor;
    (void)attn_trace::render_text_pages(focused, shaded);
    attn_trace::render_json(focused, attn_trace::JsonOptions{}, out);
  } catch (const attn_trace::Error&) {
    // Bad input, reported: what should happen.
  }
  return 0;
}
