// Prints docs/stages.md from include/attn_trace/stage_text.hpp, the text `run --explain` shows:
// ctest's docs.stages compares the page with this output, tools/update-stages-doc.sh writes it.
#include <iostream>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "attn_trace/core/stage_text.hpp"

int main() {
  fmt::print(std::cout,
             "# The stages\n\n"
             "What each stage of a trace does, why it is there, and its shape rule, with the axes\n"
             "named: L query tokens, S keys, E embed dim, D projection width, H heads, d = D / H.\n"
             "`attn-trace run --explain` prints the same text under each stage's header; this "
             "page is\ngenerated from it (`tools/update-stages-doc.sh`), so the two cannot drift "
             "apart.\n");
  for (const attn_trace::StageText& stage : attn_trace::stage_texts()) {
    fmt::print(std::cout, "\n## {}\n\n{} {}\n\nShape rule: {}\n", stage.id, stage.what, stage.why,
               stage.shape);
  }
}
