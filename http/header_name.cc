#include "weft/http/header_name.h"

#include <algorithm>
#include <array>
#include <optional>
#include <ostream>
#include <stdexcept>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace weft::http {
namespace {

constexpr size_t kStandardCount = std::size(detail::kStandardHeaderNames);

constexpr size_t kLongestStandard = [] {
  size_t n = 0;
  for (std::string_view s : detail::kStandardHeaderNames) n = std::max(n, s.size());
  return n;
}();

// Standard names grouped by length, so a lookup compares only names of the right length (at
// most a handful): kByLength.order[start[n] .. start[n + 1]) are the indexes of length-n names.
struct ByLength {
  std::array<uint8_t, kStandardCount> order{};
  std::array<uint8_t, kLongestStandard + 2> start{};
};

constexpr ByLength kByLength = [] {
  ByLength t;
  size_t k = 0;
  for (size_t len = 0; len <= kLongestStandard; ++len) {
    t.start[len] = static_cast<uint8_t>(k);
    for (size_t i = 0; i < kStandardCount; ++i) {
      if (detail::kStandardHeaderNames[i].size() == len) t.order[k++] = static_cast<uint8_t>(i);
    }
  }
  t.start[kLongestStandard + 1] = static_cast<uint8_t>(k);
  return t;
}();

// `lower` must be lowercase already.
std::optional<uint8_t> find_standard(std::string_view lower) {
  if (lower.size() > kLongestStandard) return std::nullopt;
  for (size_t k = kByLength.start[lower.size()]; k < kByLength.start[lower.size() + 1]; ++k) {
    uint8_t i = kByLength.order[k];
    std::string_view s = detail::kStandardHeaderNames[i];
    // First and last bytes tell most same-length names apart without a call to memcmp (which
    // was half the cost of parsing a short name).
    if (s.front() == lower.front() && s.back() == lower.back() && s == lower) return i;
  }
  return std::nullopt;
}

// Names are not secrets, so errors show them (escaped, and cut short if long).
std::string quoted(std::string_view s) {
  constexpr size_t kShown = 64;
  std::string q = absl::StrCat("\"", absl::CHexEscape(detail::to_absl(s.substr(0, kShown))), "\"");
  if (s.size() > kShown) absl::StrAppend(&q, "...");
  return q;
}

}  // namespace

absl::StatusOr<HeaderName> HeaderName::parse(std::string_view s) {
  if (s.empty()) return absl::InvalidArgumentError("invalid header name: empty");
  if (s.size() > kMaxLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid header name: ", s.size(), " bytes, longer than ", kMaxLength));
  }
  HeaderName name;
  // Short names are lowercased on the stack, so a standard one never touches the heap; longer
  // ones (never standard) straight into their own storage.
  char stack[kLongestStandard];
  char* out = stack;
  if (s.size() > sizeof(stack)) {
    out = name.custom_.assign_for_overwrite(s.size());
  }
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = detail::byte_at(s, i);
    char lower = detail::kTokenLower[c];
    if (lower == 0) {
      return absl::InvalidArgumentError(absl::StrCat("invalid header name ", quoted(s), ": byte ",
                                                     detail::describe_byte(c), " at position ", i,
                                                     " is not a token character"));
    }
    out[i] = lower;
  }
  if (out == stack) {
    std::string_view lower(stack, s.size());
    if (std::optional<uint8_t> i = find_standard(lower)) {
      name.standard_ = *i;
    } else {
      name.custom_ = detail::InlineString(lower);
    }
  }
  return name;
}

HeaderName HeaderName::from_static(std::string_view s) {
  absl::StatusOr<HeaderName> name = parse(s);
  if (!name.ok()) throw std::invalid_argument(std::string(name.status().message()));
  if (name->as_str() != s) {
    throw std::invalid_argument(
        absl::StrCat("HeaderName::from_static(", quoted(s), "): must be lowercase"));
  }
  return *std::move(name);
}

std::ostream& operator<<(std::ostream& os, const HeaderName& n) { return os << n.as_str(); }

}  // namespace weft::http
