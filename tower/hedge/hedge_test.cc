// Hedge: a slow original is hedged, the fast copy wins and the original's frame is destroyed; a
// fast original is never hedged; requests the policy will not clone are never hedged; no
// hedging before min_samples in percentile mode, then hedging at the percentile; the budget
// bounds hedges; a failing copy does not beat the original.
#define BOOST_TEST_MODULE hedge_test
#include "weft/tower/hedge/hedge.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <limits>
#include <memory>
#include <optional>

#include "weft/runtime/runtime.h"
#include "weft/runtime/sync/semaphore.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/tower/retry/budget.h"
#include "weft/tower/service_builder.h"
#include "weft/tower/testing/gated.h"

using namespace std::chrono_literals;
using weft::Task;
namespace tower = weft::tower;

namespace {

using weft::tower::testing::call_task;
using weft::tower::testing::settle;

// Requests from `fail_from` on fail at once. Of the others, the next `slow` calls wait for the
// gate (their frames set `slow_dropped` when destroyed) and the rest answer x + 1000 * (their
// call number) at once.
struct Backend {
  std::shared_ptr<weft::sync::Semaphore> gate = std::make_shared<weft::sync::Semaphore>(0);
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> slow = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<bool>> slow_dropped = weft::testing::drop_flag();
  int fail_from = std::numeric_limits<int>::max();

