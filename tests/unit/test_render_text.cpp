// The text walkthrough: what a learner reads. Checks the stage headers, the formulas and shape
// algebra, labelled rows and columns, precision, filtering, summaries and the 80-column fit.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/core/stage_id.hpp"
#include "attn_trace/core/text_width.hpp"
#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/examples.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/render/ascii.hpp"
#include "attn_trace/render/text.hpp"

using namespace attn_trace;
using Catch::Contains;
using json = nlohmann::json;

namespace {

std::string render(const std::string& input_json, TextOptions options = {}) {
  const Trace trace = trace_attention(load_spec(input_json, "test.json"));
  std::ostringstream out;
  render_text(trace, options, out);
  return out.str();
}

std::string render_default(TextOptions options = {}) {
  return render(std::string(find_example(default_example)->json), std::move(options));
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A (L, E) input of the given size with distinct, non-trivial values.
json ramp_input(int rows, int cols) {
  json input = json::array();
  for (int i = 0; i < rows; ++i) {
    json row = json::array();
    for (int j = 0; j < cols; ++j) row.push_back(((i * 7 + j * 3) % 11) / 10.0 - 0.5);
    input.push_back(row);
  }
  return input;
}

}  // namespace

TEST_CASE("the default walkthrough shows every stage with formula and shapes", "[render]") {
  const std::string text = render_default();
  CHECK_THAT(text, Contains("attn-trace · I am good"));
  CHECK_THAT(text, Contains("tokens   I · am · good"));
  CHECK_THAT(text, Contains("× 0.707107 (1/√d = 1/√2, as PyTorch)"));
  CHECK_THAT(text,
             Contains("note: in_proj_weight was split in PyTorch's order: query, key, value"));
  CHECK_THAT(text, Contains("━━ 1/8 · input · "));
  CHECK_THAT(text, Contains("━━ 2/8 · projections · "));
  CHECK_THAT(text, Contains("Q = X·W_qᵀ + b_q"));
  CHECK_THAT(text, Contains("shapes: (3×2)·(2×2)ᵀ + (2) → (3×2) each"));
  CHECK_THAT(text, Contains("━━ 3/8 · scores · "));
  CHECK_THAT(text, Contains("scores = Q·Kᵀ"));
  CHECK_THAT(text, Contains("shapes: (3×2)·(2×3) → (3×3)"));
  CHECK_THAT(text, Contains("━━ 8/8 · out_proj · "));
  CHECK_THAT(text, Contains("output = context·W_oᵀ + b_o"));
  // Q's first row, labelled with its token, to 4 decimals.
  CHECK_THAT(text, Contains("    I     0.1700  0.0200"));
  // Scores' key columns are labelled with the key tokens.
  CHECK_THAT(text, Contains("              I      am    good\n    I     0.0183  0.0668  0.0680"));
  // The weighted values print one block per query.
  CHECK_THAT(text, Contains("  query am\n"));
}

TEST_CASE("every line fits in 80 columns", "[render]") {
  for (const std::string& text :
       {render_default(), render(json{{"input", ramp_input(5, 16)}, {"num_heads", 2}}.dump()),
        render(json{{"input", ramp_input(40, 40)}}.dump())}) {
    for (const std::string& line : lines_of(text)) {
      INFO(line);
      CHECK(display_width(line) <= 80);
    }
  }
}

TEST_CASE("the precision option sets the decimals", "[render]") {
  TextOptions options;
  options.precision = 2;
  CHECK_THAT(render_default(options), Contains("    I     0.17  0.02"));
  options.precision = 6;
  CHECK_THAT(render_default(options), Contains("    I     0.170000  0.020000"));
}

TEST_CASE("the stages option shows only the chosen stages, numbered out of all", "[render]") {
  TextOptions options;
  options.stages.only = {StageId::scores, StageId::softmax};
  const std::string text = render_default(options);
  CHECK_THAT(text, Contains("━━ 3/8 · scores"));
  CHECK_THAT(text, Contains("━━ 5/8 · softmax"));
  CHECK_THAT(text, !Contains("· projections ·"));
  CHECK_THAT(text, !Contains("· out_proj ·"));

  options.stages.only = {StageId::split_heads};
  CHECK_THAT(render_default(options),
             Contains("(no split_heads stage in this trace: it exists only with num_heads > 1)"));
}

TEST_CASE("several heads print as labelled blocks", "[render]") {
  const std::string text = render(
      json{{"input", ramp_input(3, 4)}, {"num_heads", 2}, {"tokens", {"a", "b", "c"}}}.dump());
  CHECK_THAT(text, Contains("━━ 3/9 · split_heads · "));
  CHECK_THAT(text, Contains("Q (2×3×2)   [head × query × feature]"));
  CHECK_THAT(text, Contains("  head 0\n"));
  CHECK_THAT(text, Contains("  head 1\n"));
  CHECK_THAT(text, Contains("weighted (2×3×3×2)   [head × query × key × feature]"));
  CHECK_THAT(text, Contains("  head 1 · query c\n"));
  CHECK_THAT(text, Contains("━━ 9/9 · merge_heads · "));
  CHECK_THAT(text, Contains("context = [context_0 | context_1]"));
  CHECK_THAT(text, Contains("weighted_h[i,j,:] = weights_h[i,j] · V_h[j,:]"));
  CHECK_THAT(text, Contains("context_h[i,:] = Σ_j weighted_h[i,j,:]"));
}

TEST_CASE("batched input labels blocks by batch and uses each batch's tokens", "[render]") {
  const json input = json::parse("[[[1, 0], [0, 1]], [[0.5, 0.5], [1, 1]]]");
  const std::string text =
      render(json{{"input", input}, {"tokens", json::parse(R"([["x", "y"], ["p", "q"]])")}}.dump());
  CHECK_THAT(text, Contains("B = 2 · L = 2 tokens"));
  CHECK_THAT(text, Contains("  batch 1\n"));
  CHECK_THAT(text, Contains("  batch 1 · query q\n"));
  CHECK_THAT(text, Contains("for each of 2 batches → (2×2×2)"));
}

TEST_CASE("large tensors are summarised unless full", "[render]") {
  // 40×40 scores: 1,600 numbers, above the threshold.
  const std::string input = json{{"input", ramp_input(40, 40)}}.dump();
  TextOptions options;
  options.stages.only = {StageId::scores};
  const std::string summary = render(input, options);
  CHECK_THAT(summary,
             Contains("1600 numbers: the first and last 3 of each axis shown; --full shows all"));
  CHECK_THAT(summary, Contains("…"));
  CHECK_THAT(summary, Contains("⋮"));
  CHECK(lines_of(summary).size() < 30);

  options.full = true;
  const std::string full = render(input, options);
  CHECK_THAT(full, !Contains("--full shows all"));
  CHECK_THAT(full, Contains("columns 0–"));  // 40 columns do not fit in 80: chunked
  CHECK(lines_of(full).size() > 40);
}

TEST_CASE("identity projections say so", "[render]") {
  const std::string text = render(json{{"input", ramp_input(3, 2)}}.dump());
  CHECK_THAT(text, Contains("Q = K = V = X"));
  CHECK_THAT(text, Contains("basic self-attention"));
  CHECK_THAT(text, Contains("weights  none: Q = K = V = X · no out_proj"));
}

TEST_CASE("labels stay on one line and huge numbers switch to scientific notation", "[render]") {
  TextOptions options;
  options.stages.only = {StageId::input};
  const std::string text =
      render(R"({"input": [[1e12, -2], [1, 2]], "tokens": ["a\nb", "c"]})", options);
  CHECK_THAT(text, Contains("    a b  1.0000e+12     -2.0000"));
  CHECK_THAT(text, Contains("tokens   a b · c"));
}

TEST_CASE("shape algebra of batched multi-head traces names every axis once", "[render]") {
  json input = json::array({ramp_input(3, 4), ramp_input(3, 4)});
  const std::string text = render(json{{"input", input}, {"num_heads", 2}}.dump());
  CHECK_THAT(text, Contains("shapes: (3×4) → 2 × (3×2), for each of 2 batches → (2×2×3×2)"));
  CHECK_THAT(text, Contains("shapes: (3×2)·(2×3) → (3×3), for each of 2 batches × 2 heads → "
                            "(2×2×3×3)"));
  CHECK_THAT(text, Contains("shapes: 2 × (3×2) → (3×4), for each of 2 batches → (2×3×4)"));
  CHECK_THAT(text, Contains("  batch 1 · head 1 · query 2\n"));
}

TEST_CASE("the summary starts above 1000 numbers, as numpy's", "[render]") {
  TextOptions options;
  options.stages.only = {StageId::scores};
  // 1000 scores (no summary) against 1012 (summary): L = 10 with 10 × 10 × 10 heads won't do, so
  // use a batch: B = 10, L = 10 → 10 × 10 × 10 = 1000 scores.
  json batched = json::array();
  for (int b = 0; b < 10; ++b) batched.push_back(ramp_input(10, 2));
  CHECK_THAT(render(json{{"input", batched}}.dump(), options), !Contains("--full shows all"));
  batched.push_back(ramp_input(10, 2));  // 1100 scores
  const std::string summary = render(json{{"input", batched}}.dump(), options);
  CHECK_THAT(summary, Contains("1100 numbers: the first and last 3 of each axis shown"));
  CHECK_THAT(summary, Contains("  ⋮ (5 more batches)"));
}

TEST_CASE("summaries name what they leave out", "[render]") {
  TextOptions options;
  options.stages.only = {StageId::weighted_values};
  // weighted is (L, S, d) = (12, 12, 8): blocks per query, summarised.
  const std::string text = render(json{{"input", ramp_input(12, 8)}}.dump(), options);
  CHECK_THAT(text, Contains("  ⋮ (6 more queries)"));
  CHECK_THAT(text, Contains("  query 11\n"));
  CHECK_THAT(text, !Contains("  query 5\n"));

  // A chunk of columns that ends at the gap names the real columns around it.
  options.stages.only = {StageId::scores};
  options.precision = 15;
  const std::string wide = render(json{{"input", ramp_input(40, 2)}}.dump(), options);
  CHECK_THAT(wide, Contains("    columns 0–2 (and …)"));
  CHECK_THAT(wide, !Contains("–…"));
}

TEST_CASE("long token lists are summarised in the header", "[render]") {
  json tokens = json::array();
  for (int i = 0; i < 30; ++i) tokens.push_back(fmt::format("t{}", i));
  const std::string input = json{{"input", ramp_input(30, 2)}, {"tokens", tokens}}.dump();
  CHECK_THAT(render(input), Contains("tokens   t0 · t1 · t2 · … · t27 · t28 · t29\n"));
  TextOptions options;
  options.full = true;
  options.stages.only = {StageId::input};
  CHECK_THAT(render(input, options), Contains("t14 · t15"));
}

TEST_CASE("text from the file cannot break the layout or the terminal", "[render]") {
  const json doc = {{"input", ramp_input(2, 2)},
                    {"name", "line one\nline two\x1b[31m"},
                    {"description", "tab\there"},
                    {"tokens",
                     {"a\nb",
                      "\xe2\x80\xae"
                      "evil"}}};
  const std::string text = render(doc.dump());
  CHECK_THAT(text, Contains("attn-trace · line one line two [31m\n"));
  CHECK_THAT(text, Contains("tab here"));
  CHECK_THAT(text, Contains("tokens   a b ·  evil"));
  CHECK_THAT(text, !Contains("\x1b"));
  CHECK_THAT(text, !Contains("\xe2\x80\xae"));
}

TEST_CASE("numbers beyond double precision are flagged, nan prints as nan", "[render]") {
  const std::string text = render(R"({"input": [[1e200, 1e200], [1, 2]]})");
  CHECK_THAT(text, Contains("warning: scores: 1 of 4 numbers of scores are not finite"));
  CHECK_THAT(text, Contains("nan"));
  CHECK_THAT(text, !Contains("-nan"));
}

TEST_CASE("the 80-column fit holds for wide Chinese and Korean labels", "[render]") {
  const json doc = {{"input", ramp_input(4, 12)},
                    {"num_heads", 3},
                    {"tokens", {"我很好我很好我很好", "안녕하세요", "good", "très-bien"}}};
  const std::string text = render(doc.dump());
  CHECK_THAT(text, Contains("我很好我很…"));
  for (const std::string& line : lines_of(text)) {
    INFO(line);
    CHECK(display_width(line) <= 80);
  }
}

TEST_CASE("a weighted_values above the limit is left out, and generated when asked for",
          "[render][scale]") {
  // L = 120, E = d = 80: weighted holds 120 × 120 × 80 = 1,152,000 numbers, above the default.
  const std::string input = json{{"input", ramp_input(120, 80)}}.dump();
  TextOptions options;
  options.stages.only = {StageId::weighted_values};
  const std::string text = render(input, options);
  CHECK_THAT(text, Contains("weighted (120×120×80): weighted holds 1152000 numbers, more than"));
  CHECK_THAT(text, Contains("--weighted-limit 1152000 to include it"));
  CHECK_THAT(text, !Contains("[query × key × feature]"));
  options.weighted_limit = 1'152'000;
  const std::string generated = render(input, options);
  CHECK_THAT(generated, Contains("weighted (120×120×80)   [query × key × feature]"));
  CHECK_THAT(generated, Contains("  ⋮ (114 more queries)"));
}

TEST_CASE("the walkthrough closes with whom each query token attends to most", "[render]") {
  const Trace trace = trace_attention(load_spec(find_example("multihead")->json, "multihead"));
  std::ostringstream out;
  render_text(trace, TextOptions{}, out);
  const std::string text = out.str();
  REQUIRE_THAT(text, Contains("━━ summary"));
  // The output once more, then the picks.
  const std::string summary = text.substr(text.find("━━ summary"));
  CHECK_THAT(summary, Contains("  The result, output of the out_proj stage:\n\noutput (4×6)   "
                               "[query × feature]\n"));
  const std::string output_table = text.substr(text.find("output (4×6)"));
  CHECK(summary.find(output_table.substr(0, output_table.find("\n\n"))) != std::string::npos);
  CHECK_THAT(summary, Contains("\n  Each query token attends most to:\n    the → "));
  // The largest weight of each row, found here from the softmax tensor itself.
  const Tensor& weights = trace.find_stage(StageId::softmax)->tensors.front();
  const std::vector<std::string> tokens = {"the", "cat", "sat", "down"};
  for (std::size_t i = 0; i < 4; ++i) {
    std::vector<std::string> picks;
    for (std::size_t h = 0; h < 2; ++h) {
      const auto block = weights.block(h);
      Index best = 0;
      block.row(static_cast<Index>(i)).maxCoeff(&best);
      picks.push_back(fmt::format("head {}: {} {:.2f}", h, tokens[static_cast<std::size_t>(best)],
                                  block(static_cast<Index>(i), best)));
    }
    CHECK_THAT(text, Contains(fmt::format("    {} → {}", tokens[i], fmt::join(picks, " · "))));
  }
  CHECK_THAT(text,
             Contains("    the → head 0: the 1.00 · head 1: the 1.00"));  // it sees only itself

  TextOptions some;
  some.stages.only = {StageId::softmax};
  std::ostringstream filtered;
  render_text(trace, some, filtered);
  CHECK_THAT(filtered.str(), !Contains("summary"));
}

TEST_CASE("the stage explanations (run --explain): every stage has them", "[render]") {
  const auto texts = all_stages();
  const auto ids = stage_names();
  REQUIRE(texts.size() == ids.size());
  for (std::size_t k = 0; k < ids.size(); ++k) {
    CHECK(texts[k].name == ids[k]);
    CHECK(stage_info(texts[k].id).name == ids[k]);
    CHECK_FALSE(texts[k].what.empty());
    CHECK_FALSE(texts[k].why.empty());
    CHECK_FALSE(texts[k].shape.empty());
  }
  TextOptions options;
  options.explain = true;
  const std::string text = render_default(options);
  // The sentences as written, whatever the wrapping.
  std::string joined;
  for (const std::string& line : lines_of(text)) {
    joined += " " + line.substr(std::min(line.find_first_not_of(' '), line.size()));
  }
  CHECK_THAT(joined, Contains(std::string(stage_info(StageId::scaling).why)));
  CHECK_THAT(joined, Contains(std::string(stage_info(StageId::projections).what)));
  CHECK_THAT(text,
             Contains("  Shape rule: (L, d)·(S, d)ᵀ → (L, S): one row per query, one column"));
  CHECK_THAT(render_default(), !Contains("Shape rule:"));
  for (const std::string& line : lines_of(text)) CHECK(display_width(line) <= 80);
}

TEST_CASE("the walkthrough in pages: one per stage, the same text as a whole", "[render][step]") {
  const Trace trace = trace_attention(load_spec(find_example("multihead")->json, "multihead"));
  TextOptions some_stages, until, ascii;
  some_stages.stages.only = {StageId::scores, StageId::softmax};
  until.stages.until = StageId::masking;
  ascii.ascii = true;
  for (const TextOptions& options : {TextOptions{}, some_stages, until, ascii}) {
    std::ostringstream whole;
    render_text(trace, options, whole);
    const std::vector<TextPage> pages = render_text_pages(trace, options);
    std::string joined;
    for (const TextPage& page : pages) joined += page.text;
    CHECK(joined == whole.str());
  }
  const std::vector<TextPage> pages = render_text_pages(trace, TextOptions{});
  REQUIRE(pages.size() == trace.stages.size());
  for (std::size_t n = 0; n < pages.size(); ++n) {
    CHECK(pages[n].stage == trace.stages[n].id);
    CHECK(pages[n].number == n + 1);
    CHECK(pages[n].total == 11);
    CHECK_THAT(pages[n].text,
               Contains(fmt::format("━━ {}/11 · {} · ", n + 1, stage_name(*pages[n].stage))));
    // The header comes with the first page only; the summary with the last.
    CHECK((pages[n].text.find("attn-trace · SelfAttention") != std::string::npos) == (n == 0));
    CHECK((pages[n].text.find("━━ summary") != std::string::npos) == (n + 1 == pages.size()));
  }
  // --stages keeps the stages' own numbers.
  const auto some = render_text_pages(trace, some_stages);
  REQUIRE(some.size() == 2);
  CHECK(some[0].number == 4);
  CHECK(some[1].number == 7);
  CHECK(some[1].stage == StageId::softmax);
  // --ascii converts each page.
  for (const TextPage& page : render_text_pages(trace, ascii)) {
    CHECK(std::all_of(page.text.begin(), page.text.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
  }
}

TEST_CASE("until a stage the trace lacks, after its last, the summary still ends it", "[render]") {
  // One head, no out_proj: the last stage is summation.
  const std::string input = R"({"input": [[1, 0], [0, 1]], "tokens": ["a", "b"]})";
  TextOptions until;
  until.stages.until = StageId::out_proj;
  CHECK_THAT(render(input, until), Contains("━━ summary"));
  until.stages.until = StageId::merge_heads;
  CHECK_THAT(render(input, until), Contains("━━ summary"));
  until.stages.until = StageId::softmax;
  CHECK_THAT(render(input, until), !Contains("━━ summary"));
}

TEST_CASE("a row with every key blocked attends to no key in the summary", "[render]") {
  const std::string input =
      R"({"input": [[1, 0], [0, 1]], "tokens": ["a", "b"],
          "attn_mask": [[true, true], [false, true]]})";
  const std::string text = render(input);
  CHECK_THAT(text, Contains("    a → no key (every key blocked)"));
  CHECK_THAT(text, Contains("    b → a 1.00"));
}

TEST_CASE("ASCII text wraps as printed: within 80 columns on every golden input",
          "[render][ascii]") {
  TextOptions ascii;
  ascii.ascii = true;
  for (const auto& entry : std::filesystem::directory_iterator(ATTN_TRACE_GOLDEN_DIR)) {
    std::ifstream in(entry.path());
    const std::string input = json::parse(in)["input"].dump();
    INFO(entry.path().filename());
    for (const std::string& line : lines_of(render(input, ascii))) {
      CHECK(line.size() <= 80);
    }
  }
}

TEST_CASE("to_ascii spells the walkthrough's symbols out", "[render][ascii]") {
  CHECK(to_ascii("scores = Q·Kᵀ") == "scores = Q*K^T");
  CHECK(to_ascii("L = 3 tokens · E = 2") == "L = 3 tokens | E = 2");
  CHECK(to_ascii("× 1/√d = 1/√16 = 0.25") == "x 1/sqrt(d) = 1/sqrt(16) = 0.25");
  CHECK(to_ascii("exp(−∞) = 0 → weight 0") == "exp(-inf) = 0 -> weight 0");
  CHECK(to_ascii("Σ_k ✓ ✗ … ⋮ ━━") == "sum_k OK X ... : ==");
  CHECK(to_ascii("−0.25") == "-0.25");
  CHECK(to_ascii("tokens: 日本 ok") == "tokens: ?? ok");  // anything else is a ?
  CHECK(to_ascii("plain") == "plain");
}

TEST_CASE(
    "the walkthrough without its header (--no-header) leaves out the title, notes and sizes, and "
    "nothing else",
    "[render]") {
  TextOptions no_header;
  no_header.header = false;
  const std::string with = render_default(), without = render_default(no_header);
  CHECK(without.starts_with("━━ 1/8 · input · "));
  CHECK_THAT(without, !Contains("attn-trace · I am good"));
  CHECK_THAT(without, !Contains("  sizes "));
  // The rest is the same, byte for byte: the walkthrough from its first stage on.
  CHECK(with.substr(with.find("━━ 1/8")) == without);
}
