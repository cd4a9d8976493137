#include "weft/http/header_value.h"

#include <charconv>
#include <ostream>
#include <stdexcept>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "weft/http/detail/chars.h"

namespace weft::http {

absl::StatusOr<HeaderValue> HeaderValue::parse(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = detail::byte_at(s, i);
    if (!detail::kFieldValue[c]) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid header value: byte ", detail::describe_byte(c), " at position ", i,
                       " is not allowed (no CR, LF, NUL or other control characters)"));
    }
  }
  return HeaderValue(s);
}

HeaderValue HeaderValue::from_static(std::string_view s) {
  absl::StatusOr<HeaderValue> v = parse(s);
  if (!v.ok()) throw std::invalid_argument(std::string(v.status().message()));
  return *std::move(v);
}

HeaderValue HeaderValue::from_integer(uint64_t n) {
  char buf[20];  // 2^64 - 1 has 20 digits
  std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), n);
  return HeaderValue(std::string_view(buf, r.ptr - buf));
}

std::ostream& operator<<(std::ostream& os, const HeaderValue& v) {
  if (v.is_sensitive()) return os << "Sensitive";
  return os << '"' << absl::CHexEscape(detail::to_absl(v.as_str())) << '"';
}

}  // namespace weft::http
