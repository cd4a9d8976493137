// RetryBudget: caps retries at a share of requests plus a floor per second, over a sliding TTL
// window (Finagle's RetryBudget, tower's TpsBudget).
//
//   auto budget = std::make_shared<weft::tower::RetryBudget>(
//       std::chrono::seconds(10),   // ttl: deposits count for this long
//       10,                         // min_per_sec: retries always allowed per second
//       0.2);                       // retry_percent: +20% of requests may be retried
//   budget->deposit();              // once per request (RetryLayer does it)
//   if (budget->withdraw()) { /* may retry */ }
//
// Every request deposits; every retry withdraws. With retry_percent p, one retry costs 1/p
// requests' worth; the reserve of min_per_sec * ttl retries is always there. Deposits and
// withdrawals expire after ttl (10 slots of ttl/10). Thread-safe (a spin lock held for a few
// instructions); shared between every request of a service, and possibly between services.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>

#include "weft/runtime/sync/spin_lock.h"
#include "weft/runtime/time/clock.h"

namespace weft::tower {

class RetryBudget {
 public:
  // ttl is clamped to [1 s, 60 s] and retry_percent to [0, 1000] (tower's limits).
  RetryBudget(time::Duration ttl, std::uint32_t min_per_sec, double retry_percent) {
    if (ttl < std::chrono::seconds(1)) ttl = std::chrono::seconds(1);
    if (ttl > std::chrono::seconds(60)) ttl = std::chrono::seconds(60);
    if (!(retry_percent >= 0.0)) retry_percent = 0.0;  // also NaN
    if (retry_percent > 1000.0) retry_percent = 1000.0;
    if (retry_percent == 0.0) {
      deposit_amount_ = 0;
      withdraw_amount_ = 1;
    } else if (retry_percent <= 1.0) {
      deposit_amount_ = 1;
      withdraw_amount_ = static_cast<std::int64_t>(1.0 / retry_percent);
    } else {
      deposit_amount_ = 1000;
      withdraw_amount_ = static_cast<std::int64_t>(1000.0 / retry_percent);
    }
    if (withdraw_amount_ < 1) withdraw_amount_ = 1;
    slot_width_ = ttl / kSlots;
    if (slot_width_ <= time::Duration::zero()) slot_width_ = time::Duration(1);
    const double ttl_secs = std::chrono::duration<double>(ttl).count();
    reserve_ = static_cast<std::int64_t>(min_per_sec * ttl_secs) * withdraw_amount_;
    start_ = now();
    slot_end_ = start_ + slot_width_;
  }
  RetryBudget(const RetryBudget&) = delete;
  RetryBudget& operator=(const RetryBudget&) = delete;

  // One request was made.
  void deposit() {
    time::Instant t = now();
    std::lock_guard<weft::sync::SpinLock> lock(mu_);
    put(t, deposit_amount_);
  }

  // Takes one retry from the budget; false (and nothing taken) when it is spent.
  bool withdraw() {
    time::Instant t = now();
    std::lock_guard<weft::sync::SpinLock> lock(mu_);
    if (sum(t) < withdraw_amount_) return false;
    put(t, -withdraw_amount_);
    return true;
  }

  // How many retries could be withdrawn now.
  std::int64_t available() {
    time::Instant t = now();
    std::lock_guard<weft::sync::SpinLock> lock(mu_);
    std::int64_t s = sum(t);
    return s <= 0 ? 0 : s / withdraw_amount_;
  }

 private:
  static constexpr int kSlots = 10;

  // A tenth of a slot is precise enough: usually the cheap coarse clock
  // (weft/runtime/time/clock.h).
  time::Instant now() const { return time::now_within(slot_width_ / 10); }

  // Drops slots older than the window and returns the current generation. Within the current
  // slot (nearly every call) it is one comparison.
  std::int64_t expire(time::Instant t) {
    if (t < slot_end_) return gen_;
    const std::int64_t gen = (t - start_) / slot_width_;
    if (gen - gen_ >= kSlots) {
      slots_.fill(0);
    } else {
      for (std::int64_t g = gen_ + 1; g <= gen; ++g) slots_[g % kSlots] = 0;
    }
    if (gen > gen_) gen_ = gen;
    slot_end_ = start_ + slot_width_ * (gen_ + 1);
    return gen_;
  }
  void put(time::Instant t, std::int64_t amount) { slots_[expire(t) % kSlots] += amount; }
  std::int64_t sum(time::Instant t) {
    expire(t);
    std::int64_t s = reserve_;
    for (std::int64_t v : slots_) s += v;
    return s;
  }

  time::Instant start_;
  time::Instant slot_end_{};  // end of generation gen_'s slot
  time::Duration slot_width_{};
  std::int64_t deposit_amount_ = 0;
  std::int64_t withdraw_amount_ = 1;
  std::int64_t reserve_ = 0;
  weft::sync::SpinLock mu_;
  std::array<std::int64_t, kSlots> slots_{};
  std::int64_t gen_ = 0;
};

}  // namespace weft::tower
