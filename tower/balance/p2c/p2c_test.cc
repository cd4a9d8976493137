// Balance (p2c): more load goes to the faster of two endpoints (both metrics); endpoints removed
// or replaced while requests are in flight finish them; an endpoint inserted later gets traffic;
// the empty set fails fast; failing endpoints are evicted; the load metrics' arithmetic.
#define BOOST_TEST_MODULE p2c_test
#include "weft/tower/balance/p2c/p2c.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "weft/runtime/runtime.h"
#include "weft/runtime/sync/mpsc.h"
#include "weft/runtime/sync/semaphore.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/time/sleep.h"
#include "weft/tower/balance/p2c/load.h"
#include "weft/tower/testing/gated.h"

using namespace std::chrono_literals;
using weft::Task;
namespace tower = weft::tower;
namespace balance = weft::tower::balance;
namespace mpsc = weft::sync::mpsc;

namespace {

using weft::tower::testing::Gated;

// Counts its calls; each takes `delay` (the latency under test).
struct Sleepy {
  weft::time::Duration delay;
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  tower::AlwaysReady ready() const { return tower::always_ready(); }
  Task<absl::StatusOr<int>> call(tower::NoPermit, int x) const {
    calls->fetch_add(1);
    co_await weft::time::sleep(delay);
    co_return x;
  }
};

// Its ready() fails when `broken`: the balancer must evict it.
struct Maybe {
  bool broken = false;
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  Task<absl::StatusOr<tower::NoPermit>> ready() const {
    if (broken) co_return absl::InternalError("broken");
    co_return tower::NoPermit{};
  }
  Task<absl::StatusOr<int>> call(tower::NoPermit, int x) const {
    calls->fetch_add(1);
    co_return x;
  }
};

// Each call waits for one permit of `gate` and consumes it (Gated's calls give theirs back), so
// the test lets calls finish one at a time.
struct Held {
  std::shared_ptr<weft::sync::Semaphore> gate = std::make_shared<weft::sync::Semaphore>(0);
  std::shared_ptr<std::atomic<int>> started = std::make_shared<std::atomic<int>>(0);
  tower::AlwaysReady ready() const { return tower::always_ready(); }
  Task<absl::StatusOr<int>> call(tower::NoPermit, int x) const {
    started->fetch_add(1);
    if (x == 0) co_return 0;
    absl::StatusOr<weft::sync::SemaphorePermit> pass = co_await gate->acquire();
    if (!pass.ok()) co_return pass.status();
    pass->forget();
    co_return x;
  }
};

template <class B>
Task<int> caller(const B* lb, int n) {
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    auto t = tower::oneshot(*lb, i);
    absl::StatusOr<int> r = co_await std::move(t);
    if (r.ok() && *r == i) ++ok;
  }
  co_return ok;
}

// 16 callers x 25 requests over a fast (1 ms) and a slow (10 ms) endpoint.
template <class L>
Task<absl::Status> faster_endpoint_gets_more(typename L::Options opts) {
  using Change = balance::Change<std::string, Sleepy>;
  auto [tx, rx] = mpsc::unbounded_channel<Change>();
  balance::Balance<std::string, Sleepy, L> lb(std::move(rx), opts);
  Sleepy fast{1ms};
  Sleepy slow{10ms};
  WEFT_CO_OK(tx.send(Change::insert("fast", fast)));
  WEFT_CO_OK(tx.send(Change::insert("slow", slow)));
  std::vector<weft::JoinHandle<int>> hs;
  for (int i = 0; i < 16; ++i) hs.push_back(weft::spawn(caller(&lb, 25)));
  int ok = 0;
  for (auto& h : hs) {
    absl::StatusOr<int> n = co_await h;
    WEFT_CO_CHECK(n.ok());
    ok += *n;
  }
  WEFT_CO_CHECK(ok == 400);
  const int f = fast.calls->load();
  const int s = slow.calls->load();
  WEFT_CO_CHECK(f + s == 400);
  if (f <= 260) {  // > 65% expected; p2c over two endpoints gives ~90% here
    co_return absl::InternalError(absl::StrCat("fast=", f, " slow=", s));
  }
  WEFT_CO_CHECK(lb.pending("fast") == 0u && lb.pending("slow") == 0u);
  co_return absl::OkStatus();
}

