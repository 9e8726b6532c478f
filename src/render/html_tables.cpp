// The page's tables (PageWriter::write_tensor, html_writer.hpp): a tensor as one labelled table per
// 2-D block, its rows and columns named by their tokens, scores to weights shaded as the terminal's
// heatmap, and every number a cell that names itself (data-cell) for its explanation.
//
//   <div class="block" data-head="1">             a block, with its batch and head (whole trace)
//     <h4>head 1</h4>
//     <table><tr data-query="0"><th>I</th>         a row, with its query position (whole trace)
//       <td data-cell="scores.scores[1,0,2]" …>0.1234</td>
#include <algorithm>

#include <fmt/format.h>

#include "attn_trace/render/heatmap.hpp"
#include "html_escape.hpp"
#include "html_writer.hpp"

namespace attn_trace::html {
namespace {

using namespace walkthrough;

// " data-batch="0" data-head="1"": the block's batch and head as the whole trace counts them, for
// the focus selectors.
std::string block_attributes(const Trace& trace, const Tensor& t, const TableBlock& block) {
  std::string out;
  for (std::size_t a = 0; a < block.index.size(); ++a) {
    if (t.axes[a] == Axis::batch || t.axes[a] == Axis::head) {
      out += fmt::format(" data-{}=\"{}\"", axis_name(t.axes[a]),
                         trace.whole_index(t.axes[a], block.index[a]));
    }
  }
  return out;
}

// " style="background:#efF6fd"" and its classes: the shade, white ink on a dark one, and a blocked
// cell set apart.
std::string shade_attributes(const CellShade& shade) {
  std::string classes;
  if (wants_light_text(shade.colour)) classes += "light";
  if (shade.blocked) classes += classes.empty() ? "blocked" : " blocked";
  return fmt::format(" class=\"{}\" style=\"background:#{:02x}{:02x}{:02x}\"{}", classes,
                     shade.colour.r, shade.colour.g, shade.colour.b,
                     shade.blocked ? " title=\"blocked by the mask\"" : "");
}

// <span class="swatch" style="…">text</span>: one shade of a legend.
std::string swatch(Rgb colour, std::string_view text) {
  return fmt::format("<span class=\"swatch{}\" style=\"background:#{:02x}{:02x}{:02x}\">{}</span>",
                     wants_light_text(colour) ? " light" : "", colour.r, colour.g, colour.b,
                     escape(text));
}

}  // namespace

PageContents contents_of(const Trace& trace, const TextOptions& options) {
  PageContents contents;
  for (const ShownStage& shown : shown_stages(trace, options.stages)) {
    for (const Tensor& t : shown.stage->tensors) {
      if (left_out(*shown.stage, t, options.weighted_limit)) continue;
      const TableLayout layout = table_layout(trace, t, options.full);
      const auto real = [](const std::vector<std::size_t>& shown_indices) {
        return static_cast<std::size_t>(std::count_if(shown_indices.begin(), shown_indices.end(),
                                                      [](std::size_t i) { return i != gap; }));
      };
      const std::size_t per_block = real(layout.rows) * real(layout.cols);
      for (const TableBlock& block : layout.blocks) {
        if (!block.gap.empty()) continue;
        contents.numbers += per_block;
        for (std::size_t a = 0; a < block.index.size(); ++a) {
          const std::size_t whole = trace.whole_index(t.axes[a], block.index[a]);
          if (t.axes[a] == Axis::batch) contents.batches.insert(whole);
          if (t.axes[a] == Axis::head) contents.heads.insert(whole);
        }
        if (!layout.row_labels || layout.row_axis != Axis::query) continue;
        for (std::size_t r : layout.rows) {
          if (r == gap) continue;
          std::vector<std::string>& labels = contents.queries[trace.whole_index(Axis::query, r)];
          const std::string label = axis_label(trace, Axis::query, r, block.batch);
          if (std::find(labels.begin(), labels.end(), label) == labels.end()) {
            labels.push_back(label);
          }
        }
      }
    }
  }
  return contents;
}

void PageWriter::element(std::string_view tag, std::string_view attributes, std::string_view text) {
  out_ << '<' << tag << attributes << '>' << escape(text) << "</" << tag << ">\n";
}

void PageWriter::write_tensor(const Stage& stage, const Tensor& t, bool whole, const Heat* heat) {
  const TableLayout layout = table_layout(trace_, t, options_.full);
  out_ << fmt::format("<div class=\"tensor\" data-tensor=\"{}\">\n", escape(t.name));
  // "scores (2×3×3)   [head × query × key]": the name stands out, as in the other formats.
  const std::size_t space = layout.heading.find(' ');
  out_ << fmt::format("<h3><span class=\"tensor-name\">{}</span>{}</h3>\n",
                      escape(layout.heading.substr(0, space)),
                      escape(layout.heading.substr(space)));
  if (layout.summarised) element("p", " class=\"summary-note\"", layout.summary_note);
  if (heat) {
    // The blocked shade joins the legend when a shown cell is blocked, as in the terminal.
    bool blocked = false;
    for (const TableBlock& block : layout.blocks) {
      if (!block.gap.empty() || !heat->additive) continue;
      const BlockValues values(t, block.block);
      const BlockValues additive(*heat->additive, block.block);
      for (std::size_t r : layout.rows) {
        for (std::size_t c : layout.cols) {
          if (r == gap || c == gap) continue;
          const Index row = static_cast<Index>(r), col = static_cast<Index>(c);
          const auto shade = cell_shade(*heat, values(row, col), &additive, row, col);
          blocked |= shade && shade->blocked;
        }
      }
    }
    write_legend(*heat, blocked);
  }
  for (const TableBlock& block : layout.blocks) {
    if (!block.gap.empty()) {
      element("p", " class=\"gap\" data-gap=\"blocks\"", block.gap);
      continue;
    }
    write_block(stage, t, layout, block, whole, heat);
  }
  out_ << "</div>\n";
}

// "shade 0 0.25 0.5 0.75 1 weights 0 → 1 · 0 blocked", each number on its own shade.
void PageWriter::write_legend(const Heat& heat, bool blocked) {
  out_ << "<p class=\"legend\"><span class=\"legend-label\">shade</span>";
  for (double v : legend_values(heat))
    out_ << ' ' << swatch(heat_shade(v, heat.scale), legend_number(v));
  out_ << " <span class=\"legend-caption\">" << escape(legend_caption(heat)) << "</span>";
  if (blocked) {
    // After a softmax a blocked cell holds 0; before it, −∞.
    out_ << " · " << swatch(blocked_shade, heat.weights ? "0" : "−∞") << " blocked";
  }
  out_ << "</p>\n";
}

void PageWriter::write_block(const Stage& stage, const Tensor& t, const TableLayout& layout,
                             const TableBlock& block, bool whole, const Heat* heat) {
  const BlockValues values(t, block.block);
  const BlockValues additive =
      heat && heat->additive ? BlockValues(*heat->additive, block.block) : BlockValues();
  out_ << "<div class=\"block\"" << block_attributes(trace_, t, block) << ">\n";
  if (!block.title.empty()) element("h4", "", block.title);
  out_ << "<div class=\"table-frame\"><table>\n<thead><tr>";
  if (layout.row_labels) out_ << "<td class=\"corner\"></td>";
  for (std::size_t c : layout.cols) {
    out_ << (c == gap ? std::string("<th class=\"gap\">…</th>")
                      : "<th scope=\"col\">" +
                            escape(axis_label(trace_, layout.col_axis, c, block.batch)) + "</th>");
  }
  out_ << "</tr></thead>\n<tbody>\n";
  for (std::size_t r : layout.rows) {
    if (r == gap) {
      out_ << "<tr class=\"gap\" data-gap=\"rows\">";
      if (layout.row_labels) out_ << "<th>⋮</th>";
      for (std::size_t c : layout.cols) out_ << (c == gap ? "<td>⋱</td>" : "<td>⋮</td>");
      out_ << "</tr>\n";
      continue;
    }
    out_ << "<tr";
    if (layout.row_labels && layout.row_axis == Axis::query) {
      out_ << fmt::format(" data-query=\"{}\"", trace_.whole_index(Axis::query, r));
    }
    out_ << '>';
    if (layout.row_labels) {
      out_ << "<th scope=\"row\">" << escape(axis_label(trace_, layout.row_axis, r, block.batch))
           << "</th>";
    }
    for (std::size_t c : layout.cols) {
      if (c == gap) {
        out_ << "<td class=\"gap\">…</td>";
        continue;
      }
      const Index row = static_cast<Index>(r), col = static_cast<Index>(c);
      const double value = values(row, col);
      const auto shade =
          heat ? cell_shade(*heat, value, heat->additive ? &additive : nullptr, row, col)
               : std::nullopt;
      write_cell(stage, t, block, r, c, value, whole, shade);
    }
    out_ << "</tr>\n";
  }
  out_ << "</tbody></table></div>\n</div>\n";
}

void PageWriter::write_cell(const Stage& stage, const Tensor& t, const TableBlock& block,
                            std::size_t row, std::size_t col, double value, bool whole,
                            const std::optional<CellShade>& shade) {
  std::vector<std::size_t> index = whole_cell_index(trace_, t, block, row, col);
  std::string name = cell_name(stage, t, index);
  out_ << "<td data-cell=\"" << escape(name) << "\" tabindex=\"0\""
       << (shade ? shade_attributes(*shade) : std::string()) << '>'
       << escape(cell_text(t, value, options_.precision, whole)) << "</td>";
  if (collect_ && collected_.insert(name).second) {
    cells_.push_back({stage.id, t.name, std::move(index), std::move(name)});
  }
}

}  // namespace attn_trace::html
