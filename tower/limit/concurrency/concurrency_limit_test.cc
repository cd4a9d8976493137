// ConcurrencyLimitLayer: never more than n calls in flight; ready() pending while n permits are
// out and resumed when one frees; a caller that gives up (drops the permit, is cancelled or
// timed out mid-call, gives up while waiting in ready()) releases its slot; try_ready().
#define BOOST_TEST_MODULE concurrency_limit_test
#include "weft/tower/limit/concurrency/concurrency_limit.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "weft/runtime/runtime.h"
#include "weft/runtime/sync/semaphore.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/time/sleep.h"
#include "weft/runtime/time/timeout.h"
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

Task<int> limit_bounds_concurrency() {
  std::atomic<int> inside{0}, max_inside{0};
  auto work = tower::service_fn([&inside, &max_inside](int x) -> Task<absl::StatusOr<int>> {
    int now = inside.fetch_add(1) + 1;
    int prev = max_inside.load();
    while (now > prev && !max_inside.compare_exchange_weak(prev, now)) {
    }
    co_await weft::time::sleep(1ms);
    inside.fetch_sub(1);
    co_return x;
  });
  auto svc = tower::ServiceBuilder().layer(tower::ConcurrencyLimitLayer(3)).service(work);
  std::vector<weft::JoinHandle<absl::StatusOr<int>>> hs;
  for (int i = 0; i < 60; ++i) hs.push_back(weft::spawn(call_task(&svc, i)));
  int ok = 0;
  for (int i = 0; i < 60; ++i) {
    absl::StatusOr<absl::StatusOr<int>> r = co_await hs[i];
    if (r.ok() && r->ok() && **r == i) ++ok;
  }
  if (svc.available() != 3) co_return -1;
  co_return ok * 100 + max_inside.load();
}

Task<int> ready_pending_until_a_permit_frees() {
  Gated inner;
  auto svc = tower::ServiceBuilder().layer(tower::ConcurrencyLimitLayer(2)).service(inner);
  auto a = weft::spawn(call_task(&svc, 1));
  auto b = weft::spawn(call_task(&svc, 2));
  while (inner.started->load() < 2) co_await weft::yield_now();
  int result = 0;
  if (!svc.try_ready().has_value()) result += 1;  // full: not ready right now
  auto waiter = weft::spawn(wait_ready(&svc));
  co_await settle();
  if (!waiter.is_finished()) result += 10;  // pending while 2 calls are in flight
  inner.gate->add_permits(1);               // one call completes: its slot frees
  absl::StatusOr<bool> w = co_await waiter;
  if (w.ok() && *w) result += 100;  // resumed by the release
  inner.gate->add_permits(1);
  absl::StatusOr<absl::StatusOr<int>> ra = co_await a;
  absl::StatusOr<absl::StatusOr<int>> rb = co_await b;
  if (ra.ok() && ra->ok() && rb.ok() && rb->ok()) result += 1000;
  if (svc.available() == 2) result += 10000;
  co_return result;
}

Task<int> giving_up_releases() {
  Gated inner;
  auto svc = tower::ServiceBuilder().layer(tower::ConcurrencyLimitLayer(1)).service(inner);
  int result = 0;
  {
    auto p = co_await svc.ready();  // dropped without a call
    if (p.ok() && svc.available() == 0) result += 1;
  }
  if (svc.available() == 1) result += 10;
  absl::StatusOr<int> err = co_await tower::oneshot(svc, -1);  // a failed call releases
  if (absl::IsInvalidArgument(err.status()) && svc.available() == 1) result += 100;

  // Cancelled mid-call.
  auto h = weft::spawn(call_task(&svc, 8));
  while (inner.started->load() < 2) co_await weft::yield_now();
  if (svc.available() == 0) result += 1000;
  h.abort();
  absl::StatusOr<absl::StatusOr<int>> aborted = co_await h;
  if (absl::IsCancelled(aborted.status()) && svc.available() == 1) result += 10000;

  // Timed out mid-call by the caller.
  absl::StatusOr<int> late = co_await weft::time::timeout(5ms, call_task(&svc, 9));
  if (absl::IsDeadlineExceeded(late.status()) && inner.started->load() == 3 && svc.available() == 1)
    result += 100000;

  // Gave up while waiting in ready(): takes nothing, leaves the queue.
  auto holder = weft::spawn(call_task(&svc, 10));
  while (inner.started->load() < 4) co_await weft::yield_now();
  absl::StatusOr<bool> gave_up = co_await weft::time::timeout(5ms, wait_ready(&svc));
  if (absl::IsDeadlineExceeded(gave_up.status())) result += 1000000;
  inner.gate->add_permits(1);
  absl::StatusOr<absl::StatusOr<int>> held = co_await holder;
  if (held.ok() && held->ok() && **held == 10 && svc.available() == 1) result += 10000000;
  co_return result;
}

Task<int> try_ready_takes_a_slot() {
  Gated inner;
  auto svc = tower::ServiceBuilder().layer(tower::ConcurrencyLimitLayer(1)).service(inner);
  int result = 0;
  auto p = svc.try_ready();
  if (p.has_value() && p->ok() && svc.available() == 0) result += 1;
  if (!svc.try_ready().has_value()) result += 10;
  inner.gate->add_permits(1);
  absl::StatusOr<int> r = co_await svc.call(**std::move(p), 3);
  if (r.ok() && *r == 3 && svc.available() == 1) result += 100;
  co_return result;
}

}  // namespace

BOOST_AUTO_TEST_CASE(never_more_than_n_in_flight) {
  for (auto flavor : weft::testing::kAllFlavors) {
    auto rt = weft::testing::make_runtime(flavor);
    BOOST_TEST(rt.block_on(limit_bounds_concurrency()) == 60 * 100 + 3);
  }
}

BOOST_AUTO_TEST_CASE(ready_pending_then_resumed_when_a_permit_frees) {
  for (auto flavor : weft::testing::kAllFlavors) {
    auto rt = weft::testing::make_runtime(flavor);
    BOOST_TEST(rt.block_on(ready_pending_until_a_permit_frees()) == 11111);
  }
}

BOOST_AUTO_TEST_CASE(caller_that_gives_up_releases_its_permit) {
  for (auto flavor : weft::testing::kAllFlavors) {
    auto rt = weft::testing::make_runtime(flavor);
    BOOST_TEST(rt.block_on(giving_up_releases()) == 11111111);
  }
}

BOOST_AUTO_TEST_CASE(try_ready_never_waits) {
  auto rt = weft::testing::make_runtime();
  BOOST_TEST(rt.block_on(try_ready_takes_a_slot()) == 111);
}
