#include "weft/http/uri.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <ostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "weft/http/detail/chars.h"

namespace weft::http {
namespace {

// Bytes a URI may contain at all: visible ASCII ('!'..'~'). The two that end the path are
// marked, so that one pass validates and finds them.
enum UriByte : uint8_t { kBadByte, kPlain, kQuestion, kHash };
constexpr std::array<UriByte, 256> kUriByte = [] {
  std::array<UriByte, 256> t{};
  for (int c = 0x21; c < 0x7F; ++c) t[c] = kPlain;
  t['?'] = kQuestion;
  t['#'] = kHash;
  return t;
}();

// reg-name = *( unreserved / pct-encoded / sub-delims )   (RFC 3986 §3.2.2)
constexpr std::array<bool, 256> kRegName = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("-._~%!$&'()*+,;=")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

// Hex digit value, or -1.
constexpr std::array<int8_t, 256> kHex = [] {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<int8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) t[c] = static_cast<int8_t>(c - 'A' + 10);
  return t;
}();

// Position of the first byte of `s` that is in `set`, or s.size(). (string_view::find_first_of
// calls memchr on `set` once per byte of `s`: several times slower for these short sets.)
size_t find_any(std::string_view s, std::string_view set) {
  for (size_t i = 0; i < s.size(); ++i) {
    for (char c : set) {
      if (s[i] == c) return i;
    }
  }
  return s.size();
}

absl::Status invalid(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("invalid URI: ", detail::to_absl(what)));
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Length of `scheme` in "scheme:..." (scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )),
// or 0 when `s` does not start with one.
size_t scheme_length(std::string_view s) {
  if (s.empty() || !is_alpha(s[0])) return 0;
  size_t i = 1;
  while (i < s.size() &&
         (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) {
    ++i;
  }
  return i < s.size() && s[i] == ':' ? i : 0;
}

struct Authority {
  size_t host_length;
  std::optional<uint16_t> port;
};

// authority = host [ ":" port ], host = IP-literal / reg-name (userinfo rejected).
absl::StatusOr<Authority> parse_authority(std::string_view a, bool require_port) {
  if (a.empty() || a[0] == ':') return invalid("missing host");
  if (a.find('@') != std::string_view::npos) {
    return invalid("userinfo (user@host) in the authority is not supported");
  }
  size_t host_length;
  if (a[0] == '[') {
    size_t close = a.find(']');
    if (close == std::string_view::npos) return invalid("'[' without ']' in host");
    std::string_view ip = a.substr(1, close - 1);
    char text[INET6_ADDRSTRLEN];
    in6_addr addr;
    if (ip.size() >= sizeof(text)) return invalid("invalid IPv6 address in host");
    std::memcpy(text, ip.data(), ip.size());
    text[ip.size()] = '\0';
    if (inet_pton(AF_INET6, text, &addr) != 1) return invalid("invalid IPv6 address in host");
    host_length = close + 1;
    if (host_length < a.size() && a[host_length] != ':') {
      return invalid(absl::StrCat("unexpected ", detail::describe_byte(a[host_length]),
                                  " after IPv6 address in host"));
    }
  } else {
    host_length = std::min(a.find(':'), a.size());
    for (size_t i = 0; i < host_length; ++i) {
      unsigned char c = detail::byte_at(a, i);
      if (!kRegName[c]) {
        return invalid(absl::StrCat("byte ", detail::describe_byte(c), " at position ", i,
                                    " of the host is not allowed"));
      }
    }
  }
  std::optional<uint16_t> port;
  if (host_length < a.size()) {  // a[host_length] == ':'
    std::string_view digits = a.substr(host_length + 1);
    if (digits.empty()) return invalid("empty port after ':'");
    uint32_t value = 0;
    for (char c : digits) {
      if (!is_digit(c)) return invalid("port is not a decimal number");
      value = value * 10 + (c - '0');
      if (value > 65535) return invalid("port out of range (above 65535)");
    }
    port = static_cast<uint16_t>(value);
  }
  if (require_port && !port) return invalid("authority-form needs a port (host:port)");
  return Authority{host_length, port};
}

// Percent-decodes `s`, and turns '+' into ' ' if `plus_is_space`; nullopt on a bad escape.
std::optional<std::string> decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (s.size() - i < 3) return std::nullopt;
      int hi = kHex[detail::byte_at(s, i + 1)];
      int lo = kHex[detail::byte_at(s, i + 2)];
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi << 4 | lo));
      i += 2;
    } else {
      out.push_back(plus_is_space && c == '+' ? ' ' : c);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<Uri> Uri::parse(std::string_view s) {
  if (s.empty()) return invalid("empty");
  if (s.size() > kMaxLength) {
    return invalid(absl::StrCat(s.size(), " bytes, longer than ", kMaxLength));
  }
  size_t question = s.size(), hash = s.size();  // the first of each
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = detail::byte_at(s, i);
    if (UriByte k = kUriByte[c]; k != kPlain) {
      if (k == kBadByte) {
        return invalid(absl::StrCat("byte ", detail::describe_byte(c), " at position ", i,
                                    " is not allowed (controls, spaces and non-ASCII bytes must "
                                    "be percent-encoded)"));
      }
      if (k == kQuestion && question == s.size()) question = i;
      if (k == kHash && hash == s.size()) hash = i;
    }
  }
  std::string_view target = s.substr(0, hash);  // the fragment is dropped
  Uri uri;

  // origin-form
  if (s[0] == '/') {
    uri.buf_ = detail::InlineString(target);
    uri.path_end_ = static_cast<uint16_t>(std::min(question, target.size()));
    return uri;
  }

  // asterisk-form
  if (s == "*") {
    uri.buf_ = detail::InlineString("*");
    uri.form_ = Form::kAsterisk;
    return uri;
  }

  // absolute-form: scheme "://" authority [path] ["?" query]
  if (size_t n = scheme_length(s); n > 0 && s.substr(n, 3) == "://") {
    std::string_view rest = target.substr(n + 3);
    size_t authority_length = find_any(rest, "/?");
    std::string_view authority = rest.substr(0, authority_length);
    std::string_view path_and_query = rest.substr(authority_length);
    absl::StatusOr<Authority> a = parse_authority(authority, /*require_port=*/false);
    if (!a.ok()) return a.status();

    std::string b;
    b.reserve(n + 3 + authority.size() + 1 + path_and_query.size());
    b.append(s.substr(0, n));
    for (char& c : b) c = detail::kAsciiLower[static_cast<unsigned char>(c)];
    b.append("://");
    b.append(authority);
    size_t path_begin = b.size();
    if (path_and_query.empty() || path_and_query[0] == '?') b.push_back('/');
    b.append(path_and_query);

    uri.form_ = Form::kAbsolute;
    uri.scheme_end_ = static_cast<uint16_t>(n);
    uri.authority_begin_ = static_cast<uint16_t>(n + 3);
    uri.host_end_ = static_cast<uint16_t>(n + 3 + a->host_length);
    uri.authority_end_ = static_cast<uint16_t>(path_begin);
    uri.port_ = a->port;
    uri.path_begin_ = static_cast<uint16_t>(path_begin);
    uri.path_end_ = static_cast<uint16_t>(std::min(b.find('?', path_begin), b.size()));
    uri.buf_ = detail::InlineString(b);
    return uri;
  }

  // authority-form: host:port and nothing else
  if (find_any(s, "/?#") == s.size()) {
    absl::StatusOr<Authority> a = parse_authority(s, /*require_port=*/true);
    if (!a.ok()) return a.status();
    uri.buf_ = detail::InlineString(s);
    uri.form_ = Form::kAuthority;
    uri.host_end_ = static_cast<uint16_t>(a->host_length);
    uri.authority_end_ = static_cast<uint16_t>(s.size());
    uri.port_ = a->port;
    uri.path_begin_ = static_cast<uint16_t>(s.size());
    uri.path_end_ = static_cast<uint16_t>(s.size());
    return uri;
  }

  return invalid(
      "expected origin-form (/path), absolute-form (scheme://host/path), authority-form "
      "(host:port) or *");
}

std::string_view Uri::query() const {
  if (path_end_ >= buf_.size()) return {};
  return buf_.view().substr(path_end_ + 1);
}

std::optional<std::string> Uri::query_param(std::string_view key) const {
  std::string_view q = query();
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (pair.empty()) continue;  // "a=1&&b=2"

    size_t eq = pair.find('=');
    std::string_view k = pair.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    bool match;
    if (find_any(k, "%+") == k.size()) {
      match = k == key;  // nothing to decode: the common case, no allocation
    } else {
      std::optional<std::string> decoded = decode(k, /*plus_is_space=*/true);
      match = decoded && *decoded == key;
    }
    if (match) return decode(v, /*plus_is_space=*/true);
  }
  return std::nullopt;
}

std::optional<std::string> Uri::percent_decode(std::string_view s) {
  return decode(s, /*plus_is_space=*/false);
}

std::ostream& operator<<(std::ostream& os, const Uri& u) { return os << u.buf_.view(); }

}  // namespace weft::http
