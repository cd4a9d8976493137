// BufferLayer: many concurrent callers share one non-thread-safe inner service and get their
// own responses in order; ready() is pending while the queue is full and resumes when a slot
// frees; an inner ready() error reaches the waiting, queued and later callers.
#define BOOST_TEST_MODULE buffer_test
#include "weft/tower/buffer/buffer.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/sync/semaphore.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/time/sleep.h"
#include "weft/runtime/time/timeout.h"
#include "weft/tower/service_builder.h"

using namespace std::chrono_literals;
using weft::Task;
using weft::sync::Semaphore;
namespace tower = weft::tower;

namespace {

struct Req {
  int caller;
  int seq;
};
struct Resp {
  int caller;
  int seq;
  long served;  // the inner service's own counter
};

// Not thread-safe on purpose: plain counters (TSan reports any concurrent use); `inside`
// detects overlapping calls even without TSan.
struct Unsafe {
  struct State {
    long served = 0;
    int inside = 0;
    std::atomic<int> overlaps{0};
  };
  std::shared_ptr<State> st = std::make_shared<State>();
  Task<absl::StatusOr<tower::NoPermit>> ready() const {
    if (st->inside != 0) st->overlaps.fetch_add(1);
    co_await weft::yield_now();
    co_return tower::NoPermit{};
  }
  Task<absl::StatusOr<Resp>> call(tower::NoPermit, Req r) const {
    if (st->inside++ != 0) st->overlaps.fetch_add(1);
    co_await weft::yield_now();
    long n = ++st->served;
    co_await weft::yield_now();
    --st->inside;
    co_return Resp{r.caller, r.seq, n};
  }
};

template <class S>
Task<absl::Status> caller(const S* svc, int id, int n) {
  long last_served = 0;
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<Resp> r = co_await tower::oneshot(*svc, Req{id, i});
    WEFT_CO_OK(r.status());
    WEFT_CO_CHECK(r->caller == id && r->seq == i);
    WEFT_CO_CHECK(r->served > last_served);  // in order per caller
    last_served = r->served;
  }
  co_return absl::OkStatus();
}

Task<absl::Status> many_callers_one_service() {
  Unsafe inner;
  auto svc = tower::ServiceBuilder().layer(tower::BufferLayer<Req>(4)).service(inner);
  constexpr int kCallers = 16, kEach = 50;
  std::vector<weft::JoinHandle<absl::Status>> hs;
  for (int c = 0; c < kCallers; ++c) hs.push_back(weft::spawn(caller(&svc, c, kEach)));
  for (auto& h : hs) {
    absl::StatusOr<absl::Status> r = co_await h;
    WEFT_CO_OK(r.status());
    WEFT_CO_OK(*r);
  }
  WEFT_CO_CHECK(inner.st->overlaps.load() == 0);
  WEFT_CO_CHECK(svc.available() == 4);
  // A copy shares the worker and the queue.
  auto copy = svc;
  absl::StatusOr<Resp> r = co_await tower::oneshot(copy, Req{99, 0});
  WEFT_CO_CHECK(r.ok() && r->served == kCallers * kEach + 1);
  co_return absl::OkStatus();
}

struct Gated {
  std::shared_ptr<Semaphore> gate = std::make_shared<Semaphore>(0);
  std::shared_ptr<std::atomic<int>> started = std::make_shared<std::atomic<int>>(0);
  tower::AlwaysReady ready() const { return tower::always_ready(); }
  Task<absl::StatusOr<int>> call(tower::NoPermit, int x) const {
    started->fetch_add(1);
    absl::StatusOr<weft::sync::SemaphorePermit> pass = co_await gate->acquire();
    if (!pass.ok()) co_return pass.status();
    pass->forget();
    co_return x;
  }
};

Task<void> settle() {
  for (int i = 0; i < 20; ++i) co_await weft::yield_now();
  co_await weft::time::sleep(5ms);
}

template <class S>
Task<absl::StatusOr<int>> call_task(const S* svc, int x) {
  co_return co_await tower::oneshot(*svc, x);
}
template <class S>
Task<bool> wait_ready(const S* svc) {
  auto p = co_await svc->ready();
  co_return p.ok();
}

