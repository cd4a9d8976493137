// yield_now(): lets the other tasks on this worker run, then continues.
//
//   for (auto& item : big_batch) { process(item); co_await weft::yield_now(); }
//
// The task goes to the back of its worker's run queue (never the LIFO slot), so a loop of
// yield_now shares the worker fairly. Cancel-safe: nothing is registered anywhere.
#pragma once

#include <coroutine>

#include "weft/runtime/scheduler/scheduler.h"

namespace weft {

struct YieldNow {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) const noexcept { detail::yield_task(h); }
  void await_resume() const noexcept {}
};

inline YieldNow yield_now() { return {}; }

}  // namespace weft
