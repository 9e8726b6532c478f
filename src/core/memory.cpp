// The memory estimate of memory.hpp: the sizes of the tracer's tensors, stage by stage.
#include "attn_trace/core/memory.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "attn_trace/core/text.hpp"
#include "attn_trace/core/trace.hpp"

namespace attn_trace {

MemoryEstimate estimate_memory(const Spec& spec) {
  // In doubles, as double: a hostile input must not overflow the arithmetic.
  const auto n = [](Index v) { return static_cast<double>(v); };
  const double B = n(spec.batch_size()), L = n(spec.q_len()), S_given = n(spec.kv_len());
  const double S = S_given + n(spec.extra_keys()), E = n(spec.embed_dim());
  const double D = n(spec.model_dim()), H = n(spec.num_heads);
  const double kv_inputs = spec.key_source == KeySource::self ? 0
                           : spec.key_source == KeySource::kv_input
                               ? n(spec.key_dim())
                               : n(spec.key_dim()) + n(spec.value_dim());
  const double out = spec.out_proj ? n(spec.out_proj->weight.rows()) : 0;
  double weights = 0;  // the learned parameters themselves
  for (const auto* linear : {&spec.q_proj, &spec.k_proj, &spec.v_proj, &spec.out_proj}) {
    if (*linear)
      weights += n((*linear)->weight.size()) + ((*linear)->bias ? n((*linear)->bias->size()) : 0);
  }

  // The masks as given: held by the spec and shown again by the masking stage.
  double given_masks = 0;
  if (spec.masks.mask) {
    for (const Matrix& m : spec.masks.mask->keep) given_masks += n(m.size());
  }
  if (spec.masks.attn_mask) {
    for (const Matrix& m : spec.masks.attn_mask->blocks) given_masks += n(m.size());
  }
  if (spec.masks.key_padding_mask) {
    for (const Vector& v : spec.masks.key_padding_mask->ignore) given_masks += n(v.size());
  }
  const double score_like = B * H * L * S;  // one (H, L, S) tensor: scores, scaled, weights, …
  const double score_tensors = spec.masks.any() ? 5 : 3;  // + additive_mask, masked
  const double weighted = score_like * n(spec.head_dim());
  // weighted_values is held when small; above the limit it is generated, from a copy of the
  // weights and of V_h.
  const double weighted_held =
      weighted <= static_cast<double>(default_weighted_limit) ? weighted : score_like + B * S * D;
  // The JSON writer formats a block of numbers (one head's L × S scores, at most) into text while
  // a thread writes the one before: about 40 bytes per number of the largest block, in doubles.
  const double largest_block = std::max({L * S, L * D, S * n(spec.head_dim())});
  const double rendering = largest_block * 40 / sizeof(double);
  // The program itself: code, libraries, the allocator's own pages.
  const double program = double{16 << 20} / sizeof(double);
  // kv_input is held twice by the spec: as the key input and as the value input.
  const double kv_copy = spec.key_source == KeySource::kv_input ? B * S_given * kv_inputs : 0;
  const std::string batches =
      spec.batched ? fmt::format("{} batches × ", spec.batch_size()) : std::string();
  const std::string scores_name =
      fmt::format("{}, {} × {}{} × {} × {} numbers",
                  spec.masks.any() ? "scores, scaled, additive_mask, masked and weights"
                                   : "scores, scaled and weights",
                  score_tensors, batches, plural(spec.num_heads, "head", "heads"), spec.q_len(),
                  spec.kv_len() + spec.extra_keys());
  const std::pair<std::string, double> parts[] = {
      {"the weights", weights},
      {"the input and its copy in the input stage",
       2 * (B * L * E + B * S_given * kv_inputs) + kv_copy},
      {"Q, K and V, whole and split into heads",
       B * (L + 2 * S_given) * D + (spec.extra_keys() > 0 ? 2 * B * S * D : 0) +
           (spec.num_heads > 1 ? B * (L + 2 * S) * D : 0)},
      {scores_name, score_tensors * score_like + 2 * given_masks},
      {"weighted_values", weighted_held},
      {"the context and the output", B * L * D * (spec.num_heads > 1 ? 2 : 1) + B * L * out},
      {fmt::format("the JSON writer's buffers for one block of {} numbers", largest_block),
       rendering},
      {"the program itself", program}};
  double total = 0;
  const std::pair<std::string, double>* largest = &parts[0];
  for (const auto& part : parts) {
    total += part.second;
    // The program's own share is the same for every trace: name what the input decides.
    if (part.second > largest->second && part.first != "the program itself") largest = &part;
  }

  MemoryEstimate estimate;
  // + 5%: each thread's temporaries while it computes a block, and the allocator's rounding.
  estimate.bytes = total * sizeof(double) * 1.05;
  estimate.overhead = estimate.bytes - (total - rendering - program) * sizeof(double);
  estimate.largest =
      fmt::format("{}: {}", largest->first, format_size(largest->second * sizeof(double)));
  return estimate;
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end == text.data() || !(value >= 0)) return std::nullopt;
  std::string unit(end, text.data() + text.size());
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.starts_with(' ')) unit.erase(0, 1);
  constexpr std::array<std::string_view, 5> letters = {"", "K", "M", "G", "T"};
  double multiplier = 0;
  for (std::size_t power = 0; power < letters.size(); ++power) {
    const std::string_view letter = letters[power];
    const double binary = std::pow(1024.0, static_cast<double>(power));
    const double decimal = std::pow(1000.0, static_cast<double>(power));
    if (unit == letter || unit == std::string(letter) + "IB" ||
        (power == 0 && (unit == "B" || unit == "BYTES"))) {
      multiplier = binary;
    } else if (power > 0 && unit == std::string(letter) + "B") {
      multiplier = decimal;
    }
    if (multiplier > 0) break;
  }
  if (multiplier == 0) return std::nullopt;
  const double bytes = std::ceil(value * multiplier);
  if (bytes >= 1.8e19) return std::nullopt;  // beyond 64 bits
  return static_cast<std::uint64_t>(bytes);
}

std::string format_size(double bytes) {
  constexpr std::array<std::string_view, 5> units = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < units.size()) bytes /= 1024, ++unit;
  if (unit == 0) return fmt::format("{:.0f} {}", bytes, bytes == 1 ? "byte" : "bytes");
  return bytes >= 100 ? fmt::format("{:.0f} {}", bytes, units[unit])
                      : fmt::format("{:.3g} {}", bytes, units[unit]);
}

}  // namespace attn_trace
