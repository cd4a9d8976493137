// The client side of HTTP/1.1: one connection (ClientConn) and one request/response on it
// (Exchange). Private to http/: http/client.h pools the connections and is the public face.
//
//   auto conn = std::make_shared<h1::ClientConn>(std::move(stream), limits, "host:80");
//   auto ex = std::make_unique<h1::Exchange>(conn, pool, /*reused=*/false);
//   absl::Status st = co_await ex->send(&outgoing);                 // head (+ small full body)
//   absl::StatusOr<h1::ResponseHead> head = co_await ex->read_head();  // skips 1xx
//   Body body = Body::from_source(h1::response_body(std::move(ex)));  // streams off the socket
//
// Invariants:
//   1. A ClientConn is used by one exchange at a time. While an exchange runs, its task reads
//      (parser, buffer) and at most one body writer task writes (the socket's write side); the
//      two touch disjoint state, as TcpStream allows one reader and one writer at once.
//   2. A connection goes back to the pool (ConnPool::checkin) only when BOTH the response has
//      been read to its end with keep-alive allowed and nothing left over in the buffer, AND the
//      request body writer (if any) finished without error. Whichever of reader and writer
//      finishes last checks it in; their meeting point is WriterShared, under its mutex.
//   3. An exchange that ends any other way (error, timeout, cancellation, a response body
//      dropped unread) aborts its writer and drops its reference: the socket closes once the
//      aborted writer's frame is gone. So a cancelled request never returns a half-used
//      connection to the pool.
//   4. The pool is held weakly: a connection finishing after its Client is gone just closes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/http/body.h"
#include "weft/http/proto/h1/encode.h"
#include "weft/http/proto/h1/parser.h"
#include "weft/runtime/io/bytes.h"
#include "weft/runtime/net/tcp_stream.h"
#include "weft/runtime/task/join_handle.h"
#include "weft/runtime/task/task.h"
#include "weft/runtime/time/time_driver.h"

namespace weft::http::proto::h1 {

class ClientConn;

// Where a connection goes back once an exchange on it ended cleanly (the client's pool).
class ConnPool {
 public:
  virtual ~ConnPool() = default;
  virtual void checkin(std::shared_ptr<ClientConn> conn) = 0;
};

// One HTTP/1.1 connection to a server: the socket, the response parser and the read buffer.
class ClientConn {
 public:
  ClientConn(net::TcpStream stream, Limits limits, std::string pool_key);
  ClientConn(const ClientConn&) = delete;
  ClientConn& operator=(const ClientConn&) = delete;

  // The pool's key for this connection (the peer's authority and the runtime thread).
  const std::string& pool_key() const { return key_; }
  // Responses completed on this connection.
  uint64_t completed() const { return completed_; }
  // For an idle connection: true when the peer closed it, reset it or sent bytes nobody asked
  // for (one non-blocking MSG_PEEK, no wait). Such a connection cannot carry a request.
  bool peer_gone() const;

  // The socket, for the request body writer (the write side only; invariant 1).
  net::TcpStream& io() { return io_; }

 private:
  friend class Exchange;
  Task<absl::StatusOr<std::size_t>> read_more(std::size_t want);

