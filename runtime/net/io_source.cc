#include "weft/runtime/net/io_source.h"

#include <limits.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace weft::net::detail {

absl::Status errno_status(int err, absl::string_view what) {
  absl::StatusCode code;
  switch (err) {
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case ENOTCONN:
    case ESHUTDOWN:
    case ENETDOWN:
    case ENETUNREACH:
    case ENETRESET:
    case EHOSTDOWN:
    case EHOSTUNREACH:
    case EAGAIN:
      code = absl::StatusCode::kUnavailable;
      break;
    case ETIMEDOUT:
      code = absl::StatusCode::kDeadlineExceeded;
      break;
    case EADDRINUSE:
      code = absl::StatusCode::kAlreadyExists;
      break;
    default:
      code = absl::ErrnoToStatusCode(err);
  }
  return absl::Status(code, absl::StrCat(what, ": ", std::strerror(err), " (errno ", err, ")"));
}

absl::StatusOr<int> new_socket(int family, int type) {
  int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_status(errno, "socket");
  return fd;
}

int take_socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

absl::Status set_int_option(int fd, int level, int name, int value, absl::string_view what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) return errno_status(errno, what);
  return absl::OkStatus();
}

AcceptRetry classify_accept_error(int err) {
  switch (err) {
    // The connection died in the queue, or Linux reports a network error of the new socket
    // through accept (accept(2), "Error handling"): the next connection may be fine.
    case ECONNABORTED:
    case EPROTO:
    case ENOPROTOOPT:
    case ENETDOWN:
    case ENONET:
    case EHOSTDOWN:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EOPNOTSUPP:
    case EPERM:  // firewall rules refused this connection
    case EINTR:
      return AcceptRetry::kNow;
    // Out of descriptors or memory: retrying at once would spin on the same error.
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      return AcceptRetry::kBackoff;
    default:
      return AcceptRetry::kFail;
  }
}

// ---- ops ----

namespace {
absl::StatusOr<size_t> count_or_error(ssize_t n, int err, absl::string_view what) {
  if (err != 0) return errno_status(err, what);
  return static_cast<size_t>(n);
}
}  // namespace

ReadOp::Output ReadOp::finish(ssize_t n, int err) const { return count_or_error(n, err, "read"); }
PeekOp::Output PeekOp::finish(ssize_t n, int err) const { return count_or_error(n, err, "peek"); }
WriteOp::Output WriteOp::finish(ssize_t n, int err) const {
  return count_or_error(n, err, "write");
}
ReadvOp::Output ReadvOp::finish(ssize_t n, int err) const {
  return count_or_error(n, err, "readv");
}
WritevOp::Output WritevOp::finish(ssize_t n, int err) const {
  return count_or_error(n, err, "writev");
}
SendOp::Output SendOp::finish(ssize_t n, int err) const { return count_or_error(n, err, "send"); }
RecvOp::Output RecvOp::finish(ssize_t n, int err) const { return count_or_error(n, err, "recv"); }
SendToOp::Output SendToOp::finish(ssize_t n, int err) const {
  return count_or_error(n, err, "send_to");
}

RecvFromOp::Output RecvFromOp::finish(ssize_t n, int err) const {
  if (err != 0) return errno_status(err, "recv_from");
  RawRecvFrom r;
  r.n = static_cast<size_t>(n);
  r.addr = addr;
  r.addr_len = addr_len;
  return r;
}

ssize_t WritevOp::attempt() const {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(count);
  return sys_sendmsg(fd, &msg, MSG_NOSIGNAL);
}