Task<absl::Status> removed_endpoint_finishes_in_flight() {
  using Change = balance::Change<std::string, Held>;
  auto [tx, rx] = mpsc::unbounded_channel<Change>();
  balance::Balance<std::string, Held> lb(std::move(rx));
  Held a;
  WEFT_CO_OK(tx.send(Change::insert("a", a)));
  auto h1 = weft::spawn(tower::testing::call_task(&lb, 7));
  auto h2 = weft::spawn(tower::testing::call_task(&lb, 8));
  while (a.started->load() < 2) co_await weft::yield_now();
  WEFT_CO_CHECK(lb.pending("a") == 2u);
  WEFT_CO_CHECK(a.gate.use_count() == 2);  // ours and the endpoint's copy
  WEFT_CO_OK(tx.send(Change::remove("a")));
  WEFT_CO_CHECK(lb.size() == 0u);
  absl::StatusOr<tower::permit_t<decltype(lb)>> none = co_await lb.ready();
  WEFT_CO_CHECK(absl::IsUnavailable(none.status()));
  WEFT_CO_CHECK(a.gate.use_count() == 2);  // removed from the set, alive for its two calls
  a.gate->add_permits(1);                  // one of the two calls (either) finishes
  while (!h1.is_finished() && !h2.is_finished()) co_await weft::yield_now();
  WEFT_CO_CHECK(a.gate.use_count() == 2);  // the other is still in flight
  a.gate->add_permits(1);
  absl::StatusOr<absl::StatusOr<int>> r1 = co_await h1;
  WEFT_CO_CHECK(r1.ok() && r1->ok() && **r1 == 7);
  absl::StatusOr<absl::StatusOr<int>> r2 = co_await h2;
  WEFT_CO_CHECK(r2.ok() && r2->ok() && **r2 == 8);
  WEFT_CO_CHECK(a.gate.use_count() == 1);  // the last call ended: the endpoint is gone

  // Replacing an endpoint under the same key: the old one also finishes its call.
  Held b1, b2;
  WEFT_CO_OK(tx.send(Change::insert("b", b1)));
  auto h3 = weft::spawn(tower::testing::call_task(&lb, 9));
  while (b1.started->load() < 1) co_await weft::yield_now();
  WEFT_CO_OK(tx.send(Change::insert("b", b2)));
  WEFT_CO_CHECK(lb.size() == 1u);
  WEFT_CO_CHECK(lb.pending("b") == 0u);  // the new endpoint's count
  auto quick = tower::oneshot(lb, 0);    // Held answers 0 at once
  absl::StatusOr<int> q = co_await std::move(quick);
  WEFT_CO_CHECK(q.ok() && b2.started->load() == 1 && b1.started->load() == 1);
  b1.gate->add_permits(1);
  absl::StatusOr<absl::StatusOr<int>> r3 = co_await h3;
  WEFT_CO_CHECK(r3.ok() && r3->ok() && **r3 == 9);
  WEFT_CO_CHECK(b1.gate.use_count() == 1 && b2.gate.use_count() == 2);
  co_return absl::OkStatus();
}

Task<absl::Status> inserted_later_gets_traffic() {
  using Change = balance::Change<int, Sleepy>;
  auto [tx, rx] = mpsc::unbounded_channel<Change>();
  balance::Balance<int, Sleepy> lb(std::move(rx));
  Sleepy a{0ms}, b{0ms};
  WEFT_CO_OK(tx.send(Change::insert(1, a)));
  int ok = co_await caller(&lb, 20);
  WEFT_CO_CHECK(ok == 20 && a.calls->load() == 20);
  WEFT_CO_OK(tx.send(Change::insert(2, b)));
  // Sequential calls: both idle, so each pick is a fair coin (P(b gets none) = 2^-200).
  ok = co_await caller(&lb, 200);
  WEFT_CO_CHECK(ok == 200);
  WEFT_CO_CHECK(b.calls->load() > 0 && a.calls->load() > 20);
  WEFT_CO_CHECK(a.calls->load() + b.calls->load() == 220);
  co_return absl::OkStatus();
}

