// circuit_breaker: stop calling a failing service for a while, then probe it before trusting it
// again. (None of tower, tonic or hyper has one.)
//
//   weft::tower::CircuitBreakerOptions o;
//   o.consecutive_failures = 5;               // open after 5 failures in a row, or
//   o.failure_rate = 0.5;                     // >= 50% failures among the last
//   o.window = 20;                            //   20 calls (once at least
//   o.min_calls = 10;                         //   10 were seen)
//   o.open_duration = std::chrono::seconds(5);
//   o.half_open_probes = 3;
//   auto svc = weft::tower::ServiceBuilder()
//                  .layer(weft::tower::CircuitBreakerLayer(o))
//                  .service(inner);
//   absl::StatusOr<Resp> r = co_await weft::tower::oneshot(svc, req);
//   if (absl::IsUnavailable(r.status())) { ... }   // "circuit open": inner was not touched
//
// States (state() tells which one):
//   * kClosed: calls pass. Each finished call is recorded; the breaker opens when
//     `consecutive_failures` (> 0) failures come in a row, or when the last `window` (> 0) calls
//     hold at least `min_calls` results (0: the whole window) with a failure share >=
//     `failure_rate` (in (0, 1]; 0 disables it).
//   * kOpen: ready() fails at once with UNAVAILABLE "circuit open" and does not touch the inner
//     service. After `open_duration` the next ready() moves it to half-open.
//   * kHalfOpen: up to `half_open_probes` (>= 1) calls are let through (further ready() calls fail
//     fast with UNAVAILABLE "circuit open (half-open, probes in flight)"). When that many probes
//     succeed it closes (counters reset); the first failed probe reopens it for another
//     `open_duration`.
// A probe slot is taken by ready() and carried in the permit: a caller that gives up (drops the
// permit, is cancelled mid-call) gives it back without recording anything.
//
// What counts as a failure: a call whose status is not OK, unless `is_failure` is set (it sees
// the call's status, OK or not; e.g. count only UNAVAILABLE and DEADLINE_EXCEEDED). Errors from
// the inner ready() pass through and are not counted. Results of calls that began before the
// latest state change are ignored (a slow call from the closed era does not reopen a breaker
// that is already half-open).
//
// Thread-safe: the state is behind a std::mutex, held only for a few instructions, never across
// a suspension. Copies of the service share one breaker. Time comes from `clock` (steady_clock by
// default; tests inject a fake one). The permit points at the breaker: keep the service alive.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower {

enum class CircuitState { kClosed, kOpen, kHalfOpen };

struct CircuitBreakerOptions {
  std::size_t consecutive_failures = 5;  // 0: disabled
  double failure_rate = 0.0;             // in (0, 1]; 0: disabled
  std::size_t window = 0;                // calls the failure rate looks at
  std::size_t min_calls = 0;             // results needed in the window first; 0: window
  std::chrono::steady_clock::duration open_duration = std::chrono::seconds(5);
  std::size_t half_open_probes = 1;  // >= 1 (0 is treated as 1)
  // Non-null: true when a call's status counts as a failure. Null: !status.ok().
  std::function<bool(const absl::Status&)> is_failure;
  // Non-null: the time source (tests). Null: std::chrono::steady_clock::now.
  std::function<std::chrono::steady_clock::time_point()> clock;
};

namespace detail {

// The breaker's shared state; every member behind mu_.
class BreakerCore {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit BreakerCore(CircuitBreakerOptions o) : opts_(std::move(o)) {
    if (opts_.half_open_probes == 0) opts_.half_open_probes = 1;
    if (opts_.min_calls == 0 || opts_.min_calls > opts_.window) opts_.min_calls = opts_.window;
    window_.assign(opts_.window, false);
  }

  // A call admitted by ready(): the generation it belongs to and whether it is a probe.
  struct Ticket {
    uint64_t generation = 0;
    bool probe = false;
  };

  // ready(): admits a call, or UNAVAILABLE when open (or half-open with every probe out).
  absl::StatusOr<Ticket> admit() {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ == CircuitState::kOpen) {
      if (now() - opened_at_ < opts_.open_duration) {
        return absl::UnavailableError("circuit open");
      }
      enter(CircuitState::kHalfOpen);
    }
    if (state_ == CircuitState::kHalfOpen) {
      if (probes_out_ + probe_successes_ >= opts_.half_open_probes) {
        return absl::UnavailableError("circuit open (half-open, probes in flight)");
      }
      ++probes_out_;
      return Ticket{generation_, true};
    }
    return Ticket{generation_, false};
  }

  // A ticket given up without a result (permit dropped, call cancelled, inner ready() failed).
  void abandon(const Ticket& t) {
    if (!t.probe) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (t.generation == generation_ && probes_out_ > 0) --probes_out_;
  }

  void record(const Ticket& t, const absl::Status& status) {
    bool failed = opts_.is_failure ? opts_.is_failure(status) : !status.ok();
    std::lock_guard<std::mutex> lock(mu_);
    if (t.generation != generation_) return;  // began before the latest state change
    if (state_ == CircuitState::kHalfOpen) {
      if (probes_out_ > 0) --probes_out_;
      if (failed) {
        enter(CircuitState::kOpen);
      } else if (++probe_successes_ >= opts_.half_open_probes) {
        enter(CircuitState::kClosed);
      }
      return;
    }
    if (state_ != CircuitState::kClosed) return;
    consecutive_ = failed ? consecutive_ + 1 : 0;
    if (!window_.empty()) {
      if (window_count_ == window_.size()) {
        if (window_[window_next_]) --window_failures_;
      } else {
        ++window_count_;
      }
      window_[window_next_] = failed;
      if (failed) ++window_failures_;
      window_next_ = (window_next_ + 1) % window_.size();
    }
    bool trip = opts_.consecutive_failures > 0 && consecutive_ >= opts_.consecutive_failures;
    if (!trip && opts_.failure_rate > 0 && !window_.empty() && window_count_ >= opts_.min_calls &&
        window_count_ > 0) {
      trip = static_cast<double>(window_failures_) >=
             opts_.failure_rate * static_cast<double>(window_count_);
    }
    if (trip) enter(CircuitState::kOpen);
  }

