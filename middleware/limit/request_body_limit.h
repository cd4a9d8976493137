// limit: a request body may not exceed a number of bytes; larger ones are answered
// 413 Payload Too Large (tower-http's RequestBodyLimitLayer, plus the 413 mapping axum does).
//
//   namespace mw = weft::middleware;
//   auto svc = weft::tower::ServiceBuilder()
//                  .layer(mw::RequestBodyLimitLayer(1 << 20))   // 1 MiB; outside auth, handlers
//                  .service(router);
//   // content-length: 5000000      -> 413 at once; the body is not read, the handler not called
//   // chunked, 5 MB sent           -> the handler's collect() fails once 1 MiB + 1 byte arrived;
//   //                                 the client gets 413 whatever the handler answered
//
// Two checks:
//  1. Declared size. When the body's size is known before reading it — `content-length` (a
//     server-received body's size_hint()) or a full body — and it exceeds the limit, the answer
//     is 413 at once: the inner service is not called and not one body byte is read (so an
//     `Expect: 100-continue` client is never told to send it).
//  2. Streamed body. Otherwise a streamed body is wrapped (LimitedBodySource): reading it past
//     `limit` bytes fails with RESOURCE_EXHAUSTED "request body larger than N bytes" — the
//     handler's frame()/collect() sees that error — and from then on every read gives the same
//     error without reading the underlying stream again: the rest is never read here (the
//     server drains a little or closes the connection). Once that has happened, the answer is
//     413, replacing whatever the inner service returned (its error Status, or a response it
//     made from the error): the request was not received whole, so no other answer is right.
//     A handler that streams the request body INTO its response body only fails after the
//     response has started; the 413 cannot be sent then (the body stream ends with the error).
// A body within the limit is untouched (a full one is not even wrapped). 413 body: "Payload Too
// Large\n", text/plain; no connection header is added (the server decides to drain or close).
//
// Cost: per streamed request one allocation (the wrapper) and one virtual call per frame; none
// for full or empty bodies. No coroutine frame (the inner awaitable is wrapped in place).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/http/body.h"
#include "weft/http/status_code.h"
#include "weft/middleware/detail/http_service.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/service.h"

namespace weft::middleware {

// A streamed body that fails once more than `limit` bytes of data have been read from it.
class LimitedBodySource final : public http::BodySource {
 public:
  LimitedBodySource(std::shared_ptr<http::BodySource> inner, uint64_t limit)
      : inner_(std::move(inner)), limit_(limit) {}

  Task<absl::StatusOr<std::optional<http::Frame>>> next_frame() override;
  std::optional<uint64_t> size_hint() const override;
  bool is_end_stream() const override;

  // Reading went past the limit (the reader got RESOURCE_EXHAUSTED).
  bool exceeded() const { return exceeded_.load(std::memory_order_acquire); }
  uint64_t limit() const { return limit_; }

 private:
  absl::Status too_large() const;

  std::shared_ptr<http::BodySource> inner_;
  const uint64_t limit_;
  uint64_t seen_ = 0;  // data bytes read so far (by the one reader)
  // Set by the reader, read by the layer once the inner call completed (perhaps on another
  // worker): release/acquire so the layer's decision sees the failed read.
  std::atomic<bool> exceeded_{false};
};

// The size the request declares (content-length, or the body's own size hint), if any exceeds
// `limit`: then the body must be refused unread.
bool declared_body_too_large(const HttpRequest& req, uint64_t limit);

template <class S>
class RequestBodyLimit {
 public:
  RequestBodyLimit(S inner, uint64_t limit) : inner_(std::move(inner)), limit_(limit) {}

  auto ready() const requires tower::detail::HasReady<S> { return inner_.ready(); }
  auto try_ready() const requires requires(const S& s) { s.try_ready(); }
  { return inner_.try_ready(); }

  // 413 at once, or the inner call's awaitable whose result becomes 413 if the body overflowed.
  auto call(tower::permit_t<S> permit, HttpRequest req) const requires HttpService<S> {
    using Fut = tower::detail::call_awaitable_t<S, HttpRequest>;
    using R = detail::ReadyOr<Fut, MapOverflow>;
    if (declared_body_too_large(req, limit_)) {
      return R(
          absl::StatusOr<HttpResponse>(detail::text_response(http::StatusCode::PAYLOAD_TOO_LARGE)));
    }
    MapOverflow map;
    if (req.body().is_stream()) {
      map.limited = std::make_shared<LimitedBodySource>(req.body().source(), limit_);
      req.body() = http::Body::from_source(map.limited);
    }
    return R(
        std::in_place, [&] { return inner_.call(std::move(permit), std::move(req)); },
        std::move(map));
  }

  uint64_t limit() const { return limit_; }
  const S& inner() const { return inner_; }

 private:
  struct MapOverflow {
    std::shared_ptr<LimitedBodySource> limited;
    absl::StatusOr<HttpResponse> operator()(absl::StatusOr<HttpResponse> r) const {
      if (limited != nullptr && limited->exceeded()) {
        return detail::text_response(http::StatusCode::PAYLOAD_TOO_LARGE);
      }
      return r;
    }
  };

  S inner_;
  uint64_t limit_;
};

class RequestBodyLimitLayer {
 public:
  // At most `limit` bytes of body data.
  explicit RequestBodyLimitLayer(uint64_t limit) : limit_(limit) {}

  template <class S>
  RequestBodyLimit<S> layer(S inner) const {
    return RequestBodyLimit<S>(std::move(inner), limit_);
  }

 private:
  uint64_t limit_;
};

}  // namespace weft::middleware
