// Body: the bytes of a request or response — empty, one buffer, or a stream of frames with
// backpressure — and the trailers that may follow them (hyper's Incoming / http_body::Body).
//
//   http::Body a;                                   // empty
//   http::Body b("hello");                          // full: one buffer, size known
//   http::Body c = http::Body::from_static("hi");   // a literal: no copy
//   auto [tx, c] = http::Body::channel();           // streamed: tx.send_data waits when full
//   weft::spawn(produce(std::move(tx)));            // co_await tx.send_data(Bytes::from(...))
//   absl::StatusOr<io::Bytes> all = co_await req.body().collect(1 << 20);  // limit: 413-worthy
//   while (auto f = co_await body.frame(); f.ok() && f->has_value()) { ... (*f)->data ... }
//
// A body is read once, by one task at a time. frame() gives the next frame (data or trailers),
// nullopt at the end, or an error (the peer vanished, the stream was aborted, the message was
// malformed). A request body received by the server streams straight off the connection: it
// is read from the socket as the handler asks for it (nothing is buffered beyond one read), and
// the server discards what the handler did not read once the response is written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/http/header_map.h"
#include "weft/runtime/io/bytes.h"
#include "weft/runtime/task/task.h"

namespace weft::http {

// One piece of a body: data, or the trailers that end it.
struct Frame {
  io::Bytes data;
  std::optional<HeaderMap> trailers;

  static Frame of_data(io::Bytes b) { return Frame{std::move(b), std::nullopt}; }
  static Frame of_trailers(HeaderMap t) { return Frame{io::Bytes(), std::move(t)}; }
  bool is_data() const { return !trailers.has_value(); }
};

// What a streamed body reads from. Implemented by the channel below and by the protocol
// connections (a request body read off the socket).
class BodySource {
 public:
  virtual ~BodySource() = default;
  // The next frame, nullopt at the end.
  virtual Task<absl::StatusOr<std::optional<Frame>>> next_frame() = 0;
  // Exact remaining length when known.
  virtual std::optional<uint64_t> size_hint() const { return std::nullopt; }
  virtual bool is_end_stream() const { return false; }
};

class BodySender;

class Body {
 public:
  Body() = default;
  Body(std::string s) : kind_(Kind::kFull), full_(io::Bytes::from(std::move(s))) { settle(); }
  Body(std::string_view s) : kind_(Kind::kFull), full_(io::Bytes::copy_from(s)) { settle(); }
  Body(const char* s) : Body(std::string_view(s)) {}
  Body(Body&&) noexcept = default;
  Body& operator=(Body&&) noexcept = default;
  Body(const Body&) = delete;
  Body& operator=(const Body&) = delete;

  static Body empty() { return Body(); }
  static Body full(io::Bytes b) {
    Body body;
    body.kind_ = Kind::kFull;
    body.full_ = std::move(b);
    body.settle();
    return body;
  }
  // Memory that outlives every use (a string literal): no copy, no allocation.
  static Body from_static(std::string_view s) { return full(io::Bytes::from_static(s)); }
  // A streamed body read from `source`.
  static Body from_source(std::shared_ptr<BodySource> source) {
    Body body;
    body.kind_ = Kind::kStream;
    body.source_ = std::move(source);
    return body;
  }
  // A streamed body fed by the returned sender; at most `capacity` frames are buffered, then
  // send_data waits (backpressure).
  static std::pair<BodySender, Body> channel(std::size_t capacity = 16);

  // Exact length when known: 0 for empty, n for full, the source's hint for a stream.
  std::optional<uint64_t> size_hint() const {
    switch (kind_) {
      case Kind::kEmpty:
        return 0;
      case Kind::kFull:
        return full_.size();
      case Kind::kStream:
        return source_->size_hint();
    }
    return std::nullopt;
  }
  // True when frame() would give nullopt without waiting.
  bool is_end_stream() const {
    return kind_ == Kind::kEmpty || (kind_ == Kind::kStream && source_->is_end_stream());
  }
  bool is_full() const { return kind_ == Kind::kFull; }
  bool is_stream() const { return kind_ == Kind::kStream; }
  // The buffer of a full body (empty otherwise), without consuming it.
  const io::Bytes& full_bytes() const { return full_; }
  // The stream behind a streamed body (null otherwise).
  const std::shared_ptr<BodySource>& source() const { return source_; }

  // The next frame: nullopt at the end of the body.
  Task<absl::StatusOr<std::optional<Frame>>> frame();
  // The whole body (data only; trailers are dropped). RESOURCE_EXHAUSTED "body larger than N
  // bytes" as soon as more than `limit` bytes arrive (the rest is not read).
  Task<absl::StatusOr<io::Bytes>> collect(std::size_t limit);

 private:
  enum class Kind : uint8_t { kEmpty, kFull, kStream };
  void settle() {
    if (full_.empty()) kind_ = Kind::kEmpty;
  }

  Kind kind_ = Kind::kEmpty;
  io::Bytes full_;
  std::shared_ptr<BodySource> source_;
};

// The writing end of Body::channel(). Move-only; destroying it ends the body cleanly (the
// reader sees the end), abort() ends it with an error instead.
class BodySender {
 public:
  BodySender(BodySender&&) noexcept = default;
  BodySender& operator=(BodySender&&) noexcept = default;
  ~BodySender();

  // Waits while the channel is full. FAILED_PRECONDITION "body receiver dropped" when nobody
  // reads any more.
  Task<absl::Status> send_data(io::Bytes data);
  // Sends the trailers; the body ends after them.
  Task<absl::Status> send_trailers(HeaderMap trailers);
  // Ends the body with `error`: the reader's next frame() gives it.
  void abort(absl::Status error);

 private:
  friend class Body;
  struct Shared;
  explicit BodySender(std::shared_ptr<Shared> s) : shared_(std::move(s)) {}
  std::shared_ptr<Shared> shared_;
};

}  // namespace weft::http
