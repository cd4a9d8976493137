#include "weft/runtime/net/unix_listener.h"

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "weft/runtime/time/sleep.h"

namespace weft::net {

absl::StatusOr<UnixListener> UnixListener::bind(std::string path, int backlog) {
  sockaddr_un un;
  socklen_t len;
  if (absl::Status st = detail::to_sockaddr_un(path, &un, &len); !st.ok()) return st;
  absl::StatusOr<int> fd = detail::new_socket(AF_UNIX, SOCK_STREAM);
  if (!fd.ok()) return fd.status();
  if (::bind(*fd, reinterpret_cast<sockaddr*>(&un), len) != 0 || ::listen(*fd, backlog) != 0) {
    absl::Status st = detail::errno_status(errno, absl::StrCat("bind ", path));
    ::close(*fd);
    return st;
  }
  absl::StatusOr<detail::IoSource> src = detail::IoSource::adopt(*fd);
  if (!src.ok()) return src.status();
  return UnixListener(std::make_unique<detail::IoSource>(std::move(*src)));
}

Task<absl::StatusOr<std::pair<UnixStream, std::string>>> UnixListener::accept() {
  detail::AcceptBackoff backoff;
  for (;;) {
    detail::AcceptResult r = co_await inner_->accept();
    if (r.err == 0) {
      std::string peer = detail::from_sockaddr_un(r.addr, r.addr_len);
      absl::StatusOr<detail::IoSource> src = detail::IoSource::adopt(r.fd);
      if (!src.ok()) co_return src.status();
      UnixStream stream(std::make_shared<detail::IoSource>(std::move(*src)));
      co_return std::pair<UnixStream, std::string>(std::move(stream), std::move(peer));
    }
    switch (detail::classify_accept_error(r.err)) {
      case detail::AcceptRetry::kNow:
        break;
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

absl::StatusOr<std::string> UnixListener::local_path() const {
  return detail::unix_sock_name(inner_->fd(), false);
}

}  // namespace weft::net
