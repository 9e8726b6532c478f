// The walkthrough's header (write_header, text_writer.hpp): what was traced, then one field a line
// ("  tokens   …", "  sizes    …"), each wrapped under its value. The fields are walkthrough.hpp's,
// shared with the other formats.
#include <fmt/format.h>

#include "text_writer.hpp"

namespace attn_trace::walkthrough {
namespace {

// A field's value starts in this column, after "  tokens   "; its later lines start there too.
constexpr std::string_view field_indent = "           ";

}  // namespace

void write_header(TextWriter& w) {
  const Header h = header_of(w.trace(), w.options().full);
  w.wrapped(h.title, "  ");
  if (!h.description.empty()) w.wrapped(h.description, "");
  if (!h.source.empty()) w.wrapped("source: " + h.source, "  ");
  w.line();
  for (const HeaderField& field : h.fields) {
    w.wrapped(fmt::format("  {:<8} {}", field.name, field.value), field_indent);
  }
  for (const std::string& note : h.notes) w.wrapped("  note: " + note, "        ");
  for (const std::string& warning : h.warnings) w.wrapped("  warning: " + warning, field_indent);
}

}  // namespace attn_trace::walkthrough
