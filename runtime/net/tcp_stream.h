// TcpStream: a connected TCP socket on the runtime's reactor (tokio::net::TcpStream), and its
// owned halves for reading and writing from two tasks at once.
//
//   SocketAddr addr = *SocketAddr::parse("127.0.0.1:80");
//   absl::StatusOr<TcpStream> s = co_await TcpStream::connect(addr);
//   if (!s.ok()) co_return s.status();   // e.g. UNAVAILABLE "connect ...: Connection refused"
//   absl::StatusOr<size_t> n = co_await s->write(std::span<const char>(msg));
//   absl::StatusOr<size_t> m = co_await s->read(std::span<char>(buf));   // 0 = EOF
//   auto [rd, wr] = std::move(*s).into_split();   // rd in one task, wr in another
//
// Cancel safety (as Tokio documents it): read, readv, peek, write and writev are cancel-safe:
// if the awaiting task is aborted before the operation completes, no data was read or
// written. connect is cancel-safe too (the half-open socket is closed). Each operation tries
// the syscall first and waits for readiness only on EAGAIN; one that completes without waiting
// spends one unit of the task's coop budget.
//
// Every operation borrows the stream: keep it alive until the awaited operation finishes. At
// most one task may read and one task may write at a time (use into_split for that); several
// concurrent readers are safe but race for the data. Writes never raise SIGPIPE: a reset peer
// is an UNAVAILABLE Status. Errors carry the errno text.
#pragma once

#include <sys/uio.h>

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/net/io_source.h"
#include "weft/runtime/net/socket_addr.h"
#include "weft/runtime/task/task.h"

namespace weft::net {

class OwnedReadHalf;
class OwnedWriteHalf;

class TcpStream {
 public:
  // Non-blocking connect to `addr`, then waits until the handshake completes. A refused or
  // unreachable peer gives UNAVAILABLE, a timed-out SYN DEADLINE_EXCEEDED.
  static Task<absl::StatusOr<TcpStream>> connect(SocketAddr addr);
  // Adopts a connected socket (made non-blocking here) and registers it with the current
  // runtime. The fd is closed on failure.
  static absl::StatusOr<TcpStream> from_fd(int fd);

  TcpStream(TcpStream&&) noexcept = default;
  TcpStream& operator=(TcpStream&&) noexcept = default;

  // Reads up to buf.size() bytes; 0 means the peer closed its write side (EOF).
  ReadAwaiter read(std::span<char> buf) { return inner_->read(buf); }
  // Writes some of buf (possibly fewer bytes than given); returns how many.
  WriteAwaiter write(std::span<const char> buf) { return inner_->write(buf); }
  // Scatter/gather (at most IOV_MAX buffers per call). The iovec array must outlive the await.
  ReadvAwaiter readv(std::span<const iovec> iov) { return inner_->readv(iov); }
  WritevAwaiter writev(std::span<const iovec> iov) { return inner_->writev(iov); }
  // Reads without consuming (MSG_PEEK).
  PeekAwaiter peek(std::span<char> buf) { return inner_->peek(buf); }
  // Waits for readability without a buffer, then reads with try_read (Tokio's readable() +
  // try_read()): a server can wait on many idle connections without a read buffer for each.
  // try_read gives UNAVAILABLE "would block" when a wake-up was spurious: wait again.
  reactor::ReadinessAwaiter readable() { return inner_->readable(); }
  absl::StatusOr<size_t> try_read(std::span<char> buf) { return inner_->try_read(buf); }
  // One write without waiting (UNAVAILABLE "would block" when the socket takes nothing): lets
  // a caller skip the awaiting machinery when the socket has room, as it usually does.
  absl::StatusOr<size_t> try_write(std::span<const char> buf) { return inner_->try_write(buf); }

  // Half-close: the peer reads EOF; this side can still read.
  absl::Status shutdown_write() { return inner_->shutdown(SHUT_WR); }
  absl::Status set_nodelay(bool on);
  absl::StatusOr<bool> nodelay() const;
  absl::Status set_keepalive(bool on);
  // SO_LINGER: nullopt = default close; 0 s = close sends RST (abortive close).
  absl::Status set_linger(std::optional<std::chrono::seconds> linger);
  absl::StatusOr<SocketAddr> local_addr() const;
  absl::StatusOr<SocketAddr> peer_addr() const;
  int raw_fd() const { return inner_->fd(); }

  // Splits into halves that share the socket (refcounted); it is closed when both are gone.
  std::pair<OwnedReadHalf, OwnedWriteHalf> into_split() &&;

 private:
  friend class OwnedReadHalf;
  friend class TcpListener;
  explicit TcpStream(std::shared_ptr<detail::IoSource> inner) : inner_(std::move(inner)) {}
  std::shared_ptr<detail::IoSource> inner_;
};

// The read side of a split TcpStream. Cancel safety as TcpStream.
class OwnedReadHalf {
 public:
  OwnedReadHalf(OwnedReadHalf&&) noexcept = default;
  OwnedReadHalf& operator=(OwnedReadHalf&&) noexcept = default;

  ReadAwaiter read(std::span<char> buf) { return inner_->read(buf); }
  ReadvAwaiter readv(std::span<const iovec> iov) { return inner_->readv(iov); }
  PeekAwaiter peek(std::span<char> buf) { return inner_->peek(buf); }
  absl::StatusOr<SocketAddr> local_addr() const;
  absl::StatusOr<SocketAddr> peer_addr() const;
  // Puts the stream back together; INVALID_ARGUMENT (and both halves dropped) if `w` came
  // from another stream.
  absl::StatusOr<TcpStream> reunite(OwnedWriteHalf w) &&;

 private:
  friend class TcpStream;
  explicit OwnedReadHalf(std::shared_ptr<detail::IoSource> inner) : inner_(std::move(inner)) {}
  std::shared_ptr<detail::IoSource> inner_;
};

// The write side of a split TcpStream. Destroying it shuts the write direction down (the peer
// reads EOF), as Tokio's does, unless forget() was called.
class OwnedWriteHalf {
 public:
  OwnedWriteHalf(OwnedWriteHalf&&) noexcept = default;
  OwnedWriteHalf& operator=(OwnedWriteHalf&& o) noexcept;
  ~OwnedWriteHalf();

  WriteAwaiter write(std::span<const char> buf) { return inner_->write(buf); }
  WritevAwaiter writev(std::span<const iovec> iov) { return inner_->writev(iov); }
  absl::Status shutdown_write() { return inner_->shutdown(SHUT_WR); }
  // Drops the half without shutting the write direction down.
  void forget() && { inner_.reset(); }
  absl::StatusOr<SocketAddr> local_addr() const;
  absl::StatusOr<SocketAddr> peer_addr() const;

 private:
  friend class TcpStream;
  friend class OwnedReadHalf;
  explicit OwnedWriteHalf(std::shared_ptr<detail::IoSource> inner) : inner_(std::move(inner)) {}
  std::shared_ptr<detail::IoSource> inner_;
};

namespace detail {
absl::StatusOr<SocketAddr> sock_name(int fd);
absl::StatusOr<SocketAddr> peer_name(int fd);
}  // namespace detail

}  // namespace weft::net