Task<absl::Status> empty_set_fails_fast() {
  using Change = balance::Change<int, Sleepy>;
  auto [tx, rx] = mpsc::unbounded_channel<Change>();
  balance::Balance<int, Sleepy> lb(std::move(rx));
  auto t0 = tower::oneshot(lb, 1);
  absl::StatusOr<int> r = co_await std::move(t0);
  WEFT_CO_CHECK(absl::IsUnavailable(r.status()) && r.status().message() == "no endpoints");
  Sleepy a{0ms};
  WEFT_CO_OK(tx.send(Change::insert(1, a)));
  auto t1 = tower::oneshot(lb, 2);
  r = co_await std::move(t1);
  WEFT_CO_CHECK(r.ok() && *r == 2);
  WEFT_CO_OK(tx.send(Change::remove(1)));
  WEFT_CO_OK(tx.send(Change::remove(42)));  // unknown key: ignored
  auto t2 = tower::oneshot(lb, 3);
  r = co_await std::move(t2);
  WEFT_CO_CHECK(absl::IsUnavailable(r.status()));
  // Discovery closed: the set stays as it was last left.
  WEFT_CO_OK(tx.send(Change::insert(5, a)));
  { auto gone = std::move(tx); }
  WEFT_CO_CHECK(lb.size() == 1u);
  auto t3 = tower::oneshot(lb, 4);
  r = co_await std::move(t3);
  WEFT_CO_CHECK(r.ok() && *r == 4 && a.calls->load() == 2);
  co_return absl::OkStatus();
}

Task<absl::Status> failing_endpoint_is_evicted() {
  using Change = balance::Change<int, Maybe>;
  auto [tx, rx] = mpsc::unbounded_channel<Change>();
  balance::Balance<int, Maybe> lb(std::move(rx));
  Maybe good, bad{true};
  WEFT_CO_OK(tx.send(Change::insert(1, good)));
  WEFT_CO_OK(tx.send(Change::insert(2, bad)));
  int ok = co_await caller(&lb, 20);
  WEFT_CO_CHECK(ok == 20 && good.calls->load() == 20 && bad.calls->load() == 0);
  WEFT_CO_CHECK(lb.size() == 1u);  // evicted on its first pick (if it was ever picked first)
  WEFT_CO_OK(tx.send(Change::remove(1)));
  WEFT_CO_OK(tx.send(Change::insert(3, bad)));
  auto t = tower::oneshot(lb, 1);
  absl::StatusOr<int> r = co_await std::move(t);
  WEFT_CO_CHECK(absl::IsUnavailable(r.status()));
  WEFT_CO_CHECK(r.status().message().find("broken") != std::string_view::npos);
  WEFT_CO_CHECK(lb.size() == 0u);
  co_return absl::OkStatus();
}

// The pending count through the balancer: a permit counts, a dropped permit and a finished call
// stop counting; the cost under PendingRequests is that count.
Task<absl::Status> pending_requests_through_balance() {
  using Change = balance::Change<std::string, Gated>;
  auto [tx, rx] = mpsc::unbounded_channel<Change>();
  balance::Balance<std::string, Gated> lb(std::move(rx));
  Gated a;
  WEFT_CO_OK(tx.send(Change::insert("a", a)));
  WEFT_CO_CHECK(lb.pending("a") == 0u && lb.cost("a") == 0.0);
  WEFT_CO_CHECK(!lb.pending("zz").has_value() && !lb.cost("zz").has_value());
  {
    absl::StatusOr<tower::permit_t<decltype(lb)>> p = co_await lb.ready();
    WEFT_CO_CHECK(p.ok() && p->key() == "a");
    WEFT_CO_CHECK(lb.pending("a") == 1u && lb.cost("a") == 1.0);
  }
  WEFT_CO_CHECK(lb.pending("a") == 0u);  // dropped without a call
  absl::StatusOr<tower::permit_t<decltype(lb)>> p1 = co_await lb.ready();
  absl::StatusOr<tower::permit_t<decltype(lb)>> p2 = co_await lb.ready();
  WEFT_CO_CHECK(p1.ok() && p2.ok() && lb.pending("a") == 2u);
  auto c1 = lb.call(*std::move(p1), 5);
  auto h = weft::spawn(std::move(c1));
  while (a.started->load() < 1) co_await weft::yield_now();
  WEFT_CO_CHECK(lb.pending("a") == 2u);   // one in flight, one permit held
  auto c2 = lb.call(*std::move(p2), -1);  // fails: still finishes the pending request
  absl::StatusOr<int> err = co_await std::move(c2);
  WEFT_CO_CHECK(absl::IsInvalidArgument(err.status()) && lb.pending("a") == 1u);
  h.abort();  // cancelled mid-call
  absl::StatusOr<absl::StatusOr<int>> aborted = co_await h;
  WEFT_CO_CHECK(absl::IsCancelled(aborted.status()) && lb.pending("a") == 0u);
  co_return absl::OkStatus();
}

void run_all_flavors(Task<absl::Status> (*f)()) {
  absl::Status st = weft::testing::run_in_all_flavors(f);
  BOOST_TEST(st.ok(), st.ToString());
}

}  // namespace

