#include "weft/runtime/net/udp_socket.h"

#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "weft/runtime/net/tcp_stream.h"

namespace weft::net {

absl::StatusOr<UdpSocket> UdpSocket::bind(SocketAddr addr) {
  absl::StatusOr<int> fd = detail::new_socket(addr.family(), SOCK_DGRAM);
  if (!fd.ok()) return fd.status();
  sockaddr_storage ss;
  socklen_t len = addr.to_sockaddr(&ss);
  if (::bind(*fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    absl::Status st = detail::errno_status(errno, absl::StrCat("bind ", addr.to_string()));
    ::close(*fd);
    return st;
  }
  absl::StatusOr<detail::IoSource> src = detail::IoSource::adopt(*fd);
  if (!src.ok()) return src.status();
  return UdpSocket(std::make_unique<detail::IoSource>(std::move(*src)));
}

absl::Status UdpSocket::connect(SocketAddr peer) {
  sockaddr_storage ss;
  socklen_t len = peer.to_sockaddr(&ss);
  if (::connect(inner_->fd(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return detail::errno_status(errno, absl::StrCat("connect ", peer.to_string()));
  }
  return absl::OkStatus();
}

SendToAwaiter UdpSocket::send_to(std::span<const char> buf, SocketAddr target) {
  sockaddr_storage ss;
  socklen_t len = target.to_sockaddr(&ss);
  return inner_->send_to(buf, ss, len);
}

absl::StatusOr<std::pair<size_t, SocketAddr>> RecvFromAwaiter::await_resume() {
  absl::StatusOr<detail::RawRecvFrom> r = inner_.await_resume();
  if (!r.ok()) return r.status();
  absl::StatusOr<SocketAddr> from =
      SocketAddr::from_sockaddr(reinterpret_cast<const sockaddr*>(&r->addr), r->addr_len);
  if (!from.ok()) return from.status();
  return std::pair<size_t, SocketAddr>(r->n, *from);
}

absl::Status UdpSocket::set_broadcast(bool on) {
  return detail::set_int_option(inner_->fd(), SOL_SOCKET, SO_BROADCAST, on ? 1 : 0,
                                "setsockopt(SO_BROADCAST)");
}

absl::StatusOr<SocketAddr> UdpSocket::local_addr() const { return detail::sock_name(inner_->fd()); }
absl::StatusOr<SocketAddr> UdpSocket::peer_addr() const { return detail::peer_name(inner_->fd()); }

}  // namespace weft::net