  net::TcpStream io_;
  Parser parser_;
  io::BytesMut buf_;
  std::size_t pos_ = 0;  // parse position in buf_
  uint64_t completed_ = 0;
  std::string key_;
};

// What the client sends. A full body is kept as Bytes (a shared reference, not a copy) so that
// a retry can send it again; a streamed body is sent once.
struct Outgoing {
  std::string head;  // the encoded request head
  BodyFraming framing;
  io::Bytes full;              // the full body (empty if none or streamed)
  std::optional<Body> stream;  // a streamed body; taken by the first send
  bool head_request = false;   // the response has no body whatever its head says
  // The request may be sent again after a failure that might have reached the server (its
  // method is idempotent).
  bool idempotent = false;
};

// Where the reader and the request body writer meet (invariant 2), under `mu`.
struct WriterShared {
  std::mutex mu;
  bool done = false;           // the writer finished
  absl::Status status;         // its outcome
  bool source_failed = false;  // the request body itself failed (not the socket)
  std::shared_ptr<ClientConn>
      parked;  // the reader finished first, reusable: checked in by the writer
};

// Full bodies up to this size go out with the head in one writev; larger ones, and streams,
// are written by a separate task while the response is read, so that a server answering before
// it has read the whole request (an echo) cannot deadlock with us.
inline constexpr std::size_t kInlineBodyLimit = 64 * 1024;

// One request and its response on a connection (see the invariants above). Used by one task
// at a time.
class Exchange {
 public:
  Exchange(std::shared_ptr<ClientConn> conn, std::weak_ptr<ConnPool> pool, bool reused);
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;
  // An exchange not finished cleanly aborts its writer and closes the connection.
  ~Exchange();

  // Writes the head, and a small full body with it; a streamed or large body goes to a writer
  // task. UNAVAILABLE if the socket fails.
  Task<absl::Status> send(Outgoing* out);
  // The final response head, skipping 1xx interim responses (101 is returned as final).
  Task<absl::StatusOr<ResponseHead>> read_head();

  // After read_head: the response has no body (HEAD, 1xx, 204, 304, content-length: 0). The
  // exchange is then finished (and the connection released) at once.
  bool body_is_empty() const { return no_body_; }
  // Body reads give DEADLINE_EXCEEDED (with `what`) once `deadline` passes.
  void set_deadline(time::Instant deadline, std::string what) {
    deadline_ = deadline;
    deadline_what_ = std::move(what);
  }
  // The next frame of the response body; nullopt at its end. A body cut short is UNAVAILABLE.
  Task<absl::StatusOr<std::optional<Frame>>> next_frame();
  // Remaining body bytes when the length is known.
  std::optional<uint64_t> body_remaining() const;
  bool finished() const { return released_; }
  // Without waiting: parses what is already buffered, discarding body data, and finishes the
  // exchange if the message ends there. True when it did.
  bool finish_from_buffer();
  // The body can still be read (no error so far).
  bool healthy() const { return error_.ok() && !released_; }

  // For the client's retry decision: the failure happened on a connection taken from the pool
  // before any byte of a response arrived, the kind of failure a server closing an idle
  // connection causes, and the request can be sent again.
  bool retryable(const Outgoing& out) const;

 private:
  Task<absl::StatusOr<std::size_t>> read_some(std::size_t want);
  absl::Status fail(absl::Status st);
  // The response ended: release the connection (to the pool if `reusable`).
  void on_complete(bool reusable);
  // Ends the exchange once (invariants 2 and 3).
  void release(bool reusable);
  // The error to report for a connection that closed or failed under the reader: the request
  // body's own error if that is what broke it.
  absl::Status closed_error(const char* when, const absl::Status& io);

  std::shared_ptr<ClientConn> conn_;
  std::weak_ptr<ConnPool> pool_;
  bool reused_ = false;
  // Writer (streamed or large request body).
  JoinHandle<void> writer_;
  std::shared_ptr<WriterShared> ws_;
  // Progress.
  uint64_t written_ = 0;       // request bytes written by send()
  bool received_any_ = false;  // a byte of the response arrived
  bool closed_early_ = false;  // EOF or a socket error before any response byte
  bool stream_taken_ = false;  // a streamed body was handed to the writer
  bool head_request_ = false;
  bool no_body_ = false;
  bool keep_alive_ = false;
  bool length_known_ = false;
  uint64_t body_left_ = 0;
  bool released_ = false;
  absl::Status error_;
  std::optional<time::Instant> deadline_;
  std::string deadline_what_;
};

// The response body of `ex` as a BodySource. Dropping it before the end finishes the exchange
// from the buffered bytes if it can, else drains a small known rest in the background (the
// connection is then reused), else closes the connection.
std::shared_ptr<BodySource> response_body(std::unique_ptr<Exchange> ex);

}  // namespace weft::http::proto::h1
