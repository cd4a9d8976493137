// rate_limit: at most `num` calls per `per` window; ready() waits for the next window when the
// current one is spent.
//
//   auto svc = weft::tower::ServiceBuilder()
//                  .layer(weft::tower::RateLimitLayer(100, std::chrono::seconds(1)))
//                  .service(inner);
//   absl::StatusOr<std::string> r = co_await weft::tower::oneshot(svc, req);
//
// Windows are fixed and start at the first ready() after the previous window ended (as tower's
// RateLimit): within one window at most `num` permits are handed out; the next caller sleeps
// (weft::time::sleep_until) until the window ends, then a new window of `num` begins. ready()
// takes a token from the window and then awaits the inner service's readiness; the permit holds
// both. A permit dropped without a call gives its token back if its window is still current.
// The service is shared: ready()/call() are const and thread-safe (a spin lock held for a few
// instructions, never across a suspension). Windows are timed with weft::time::now_within(per /
// 100): the cheap coarse clock unless the window is too short for it. Errors are the inner
// service's.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/runtime/sync/spin_lock.h"
#include "weft/runtime/task/task.h"
#include "weft/runtime/time/clock.h"
#include "weft/runtime/time/sleep.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower {

namespace detail {

// The shared window of a RateLimit.
class RateState {
 public:
  RateState(std::uint64_t num, time::Duration per) : num_(num == 0 ? 1 : num), per_(per) {}

  // Takes a token from the current window: true and the window's end, or false and the instant
  // at which the next window may start.
  bool try_take(time::Instant& window_end) {
    time::Instant now = time::now_within(per_ / 100);
    std::lock_guard<weft::sync::SpinLock> lock(mu_);
    if (!started_ || now >= window_end_) {
      started_ = true;
      window_end_ = now + per_;
      remaining_ = num_;
    }
    window_end = window_end_;
    if (remaining_ == 0) return false;
    --remaining_;
    return true;
  }

  // Gives back a token taken from the window ending at `window_end`, if it is still current.
  void give_back(time::Instant window_end) {
    time::Instant now = time::now_within(per_ / 100);
    std::lock_guard<weft::sync::SpinLock> lock(mu_);
    if (started_ && window_end == window_end_ && now < window_end_ && remaining_ < num_) {
      ++remaining_;
    }
  }

  std::uint64_t num() const { return num_; }
  time::Duration per() const { return per_; }

 private:
  const std::uint64_t num_;
  const time::Duration per_;
  weft::sync::SpinLock mu_;
  bool started_ = false;
  time::Instant window_end_{};
  std::uint64_t remaining_ = 0;
};

}  // namespace detail

// The permit of RateLimit<S>: a token of the current window plus the inner service's permit.
template <class InnerPermit>
class RatePermit {
 public:
  RatePermit(detail::RateState* state, time::Instant window_end, InnerPermit inner)
      : state_(state), window_end_(window_end), inner_(std::move(inner)) {}
  RatePermit(RatePermit&& o) noexcept
      : state_(std::exchange(o.state_, nullptr)),
        window_end_(o.window_end_),
        inner_(std::move(o.inner_)) {}
  RatePermit& operator=(RatePermit&& o) noexcept {
    if (this != &o) {
      release();
      state_ = std::exchange(o.state_, nullptr);
      window_end_ = o.window_end_;
      inner_ = std::move(o.inner_);
    }
    return *this;
  }
  RatePermit(const RatePermit&) = delete;
  RatePermit& operator=(const RatePermit&) = delete;
  ~RatePermit() {
    if (state_ != nullptr) release();  // inline check: a moved-from permit costs nothing
  }

  time::Instant window_end() const { return window_end_; }
  // Spends the token (a call was made) and gives the inner permit.
  InnerPermit spend() && {
    state_ = nullptr;
    return std::move(inner_);
  }

 private:
  void release() {
    if (state_ != nullptr) std::exchange(state_, nullptr)->give_back(window_end_);
  }

  detail::RateState* state_;
  time::Instant window_end_;
  InnerPermit inner_;
};

template <class S>
class RateLimit {
 public:
  RateLimit(S inner, std::uint64_t num, time::Duration per)
      : inner_(std::move(inner)), state_(std::make_unique<detail::RateState>(num, per)) {}

  // Waits for a token of the current (or next) window, then for the inner service. Complete at
  // once (no frame) when a token is free and the inner readiness is complete at once.
  auto ready() const requires detail::ReadyGivesStatusOr<S> {
    using R = absl::StatusOr<RatePermit<permit_t<S>>>;
    using Fut = detail::ready_awaitable_t<S>;
    time::Instant window_end;
    if (!state_->try_take(window_end)) return detail::Eager<R>(wait_then_ready());
    // From here on the token is owned by `token` (given back if the inner readiness fails or the
    // caller goes away).
    RatePermit<NoPermit> token(state_.get(), window_end, NoPermit{});
    if constexpr (detail::Peekable<Fut>) {
      Fut inner = inner_.ready();
      if (inner.await_ready()) {
        return detail::eager_with<R>(
            [&] { return with_token(std::move(token), inner.await_resume()); });
      }
      return detail::Eager<R>(finish_ready(std::move(token), std::move(inner)));
    } else {
      return detail::Eager<R>(finish_ready(std::move(token), inner_.ready()));
    }
  }

  template <class Req>
  requires Service<S, Req>
  auto call(RatePermit<permit_t<S>> permit, Req req) const {
    return inner_.call(std::move(permit).spend(), std::move(req));
  }

  const S& inner() const { return inner_; }
  std::uint64_t num() const { return state_->num(); }
  time::Duration per() const { return state_->per(); }

 private:
  using Result = absl::StatusOr<RatePermit<permit_t<S>>>;

  // The permit for a token and the inner readiness result.
  Result with_token(RatePermit<NoPermit> token, absl::StatusOr<permit_t<S>> inner) const {
    if (!inner.ok()) return std::move(inner).status();  // `token` gives the token back
    time::Instant window_end = token.window_end();
    std::move(token).spend();
    return RatePermit<permit_t<S>>(state_.get(), window_end, *std::move(inner));
  }
  template <class Fut>
  Task<Result> finish_ready(RatePermit<NoPermit> token, Fut inner) const {
    co_return with_token(std::move(token), co_await std::move(inner));
  }
  Task<Result> wait_then_ready() const {
    time::Instant window_end;
    while (!state_->try_take(window_end)) co_await time::sleep_until(window_end);
    RatePermit<NoPermit> token(state_.get(), window_end, NoPermit{});
    co_return with_token(std::move(token), co_await inner_.ready());
  }

  S inner_;
  std::unique_ptr<detail::RateState> state_;  // stable address: permits point to it
};

class RateLimitLayer {
 public:
  // `num` calls (at least 1) per `per`.
  RateLimitLayer(std::uint64_t num, time::Duration per) : num_(num), per_(per) {}
  template <class S>
  RateLimit<S> layer(S inner) const {
    return RateLimit<S>(std::move(inner), num_, per_);
  }

 private:
  std::uint64_t num_;
  time::Duration per_;
};

template <class S>
RateLimit<S> rate_limit(S inner, std::uint64_t num, time::Duration per) {
  return RateLimit<S>(std::move(inner), num, per);
}

}  // namespace weft::tower

WEFT_TOWER_CORO_END
