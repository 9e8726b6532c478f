// The one error type. Everything a user can get wrong (a malformed file, a wrong shape, a bad
// value) is reported by throwing it; the CLI catches it once and prints
//   attn-trace: error: <message>
//   hint: <hint>            (when there is one)
#pragma once

#include <stdexcept>
#include <string>

namespace attn_trace {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, std::string hint = {})
      : std::runtime_error(message), hint_(std::move(hint)) {}

  // A suggestion of what to do instead, or empty.
  [[nodiscard]] const std::string& hint() const { return hint_; }

 private:
  std::string hint_;
};

}  // namespace attn_trace
