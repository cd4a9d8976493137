// Helpers for the runtime's own tests (and for users testing code built on weft).
//
//   weft::Runtime rt = weft::testing::make_runtime();           // 2-worker multi-thread
//   auto dropped = weft::testing::drop_flag();
//   rt.block_on(task_holding(weft::testing::DropFlag{dropped}));
//   BOOST_TEST(dropped->load());                                 // its destructor ran
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "weft/runtime/runtime.h"

namespace weft::testing {

enum class Flavor { kMultiThread, kCurrentThread, kThreadPerCore };
inline constexpr Flavor kAllFlavors[] = {Flavor::kMultiThread, Flavor::kCurrentThread,
                                         Flavor::kThreadPerCore};

// A runtime for a test; throws if it cannot be built (tests want to fail loudly).
inline Runtime make_runtime(Flavor flavor = Flavor::kMultiThread, std::size_t workers = 2) {
  Runtime::Builder b = flavor == Flavor::kMultiThread     ? Runtime::Builder::new_multi_thread()
                       : flavor == Flavor::kCurrentThread ? Runtime::Builder::new_current_thread()
                                                          : Runtime::Builder::new_thread_per_core();
  absl::StatusOr<Runtime> rt = b.worker_threads(workers).build();
  if (!rt.ok()) throw std::runtime_error("runtime: " + std::string(rt.status().message()));
  return std::move(*rt);
}

// Runs `f()` to completion on a fresh runtime of every flavour; the first failure, with the
// flavour named in its message (tests then assert on the test thread: BOOST_TEST(st.ok(), st)).
inline absl::Status run_in_all_flavors(Task<absl::Status> (*f)()) {
  static constexpr const char* kNames[] = {"multi-thread", "current-thread", "thread-per-core"};
  for (Flavor flavor : kAllFlavors) {
    Runtime rt = make_runtime(flavor);
    absl::Status st = rt.block_on(f());
    if (!st.ok()) {
      return absl::Status(st.code(),
                          absl::StrCat(kNames[static_cast<int>(flavor)], ": ", st.message()));
    }
  }
  return absl::OkStatus();
}

// Sets a flag when destroyed: proves a task's frame (and so its destructors) went away.
struct DropFlag {
  std::shared_ptr<std::atomic<bool>> flag;
  DropFlag(std::shared_ptr<std::atomic<bool>> f) : flag(std::move(f)) {}
  DropFlag(DropFlag&& o) noexcept = default;
  ~DropFlag() {
    if (flag) flag->store(true);
  }
};
inline std::shared_ptr<std::atomic<bool>> drop_flag() {
  return std::make_shared<std::atomic<bool>>(false);
}

// Counts live instances: a test that sends Counted values through a channel proves each one is
// destroyed exactly once (Counted::live returns to its starting value).
struct Counted {
  inline static std::atomic<int> live{0};
  int64_t v = 0;
  explicit Counted(int64_t x) : v(x) { live.fetch_add(1); }
  Counted(Counted&& o) noexcept : v(o.v) { live.fetch_add(1); }
  Counted(const Counted& o) : v(o.v) { live.fetch_add(1); }
  Counted& operator=(const Counted&) = default;
  ~Counted() { live.fetch_sub(1); }
};

// Counts destructions (several tasks sharing one counter).
struct DropCounter {
  std::shared_ptr<std::atomic<int>> count;
  DropCounter(std::shared_ptr<std::atomic<int>> c) : count(std::move(c)) {}
  DropCounter(DropCounter&& o) noexcept = default;
  ~DropCounter() {
    if (count) count->fetch_add(1);
  }
};

}  // namespace weft::testing

// Inside a test coroutine returning Task<absl::Status> (Boost.Test assertions are not
// thread-safe, so tasks report failures as a Status and the test body checks it):
//   WEFT_CO_CHECK(n == 5);            // INTERNAL "check failed: n == 5 at line N"
//   WEFT_CO_OK(co_await write_all(s, buf));
#define WEFT_CO_CHECK(cond)                                                                        \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      co_return absl::InternalError(absl::StrCat("check failed: ", #cond, " at line ", __LINE__)); \
    }                                                                                              \
  } while (0)
#define WEFT_CO_OK(expr)                    \
  do {                                      \
    absl::Status weft_st_ = (expr);         \
    if (!weft_st_.ok()) co_return weft_st_; \
  } while (0)
