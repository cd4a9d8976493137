// LoadShedLayer: sheds (RESOURCE_EXHAUSTED "overloaded", inner not called) when the concurrency
// limit under it is full right now, passes when it is not; a service without try_ready() is
// treated as always ready; try_ready() is seen through Timeout.
#define BOOST_TEST_MODULE load_shed_test
#include "weft/tower/load_shed/load_shed.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <type_traits>

#include "weft/runtime/runtime.h"
#include "weft/runtime/sync/semaphore.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/tower/limit/concurrency/concurrency_limit.h"
#include "weft/tower/service_builder.h"
#include "weft/tower/testing/gated.h"
#include "weft/tower/timeout/timeout.h"

using namespace std::chrono_literals;
using weft::Task;
using weft::sync::Semaphore;
namespace tower = weft::tower;

namespace {

using weft::tower::testing::call_task;
using weft::tower::testing::Gated;
using weft::tower::testing::settle;
using weft::tower::testing::wait_ready;

// Whatever sits under the load shed: full while one call is held at the gate.
template <class S>
Task<int> sheds_when_full(const S& svc, const Gated& inner) {
  int result = 0;
  absl::StatusOr<int> free_now = co_await tower::oneshot(svc, 0);  // not full: passes
  if (free_now.ok() && *free_now == 0) result += 1;
  auto holder = weft::spawn(call_task(&svc, 5));  // takes the only slot
  while (inner.started->load() < 2) co_await weft::yield_now();
  auto t0 = weft::time::Clock::now();
  absl::StatusOr<int> shed = co_await tower::oneshot(svc, 0);  // fails fast, does not wait
  if (tower::is_overloaded(shed.status()) && absl::IsResourceExhausted(shed.status())) result += 10;
  if (weft::time::Clock::now() - t0 < 1s && inner.started->load() == 2) result += 100;
  // The permit from ready() is empty: call() fails without reaching the inner service.
  auto p = co_await svc.ready();
  if (p.ok()) {
    absl::StatusOr<int> r = co_await svc.call(*std::move(p), 0);
    if (tower::is_overloaded(r.status()) && inner.started->load() == 2) result += 1000;
  }
  inner.gate->add_permits(1);
  absl::StatusOr<absl::StatusOr<int>> held = co_await holder;
  if (held.ok() && held->ok() && **held == 5) result += 10000;
  absl::StatusOr<int> after = co_await tower::oneshot(svc, 0);  // the slot is free again
  if (after.ok() && *after == 0) result += 100000;
  co_return result;
}

Task<int> shed_over_limit() {
  Gated inner;
  auto svc = tower::ServiceBuilder()
                 .layer(tower::LoadShedLayer())
                 .layer(tower::ConcurrencyLimitLayer(1))
                 .service(inner);
  co_return co_await sheds_when_full(svc, inner);
}

Task<int> shed_through_timeout() {
  Gated inner;
  auto svc = tower::ServiceBuilder()
                 .layer(tower::LoadShedLayer())
                 .layer(tower::TimeoutLayer(10s))
                 .layer(tower::ConcurrencyLimitLayer(1))
                 .service(inner);
  co_return co_await sheds_when_full(svc, inner);
}

Task<int> without_try_ready_always_ready() {
  auto svc = tower::ServiceBuilder()
                 .layer(tower::LoadShedLayer())
                 .service_fn([](int x) -> Task<absl::StatusOr<int>> {
                   co_await weft::yield_now();
                   co_return x * 2;
                 });
  static_assert(!tower::TryReady<std::remove_cvref_t<decltype(svc.inner())>>);
  static_assert(tower::TryReady<decltype(svc)> == false);
  int result = 0;
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<int> r = co_await tower::oneshot(svc, i);
    if (r.ok() && *r == 2 * i) ++result;
  }
  co_return result;
}

}  // namespace

BOOST_AUTO_TEST_CASE(sheds_when_limit_full_passes_when_not) {
  for (auto flavor : weft::testing::kAllFlavors) {
    auto rt = weft::testing::make_runtime(flavor);
    BOOST_TEST(rt.block_on(shed_over_limit()) == 111111);
  }
}

BOOST_AUTO_TEST_CASE(try_ready_is_forwarded_by_timeout) {
  auto rt = weft::testing::make_runtime();
  BOOST_TEST(rt.block_on(shed_through_timeout()) == 111111);
}

BOOST_AUTO_TEST_CASE(service_without_try_ready_is_always_ready) {
  auto rt = weft::testing::make_runtime();
  BOOST_TEST(rt.block_on(without_try_ready_always_ready()) == 10);
}