  tower::AlwaysReady ready() const { return tower::always_ready(); }
  Task<absl::StatusOr<int>> call(tower::NoPermit, int x) const {
    const int n = calls->fetch_add(1);
    if (x >= fail_from) co_return absl::UnavailableError("copy failed");
    int s = slow->load();
    while (s > 0 && !slow->compare_exchange_weak(s, s - 1)) {
    }
    if (s > 0) {
      weft::testing::DropFlag on_drop(slow_dropped);
      absl::StatusOr<weft::sync::SemaphorePermit> pass = co_await gate->acquire();
      if (!pass.ok()) co_return pass.status();
      pass->forget();  // one permit lets one slow call through
      co_return x;
    }
    co_return x + 1000 * n;
  }
};

struct CloneAll {
  std::optional<int> operator()(const int& x) const { return x; }
};
// The copy of x is x + 100 (to tell it from the original whichever reaches the backend first).
struct MarkCopy {
  std::optional<int> operator()(const int& x) const { return x + 100; }
};
// Odd requests are "not idempotent".
struct CloneEven {
  std::optional<int> operator()(const int& x) const {
    if (x % 2 != 0) return std::nullopt;
    return x;
  }
};

tower::HedgeOptions fixed(weft::time::Duration d) {
  tower::HedgeOptions o;
  o.delay = d;
  return o;
}

Task<absl::Status> slow_original_is_hedged() {
  Backend b;
  b.slow->store(1);
  auto svc = tower::ServiceBuilder().layer(tower::HedgeLayer(CloneAll{}, fixed(5ms))).service(b);
  auto t = tower::oneshot(svc, 7);
  absl::StatusOr<int> r = co_await std::move(t);
  WEFT_CO_CHECK(r.ok() && *r == 1007);    // the copy (call #1) answered
  WEFT_CO_CHECK(b.calls->load() == 2);    // original + copy
  WEFT_CO_CHECK(b.slow_dropped->load());  // the original's frame is gone already
  WEFT_CO_CHECK(svc.hedges_sent() == 1u);
  WEFT_CO_CHECK(b.gate->available_permits() == 0u);
  co_return absl::OkStatus();
}

Task<absl::Status> fast_original_never_hedged() {
  Backend b;
  auto svc = tower::hedge(b, CloneAll{}, fixed(20ms));
  for (int i = 0; i < 50; ++i) {
    auto t = tower::oneshot(svc, i);
    absl::StatusOr<int> r = co_await std::move(t);
    WEFT_CO_CHECK(r.ok() && *r == i + 1000 * i);
  }
  co_await settle(40ms);  // longer than the delay: no late copy either
  WEFT_CO_CHECK(b.calls->load() == 50);
  WEFT_CO_CHECK(svc.hedges_sent() == 0u);
  co_return absl::OkStatus();
}

Task<absl::Status> non_clonable_is_never_hedged() {
  Backend b;
  b.slow->store(1);
  auto svc = tower::hedge(b, CloneEven{}, fixed(1ms));
  auto h = weft::spawn(call_task(&svc, 3));  // odd: must not be sent twice
  co_await settle(30ms);
  WEFT_CO_CHECK(b.calls->load() == 1 && !h.is_finished());
  WEFT_CO_CHECK(svc.hedges_sent() == 0u);
  b.gate->add_permits(1);
  absl::StatusOr<absl::StatusOr<int>> r = co_await h;
  WEFT_CO_CHECK(r.ok() && r->ok() && **r == 3);
  WEFT_CO_CHECK(b.calls->load() == 1);
  // An even request is hedged by the same service.
  b.slow->store(1);
  auto t = tower::oneshot(svc, 4);
  absl::StatusOr<int> even = co_await std::move(t);
  WEFT_CO_CHECK(even.ok() && *even == 4 + 1000 * 2);
  WEFT_CO_CHECK(svc.hedges_sent() == 1u);
  co_return absl::OkStatus();
}

Task<absl::Status> percentile_needs_min_samples() {
  Backend b;
  tower::HedgeOptions o;
  o.percentile = 0.9;
  o.min_samples = 10;
  auto svc = tower::hedge(b, CloneAll{}, o);
  WEFT_CO_CHECK(!svc.current_delay().has_value());
  // Too few samples: a slow call is not hedged.
  b.slow->store(1);
  const weft::time::Instant slow_start = weft::time::Clock::now();
  auto h = weft::spawn(call_task(&svc, 1));
  co_await settle(20ms);
  WEFT_CO_CHECK(b.calls->load() == 1 && svc.hedges_sent() == 0u);
  b.gate->add_permits(1);
  absl::StatusOr<absl::StatusOr<int>> r = co_await h;
  const weft::time::Duration slow_latency = weft::time::Clock::now() - slow_start;
  WEFT_CO_CHECK(r.ok() && r->ok() && **r == 1);
  // 1 sample so far (the slow one, at least 20 ms); 9 fast ones make 10: the 90th percentile is
  // a fast one (the slow sample is the 100th), shorter than the slow one even when a loaded
  // machine delays a fast call by milliseconds.
  for (int i = 0; i < 9; ++i) {
    auto t = tower::oneshot(svc, 0);
    absl::StatusOr<int> ok = co_await std::move(t);
    WEFT_CO_CHECK(ok.ok());
  }
  std::optional<weft::time::Duration> d = svc.current_delay();
  WEFT_CO_CHECK(d.has_value() && *d < slow_latency);
  b.slow->store(1);
  auto t = tower::oneshot(svc, 5);
  absl::StatusOr<int> hedged = co_await std::move(t);
  WEFT_CO_CHECK(hedged.ok() && *hedged == 5 + 1000 * 11);
  WEFT_CO_CHECK(svc.hedges_sent() == 1u && b.slow_dropped->load());
  co_return absl::OkStatus();
}

Task<absl::Status> budget_limits_hedges() {
  Backend b;
  tower::HedgeOptions o = fixed(1ms);
  o.budget = std::make_shared<tower::RetryBudget>(1s, 0, 0.0);  // allows no hedge at all
  auto svc = tower::hedge(b, CloneAll{}, o);
  b.slow->store(1);
  auto h = weft::spawn(call_task(&svc, 2));
  co_await settle(20ms);
  WEFT_CO_CHECK(b.calls->load() == 1 && svc.hedges_sent() == 0u && !h.is_finished());
  b.gate->add_permits(1);
  absl::StatusOr<absl::StatusOr<int>> r = co_await h;
  WEFT_CO_CHECK(r.ok() && r->ok() && **r == 2);
  co_return absl::OkStatus();
}

Task<absl::Status> failing_copy_does_not_win() {
  Backend b;
  // The copy fails at once and the original waits, whichever the backend sees first (select runs
  // them as two tasks: on a loaded multi-thread runtime the copy may start first).
  b.fail_from = 100;
  auto svc = tower::hedge(b, MarkCopy{}, fixed(1ms));
  b.slow->store(1);
  auto h = weft::spawn(call_task(&svc, 6));
  while (b.calls->load() < 2) co_await weft::yield_now();  // the copy was sent and failed
  co_await settle(5ms);
  WEFT_CO_CHECK(!h.is_finished() && svc.hedges_sent() == 1u);
  b.gate->add_permits(1);
  absl::StatusOr<absl::StatusOr<int>> r = co_await h;
  WEFT_CO_CHECK(r.ok() && r->ok() && **r == 6);  // the original's answer
  co_return absl::OkStatus();
}

Task<absl::Status> cancelling_the_call_cancels_both() {
  Backend b;
  b.slow->store(2);  // original and copy both wait
  auto svc = tower::hedge(b, CloneAll{}, fixed(1ms));
  auto h = weft::spawn(call_task(&svc, 1));
  while (b.calls->load() < 2) co_await weft::yield_now();
  h.abort();
  absl::StatusOr<absl::StatusOr<int>> r = co_await h;
  WEFT_CO_CHECK(absl::IsCancelled(r.status()));
  co_await settle();
  WEFT_CO_CHECK(b.gate->available_permits() == 0u && b.calls->load() == 2);
  b.gate->add_permits(2);  // nobody is left to take them
  co_await settle();
  WEFT_CO_CHECK(b.gate->available_permits() == 2u);
  co_return absl::OkStatus();
}

void run_all_flavors(Task<absl::Status> (*f)()) {
  absl::Status st = weft::testing::run_in_all_flavors(f);
  BOOST_TEST(st.ok(), st.ToString());
}

}  // namespace

