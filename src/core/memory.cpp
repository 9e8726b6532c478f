// The memory estimate of memory.hpp: the sizes of the tracer's tensors, stage by stage.
#include "attn_trace/core/memory.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <thread>

#include <fmt/format.h>

#include "attn_trace/core/plan.hpp"
#include "attn_trace/core/text.hpp"
#include "attn_trace/core/trace.hpp"

namespace attn_trace {

namespace {

// What one run holds: its plan's working tensors and the tensors it records, in numbers.
struct PlanSizes {
  double batches = 1;  // computed: the focused one, or every one
  double heads = 1;    // recorded: 1 once cut to a head
  double queries = 0;  // recorded: 1 once cut to a query
  double score = 0;    // one recorded tensor like the scores, in the rows it holds
};

// The learned parameters themselves.
double learned_parameters(const Spec& spec) {
  double numbers = 0;
  for (const auto* linear : {&spec.q_proj, &spec.k_proj, &spec.v_proj, &spec.out_proj}) {
    if (!*linear) continue;
    numbers += static_cast<double>((*linear)->weight.size());
    if ((*linear)->bias) numbers += static_cast<double>((*linear)->bias->size());
  }
  return numbers;
}

// The masks as the spec holds them.
double given_mask_numbers(const Spec& spec) {
  double numbers = 0;
  if (spec.masks.mask) {
    for (const Matrix& m : spec.masks.mask->keep) numbers += static_cast<double>(m.size());
  }
  if (spec.masks.attn_mask) {
    for (const Matrix& m : spec.masks.attn_mask->blocks) numbers += static_cast<double>(m.size());
  }
  if (spec.masks.key_padding_mask) {
    for (const Vector& v : spec.masks.key_padding_mask->ignore) {
      numbers += static_cast<double>(v.size());
    }
  }
  return numbers;
}

// The renderer's buffers, named, in doubles, for the largest block of numbers it writes.
std::pair<std::string, double> rendering_buffers(Rendering rendering, const TracePlan& plan,
                                                 double largest_block) {
  const double text_bytes = largest_block * (rendering == Rendering::json ? 40 : 48);
  const double bytes = (rendering == Rendering::npz                         ? double{8 << 20}
                        : rendering == Rendering::json || !plan.summarising ? text_bytes
                                                                            : double{64 << 10}) /
                       sizeof(double);
  const std::string name =
      rendering == Rendering::json
          ? fmt::format("the JSON writer's buffers for one block of {} numbers", largest_block)
      : rendering == Rendering::npz ? std::string("the NumPy writer's buffers")
                                    : std::string("the walkthrough's text");
  return {name, bytes};
}

// "scores, scaled and weights"
std::string listing(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t k = 0; k < names.size(); ++k) {
    out += (k == 0 ? "" : k + 1 == names.size() ? " and " : ", ") + names[k];
  }
  return out;
}

PlanSizes plan_sizes(const Spec& spec, const TracePlan& plan) {
  const auto n = [](Index v) { return static_cast<double>(v); };
  PlanSizes p;
  p.batches = plan.focus.batch ? 1 : n(spec.batch_size());
  p.heads = spec.num_heads > 1 && !plan.focus.head ? n(spec.num_heads) : 1;
  p.queries = plan.focus.query ? 1 : n(spec.q_len());
  const double S = n(spec.kv_len() + spec.extra_keys());
  const double whole = p.batches * p.heads * p.queries * S;
  const auto rows = plan.focus.query ? std::nullopt
                                     : held_rows(plan, static_cast<std::size_t>(whole),
                                                 static_cast<std::size_t>(spec.q_len()));
  p.score = rows ? p.batches * p.heads * static_cast<double>(rows->size()) * S : whole;
  return p;
}

}  // namespace