BOOST_AUTO_TEST_CASE(p2c_sends_more_load_to_the_faster_endpoint_pending_requests) {
  for (auto flavor : weft::testing::kAllFlavors) {
    auto rt = weft::testing::make_runtime(flavor);
    absl::Status st = rt.block_on(faster_endpoint_gets_more<balance::PendingRequests>({}));
    BOOST_TEST(st.ok(), st.ToString());
  }
}

BOOST_AUTO_TEST_CASE(p2c_sends_more_load_to_the_faster_endpoint_peak_ewma) {
  for (auto flavor : weft::testing::kAllFlavors) {
    auto rt = weft::testing::make_runtime(flavor);
    balance::PeakEwma::Options o;
    o.default_rtt = 1ms;
    o.decay = 1s;
    absl::Status st = rt.block_on(faster_endpoint_gets_more<balance::PeakEwma>(o));
    BOOST_TEST(st.ok(), st.ToString());
  }
}

BOOST_AUTO_TEST_CASE(endpoints_removed_while_requests_are_in_flight_finish_those_requests) {
  run_all_flavors(&removed_endpoint_finishes_in_flight);
}

BOOST_AUTO_TEST_CASE(an_endpoint_inserted_later_gets_traffic) {
  run_all_flavors(&inserted_later_gets_traffic);
}

BOOST_AUTO_TEST_CASE(empty_set_fails_fast_with_unavailable) {
  run_all_flavors(&empty_set_fails_fast);
}

BOOST_AUTO_TEST_CASE(endpoint_whose_ready_fails_is_evicted) {
  run_all_flavors(&failing_endpoint_is_evicted);
}

BOOST_AUTO_TEST_CASE(pending_requests_counts_permits_and_calls) {
  run_all_flavors(&pending_requests_through_balance);
}

BOOST_AUTO_TEST_CASE(pending_requests_metric) {
  balance::PendingRequests m;
  BOOST_TEST(m.cost() == 0.0);
  m.start();
  m.start();
  BOOST_TEST(m.pending() == 2u);
  BOOST_TEST(m.cost() == 2.0);
  m.finish(5ms, weft::time::Clock::now());
  m.finish(std::nullopt, weft::time::Clock::now());
  BOOST_TEST(m.pending() == 0u);
}

BOOST_AUTO_TEST_CASE(peak_ewma_metric) {
  const weft::time::Instant t0{};
  balance::PeakEwma::Options o;
  o.default_rtt = 10ms;
  o.decay = 100ms;
  balance::PeakEwma m(o, t0);
  const double ms = 1e6;  // ns
  BOOST_TEST(std::abs(m.rtt_estimate_ns(t0) - 10 * ms) < 1.0);
  BOOST_TEST(std::abs(m.cost(t0) - 10 * ms) < 1.0);  // idle: pending + 1 = 1
  m.start();
  m.start();
  BOOST_TEST(std::abs(m.cost(t0) - 30 * ms) < 1.0);  // rtt * (2 + 1)
  // A slower sample is a peak: taken at once.
  m.finish(50ms, t0);
  BOOST_TEST(std::abs(m.rtt_estimate_ns(t0) - 50 * ms) < 1.0);
  BOOST_TEST(std::abs(m.cost(t0) - 100 * ms) < 1.0);  // one still pending
  // A faster sample one decay later moves the estimate by 1 - 1/e towards it.
  const weft::time::Instant t1 = t0 + 100ms;
  m.finish(10ms, t1);
  const double expected = 50 * ms * std::exp(-1.0) + 10 * ms * (1 - std::exp(-1.0));
  BOOST_TEST(std::abs(m.rtt_estimate_ns(t1) - expected) < 1e3);
  BOOST_TEST(m.pending() == 0u);
  // No samples: decays towards 0 (one more decay: factor 1/e); reads do not compound.
  const weft::time::Instant t2 = t1 + 100ms;
  BOOST_TEST(std::abs(m.rtt_estimate_ns(t2) - expected * std::exp(-1.0)) < 1e3);
  BOOST_TEST(std::abs(m.cost(t2) - expected * std::exp(-1.0)) < 1e3);
  // A cancelled request (no rtt) changes the count, not the estimate.
  m.start();
  m.finish(std::nullopt, t2);
  BOOST_TEST(std::abs(m.rtt_estimate_ns(t2) - expected * std::exp(-1.0)) < 1e3);
}
