// CircuitBreakerLayer: opens after N consecutive failures; fails fast while open without touching
// the inner service; half-opens after open_duration; closes after successful probes; reopens on a
// failed probe; failure-rate window; failure predicate; abandoned probes are given back.
#define BOOST_TEST_MODULE circuit_breaker_test
#include "weft/tower/circuit_breaker/circuit_breaker.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/time/sleep.h"
#include "weft/tower/service_builder.h"

using namespace std::chrono_literals;
using weft::Task;
namespace tower = weft::tower;
using tower::CircuitState;

namespace {

struct Counters {
  std::atomic<int> readies{0};
  std::atomic<int> calls{0};
};

// Fails with INTERNAL when x < 0 (or with the code -x when x <= -100), echoes x otherwise.
struct Flaky {
  std::shared_ptr<Counters> c = std::make_shared<Counters>();
  tower::AlwaysReady ready() const {
    c->readies.fetch_add(1);
    return tower::always_ready();
  }
  Task<absl::StatusOr<int>> call(tower::NoPermit, int x) const {
    c->calls.fetch_add(1);
    co_await weft::yield_now();
    if (x <= -100) co_return absl::Status(static_cast<absl::StatusCode>(-x - 100), "coded");
    if (x < 0) co_return absl::InternalError("boom");
    co_return x;
  }
};

struct FakeClock {
  std::shared_ptr<std::atomic<int64_t>> ms = std::make_shared<std::atomic<int64_t>>(0);
  std::chrono::steady_clock::time_point base = std::chrono::steady_clock::now();
  std::function<std::chrono::steady_clock::time_point()> fn() const {
    auto m = ms;
    auto b = base;
    return [m, b] { return b + std::chrono::milliseconds(m->load()); };
  }
  void advance(std::chrono::milliseconds d) { ms->fetch_add(d.count()); }
};

tower::CircuitBreakerOptions consecutive(std::size_t n, std::size_t probes, const FakeClock& clk) {
  tower::CircuitBreakerOptions o;
  o.consecutive_failures = n;
  o.open_duration = 1000ms;
  o.half_open_probes = probes;
  o.clock = clk.fn();
  return o;
}

Task<absl::Status> opens_and_fails_fast() {
  FakeClock clk;
  Flaky inner;
  auto svc = tower::ServiceBuilder()
                 .layer(tower::CircuitBreakerLayer(consecutive(3, 1, clk)))
                 .service(inner);
  WEFT_CO_CHECK(svc.state() == CircuitState::kClosed);
  // A success in between resets the run.
  WEFT_CO_CHECK(!(co_await tower::oneshot(svc, -1)).ok());
  WEFT_CO_CHECK(!(co_await tower::oneshot(svc, -1)).ok());
  WEFT_CO_CHECK((co_await tower::oneshot(svc, 1)).ok());
  WEFT_CO_CHECK(!(co_await tower::oneshot(svc, -1)).ok());
  WEFT_CO_CHECK(!(co_await tower::oneshot(svc, -1)).ok());
  WEFT_CO_CHECK(svc.state() == CircuitState::kClosed);
  WEFT_CO_CHECK(!(co_await tower::oneshot(svc, -1)).ok());
  WEFT_CO_CHECK(svc.state() == CircuitState::kOpen);
  int readies = inner.c->readies.load(), calls = inner.c->calls.load();
  WEFT_CO_CHECK(calls == 6);
  for (int i = 0; i < 5; ++i) {
    auto p = co_await svc.ready();
    WEFT_CO_CHECK(absl::IsUnavailable(p.status()));
    WEFT_CO_CHECK(p.status().message() == "circuit open");
    absl::StatusOr<int> r = co_await tower::oneshot(svc, 7);
    WEFT_CO_CHECK(absl::IsUnavailable(r.status()));
  }
  WEFT_CO_CHECK(inner.c->readies.load() == readies);  // the inner service was not touched
  WEFT_CO_CHECK(inner.c->calls.load() == calls);
  clk.advance(999ms);
  WEFT_CO_CHECK(svc.state() == CircuitState::kOpen);
  WEFT_CO_CHECK(absl::IsUnavailable((co_await tower::oneshot(svc, 7)).status()));
  co_return absl::OkStatus();
}

Task<absl::Status> half_opens_then_closes() {
  FakeClock clk;
  Flaky inner;
  auto svc = tower::circuit_breaker(inner, consecutive(2, 2, clk));
  (void)co_await tower::oneshot(svc, -1);
  (void)co_await tower::oneshot(svc, -1);
  WEFT_CO_CHECK(svc.state() == CircuitState::kOpen);
  clk.advance(1000ms);
  WEFT_CO_CHECK(svc.state() == CircuitState::kHalfOpen);
  // Two probes pass, a third is refused while they are out.
  auto p1 = co_await svc.ready();
  auto p2 = co_await svc.ready();
  WEFT_CO_CHECK(p1.ok() && p2.ok());
  auto p3 = co_await svc.ready();
  WEFT_CO_CHECK(absl::IsUnavailable(p3.status()));
  int calls = inner.c->calls.load();
  absl::StatusOr<int> r1 = co_await svc.call(*std::move(p1), 5);
  WEFT_CO_CHECK(r1.ok() && *r1 == 5);
  WEFT_CO_CHECK(svc.state() == CircuitState::kHalfOpen);  // one success of two
  // The slot of a finished probe is not handed out again: two successes are needed in total.
  WEFT_CO_CHECK(absl::IsUnavailable((co_await svc.ready()).status()));
  absl::StatusOr<int> r2 = co_await svc.call(*std::move(p2), 6);
  WEFT_CO_CHECK(r2.ok() && *r2 == 6);
  WEFT_CO_CHECK(svc.state() == CircuitState::kClosed);
  WEFT_CO_CHECK(inner.c->calls.load() == calls + 2);
  // Closed again, with fresh counters: one failure does not reopen it.
  (void)co_await tower::oneshot(svc, -1);
  WEFT_CO_CHECK(svc.state() == CircuitState::kClosed);
  WEFT_CO_CHECK((co_await tower::oneshot(svc, 8)).ok());
  co_return absl::OkStatus();
}

Task<absl::Status> failed_probe_reopens() {
  FakeClock clk;
  Flaky inner;
  auto svc = tower::circuit_breaker(inner, consecutive(1, 3, clk));
  (void)co_await tower::oneshot(svc, -1);
  WEFT_CO_CHECK(svc.state() == CircuitState::kOpen);
  clk.advance(1500ms);
  WEFT_CO_CHECK((co_await tower::oneshot(svc, 1)).ok());  // probe 1 of 3 succeeds
  WEFT_CO_CHECK(svc.state() == CircuitState::kHalfOpen);
  auto late = co_await svc.ready();  // a probe still running when the breaker reopens
  WEFT_CO_CHECK(late.ok());
  absl::StatusOr<int> bad = co_await tower::oneshot(svc, -1);  // probe 2 fails
  WEFT_CO_CHECK(absl::IsInternal(bad.status()));
  WEFT_CO_CHECK(svc.state() == CircuitState::kOpen);
  int calls = inner.c->calls.load();
  absl::StatusOr<int> fast = co_await tower::oneshot(svc, 2);
  WEFT_CO_CHECK(absl::IsUnavailable(fast.status()) && fast.status().message() == "circuit open");
  WEFT_CO_CHECK(inner.c->calls.load() == calls);
  // The stale probe's success (from the previous half-open period) changes nothing.
  WEFT_CO_CHECK((co_await svc.call(*std::move(late), 3)).ok());
  WEFT_CO_CHECK(svc.state() == CircuitState::kOpen);
  clk.advance(999ms);
  WEFT_CO_CHECK(svc.state() == CircuitState::kOpen);  // a full open_duration from the reopening
  clk.advance(1ms);
  WEFT_CO_CHECK(svc.state() == CircuitState::kHalfOpen);
  for (int i = 0; i < 3; ++i) WEFT_CO_CHECK((co_await tower::oneshot(svc, i)).ok());
  WEFT_CO_CHECK(svc.state() == CircuitState::kClosed);
  co_return absl::OkStatus();
}

Task<absl::Status> failure_rate_window() {
  FakeClock clk;
  Flaky inner;
  tower::CircuitBreakerOptions o;
  o.consecutive_failures = 0;
  o.failure_rate = 0.5;
  o.window = 4;
  o.min_calls = 4;
  o.open_duration = 1000ms;
  o.clock = clk.fn();
  auto svc = tower::circuit_breaker(inner, o);
  // F O O: too few calls to judge; O: 1/4; F: O O O F = 1/4 (the first F slid out); F: 2/4.
  const int seq[] = {-1, 1, 1, 1, -1};
  for (int x : seq) {
    (void)co_await tower::oneshot(svc, x);
    WEFT_CO_CHECK(svc.state() == CircuitState::kClosed);
  }
  (void)co_await tower::oneshot(svc, -1);
  WEFT_CO_CHECK(svc.state() == CircuitState::kOpen);

  // min_calls below the window: two failures of the first two calls open it.
  FakeClock clk2;
  o.window = 10;
  o.min_calls = 2;
  o.clock = clk2.fn();
  auto svc2 = tower::circuit_breaker(inner, o);
  (void)co_await tower::oneshot(svc2, -1);
  WEFT_CO_CHECK(svc2.state() == CircuitState::kClosed);
  (void)co_await tower::oneshot(svc2, 1);
  WEFT_CO_CHECK(svc2.state() == CircuitState::kOpen);  // 1/2 >= 0.5
  co_return absl::OkStatus();
}

Task<absl::Status> predicate_and_abandoned_probe() {
  FakeClock clk;
  Flaky inner;
  tower::CircuitBreakerOptions o = consecutive(2, 1, clk);
  o.is_failure = [](const absl::Status& s) {
    return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s);
  };
  auto svc = tower::circuit_breaker(inner, o);
  const int invalid = -100 - static_cast<int>(absl::StatusCode::kInvalidArgument);
  const int unavailable = -100 - static_cast<int>(absl::StatusCode::kUnavailable);
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<int> r = co_await tower::oneshot(svc, invalid);
    WEFT_CO_CHECK(absl::IsInvalidArgument(r.status()));  // not a failure for the breaker
  }
  WEFT_CO_CHECK(svc.state() == CircuitState::kClosed);
  (void)co_await tower::oneshot(svc, unavailable);
  (void)co_await tower::oneshot(svc, unavailable);
  WEFT_CO_CHECK(svc.state() == CircuitState::kOpen);
  clk.advance(1000ms);
  {
    auto p = co_await svc.ready();  // the only probe, dropped without a call
    WEFT_CO_CHECK(p.ok());
    WEFT_CO_CHECK(absl::IsUnavailable((co_await svc.ready()).status()));
  }
  WEFT_CO_CHECK(svc.state() == CircuitState::kHalfOpen);
  WEFT_CO_CHECK((co_await tower::oneshot(svc, 4)).ok());  // the slot came back
  WEFT_CO_CHECK(svc.state() == CircuitState::kClosed);
  co_return absl::OkStatus();
}

