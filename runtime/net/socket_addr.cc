#include "weft/runtime/net/socket_addr.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <algorithm>
#include <cstring>
#include <ostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace weft::net {

namespace {

absl::Status bad(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid socket address \"", absl::string_view(text.data(), text.size()),
                   "\": ", absl::string_view(why.data(), why.size())));
}

// Strict decimal port: 1-5 digits, <= 65535 (no sign, no spaces, no hex).
bool parse_port(std::string_view s, uint16_t* out) {
  if (s.empty() || s.size() > 5) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > 65535) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

SocketAddr::SocketAddr() = default;

absl::StatusOr<SocketAddr> SocketAddr::from_ip(std::string_view ip, uint16_t port) {
  // inet_pton needs a NUL-terminated string; addresses are short.
  if (ip.size() > INET6_ADDRSTRLEN + IF_NAMESIZE) return bad(ip, "too long");
  std::string s(ip);
  SocketAddr a;
  a.port_ = port;
  in_addr v4;
  if (s.find(':') == std::string::npos) {
    if (::inet_pton(AF_INET, s.c_str(), &v4) != 1) return bad(ip, "not an IPv4 address");
    a.family_ = AF_INET;
    std::memcpy(a.ip_.data(), &v4, 4);
    return a;
  }
  std::string scope;
  if (size_t pct = s.find('%'); pct != std::string::npos) {
    scope = s.substr(pct + 1);
    s.resize(pct);
    if (scope.empty()) return bad(ip, "empty IPv6 scope id");
  }
  in6_addr v6;
  if (::inet_pton(AF_INET6, s.c_str(), &v6) != 1) return bad(ip, "not an IPv6 address");
  a.family_ = AF_INET6;
  std::memcpy(a.ip_.data(), &v6, 16);
  if (!scope.empty()) {
    uint32_t id = 0;
    if (!absl::SimpleAtoi(scope, &id)) {
      id = ::if_nametoindex(scope.c_str());
      if (id == 0) return bad(ip, "unknown interface in scope id");
    }
    a.scope_id_ = id;
  }
  return a;
}

absl::StatusOr<SocketAddr> SocketAddr::parse(std::string_view text) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return bad(text, "missing ']'");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (rest.size() < 2 || rest.front() != ':') return bad(text, "missing port after ']'");
    port = rest.substr(1);
    if (host.find(':') == std::string_view::npos) return bad(text, "brackets need an IPv6 address");
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad(text, "missing port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return bad(text, "an IPv6 address needs brackets: [addr]:port");
    }
  }
  uint16_t p;
  if (!parse_port(port, &p)) return bad(text, "port must be a number in 0-65535");
  absl::StatusOr<SocketAddr> a = from_ip(host, p);
  if (!a.ok()) return bad(text, "not a numeric IP address");
  return a;
}

SocketAddr SocketAddr::v4(std::array<uint8_t, 4> ip, uint16_t port) {
  SocketAddr a;
  a.family_ = AF_INET;
  a.port_ = port;
  std::copy(ip.begin(), ip.end(), a.ip_.begin());
  return a;
}

SocketAddr SocketAddr::v6(const std::array<uint8_t, 16>& ip, uint16_t port, uint32_t scope_id) {
  SocketAddr a;
  a.family_ = AF_INET6;
  a.port_ = port;
  a.ip_ = ip;
  a.scope_id_ = scope_id;
  return a;
}

SocketAddr SocketAddr::loopback_v4(uint16_t port) { return v4({127, 0, 0, 1}, port); }
SocketAddr SocketAddr::loopback_v6(uint16_t port) {
  std::array<uint8_t, 16> ip{};
  ip[15] = 1;
  return v6(ip, port);
}
SocketAddr SocketAddr::any_v4(uint16_t port) { return v4({0, 0, 0, 0}, port); }
SocketAddr SocketAddr::any_v6(uint16_t port) { return v6({}, port); }

absl::StatusOr<SocketAddr> SocketAddr::from_sockaddr(const sockaddr* sa, socklen_t len) {
  if (sa == nullptr || len < static_cast<socklen_t>(sizeof(sa_family_t))) {
    return absl::InvalidArgumentError("socket address too short");
  }
  SocketAddr a;
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in in;
    std::memcpy(&in, sa, sizeof in);
    a.family_ = AF_INET;
    a.port_ = ntohs(in.sin_port);
    std::memcpy(a.ip_.data(), &in.sin_addr, 4);
    return a;
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 in6;
    std::memcpy(&in6, sa, sizeof in6);
    a.family_ = AF_INET6;
    a.port_ = ntohs(in6.sin6_port);
    std::memcpy(a.ip_.data(), &in6.sin6_addr, 16);
    a.scope_id_ = in6.sin6_scope_id;
    return a;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("not an IP socket address (family ", sa->sa_family, ")"));
}

socklen_t SocketAddr::to_sockaddr(sockaddr_storage* out) const {
  std::memset(out, 0, sizeof *out);
  if (family_ == AF_INET) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port_);
    std::memcpy(&in.sin_addr, ip_.data(), 4);
    std::memcpy(out, &in, sizeof in);
    return sizeof in;
  }
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port_);
  std::memcpy(&in6.sin6_addr, ip_.data(), 16);
  in6.sin6_scope_id = scope_id_;
  std::memcpy(out, &in6, sizeof in6);
  return sizeof in6;
}

bool SocketAddr::is_loopback() const {
  if (family_ == AF_INET) return ip_[0] == 127;
  std::array<uint8_t, 16> one{};
  one[15] = 1;
  return ip_ == one;
}

bool SocketAddr::is_unspecified() const {
  size_t n = family_ == AF_INET ? 4 : 16;
  return std::all_of(ip_.begin(), ip_.begin() + static_cast<std::ptrdiff_t>(n),
                     [](uint8_t b) { return b == 0; });
}

std::string SocketAddr::ip_string() const {
  char buf[INET6_ADDRSTRLEN];
  ::inet_ntop(family_, ip_.data(), buf, sizeof buf);
  if (family_ == AF_INET6 && scope_id_ != 0) return absl::StrCat(buf, "%", scope_id_);
  return buf;
}

std::string SocketAddr::to_string() const {
  if (family_ == AF_INET) return absl::StrCat(ip_string(), ":", port_);
  return absl::StrCat("[", ip_string(), "]:", port_);
}

std::ostream& operator<<(std::ostream& os, const SocketAddr& a) { return os << a.to_string(); }

}  // namespace weft::net
