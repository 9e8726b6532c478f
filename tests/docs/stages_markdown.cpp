// Prints docs/stages.md from the stage table of core/stage_id.hpp, the text `run --explain` shows:
// ctest's docs.stages compares the page with this output, tools/update-stages-doc.sh writes it.
#include <iostream>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "attn_trace/core/stage_id.hpp"

int main() {
  fmt::print(std::cout,
             "# The stages\n\n"
             "What each stage of a trace does, why it is there, and its shape rule, with the axes\n"
             "named: L query tokens, S keys, E embed dim, D projection width, H heads, d = D / H.\n"
             "`attn-trace run --explain` prints the same text under each stage's header; this "
             "page is\ngenerated from it (`tools/update-stages-doc.sh`), so the two cannot drift "
             "apart.\n");
  for (const attn_trace::StageInfo& stage : attn_trace::all_stages()) {
    fmt::print(std::cout, "\n## {}\n\n{} {}\n\nShape rule: {}\n", stage.name, stage.what, stage.why,
               stage.shape);
  }
}
