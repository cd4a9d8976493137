// Server: serves a tower Service of Request<Body> -> Response<Body> over HTTP/1.1 (hyper's
// server + axum::serve).
//
//   auto svc = weft::tower::service_fn([](http::Request<http::Body> req)
//       -> weft::Task<absl::StatusOr<http::Response<http::Body>>> {
//     co_return http::Response<http::Body>(http::Body("Hello, world!"));
//   });
//   absl::StatusOr<http::Server> server = http::Server::bind(addr, std::move(svc));
//   weft::spawn(stop_on_sigterm(server->handle()));   // handle.shutdown(): graceful
//   absl::Status s = co_await server->serve();         // returns once drained
//
// Connections: each is one task that reads a request, awaits the service, writes the
// response (head and body in one write; pipelined answers aggregated), and loops while the
// connection is kept alive. A request body streams off the socket as the handler reads it;
// what the handler leaves unread is discarded before the next request (or the connection is
// closed if the handler kept the body). A response body with a known size is sent with
// content-length, a streamed one chunked (HTTP/1.1) or until close (HTTP/1.0).
//
// Bad input never reaches the service and never affects other connections: the answers are
// 400 (malformed, smuggling attempts such as Content-Length with Transfer-Encoding), 414
// (request target too long), 431 (header section or header count too large), 408 (headers not
// received within header_read_timeout), 417 (an Expect other than 100-continue), each followed
// by a close. A service error becomes the status http::from_status gives (a handler exception:
// 500), without the error text.
//
// Runtimes: in a multi-thread runtime one listener feeds every worker; in a thread-per-core
// runtime, serve() binds one SO_REUSEPORT listener per thread and each thread serves the
// connections it accepts.
//
// Graceful shutdown (shutdown(), from any thread): 1. listeners close; 2. idle keep-alive
// connections close at once; 3. in-flight requests finish and their connections close after
// the response (`connection: close`); 4. after shutdown_timeout, what is left is cancelled.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/http/body.h"
#include "weft/http/request.h"
#include "weft/http/response.h"
#include "weft/runtime/net/socket_addr.h"
#include "weft/runtime/net/tcp_listener.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/service.h"

namespace weft::http {

struct ServerOptions {
  std::size_t max_head_bytes = 16 * 1024;  // request line + headers: 431 beyond
  std::size_t max_uri_bytes = 8 * 1024;    // request target: 414 beyond
  std::size_t max_headers = 100;           // header fields: 431 beyond
  // From the first byte of a request head (or the accept) until the head is complete: 408.
  std::chrono::milliseconds header_read_timeout{30'000};
  // An idle keep-alive connection is closed after this (0: never).
  std::chrono::milliseconds keep_alive_timeout{60'000};
  // Connections served at once; more wait in the kernel's accept queue.
  std::size_t max_connections = 100'000;
  // How long shutdown() lets in-flight requests run before cancelling them.
  std::chrono::milliseconds shutdown_timeout{30'000};
  // Thread-per-core: one SO_REUSEPORT listener per handle, each serving the connections it
  // accepts on its own thread. Fill with rt.handle_for(i) for i < rt.num_workers() of a
  // Runtime::Builder::new_thread_per_core() runtime, and call bind() and serve() from a task
  // on handle 0's thread (block_on's). Empty: one listener, connections spread by the
  // scheduler.
  std::vector<Handle> listener_threads;
};

namespace detail {

// The service, type-erased once per server (one virtual call per request).
class ErasedService {
 public:
  virtual ~ErasedService() = default;
  // The response at once when the service answers without waiting, else its Task.
  virtual tower::detail::Eager<absl::StatusOr<Response<Body>>> call(Request<Body> req) const = 0;
};

template <class S>
class ErasedServiceImpl final : public ErasedService {
 public:
  explicit ErasedServiceImpl(S s) : svc_(std::move(s)) {}
  tower::detail::Eager<absl::StatusOr<Response<Body>>> call(Request<Body> req) const override {
    using Result = absl::StatusOr<Response<Body>>;
    if constexpr (tower::detail::HasOwnOneshot<S, Request<Body>>) {
      return tower::detail::as_eager<Result>(svc_.oneshot(std::move(req)));  // Router, BoxService
    } else {
      return tower::detail::as_eager<Result>(tower::oneshot(svc_, std::move(req)));
    }
  }

 private:
  S svc_;
};

struct ServerState;  // server.cc

absl::StatusOr<std::shared_ptr<ServerState>> bind_server(net::SocketAddr addr,
                                                         std::shared_ptr<const ErasedService> svc,
                                                         const ServerOptions& opts);
net::SocketAddr server_addr(const ServerState& s);
Task<absl::Status> serve_server(std::shared_ptr<ServerState> s);
void shutdown_server(ServerState& s);

}  // namespace detail

// A copyable handle that starts the graceful shutdown of its server (thread-safe, idempotent).
class ShutdownHandle {
 public:
  void shutdown() const { detail::shutdown_server(*state_); }

 private:
  friend class Server;
  explicit ShutdownHandle(std::shared_ptr<detail::ServerState> s) : state_(std::move(s)) {}
  std::shared_ptr<detail::ServerState> state_;
};

class Server {
 public:
  // Binds `addr` (port 0: any free port; see local_addr) from inside a runtime. ALREADY_EXISTS
  // if the port is in use.
  template <class S>
  static absl::StatusOr<Server> bind(net::SocketAddr addr, S service, ServerOptions opts = {}) {
    static_assert(tower::assert_service<S, Request<Body>>());
    static_assert(std::is_same_v<tower::response_t<S, Request<Body>>, Response<Body>>,
                  "http::Server: the service must answer Request<Body> with Response<Body>");
    auto svc = std::make_shared<detail::ErasedServiceImpl<S>>(std::move(service));
    absl::StatusOr<std::shared_ptr<detail::ServerState>> s =
        detail::bind_server(addr, std::move(svc), opts);
    if (!s.ok()) return s.status();
    return Server(*std::move(s));
  }

  net::SocketAddr local_addr() const { return detail::server_addr(*state_); }
  // Accepts and serves until shutdown() and the drain complete. Call it once.
  Task<absl::Status> serve() { return detail::serve_server(state_); }
  // Graceful shutdown (see above).
  void shutdown() { detail::shutdown_server(*state_); }
  ShutdownHandle handle() const { return ShutdownHandle(state_); }

 private:
  explicit Server(std::shared_ptr<detail::ServerState> s) : state_(std::move(s)) {}
  std::shared_ptr<detail::ServerState> state_;
};

}  // namespace weft::http
