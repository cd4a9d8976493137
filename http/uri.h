// Uri: a request target (RFC 9112 §3.2) or an absolute URI for the client.
//
//   absl::StatusOr<http::Uri> u = http::Uri::parse("http://example.com:8080/a?q=x+y");
//   u->host();                   // "example.com"        u->port();   // 8080
//   u->path();                   // "/a"                 u->query();  // "q=x+y"
//   u->query_param("q");         // "x y" ('+' and %XX decoded)
//   http::Uri::parse("/search?q=1")->path_and_query();   // "/search?q=1" (origin-form)
//
// Accepted forms:
//   origin-form     "/a/b?q=1"               path and query only
//   absolute-form   "http://host:8080/a?q"   any scheme (RFC 3986 syntax, stored lowercase)
//                                            followed by "://" and a non-empty host
//   authority-form  "host:443", "[::1]:443"  only host:port, no '/', '?' or '#' (CONNECT)
//   asterisk-form   "*"                      (OPTIONS *)
//
// Rejected: the empty string, anything longer than kMaxLength, any byte that is not visible
// ASCII (controls, space, DEL and bytes >= 0x80 must be percent-encoded), userinfo ("user@")
// in an authority (RFC 9110 §4.2.4 deprecates it in http URIs), malformed IPv6 literals, ports
// that are empty, not decimal or above 65535, and anything that is none of the forms above.
//
// A fragment ("#..." ) is checked like the rest and then dropped, in every form: it is never
// sent in a request (RFC 9110 §4.2.5). Percent-escapes are not checked by parse(): they are
// decoded on demand by percent_decode / query_param, which report malformed ones.
//
// Normalisation: the scheme is lowercased, and an absolute URI with an empty path gets "/"
// ("http://h?x" becomes "http://h/?x"), so to_string() and path_and_query() never lack the
// path. Host and path keep their case and escapes.
//
// Representation: one detail::InlineString holding the URI (no allocation up to 23 bytes), 16-bit
// offsets of its parts; the accessors return views into it. Default-constructed: "/".
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/http/detail/inline_string.h"

namespace weft::http {

class Uri {
 public:
  enum class Form : uint8_t { kOrigin, kAbsolute, kAuthority, kAsterisk };

  // Offsets are 16-bit (an absolute URI with an empty path gains one byte). Servers answer
  // 414 long before this; clients have no use for longer targets.
  static constexpr size_t kMaxLength = 65534;

  // "/" (origin-form).
  Uri() noexcept { reset(); }
  Uri(const Uri&) = default;
  Uri& operator=(const Uri&) = default;
  // A moved-from Uri is "/" (its offsets would not fit an emptied string). Member-wise, not
  // swap-based: a request's URI moves through every layer of a stack, and a swap costs several
  // times a move.
  Uri(Uri&& other) noexcept
      : buf_(std::move(other.buf_)),
        scheme_end_(other.scheme_end_),
        authority_begin_(other.authority_begin_),
        host_end_(other.host_end_),
        authority_end_(other.authority_end_),
        path_begin_(other.path_begin_),
        path_end_(other.path_end_),
        port_(other.port_),
        form_(other.form_) {
    other.reset();
  }
  Uri& operator=(Uri&& other) noexcept {
    if (this != &other) {
      buf_ = std::move(other.buf_);
      scheme_end_ = other.scheme_end_;
      authority_begin_ = other.authority_begin_;
      host_end_ = other.host_end_;
      authority_end_ = other.authority_end_;
      path_begin_ = other.path_begin_;
      path_end_ = other.path_end_;
      port_ = other.port_;
      form_ = other.form_;
      other.reset();
    }
    return *this;
  }

  // INVALID_ARGUMENT saying what is wrong (offending byte and position where there is one).
  static absl::StatusOr<Uri> parse(std::string_view s);

  Form form() const { return form_; }
  bool is_absolute() const { return form_ == Form::kAbsolute; }

  // Lowercase; "" unless absolute-form.
  std::string_view scheme() const { return view(0, scheme_end_); }
  // "host:port" as written; "" for origin-form and "*".
  std::string_view authority() const { return view(authority_begin_, authority_end_); }
  // Without the port; an IPv6 literal keeps its brackets ("[::1]").
  std::string_view host() const { return view(authority_begin_, host_end_); }
  // Only when written in the URI (no default from the scheme).
  std::optional<uint16_t> port() const { return port_; }
  // "/" at least for origin- and absolute-form, "*" for asterisk-form, "" for authority-form.
  std::string_view path() const { return view(path_begin_, path_end_); }
  // After '?', without it; "" if there is none.
  std::string_view query() const;
  // Path, then '?' and query if there was a '?'. ("" for authority-form, "*" for asterisk.)
  std::string path_and_query() const { return std::string(path_and_query_view()); }
  std::string_view path_and_query_view() const { return view(path_begin_, buf_.size()); }
  // The whole URI, normalised as described above, without fragment.
  std::string to_string() const { return std::string(buf_.view()); }

  // The first value of `key` in the query (as in application/x-www-form-urlencoded: pairs
  // split on '&' (empty pairs skipped), key and value on the first '='; both '+'- and
  // percent-decoded before `key` is compared). "" for a key without '='. nullopt if the key is
  // absent or its value has a malformed escape.
  std::optional<std::string> query_param(std::string_view key) const;

  // Decodes %XX escapes (hex digits of either case); '+' is left alone. nullopt when a '%' is not
  // followed by two hex digits.
  static std::optional<std::string> percent_decode(std::string_view s);

  friend bool operator==(const Uri& a, const Uri& b) { return a.buf_ == b.buf_; }
  friend std::ostream& operator<<(std::ostream& os, const Uri& u);

 private:
  // "/", field by field: what a default-constructed Uri is, and what a moved-from one becomes
  // (its string has room for it: no allocation).
  void reset() noexcept {
    *buf_.assign_for_overwrite(1) = '/';
    scheme_end_ = authority_begin_ = host_end_ = authority_end_ = path_begin_ = 0;
    path_end_ = 1;
    port_.reset();
    form_ = Form::kOrigin;
  }

  std::string_view view(size_t begin, size_t end) const {
    return buf_.view().substr(begin, end - begin);
  }

  // Set by reset() ("/") or by parse().
  detail::InlineString buf_;  // up to 23 bytes inline
  uint16_t scheme_end_;       // scheme: [0, scheme_end_)
  uint16_t authority_begin_;  // authority: [authority_begin_, authority_end_)
  uint16_t host_end_;         // host: [authority_begin_, host_end_)
  uint16_t authority_end_;
  uint16_t path_begin_;  // path: [path_begin_, path_end_); then '?' query, if any, to the end
  uint16_t path_end_;
  std::optional<uint16_t> port_;
  Form form_;
};

}  // namespace weft::http
