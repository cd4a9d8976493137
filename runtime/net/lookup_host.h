// lookup_host: resolves a host name to socket addresses (tokio::net::lookup_host), running the
// blocking getaddrinfo on the runtime's blocking pool so no worker thread stalls.
//
//   absl::StatusOr<std::vector<SocketAddr>> addrs = co_await lookup_host("localhost", 80);
//   if (!addrs.ok()) co_return addrs.status();   // NOT_FOUND: no such host
//   for (const SocketAddr& a : *addrs) {
//     absl::StatusOr<TcpStream> s = co_await TcpStream::connect(a);
//     if (s.ok()) break;
//   }
//   auto same = co_await lookup_host("localhost:80");   // "host:port" or "[v6]:port"
//
// A numeric address ("127.0.0.1", "::1") is parsed directly, without the pool. Results keep
// getaddrinfo's order (RFC 6724 preference), without duplicates. Not cancel-safe in the sense
// that the lookup stops: aborting the awaiting task only drops the result (the getaddrinfo call
// finishes on its pool thread), which is harmless.
//
// Errors: NOT_FOUND (unknown host, or no addresses), UNAVAILABLE (temporary DNS failure),
// INVALID_ARGUMENT (malformed "host:port"), UNKNOWN (other resolver failures), and the
// JoinHandle's error if the runtime is shutting down.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "weft/runtime/net/socket_addr.h"
#include "weft/runtime/task/task.h"

namespace weft::net {

Task<absl::StatusOr<std::vector<SocketAddr>>> lookup_host(std::string host, uint16_t port);
// "host:port" or "[ipv6]:port".
Task<absl::StatusOr<std::vector<SocketAddr>>> lookup_host(std::string host_and_port);

namespace detail {
// The blocking part, for tests and for callers already on a blocking thread.
absl::StatusOr<std::vector<SocketAddr>> lookup_host_blocking(const std::string& host,
                                                             uint16_t port);
}  // namespace detail

}  // namespace weft::net
