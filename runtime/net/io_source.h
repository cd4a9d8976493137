// Internal to weft::net: a registered non-blocking fd (IoSource, Tokio's PollEvented) and the
// awaiter every socket operation uses (IoAwaiter). Socket types wrap these; users should not
// need this header.
//
//   detail::IoSource src = *detail::IoSource::adopt(fd);      // registers fd with the reactor
//   ReadAwaiter r = src.read(std::span<char>(buf, len));       // what TcpStream::read returns
//   absl::StatusOr<size_t> n = co_await r;
//
// How one operation runs (IoAwaiter):
//   1. await_ready: if the cached readiness says the fd may be ready (a new registration starts
//      optimistic) and the task has coop budget, do the syscall at once. Success or a real
//      error completes the operation with no suspension and no allocation. EAGAIN clears the
//      cached readiness (with the event's tick, so a racing edge is not lost).
//   2. Otherwise await_suspend starts a small slow-path coroutine that loops "await readiness,
//      try the syscall" until it completes; the caller resumes with its result.
//   3. A stream read/write that moves fewer bytes than asked drained the socket buffer, so the
//      readiness is cleared at once (as Tokio does): the next operation waits for the next edge
//      instead of making one more syscall to learn EAGAIN. Steady state: one syscall per message.
//
// Cancel safety: destroying a pending IoAwaiter (task aborted) destroys the slow-path coroutine,
// whose readiness awaiter unlinks its waker from the fd. Nothing was transferred yet for reads
// and writes that are still waiting, so every IoAwaiter is cancel-safe in Tokio's sense except
// where a socket header says otherwise.
//
// EINTR is retried at once. Writes use send/sendmsg with MSG_NOSIGNAL: a peer that reset the
// connection gives EPIPE/ECONNRESET as a Status, never SIGPIPE.
#pragma once

#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "weft/runtime/reactor/reactor.h"
#include "weft/runtime/task/coop.h"
#include "weft/runtime/task/task.h"
#include "weft/runtime/time/sleep.h"

