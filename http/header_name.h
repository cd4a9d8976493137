// HeaderName: a validated, lowercase HTTP field name (RFC 9110 §5.1: a token).
//
//   absl::StatusOr<http::HeaderName> n = http::HeaderName::parse("X-Request-Id");
//   n->as_str();                                          // "x-request-id"
//   *n == "X-REQUEST-ID";                                 // true: compared ignoring case
//   http::HeaderName ct = http::header::CONTENT_TYPE;   // well-known constant
//   auto custom = http::HeaderName::from_static("x-trace");   // literal, must be lowercase
//
// Invariants: 1..kMaxLength bytes, every byte a tchar, letters lowercase (HTTP/2 requires
// lowercase names on the wire, and lowercase storage makes lookups a byte compare).
//
// Representation: the names in detail::kStandardHeaderNames (the `header::` constants) are
// stored as a one-byte index, whatever their length, so parsing or copying them never
// allocates; any other name is a detail::InlineString (no allocation up to 23 bytes).
// parse() and from_static() always pick the index for a standard name, so two names are equal
// exactly when their indexes are equal and, for custom names, their strings are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/http/detail/chars.h"
#include "weft/http/detail/inline_string.h"

namespace weft::http {

namespace detail {

// Sorted; a name's position is its index in HeaderName. Each has a `header::` constant below.
inline constexpr std::string_view kStandardHeaderNames[] = {
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "access-control-allow-credentials",
    "access-control-allow-headers",
    "access-control-allow-methods",
    "access-control-allow-origin",
    "access-control-expose-headers",
    "access-control-max-age",
    "access-control-request-headers",
    "access-control-request-method",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-disposition",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-range",
    "content-type",
    "cookie",
    "date",
    "etag",
    "expect",
    "expires",
    "forwarded",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "keep-alive",
    "last-modified",
    "link",
    "location",
    "origin",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "sec-websocket-accept",
    "sec-websocket-extensions",
    "sec-websocket-key",
    "sec-websocket-protocol",
    "sec-websocket-version",
    "server",
    "set-cookie",
    "strict-transport-security",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "upgrade-insecure-requests",
    "user-agent",
    "vary",
    "via",
    "www-authenticate",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-request-id",
};

// Lets HeaderMap parse a name and a value straight into an entry (header_map.cc).
struct HeaderAccess;

}  // namespace detail

class HeaderName {
 public:
  // Far beyond any real name; bounds what hostile input can make us copy. Same as hyper.
  static constexpr size_t kMaxLength = 65535;

  // Validates (1..kMaxLength tchar bytes) and lowercases in one pass over `s`.
  // INVALID_ARGUMENT naming the offending byte and its position otherwise.
  static absl::StatusOr<HeaderName> parse(std::string_view s);

  // For names written in code: `s` must already be a valid lowercase name, else this throws
  // std::invalid_argument (a programming error, not bad input). `s` is copied unless it is a
  // standard name, so it need not outlive the result.
  static HeaderName from_static(std::string_view s);

  std::string_view as_str() const {
    return standard_ != kCustom ? detail::kStandardHeaderNames[standard_] : custom_.view();
  }

  friend bool operator==(const HeaderName& a, const HeaderName& b) {
    return a.standard_ == b.standard_ && (a.standard_ != kCustom || a.custom_ == b.custom_);
  }
  // Case-insensitive: `name == "Content-Type"` is true for header::CONTENT_TYPE.
  friend bool operator==(const HeaderName& a, std::string_view b) {
    return detail::equals_lowercase(a.as_str(), b);
  }
  friend bool operator<(const HeaderName& a, const HeaderName& b) {
    return a.as_str() < b.as_str();
  }

  template <class H>
  friend H AbslHashValue(H h, const HeaderName& n) {
    return H::combine(std::move(h), n.as_str());
  }

  friend std::ostream& operator<<(std::ostream& os, const HeaderName& n);

 private:
  friend struct detail::HeaderAccess;
  static constexpr uint8_t kCustom = 0xFF;
  static_assert(std::size(detail::kStandardHeaderNames) < kCustom);

  HeaderName() = default;
  // parse() into this name, without building a status: false (this name then unspecified)
  // when `s` is not a valid name.
  bool assign(std::string_view s);

