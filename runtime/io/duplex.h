// duplex(): an in-memory, bidirectional byte pipe between two DuplexStreams, for tests and for
// wiring two components together without sockets (tokio::io::duplex).
//
//   auto [client, server] = weft::io::duplex(64 * 1024);
//   weft::spawn(serve(std::move(server)));                       // the other end
//   absl::Status st = co_await weft::io::write_all(client, request);
//   absl::StatusOr<size_t> n = co_await client.read(std::span<char>(buf));   // 0: EOF
//
// Each direction buffers at most `max_buf_size` bytes: a writer that finds the buffer full waits
// until the reader takes something out (backpressure), and writes are partial when only part
// fits. Reading gives EOF (0) once the other end called shutdown_write() or was destroyed and
// the buffer is drained; writing fails with FAILED_PRECONDITION (EPIPE) once the other end was
// destroyed, or after our own shutdown_write().
//
// Awaitables (all cancel-safe):
//   read(buf)        -> absl::StatusOr<size_t>   cancelled while waiting: nothing was read
//   write(buf)       -> absl::StatusOr<size_t>   cancelled while waiting: nothing was written
//   writev(iov)      -> absl::StatusOr<size_t>   as write, gathering from several buffers
//   shutdown_write() -> absl::Status             never waits
// The copying and the waiter bookkeeping happen under the direction's std::mutex; wakers are
// woken after it is released. An awaiter that suspends links a node in its own frame into the
// direction's waiter list and unlinks it in its destructor, so an aborted task leaves nothing
// behind. As for any weft stream, one task reads and one task writes a given end at a time
// (the two may be different tasks).
#pragma once

#include <sys/uio.h>

#include <coroutine>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/task/waker.h"

namespace weft::io {

class DuplexStream;

// Creates a connected pair; each direction buffers at most max_buf_size bytes (0 counts as 1).
std::pair<DuplexStream, DuplexStream> duplex(std::size_t max_buf_size);

namespace detail {
struct DuplexShared;
struct DuplexPipe;

// A suspended awaiter, linked into a pipe's waiter list (guarded by the pipe's mutex).
struct DuplexWaiter {
  DuplexWaiter* prev = nullptr;
  DuplexWaiter* next = nullptr;
  Waker waker;
  bool linked = false;
};
}  // namespace detail

// The awaiter behind read / write / writev.
class [[nodiscard]] DuplexIo : private detail::DuplexWaiter {
 public:
  enum class Kind { kRead, kWrite, kWritev };

  DuplexIo(std::shared_ptr<detail::DuplexShared> shared, detail::DuplexPipe* pipe, Kind kind,
           char* rd, const char* wr, std::size_t n, const iovec* iov, std::size_t iovcnt)
      : shared_(std::move(shared)),
        pipe_(pipe),
        kind_(kind),
        rd_(rd),
        wr_(wr),
        n_(n),
        iov_(iov),
        iovcnt_(iovcnt) {}
  DuplexIo(const DuplexIo&) = delete;
  DuplexIo& operator=(const DuplexIo&) = delete;
  ~DuplexIo();

  bool await_ready();
  bool await_suspend(std::coroutine_handle<> h);
  absl::StatusOr<std::size_t> await_resume();

 private:
  std::shared_ptr<detail::DuplexShared> shared_;  // keeps the pipe alive while we are linked
  detail::DuplexPipe* pipe_;
  Kind kind_;
  char* rd_;
  const char* wr_;
  std::size_t n_;
  const iovec* iov_;
  std::size_t iovcnt_;
  std::optional<absl::StatusOr<std::size_t>> result_;
  bool waiting_ = false;
};

// Completes at once with the given status.
struct [[nodiscard]] ReadyStatus {
  absl::Status status;
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  absl::Status await_resume() { return std::move(status); }
};

// One end of a duplex pipe. Move-only; destroying it closes both directions for the peer
// (its reads drain the buffer and then give EOF, its writes fail).
class DuplexStream {
 public:
  DuplexStream() = default;
  DuplexStream(DuplexStream&& o) noexcept = default;
  DuplexStream& operator=(DuplexStream&& o) noexcept;
  DuplexStream(const DuplexStream&) = delete;
  DuplexStream& operator=(const DuplexStream&) = delete;
  ~DuplexStream() { close(); }

  DuplexIo read(std::span<char> buf);
  DuplexIo write(std::span<const char> buf);
  DuplexIo writev(std::span<const iovec> iov);
  // Half-close: the peer reads EOF once it has drained what we wrote; we can still read.
  ReadyStatus shutdown_write();

  bool valid() const { return shared_ != nullptr; }
  // Bytes buffered in each direction (for tests).
  std::size_t readable_bytes() const;
  std::size_t write_buffered_bytes() const;
  // Awaiters currently suspended on either direction of this pair (for tests: an aborted task
  // must leave none behind).
  std::size_t waiter_count() const;

 private:
  friend std::pair<DuplexStream, DuplexStream> duplex(std::size_t max_buf_size);
  DuplexStream(std::shared_ptr<detail::DuplexShared> shared, int side)
      : shared_(std::move(shared)), side_(side) {}
  detail::DuplexPipe* read_pipe() const;
  detail::DuplexPipe* write_pipe() const;
  void close();

  std::shared_ptr<detail::DuplexShared> shared_;
  int side_ = 0;  // side s writes pipes[s] and reads pipes[1 - s]
};

}  // namespace weft::io
