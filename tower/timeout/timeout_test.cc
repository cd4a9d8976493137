// TimeoutLayer: a fast call passes, a slow one fails with DEADLINE_EXCEEDED and its frame (and
// the concurrency permit it held) is gone when the caller resumes; errors pass through;
// readiness is not subject to the timeout.
#define BOOST_TEST_MODULE timeout_test
#include "weft/tower/timeout/timeout.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>

#include "weft/runtime/runtime.h"
#include "weft/runtime/sync/semaphore.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/time/sleep.h"
#include "weft/tower/limit/concurrency/concurrency_limit.h"
#include "weft/tower/service_builder.h"
#include "weft/tower/testing/gated.h"

using namespace std::chrono_literals;
using weft::Task;
using weft::sync::Semaphore;
namespace tower = weft::tower;

namespace {

using weft::tower::testing::call_task;
using weft::tower::testing::Gated;
using weft::tower::testing::settle;
using weft::tower::testing::wait_ready;

Task<int> fast_call_passes() {
  Gated inner;
  auto svc = tower::ServiceBuilder().layer(tower::TimeoutLayer(1s)).service(inner);
  int result = 0;
  absl::StatusOr<int> r = co_await tower::oneshot(svc, 0);
  if (r.ok() && *r == 0) result += 1;
  absl::StatusOr<int> e = co_await tower::oneshot(svc, -1);  // inner errors pass through
  if (absl::IsInvalidArgument(e.status())) result += 10;
  // A waiting call that completes before the deadline.
  inner.gate->add_permits(1);
  absl::StatusOr<int> w = co_await tower::oneshot(svc, 5);
  if (w.ok() && *w == 5) result += 100;
  // Any awaitable call (not a Task) is accepted too: map_response gives a Mapped awaitable.
  auto mapped = tower::ServiceBuilder()
                    .layer(tower::TimeoutLayer(1s))
                    .map_response([](int v) { return v + 1; })
                    .service(inner);
  absl::StatusOr<int> m = co_await tower::oneshot(mapped, 0);
  if (m.ok() && *m == 1) result += 1000;
  co_return result;
}

Task<int> slow_call_times_out_and_releases() {
  Gated inner;
  auto svc = tower::ServiceBuilder()
                 .layer(tower::TimeoutLayer(10ms))
                 .layer(tower::ConcurrencyLimitLayer(1))
                 .service(inner);
  int result = 0;
  auto t0 = weft::time::Clock::now();
  absl::StatusOr<int> r = co_await tower::oneshot(svc, 7);
  auto waited = weft::time::Clock::now() - t0;
  if (absl::IsDeadlineExceeded(r.status())) result += 1;
  if (waited >= 10ms) result += 10;
  if (inner.started->load() == 1 && inner.dropped->load() == 1) result += 100;  // frame gone
  if (svc.inner().available() == 1) result += 1000;  // the permit it held is back
  inner.gate->add_permits(1);
  absl::StatusOr<int> again = co_await tower::oneshot(svc, 8);  // and usable
  if (again.ok() && *again == 8) result += 10000;
  co_return result;
}

Task<int> readiness_is_not_timed() {
  Gated inner;
  auto svc = tower::ServiceBuilder()
                 .layer(tower::TimeoutLayer(5ms))
                 .layer(tower::ConcurrencyLimitLayer(1))
                 .service(inner);
  int result = 0;
  auto held = co_await svc.ready();  // the only slot
  if (held.ok()) result += 1;
  auto waiter = weft::spawn(wait_ready(&svc));
  co_await settle(30ms);                    // far past the 5ms timeout
  if (!waiter.is_finished()) result += 10;  // still waiting, not DEADLINE_EXCEEDED
  held = absl::CancelledError("drop");      // give the slot back
  absl::StatusOr<bool> w = co_await waiter;
  if (w.ok() && *w) result += 100;
  co_return result;
}

}  // namespace

BOOST_AUTO_TEST_CASE(fast_call_passes_and_errors_pass_through) {
  for (auto flavor : weft::testing::kAllFlavors) {
    auto rt = weft::testing::make_runtime(flavor);
    BOOST_TEST(rt.block_on(fast_call_passes()) == 1111);
  }
}

BOOST_AUTO_TEST_CASE(slow_call_fails_and_releases_inner_permit) {
  for (auto flavor : weft::testing::kAllFlavors) {
    auto rt = weft::testing::make_runtime(flavor);
    BOOST_TEST(rt.block_on(slow_call_times_out_and_releases()) == 11111);
  }
}

BOOST_AUTO_TEST_CASE(readiness_is_not_subject_to_the_timeout) {
  for (auto flavor : weft::testing::kAllFlavors) {
    auto rt = weft::testing::make_runtime(flavor);
    BOOST_TEST(rt.block_on(readiness_is_not_timed()) == 111);
  }
}
