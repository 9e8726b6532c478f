// The LaTeX walkthrough (latex.hpp): walkthrough.hpp's parts as a document for pdflatex.
//
//   \documentclass … \begin{document}      the preamble (not with --latex-fragment)
//   \section*{attn-trace · I am good}      the header: its fields as a description list
//   \subsection*{4/8 · scores · …}          each stage: its formula as display math, its shapes,
//   \begin{tabular} … \end{tabular}         each 2-D block a table, tokens on both sides, shaded
//   \subsection*{Summary}                   the result once more, and whom each query attends to
//
// Every text a user wrote goes through tex_text, the formulas through formula_tex (tex_math.hpp).
#include "attn_trace/render/latex.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "attn_trace/core/stage_id.hpp"
#include "attn_trace/core/text.hpp"
#include "attn_trace/core/text_width.hpp"
#include "attn_trace/render/heatmap.hpp"
#include "tex_math.hpp"
#include "walkthrough.hpp"

namespace attn_trace {
namespace {

using namespace walkthrough;

// What the body needs from the preamble: a fragment's first lines repeat it for the teacher to
// copy.
constexpr std::string_view packages =
    "\\usepackage[utf8]{inputenc}\n"
    "\\usepackage[T1]{fontenc}\n"
    "\\usepackage{lmodern}\n"
    "\\usepackage{amsmath,amssymb}\n"
    "\\usepackage[table]{xcolor}\n"
    "\\usepackage{booktabs}\n"
    "\\usepackage{graphicx}\n";

// A table or formula wider than the line is shrunk to it (a beamer frame is narrower than a page):
// graphicx's \resizebox, measured with its own \width, so that a fragment needs no macro of ours.
constexpr std::string_view fit_open =
    "\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{";

// A table shows at most this many rows; a longer one continues in another, under the same header
// row, since a tabular cannot break across pages (nor beamer frames).
constexpr std::size_t rows_per_table = 40;

// The widths a table is cut to, in points: the text width of the document below (A4, 2 cm
// margins) at \footnotesize, where one character of a number is at most this wide.
constexpr double table_width_pt = 480;
constexpr double char_pt = 4.6;
constexpr double column_padding_pt = 8;  // \tabcolsep 4pt on each side

class LatexWriter {
 public:
  LatexWriter(const Trace& trace, const TextOptions& options, std::ostream& out)
      : trace_(trace), options_(options), out_(out) {}

  void write(bool fragment) {
    fragment_ = fragment;
    if (fragment) {
      fmt::print(out_,
                 "% attn-trace: the body of a LaTeX document (--latex-fragment). Its preamble "
                 "needs:\n");
      std::string lines(packages);
      for (std::size_t start = 0; start < lines.size();) {
        const std::size_t end = lines.find('\n', start);
        fmt::print(out_, "%   {}\n", lines.substr(start, end - start));
        start = end + 1;
      }
      fmt::print(out_,
                 "% In beamer, which loads xcolor itself: \\documentclass[xcolor=table]{{beamer}} "
                 "and no xcolor line.\n\n");
    } else {
      fmt::print(out_,
                 "% Written by attn-trace (--format latex); compile with pdflatex.\n"
                 "\\documentclass[11pt]{{article}}\n{}"
                 "\\usepackage[a4paper,margin=2cm]{{geometry}}\n"
                 "\\setlength{{\\parindent}}{{0pt}}\n"
                 "\\setlength{{\\parskip}}{{0.5\\baselineskip}}\n"
                 "\\begin{{document}}\n"
                 "% Ragged right: a long name or URL from the input breaks where it may, not off "
                 "the page.\n"
                 "\\raggedright\n\n",
                 packages);
    }
    if (options_.header) write_header();
    for (const ShownStage& shown : shown_stages(trace_, options_.stages)) write_stage(shown);
    for (const std::string& note : absent_stage_notes(trace_, options_.stages)) {
      paragraph("\\emph{(" + tex_text(note) + ")}");
    }
    if (shows_summary(trace_, options_.stages)) write_summary();
    if (!fragment) fmt::print(out_, "\\end{{document}}\n");
  }

 private:
  void paragraph(std::string_view text) { fmt::print(out_, "{}\n\n", text); }

