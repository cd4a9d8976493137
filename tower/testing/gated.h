// Test helpers for middleware: a service whose calls wait at a gate the test opens, and the
// small tasks every middleware test needs.
//
//   weft::tower::testing::Gated inner;            // call(x): x < 0 fails, 0 returns at once,
//   auto svc = ServiceBuilder().layer(L).service(inner);   // otherwise waits for inner.gate
//   auto h = weft::spawn(call_task(&svc, 7));
//   inner.gate->add_permits(1);                   // lets one waiting call finish
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "absl/status/statusor.h"
#include "weft/runtime/sync/semaphore.h"
#include "weft/runtime/task/task.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/time/sleep.h"
#include "weft/tower/service.h"

namespace weft::tower::testing {

struct Gated {
  std::shared_ptr<sync::Semaphore> gate = std::make_shared<sync::Semaphore>(0);
  std::shared_ptr<std::atomic<int>> started = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> dropped = std::make_shared<std::atomic<int>>(0);  // frames gone
  AlwaysReady ready() const { return always_ready(); }
  Task<absl::StatusOr<int>> call(NoPermit, int x) const {
    weft::testing::DropCounter on_drop(dropped);
    started->fetch_add(1);
    if (x < 0) co_return absl::InvalidArgumentError("negative");
    if (x == 0) co_return 0;  // fast path: no wait
    absl::StatusOr<sync::SemaphorePermit> pass = co_await gate->acquire();
    if (!pass.ok()) co_return pass.status();
    co_return x;
  }
};

// Lets other tasks run for a while: used only to observe that something did NOT happen.
inline Task<void> settle(std::chrono::milliseconds d = std::chrono::milliseconds(5)) {
  for (int i = 0; i < 20; ++i) co_await weft::yield_now();
  co_await weft::time::sleep(d);
}

// ready() + call() as a task of its own (the service must outlive it).
template <class S>
Task<absl::StatusOr<int>> call_task(const S* svc, int x) {
  co_return co_await oneshot(*svc, x);
}

// Waits for readiness and drops the permit; true if ready() succeeded.
template <class S>
Task<bool> wait_ready(const S* svc) {
  auto p = co_await svc->ready();
  co_return p.ok();
}

}  // namespace weft::tower::testing
