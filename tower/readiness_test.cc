// Readiness and backpressure with a toy concurrency-limit layer built on weft::sync::Semaphore
// (the real limit middleware comes later): ready() stays pending while no permit is free and
// completes when one is released; a permit dropped without a call, a call that fails, and a
// caller that gives up mid-call (timeout, abort) all give the capacity back.
#define BOOST_TEST_MODULE readiness_test
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
#include "weft/tower/boxed.h"
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

// The permit is taken in ready() and travels in the tower permit; call() moves it into the
// response awaitable, which holds it until the response is done (or is destroyed).
template <class S>
class ToyLimit {
 public:
  struct Permit {
    weft::sync::SemaphorePermit slot;
    tower::permit_t<S> inner;
  };

  ToyLimit(S inner, std::shared_ptr<Semaphore> sem)
      : inner_(std::move(inner)), sem_(std::move(sem)) {}

  Task<absl::StatusOr<Permit>> ready() const {
    absl::StatusOr<weft::sync::SemaphorePermit> slot = co_await sem_->acquire();
    if (!slot.ok()) co_return absl::ResourceExhaustedError("limit closed");
    absl::StatusOr<tower::permit_t<S>> inner = co_await inner_.ready();
    if (!inner.ok()) co_return inner.status();  // the slot goes back here
    co_return Permit{*std::move(slot), *std::move(inner)};
  }

  template <class Req>
  requires tower::Service<S, Req>
  auto call(Permit p, Req req) const {
    return hold(std::move(p.slot), inner_.call(std::move(p.inner), std::move(req)));
  }

 private:
  template <class Fut>
  static Task<tower::detail::await_result_t<Fut>> hold(weft::sync::SemaphorePermit slot, Fut fut) {
    co_return co_await std::move(fut);  // `slot` lives until here
  }

  S inner_;
  std::shared_ptr<Semaphore> sem_;
};

struct ToyLimitLayer {
  std::size_t max;
  template <class S>
  ToyLimit<S> layer(S inner) const {
    return ToyLimit<S>(std::move(inner), std::make_shared<Semaphore>(max));
  }
};

Task<int> ready_is_pending_until_a_permit_frees() {
  Gated inner;
  auto svc = tower::ServiceBuilder().layer(ToyLimitLayer{1}).service(inner);
  auto first = weft::spawn(call_task(&svc, 1));  // takes the only permit, waits at the gate
  while (inner.started->load() == 0) co_await weft::yield_now();

  auto second = weft::spawn(wait_ready(&svc));
  co_await settle();
  int result = second.is_finished() ? 1000 : 0;  // must still be pending
  inner.gate->add_permits(1);                    // first completes, its permit frees
  absl::StatusOr<absl::StatusOr<int>> r1 = co_await first;
  absl::StatusOr<bool> r2 = co_await second;  // resumed by the release
  if (r1.ok() && r1->ok() && **r1 == 1) result += 1;
  if (r2.ok() && *r2) result += 10;
  co_return result;
}

Task<int> dropped_permit_and_failed_call_release() {
  Gated inner;
  auto svc = tower::ServiceBuilder().layer(ToyLimitLayer{1}).service(inner);
  int result = 0;
  if (co_await wait_ready(&svc)) result += 1;   // ready() without call(): permit dropped
  if (co_await wait_ready(&svc)) result += 10;  // so it is free again
  absl::StatusOr<int> err = co_await tower::oneshot(svc, -1);
  if (absl::IsInvalidArgument(err.status())) result += 100;
  if (co_await wait_ready(&svc)) result += 1000;  // the failed call released it
  co_return result;
}

Task<int> caller_giving_up_mid_call_releases() {
  Gated inner;
  auto svc = tower::ServiceBuilder().layer(ToyLimitLayer{1}).service(inner);
  int result = 0;
  // Timeout: the call's frame (holding the permit) is destroyed when the deadline passes.
  absl::StatusOr<int> late = co_await weft::time::timeout(5ms, call_task(&svc, 7));
  if (absl::IsDeadlineExceeded(late.status())) result += 1;
  if (inner.started->load() == 1) result += 10;  // it really was inside the call
  if (co_await wait_ready(&svc)) result += 100;

  // Abort: same through JoinHandle::abort.
  auto h = weft::spawn(call_task(&svc, 8));
  while (inner.started->load() < 2) co_await weft::yield_now();
  h.abort();
  absl::StatusOr<absl::StatusOr<int>> aborted = co_await h;
  if (absl::IsCancelled(aborted.status())) result += 1000;
  if (co_await wait_ready(&svc)) result += 10000;

  // A waiter in ready() that gives up leaves the queue and takes nothing.
  auto holder = weft::spawn(call_task(&svc, 9));
  while (inner.started->load() < 3) co_await weft::yield_now();
  absl::StatusOr<bool> gave_up = co_await weft::time::timeout(5ms, wait_ready(&svc));
  if (absl::IsDeadlineExceeded(gave_up.status())) result += 100000;
  inner.gate->add_permits(1);
  absl::StatusOr<absl::StatusOr<int>> held = co_await holder;
  if (held.ok() && held->ok() && **held == 9) result += 1000000;
  co_return result;
}

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
  // Boxed, too: the permit is type-erased and still carries the slot.
  tower::BoxService<int, int> svc{tower::ServiceBuilder().layer(ToyLimitLayer{3}).service(work)};
  std::vector<weft::JoinHandle<absl::StatusOr<int>>> hs;
  for (int i = 0; i < 40; ++i) hs.push_back(weft::spawn(call_task(&svc, i)));
  int ok = 0;
  for (auto& h : hs) {
    absl::StatusOr<absl::StatusOr<int>> r = co_await h;
    if (r.ok() && r->ok()) ++ok;
  }
  co_return ok * 100 + max_inside.load();
}

}  // namespace

BOOST_AUTO_TEST_CASE(ready_pending_while_no_permit) {
  for (auto flavor : weft::testing::kAllFlavors) {
    auto rt = weft::testing::make_runtime(flavor);
    BOOST_TEST(rt.block_on(ready_is_pending_until_a_permit_frees()) == 11);
  }
}

BOOST_AUTO_TEST_CASE(unused_permit_and_failed_call_release_capacity) {
  auto rt = weft::testing::make_runtime();
  BOOST_TEST(rt.block_on(dropped_permit_and_failed_call_release()) == 1111);
}

BOOST_AUTO_TEST_CASE(caller_that_gives_up_releases_its_permit) {
  for (auto flavor : weft::testing::kAllFlavors) {
    auto rt = weft::testing::make_runtime(flavor);
    BOOST_TEST(rt.block_on(caller_giving_up_mid_call_releases()) == 1111111);
  }
}

BOOST_AUTO_TEST_CASE(limit_holds_through_the_response) {
  auto rt = weft::testing::make_runtime();
  BOOST_TEST(rt.block_on(limit_bounds_concurrency()) == 40 * 100 + 3);
}