  uint8_t standard_ = kCustom;   // index into kStandardHeaderNames, or kCustom
  detail::InlineString custom_;  // the name when standard_ == kCustom
};

// Well-known names (the standard ones: they never allocate).
namespace header {
inline const HeaderName ACCEPT = HeaderName::from_static("accept");
inline const HeaderName ACCEPT_CHARSET = HeaderName::from_static("accept-charset");
inline const HeaderName ACCEPT_ENCODING = HeaderName::from_static("accept-encoding");
inline const HeaderName ACCEPT_LANGUAGE = HeaderName::from_static("accept-language");
inline const HeaderName ACCEPT_RANGES = HeaderName::from_static("accept-ranges");
inline const HeaderName ACCESS_CONTROL_ALLOW_CREDENTIALS =
    HeaderName::from_static("access-control-allow-credentials");
inline const HeaderName ACCESS_CONTROL_ALLOW_HEADERS =
    HeaderName::from_static("access-control-allow-headers");
inline const HeaderName ACCESS_CONTROL_ALLOW_METHODS =
    HeaderName::from_static("access-control-allow-methods");
inline const HeaderName ACCESS_CONTROL_ALLOW_ORIGIN =
    HeaderName::from_static("access-control-allow-origin");
inline const HeaderName ACCESS_CONTROL_EXPOSE_HEADERS =
    HeaderName::from_static("access-control-expose-headers");
inline const HeaderName ACCESS_CONTROL_MAX_AGE = HeaderName::from_static("access-control-max-age");
inline const HeaderName ACCESS_CONTROL_REQUEST_HEADERS =
    HeaderName::from_static("access-control-request-headers");
inline const HeaderName ACCESS_CONTROL_REQUEST_METHOD =
    HeaderName::from_static("access-control-request-method");
inline const HeaderName AGE = HeaderName::from_static("age");
inline const HeaderName ALLOW = HeaderName::from_static("allow");
inline const HeaderName AUTHORIZATION = HeaderName::from_static("authorization");
inline const HeaderName CACHE_CONTROL = HeaderName::from_static("cache-control");
inline const HeaderName CONNECTION = HeaderName::from_static("connection");
inline const HeaderName CONTENT_DISPOSITION = HeaderName::from_static("content-disposition");
inline const HeaderName CONTENT_ENCODING = HeaderName::from_static("content-encoding");
inline const HeaderName CONTENT_LANGUAGE = HeaderName::from_static("content-language");
inline const HeaderName CONTENT_LENGTH = HeaderName::from_static("content-length");
inline const HeaderName CONTENT_LOCATION = HeaderName::from_static("content-location");
inline const HeaderName CONTENT_RANGE = HeaderName::from_static("content-range");
inline const HeaderName CONTENT_TYPE = HeaderName::from_static("content-type");
inline const HeaderName COOKIE = HeaderName::from_static("cookie");
inline const HeaderName DATE = HeaderName::from_static("date");
inline const HeaderName ETAG = HeaderName::from_static("etag");
inline const HeaderName EXPECT = HeaderName::from_static("expect");
inline const HeaderName EXPIRES = HeaderName::from_static("expires");
inline const HeaderName FORWARDED = HeaderName::from_static("forwarded");
inline const HeaderName FROM = HeaderName::from_static("from");
inline const HeaderName HOST = HeaderName::from_static("host");
inline const HeaderName IF_MATCH = HeaderName::from_static("if-match");
inline const HeaderName IF_MODIFIED_SINCE = HeaderName::from_static("if-modified-since");
inline const HeaderName IF_NONE_MATCH = HeaderName::from_static("if-none-match");
inline const HeaderName IF_RANGE = HeaderName::from_static("if-range");
inline const HeaderName IF_UNMODIFIED_SINCE = HeaderName::from_static("if-unmodified-since");
inline const HeaderName KEEP_ALIVE = HeaderName::from_static("keep-alive");
inline const HeaderName LAST_MODIFIED = HeaderName::from_static("last-modified");
inline const HeaderName LINK = HeaderName::from_static("link");
inline const HeaderName LOCATION = HeaderName::from_static("location");
inline const HeaderName ORIGIN = HeaderName::from_static("origin");
inline const HeaderName PRAGMA = HeaderName::from_static("pragma");
inline const HeaderName PROXY_AUTHENTICATE = HeaderName::from_static("proxy-authenticate");
inline const HeaderName PROXY_AUTHORIZATION = HeaderName::from_static("proxy-authorization");
inline const HeaderName RANGE = HeaderName::from_static("range");
inline const HeaderName REFERER = HeaderName::from_static("referer");
inline const HeaderName RETRY_AFTER = HeaderName::from_static("retry-after");
inline const HeaderName SEC_WEBSOCKET_ACCEPT = HeaderName::from_static("sec-websocket-accept");
inline const HeaderName SEC_WEBSOCKET_EXTENSIONS =
    HeaderName::from_static("sec-websocket-extensions");
inline const HeaderName SEC_WEBSOCKET_KEY = HeaderName::from_static("sec-websocket-key");
inline const HeaderName SEC_WEBSOCKET_PROTOCOL = HeaderName::from_static("sec-websocket-protocol");
inline const HeaderName SEC_WEBSOCKET_VERSION = HeaderName::from_static("sec-websocket-version");
inline const HeaderName SERVER = HeaderName::from_static("server");
inline const HeaderName SET_COOKIE = HeaderName::from_static("set-cookie");
inline const HeaderName STRICT_TRANSPORT_SECURITY =
    HeaderName::from_static("strict-transport-security");
inline const HeaderName TE = HeaderName::from_static("te");
inline const HeaderName TRAILER = HeaderName::from_static("trailer");
inline const HeaderName TRANSFER_ENCODING = HeaderName::from_static("transfer-encoding");
inline const HeaderName UPGRADE = HeaderName::from_static("upgrade");
inline const HeaderName UPGRADE_INSECURE_REQUESTS =
    HeaderName::from_static("upgrade-insecure-requests");
inline const HeaderName USER_AGENT = HeaderName::from_static("user-agent");
inline const HeaderName VARY = HeaderName::from_static("vary");
inline const HeaderName VIA = HeaderName::from_static("via");
inline const HeaderName WWW_AUTHENTICATE = HeaderName::from_static("www-authenticate");
inline const HeaderName X_FORWARDED_FOR = HeaderName::from_static("x-forwarded-for");
inline const HeaderName X_FORWARDED_HOST = HeaderName::from_static("x-forwarded-host");
inline const HeaderName X_FORWARDED_PROTO = HeaderName::from_static("x-forwarded-proto");
inline const HeaderName X_REQUEST_ID = HeaderName::from_static("x-request-id");
}  // namespace header

}  // namespace weft::http

template <>
struct std::hash<weft::http::HeaderName> {
  size_t operator()(const weft::http::HeaderName& n) const noexcept {
    return std::hash<std::string_view>()(n.as_str());
  }
};
