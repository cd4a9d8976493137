#include "weft/runtime/net/unix_stream.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace weft::net {

namespace detail {
absl::Status to_sockaddr_un(std::string_view path, sockaddr_un* out, socklen_t* len) {
  std::memset(out, 0, sizeof *out);
  out->sun_family = AF_UNIX;
  // A filesystem path needs its terminating NUL inside sun_path; an abstract name does not.
  bool abstract = !path.empty() && path.front() == '\0';
  size_t room = sizeof(out->sun_path) - (abstract ? 0 : 1);
  if (path.size() > room) {
    return absl::InvalidArgumentError(
        absl::StrCat("unix socket path longer than ", room,
                     " bytes: ", absl::string_view(path.data(), path.size())));
  }
  std::memcpy(out->sun_path, path.data(), path.size());
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
  return absl::OkStatus();
}

std::string from_sockaddr_un(const sockaddr_storage& ss, socklen_t len) {
  constexpr socklen_t kOff = offsetof(sockaddr_un, sun_path);
  if (len <= kOff) return "";  // unnamed
  const auto* un = reinterpret_cast<const sockaddr_un*>(&ss);
  size_t n = len - kOff;
  if (un->sun_path[0] == '\0') return std::string(un->sun_path, n);  // abstract: keep the NUL
  return std::string(un->sun_path, strnlen(un->sun_path, n));
}

absl::StatusOr<std::string> unix_sock_name(int fd, bool peer) {
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                : ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (rc != 0) return errno_status(errno, peer ? "getpeername" : "getsockname");
  return from_sockaddr_un(ss, len);
}
}  // namespace detail

Task<absl::StatusOr<UnixStream>> UnixStream::connect(std::string path) {
  std::string what = absl::StrCat("connect ", path);
  sockaddr_un un;
  socklen_t len;
  if (absl::Status st = detail::to_sockaddr_un(path, &un, &len); !st.ok()) co_return st;
  absl::StatusOr<int> fd = detail::new_socket(AF_UNIX, SOCK_STREAM);
  if (!fd.ok()) co_return fd.status();
  int rc;
  do {
    rc = ::connect(*fd, reinterpret_cast<sockaddr*>(&un), len);
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
  co_return UnixStream(std::move(inner));
}

absl::StatusOr<std::pair<UnixStream, UnixStream>> UnixStream::pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    return detail::errno_status(errno, "socketpair");
  }
  absl::StatusOr<detail::IoSource> a = detail::IoSource::adopt(fds[0]);
  if (!a.ok()) {
    ::close(fds[1]);
    return a.status();
  }
  absl::StatusOr<detail::IoSource> b = detail::IoSource::adopt(fds[1]);
  if (!b.ok()) return b.status();
  return std::pair<UnixStream, UnixStream>(
      UnixStream(std::make_shared<detail::IoSource>(std::move(*a))),
      UnixStream(std::make_shared<detail::IoSource>(std::move(*b))));
}

absl::StatusOr<std::string> UnixStream::local_path() const {
  return detail::unix_sock_name(raw_fd(), false);
}
absl::StatusOr<std::string> UnixStream::peer_path() const {
  return detail::unix_sock_name(raw_fd(), true);
}

std::pair<UnixOwnedReadHalf, UnixOwnedWriteHalf> UnixStream::into_split() && {
  std::shared_ptr<detail::IoSource> w = inner_;
  return {UnixOwnedReadHalf(std::move(inner_)), UnixOwnedWriteHalf(std::move(w))};
}

absl::StatusOr<UnixStream> UnixOwnedReadHalf::reunite(UnixOwnedWriteHalf w) && {
  if (inner_ != w.inner_) {
    return absl::InvalidArgumentError("reunite: the halves belong to different streams");
  }
  w.inner_.reset();
  return UnixStream(std::move(inner_));
}

UnixOwnedWriteHalf& UnixOwnedWriteHalf::operator=(UnixOwnedWriteHalf&& o) noexcept {
  if (this != &o) {
    if (inner_ != nullptr) (void)inner_->shutdown(SHUT_WR);
    inner_ = std::move(o.inner_);
  }
  return *this;
}

UnixOwnedWriteHalf::~UnixOwnedWriteHalf() {
  if (inner_ != nullptr) (void)inner_->shutdown(SHUT_WR);
}

}  // namespace weft::net