Task<absl::Status> capacity_backpressure() {
  Gated inner;
  auto svc = tower::buffer<int>(inner, 2);
  WEFT_CO_CHECK(svc.available() == 2);
  auto a = weft::spawn(call_task(&svc, 1));  // taken off the queue by the worker, blocks there
  while (inner.started->load() < 1) co_await weft::yield_now();
  co_await settle();
  WEFT_CO_CHECK(svc.available() == 2);
  auto b = weft::spawn(call_task(&svc, 2));  // queued behind a
  auto c = weft::spawn(call_task(&svc, 3));  // queued behind b
  co_await settle();
  WEFT_CO_CHECK(svc.available() == 0);
  auto waiter = weft::spawn(wait_ready(&svc));
  co_await settle();
  WEFT_CO_CHECK(!waiter.is_finished());  // pending: the queue is full
  absl::StatusOr<bool> gave_up = co_await weft::time::timeout(5ms, wait_ready(&svc));
  WEFT_CO_CHECK(absl::IsDeadlineExceeded(gave_up.status()));
  inner.gate->add_permits(1);  // a completes; the worker takes b off the queue: a slot frees
  absl::StatusOr<bool> w = co_await waiter;
  WEFT_CO_CHECK(w.ok() && *w);
  {
    auto p = co_await svc.ready();  // the slot a finished call freed... until c leaves the queue
    (void)p;
  }
  inner.gate->add_permits(2);
  absl::StatusOr<absl::StatusOr<int>> ra = co_await a, rb = co_await b, rc = co_await c;
  WEFT_CO_CHECK(ra.ok() && ra->ok() && **ra == 1);
  WEFT_CO_CHECK(rb.ok() && rb->ok() && **rb == 2);
  WEFT_CO_CHECK(rc.ok() && rc->ok() && **rc == 3);
  WEFT_CO_CHECK(svc.available() == 2);
  // A permit dropped unused gives its slot back at once.
  {
    auto p1 = co_await svc.ready();
    auto p2 = co_await svc.ready();
    WEFT_CO_CHECK(p1.ok() && p2.ok() && svc.available() == 0);
  }
  WEFT_CO_CHECK(svc.available() == 2);
  co_return absl::OkStatus();
}

// ready() fails with ABORTED from the (n+1)-th request on; the first one waits at a gate.
struct Breaks {
  std::shared_ptr<std::atomic<int>> readies = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<Semaphore> gate = std::make_shared<Semaphore>(0);
  int ok_readies;
  Task<absl::StatusOr<tower::NoPermit>> ready() const {
    if (readies->fetch_add(1) >= ok_readies) co_return absl::AbortedError("inner broke");
    co_return tower::NoPermit{};
  }
  Task<absl::StatusOr<int>> call(tower::NoPermit, int x) const {
    if (x == 0) {
      absl::StatusOr<weft::sync::SemaphorePermit> pass = co_await gate->acquire();
      if (!pass.ok()) co_return pass.status();
    }
    co_return x;
  }
};

Task<absl::Status> inner_error_propagates() {
  Breaks inner{.ok_readies = 2};
  auto svc = tower::buffer<int>(inner, 8);
  WEFT_CO_CHECK((co_await tower::oneshot(svc, 7)).ok());
  auto blocked = weft::spawn(call_task(&svc, 0));  // 2nd ready() ok, the call waits at the gate
  while (inner.readies->load() < 2) co_await weft::yield_now();
  std::vector<weft::JoinHandle<absl::StatusOr<int>>> queued;
  for (int i = 1; i <= 4; ++i) queued.push_back(weft::spawn(call_task(&svc, i)));
  co_await settle();
  WEFT_CO_CHECK(svc.available() == 4);
  inner.gate->add_permits(1);
  absl::StatusOr<absl::StatusOr<int>> rb = co_await blocked;
  WEFT_CO_CHECK(rb.ok() && rb->ok() && **rb == 0);
  for (auto& h : queued) {  // the first of them hit the failing ready(); the rest were queued
    absl::StatusOr<absl::StatusOr<int>> r = co_await h;
    WEFT_CO_CHECK(r.ok());
    WEFT_CO_CHECK(absl::IsAborted(r->status()) && r->status().message() == "inner broke");
  }
  WEFT_CO_CHECK(inner.readies->load() == 3);  // the worker stopped at the failure
  auto p = co_await svc.ready();
  WEFT_CO_CHECK(absl::IsAborted(p.status()));
  WEFT_CO_CHECK(absl::IsAborted((co_await tower::oneshot(svc, 9)).status()));
  co_return absl::OkStatus();
}

}  // namespace

BOOST_AUTO_TEST_CASE(many_concurrent_callers_share_one_unsafe_service) {
  for (auto flavor : weft::testing::kAllFlavors) {
    auto rt = weft::testing::make_runtime(flavor);
    absl::Status st = rt.block_on(many_callers_one_service());
    BOOST_TEST(st.ok(), st.ToString());
  }
}

BOOST_AUTO_TEST_CASE(ready_pending_while_the_queue_is_full) {
  for (auto flavor : weft::testing::kAllFlavors) {
    auto rt = weft::testing::make_runtime(flavor);
    absl::Status st = rt.block_on(capacity_backpressure());
    BOOST_TEST(st.ok(), st.ToString());
  }
}

BOOST_AUTO_TEST_CASE(inner_ready_error_reaches_every_caller) {
  for (auto flavor : weft::testing::kAllFlavors) {
    auto rt = weft::testing::make_runtime(flavor);
    absl::Status st = rt.block_on(inner_error_propagates());
    BOOST_TEST(st.ok(), st.ToString());
  }
}
