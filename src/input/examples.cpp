// Lookup over the examples that cmake/embed_examples.cmake compiled in.
#include "attn_trace/input/examples.hpp"

namespace attn_trace {

std::vector<std::string_view> example_names() {
  std::vector<std::string_view> names;
  for (const EmbeddedExample& example : embedded_examples()) names.push_back(example.name);
  return names;
}

std::optional<EmbeddedExample> find_example(std::string_view name) {
  for (const EmbeddedExample& example : embedded_examples()) {
    if (example.name == name) return example;
  }
  return std::nullopt;
}

}  // namespace attn_trace
