#include "weft/runtime/net/unix_datagram.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "weft/runtime/net/unix_stream.h"

namespace weft::net {

absl::StatusOr<std::pair<size_t, std::string>> UnixRecvFromAwaiter::await_resume() {
  absl::StatusOr<detail::RawRecvFrom> r = inner_.await_resume();
  if (!r.ok()) return r.status();
  return std::pair<size_t, std::string>(r->n, detail::from_sockaddr_un(r->addr, r->addr_len));
}

absl::StatusOr<UnixDatagram> UnixDatagram::bind(std::string path) {
  sockaddr_un un;
  socklen_t len;
  if (absl::Status st = detail::to_sockaddr_un(path, &un, &len); !st.ok()) return st;
  absl::StatusOr<int> fd = detail::new_socket(AF_UNIX, SOCK_DGRAM);
  if (!fd.ok()) return fd.status();
  if (::bind(*fd, reinterpret_cast<sockaddr*>(&un), len) != 0) {
    absl::Status st = detail::errno_status(errno, absl::StrCat("bind ", path));
    ::close(*fd);
    return st;
  }
  absl::StatusOr<detail::IoSource> src = detail::IoSource::adopt(*fd);
  if (!src.ok()) return src.status();
  return UnixDatagram(std::make_unique<detail::IoSource>(std::move(*src)));
}

absl::StatusOr<UnixDatagram> UnixDatagram::unbound() {
  absl::StatusOr<int> fd = detail::new_socket(AF_UNIX, SOCK_DGRAM);
  if (!fd.ok()) return fd.status();
  absl::StatusOr<detail::IoSource> src = detail::IoSource::adopt(*fd);
  if (!src.ok()) return src.status();
  return UnixDatagram(std::make_unique<detail::IoSource>(std::move(*src)));
}

absl::StatusOr<std::pair<UnixDatagram, UnixDatagram>> UnixDatagram::pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    return detail::errno_status(errno, "socketpair");
  }
  absl::StatusOr<detail::IoSource> a = detail::IoSource::adopt(fds[0]);
  if (!a.ok()) {
    ::close(fds[1]);
    return a.status();
  }
  absl::StatusOr<detail::IoSource> b = detail::IoSource::adopt(fds[1]);
  if (!b.ok()) return b.status();
  return std::pair<UnixDatagram, UnixDatagram>(
      UnixDatagram(std::make_unique<detail::IoSource>(std::move(*a))),
      UnixDatagram(std::make_unique<detail::IoSource>(std::move(*b))));
}

absl::Status UnixDatagram::connect(std::string path) {
  sockaddr_un un;
  socklen_t len;
  if (absl::Status st = detail::to_sockaddr_un(path, &un, &len); !st.ok()) return st;
  if (::connect(inner_->fd(), reinterpret_cast<sockaddr*>(&un), len) != 0) {
    return detail::errno_status(errno, absl::StrCat("connect ", path));
  }
  return absl::OkStatus();
}

Task<absl::StatusOr<size_t>> UnixDatagram::send_to(std::span<const char> buf, std::string path) {
  sockaddr_un un;
  socklen_t len;
  if (absl::Status st = detail::to_sockaddr_un(path, &un, &len); !st.ok()) co_return st;
  sockaddr_storage ss{};
  std::memcpy(&ss, &un, sizeof un);
  absl::StatusOr<size_t> n = co_await inner_->send_to(buf, ss, len);
  co_return n;
}

absl::StatusOr<std::string> UnixDatagram::local_path() const {
  return detail::unix_sock_name(inner_->fd(), false);
}
absl::StatusOr<std::string> UnixDatagram::peer_path() const {
  return detail::unix_sock_name(inner_->fd(), true);
}

}  // namespace weft::net