namespace weft::net::detail {

// `what: strerror(err)` with a code that says what the caller can do: connection-level
// failures are UNAVAILABLE (retryable elsewhere), ETIMEDOUT is DEADLINE_EXCEEDED, the rest
// follow absl::ErrnoToStatusCode.
absl::Status errno_status(int err, absl::string_view what);

// Creates a socket with SOCK_NONBLOCK | SOCK_CLOEXEC.
absl::StatusOr<int> new_socket(int family, int type);
// getsockopt(SO_ERROR).
int take_socket_error(int fd);
absl::Status set_int_option(int fd, int level, int name, int value, absl::string_view what);

// The listeners' accept loop: whether accept should try again at once, after a pause, or fail.
enum class AcceptRetry { kNow, kBackoff, kFail };
AcceptRetry classify_accept_error(int err);
// The pauses between accept attempts while out of fds or memory: 1, 2, 4, ..., 64, 100, 100 ms.
struct AcceptBackoff {
  int next_ms = 1;
  int take() {
    int d = next_ms;
    next_ms = next_ms * 2 > 100 ? 100 : next_ms * 2;
    return d;
  }
};
template <class Op>
class IoAwaiter;

// The data-path syscalls. glibc's recv/send/readv/sendmsg are cancellation points: each call
// enables and disables asynchronous thread cancellation around the syscall (measured: ~2% of
// the CPU of an HTTP/1.1 server under load). weft never cancels threads, so outside sanitizer
// builds they are made directly; sanitizers intercept the libc functions (ASan checks the
// buffers, TSan orders the two ends of a socket), so those builds keep them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_NET_LIBC_SYSCALLS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define WEFT_NET_LIBC_SYSCALLS 1
#endif
#endif
#ifndef WEFT_NET_LIBC_SYSCALLS
#define WEFT_NET_LIBC_SYSCALLS 0
#endif

inline ssize_t sys_recv(int fd, void* buf, size_t len, int flags) {
#if WEFT_NET_LIBC_SYSCALLS
  return ::recv(fd, buf, len, flags);
#else
  return ::syscall(SYS_recvfrom, fd, buf, len, flags, nullptr, nullptr);
#endif
}
inline ssize_t sys_send(int fd, const void* buf, size_t len, int flags) {
#if WEFT_NET_LIBC_SYSCALLS
  return ::send(fd, buf, len, flags);
#else
  return ::syscall(SYS_sendto, fd, buf, len, flags, nullptr, 0);
#endif
}
inline ssize_t sys_readv(int fd, const iovec* iov, int count) {
#if WEFT_NET_LIBC_SYSCALLS
  return ::readv(fd, iov, count);
#else
  return ::syscall(SYS_readv, fd, iov, count);
#endif
}
inline ssize_t sys_sendmsg(int fd, const msghdr* msg, int flags) {
#if WEFT_NET_LIBC_SYSCALLS
  return ::sendmsg(fd, msg, flags);
#else
  return ::syscall(SYS_sendmsg, fd, msg, flags);
#endif
}

// One attempt of an operation: `attempt()` does one syscall (returns >= 0, or -1 with errno),
// `finish(n, err)` turns its outcome into the result (err == 0 on success). `want` > 0 marks a
// stream transfer of that many bytes, where a shorter result means the socket was drained.
struct ReadOp {
  using Output = absl::StatusOr<size_t>;
  int fd;
  char* data;
  size_t want;
  ssize_t attempt() const { return sys_recv(fd, data, want, 0); }
  Output finish(ssize_t n, int err) const;
};

struct PeekOp {
  using Output = absl::StatusOr<size_t>;
  int fd;
  char* data;
  size_t len;
  static constexpr size_t want = 0;  // peeking consumes nothing: never clears readiness
  ssize_t attempt() const { return sys_recv(fd, data, len, MSG_PEEK); }
  Output finish(ssize_t n, int err) const;
};

struct WriteOp {
  using Output = absl::StatusOr<size_t>;
  int fd;
  const char* data;
  size_t want;
  ssize_t attempt() const { return sys_send(fd, data, want, MSG_NOSIGNAL); }
  Output finish(ssize_t n, int err) const;
};

struct ReadvOp {
  using Output = absl::StatusOr<size_t>;
  int fd;
  const iovec* iov;
  int count;
  size_t want;
  ssize_t attempt() const { return sys_readv(fd, iov, count); }
  Output finish(ssize_t n, int err) const;
};

struct WritevOp {
  using Output = absl::StatusOr<size_t>;
  int fd;
  const iovec* iov;
  int count;
  size_t want;
  ssize_t attempt() const;  // sendmsg(MSG_NOSIGNAL)
  Output finish(ssize_t n, int err) const;
};

// Datagram send/recv (connected sockets): a datagram is all-or-nothing, never "short".
struct SendOp {
  using Output = absl::StatusOr<size_t>;
  int fd;
  const char* data;
  size_t len;
  static constexpr size_t want = 0;
  ssize_t attempt() const { return sys_send(fd, data, len, MSG_NOSIGNAL); }
  Output finish(ssize_t n, int err) const;
};

struct RecvOp {
  using Output = absl::StatusOr<size_t>;
  int fd;
  char* data;
  size_t len;
  static constexpr size_t want = 0;
  ssize_t attempt() const { return sys_recv(fd, data, len, 0); }
  Output finish(ssize_t n, int err) const;
};

struct SendToOp {
  using Output = absl::StatusOr<size_t>;
  int fd;
  const char* data;
  size_t len;
  sockaddr_storage addr;
  socklen_t addr_len;
  static constexpr size_t want = 0;
  ssize_t attempt() const {
    return ::sendto(fd, data, len, MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr),
                    addr_len);
  }
  Output finish(ssize_t n, int err) const;
};

