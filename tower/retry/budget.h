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
// withdrawals expire after ttl (10 slots of ttl/10). Thread-safe; shared between every request
// of a service, and possibly between services.
//
// deposit() is on every request's path, so it takes no lock and does no atomic
// read-modify-write: each thread (weft::sync::this_thread_index(), up to 32 live threads)
// adds to its own row of slots, which only it writes; threads beyond that, and every
// withdrawal, use a shared row under a spin lock. withdraw() and available() add up all rows.
// A withdrawal that races a deposit rolling its row over to a new slot may count that slot as
// zero or as already rolled: the budget is approximate by about one slot of one thread, as
// tower's is.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

#include "weft/runtime/sync/spin_lock.h"
#include "weft/runtime/sync/thread_index.h"
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
  }
  RetryBudget(const RetryBudget&) = delete;
  RetryBudget& operator=(const RetryBudget&) = delete;

  // One request was made.
  void deposit() {
    if (deposit_amount_ == 0) return;
    time::Instant t = now();
    const int i = weft::sync::this_thread_index();
    if (i < kRows) {
      add(rows_[i], t, deposit_amount_);  // this thread's own row
      return;
    }
    std::lock_guard<weft::sync::SpinLock> lock(mu_);
    add(shared_, t, deposit_amount_);
  }

  // Takes one retry from the budget; false (and nothing taken) when it is spent.
  bool withdraw() {
    time::Instant t = now();
    std::lock_guard<weft::sync::SpinLock> lock(mu_);
    if (sum(t) < withdraw_amount_) return false;
    add(shared_, t, -withdraw_amount_);
    return true;
  }

  // How many retries could be withdrawn now.
  std::int64_t available() const {
    std::int64_t s = sum(now());
    return s <= 0 ? 0 : s / withdraw_amount_;
  }

 private:
  static constexpr int kSlots = 10;
  static constexpr int kRows = 32;

  // One writer's deposits (or withdrawals), by slot: slot g % kSlots holds generation g's, for
  // the kSlots generations up to `gen`. `slot_end` (the end of gen's slot) is the writer's alone.
  struct alignas(64) Row {
    std::atomic<std::int64_t> gen{0};
    std::array<std::atomic<std::int64_t>, kSlots> slots{};
    time::Instant slot_end{};
    std::atomic<std::int64_t>* current = &slots[0];  // slots[gen % kSlots]
  };

  // A tenth of a slot is precise enough: usually the cheap coarse clock
  // (weft/runtime/time/clock.h).
  time::Instant now() const { return time::now_within(slot_width_ / 10); }
  std::int64_t generation(time::Instant t) const {
    return t <= start_ ? 0 : (t - start_) / slot_width_;
  }

  // Adds to the row's slot for t. Only the row's writer calls this (a row's own thread, or the
  // holder of mu_ for the shared row), so a plain load and store suffice.
  void add(Row& r, time::Instant t, std::int64_t amount) {
    if (t >= r.slot_end) roll(r, t);
    r.current->store(r.current->load(std::memory_order_relaxed) + amount,
                     std::memory_order_relaxed);
  }
  // Moves the row to t's generation, clearing the slots it skips (their generations expired).
  [[gnu::noinline]] void roll(Row& r, time::Instant t) {
    const std::int64_t gen = generation(t);
    const std::int64_t old = r.gen.load(std::memory_order_relaxed);
    if (gen > old) {
      for (std::int64_t g = std::max(old + 1, gen - kSlots + 1); g <= gen; ++g) {
        r.slots[g % kSlots].store(0, std::memory_order_relaxed);
      }
      r.gen.store(gen, std::memory_order_release);
      r.current = &r.slots[gen % kSlots];
    }
    r.slot_end = start_ + slot_width_ * (std::max(gen, old) + 1);
  }
  // The reserve plus every row's slots that have not expired at t.
  std::int64_t sum(time::Instant t) const {
    const std::int64_t oldest = std::max<std::int64_t>(generation(t) - kSlots + 1, 0);
    std::int64_t s = reserve_;
    auto add_row = [&](const Row& r) {
      const std::int64_t gen = r.gen.load(std::memory_order_acquire);
      for (std::int64_t g = std::max(gen - kSlots + 1, oldest); g <= gen; ++g) {
        s += r.slots[g % kSlots].load(std::memory_order_relaxed);
      }
    };
    for (const Row& r : rows_) add_row(r);
    add_row(shared_);
    return s;
  }

  time::Instant start_;
  time::Duration slot_width_{};
  std::int64_t deposit_amount_ = 0;
  std::int64_t withdraw_amount_ = 1;
  std::int64_t reserve_ = 0;
  std::array<Row, kRows> rows_;
  weft::sync::SpinLock mu_;  // guards shared_'s writes
  Row shared_;
};

}  // namespace weft::tower
