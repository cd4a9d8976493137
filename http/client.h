// Client: an HTTP/1.1 client with a connection pool (hyper-util's legacy Client / reqwest,
// simplified). Cheap to copy (copies share one pool), usable from many tasks and threads at
// once, and a tower Service<Request<Body>> giving Response<Body>.
//
//   http::Client client(http::ClientOptions{.request_timeout = std::chrono::seconds(5)});
//   absl::StatusOr<http::Response<http::Body>> r = co_await client.get("http://127.0.0.1:8080/");
//   if (!r.ok()) co_return r.status();        // UNAVAILABLE: refused; DEADLINE_EXCEEDED: timeout
//   absl::StatusOr<io::Bytes> text = co_await r->body().collect(1 << 20);
//   auto posted = co_await client.post("http://127.0.0.1:8080/echo", http::Body("hi"));
//
// Requests. The URI must be absolute: "http://host[:port]/path?query" (https is UNIMPLEMENTED:
// there is no TLS yet). The host is resolved with net::lookup_host and each address tried in
// order. The client writes the Host header from the URI unless the request has one, and owns
// the framing: content-length when the body's size is known, chunked otherwise (a user's
// content-length, transfer-encoding or connection header is replaced). A full body up to 64 KiB
// goes out with the head in one writev; a streamed body, or a larger one, is written by a
// separate task while the response is read, so a server that answers as it reads (an echo)
// cannot deadlock with us.
//
// Responses. The body streams off the connection as it is read (Body::frame / collect); 1xx
// interim responses (100 Continue, 103) are skipped; an answer to HEAD, 204 or 304 has no body.
// A body cut short gives an error from frame(). Trailers of a chunked body come as a trailers
// frame. 101 Switching Protocols is returned with an empty body and its connection is closed
// (upgrades are not supported yet). A request body that fails (its stream errors) fails the
// request and closes the connection; if the response has already ended by then, the request
// body keeps being sent in the background and the connection is pooled once it is done (the
// server promised to read it by keeping the connection alive).
//
// The pool. A connection goes back to the pool when its response body has been read to the
// end, the server allowed keep-alive and the request body was sent completely; the next
// request to the same host:port reuses the most recently returned one. A response body
// dropped unread closes its connection, unless what is left is already buffered or is a small
// known rest (<= 64 KiB), which is drained in the background. At most max_idle_per_host idle
// connections are kept per host (a connection returned beyond that is closed); an idle one is
// closed after idle_timeout. An idle connection found closed by the server is skipped; and if
// the server closes it just as the request goes out (no response byte received), the request
// is sent once more on a new connection when that is safe: its method is idempotent (GET,
// HEAD, PUT, DELETE, OPTIONS, TRACE) or nothing of it was written, and its body can be sent
// again (empty or full, or streamed but not started) (Go's net/http rule; hyper retries only
// requests it never wrote).
//
// Errors: UNAVAILABLE when a connection cannot be made (refused, unreachable) or breaks;
// DEADLINE_EXCEEDED for connect_timeout and request_timeout; INTERNAL for a malformed response
// (RESOURCE_EXHAUSTED if its head exceeds the limits); INVALID_ARGUMENT for a bad URI; DNS
// failures keep lookup_host's codes (NOT_FOUND for an unknown host).
//
// Cancellation: destroying the Task of a request (or the response body) at any point closes its
// connection; a cancelled request never returns a half-used connection to the pool.
// Lifetime: like sockets, a Client (and any response body) must not outlive the runtime its
// connections were made in; destroy it inside the runtime or before the runtime.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/http/body.h"
#include "weft/http/request.h"
#include "weft/http/response.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/service.h"

namespace weft::http {

struct ClientOptions {
  // Idle connections kept per host:port (0: no pooling, every request on a new connection).
  std::size_t max_idle_per_host = 32;
  // An idle connection is closed after this (0: never).
  std::chrono::milliseconds idle_timeout{90'000};
  // DNS lookup and TCP connect, all addresses together (0: no limit).
  std::chrono::milliseconds connect_timeout{10'000};
  // The whole request: from the call until the response body has been read to its end (as
  // reqwest's timeout). 0: no limit.
  std::chrono::milliseconds request_timeout{0};
  // Limits for response heads (status line + headers): RESOURCE_EXHAUSTED beyond.
  std::size_t max_response_head_bytes = 64 * 1024;
  std::size_t max_response_headers = 100;
  // Send a request once more on a new connection when a pooled one turns out to be closed
  // (see above).
  bool retry_canceled_requests = true;
};

namespace detail {
struct ClientShared;  // client.cc: the options and the pool
}  // namespace detail

class Client {
 public:
  Client() : Client(ClientOptions{}) {}
  explicit Client(ClientOptions opts);

  // Sends `req` (absolute URI) and gives the response once its head has arrived.
  Task<absl::StatusOr<Response<Body>>> request(Request<Body> req) const;
  // GET / POST conveniences; the URL is parsed as an absolute URI.
  Task<absl::StatusOr<Response<Body>>> get(std::string url) const;
  Task<absl::StatusOr<Response<Body>>> post(std::string url, Body body) const;

  // tower::Service<Request<Body>>: always ready; call() is request().
  tower::AlwaysReady ready() const { return tower::always_ready(); }
  Task<absl::StatusOr<Response<Body>>> call(tower::NoPermit, Request<Body> req) const {
    return request(std::move(req));
  }

  const ClientOptions& options() const;
  // Idle connections in the pool right now, over all hosts (for tests and metrics).
  std::size_t idle_connections() const;

 private:
  std::shared_ptr<detail::ClientShared> shared_;
};

}  // namespace weft::http
