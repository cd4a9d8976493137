// SocketAddr: an IPv4 or IPv6 address plus a port (Rust's std::net::SocketAddr), the address
// type every TCP and UDP call in weft::net takes and returns.
//
//   absl::StatusOr<weft::net::SocketAddr> a = weft::net::SocketAddr::parse("127.0.0.1:8080");
//   absl::StatusOr<weft::net::SocketAddr> b = weft::net::SocketAddr::parse("[::1]:80");
//   a->port();        // 8080
//   b->to_string();   // "[::1]:80"
//   sockaddr_storage ss; socklen_t len = a->to_sockaddr(&ss);   // for a raw syscall
//
// Parsing accepts only numeric addresses (no host names: see lookup_host.h). IPv6 scope ids
// are kept ("[fe80::1%2]:80" or "[fe80::1%eth0]:80"); to_string() prints them numerically.
// A plain value type: cheap to copy, compares by family, address, port and scope id.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace weft::net {

class SocketAddr {
 public:
  // 0.0.0.0:0
  SocketAddr();

  // "a.b.c.d:port" or "[v6]:port" / "[v6%scope]:port". INVALID_ARGUMENT otherwise.
  static absl::StatusOr<SocketAddr> parse(std::string_view text);
  // An IP address without a port ("127.0.0.1", "::1", "fe80::1%2") plus `port`.
  static absl::StatusOr<SocketAddr> from_ip(std::string_view ip, uint16_t port);
  // Address bytes in network order.
  static SocketAddr v4(std::array<uint8_t, 4> ip, uint16_t port);
  static SocketAddr v6(const std::array<uint8_t, 16>& ip, uint16_t port, uint32_t scope_id = 0);
  // 127.0.0.1:port, [::1]:port, 0.0.0.0:port, [::]:port.
  static SocketAddr loopback_v4(uint16_t port);
  static SocketAddr loopback_v6(uint16_t port);
  static SocketAddr any_v4(uint16_t port);
  static SocketAddr any_v6(uint16_t port);
  // From a kernel address (accept, getsockname, recvfrom). INVALID_ARGUMENT unless AF_INET or
  // AF_INET6 with a long enough length.
  static absl::StatusOr<SocketAddr> from_sockaddr(const sockaddr* sa, socklen_t len);

  // Fills `out` and returns the length to pass to bind/connect/sendto.
  socklen_t to_sockaddr(sockaddr_storage* out) const;

  bool is_ipv4() const { return family_ == AF_INET; }
  bool is_ipv6() const { return family_ == AF_INET6; }
  int family() const { return family_; }
  uint16_t port() const { return port_; }
  void set_port(uint16_t port) { port_ = port; }
  uint32_t scope_id() const { return scope_id_; }
  // The address bytes (4 or 16 used, network order).
  const std::array<uint8_t, 16>& ip_bytes() const { return ip_; }
  bool is_loopback() const;
  bool is_unspecified() const;

  // "1.2.3.4" / "::1" / "fe80::1%2" (no brackets, no port).
  std::string ip_string() const;
  // "1.2.3.4:80" / "[::1]:80".
  std::string to_string() const;

  friend bool operator==(const SocketAddr& a, const SocketAddr& b) {
    return a.family_ == b.family_ && a.port_ == b.port_ && a.ip_ == b.ip_ &&
           a.scope_id_ == b.scope_id_;
  }
  friend bool operator!=(const SocketAddr& a, const SocketAddr& b) { return !(a == b); }
  friend std::ostream& operator<<(std::ostream& os, const SocketAddr& a);
  template <typename Sink>
  friend void AbslStringify(Sink& sink, const SocketAddr& a) {
    sink.Append(a.to_string());
  }

 private:
  int family_ = AF_INET;
  uint16_t port_ = 0;  // host order
  uint32_t scope_id_ = 0;
  std::array<uint8_t, 16> ip_{};
};

}  // namespace weft::net