// recvfrom that keeps the raw sender address; the socket type converts it.
struct RawRecvFrom {
  size_t n = 0;
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
};
struct RecvFromOp {
  using Output = absl::StatusOr<RawRecvFrom>;
  int fd;
  char* data;
  size_t len;
  static constexpr size_t want = 0;
  mutable sockaddr_storage addr{};
  mutable socklen_t addr_len = 0;
  ssize_t attempt() const {
    addr_len = sizeof addr;
    return ::recvfrom(fd, data, len, 0, reinterpret_cast<sockaddr*>(&addr), &addr_len);
  }
  Output finish(ssize_t n, int err) const;
};

// accept4(SOCK_NONBLOCK | SOCK_CLOEXEC); the listener decides what to do with each errno.
struct AcceptResult {
  int fd = -1;
  int err = 0;
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
};
struct AcceptOp {
  using Output = AcceptResult;
  int fd;
  static constexpr size_t want = 0;
  mutable sockaddr_storage addr{};
  mutable socklen_t addr_len = 0;
  ssize_t attempt() const;
  Output finish(ssize_t n, int err) const;
};

// Runs one Op against a registered fd; see the header comment for the protocol.
template <class Op>
class [[nodiscard]] IoAwaiter {
 public:
  using Output = typename Op::Output;

  IoAwaiter(reactor::ScheduledIo* io, reactor::Interest interest, Op op)
      : io_(io), interest_(interest), op_(std::move(op)) {}
  IoAwaiter(const IoAwaiter&) = delete;
  IoAwaiter& operator=(const IoAwaiter&) = delete;

  bool await_ready() {
    reactor::ReadyEvent ev = io_->peek(interest_);
    if (ev.ready == 0) return false;         // known not ready: wait for an edge
    if (!coop::try_consume()) return false;  // out of budget: the slow path yields
    return attempt(ev);
  }

  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
    auto slow = slow_path(this).release();
    slow_ = Task<void>(slow);
    slow_handle_ = slow;
    slow.promise().continuation = h;
    return slow;  // symmetric transfer into the slow path
  }

  Output await_resume() {
    if (slow_handle_) slow_handle_.promise().take();  // rethrows std::bad_alloc, if any
    return std::move(*out_);
  }

 private:
  // One syscall (EINTR retried). True: out_ holds the result. False: EAGAIN, readiness cleared.
  bool attempt(reactor::ReadyEvent ev) {
    for (;;) {
      ssize_t n = op_.attempt();
      if (n >= 0) {
        if (n > 0 && static_cast<size_t>(n) < op_.want) io_->clear_readiness(ev);
        out_.emplace(op_.finish(n, 0));
        return true;
      }
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        io_->clear_readiness(ev);
        return false;
      }
      out_.emplace(op_.finish(-1, err));
      return true;
    }
  }

  // The awaiter stays at one address from await_ready to await_resume (it lives in the
  // awaiting frame), so the slow path may point at it.
  static Task<void> slow_path(IoAwaiter* self) {
    for (;;) {
      reactor::ReadinessAwaiter ready = self->io_->readiness(self->interest_);
      reactor::ReadyEvent ev = co_await ready;
      if (self->attempt(ev)) co_return;
    }
  }

  reactor::ScheduledIo* io_;
  reactor::Interest interest_;
  Op op_;
  std::optional<Output> out_;
  Task<void> slow_;  // destroyed with the awaiter: unlinks the slow path's waker
  std::coroutine_handle<weft::detail::Promise<void>> slow_handle_;
};

// A non-blocking fd registered with the current runtime's reactor; closes it on destruction
// (deregistering first). Movable. Operations return awaiters that point at the registration,
// so the IoSource must stay alive (and unmoved) until they complete; the socket types keep it
// on the heap for that reason.
class IoSource {
 public:
  // Takes ownership of `fd` (closed on failure too). FAILED_PRECONDITION outside a runtime.
  static absl::StatusOr<IoSource> adopt(int fd);

