#include "weft/runtime/net/tcp_stream.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace weft::net {

namespace detail {
absl::StatusOr<SocketAddr> sock_name(int fd) {
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return errno_status(errno, "getsockname");
  }
  return SocketAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

absl::StatusOr<SocketAddr> peer_name(int fd) {
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return errno_status(errno, "getpeername");
  }
  return SocketAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}
}  // namespace detail

Task<absl::StatusOr<TcpStream>> TcpStream::connect(SocketAddr addr) {
  std::string what = absl::StrCat("connect ", addr.to_string());
  absl::StatusOr<int> fd = detail::new_socket(addr.family(), SOCK_STREAM);
  if (!fd.ok()) co_return fd.status();
  sockaddr_storage ss;
  socklen_t len = addr.to_sockaddr(&ss);
  int rc;
  do {
    rc = ::connect(*fd, reinterpret_cast<sockaddr*>(&ss), len);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EINPROGRESS) {
    absl::Status st = detail::errno_status(errno, what);
    ::close(*fd);
    co_return st;
  }
  absl::StatusOr<detail::IoSource> src = detail::IoSource::adopt(*fd);
  if (!src.ok()) co_return src.status();
  auto inner = std::make_shared<detail::IoSource>(std::move(*src));
  if (rc != 0) {
    absl::Status st = co_await inner->finish_connect(std::move(what));
    if (!st.ok()) co_return st;
  }
  co_return TcpStream(std::move(inner));
}

absl::StatusOr<TcpStream> TcpStream::from_fd(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    absl::Status st = detail::errno_status(errno, "fcntl(O_NONBLOCK)");
    ::close(fd);
    return st;
  }
  absl::StatusOr<detail::IoSource> src = detail::IoSource::adopt(fd);
  if (!src.ok()) return src.status();
  return TcpStream(std::make_shared<detail::IoSource>(std::move(*src)));
}

absl::Status TcpStream::set_nodelay(bool on) {
  return detail::set_int_option(inner_->fd(), IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0,
                                "setsockopt(TCP_NODELAY)");
}

absl::StatusOr<bool> TcpStream::nodelay() const {
  int v = 0;
  socklen_t len = sizeof v;
  if (::getsockopt(inner_->fd(), IPPROTO_TCP, TCP_NODELAY, &v, &len) != 0) {
    return detail::errno_status(errno, "getsockopt(TCP_NODELAY)");
  }
  return v != 0;
}

absl::Status TcpStream::set_keepalive(bool on) {
  return detail::set_int_option(inner_->fd(), SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0,
                                "setsockopt(SO_KEEPALIVE)");
}

absl::Status TcpStream::set_linger(std::optional<std::chrono::seconds> linger) {
  ::linger l{};
  l.l_onoff = linger.has_value() ? 1 : 0;
  l.l_linger = linger.has_value() ? static_cast<int>(linger->count()) : 0;
  if (::setsockopt(inner_->fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l) != 0) {
    return detail::errno_status(errno, "setsockopt(SO_LINGER)");
  }
  return absl::OkStatus();
}

absl::StatusOr<SocketAddr> TcpStream::local_addr() const { return detail::sock_name(raw_fd()); }
absl::StatusOr<SocketAddr> TcpStream::peer_addr() const { return detail::peer_name(raw_fd()); }

std::pair<OwnedReadHalf, OwnedWriteHalf> TcpStream::into_split() && {
  std::shared_ptr<detail::IoSource> w = inner_;
  return {OwnedReadHalf(std::move(inner_)), OwnedWriteHalf(std::move(w))};
}

absl::StatusOr<SocketAddr> OwnedReadHalf::local_addr() const {
  return detail::sock_name(inner_->fd());
}
absl::StatusOr<SocketAddr> OwnedReadHalf::peer_addr() const {
  return detail::peer_name(inner_->fd());
}

absl::StatusOr<TcpStream> OwnedReadHalf::reunite(OwnedWriteHalf w) && {
  if (inner_ != w.inner_) {
    return absl::InvalidArgumentError("reunite: the halves belong to different streams");
  }
  w.inner_.reset();  // no shutdown: the stream lives on
  return TcpStream(std::move(inner_));
}

OwnedWriteHalf& OwnedWriteHalf::operator=(OwnedWriteHalf&& o) noexcept {
  if (this != &o) {
    if (inner_ != nullptr) (void)inner_->shutdown(SHUT_WR);
    inner_ = std::move(o.inner_);
  }
  return *this;
}

OwnedWriteHalf::~OwnedWriteHalf() {
  // ENOTCONN when the connection is already gone: nothing to do.
  if (inner_ != nullptr) (void)inner_->shutdown(SHUT_WR);
}

absl::StatusOr<SocketAddr> OwnedWriteHalf::local_addr() const {
  return detail::sock_name(inner_->fd());
}
absl::StatusOr<SocketAddr> OwnedWriteHalf::peer_addr() const {
  return detail::peer_name(inner_->fd());
}

}  // namespace weft::net
