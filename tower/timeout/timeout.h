// timeout: fails a call that takes longer than a duration with DEADLINE_EXCEEDED and cancels it.
//
//   auto svc = weft::tower::ServiceBuilder()
//                  .layer(weft::tower::TimeoutLayer(std::chrono::milliseconds(100)))
//                  .service(inner);
//   absl::StatusOr<Resp> r = co_await weft::tower::oneshot(svc, req);
//   if (absl::IsDeadlineExceeded(r.status())) { ... }   // the inner call has been destroyed
//
// The clock starts when call() is invoked (as tower's Timeout starts its sleep in `call`).
// On time: the inner response (or error) unchanged. Late: DEADLINE_EXCEEDED, and the inner call
// has been cancelled: its frame is destroyed (so whatever it held, e.g. a concurrency-limit
// permit, is released) before the caller resumes. An inner error that is itself
// DEADLINE_EXCEEDED passes through unchanged, so the code alone does not say which deadline hit.
//
// Readiness is NOT subject to the timeout (as in tower): ready() is the inner service's ready(),
// unchanged, and may wait for as long as the inner service applies backpressure. Bound it by
// awaiting `weft::time::timeout(d, ...)` around a task that calls ready() if that is wanted.
//
// The inner call runs as a child task of the current runtime (weft::time::timeout), so call()
// must be awaited inside a runtime. If the inner service has the optional
// `try_ready()` (see tower/load_shed/load_shed.h) it is forwarded.
#pragma once

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/task/task.h"
#include "weft/runtime/time/timeout.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower {

template <class S>
class Timeout {
 public:
  Timeout(S inner, weft::time::Duration timeout) : inner_(std::move(inner)), timeout_(timeout) {}

  // The inner readiness, unchanged (no timeout applies to it).
  auto ready() const requires detail::ReadyGivesStatusOr<S> { return inner_.ready(); }

  // Forwarded when the inner service can tell whether it is ready right now.
  auto try_ready() const requires requires(const S& s) { s.try_ready(); }
  { return inner_.try_ready(); }

  // Gives absl::StatusOr<response_t<S, Req>>: the inner response, or DEADLINE_EXCEEDED. An inner
  // call that is complete at once needs no timer and no frame (its result is simply passed on).
  template <class Req>
  requires Service<S, Req>
  auto call(permit_t<S> permit, Req req) const {
    using R = absl::StatusOr<response_t<S, Req>>;
    using Fut = detail::call_awaitable_t<S, Req>;
    Fut fut = inner_.call(std::move(permit), std::move(req));
    if constexpr (std::is_same_v<Fut, Task<R>>) {
      return detail::Eager<R>(weft::time::timeout(timeout_, std::move(fut)));
    } else {
      if constexpr (detail::Peekable<Fut>) {
        if (fut.await_ready()) return detail::eager_with<R>([&] { return fut.await_resume(); });
      }
      return detail::Eager<R>(weft::time::timeout(timeout_, own<R>(std::move(fut))));
    }
  }

  weft::time::Duration timeout() const { return timeout_; }
  const S& inner() const { return inner_; }

 private:
  // Turns any awaitable into a Task, so it can run as the child task weft::time::timeout aborts.
  template <class R, class Fut>
  static Task<R> own(Fut fut) {
    co_return co_await std::move(fut);
  }

  S inner_;
  weft::time::Duration timeout_;
};

class TimeoutLayer {
 public:
  explicit TimeoutLayer(weft::time::Duration timeout) : timeout_(timeout) {}
  template <class S>
  Timeout<S> layer(S inner) const {
    return Timeout<S>(std::move(inner), timeout_);
  }

 private:
  weft::time::Duration timeout_;
};

template <class S>
Timeout<S> timeout(S inner, weft::time::Duration d) {
  return TimeoutLayer(d).layer(std::move(inner));
}

}  // namespace weft::tower

WEFT_TOWER_CORO_END
