// UnixListener: a listening Unix-domain stream socket bound to a path
// (tokio::net::UnixListener).
//
//   absl::StatusOr<UnixListener> l = UnixListener::bind("/run/app.sock");
//   for (;;) {
//     auto conn = co_await l->accept();   // StatusOr<std::pair<UnixStream, std::string peer>>
//     if (conn.ok()) weft::spawn(serve(std::move(conn->first)));
//   }
//
// accept is cancel-safe. It retries per-connection errors at once and pauses (1 ms doubling to
// 100 ms) on EMFILE/ENFILE/ENOBUFS/ENOMEM, like TcpListener. bind fails with ALREADY_EXISTS
// if the path exists (as in Tokio, a stale socket file is not removed: unlink it first); the
// file is not removed when the listener is dropped either.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/runtime/net/io_source.h"
#include "weft/runtime/net/unix_stream.h"
#include "weft/runtime/task/task.h"

namespace weft::net {

class UnixListener {
 public:
  static absl::StatusOr<UnixListener> bind(std::string path, int backlog = 1024);

  UnixListener(UnixListener&&) noexcept = default;
  UnixListener& operator=(UnixListener&&) noexcept = default;

  // The next connection and its peer's path (usually "": clients are rarely bound).
  Task<absl::StatusOr<std::pair<UnixStream, std::string>>> accept();
  absl::StatusOr<std::string> local_path() const;
  int raw_fd() const { return inner_->fd(); }

 private:
  explicit UnixListener(std::unique_ptr<detail::IoSource> inner) : inner_(std::move(inner)) {}
  std::unique_ptr<detail::IoSource> inner_;
};

}  // namespace weft::net
