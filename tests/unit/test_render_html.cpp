// The HTML page (render_html): its structure and hooks (data-stage in order, data-cell on every
// number in explain's CELL syntax with whole-trace indices), the numbers equal to the trace's,
// the explanations equal to what `attn-trace explain` prints, the explanation limit, --no-header,
// --stages and --until, focused traces, the heatmap, and the escaping of what strangers write.
// The page in a real browser (keys, clicks, selectors, no request, nothing from the input
// running) is tested in tests/browser/.
#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/examples.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/render/explanation.hpp"
#include "attn_trace/render/html.hpp"
#include "attn_trace/teach/compare_published.hpp"
#include "attn_trace/teach/explain.hpp"
#include "attn_trace/teach/focus.hpp"
#include "html_escape.hpp"
#include "walkthrough.hpp"

using namespace attn_trace;
using Catch::Contains;
using json = nlohmann::json;

namespace {

// A spec, its whole trace, and the trace the page shows (the whole one, or a focused slice).
struct Traced {
  Spec spec;
  Trace whole;
  std::optional<Trace> focused;
  [[nodiscard]] const Trace& shown() const { return focused ? *focused : whole; }
};

Traced traced_json(const std::string& input, const std::string& name) {
  Traced t{load_spec(input, name), {}, {}};
  t.whole = trace_attention(t.spec);
  t.whole.published = check_published(t.spec.published, t.whole, name);
  return t;
}

Traced traced(std::string_view example) {
  return traced_json(std::string(find_example(example)->json), std::string(example));
}

// The explainer `attn-trace run --format html` passes: teach's explain() on the whole trace.
CellExplainer explainer_of(const Traced& t) {
  return [&t](StageId stage, const std::string& tensor,
              const std::vector<std::size_t>& index) -> std::optional<Explanation> {
    CellRef cell{std::string(stage_name(stage)), tensor, {}};
    for (std::size_t i : index) cell.index.push_back(std::to_string(i));
    return explain(t.spec, t.whole, cell);
  };
}

std::string html_of(const Traced& t, TextOptions options = {},
                    std::size_t limit = html_explained_cells_limit) {
  std::ostringstream out;
  render_html(t.shown(), options, HtmlOptions{explainer_of(t), limit}, out);
  return out.str();
}

// Every number of the page: its data-cell and the text it shows, in order.
std::vector<std::pair<std::string, std::string>> cells_of(const std::string& html) {
  static const std::regex cell(R"re(<td data-cell="([^"]*)"[^>]*>([^<]*)</td>)re");
  std::vector<std::pair<std::string, std::string>> out;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), cell); it != std::sregex_iterator();
       ++it) {
    out.emplace_back((*it)[1], (*it)[2]);
  }
  return out;
}

// The stage ids of the page's sections, in order.
std::vector<std::string> stages_of(const std::string& html) {
  static const std::regex section(
      R"re(<section class="stage" id="stage-([a-z_]+)" data-stage="([a-z_]+)")re");
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), section);
       it != std::sregex_iterator(); ++it) {
    CHECK((*it)[1] == (*it)[2]);
    out.push_back((*it)[2]);
  }
  return out;
}

// The explanations the page holds, as the JSON object it embeds (null when it holds none).
json explanations_of(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"attn-trace-explanations\">";
  const std::size_t from = html.find(open);
  if (from == std::string::npos) return nullptr;
  const std::size_t start = from + open.size();
  return json::parse(html.substr(start, html.find("</script>", start) - start));
}

// The text of an HTML fragment: tags dropped, the five references the page writes decoded.
std::string text_of(std::string html) {
  html = std::regex_replace(html, std::regex("<[^>]*>"), "");
  for (const auto& [ref, c] : std::vector<std::pair<std::string, std::string>>{
           {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}}) {
    for (std::size_t at = html.find(ref); at != std::string::npos; at = html.find(ref, at + 1)) {
      html.replace(at, ref.size(), c);
    }
  }
  return html;
}

