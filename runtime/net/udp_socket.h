// UdpSocket: a UDP socket on the runtime's reactor (tokio::net::UdpSocket).
//
//   absl::StatusOr<UdpSocket> s = UdpSocket::bind(*SocketAddr::parse("127.0.0.1:0"));
//   co_await s->send_to(std::span<const char>(msg), peer);
//   auto got = co_await s->recv_from(std::span<char>(buf));   // StatusOr<pair<size_t, SocketAddr>>
//   absl::Status st = s->connect(peer);                        // then send / recv
//
// Cancel safety (as Tokio): send_to, recv_from, send and recv are cancel-safe: an aborted
// operation sent or received nothing. A datagram longer than the buffer is truncated (the rest
// is lost), as with recvfrom(2). Sends never raise SIGPIPE. Operations try the syscall first,
// wait for readiness only on EAGAIN, and spend coop budget when they complete at once.
//
// One UdpSocket may be shared by several tasks (through a pointer that outlives them): each
// operation is a single syscall, so concurrent sends and receives do not interleave datagrams.
#pragma once

#include <coroutine>
#include <memory>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/net/io_source.h"
#include "weft/runtime/net/socket_addr.h"
#include "weft/runtime/task/task.h"

namespace weft::net {

// What recv_from returns: co_await gives StatusOr<pair<bytes, sender>>.
class [[nodiscard]] RecvFromAwaiter {
 public:
  RecvFromAwaiter(detail::IoSource* src, std::span<char> buf) : inner_(src->recv_from(buf)) {}
  bool await_ready() { return inner_.await_ready(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
    return inner_.await_suspend(h);
  }
  absl::StatusOr<std::pair<size_t, SocketAddr>> await_resume();

 private:
  detail::IoAwaiter<detail::RecvFromOp> inner_;
};

class UdpSocket {
 public:
  // Binds (port 0: the kernel picks one). Registers with the current runtime.
  static absl::StatusOr<UdpSocket> bind(SocketAddr addr);

  UdpSocket(UdpSocket&&) noexcept = default;
  UdpSocket& operator=(UdpSocket&&) noexcept = default;

  // Sets the default peer for send/recv and filters incoming datagrams to it. Never blocks.
  absl::Status connect(SocketAddr peer);

  SendToAwaiter send_to(std::span<const char> buf, SocketAddr target);
  RecvFromAwaiter recv_from(std::span<char> buf) { return RecvFromAwaiter(inner_.get(), buf); }
  // Connected sockets only (otherwise an error Status: "Destination address required").
  SendAwaiter send(std::span<const char> buf) { return inner_->send(buf); }
  RecvAwaiter recv(std::span<char> buf) { return inner_->recv(buf); }

  absl::Status set_broadcast(bool on);
  absl::StatusOr<SocketAddr> local_addr() const;
  absl::StatusOr<SocketAddr> peer_addr() const;
  int raw_fd() const { return inner_->fd(); }

 private:
  explicit UdpSocket(std::unique_ptr<detail::IoSource> inner) : inner_(std::move(inner)) {}
  std::unique_ptr<detail::IoSource> inner_;
};

}  // namespace weft::net
