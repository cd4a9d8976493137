// UnixDatagram: a Unix-domain datagram socket (tokio::net::UnixDatagram).
//
//   absl::StatusOr<UnixDatagram> srv = UnixDatagram::bind("/tmp/srv.sock");
//   absl::StatusOr<UnixDatagram> cli = UnixDatagram::unbound();
//   co_await cli->send_to(std::span<const char>(msg), "/tmp/srv.sock");
//   auto got = co_await srv->recv_from(std::span<char>(buf));  // StatusOr<pair<size_t, path>>
//   auto [a, b] = *UnixDatagram::pair();                       // connected: send / recv
//
// send_to, recv_from, send and recv are cancel-safe (an aborted one moved no datagram). A
// datagram longer than the buffer is truncated. Sends never raise SIGPIPE and, unlike UDP,
// wait for room when the receiver's queue is full. Operations try the syscall first and spend
// coop budget when they complete at once. An unbound sender's path is "".
#pragma once

#include <coroutine>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/net/io_source.h"
#include "weft/runtime/task/task.h"

namespace weft::net {

// What UnixDatagram::recv_from returns: co_await gives StatusOr<pair<bytes, sender path>>.
class [[nodiscard]] UnixRecvFromAwaiter {
 public:
  UnixRecvFromAwaiter(detail::IoSource* src, std::span<char> buf) : inner_(src->recv_from(buf)) {}
  bool await_ready() { return inner_.await_ready(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
    return inner_.await_suspend(h);
  }
  absl::StatusOr<std::pair<size_t, std::string>> await_resume();

 private:
  detail::IoAwaiter<detail::RecvFromOp> inner_;
};

class UnixDatagram {
 public:
  static absl::StatusOr<UnixDatagram> bind(std::string path);
  static absl::StatusOr<UnixDatagram> unbound();
  static absl::StatusOr<std::pair<UnixDatagram, UnixDatagram>> pair();

  UnixDatagram(UnixDatagram&&) noexcept = default;
  UnixDatagram& operator=(UnixDatagram&&) noexcept = default;

  absl::Status connect(std::string path);
  // INVALID_ARGUMENT (from the awaited result) if the path is too long.
  Task<absl::StatusOr<size_t>> send_to(std::span<const char> buf, std::string path);
  UnixRecvFromAwaiter recv_from(std::span<char> buf) {
    return UnixRecvFromAwaiter(inner_.get(), buf);
  }
  SendAwaiter send(std::span<const char> buf) { return inner_->send(buf); }
  RecvAwaiter recv(std::span<char> buf) { return inner_->recv(buf); }

  absl::StatusOr<std::string> local_path() const;
  absl::StatusOr<std::string> peer_path() const;
  int raw_fd() const { return inner_->fd(); }

 private:
  explicit UnixDatagram(std::unique_ptr<detail::IoSource> inner) : inner_(std::move(inner)) {}
  std::unique_ptr<detail::IoSource> inner_;
};

}  // namespace weft::net