struct CellRefParsed {
  StageId stage;
  std::string tensor;
  std::vector<std::size_t> index;
};

CellRefParsed parse_cell_name(const std::string& name) {
  static const std::regex form(R"re(([a-z_]+)\.([A-Za-z_]+)\[([0-9,]+)\])re");
  std::smatch m;
  REQUIRE(std::regex_match(name, m, form));
  CellRefParsed out{*stage_named(m[1].str()), m[2], {}};
  std::istringstream index(m[3].str());
  for (std::string part; std::getline(index, part, ',');) out.index.push_back(std::stoul(part));
  return out;
}

// Every number the page shows is the whole trace's number at its data-cell, as the text
// walkthrough prints it; returns how many were checked.
std::size_t check_numbers(const std::string& html, const Trace& whole, int precision = 4) {
  const auto cells = cells_of(html);
  for (const auto& [name, text] : cells) {
    INFO(name);
    const CellRefParsed cell = parse_cell_name(name);
    const Stage* stage = whole.find_stage(cell.stage);
    REQUIRE(stage);
    const auto t = std::find_if(stage->tensors.begin(), stage->tensors.end(),
                                [&](const Tensor& x) { return x.name == cell.tensor; });
    REQUIRE(t != stage->tensors.end());
    REQUIRE(cell.index.size() == t->rank());
    CHECK(text == walkthrough::cell_text(*t, t->at(cell.index), precision,
                                         walkthrough::whole_numbers(*stage, *t)));
  }
  return cells.size();
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("the page is one self-contained document: inline style and script, nothing loaded",
          "[html]") {
  const std::string html = html_of(traced("i-am-good"));
  CHECK(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"));
  CHECK(html.ends_with("</body>\n</html>\n"));
  CHECK_THAT(html, Contains("<title>attn-trace · I am good</title>"));
  // Nothing may load, and only the page's own script (by its hash) may run.
  CHECK(std::regex_search(
      html, std::regex("content=\"default-src 'none'; style-src 'unsafe-inline'; script-src "
                       "'sha256-[A-Za-z0-9+/]{43}='; base-uri 'none'; form-action 'none'\"")));
  CHECK(count(html, "<style>") == 1);
  CHECK(count(html, "<script") == 2);  // the explanations (data) and the page's script
  CHECK(count(html, "<script type=\"application/json\" id=\"attn-trace-explanations\">") == 1);
  // No reference to another file or host: every link is to a place in the page.
  CHECK(count(html, "src=") == 0);
  CHECK(count(html, "url(") == 0);
  CHECK(count(html, "@import") == 0);
  CHECK(count(html, "href=\"") == count(html, "href=\"#stage-"));
}

TEST_CASE("the page says what the text walkthrough says: header, stages, formulas, summary",
          "[html]") {
  const std::string html = html_of(traced("i-am-good"));
  CHECK(stages_of(html) == std::vector<std::string>{"input", "projections", "scores", "scaling",
                                                    "softmax", "weighted_values", "summation",
                                                    "out_proj"});
  const std::string text = text_of(html);
  CHECK_THAT(text, Contains("attn-trace · I am good"));
  CHECK_THAT(text, Contains("sizesL = 3 tokens · E = 2 · H = 1 head · d = 2"));
  CHECK_THAT(text, Contains("scale× 0.707107 (1/√d = 1/√2, as PyTorch)"));
  CHECK_THAT(text, Contains("note: in_proj_weight was split in PyTorch's order"));
  CHECK_THAT(text, Contains("3/8 · scores · Attention scores: every query against every key"));
  CHECK_THAT(html, Contains("<p class=\"formula\">scores = Q·Kᵀ</p>"));
  CHECK_THAT(text, Contains("shapes: (3×2)·(2×3) → (3×3)"));
  CHECK_THAT(text, Contains("weights (3×3)   [query × key]"));
  CHECK_THAT(text, Contains("The result, output of the out_proj stage:"));
  CHECK_THAT(text, Contains("Each query token attends most to:"));
  CHECK_THAT(html, Contains("<li data-query=\"2\"><span class=\"query\">good</span> → <span "
                            "class=\"pick\">good 0.37</span></li>"));
  // Token labels name the rows and columns.
  CHECK_THAT(html, Contains("<th scope=\"col\">I</th><th scope=\"col\">am</th><th "
                            "scope=\"col\">good</th>"));
  CHECK_THAT(html, Contains("<tr data-query=\"1\"><th scope=\"row\">am</th>"));
}

TEST_CASE("every number has its data-cell, with the trace's number as the walkthrough prints it",
          "[html]") {
  const Traced t = traced("multihead");
  const std::string html = html_of(t);
  CHECK(stages_of(html).size() == 11);
  // Every number of every tensor, and the summary's result once more.
  std::size_t numbers = 0;
  for (const Stage& stage : t.whole.stages) {
    for (const Tensor& tensor : stage.tensors) numbers += tensor.size();
  }
  const std::size_t result = t.whole.stages.back().tensors.back().size();
  CHECK(check_numbers(html, t.whole) == numbers + result);
  // The masks' flags as whole numbers, the blocked cells as −∞, the cells' names as explain's.
  CHECK_THAT(html, Contains("<td data-cell=\"masking.mask[0,1]\" tabindex=\"0\">0</td>"));
  CHECK_THAT(html,
             Contains("<td data-cell=\"masking.additive_mask[1,0,1]\" tabindex=\"0\">−∞</td>"));
  CHECK_THAT(html, Contains("data-cell=\"split_heads.Q[1,3,2]\""));

  TextOptions precise;
  precise.precision = 7;
  CHECK(check_numbers(html_of(t, precise), t.whole, 7) == numbers + result);
}

TEST_CASE("each cell's explanation is what attn-trace explain prints for it", "[html][explain]") {
  const Traced t = traced("multihead");
  const std::string html = html_of(t);
  const json explanations = explanations_of(html);
  REQUIRE(explanations.is_object());
  CHECK_THAT(html, Contains("<body data-view=\"all\" data-explanations=\"included\">"));
  std::set<std::string> names;
  for (const auto& [name, text] : cells_of(html)) names.insert(name);
  CHECK(explanations.size() == names.size());
  for (const std::string& name : names) {
    INFO(name);
    REQUIRE(explanations.contains(name));
    const CellRefParsed cell = parse_cell_name(name);
    const std::optional<Explanation> e = explainer_of(t)(cell.stage, cell.tensor, cell.index);
    REQUIRE(e);
    std::ostringstream expected;
    render_explanation_text(*e, 4, expected);
    CHECK(explanations[name].get<std::string>() == expected.str());
    CHECK_THAT(expected.str(), Contains("✓ the trace holds the same number"));
  }
  CHECK_THAT(explanations["softmax.weights[1,2,0]"].get<std::string>(),
             Contains("softmax.weights[1,sat,the]\n"));
  // Without an explainer, the page holds none and says so to the script.
  std::ostringstream out;
  render_html(t.whole, {}, HtmlOptions{}, out);
  CHECK(explanations_of(out.str()).is_null());
  CHECK_THAT(out.str(), Contains("data-explanations=\"none\""));
}

TEST_CASE("above the limit the page leaves the explanations out and says why and what to do",
          "[html][explain]") {
  const Traced t = traced("multihead");
  const std::size_t numbers = check_numbers(html_of(t), t.whole) -
                              t.whole.stages.back().tensors.back().size();  // the summary's repeat
  const std::string at_limit = html_of(t, {}, numbers);
  CHECK(explanations_of(at_limit).is_object());
  CHECK_THAT(at_limit, !Contains("<p class=\"notice\""));
  const std::string over = html_of(t, {}, numbers - 1);
  CHECK(explanations_of(over).is_null());
  CHECK_THAT(over, Contains("data-explanations=\"left-out\""));
  CHECK_THAT(text_of(over),
             Contains(fmt::format("its tables show {} numbers, more than the {} whose", numbers,
                                  numbers - 1)));
  CHECK_THAT(text_of(over), Contains("--focus"));
  CHECK_THAT(text_of(over), Contains("attn-trace explain CELL"));
  // The numbers are all there still.
  CHECK(check_numbers(over, t.whole) == cells_of(at_limit).size());
}

TEST_CASE("a BERT-base-shaped page shows 1728 numbers: under the limit, so they are explained",
          "[html][explain]") {
  // The summary keeps 3 of each end of every axis, whatever its length: L = 16, E = 96 and
  // 12 heads of d = 8 give the same tables as BERT-base's L = 512, E = 768, d = 64 (bench/html.sh
  // measures that one): 4 (L, E) tensors of 6×6, 7 head tensors of 6 heads × 6×6; weighted
  // values left out by the limit, as BERT-base's 201 million are.
  json input = {{"num_heads", 12}, {"name", "BERT-shaped"}};
  for (int i = 0; i < 16; ++i) {
    json row = json::array();
    for (int e = 0; e < 96; ++e) row.push_back(((i * 7 + e * 3) % 11) / 10.0 - 0.5);
    input["input"].push_back(row);
  }
  json w = json::array(), wo = json::array();
  for (int r = 0; r < 3 * 96; ++r) {
    json row = json::array();
    for (int e = 0; e < 96; ++e) row.push_back(((r * 5 + e) % 13) / 100.0 - 0.06);
    w.push_back(row);
    if (r < 96) wo.push_back(row);
  }
  input["weights"] = {{"in_proj_weight", w}, {"out_proj.weight", wo}};
  const Traced t = traced_json(input.dump(), "bert-shaped.json");
  TextOptions options;
  options.weighted_limit = 1000;
  const std::string html = html_of(t, options);
  CHECK_THAT(text_of(html), Contains("weighted holds 24576 numbers, more than the limit of 1000"));
  std::set<std::string> names;
  for (const auto& [name, text] : cells_of(html)) names.insert(name);
  CHECK(names.size() == 1728);
  CHECK(1728 < html_explained_cells_limit);
  CHECK(explanations_of(html).size() == 1728);
  CHECK(check_numbers(html, t.whole) == 1728 + 36);
  // Six of the twelve heads, and the first and last three queries, are offered to focus on.
  CHECK_THAT(html, Contains("<option value=\"11\">11</option>"));
  CHECK_THAT(html, !Contains("<option value=\"5\">5</option>"));
  CHECK_THAT(html, Contains("<p class=\"gap\" data-gap=\"blocks\">⋮ (6 more heads)</p>"));
}

TEST_CASE("the header left out, --stages and --until: what the text walkthrough shows", "[html]") {
  const Traced t = traced("multihead");
  TextOptions options;
  options.header = false;
  options.stages.only = {StageId::scores, StageId::softmax};
  std::string html = html_of(t, options);
  CHECK(stages_of(html) == std::vector<std::string>{"scores", "softmax"});
  CHECK_THAT(html, !Contains("<header"));
  CHECK_THAT(html, !Contains("<h1>"));
  CHECK_THAT(html, !Contains("sizes"));
  CHECK_THAT(html, !Contains("class=\"summary\""));  // --stages: no summary, as in text
  CHECK_THAT(html, Contains("<a href=\"#stage-scores\" data-goto=\"scores\">4 scores</a>"));
  CHECK(check_numbers(html, t.whole) == 32 + 32);  // 2 heads × 4 × 4, twice

  TextOptions until;
  until.stages.until = StageId::masking;
  html = html_of(t, until);
  CHECK(stages_of(html) == std::vector<std::string>{"input", "projections", "split_heads", "scores",
                                                    "scaling", "masking"});
  CHECK_THAT(html, Contains("<header class=\"trace-header\">"));
  CHECK_THAT(html, !Contains("class=\"summary\""));

  // A stage asked for that the trace lacks: the same note as the text walkthrough.
  TextOptions absent;
  absent.stages.only = {StageId::split_heads, StageId::scores};
  html = html_of(traced("i-am-good"), absent);
  CHECK(stages_of(html) == std::vector<std::string>{"scores"});
  CHECK_THAT(html, Contains("<p class=\"absent-note\">(no split_heads stage in this trace: "
                            "it exists only with num_heads &gt; 1)</p>"));
}

TEST_CASE("a focused page names its cells with whole-trace indices, explained on the whole trace",
          "[html][focus]") {
  Traced t = traced("multihead");
  t.focused = focus_trace(t.whole, FocusRequest{{}, "1", "2"}, "multihead");
  const std::string html = html_of(t);
  // Head 1 and query 2 ("sat") of the whole trace, in every hook.
  CHECK_THAT(html, Contains("data-cell=\"scores.scores[1,2,0]\""));
  CHECK_THAT(html, !Contains("data-cell=\"scores.scores[0,"));
  CHECK_THAT(html, Contains("<div class=\"block\" data-head=\"1\">"));
  CHECK_THAT(html, Contains("<tr data-query=\"2\"><th scope=\"row\">sat</th>"));
  CHECK_THAT(text_of(html), Contains("head 1 (of 0–1) · query sat (position 2 of 0–3)"));
  // The numbers are the whole trace's at those indices, and so are the explanations.
  CHECK(check_numbers(html, t.whole) > 0);
  const json explanations = explanations_of(html);
  CHECK_THAT(explanations["softmax.weights[1,2,1]"].get<std::string>(),
             Contains("softmax.weights[1,sat,cat]\n"));
  // One head and one query: nothing to choose between.
  CHECK_THAT(html, !Contains("data-focus="));
}

TEST_CASE("the multi-head page offers head and query selectors with token labels",
          "[html][focus]") {
  const std::string html = html_of(traced("multihead"));
  CHECK_THAT(html, Contains("<label>head <select data-focus=\"head\"><option value=\"\">all "
                            "heads</option><option value=\"0\">0</option><option "
                            "value=\"1\">1</option></select></label>"));
  CHECK_THAT(html, Contains("<option value=\"3\">3 · down</option></select>"));
  CHECK_THAT(html, Contains("<span class=\"pick\" data-head=\"1\">head 1: "));
  CHECK_THAT(html, !Contains("data-focus=\"batch\""));
}

TEST_CASE("scores to weights are shaded as the terminal heatmap, blocked cells marked", "[html]") {
  const std::string html = html_of(traced("multihead"));
  // The weights' legend: 0 to 1 on the ramp, and the blocked shade; a blocked weight is a bold 0
  // on red; the largest weight dark blue with white ink.
  CHECK_THAT(html, Contains("<p class=\"legend\"><span class=\"legend-label\">shade</span> <span "
                            "class=\"swatch\" style=\"background:#eff6fd\">0</span>"));
  CHECK_THAT(html,
             Contains("<span class=\"legend-caption\">weights 0 → 1</span> · <span "
                      "class=\"swatch light\" style=\"background:#be1e2d\">0</span> blocked"));
  CHECK_THAT(html, Contains("<span class=\"swatch light\" style=\"background:#be1e2d\">−∞</span>"));
  CHECK_THAT(html, Contains("<td data-cell=\"softmax.weights[0,0,1]\" tabindex=\"0\" "
                            "class=\"light blocked\" style=\"background:#be1e2d\" title=\"blocked "
                            "by the mask\">0.0000</td>"));
  CHECK_THAT(html, Contains("<td data-cell=\"softmax.weights[0,0,0]\" tabindex=\"0\" "
                            "class=\"light\" style=\"background:#08306b\">1.0000</td>"));
  CHECK(count(html, "class=\"legend\"") == 4);  // scores, scaled, masked, weights
  // Not shaded: the others.
  CHECK_THAT(html, Contains("<td data-cell=\"projections.Q[0,0]\" tabindex=\"0\">-0.0280</td>"));
}

TEST_CASE("stage explanations, published values and weighted values left out, as in the text",
          "[html]") {
  TextOptions options;
  options.explain = true;
  const std::string html = html_of(traced("karim"), options);
  CHECK_THAT(text_of(html), Contains("Every query is compared with every key by a dot product."));
  CHECK_THAT(text_of(html), Contains("Shape rule: (L, d)·(S, d)ᵀ → (L, S)"));
  CHECK_THAT(html, Contains("<div class=\"published matches\">"));
  CHECK_THAT(text_of(html), Contains("matches the published values"));

  TextOptions limited;
  limited.weighted_limit = 10;
  const std::string left_out = html_of(traced("i-am-good"), limited);
  CHECK_THAT(text_of(left_out),
             Contains("weighted (3×3×2): weighted holds 18 numbers, more than the limit of 10, so "
                      "it is left out; run with --weighted-limit 18 to include it"));
  CHECK_THAT(left_out, !Contains("data-cell=\"weighted_values."));
}

TEST_CASE("nothing a stranger writes becomes markup or script", "[html][escaping]") {
  json input = {
      {"name", "</title><script>alert(1)</script>"},
      {"description", "<img src=x onerror=alert(1)> & \"quotes\" 'single'"},
      {"source", "</script><script>alert(2)</script>"},
      {"input", {{0.2, 0.1}, {0.9, 0.4}, {0.7, 0.8}}},
      {"tokens", {"<script>alert(1)</script>", "\" onmouseover=\"alert(1)", "'><b>x</b>"}},
  };
  const std::string html = html_of(traced_json(input.dump(), "hostile.json"));
  CHECK(count(html, "<script") == 2);
  CHECK(count(html, "</script>") == 2);
  CHECK(count(html, "<img") == 0);
  CHECK(count(html, "<b>") == 0);
  CHECK(count(html, "onmouseover=\"") == 0);
  CHECK_THAT(html, Contains("<title>attn-trace · &lt;/title&gt;&lt;script&gt;alert(1)&lt;/"
                            "script&gt;</title>"));
  CHECK_THAT(html, Contains("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot; "
                            "&#39;single&#39;"));
  CHECK_THAT(html, Contains("<th scope=\"col\">&quot; onmouseov…</th>"));
  CHECK_THAT(html, Contains("<th scope=\"row\">&lt;script&gt;ale…</th>"));
  // In the explanations' JSON, the labels' < > & are \u escapes, and the JSON still reads.
  const json explanations = explanations_of(html);
  REQUIRE(explanations.is_object());
  CHECK_THAT(explanations["projections.Q[0,0]"].get<std::string>(),
             Contains("= X[<script>ale…,0] = 0.2"));
  CHECK_THAT(html, Contains("X[\\u003cscript\\u003eale…,0]"));
}

TEST_CASE("escaping: HTML references, JSON for a script element, broken UTF-8",
          "[html][escaping]") {
  CHECK(html::escape("a<b>&\"c\"'d'") == "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;");
  CHECK(html::escape("−∞ 좋다") == "−∞ 좋다");
  CHECK(html::escape("a\xFF"
                     "b\xC3") ==
        "a\xEF\xBF\xBD"
        "b\xEF\xBF\xBD");
  CHECK(html::json_string("</script><!--") == R"("\u003c/script\u003e\u003c!--")");
  CHECK(html::json_string("a&b\"c\\d\ne\tf") == R"("a\u0026b\"c\\d\ne\u0009f")");
  CHECK(html::json_string("line\xE2\x80\xA8para\xE2\x80\xA9") == R"("line\u2028para\u2029")");
  CHECK(html::json_string("bad\xFF") == R"("bad\ufffd")");
  CHECK(json::parse(html::json_string("<&>\xE2\x80\xA8 −∞")) == "<&>\xE2\x80\xA8 −∞");
}
