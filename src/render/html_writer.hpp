// The HTML page's private parts (render_html, html.hpp): the writer both parts write with, and
// what the page shows, counted before it is written.
//
//   html.cpp         the page: its head, the controls, the header, each stage, the summary, the
//                    cells' explanations as data, the script
//   html_tables.cpp  one tensor as labelled, shaded tables whose every number is a cell to click
//   html_escape.cpp  text that strangers wrote, as HTML text and as JSON inside the page
//
// The page is laid out from walkthrough.hpp's model, as the text walkthrough is, so that the two
// say the same things; nothing here computes attention.
#pragma once

#include <cstddef>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "attn_trace/core/trace.hpp"
#include "attn_trace/render/html.hpp"
#include "attn_trace/render/text.hpp"
#include "walkthrough.hpp"

namespace attn_trace::html {

// What the page's tables show, counted before anything is written: how many numbers (which decides
// whether the cells are explained), and the batches, heads and query positions the blocks and rows
// hold (whole-trace numbers), which the focus selectors offer.
struct PageContents {
  std::size_t numbers = 0;
  std::set<std::size_t> batches, heads;
  // Each query position, with its distinct labels over the batches ("am", or "bark / hot").
  std::map<std::size_t, std::vector<std::string>> queries;
};

// What the stages `options` shows hold in their tables (the closing summary repeats the last
// stage's result, so it adds nothing).
[[nodiscard]] PageContents contents_of(const Trace& trace, const TextOptions& options);

// One number the page shows, to be explained: where it is in the whole trace.
struct ShownCell {
  StageId stage;
  std::string tensor;
  std::vector<std::size_t> index;  // whole-trace indices, as `attn-trace explain` takes them
  std::string name;                // its CELL text: "scores.scores[1,0,2]"
};

// What every part writes with: the trace, the options, the stream, and the cells written so far.
class PageWriter {
 public:
  // `collect`: remember every cell written (cells()), to explain them after the tables.
  // REQUIRES: `trace`, `options` and `out` outlive the writer.
  PageWriter(const Trace& trace, const TextOptions& options, std::ostream& out, bool collect)
      : trace_(trace), options_(options), out_(out), collect_(collect) {}

  [[nodiscard]] const Trace& trace() const { return trace_; }
  [[nodiscard]] const TextOptions& options() const { return options_; }

  // Writes `markup` as it is: the caller escaped what it holds of a user's text.
  void raw(std::string_view markup) { out_ << markup; }

  // Writes <tag attributes>text</tag>, `text` escaped, and a newline.
  void element(std::string_view tag, std::string_view attributes, std::string_view text);

  // Writes tensor `t` of `stage`: its heading, the summary's note, the legend when shaded, then one
  // labelled table per 2-D block shown (html_tables.cpp). `whole`: whole numbers without decimals.
  void write_tensor(const Stage& stage, const Tensor& t, bool whole, const walkthrough::Heat* heat);

  // Every cell written, each once, in the order written (empty unless collecting).
  [[nodiscard]] const std::vector<ShownCell>& cells() const { return cells_; }

 private:
  void write_legend(const walkthrough::Heat& heat, bool blocked);
  void write_block(const Stage& stage, const Tensor& t, const walkthrough::TableLayout& layout,
                   const walkthrough::TableBlock& block, bool whole, const walkthrough::Heat* heat);
  void write_cell(const Stage& stage, const Tensor& t, const walkthrough::TableBlock& block,
                  std::size_t row, std::size_t col, double value, bool whole,
                  const std::optional<walkthrough::CellShade>& shade);

  const Trace& trace_;
  const TextOptions& options_;
  std::ostream& out_;
  bool collect_;
  std::vector<ShownCell> cells_;
  std::unordered_set<std::string> collected_;  // the names in cells_
};

}  // namespace attn_trace::html