MemoryEstimate estimate_memory(const Spec& spec, const TracePlan& plan, Rendering rendering) {
  // In doubles, as double: a hostile input must not overflow the arithmetic.
  const auto n = [](Index v) { return static_cast<double>(v); };
  const std::vector<StageId> computed = stages_computed(spec, plan);
  const auto computes = [&](StageId id) {
    return std::find(computed.begin(), computed.end(), id) != computed.end();
  };
  const auto shows = [&](StageId id) { return computes(id) && plan.shown.shows(id); };
  const PlanSizes p = plan_sizes(spec, plan);
  const double B = n(spec.batch_size()), L = n(spec.q_len()), S_given = n(spec.kv_len());
  const double S = S_given + n(spec.extra_keys()), E = n(spec.embed_dim());
  const double D = n(spec.model_dim()), d = n(spec.head_dim());
  const double kv_inputs = spec.key_source == KeySource::self ? 0
                           : spec.key_source == KeySource::kv_input
                               ? n(spec.key_dim())
                               : n(spec.key_dim()) + n(spec.value_dim());
  const double out = spec.out_proj ? n(spec.out_proj->weight.rows()) : 0;
  const double weights = learned_parameters(spec);
  // The masks as given: held by the spec and shown again by the masking stage.
  const double given_masks = given_mask_numbers(spec);
  // kv_input is held twice by the spec: as the key input and as the value input.
  const double kv_copy = spec.key_source == KeySource::kv_input ? B * S_given * kv_inputs : 0;
  const double input = B * L * E + B * S_given * kv_inputs + kv_copy;
  const double input_shown =
      shows(StageId::input) ? p.batches * (p.queries * E + S_given * kv_inputs) : 0;

  // Q, K and V are worked on whole (for the batches computed), and recorded by each stage shown.
  const double qkv = p.batches * (L + 2 * S) * D, qkv_shown = p.batches * (p.queries + 2 * S) * D;
  double projections = 0;
  if (computes(StageId::projections)) projections += qkv;
  for (StageId id : {StageId::projections, StageId::extra_keys, StageId::split_heads}) {
    if (shows(id)) projections += qkv_shown;
  }

  // The score stages hold the tensors they show, in the rows they show, and each core a tile.
  std::vector<std::string> score_names;
  for (const auto& [id, name] : {std::pair{StageId::scores, "scores"},
                                 {StageId::scaling, "scaled"},
                                 {StageId::masking, "additive_mask"},
                                 {StageId::masking, "masked"},
                                 {StageId::softmax, "weights"}}) {
    if (shows(id)) score_names.emplace_back(name);
  }
  double score_tensors = static_cast<double>(score_names.size());
  if (shows(StageId::weighted_values) && !shows(StageId::softmax)) score_tensors += 1;
  // Each core computes one tile of queries at a time: six matrices of at most 2 MB.
  const double cores = std::max(1u, std::thread::hardware_concurrency());
  const double tile_rows = std::clamp(std::floor(262144 / std::max(S, 1.0)), 8.0, 64.0);
  const double tasks = p.batches * n(static_cast<Index>(plan.focus.head ? 1 : spec.num_heads)) *
                       std::ceil((plan.focus.query ? 1 : L) / tile_rows);
  const double tiles = computes(StageId::scores) ? std::min(cores, tasks) * tile_rows * S * 6 : 0;
  const double scores = score_tensors * p.score + given_masks * (shows(StageId::masking) ? 2 : 1);

  // weighted_values is held when small; above the limit it is generated, from a copy of the
  // weights and of V_h.
  const double weighted_whole = p.batches * p.heads * p.queries * S * d;
  const bool made =
      shows(StageId::weighted_values) && weighted_whole <= static_cast<double>(plan.weighted_limit);
  const double weighted = !made ? 0
                          : weighted_whole <= static_cast<double>(default_weighted_limit)
                              ? weighted_whole
                              : p.score + p.batches * S * D;
  double context = 0;
  if (computes(StageId::summation))
    context += p.batches * L * D * (shows(StageId::summation) ? 2 : 1);
  if (computes(StageId::merge_heads))
    context += p.batches * L * D * (shows(StageId::merge_heads) ? 2 : 1);
  if (computes(StageId::out_proj)) context += p.batches * L * out;

  // The JSON writer formats the largest block shown (one head's L × S scores, at most) into text
  // while a thread writes the one before: about 40 bytes per number, in doubles. A walkthrough
  // with --full builds a table's text whole (Markdown copies it once more); summarised, its
  // buffers are small. The NumPy writer passes the numbers on as they are, a few MiB at a time.
  const bool score_shown = !score_names.empty() || shows(StageId::weighted_values);
  const double largest_block =
      std::max({score_shown ? p.queries * S : 0.0, p.queries * std::max(D, E), S * std::max(D, E)});
  const auto [rendering_name, rendering_part] = rendering_buffers(rendering, plan, largest_block);
  // The program itself: code, libraries, the allocator's own pages.
  const double program = double{16 << 20} / sizeof(double);
  const std::string batches =
      p.batches > 1 ? fmt::format("{} batches × ", p.batches) : std::string();
  const std::string rows =
      p.score < p.batches * p.heads * p.queries * S
          ? fmt::format("{} of {} query rows", p.score / (p.batches * p.heads * S), p.queries)
          : fmt::format("{}", p.queries);
  const std::string scores_name = fmt::format(
      "{}, {} × {}{} × {} × {} numbers",
      score_names.empty() ? std::string("the score stages' tiles") : listing(score_names),
      score_tensors, batches, plural(static_cast<Index>(p.heads), "head", "heads"), rows, S);
  const std::pair<std::string, double> parts[] = {
      {"the weights", weights},
      {shows(StageId::input) ? "the input and its copy in the input stage" : "the input",
       input + input_shown},
      {"Q, K and V, whole and split into heads", projections},
      {scores_name, scores},
      {"weighted_values", weighted},
      {"the context and the output", context},
      {rendering_name, rendering_part},
      {"the tiles of queries each core computes at a time", tiles},
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
  estimate.overhead = estimate.bytes - (total - rendering_part - program - tiles) * sizeof(double);
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
