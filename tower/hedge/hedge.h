// hedge: sends a second copy of a slow request and takes whichever answers first (tower's
// Hedge, Dean & Barroso's "hedged requests").
//
//   auto svc = weft::tower::ServiceBuilder()
//                  .layer(weft::tower::HedgeLayer(
//                      [](const Get& g) { return std::optional<Get>(g); },  // GETs are idempotent
//                      {.percentile = 0.95, .min_samples = 100, .budget = budget}))
//                  .service(backend);
//   absl::StatusOr<Resp> r = co_await weft::tower::oneshot(svc, get);
//
// What happens to a call:
//   1. `clone_request(const Req&) -> std::optional<Req>` (the policy) is asked for a copy; nullopt
//      means the request must not be sent twice (not idempotent, or not worth it): the call goes
//      to the inner service once, unchanged. So does a call while there is no delay yet (see 3).
//   2. Otherwise the original call starts at once, with the permit given by ready() (Hedge's
//      ready() is the inner service's), and a timer runs alongside it.
//   3. If the original has not completed after the delay (`delay`, or else the `percentile` of
//      the latencies of the last `window` successful inner calls once `min_samples` were seen),
//      and the budget allows (`budget->withdraw()`; every call deposits), the copy is sent to
//      the same inner service: it awaits its own inner ready() first.
//   4. The first of the two to complete with a result is the answer, and the other is cancelled
//      (its coroutine frame destroyed, as weft::select does) before call() returns. The copy only
//      counts if it succeeds: a copy whose ready() or call() fails keeps waiting for the original
//      (the original is the request; the copy is a spare), so an error is always the original's.
//      A timer that fires after the original completed sends nothing.
// Cancelling the call cancels both copies.
//
// Latencies are each inner call's own (ready() excluded), recorded on success only: an error's
// latency says nothing about how long an answer takes. Cancelled calls record nothing.
//
// Cost: a call without a copy takes two frames (Hedge's and the timing one). A hedgeable call
// runs both copies as child tasks under weft::select: two spawns plus the timer, so keep hedging
// to requests where tail latency matters. The budget bounds the extra load (RetryBudget from
// tower/retry: e.g. `RetryBudget(10s, 1, 0.1)` allows hedges for 10% of requests plus one per
// second); without a budget every slow hedgeable call is hedged.
//
// Thread-safe; copies of a Hedge share the latency window and counters. The policy is called as
// const, perhaps from several tasks at once.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "weft/runtime/sync/notify.h"
#include "weft/runtime/task/select.h"
#include "weft/runtime/task/task.h"
#include "weft/runtime/time/sleep.h"
#include "weft/runtime/time/time_driver.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/retry/budget.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower {

struct HedgeOptions {
  // A fixed hedge delay. When unset, the delay is the `percentile` of recent latencies.
  std::optional<time::Duration> delay;
  // Which latency percentile to wait for, in (0, 1]: with 0.9, about 10% of calls are hedged.
  double percentile = 0.9;
  // No hedging (percentile mode) before this many successful calls were timed: a percentile of a
  // handful of samples is noise.
  std::size_t min_samples = 20;
  // How many recent latencies the percentile is taken over (at least 1).
  std::size_t window = 256;
  // Bounds the extra load: every call deposits, every hedge withdraws. Null: no bound.
  std::shared_ptr<RetryBudget> budget;
};

namespace detail {

// The last `capacity` latencies and a cached percentile, recomputed (nth_element over a copy,
// O(capacity)) after every capacity/16 new samples, so a read is usually a lock and a load.
class LatencyWindow {
 public:
  explicit LatencyWindow(std::size_t capacity)
      : ring_(std::max<std::size_t>(1, capacity)),
        recompute_every_(std::max<std::size_t>(1, ring_.size() / 16)) {}

  void record(time::Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    ring_[count_ % ring_.size()] = d;
    ++count_;
    ++since_;
  }

  std::optional<time::Duration> percentile(double p, std::size_t min_samples) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::size_t n = std::min(count_, ring_.size());
    if (n == 0 || n < min_samples) return std::nullopt;
    if (cached_.has_value() && since_ < recompute_every_) return cached_;
    scratch_.assign(ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(n));
    if (!(p > 0.0)) p = 0.0;  // also NaN
    if (p > 1.0) p = 1.0;
    std::size_t k = static_cast<std::size_t>(std::ceil(p * static_cast<double>(n)));
    k = k == 0 ? 0 : std::min(k - 1, n - 1);
    std::nth_element(scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(k),
                     scratch_.end());
    cached_ = scratch_[k];
    since_ = 0;
    return cached_;
  }

 private:
  std::mutex mu_;
  std::vector<time::Duration> ring_;      // guarded by mu_
  std::vector<time::Duration> scratch_;   // guarded by mu_; reused, no allocation per read
  std::size_t count_ = 0;                 // guarded by mu_
  std::size_t since_ = 0;                 // guarded by mu_: samples since cached_
  std::optional<time::Duration> cached_;  // guarded by mu_
  const std::size_t recompute_every_;
};

}  // namespace detail

