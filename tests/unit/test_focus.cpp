// run --focus: a trace cut to one batch, head and/or query holds exactly that slice of PyTorch's
// numbers, says what it kept, and every mistake in a --focus value gets its own message.
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/examples.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/render/json.hpp"
#include "attn_trace/render/text.hpp"
#include "attn_trace/teach/focus.hpp"
#include "golden.hpp"

using namespace attn_trace;
using Catch::Contains;
using json = nlohmann::json;

namespace {

Trace example_trace(std::string_view name) {
  return trace_attention(load_spec(find_example(name)->json, std::string(name)));
}

json golden_file(const std::string& name) {
  std::ifstream in(std::string(ATTN_TRACE_GOLDEN_DIR) + "/" + name + ".json");
  return json::parse(in);
}

// Where index `index` of a tensor cut by `focus` stands in the whole tensor of shape `whole`.
std::size_t whole_flat(const Tensor& cut, const std::vector<std::size_t>& index,
                       const std::vector<std::size_t>& whole, const TraceFocus& focus) {
  std::size_t flat = 0;
  for (std::size_t a = 0; a < cut.rank(); ++a) {
    std::size_t i = index[a];
    if (cut.axes[a] == Axis::batch && focus.batch) i = *focus.batch;
    if (cut.axes[a] == Axis::head && focus.head) i = *focus.head;
    if (cut.axes[a] == Axis::query && focus.query) i = *focus.query;
    flat = flat * whole[a] + i;
  }
  return flat;
}

// Every number of every tensor of `cut` is PyTorch's number at the focused place in the whole
// golden tensor; a cut axis has size 1, every other axis its whole size.
void check_against_golden(const Trace& cut, const json& stages) {
  REQUIRE(cut.focus);
  std::size_t checked = 0;
  for (const Stage& stage : cut.stages) {
    const std::string name(stage_name(stage.id));
    for (const Tensor& t : stage.tensors) {
      if (!stages.contains(name) || !stages[name].contains(t.name)) continue;
      const json& expected = stages[name][t.name];
      const auto whole = expected["shape"].get<std::vector<std::size_t>>();
      INFO(stage_name(stage.id) << "." << t.name);
      REQUIRE(t.rank() == whole.size());
      for (std::size_t a = 0; a < t.rank(); ++a) {
        const bool cut_axis = (t.axes[a] == Axis::batch && cut.focus->batch) ||
                              (t.axes[a] == Axis::head && cut.focus->head) ||
                              (t.axes[a] == Axis::query && cut.focus->query);
        CHECK(t.shape[a] == (cut_axis ? 1 : whole[a]));
      }
      std::vector<std::size_t> index(t.rank(), 0);
      for (std::size_t n = 0; n < t.size(); ++n) {
        std::size_t rest = n;
        for (std::size_t a = t.rank(); a-- > 0;) {
          index[a] = rest % t.shape[a];
          rest /= t.shape[a];
        }
        const double traced = t.generated() ? t.block_values(n / (t.rows() * t.cols()))(
                                                  static_cast<Index>(index[t.rank() - 2]),
                                                  static_cast<Index>(index.back()))
                                            : t.data[n];
        const double pytorch =
            golden::number(expected["data"][whole_flat(t, index, whole, *cut.focus)]);
        if (!golden::matches(traced, pytorch)) {
          FAIL_CHECK("element " << n << ": traced " << traced << ", PyTorch " << pytorch);
        }
        ++checked;
      }
    }
  }
  CHECK(checked > 0);
}

FocusRequest request(std::optional<std::string> batch, std::optional<std::string> head,
                     std::optional<std::string> query) {
  return FocusRequest{std::move(batch), std::move(head), std::move(query)};
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return std::string(e.what()) + (e.hint().empty() ? "" : " | hint: " + e.hint());
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("parse_focus reads any subset of head, query and batch", "[focus]") {
  const FocusRequest all = parse_focus("head=1,query=am,batch=0");
  CHECK(all.head == "1");
  CHECK(all.query == "am");
  CHECK(all.batch == "0");
  const FocusRequest one = parse_focus(" query = good ");
  CHECK(!one.head);
  CHECK(!one.batch);
  CHECK(one.query == " good ");  // as typed: a token may begin with a space
}

TEST_CASE("parse_focus names each mistake", "[focus]") {
  CHECK_THAT(error_of([] { (void)parse_focus(""); }), Contains("--focus: the value is empty"));
  CHECK_THAT(error_of([] { (void)parse_focus("head"); }), Contains("--focus: 'head' has no '='"));
  CHECK_THAT(error_of([] { (void)parse_focus("heads=1"); }),
             Contains("unknown axis 'heads' (did you mean 'head'?)"));
  CHECK_THAT(error_of([] { (void)parse_focus("head=1,head=0"); }),
             Contains("--focus: head is given twice"));
  CHECK_THAT(error_of([] { (void)parse_focus("query="); }), Contains("query= has no value"));
  CHECK_THAT(error_of([] { (void)parse_focus("head=1,"); }),
             Contains("--focus: an empty part (two commas in a row, or one at an end)"));
  CHECK_THAT(error_of([] { (void)parse_focus("head=1,,query=0"); }), Contains("an empty part"));
}

TEST_CASE("a focused head and query hold PyTorch's numbers for that slice", "[focus]") {
  const json g = golden_file("mask-combo-causal-kpm-batched-h2");
  const Trace whole = trace_attention(load_spec(g["input"].dump(), "golden.json"));
  SECTION("head and query in both batches") {
    check_against_golden(focus_trace(whole, request({}, "1", "2"), "golden.json"), g["stages"]);
  }
  SECTION("one batch, every head and query") {
    check_against_golden(focus_trace(whole, request("1", {}, {}), "golden.json"), g["stages"]);
  }
  SECTION("all three") {
    const Trace cut = focus_trace(whole, request("1", "0", "bark"), "golden.json");
    CHECK(cut.focus->query == 2u);
    check_against_golden(cut, g["stages"]);
  }
}

TEST_CASE("focus works on cross-attention, extra keys and per-head masks", "[focus]") {
  for (const char* name : {"cross-bias-kv-zero-attn-causal-batched-h2", "cross-kdim-vdim-h2",
                           "mask-attn-float-3d-batched-h2", "mask-fully-blocked-row-h2"}) {
    INFO(name);
    const json g = golden_file(name);
    const Trace whole = trace_attention(load_spec(g["input"].dump(), "golden.json"));
    check_against_golden(focus_trace(whole, request({}, "1", "0"), "golden.json"), g["stages"]);
    check_against_golden(focus_trace(whole, request({}, {}, "1"), "golden.json"), g["stages"]);
  }
}

TEST_CASE("a query token names its position; the labels follow the slice", "[focus]") {
  const Trace whole = example_trace("multihead");
  const Trace cut = focus_trace(whole, request({}, "1", "sat"), "multihead");
  REQUIRE(cut.focus);
  CHECK(cut.focus->query == 2u);
  CHECK(cut.focus->head == 1u);
  CHECK(cut.focus->heads == 2u);
  CHECK(cut.focus->queries == 4u);
  CHECK(cut.tokens == std::vector<std::vector<std::string>>{{"sat"}});
  CHECK(cut.kv_tokens == whole.kv_tokens);  // keys are never cut
  CHECK(cut.focus->tokens == whole.tokens);
  CHECK(cut.whole_index(Axis::head, 0) == 1u);
  // The weights of that head and query: one row, as long as the keys, summing to 1.
  const Tensor& w = cut.find_stage(StageId::softmax)->tensors.front();
  CHECK(w.shape == std::vector<std::size_t>{1, 1, 4});
  const Tensor& whole_w = whole.find_stage(StageId::softmax)->tensors.front();
  for (std::size_t j = 0; j < 4; ++j) CHECK(w.data[j] == whole_w.data[(1 * 4 + 2) * 4 + j]);
  // The stages after merge_heads have no head axis: only the query is cut.
  CHECK(cut.find_stage(StageId::out_proj)->tensors.front().shape == std::vector<std::size_t>{1, 6});
}

TEST_CASE("a generated weighted_values is cut block by block", "[focus]") {
  // 300 queries and keys of d = 12: 1.08 million weighted numbers, generated on demand.
  json input = {{"num_heads", 1}};
  json rows = json::array();
  for (int i = 0; i < 300; ++i) {
    json row = json::array();
    for (int j = 0; j < 12; ++j) row.push_back(((i * 7 + j * 5) % 13) / 13.0 - 0.5);
    rows.push_back(row);
  }
  input["input"] = rows;
  const Trace whole = trace_attention(load_spec(input.dump(), "long.json"));
  const Tensor& weighted = whole.find_stage(StageId::weighted_values)->tensors.front();
  REQUIRE(weighted.generated());
  const Trace cut = focus_trace(whole, request({}, {}, "123"), "long.json");
  const Tensor& cut_weighted = cut.find_stage(StageId::weighted_values)->tensors.front();
  REQUIRE(cut_weighted.generated());
  CHECK(cut_weighted.shape == std::vector<std::size_t>{1, 300, 12});
  CHECK(cut_weighted.block_values(0) == weighted.block_values(123));
}

TEST_CASE("focus_trace names the input and what is valid", "[focus]") {
  const Trace multihead = example_trace("multihead");
  const auto error = [&](FocusRequest r) {
    return error_of([&] { (void)focus_trace(multihead, r, "multihead"); });
  };
  CHECK(error(request({}, "2", {})) ==
        "multihead: --focus head=2: this trace has 2 heads: valid are 0 to 1");
  CHECK(error(request({}, "one", {})) ==
        "multihead: --focus head=one: this trace has 2 heads: valid are 0 to 1");
  CHECK(
      error(request({}, "99999999999999999999999", {})) ==
      "multihead: --focus head=99999999999999999999999: this trace has 2 heads: valid are 0 to 1");
  CHECK(error(request("1", {}, {})) ==
        "multihead: --focus batch=1: this trace has 1 batch: the only valid one is 0");
  CHECK(error(request({}, {}, "4")) ==
        "multihead: --focus query=4: this trace has 4 queries: valid are 0 to 3 "
        "(the · cat · sat · down)");
  CHECK(error(request({}, {}, "dwon")) ==
        "multihead: --focus query=dwon: no query token 'dwon' (did you mean 'down'?): valid are 0 "
        "to 3 (the · cat · sat · down) | hint: give the query's position instead, e.g. query=0");
  // A token that stands twice, and one at different positions in different batches.
  json twice = {{"input", {{0.1, 0.2}, {0.3, 0.4}, {0.5, 0.6}}}, {"tokens", {"a", "b", "a"}}};
  const Trace t = trace_attention(load_spec(twice.dump(), "twice.json"));
  CHECK(error_of([&] { (void)focus_trace(t, request({}, {}, "a"), "twice.json"); }) ==
        "twice.json: --focus query=a: the token 'a' stands at 0 and 2 | hint: give its position "
        "instead, e.g. query=0");
  json batches = {{"input", {{{0.1, 0.2}, {0.3, 0.4}}, {{0.5, 0.6}, {0.7, 0.8}}}},
                  {"tokens", json::array({json::array({"x", "y"}), json::array({"y", "x"})})}};
  const Trace b = trace_attention(load_spec(batches.dump(), "batches.json"));
  CHECK_THAT(error_of([&] { (void)focus_trace(b, request({}, {}, "y"), "batches.json"); }),
             Contains("the token 'y' stands at different positions in different batches | hint: "
                      "add batch=N"));
  const Trace by_batch = focus_trace(b, request("1", {}, "y"), "batches.json");
  CHECK(by_batch.focus->query == 0u);
  CHECK(by_batch.tokens == std::vector<std::vector<std::string>>{{"y"}});
}

TEST_CASE("the walkthrough and the export say what the focus kept", "[focus]") {
  const Trace cut = focus_trace(example_trace("multihead"), request({}, "1", "sat"), "multihead");
  std::ostringstream text;
  render_text(cut, TextOptions{}, text);
  CHECK_THAT(text.str(), Contains("tokens   the · cat · sat · down"));
  CHECK_THAT(text.str(),
             Contains("  focus    head 1 (of 0–1) · query sat (position 2 of 0–3): every "
                      "table shows\n           only this slice; all the keys still "
                      "count\n"));
  CHECK_THAT(text.str(), Contains("weights (1×1×4)   [head × query × key]\n  head 1\n"));
  // The summary names the head as the whole trace numbers it.
  CHECK_THAT(text.str(), Contains("    sat → head 1: "));
  CHECK_THAT(text.str(), !Contains("head 0"));

  std::ostringstream exported;
  render_json(cut, JsonOptions{}, exported);
  const json j = json::parse(exported.str());
  CHECK(j["focus"] == json{{"batch", nullptr}, {"head", 1}, {"query", 2}});
  CHECK(j["tokens"] == json{"sat"});
}

TEST_CASE("focus says where a query token is when it is not a query of that batch", "[focus]") {
  // Cross-attention: "am" is a key (the English side), the queries are French.
  const Trace cross = example_trace("cross");
  CHECK(error_of([&] { (void)focus_trace(cross, request({}, {}, "am"), "cross"); }) ==
        "cross: --focus query=am: 'am' is a key token, not a query token; --focus cuts the "
        "queries (every key still counts): valid are 0 to 2 (je · vais · bien)");
  // Per-batch tokens: "hot" is a query of batch 1 only.
  json batches = {
      {"input", {{{0.1, 0.2}, {0.3, 0.4}}, {{0.5, 0.6}, {0.7, 0.8}}}},
      {"tokens", json::array({json::array({"is", "bark"}), json::array({"hot", "we"})})}};
  const Trace b = trace_attention(load_spec(batches.dump(), "batches.json"));
  CHECK(error_of([&] { (void)focus_trace(b, request({}, {}, "hot"), "batches.json"); }) ==
        "batches.json: --focus query=hot: 'hot' is no query token in batch 0, but one of batch 1 "
        "| hint: add batch=1 (or give the query's position)");
  CHECK(focus_trace(b, request("1", {}, "hot"), "batches.json").focus->query == 0u);
  // The header names the focused position's token in every batch kept.
  std::ostringstream text;
  render_text(focus_trace(b, request({}, {}, "1"), "batches.json"), TextOptions{}, text);
  CHECK_THAT(text.str(), Contains("focus    query bark / we (position 1 of 0–1)"));
}

TEST_CASE("a token that begins with a space is found as typed, or trimmed", "[focus]") {
  json input = {{"input", {{0.1, 0.2}, {0.3, 0.4}, {0.5, 0.6}}},
                {"tokens", {"The", " cat", "sat"}}};
  const Trace t = trace_attention(load_spec(input.dump(), "bpe.json"));
  CHECK(focus_trace(t, request({}, {}, " cat"), "bpe.json").focus->query == 1u);
  CHECK(focus_trace(t, request({}, {}, "sat "), "bpe.json").focus->query == 2u);
  CHECK(parse_focus("query= cat").query == " cat");
  // One head, one batch: 0 is the only valid index, and the header says so.
  std::ostringstream text;
  render_text(focus_trace(t, request("0", "0", "0"), "bpe.json"), TextOptions{}, text);
  CHECK_THAT(text.str(), Contains("focus    batch 0 (the only one) · head 0 (the only one) · "
                                  "query The (position\n           0 of 0–2)"));
}