BOOST_AUTO_TEST_CASE(slow_original_is_hedged_fast_copy_wins_original_cancelled) {
  run_all_flavors(&slow_original_is_hedged);
}

BOOST_AUTO_TEST_CASE(fast_original_is_never_hedged) {
  run_all_flavors(&fast_original_never_hedged);
}

BOOST_AUTO_TEST_CASE(non_clonable_requests_are_never_hedged) {
  run_all_flavors(&non_clonable_is_never_hedged);
}

BOOST_AUTO_TEST_CASE(percentile_delay_needs_min_samples) {
  run_all_flavors(&percentile_needs_min_samples);
}

BOOST_AUTO_TEST_CASE(budget_bounds_hedges) { run_all_flavors(&budget_limits_hedges); }

BOOST_AUTO_TEST_CASE(a_failing_copy_does_not_beat_the_original) {
  run_all_flavors(&failing_copy_does_not_win);
}

BOOST_AUTO_TEST_CASE(cancelling_the_call_cancels_both_copies) {
  run_all_flavors(&cancelling_the_call_cancels_both);
}

BOOST_AUTO_TEST_CASE(latency_window_percentile) {
  tower::detail::LatencyWindow w(100);
  BOOST_TEST(!w.percentile(0.5, 1).has_value());
  for (int i = 1; i <= 100; ++i) w.record(std::chrono::milliseconds(i));
  BOOST_TEST(w.percentile(0.9, 100).value() == std::chrono::milliseconds(90));
  BOOST_TEST(!w.percentile(0.9, 101).has_value());
  tower::detail::LatencyWindow fresh(100);
  for (int i = 1; i <= 100; ++i) fresh.record(std::chrono::milliseconds(i));
  BOOST_TEST(fresh.percentile(1.0, 1).value() == std::chrono::milliseconds(100));
  // The window keeps the last 100: 100 more samples of 1 ms replace them all.
  for (int i = 0; i < 100; ++i) fresh.record(std::chrono::milliseconds(1));
  BOOST_TEST(fresh.percentile(1.0, 1).value() == std::chrono::milliseconds(1));
}