  // The current state; an open breaker whose open_duration is over reads as kHalfOpen.
  CircuitState state() const {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ == CircuitState::kOpen && now() - opened_at_ >= opts_.open_duration) {
      return CircuitState::kHalfOpen;
    }
    return state_;
  }

 private:
  TimePoint now() const { return opts_.clock ? opts_.clock() : std::chrono::steady_clock::now(); }
  void enter(CircuitState s) {
    state_ = s;
    ++generation_;
    probes_out_ = 0;
    probe_successes_ = 0;
    if (s == CircuitState::kOpen) opened_at_ = now();
    if (s == CircuitState::kClosed) {
      consecutive_ = 0;
      window_count_ = 0;
      window_failures_ = 0;
      window_next_ = 0;
    }
  }

  CircuitBreakerOptions opts_;
  mutable std::mutex mu_;
  CircuitState state_ = CircuitState::kClosed;
  uint64_t generation_ = 0;
  TimePoint opened_at_{};
  std::size_t consecutive_ = 0;
  std::vector<bool> window_;
  std::size_t window_count_ = 0;
  std::size_t window_failures_ = 0;
  std::size_t window_next_ = 0;
  std::size_t probes_out_ = 0;
  std::size_t probe_successes_ = 0;
};

// Owns a ticket: gives it back on destruction unless a result was recorded.
class TicketGuard {
 public:
  TicketGuard(BreakerCore* core, BreakerCore::Ticket t) : core_(core), ticket_(t) {}
  TicketGuard(TicketGuard&& o) noexcept
      : core_(std::exchange(o.core_, nullptr)), ticket_(o.ticket_) {}
  TicketGuard& operator=(TicketGuard&& o) noexcept {
    if (this != &o) {
      reset();
      core_ = std::exchange(o.core_, nullptr);
      ticket_ = o.ticket_;
    }
    return *this;
  }
  TicketGuard(const TicketGuard&) = delete;
  TicketGuard& operator=(const TicketGuard&) = delete;
  ~TicketGuard() { reset(); }

  void record(const absl::Status& s) {
    if (core_ != nullptr) std::exchange(core_, nullptr)->record(ticket_, s);
  }

 private:
  void reset() {
    if (core_ != nullptr) std::exchange(core_, nullptr)->abandon(ticket_);
  }
  BreakerCore* core_;
  BreakerCore::Ticket ticket_;
};

}  // namespace detail

template <class S>
class CircuitBreaker {
 public:
  // The admission (a probe slot when half-open) plus the inner service's permit.
  struct Permit {
    detail::TicketGuard ticket;
    permit_t<S> inner;
  };

  CircuitBreaker(S inner, CircuitBreakerOptions opts)
      : inner_(std::move(inner)), core_(std::make_shared<detail::BreakerCore>(std::move(opts))) {}

  // UNAVAILABLE "circuit open" at once when open (the inner service is not touched); otherwise
  // the inner ready() (its errors pass through, uncounted).
  Task<absl::StatusOr<Permit>> ready() const {
    absl::StatusOr<detail::BreakerCore::Ticket> t = core_->admit();
    if (!t.ok()) co_return t.status();
    detail::TicketGuard guard(core_.get(), *t);
    absl::StatusOr<permit_t<S>> inner = co_await inner_.ready();
    if (!inner.ok()) co_return std::move(inner).status();
    co_return Permit{std::move(guard), *std::move(inner)};
  }

  // The inner call; its result is recorded when it completes.
  template <class Req>
  requires Service<S, Req> Task<absl::StatusOr<response_t<S, Req>>> call(Permit permit, Req req)
  const {
    return run<Req>(&inner_, std::move(permit.ticket), std::move(permit.inner), std::move(req));
  }

  CircuitState state() const { return core_->state(); }
  const S& inner() const { return inner_; }

 private:
  template <class Req>
  static Task<absl::StatusOr<response_t<S, Req>>> run(const S* inner, detail::TicketGuard ticket,
                                                      permit_t<S> p, Req req) {
    absl::StatusOr<response_t<S, Req>> r = co_await inner->call(std::move(p), std::move(req));
    ticket.record(r.status());
    co_return r;
  }

  S inner_;
  std::shared_ptr<detail::BreakerCore> core_;
};

class CircuitBreakerLayer {
 public:
  using Options = CircuitBreakerOptions;
  explicit CircuitBreakerLayer(CircuitBreakerOptions opts) : opts_(std::move(opts)) {}
  // Each service built gets its own breaker.
  template <class S>
  CircuitBreaker<S> layer(S inner) const {
    return CircuitBreaker<S>(std::move(inner), opts_);
  }

 private:
  CircuitBreakerOptions opts_;
};

template <class S>
CircuitBreaker<S> circuit_breaker(S inner, CircuitBreakerOptions opts) {
  return CircuitBreakerLayer(std::move(opts)).layer(std::move(inner));
}

}  // namespace weft::tower

WEFT_TOWER_CORO_END
