#include "weft/runtime/net/tcp_listener.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "weft/runtime/time/sleep.h"

namespace weft::net {

absl::StatusOr<TcpListener> TcpListener::bind(SocketAddr addr, BindOptions opts) {
  std::string what = absl::StrCat("bind ", addr.to_string());
  absl::StatusOr<int> fd = detail::new_socket(addr.family(), SOCK_STREAM);
  if (!fd.ok()) return fd.status();
  auto fail = [&](absl::Status st) {
    ::close(*fd);
    return st;
  };
  // SO_REUSEADDR: rebinding a port with connections in TIME_WAIT (a restarted server) works.
  absl::Status st =
      detail::set_int_option(*fd, SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)");
  if (!st.ok()) return fail(st);
  if (opts.reuse_port) {
    st = detail::set_int_option(*fd, SOL_SOCKET, SO_REUSEPORT, 1, "setsockopt(SO_REUSEPORT)");
    if (!st.ok()) return fail(st);
  }
  sockaddr_storage ss;
  socklen_t len = addr.to_sockaddr(&ss);
  if (::bind(*fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return fail(detail::errno_status(errno, what));
  }
  if (::listen(*fd, opts.backlog) != 0) {
    return fail(detail::errno_status(errno, absl::StrCat("listen ", addr.to_string())));
  }
  absl::StatusOr<detail::IoSource> src = detail::IoSource::adopt(*fd);
  if (!src.ok()) return src.status();
  return TcpListener(std::make_unique<detail::IoSource>(std::move(*src)));
}

absl::StatusOr<TcpListener> TcpListener::from_fd(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    absl::Status st = detail::errno_status(errno, "fcntl(O_NONBLOCK)");
    ::close(fd);
    return st;
  }
  absl::StatusOr<detail::IoSource> src = detail::IoSource::adopt(fd);
  if (!src.ok()) return src.status();
  return TcpListener(std::make_unique<detail::IoSource>(std::move(*src)));
}

Task<absl::StatusOr<std::pair<TcpStream, SocketAddr>>> TcpListener::accept() {
  detail::AcceptBackoff backoff;
  for (;;) {
    detail::AcceptResult r = co_await inner_->accept();
    if (r.err == 0) {
      absl::StatusOr<SocketAddr> peer =
          SocketAddr::from_sockaddr(reinterpret_cast<const sockaddr*>(&r.addr), r.addr_len);
      absl::StatusOr<detail::IoSource> src = detail::IoSource::adopt(r.fd);
      if (!src.ok()) co_return src.status();
      TcpStream stream(std::make_shared<detail::IoSource>(std::move(*src)));
      co_return std::pair<TcpStream, SocketAddr>(std::move(stream),
                                                 peer.ok() ? *peer : SocketAddr());
    }
    switch (detail::classify_accept_error(r.err)) {
      case detail::AcceptRetry::kNow:
        break;  // the next attempt spends coop budget, so a flood of these still yields
      case detail::AcceptRetry::kBackoff: {
        weft::time::Sleep pause = weft::time::sleep(std::chrono::milliseconds(backoff.take()));
        co_await pause;
        break;
      }
      case detail::AcceptRetry::kFail:
        co_return detail::errno_status(r.err, "accept");
    }
  }
}

absl::StatusOr<SocketAddr> TcpListener::local_addr() const {
  return detail::sock_name(inner_->fd());
}

}  // namespace weft::net
