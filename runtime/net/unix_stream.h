// UnixStream: a connected Unix-domain stream socket (tokio::net::UnixStream), and its owned
// halves for reading and writing from two tasks at once.
//
//   absl::StatusOr<UnixStream> s = co_await UnixStream::connect("/run/app.sock");
//   absl::StatusOr<size_t> n = co_await s->write(std::span<const char>(msg));
//   absl::StatusOr<size_t> m = co_await s->read(std::span<char>(buf));   // 0 = EOF
//   auto [a, b] = *UnixStream::pair();            // two connected ends, e.g. for tests
//   auto [rd, wr] = std::move(*s).into_split();
//
// Addresses are filesystem paths; "" is an unnamed socket, and a path that starts with '\0'
// names the Linux abstract namespace. Cancel safety as TcpStream: read, readv, peek, write and
// writev are cancel-safe; connect is cancel-safe. Writes never raise SIGPIPE. Operations try the
// syscall first, wait for readiness only on EAGAIN and spend coop budget when they complete at
// once. Keep the stream alive until an awaited operation finishes.
#pragma once

#include <sys/uio.h>
#include <sys/un.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/net/io_source.h"
#include "weft/runtime/task/task.h"

namespace weft::net {

class UnixOwnedReadHalf;
class UnixOwnedWriteHalf;

class UnixStream {
 public:
  // Connects to the listener at `path`. A missing socket file is NOT_FOUND, nobody listening
  // UNAVAILABLE ("Connection refused"), a full listen queue UNAVAILABLE ("Resource temporarily
  // unavailable"): AF_UNIX connect does not wait for room.
  static Task<absl::StatusOr<UnixStream>> connect(std::string path);
  // Two connected streams (socketpair).
  static absl::StatusOr<std::pair<UnixStream, UnixStream>> pair();

  UnixStream(UnixStream&&) noexcept = default;
  UnixStream& operator=(UnixStream&&) noexcept = default;

  ReadAwaiter read(std::span<char> buf) { return inner_->read(buf); }
  WriteAwaiter write(std::span<const char> buf) { return inner_->write(buf); }
  ReadvAwaiter readv(std::span<const iovec> iov) { return inner_->readv(iov); }
  WritevAwaiter writev(std::span<const iovec> iov) { return inner_->writev(iov); }
  PeekAwaiter peek(std::span<char> buf) { return inner_->peek(buf); }
  absl::Status shutdown_write() { return inner_->shutdown(SHUT_WR); }

  absl::StatusOr<std::string> local_path() const;
  absl::StatusOr<std::string> peer_path() const;
  int raw_fd() const { return inner_->fd(); }

  std::pair<UnixOwnedReadHalf, UnixOwnedWriteHalf> into_split() &&;

 private:
  friend class UnixListener;
  friend class UnixOwnedReadHalf;
  explicit UnixStream(std::shared_ptr<detail::IoSource> inner) : inner_(std::move(inner)) {}
  std::shared_ptr<detail::IoSource> inner_;
};

class UnixOwnedReadHalf {
 public:
  UnixOwnedReadHalf(UnixOwnedReadHalf&&) noexcept = default;
  UnixOwnedReadHalf& operator=(UnixOwnedReadHalf&&) noexcept = default;
  ReadAwaiter read(std::span<char> buf) { return inner_->read(buf); }
  ReadvAwaiter readv(std::span<const iovec> iov) { return inner_->readv(iov); }
  PeekAwaiter peek(std::span<char> buf) { return inner_->peek(buf); }
  absl::StatusOr<UnixStream> reunite(UnixOwnedWriteHalf w) &&;

 private:
  friend class UnixStream;
  explicit UnixOwnedReadHalf(std::shared_ptr<detail::IoSource> inner) : inner_(std::move(inner)) {}
  std::shared_ptr<detail::IoSource> inner_;
};

// Destroying it shuts the write direction down (the peer reads EOF) unless forget() was called.
class UnixOwnedWriteHalf {
 public:
  UnixOwnedWriteHalf(UnixOwnedWriteHalf&&) noexcept = default;
  UnixOwnedWriteHalf& operator=(UnixOwnedWriteHalf&& o) noexcept;
  ~UnixOwnedWriteHalf();
  WriteAwaiter write(std::span<const char> buf) { return inner_->write(buf); }
  WritevAwaiter writev(std::span<const iovec> iov) { return inner_->writev(iov); }
  absl::Status shutdown_write() { return inner_->shutdown(SHUT_WR); }
  void forget() && { inner_.reset(); }

 private:
  friend class UnixStream;
  friend class UnixOwnedReadHalf;
  explicit UnixOwnedWriteHalf(std::shared_ptr<detail::IoSource> inner) : inner_(std::move(inner)) {}
  std::shared_ptr<detail::IoSource> inner_;
};

namespace detail {
// `path` as a sockaddr_un; INVALID_ARGUMENT when longer than sun_path allows.
absl::Status to_sockaddr_un(std::string_view path, sockaddr_un* out, socklen_t* len);
std::string from_sockaddr_un(const sockaddr_storage& ss, socklen_t len);
absl::StatusOr<std::string> unix_sock_name(int fd, bool peer);
}  // namespace detail

}  // namespace weft::net
