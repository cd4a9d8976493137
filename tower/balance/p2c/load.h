// Load metrics for the p2c balancer (tower's balance::load): one instance per endpoint, shared by
// every request that picks it.
//
//   weft::tower::balance::PeakEwma ewma({.default_rtt = 5ms, .decay = 1s});
//   ewma.start();                                    // a request picked the endpoint
//   double c = ewma.cost(weft::time::Clock::now());  // rtt estimate (ns) * (pending + 1)
//   ewma.finish(12ms, weft::time::Clock::now());     // it ended; the rtt sample updates the
//   estimate
//
// Both metrics have the same shape, which is all Balance needs (the `LoadMetric` concept):
//   * `Options`, and a constructor `(const Options&, time::Instant now)`;
//   * `start()`: a request is now pending on the endpoint (Balance calls it when ready() picks
//     the endpoint, so that concurrent pickers see it before the call is sent);
//   * `finish(std::optional<time::Duration> rtt, time::Instant now)`: that request is over; `rtt`
//     is the call's latency when it completed, nullopt when it never completed (permit dropped,
//     call cancelled), which changes the count but not the latency estimate;
//   * `cost(time::Instant now) const`: lower is better. Thread-safe, called by many pickers.
//
// PendingRequests: cost = requests in flight (tower's PendingRequests). Cheap, no clock.
// PeakEwma (tower's PeakEwma, after Finagle): cost = rtt_estimate * (pending + 1), where the
// estimate is an exponentially weighted moving average of call latency that jumps at once to a
// sample above it ("peak") and otherwise moves towards samples with weight 1 - exp(-elapsed /
// decay); with no samples it decays towards 0 at the same rate, so an idle endpoint that was
// slow is tried again eventually. `elapsed` is the time since the estimate's last update.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <mutex>
#include <optional>

#include "weft/runtime/time/time_driver.h"

namespace weft::tower::balance {

template <class L>
concept LoadMetric = requires(L& l, const L& cl, const typename L::Options& o,
                              std::optional<time::Duration> rtt, time::Instant now) {
  L(o, now);
  l.start();
  l.finish(rtt, now);
  { cl.cost(now) } -> std::convertible_to<double>;
};

// cost = number of requests in flight on the endpoint (picked and not finished).
class PendingRequests {
 public:
  struct Options {};

  explicit PendingRequests(const Options& = {}, time::Instant = {}) {}
  PendingRequests(const PendingRequests&) = delete;
  PendingRequests& operator=(const PendingRequests&) = delete;

  // Relaxed: the count is a heuristic read by pickers; nothing else is published through it.
  void start() { pending_.fetch_add(1, std::memory_order_relaxed); }
  void finish(std::optional<time::Duration>, time::Instant) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
  }
  double cost(time::Instant = {}) const { return static_cast<double>(pending()); }
  std::size_t pending() const { return pending_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::size_t> pending_{0};
};

struct PeakEwmaOptions {
  // The estimate of a new endpoint, before any sample (tower's default_rtt). A high value
  // makes new endpoints look slow until proven fast; a low one sends them traffic at once.
  time::Duration default_rtt = std::chrono::milliseconds(30);
  // Time constant of the average (tower's decay_ns): a sample's weight falls to 1/e after
  // this long. Clamped to at least 1 ns.
  time::Duration decay = std::chrono::seconds(10);
};

// cost = peak-sensitive EWMA of latency (ns) * (pending + 1).
class PeakEwma {
 public:
  using Options = PeakEwmaOptions;

  explicit PeakEwma(const Options& o = {}, time::Instant now = time::Clock::now())
      : decay_ns_(std::max<double>(1.0, nanos(o.decay))),
        rtt_ns_(std::max(0.0, nanos(o.default_rtt))),
        update_at_(now) {}
  PeakEwma(const PeakEwma&) = delete;
  PeakEwma& operator=(const PeakEwma&) = delete;

  void start() { pending_.fetch_add(1, std::memory_order_relaxed); }
  void finish(std::optional<time::Duration> rtt, time::Instant now) {
    if (rtt.has_value()) {
      std::lock_guard<std::mutex> lock(mu_);
      update(std::max(0.0, nanos(*rtt)), now);
    }
    pending_.fetch_sub(1, std::memory_order_relaxed);
  }
  // Decays the estimate to `now` (as tower does on every load read), then weighs it by the
  // requests in flight. +1 so that an idle endpoint still compares by latency.
  double cost(time::Instant now) const {
    const double pending = static_cast<double>(pending_.load(std::memory_order_relaxed));
    return rtt_estimate_ns(now) * (pending + 1.0);
  }
  // The latency estimate in nanoseconds, decayed to `now`.
  double rtt_estimate_ns(time::Instant now) const {
    std::lock_guard<std::mutex> lock(mu_);
    return update(0.0, now);  // a zero sample: decays towards 0, never a peak
  }
  std::size_t pending() const { return pending_.load(std::memory_order_relaxed); }

 private:
  static double nanos(time::Duration d) {
    return std::chrono::duration<double, std::nano>(d).count();
  }

  // Requires mu_. Samples from several threads may arrive slightly out of order: elapsed time
  // is clamped at 0 and the update time never goes back.
  double update(double rtt_ns, time::Instant now) const {
    if (rtt_ns > rtt_ns_) {
      rtt_ns_ = rtt_ns;  // peak: believe a slow sample at once
    } else {
      const double elapsed = std::max(0.0, nanos(now - update_at_));
      const double decay = std::exp(-elapsed / decay_ns_);
      rtt_ns_ = rtt_ns_ * decay + rtt_ns * (1.0 - decay);
    }
    update_at_ = std::max(update_at_, now);
    return rtt_ns_;
  }

  const double decay_ns_;
  std::atomic<std::size_t> pending_{0};
  mutable std::mutex mu_;
  mutable double rtt_ns_;            // guarded by mu_
  mutable time::Instant update_at_;  // guarded by mu_
};

static_assert(LoadMetric<PendingRequests>);
static_assert(LoadMetric<PeakEwma>);

}  // namespace weft::tower::balance
