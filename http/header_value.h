// HeaderValue: a validated HTTP field value (RFC 9110 §5.5), plus a "sensitive" flag.
//
//   absl::StatusOr<http::HeaderValue> v = http::HeaderValue::parse("text/plain");
//   auto len = http::HeaderValue::from_integer(body.size());     // "1234"
//   auto auth = http::HeaderValue::from_static("Bearer abc");
//   auth.set_sensitive(true);            // never logged; HPACK never-indexed
//   if (*v == "text/plain") { ... }      // byte comparison
//
// Valid bytes: HTAB, SP..'~' and obs-text 0x80..0xFF. CR, LF, NUL, the other controls and
// DEL are rejected, so a value can never split a header line. Leading and trailing SP/HTAB are
// allowed and kept (the HTTP/1 parser trims them before calling parse). Empty values are valid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "weft/http/detail/inline_string.h"

namespace weft::http {

namespace detail {
struct HeaderAccess;  // header_name.h
}  // namespace detail

class HeaderValue {
 public:
  // The empty value "".
  HeaderValue() = default;

  // INVALID_ARGUMENT naming the position and byte that is not allowed. The value itself is
  // not echoed in the message: it may be a credential.
  static absl::StatusOr<HeaderValue> parse(std::string_view s);
  // For values written in code; throws std::invalid_argument if `s` is not a valid value.
  static HeaderValue from_static(std::string_view s);
  // Decimal digits, e.g. for content-length.
  static HeaderValue from_integer(uint64_t n);

  std::string_view as_str() const { return value_.view(); }
  bool empty() const { return value_.empty(); }
  size_t size() const { return value_.size(); }

  // Sensitive values (credentials, cookies) are printed as "Sensitive" by operator<< and are
  // to be sent HPACK never-indexed. The flag does not take part in comparisons.
  bool is_sensitive() const { return sensitive_; }
  void set_sensitive(bool sensitive) { sensitive_ = sensitive; }

  friend bool operator==(const HeaderValue& a, const HeaderValue& b) {
    return a.value_ == b.value_;
  }
  friend bool operator==(const HeaderValue& a, std::string_view b) { return a.value_.view() == b; }

  // The value in quotes with non-printable bytes escaped, or Sensitive.
  friend std::ostream& operator<<(std::ostream& os, const HeaderValue& v);

 private:
  friend struct detail::HeaderAccess;
  explicit HeaderValue(std::string_view s) : value_(s) {}
  // parse() into this value, without building a status: false (this value unchanged) when `s`
  // holds a byte a value does not allow.
  bool assign(std::string_view s);

  detail::InlineString value_;  // up to 23 bytes inline
  bool sensitive_ = false;
};

}  // namespace weft::http
