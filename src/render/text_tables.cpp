// The walkthrough's tables (write_tensor, text_writer.hpp): a tensor as one labelled table per 2-D
// block, rows and columns named by their tokens, the columns split into chunks that fit the width,
// and the middle of every axis left out beyond summary_threshold numbers.
#include "text_writer.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "attn_trace/core/text.hpp"
#include "attn_trace/core/text_width.hpp"

namespace attn_trace::walkthrough {
namespace {

std::string pad_left(const std::string& s, std::size_t width) {
  const std::size_t w = display_width(s);
  return w >= width ? s : std::string(width - w, ' ') + s;
}
std::string pad_right(const std::string& s, std::size_t width) {
  const std::size_t w = display_width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

// What every block of one tensor's tables shares, so that the blocks line up.
struct Table {
  const Tensor& tensor;
  bool whole;                           // whole numbers without decimals (format_cell)
  const Heat* heat;                     // set when the cells are shaded
  std::vector<std::size_t> rows, cols;  // the shown indices, `gap` where a summary cuts
  std::size_t number_width;             // the widest shown number, of any block
};

// A cell as printed: under --ascii it is converted here, because its width must be known before
// the column is padded.
std::string cell_text(const TextWriter& w, const Table& table, double value) {
  return w.symbol(walkthrough::cell_text(table.tensor, value, w.options().precision, table.whole));
}

// The columns cut into chunks, [first, last) into the columns, of at most `width` columns each
// after `indent`, two spaces before each column; a column wider than that is a chunk alone.
std::vector<std::pair<std::size_t, std::size_t>> column_chunks(
    const std::vector<std::size_t>& col_width, std::size_t indent, std::size_t width) {
  std::vector<std::pair<std::size_t, std::size_t>> chunks;
  for (std::size_t first = 0; first < col_width.size();) {
    std::size_t used = indent, last = first;
    while (last < col_width.size() && (last == first || used + 2 + col_width[last] <= width)) {
      used += 2 + col_width[last++];
    }
    chunks.emplace_back(first, last);
    first = last;
  }
  return chunks;
}

// Writes block `m` of the table, for batch `b`, with `additive` its block of the additive mask
// when the table is shaded: the column labels, then one labelled line per row, chunk by chunk.
void write_block(TextWriter& w, const Table& table, const BlockValues& m,
                 const BlockValues* additive, std::size_t b) {
  const Tensor& t = table.tensor;
  const std::vector<std::size_t>& rows = table.rows;
  const std::vector<std::size_t>& cols = table.cols;
  const Axis row_axis = t.rank() >= 2 ? t.axes[t.rank() - 2] : Axis::feature;
  const Axis col_axis = t.axes.back();
  // A rank-1 tensor is one row without a label.
  const auto row_label = [&](std::size_t r) {
    return t.rank() >= 2 ? w.label(row_axis, r, b) : std::string();
  };
  const std::string ellipsis = w.symbol("…");

  std::size_t label_width = t.rank() >= 2 ? 1 : 0;
  for (std::size_t r : rows) {
    if (r != gap) label_width = std::max(label_width, display_width(row_label(r)));
  }
  std::vector<std::size_t> col_width;
  for (std::size_t c : cols) {
    col_width.push_back(c == gap
                            ? display_width(ellipsis)
                            : std::max(table.number_width, display_width(w.label(col_axis, c, b))));
  }

  const std::size_t indent = 4 + label_width;
  const auto chunks = column_chunks(col_width, indent, w.width());
  for (const auto& [first, last] : chunks) {
    if (chunks.size() > 1) {
      const auto name = [&](std::size_t k) {
        return cols[k] == gap ? std::string("…") : std::to_string(cols[k]);
      };
      // A chunk may start or end at the summary's gap: name the real columns around it.
      std::size_t from = first, to = last - 1;
      if (cols[from] == gap) ++from;
      if (cols[to] == gap) --to;
      w.line(fmt::format("    columns {}–{}{}", name(from), name(to),
                         cols[first] == gap || cols[last - 1] == gap ? " (and …)" : ""));
    }
    std::string head = std::string(indent, ' ');
    for (std::size_t k = first; k < last; ++k) {
      head +=
          "  " + pad_left(cols[k] == gap ? ellipsis : w.label(col_axis, cols[k], b), col_width[k]);
    }
    w.line(head);
    for (std::size_t r : rows) {
      if (r == gap) {
        w.line(fmt::format("    {}", pad_right("⋮", label_width)));
        continue;
      }
      std::string text = "    " + pad_right(row_label(r), label_width);
      for (std::size_t k = first; k < last; ++k) {
        if (cols[k] == gap) {
          text += "  " + pad_left(ellipsis, col_width[k]);
          continue;
        }
        const Index row = static_cast<Index>(r), col = static_cast<Index>(cols[k]);
        const std::string cell = pad_left(cell_text(w, table, m(row, col)), col_width[k]);
        const auto shade =
            table.heat ? cell_shade(*table.heat, m(row, col), additive, row, col) : std::nullopt;
        if (!shade) {
          text += "  " + cell;
          continue;
        }
        // The shade takes the column's padding and one space of the gap before it, so that the
        // shaded cells line up as blocks with a one-column gap between them.
        text += " " + on_background(" " + cell, shade->colour, w.options().color, shade->blocked);
      }
      w.line(text);
    }
  }
}

}  // namespace

void write_tensor(TextWriter& w, const Tensor& t, bool whole, const Heat* heat) {
  const TableLayout layout = table_layout(w.trace(), t, w.options().full);
  w.line();
  w.line(layout.heading);
  if (layout.summarised) w.line("  " + layout.summary_note);

  // Fetch every shown block once (a generated one is computed here) and format its shown numbers,
  // to find the one width every block's numbers are padded to.
  Table table{t, whole, heat, layout.rows, layout.cols, 1};
  const bool shades_blocked = heat && heat->additive;
  struct Fetched {
    BlockValues values;    // the block's numbers
    BlockValues additive;  // the same block of the additive mask, for a shaded table
  };
  std::vector<Fetched> fetched(layout.blocks.size());
  bool any_blocked = false;
  for (std::size_t n = 0; n < layout.blocks.size(); ++n) {
    const TableBlock& entry = layout.blocks[n];
    if (!entry.gap.empty()) continue;
    Fetched& f = fetched[n];
    f.values = BlockValues(t, entry.block);
    if (shades_blocked) f.additive = BlockValues(*heat->additive, entry.block);
    for (std::size_t r : table.rows) {
      for (std::size_t c : table.cols) {
        if (r == gap || c == gap) continue;
        const Index row = static_cast<Index>(r), col = static_cast<Index>(c);
        const double value = f.values(row, col);
        table.number_width =
            std::max(table.number_width, display_width(cell_text(w, table, value)));
        if (heat) {
          const auto shade =
              cell_shade(*heat, value, shades_blocked ? &f.additive : nullptr, row, col);
          any_blocked |= shade && shade->blocked;
        }
      }
    }
  }
  if (heat) write_legend(w, *heat, any_blocked);

  for (std::size_t n = 0; n < layout.blocks.size(); ++n) {
    const TableBlock& entry = layout.blocks[n];
    if (!entry.gap.empty()) {
      w.line("  " + entry.gap);
      continue;
    }
    if (!entry.title.empty()) {
      if (n > 0) w.line();
      w.line("  " + entry.title);
    }
    write_block(w, table, fetched[n].values, shades_blocked ? &fetched[n].additive : nullptr,
                entry.batch);
  }
}

}  // namespace attn_trace::walkthrough