template <class S, class P>
class Hedge {
 public:
  Hedge(S inner, P clone_request, HedgeOptions options = {})
      : inner_(std::move(inner)),
        clone_(std::move(clone_request)),
        state_(std::make_shared<State>(std::move(options))) {}

  // The original call's readiness: the inner service's, unchanged.
  auto ready() const { return inner_.ready(); }

  // See the header comment. The policy must be callable as `std::optional<Req>(const Req&)`.
  template <class Req>
  requires Service<S, Req> && std::is_invocable_r_v < std::optional<Req>,
  const P&, const Req& >
                Task<absl::StatusOr<response_t<S, Req>>> call(permit_t<S> permit, Req req) const {
    return run<Req>(this, std::move(permit), std::move(req));
  }

  // Copies sent so far (after the delay, within the budget).
  std::size_t hedges_sent() const { return state_->hedges.load(std::memory_order_relaxed); }
  // The delay a hedgeable call would use now: nullopt while there are too few samples.
  std::optional<time::Duration> current_delay() const { return state_->delay(); }
  const S& inner() const { return inner_; }

 private:
  struct State {
    explicit State(HedgeOptions o) : options(std::move(o)), latencies(options.window) {}
    std::optional<time::Duration> delay() {
      if (options.delay.has_value()) return options.delay;
      return latencies.percentile(options.percentile, options.min_samples);
    }
    const HedgeOptions options;
    detail::LatencyWindow latencies;
    std::atomic<std::size_t> hedges{0};  // statistics only: relaxed
  };

  template <class Req>
  using Result = absl::StatusOr<response_t<S, Req>>;

  template <class Req>
  static Task<Result<Req>> run(const Hedge* self, permit_t<S> permit, Req req) {
    State* st = self->state_.get();
    if (st->options.budget != nullptr) st->options.budget->deposit();
    std::optional<time::Duration> delay = st->delay();
    std::optional<Req> copy;
    if (delay.has_value()) copy = self->clone_(std::as_const(req));
    if (!copy.has_value()) {
      Task<Result<Req>> once = timed_call<Req>(self, std::move(permit), std::move(req));
      co_return co_await std::move(once);
    }
    Task<Result<Req>> original = timed_call<Req>(self, std::move(permit), std::move(req));
    Task<Result<Req>> spare = hedge_after<Req>(self, *delay, *std::move(copy));
    Task<std::variant<Result<Req>, Result<Req>>> raced =
        weft::select(std::move(original), std::move(spare));
    std::variant<Result<Req>, Result<Req>> won = co_await std::move(raced);
    if (won.index() == 0) co_return std::move(std::get<0>(won));
    co_return std::move(std::get<1>(won));
  }

  // The inner call, timed: its latency is recorded when it succeeds.
  template <class Req>
  static Task<Result<Req>> timed_call(const Hedge* self, permit_t<S> permit, Req req) {
    const time::Instant start = time::Clock::now();
    auto fut = self->inner_.call(std::move(permit), std::move(req));
    Result<Req> r = co_await std::move(fut);
    if (r.ok()) self->state_->latencies.record(time::Clock::now() - start);
    co_return std::move(r);
  }

  // The copy: after `delay`, within the budget, ready() then call(). Parks (until select cancels
  // it) instead of completing when it must not or cannot answer: the original's result wins.
  template <class Req>
  static Task<Result<Req>> hedge_after(const Hedge* self, time::Duration delay, Req req) {
    State* st = self->state_.get();
    time::Sleep timer = time::sleep(delay);
    co_await timer;
    weft::sync::Notify never;  // notified by no one: awaiting it parks until cancelled
    const bool allowed = st->options.budget == nullptr || st->options.budget->withdraw();
    if (!allowed) {
      co_await never.notified();
      co_return absl::InternalError("hedge: unreachable");
    }
    st->hedges.fetch_add(1, std::memory_order_relaxed);
    auto ready = self->inner_.ready();
    absl::StatusOr<permit_t<S>> permit = co_await std::move(ready);
    if (!permit.ok()) {
      co_await never.notified();
      co_return std::move(permit).status();
    }
    Task<Result<Req>> t = timed_call<Req>(self, *std::move(permit), std::move(req));
    Result<Req> r = co_await std::move(t);
    if (!r.ok()) co_await never.notified();
    co_return std::move(r);
  }

  S inner_;
  P clone_;
  std::shared_ptr<State> state_;
};

// Wraps a service in Hedge; each service built gets its own latency window (the budget, a
// shared_ptr, is shared if the options are).
template <class P>
class HedgeLayer {
 public:
  explicit HedgeLayer(P clone_request, HedgeOptions options = {})
      : clone_(std::move(clone_request)), options_(std::move(options)) {}
  template <class S>
  Hedge<S, P> layer(S inner) const {
    return Hedge<S, P>(std::move(inner), clone_, options_);
  }

 private:
  P clone_;
  HedgeOptions options_;
};

template <class S, class P>
Hedge<S, P> hedge(S inner, P clone_request, HedgeOptions options = {}) {
  return Hedge<S, P>(std::move(inner), std::move(clone_request), std::move(options));
}

}  // namespace weft::tower

WEFT_TOWER_CORO_END
