#include "weft/http/method.h"

#include <ostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "weft/http/detail/chars.h"

namespace weft::http {
namespace {

// Indexed by Kind, kExtension excluded.
constexpr std::string_view kNames[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                       "CONNECT", "OPTIONS", "TRACE", "PATCH"};
static_assert(std::size(kNames) == static_cast<size_t>(Method::Kind::kExtension));

}  // namespace

absl::StatusOr<Method> Method::parse(std::string_view s) {
  if (s.empty()) return absl::InvalidArgumentError("invalid method: empty");
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = detail::byte_at(s, i);
    if (detail::kTokenLower[c] == 0) {
      return absl::InvalidArgumentError(absl::StrCat("invalid method: byte ",
                                                     detail::describe_byte(c), " at position ", i,
                                                     " is not a token character"));
    }
  }
  for (size_t k = 0; k < std::size(kNames); ++k) {
    if (kNames[k] == s) return Method(static_cast<Kind>(k));
  }
  Method m(Kind::kExtension);
  m.extension_ = std::make_shared<const std::string>(s);
  return m;
}

std::string_view Method::as_str() const {
  if (kind_ == Kind::kExtension) return *extension_;
  return kNames[static_cast<size_t>(kind_)];
}

bool Method::is_safe() const {
  switch (kind_) {
    case Kind::kGet:
    case Kind::kHead:
    case Kind::kOptions:
    case Kind::kTrace:
      return true;
    default:
      return false;
  }
}

bool Method::is_idempotent() const {
  return is_safe() || kind_ == Kind::kPut || kind_ == Kind::kDelete;
}

std::ostream& operator<<(std::ostream& os, const Method& m) { return os << m.as_str(); }

}  // namespace weft::http