  // A stage's heading: a section of the complete document; in a fragment, bold text, which works
  // inside a beamer frame and needs no definition.
  void heading(const std::string& text) {
    paragraph(fragment_ ? "\\bigskip{\\large\\bfseries " + text + "}\\par\\nopagebreak"
                        : "\\subsection*{" + text + "}");
  }

  // The header: in a fragment in a group of its own, ragged right as the complete document is, so
  // that a long name or URL breaks where tex_text lets it.
  void write_header() {
    const Header h = header_of(trace_, options_.full);
    if (fragment_) paragraph("\\begingroup\\raggedright");
    paragraph(fragment_ ? "{\\Large\\bfseries " + tex_text(h.title) + "}"
                        : "\\section*{" + tex_text(h.title) + "}");
    if (!h.description.empty()) paragraph(tex_text(h.description));
    if (!h.source.empty()) paragraph("\\emph{Source:} " + tex_text(h.source));
    std::string fields = "\\begin{description}\n";
    for (const HeaderField& field : h.fields) {
      fields += fmt::format("  \\item[{}] {}\n", tex_text(field.name), tex_text(field.value));
    }
    paragraph(fields + "\\end{description}");
    for (const std::string& note : h.notes) paragraph("\\textbf{Note:} " + tex_text(note));
    for (const std::string& warning : h.warnings) {
      paragraph("\\textbf{Warning:} " + tex_text(warning));
    }
    if (fragment_) paragraph("\\endgroup");
  }

  void write_stage(const ShownStage& shown) {
    const Stage& stage = *shown.stage;
    heading(fmt::format("{}/{} \\textperiodcentered{{}} \\texttt{{{}}} \\textperiodcentered{{}} {}",
                        shown.number, shown.total, tex_text(stage_name(stage.id)),
                        tex_text(stage.title)));
    if (options_.explain) {
      const StageInfo& info = stage_info(stage.id);
      paragraph(tex_text(fmt::format("{} {}", info.what, info.why)));
      paragraph("\\emph{Shape rule:} " + tex_text(info.shape));
    }
    write_formula(stage.formula);
    paragraph("\\textbf{Shapes:} " + tex_text(stage.shapes));
    if (!stage.note.empty()) paragraph(tex_text(stage.note));
    if (stage.id == StageId::masking) paragraph(tex_text(blocked_cell_note));
    for (const Tensor& tensor : stage.tensors) {
      if (const auto why = left_out(stage, tensor, options_.weighted_limit)) {
        paragraph(fmt::format("\\textbf{{{}}} {}: {}", tex_text(tensor.name),
                              tex_text(dims_text(tensor.shape)), tex_text(*why)));
        continue;
      }
      const std::optional<Heat> heat = heat_of(trace_, stage, tensor);
      write_tensor(tensor, whole_numbers(stage, tensor), heat ? &*heat : nullptr);
      for (const PublishedCheck* check : published_checks(trace_, stage, tensor)) {
        const PublishedLines lines = published_lines(*check, options_.precision);
        std::string text = tex_text(lines.headline);
        if (!lines.items.empty()) {
          text += "\n\\begin{itemize}\n";
          for (const std::string& item : lines.items) text += "  \\item " + tex_text(item) + "\n";
          text += "\\end{itemize}";
        }
        paragraph(text);
        if (!lines.why.empty()) paragraph("Why: " + tex_text(lines.why));
      }
    }
  }

  // The formula as display math (centred, display style), one line per formula where the trace
  // writes several side by side
  // ("Q = …   K = …   V = …") or one after another ("…; X_kv = …"), so that each fits the page.
  void write_formula(std::string_view formula) {
    std::string tex = formula_tex(formula);
    std::vector<std::string> lines;
    for (std::size_t start = 0;;) {
      std::size_t cut = std::string::npos, skip = 0;
      for (std::string_view separator : {std::string_view("\\qquad "), std::string_view(";\\ ")}) {
        const std::size_t at = tex.find(separator, start);
        if (at < cut) {
          cut = at;
          skip = separator.size();
        }
      }
      if (cut == std::string::npos) {
        lines.push_back(tex.substr(start));
        break;
      }
      lines.push_back(tex.substr(start, cut - start));
      start = cut + skip;
    }
    // Centred display-style math, each line shrunk to the line width when wider (a beamer frame).
    std::string text = "\\begin{center}\n";
    for (std::size_t i = 0; i < lines.size(); ++i) {
      text += std::string(fit_open) + "$\\displaystyle " + lines[i] + "$}" +
              (i + 1 < lines.size() ? "\\\\\n" : "\n");
    }
    paragraph(text + "\\end{center}");
  }