// The real clock, short durations, many callers at once.
Task<absl::Status> real_clock_concurrent() {
  Flaky inner;
  tower::CircuitBreakerOptions o;
  o.consecutive_failures = 4;
  o.open_duration = 30ms;
  o.half_open_probes = 2;
  auto svc = tower::circuit_breaker(inner, o);
  std::vector<weft::JoinHandle<absl::StatusOr<int>>> hs;
  auto one = [](const decltype(svc)* s, int x) -> Task<absl::StatusOr<int>> {
    co_return co_await tower::oneshot(*s, x);
  };
  for (int i = 0; i < 32; ++i) hs.push_back(weft::spawn(one(&svc, -1)));
  int unavailable = 0;
  for (auto& h : hs) {
    absl::StatusOr<absl::StatusOr<int>> r = co_await h;
    WEFT_CO_CHECK(r.ok());
    if (absl::IsUnavailable(r->status())) ++unavailable;
  }
  WEFT_CO_CHECK(svc.state() == CircuitState::kOpen);
  WEFT_CO_CHECK(inner.c->calls.load() + unavailable == 32);
  co_await weft::time::sleep(40ms);
  WEFT_CO_CHECK(svc.state() == CircuitState::kHalfOpen);
  WEFT_CO_CHECK((co_await tower::oneshot(svc, 1)).ok());
  WEFT_CO_CHECK((co_await tower::oneshot(svc, 2)).ok());
  WEFT_CO_CHECK(svc.state() == CircuitState::kClosed);
  co_return absl::OkStatus();
}

void run(Task<absl::Status> (*f)()) {
  for (auto flavor : weft::testing::kAllFlavors) {
    auto rt = weft::testing::make_runtime(flavor);
    absl::Status st = rt.block_on(f());
    BOOST_TEST(st.ok(), st.ToString());
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(opens_after_consecutive_failures_and_fails_fast) {
  run(&opens_and_fails_fast);
}
BOOST_AUTO_TEST_CASE(half_opens_after_duration_and_closes_after_probes) {
  run(&half_opens_then_closes);
}
BOOST_AUTO_TEST_CASE(reopens_on_a_failed_probe) { run(&failed_probe_reopens); }
BOOST_AUTO_TEST_CASE(failure_rate_over_a_window) { run(&failure_rate_window); }
BOOST_AUTO_TEST_CASE(failure_predicate_and_abandoned_probe) { run(&predicate_and_abandoned_probe); }
BOOST_AUTO_TEST_CASE(real_clock_short_durations_concurrent_callers) { run(&real_clock_concurrent); }
