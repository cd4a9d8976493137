// timeout (HTTP): a request whose inner call takes longer than a duration is answered
// 503 Service Unavailable, and the inner call is cancelled (tower-http's TimeoutLayer, with a
// different status; see below).
//
//   namespace mw = weft::middleware;
//   auto svc = weft::tower::ServiceBuilder()
//                  .layer(mw::TimeoutLayer(std::chrono::seconds(10)))
//                  .service(router);
//   // a handler still busy after 10 s: its frame is destroyed, the client gets
//   // 503 "Service Unavailable\n" (text/plain)
//
// Why 503 and not 408 (tower-http's choice). 408 Request Timeout means "the server did not
// receive a complete request message within the time that it was prepared to wait" (RFC 9110
// §15.5.9): the client was too slow, it may simply repeat the request, and the connection is
// expected to close. Here the client sent everything and the SERVER was too slow — a 5xx: the
// fault is ours, monitoring counts it as an error, and clients and proxies treat it as a
// server-side failure rather than a reason to resend at once. 503 rather than 504 Gateway
// Timeout: 504 says an UPSTREAM server did not answer, which only a proxy knows. Callers that
// want tower-http's behaviour pass the status: `TimeoutLayer(d,
// http::StatusCode::REQUEST_TIMEOUT)`.
//
// The clock starts when call() is invoked and stops when the inner call gives its response
// (head): reading or streaming the response body afterwards is not bounded (as in tower-http;
// bound a slow body stream in the handler). ready() is the inner readiness, not bounded either.
// On time: the inner result unchanged — including an inner DEADLINE_EXCEEDED error, which stays
// an error (the server answers it 504), so the two cases stay apart. Late: the inner call ran as
// a child task (weft::time::timeout) and has been destroyed, its destructors run (a permit it
// held released, a body it was reading dropped), before the 503 is returned. An exception from
// the inner call propagates (put CatchExceptionLayer outside to turn it into a 500).
//
// Cost: two coroutine frames per call (the child task and weft::time::timeout's). The child's
// first poll runs in place: a handler that answers without waiting starts no timer.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/http/status_code.h"
#include "weft/middleware/detail/http_service.h"
#include "weft/runtime/task/task.h"
#include "weft/runtime/time/timeout.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::middleware {

namespace detail {

// The inner result, boxed so that weft::time::timeout's own DEADLINE_EXCEEDED (the outer
// StatusOr) cannot be mistaken for an inner one.
struct TimedOutcome {
  absl::StatusOr<HttpResponse> result;
};

template <class Fut>
Task<TimedOutcome> timed_child(Fut fut) {
  absl::StatusOr<HttpResponse> r = co_await std::move(fut);
  co_return TimedOutcome{std::move(r)};
}

// weft::time::timeout's result -> the answer.
struct TimeoutToResponse {
  http::StatusCode status;
  absl::StatusOr<HttpResponse> operator()(absl::StatusOr<TimedOutcome> r) const {
    if (r.ok()) return std::move(r->result);
    if (absl::IsDeadlineExceeded(r.status())) return text_response(status);
    return std::move(r).status();
  }
};

}  // namespace detail

template <class S>
class Timeout {
 public:
  Timeout(S inner, weft::time::Duration timeout, http::StatusCode status)
      : inner_(std::move(inner)), timeout_(timeout), status_(status) {}

  // The inner readiness, unchanged (not bounded).
  auto ready() const requires tower::detail::HasReady<S> { return inner_.ready(); }
  auto try_ready() const requires requires(const S& s) { s.try_ready(); }
  { return inner_.try_ready(); }

  // The inner response, or the timeout answer once `timeout()` has passed.
  auto call(tower::permit_t<S> permit, HttpRequest req) const requires HttpService<S> {
    using Timed = Task<absl::StatusOr<detail::TimedOutcome>>;
    return tower::detail::Mapped<Timed, detail::TimeoutToResponse>(
        std::in_place,
        [&] {
          auto fut = inner_.call(std::move(permit), std::move(req));
          return weft::time::timeout(timeout_, detail::timed_child(std::move(fut)));
        },
        detail::TimeoutToResponse{status_});
  }

  weft::time::Duration timeout() const { return timeout_; }
  http::StatusCode status() const { return status_; }
  const S& inner() const { return inner_; }

 private:
  S inner_;
  weft::time::Duration timeout_;
  http::StatusCode status_;
};

class TimeoutLayer {
 public:
  // `status`: the answer on expiry (503 Service Unavailable; see the top comment).
  explicit TimeoutLayer(weft::time::Duration timeout,
                        http::StatusCode status = http::StatusCode::SERVICE_UNAVAILABLE)
      : timeout_(timeout), status_(status) {}

  template <class S>
  Timeout<S> layer(S inner) const {
    return Timeout<S>(std::move(inner), timeout_, status_);
  }

 private:
  weft::time::Duration timeout_;
  http::StatusCode status_;
};

}  // namespace weft::middleware

WEFT_TOWER_CORO_END