ssize_t AcceptOp::attempt() const {
  addr_len = sizeof addr;
  return ::accept4(fd, reinterpret_cast<sockaddr*>(&addr), &addr_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

AcceptOp::Output AcceptOp::finish(ssize_t n, int err) const {
  AcceptResult r;
  r.fd = static_cast<int>(n);
  r.err = err;
  if (err == 0) {
    r.addr = addr;
    r.addr_len = addr_len;
  }
  return r;
}

// ---- IoSource ----

absl::StatusOr<IoSource> IoSource::adopt(int fd) {
  absl::StatusOr<reactor::Registration> reg = reactor::Registration::create_current(fd);
  if (!reg.ok()) {
    ::close(fd);
    return reg.status();
  }
  return IoSource(fd, std::move(*reg));
}

IoSource& IoSource::operator=(IoSource&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = std::exchange(o.fd_, -1);
    reg_ = std::move(o.reg_);
  }
  return *this;
}

void IoSource::close() {
  // Deregister before closing: once closed, the number may be reused by another thread's
  // socket, and epoll_ctl(DEL) would then hit the wrong file.
  reg_.reset();
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

namespace {
// Linux takes at most IOV_MAX (1024) buffers per call; the rest go in the next call, as with
// a short write.
int clamp_iov(std::span<const iovec> iov, size_t* total) {
  size_t n = std::min<size_t>(iov.size(), IOV_MAX);
  *total = 0;
  for (size_t i = 0; i < n; ++i) *total += iov[i].iov_len;
  return static_cast<int>(n);
}
}  // namespace

IoAwaiter<ReadvOp> IoSource::readv(std::span<const iovec> iov) {
  size_t total;
  int n = clamp_iov(iov, &total);
  return {io(), reactor::Interest::kReadable, ReadvOp{fd_, iov.data(), n, total}};
}

IoAwaiter<WritevOp> IoSource::writev(std::span<const iovec> iov) {
  size_t total;
  int n = clamp_iov(iov, &total);
  return {io(), reactor::Interest::kWritable, WritevOp{fd_, iov.data(), n, total}};
}

Task<absl::Status> IoSource::finish_connect(std::string what) {
  for (;;) {
    reactor::ReadinessAwaiter writable = reg_.readiness(reactor::Interest::kWritable);
    reactor::ReadyEvent ev = co_await writable;
    if (int err = take_socket_error(fd_); err != 0) co_return errno_status(err, what);
    // Registrations start optimistic (writable before epoll said so): writability alone does
    // not prove the handshake finished. getpeername does.
    sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) co_return absl::OkStatus();
    int err = errno;
    if (err != ENOTCONN) co_return errno_status(err, what);
    if (ev.ready & (reactor::kWriteClosed | reactor::kError)) {
      // Hung up without a pending error: final bits never clear, so do not wait again.
      co_return errno_status(ECONNREFUSED, what);
    }
    reg_.clear_readiness(ev);
  }
}

absl::StatusOr<size_t> IoSource::try_read(std::span<char> buf) {
  reactor::ReadyEvent ev = io()->peek(reactor::Interest::kReadable);
  if (ev.ready == 0) return absl::UnavailableError("would block");
  ReadOp op{fd_, buf.data(), buf.size()};
  for (;;) {
    ssize_t n = op.attempt();
    if (n >= 0) {
      // A short read drained the socket: the next read waits for an edge without a syscall.
      if (n > 0 && static_cast<size_t>(n) < buf.size()) io()->clear_readiness(ev);
      return op.finish(n, 0);
    }
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      io()->clear_readiness(ev);
      return absl::UnavailableError("would block");
    }
    return op.finish(-1, err);
  }
}

absl::StatusOr<size_t> IoSource::try_write(std::span<const char> buf) {
  reactor::ReadyEvent ev = io()->peek(reactor::Interest::kWritable);
  if (ev.ready == 0) return absl::UnavailableError("would block");
  WriteOp op{fd_, buf.data(), buf.size()};
  for (;;) {
    ssize_t n = op.attempt();
    if (n >= 0) {
      if (static_cast<size_t>(n) < buf.size()) io()->clear_readiness(ev);  // the buffer is full
      return op.finish(n, 0);
    }
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      io()->clear_readiness(ev);
      return absl::UnavailableError("would block");
    }
    return op.finish(-1, err);
  }
}

absl::Status IoSource::shutdown(int how) {
  if (::shutdown(fd_, how) != 0) return errno_status(errno, "shutdown");
  return absl::OkStatus();
}

}  // namespace weft::net::detail