  // The tensor's heading, then each 2-D block shown as a table under the block's title.
  void write_tensor(const Tensor& t, bool whole, const Heat* heat) {
    const TableLayout layout = table_layout(trace_, t, options_.full);
    const std::size_t space = layout.heading.find(' ');
    paragraph("\\textbf{" + tex_text(layout.heading.substr(0, space)) + "}" +
              tex_text(layout.heading.substr(space)));
    if (layout.summarised) paragraph("\\emph{" + tex_text(layout.summary_note) + "}");
    if (heat) write_legend(*heat);
    for (const TableBlock& block : layout.blocks) {
      if (!block.gap.empty()) {
        paragraph(tex_text(block.gap));
        continue;
      }
      if (!block.title.empty()) paragraph("\\emph{" + tex_text(block.title) + "}");
      write_block(t, layout, block, whole, heat);
    }
  }

  // "shade 0 0.25 0.5 0.75 1 weights 0 → 1 · −∞ blocked", each number on its own shade.
  void write_legend(const Heat& heat) {
    std::string text = "{\\footnotesize shade";
    for (double v : legend_values(heat)) {
      text += " " + shaded(heat_shade(v, heat.scale), tex_text(legend_number(v)));
    }
    text += " " + tex_text(legend_caption(heat));
    if (heat.additive) {
      text += " \\textperiodcentered{} " +
              shaded(blocked_shade, heat.weights ? "0" : "\\ensuremath{-\\infty}") + " blocked";
    }
    paragraph(text + "}");
  }

  // `text` on a box of `colour`, in white or black, whichever reads better.
  static std::string shaded(Rgb colour, const std::string& text) {
    return fmt::format("\\colorbox[RGB]{{{},{},{}}}{{\\textcolor{{{}}}{{{}}}}}", colour.r, colour.g,
                       colour.b, wants_light_text(colour) ? "white" : "black", text);
  }

  void write_block(const Tensor& t, const TableLayout& layout, const TableBlock& block, bool whole,
                   const Heat* heat) {
    const BlockValues values(t, block.block);
    const BlockValues additive =
        heat && heat->additive ? BlockValues(*heat->additive, block.block) : BlockValues();
    const auto label = [&](Axis axis, std::size_t i) {
      return tex_text(axis_label(trace_, axis, i, block.batch));
    };
    // The cells as printed, to measure the columns.
    std::size_t label_chars = 1, number_chars = 1;
    for (std::size_t r : layout.rows) {
      if (r != gap && layout.row_labels) {
        label_chars = std::max(label_chars,
                               display_width(axis_label(trace_, layout.row_axis, r, block.batch)));
      }
      for (std::size_t c : layout.cols) {
        if (r == gap || c == gap) continue;
        number_chars = std::max(
            number_chars,
            display_width(cell_text(t, values(static_cast<Index>(r), static_cast<Index>(c)),
                                    options_.precision, whole)));
      }
    }
    for (std::size_t c : layout.cols) {
      if (c != gap) {
        number_chars = std::max(number_chars,
                                display_width(axis_label(trace_, layout.col_axis, c, block.batch)));
      }
    }
    const double label_pt =
        layout.row_labels ? static_cast<double>(label_chars) * char_pt + column_padding_pt : 0;
    const auto per_chunk = static_cast<std::size_t>(std::max(
        1.0, std::floor((table_width_pt - label_pt) /
                        (static_cast<double>(number_chars) * char_pt + column_padding_pt))));

    // Chunks of columns that fit the line, each in chunks of rows that fit a page.
    for (std::size_t first = 0; first < layout.cols.size(); first += per_chunk) {
      const std::size_t last = std::min(layout.cols.size(), first + per_chunk);
      for (std::size_t top = 0; top < layout.rows.size(); top += rows_per_table) {
        const std::size_t bottom = std::min(layout.rows.size(), top + rows_per_table);
        std::string text = "{\\footnotesize\\setlength{\\tabcolsep}{4pt}\n" +
                           std::string(fit_open) + "\\begin{tabular}{";
        text += layout.row_labels ? "l" : "";
        text += std::string(last - first, 'r') + "}\n\\toprule\n";
        for (std::size_t k = first; k < last; ++k) {
          const std::size_t c = layout.cols[k];
          text +=
              (k > first || layout.row_labels ? " & " : "") +
              (c == gap ? std::string("\\ldots") : "\\textbf{" + label(layout.col_axis, c) + "}");
        }
        text += " \\\\\n\\midrule\n";
        for (std::size_t n = top; n < bottom; ++n) {
          text += row_text(t, layout, layout.rows[n], first, last, values, additive, whole, heat,
                           block.batch);
        }
        paragraph(text + "\\bottomrule\n\\end{tabular}}}");
      }
    }
  }

