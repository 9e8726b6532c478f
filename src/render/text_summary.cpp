// The walkthrough's closing summary (write_summary, text_writer.hpp): the result once more, so that
// it can be read (or projected) on its own, and whom each query token attends to most
// (walkthrough.hpp's summary_of, shared with the other formats).
#include <fmt/format.h>

#include "attn_trace/core/stage_id.hpp"
#include "text_writer.hpp"

namespace attn_trace::walkthrough {

void write_summary(TextWriter& w) {
  const std::optional<Summary> summary = summary_of(w.trace(), w.options().full);
  if (!summary) return;
  w.line();
  w.line(rule("━━ summary ", w.width()));
  w.wrapped(fmt::format("  The result, {} of the {} stage:", summary->result->name,
                        stage_name(summary->last->id)),
            "  ");
  write_tensor(w, *summary->result, false, nullptr);
  w.line();
  w.line("  Each query token attends most to:");
  for (const SummaryGroup& group : summary->groups) {
    if (!group.batch.empty()) w.line("  " + group.batch);
    for (const SummaryLine& line : group.lines) {
      if (line.gap) {
        w.line("    ⋮");
        continue;
      }
      w.wrapped(fmt::format("    {} → {}", line.query, fmt::join(line.picks, " · ")), "        ");
    }
  }
}

}  // namespace attn_trace::walkthrough
