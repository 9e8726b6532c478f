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

// A cell of `t`: true/false for a boolean mask; a whole number without decimals in a mask as given
// (`whole`), so that 1/0 and 0/−∞ read as the flags they are; else format_number.
std::string format_cell(const Tensor& t, double value, int precision, bool whole) {
  if (t.boolean) return value != 0 ? "true" : "false";
  if (whole && std::isfinite(value) && value == std::round(value) && std::abs(value) < 1e9) {
    return fmt::format("{}", static_cast<long long>(value));
  }
  return format_number(value, precision);
}

// "queries", "keys", "heads": the axis name for a count of several.
std::string axis_plural(Axis axis) {
  switch (axis) {
    case Axis::query:
      return "queries";
    case Axis::batch:
      return "batches";
    default:
      return std::string(axis_name(axis)) + "s";
  }
}

std::string pad_left(const std::string& s, std::size_t width) {
  const std::size_t w = display_width(s);
  return w >= width ? s : std::string(width - w, ' ') + s;
}
std::string pad_right(const std::string& s, std::size_t width) {
  const std::size_t w = display_width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

// One 2-D block to print (its index along each leading axis and its flat number), or, when `gap`
// is set, the line that stands for the blocks a summary leaves out.
struct BlockEntry {
  std::vector<std::size_t> index;
  std::size_t block = 0;
  std::string gap;
  Matrix values;    // the block's numbers, once fetched
  Matrix additive;  // the same block of the additive mask, for a shaded table
};

// Every combination of the leading axes' shown indices, in order, with gap lines between.
std::vector<BlockEntry> shown_blocks(const Tensor& t, bool summarise) {
  const std::size_t leading = t.rank() >= 2 ? t.rank() - 2 : 0;
  std::vector<BlockEntry> entries;
  std::vector<std::size_t> index(leading, 0);
  const auto visit = [&](const auto& self, std::size_t axis) -> void {
    if (axis == leading) {
      std::size_t block = 0;
      for (std::size_t a = 0; a < leading; ++a) block = block * t.shape[a] + index[a];
      entries.push_back({index, block, "", {}, {}});
      return;
    }
    for (std::size_t i : shown(t.shape[axis], summarise)) {
      if (i == gap) {
        entries.push_back({{},
                           0,
                           fmt::format("  ⋮ ({} more {})", t.shape[axis] - 2 * edge_items,
                                       axis_plural(t.axes[axis])),
                           {},
                           {}});
        continue;
      }
      index[axis] = i;
      self(self, axis + 1);
    }
  };
  visit(visit, 0);
  return entries;
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
  return w.symbol(format_cell(table.tensor, value, w.options().precision, table.whole));
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
void write_block(TextWriter& w, const Table& table, const Matrix& m, const Matrix* additive,
                 std::size_t b) {
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
  const bool summarise = !w.options().full && t.size() > summary_threshold;
  std::vector<std::string> axis_names;
  for (Axis a : t.axes) axis_names.emplace_back(axis_name(a));
  w.line();
  w.line(fmt::format("{} {}   [{}]", t.name, dims_text(t.shape), fmt::join(axis_names, " × ")));
  if (summarise) {
    w.line(fmt::format("  {} numbers: the first and last {} of each axis shown; --full shows all",
                       t.size(), edge_items));
  }

  // Fetch every shown block once (a generated one is computed here) and format its shown numbers,
  // to find the one width every block's numbers are padded to.
  Table table{t, whole, heat, shown(t.rows(), summarise), shown(t.cols(), summarise), 1};
  const bool shades_blocked = heat && heat->additive;
  std::vector<BlockEntry> blocks = shown_blocks(t, summarise);
  bool any_blocked = false;
  for (BlockEntry& entry : blocks) {
    if (!entry.gap.empty()) continue;
    entry.values = t.block_values(entry.block);
    if (shades_blocked) entry.additive = heat->additive->block_values(entry.block);
    for (std::size_t r : table.rows) {
      for (std::size_t c : table.cols) {
        if (r == gap || c == gap) continue;
        const Index row = static_cast<Index>(r), col = static_cast<Index>(c);
        const double value = entry.values(row, col);
        table.number_width =
            std::max(table.number_width, display_width(cell_text(w, table, value)));
        if (heat) {
          const auto shade =
              cell_shade(*heat, value, shades_blocked ? &entry.additive : nullptr, row, col);
          any_blocked |= shade && shade->blocked;
        }
      }
    }
  }
  if (heat) write_legend(w, *heat, any_blocked);

  const std::size_t leading = t.rank() >= 2 ? t.rank() - 2 : 0;
  for (std::size_t n = 0; n < blocks.size(); ++n) {
    const BlockEntry& entry = blocks[n];
    if (!entry.gap.empty()) {
      w.line(entry.gap);
      continue;
    }
    // Each block under its index along the leading axes: "  batch 0 · head 1".
    const std::size_t b = leading > 0 && t.axes.front() == Axis::batch ? entry.index[0] : 0;
    if (leading > 0) {
      if (n > 0) w.line();
      std::vector<std::string> parts;
      for (std::size_t a = 0; a < leading; ++a) {
        parts.push_back(
            fmt::format("{} {}", axis_name(t.axes[a]), w.label(t.axes[a], entry.index[a], b)));
      }
      w.line(fmt::format("  {}", fmt::join(parts, " · ")));
    }
    write_block(w, table, entry.values, shades_blocked ? &entry.additive : nullptr, b);
  }
}

}  // namespace attn_trace::walkthrough
