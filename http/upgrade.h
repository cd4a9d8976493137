// Upgrades: a handler answers 101 Switching Protocols and takes the raw connection over
// (hyper::upgrade::on), e.g. for WebSocket.
//
//   auto on = http::on_upgrade(req);                // nullopt unless the request asked to upgrade
//   weft::spawn(talk(std::move(*on)));               // talk(): Upgraded u = *co_await on.wait();
//   http::Response<http::Body> r(http::StatusCode::SWITCHING_PROTOCOLS, http::Body());
//   r.headers().insert(http::header::UPGRADE, http::HeaderValue::from_static("websocket"));
//   co_return r;                                     // the server writes it, then hands over
//
// The server offers an upgrade for a request with `Connection: upgrade` and an `Upgrade`
// header (or CONNECT). wait() completes once the 101 head has been written, with the socket and
// any bytes the client sent after its request (they belong to the new protocol); it fails
// with CANCELLED when the answer was not 101 (the connection is then closed after it).
#pragma once

#include <optional>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/http/request.h"
#include "weft/runtime/io/bytes.h"
#include "weft/runtime/net/tcp_stream.h"
#include "weft/runtime/sync/oneshot.h"
#include "weft/runtime/task/task.h"

namespace weft::http {

// The connection after a 101 answer.
struct Upgraded {
  net::TcpStream stream;
  io::Bytes read_ahead;  // bytes of the new protocol the server had already read
};

// In the request's extensions while an upgrade is possible; take it with on_upgrade().
class OnUpgrade {
 public:
  explicit OnUpgrade(sync::oneshot::Receiver<Upgraded> rx) : rx_(std::move(rx)) {}
  OnUpgrade(OnUpgrade&&) noexcept = default;
  OnUpgrade& operator=(OnUpgrade&&) noexcept = default;

  Task<absl::StatusOr<Upgraded>> wait() {
    absl::StatusOr<Upgraded> u = co_await rx_;
    if (!u.ok()) co_return absl::CancelledError("the connection was not upgraded");
    co_return u;
  }

 private:
  sync::oneshot::Receiver<Upgraded> rx_;
};

// The request's upgrade handle, moved out of its extensions (nullopt when it has none).
template <class B>
std::optional<OnUpgrade> on_upgrade(Request<B>& req) {
  return req.extensions().template remove<OnUpgrade>();
}

}  // namespace weft::http
