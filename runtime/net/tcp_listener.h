// TcpListener: a listening TCP socket that accepts connections as TcpStreams
// (tokio::net::TcpListener).
//
//   absl::StatusOr<TcpListener> l = TcpListener::bind(*SocketAddr::parse("0.0.0.0:8080"));
//   for (;;) {
//     auto conn = co_await l->accept();   // StatusOr<std::pair<TcpStream, SocketAddr>>
//     if (conn.ok()) weft::spawn(serve(std::move(conn->first)));
//   }
//
// accept is cancel-safe: an aborted accept never takes a connection off the queue.
//
// Errors that concern one connection, not the listener, are retried inside accept and never
// returned: ECONNABORTED and the network errors Linux passes on from the new socket (EPROTO,
// ENETDOWN, EHOSTUNREACH, ...) at once; running out of descriptors or memory (EMFILE, ENFILE,
// ENOBUFS, ENOMEM) after a pause that starts at 1 ms and doubles up to 100 ms, so the accept
// loop neither spins nor fails while the process is at its fd limit (hyper's AddrIncoming
// sleeps a fixed second; a short doubling pause resumes sooner once fds are freed). The
// pending connection stays in the kernel's queue meanwhile.
//
// Thread-per-core servers bind one listener per thread with BindOptions{.reuse_port = true};
// the kernel then spreads connections over them. SO_REUSEADDR is always set.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/runtime/net/io_source.h"
#include "weft/runtime/net/socket_addr.h"
#include "weft/runtime/net/tcp_stream.h"
#include "weft/runtime/task/task.h"

namespace weft::net {

struct BindOptions {
  bool reuse_port = false;  // SO_REUSEPORT: several listeners on one port (one per thread)
  int backlog = 1024;       // listen(2) backlog (the kernel caps it at net.core.somaxconn)
};

class TcpListener {
 public:
  // Binds and listens; registers with the current runtime (call it from a task). A port in
  // use is ALREADY_EXISTS with "Address already in use" in the message.
  static absl::StatusOr<TcpListener> bind(SocketAddr addr, BindOptions opts = {});
  // Adopts a bound, listening socket (made non-blocking here).
  static absl::StatusOr<TcpListener> from_fd(int fd);

  TcpListener(TcpListener&&) noexcept = default;
  TcpListener& operator=(TcpListener&&) noexcept = default;

  // The next connection and its peer's address. The listener must outlive the await.
  Task<absl::StatusOr<std::pair<TcpStream, SocketAddr>>> accept();
  absl::StatusOr<SocketAddr> local_addr() const;
  int raw_fd() const { return inner_->fd(); }

 private:
  explicit TcpListener(std::unique_ptr<detail::IoSource> inner) : inner_(std::move(inner)) {}
  std::unique_ptr<detail::IoSource> inner_;
};

}  // namespace weft::net