  IoSource() = default;
  IoSource(IoSource&& o) noexcept : fd_(std::exchange(o.fd_, -1)), reg_(std::move(o.reg_)) {}
  IoSource& operator=(IoSource&& o) noexcept;
  ~IoSource() { close(); }

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  reactor::ScheduledIo* io() const { return reg_.io(); }
  reactor::Registration& registration() { return reg_; }
  // Deregisters and closes now.
  void close();

  IoAwaiter<ReadOp> read(std::span<char> buf) {
    return {io(), reactor::Interest::kReadable, ReadOp{fd_, buf.data(), buf.size()}};
  }
  IoAwaiter<PeekOp> peek(std::span<char> buf) {
    return {io(), reactor::Interest::kReadable, PeekOp{fd_, buf.data(), buf.size()}};
  }
  IoAwaiter<WriteOp> write(std::span<const char> buf) {
    return {io(), reactor::Interest::kWritable, WriteOp{fd_, buf.data(), buf.size()}};
  }
  IoAwaiter<ReadvOp> readv(std::span<const iovec> iov);
  IoAwaiter<WritevOp> writev(std::span<const iovec> iov);
  IoAwaiter<SendOp> send(std::span<const char> buf) {
    return {io(), reactor::Interest::kWritable, SendOp{fd_, buf.data(), buf.size()}};
  }
  IoAwaiter<RecvOp> recv(std::span<char> buf) {
    return {io(), reactor::Interest::kReadable, RecvOp{fd_, buf.data(), buf.size()}};
  }
  IoAwaiter<SendToOp> send_to(std::span<const char> buf, const sockaddr_storage& addr,
                              socklen_t len) {
    return {io(), reactor::Interest::kWritable, SendToOp{fd_, buf.data(), buf.size(), addr, len}};
  }
  IoAwaiter<RecvFromOp> recv_from(std::span<char> buf) {
    return {io(), reactor::Interest::kReadable, RecvFromOp{fd_, buf.data(), buf.size()}};
  }
  IoAwaiter<AcceptOp> accept() { return {io(), reactor::Interest::kReadable, AcceptOp{fd_}}; }

  // Completes a non-blocking connect() that returned EINPROGRESS: waits for writability, then
  // reads SO_ERROR. `what` prefixes the error message. Cancel-safe (nothing to undo: the
  // caller's socket is closed when it is dropped).
  Task<absl::Status> finish_connect(std::string what);

  absl::Status shutdown(int how);

  // Waits until the fd may be readable (no syscall); pair with try_read. Cancel-safe.
  reactor::ReadinessAwaiter readable() { return io()->readiness(reactor::Interest::kReadable); }
  // One read now, never waiting: UNAVAILABLE "would block" (readiness cleared, or not known
  // to be ready) when there is nothing to read; 0 = EOF.
  absl::StatusOr<size_t> try_read(std::span<char> buf);
  // One write now, never waiting: UNAVAILABLE "would block" when the socket takes nothing.
  absl::StatusOr<size_t> try_write(std::span<const char> buf);

 private:
  IoSource(int fd, reactor::Registration reg) : fd_(fd), reg_(std::move(reg)) {}
  int fd_ = -1;
  reactor::Registration reg_;
};

}  // namespace weft::net::detail

namespace weft::net {
// The awaiters socket operations return; `co_await` them once.
using ReadAwaiter = detail::IoAwaiter<detail::ReadOp>;
using PeekAwaiter = detail::IoAwaiter<detail::PeekOp>;
using WriteAwaiter = detail::IoAwaiter<detail::WriteOp>;
using ReadvAwaiter = detail::IoAwaiter<detail::ReadvOp>;
using WritevAwaiter = detail::IoAwaiter<detail::WritevOp>;
using SendAwaiter = detail::IoAwaiter<detail::SendOp>;
using RecvAwaiter = detail::IoAwaiter<detail::RecvOp>;
using SendToAwaiter = detail::IoAwaiter<detail::SendToOp>;
}  // namespace weft::net
