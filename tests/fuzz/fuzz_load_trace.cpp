// libFuzzer target: any bytes through the loader, and whatever loads through the tracer and both
// renderers, as `attn-trace run` does. An attn_trace::Error is the expected end of bad input; any
// other exception, a crash, a hang or a sanitizer report is a bug. Run by tools/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <streambuf>
#include <string_view>

#include "attn_trace/error.hpp"
#include "attn_trace/load.hpp"
#include "attn_trace/memory.hpp"
#include "attn_trace/render_json.hpp"
#include "attn_trace/render_text.hpp"
#include "attn_trace/tracer.hpp"

namespace {

// A stream that counts and drops what it is given: the renderers run in full, nothing is kept.
class NullBuffer : public std::streambuf {
 protected:
  int_type overflow(int_type c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

// The CLI refuses traces above its memory budget before computing them; the fuzzer uses a small
// budget so that every input runs in milliseconds.
constexpr double fuzz_budget = 32.0 * (1 << 20);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const attn_trace::Spec spec = attn_trace::load_spec(text, "fuzz.json");
    if (attn_trace::estimate_memory(spec).bytes > fuzz_budget) return 0;
    const attn_trace::Trace trace = attn_trace::trace_attention(spec);
    NullBuffer null;
    std::ostream out(&null);
    attn_trace::render_text(trace, attn_trace::TextOptions{}, out);
    attn_trace::render_json(trace, attn_trace::JsonOptions{}, out);
  } catch (const attn_trace::Error&) {
    // Bad input, reported: what should happen.
  }
  return 0;
}