  // Row `r` of a table, columns [first, last) of the layout's, as a tabular's line.
  std::string row_text(const Tensor& t, const TableLayout& layout, std::size_t r, std::size_t first,
                       std::size_t last, const BlockValues& values, const BlockValues& additive,
                       bool whole, const Heat* heat, std::size_t batch) {
    std::string text;
    if (layout.row_labels) {
      text += r == gap
                  ? std::string("\\ensuremath{\\vdots}")
                  : "\\textbf{" + tex_text(axis_label(trace_, layout.row_axis, r, batch)) + "}";
    }
    for (std::size_t k = first; k < last; ++k) {
      const std::size_t c = layout.cols[k];
      text += k > first || layout.row_labels ? " & " : "";
      if (r == gap) {
        text += c == gap ? "\\ensuremath{\\ddots}" : "\\ensuremath{\\vdots}";
        continue;
      }
      if (c == gap) {
        text += "\\ldots";
        continue;
      }
      const Index row = static_cast<Index>(r), col = static_cast<Index>(c);
      const double value = values(row, col);
      const std::string number = tex_text(cell_text(t, value, options_.precision, whole));
      const auto shade =
          heat ? cell_shade(*heat, value, heat->additive ? &additive : nullptr, row, col)
               : std::nullopt;
      if (!shade) {
        text += number;
        continue;
      }
      const Rgb colour = shade->colour;
      text += fmt::format("\\cellcolor[RGB]{{{},{},{}}}\\textcolor{{{}}}{{{}{}}}", colour.r,
                          colour.g, colour.b, wants_light_text(colour) ? "white" : "black",
                          shade->blocked ? "\\bfseries " : "", number);
    }
    return text + " \\\\\n";
  }

  void write_summary() {
    const std::optional<Summary> summary = summary_of(trace_, options_.full);
    if (!summary) return;
    heading("Summary");
    paragraph(fmt::format(
        "The result, \\textbf{{{}}} of the \\texttt{{{}}} stage:", tex_text(summary->result->name),
        tex_text(stage_name(summary->last->id))));
    write_tensor(*summary->result, false, nullptr);
    paragraph("Each query token attends most to:");
    for (const SummaryGroup& group : summary->groups) {
      if (!group.batch.empty()) paragraph("\\emph{" + tex_text(group.batch) + "}");
      std::string list = "\\begin{itemize}\n";
      for (const SummaryLine& line : group.lines) {
        list += line.gap ? std::string("  \\item[] \\ensuremath{\\vdots}\n")
                         : fmt::format("  \\item \\textbf{{{}}} \\ensuremath{{\\to}} {}\n",
                                       tex_text(line.query),
                                       tex_text(fmt::format("{}", fmt::join(line.picks, " · "))));
      }
      paragraph(list + "\\end{itemize}");
    }
  }

  const Trace& trace_;
  const TextOptions& options_;
  std::ostream& out_;
  bool fragment_ = false;
};

}  // namespace

void render_latex(const Trace& trace, const TextOptions& options, const LatexOptions& latex,
                  std::ostream& out) {
  LatexWriter(trace, options, out).write(latex.fragment);
}

}  // namespace attn_trace
