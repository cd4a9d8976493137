#include "weft/runtime/net/lookup_host.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "weft/runtime/blocking/spawn_blocking.h"

namespace weft::net {

namespace detail {
absl::StatusOr<std::vector<SocketAddr>> lookup_host_blocking(const std::string& host,
                                                             uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  // One entry per address (without it every address comes back once per socket type).
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    std::string msg =
        absl::StrCat("lookup_host \"", host,
                     "\": ", rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc));
    switch (rc) {
      case EAI_NONAME:
#ifdef EAI_NODATA
      case EAI_NODATA:
#endif
      case EAI_ADDRFAMILY:
        return absl::NotFoundError(msg);
      case EAI_AGAIN:
        return absl::UnavailableError(msg);
      default:
        return absl::UnknownError(msg);
    }
  }
  std::vector<SocketAddr> out;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    absl::StatusOr<SocketAddr> a = SocketAddr::from_sockaddr(ai->ai_addr, ai->ai_addrlen);
    if (!a.ok()) continue;
    a->set_port(port);
    if (std::find(out.begin(), out.end(), *a) == out.end()) out.push_back(*a);
  }
  ::freeaddrinfo(res);
  if (out.empty())
    return absl::NotFoundError(absl::StrCat("lookup_host \"", host, "\": no addresses"));
  return out;
}
}  // namespace detail

Task<absl::StatusOr<std::vector<SocketAddr>>> lookup_host(std::string host, uint16_t port) {
  if (absl::StatusOr<SocketAddr> ip = SocketAddr::from_ip(host, port); ip.ok()) {
    co_return std::vector<SocketAddr>{*ip};
  }
  if (host.empty()) co_return absl::InvalidArgumentError("lookup_host: empty host name");
  // The lambda is not a coroutine: capturing by value is safe.
  JoinHandle<absl::StatusOr<std::vector<SocketAddr>>> job =
      weft::spawn_blocking([host, port] { return detail::lookup_host_blocking(host, port); });
  absl::StatusOr<absl::StatusOr<std::vector<SocketAddr>>> joined = co_await job;
  if (!joined.ok()) co_return joined.status();
  co_return std::move(*joined);
}

Task<absl::StatusOr<std::vector<SocketAddr>>> lookup_host(std::string host_and_port) {
  absl::string_view s = host_and_port;
  absl::string_view host, port;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == absl::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      co_return absl::InvalidArgumentError(absl::StrCat("lookup_host: bad address \"", s, "\""));
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == absl::string_view::npos ||
        s.substr(0, colon).find(':') != absl::string_view::npos) {
      co_return absl::InvalidArgumentError(
          absl::StrCat("lookup_host: expected \"host:port\", got \"", s, "\""));
    }
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  uint32_t p = 0;
  if (port.empty() || !absl::SimpleAtoi(port, &p) || p > 65535) {
    co_return absl::InvalidArgumentError(absl::StrCat("lookup_host: bad port in \"", s, "\""));
  }
  absl::StatusOr<std::vector<SocketAddr>> r =
      co_await lookup_host(std::string(host), static_cast<uint16_t>(p));
  co_return r;
}

}  // namespace weft::net
