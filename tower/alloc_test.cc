// A stack that is not boxed costs no heap allocation per call: after a warm-up, a thousand
// calls through map_request + map_response + map_err + and_then + a custom layer over a
// service_fn reach neither operator new nor malloc (coroutine frames come from the runtime's
// per-thread frame cache). Also pins how many frames a call takes. Counting replaces the global
// operator new, which the sanitizers own: under them the test only checks the responses. A boxed
// service adds no frame of its own.
#define BOOST_TEST_MODULE alloc_test
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "weft/runtime/runtime.h"
#include "weft/runtime/task/header.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/tower/boxed.h"
#include "weft/tower/service_builder.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WEFT_TOWER_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_TOWER_SANITIZED 1
#endif

namespace {
thread_local std::uint64_t news = 0;
}  // namespace

#ifndef WEFT_TOWER_SANITIZED
void* operator new(std::size_t n) {
  ++news;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

using weft::Task;
namespace tower = weft::tower;

namespace {

struct Counts {
  std::uint64_t news = 0;
  std::uint64_t frames = 0;
  long sum = 0;
};

template <class S>
Task<Counts> measure(const S* svc, int n) {
  for (int i = 0; i < 100; ++i) (void)co_await tower::oneshot(*svc, i);  // warm the cache
  Counts c;
  std::uint64_t news0 = news;
  std::uint64_t frames0 = weft::detail::frame_cache_stats().allocations;
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<long> r = co_await tower::oneshot(*svc, i);
    if (r.ok()) c.sum += *r;
  }
  c.news = news - news0;
  c.frames = weft::detail::frame_cache_stats().allocations - frames0;
  co_return c;
}

// ready() then call() by hand: no oneshot frame, so only the stack's own frames are counted.
template <class S>
Task<Counts> measure_calls(const S* svc, int n) {
  Counts c;
  std::uint64_t news0 = news;
  std::uint64_t frames0 = weft::detail::frame_cache_stats().allocations;
  for (int i = 0; i < n; ++i) {
    auto permit = co_await svc->ready();
    if (!permit.ok()) co_return c;
    absl::StatusOr<long> r = co_await svc->call(*std::move(permit), i);
    if (r.ok()) c.sum += *r;
  }
  c.news = news - news0;
  c.frames = weft::detail::frame_cache_stats().allocations - frames0;
  co_return c;
}

}  // namespace

BOOST_AUTO_TEST_CASE(continuations_over_work_done_at_once_make_no_frame) {
  auto rt = weft::testing::make_runtime(weft::testing::Flavor::kCurrentThread, 1);
  auto svc =
      tower::ServiceBuilder()
          .then([](absl::StatusOr<long> r) -> absl::StatusOr<long> { return r; })
          .and_then([](long x) -> absl::StatusOr<long> {
            if (x % 2 == 1)
              return absl::Status(absl::StatusCode::kNotFound, "");  // no message: no allocation
            return x;
          })
          .service_fn([](int x) -> absl::StatusOr<long> { return x; });
  Counts c = rt.block_on(measure_calls(&svc, 1000));
  BOOST_TEST(c.sum == 2L * (500L * 499 / 2));  // the even ones; odd ones are errors
#ifndef WEFT_TOWER_SANITIZED
  BOOST_TEST(c.news == 0u);
  BOOST_TEST(c.frames == 0u);
#endif
}

BOOST_AUTO_TEST_CASE(unboxed_stack_allocates_nothing_per_call) {
  auto rt = weft::testing::make_runtime(weft::testing::Flavor::kCurrentThread, 1);
  auto leaf = [](int x) -> Task<absl::StatusOr<int>> { co_return x; };
  auto zero_frame = tower::ServiceBuilder()
                        .map_err([](absl::Status s) { return s; })
                        .map_response([](int x) { return static_cast<long>(x) * 2; })
                        .map_request([](int x) { return x + 1; })
                        .service_fn(leaf);
  Counts a = rt.block_on(measure(&zero_frame, 1000));
  BOOST_TEST(a.sum == 2L * (1000L * 999 / 2 + 1000));
  auto with_and_then = tower::ServiceBuilder()
                           .and_then([](int x) -> absl::StatusOr<long> { return x; })
                           .map_request([](int x) { return x; })
                           .service_fn(leaf);
  Counts b = rt.block_on(measure(&with_and_then, 1000));
  BOOST_TEST(b.sum == 1000L * 999 / 2);
#ifndef WEFT_TOWER_SANITIZED
  BOOST_TEST(a.news == 0u);
  BOOST_TEST(b.news == 0u);
  // oneshot's frame + the service_fn's Task: map_* add none.
  BOOST_TEST(a.frames == 2u * 1000);
  // and_then adds one, and its call() is then the Task oneshot would make: oneshot calls it
  // directly (tower::detail::DirectOneshot), so the total stays at two.
  BOOST_TEST(b.frames == 2u * 1000);
#endif
}

namespace {

// The box's own oneshot(), as http::Router calls it (tower::oneshot would add its Task).
Task<Counts> measure_box_oneshot(const tower::BoxService<int, long>* box, int n) {
  Counts c;
  std::uint64_t frames0 = weft::detail::frame_cache_stats().allocations;
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<long> r = co_await box->oneshot(i);
    if (r.ok()) c.sum += *r;
  }
  c.frames = weft::detail::frame_cache_stats().allocations - frames0;
  co_return c;
}

Task<absl::StatusOr<long>> coroutine_leaf(int x) { co_return x; }

}  // namespace

// Boxing adds no frame: ready(), call() and oneshot() give the result of a synchronous service
// at once, and a coroutine service's own Task as it is.
BOOST_AUTO_TEST_CASE(a_boxed_service_adds_no_frame) {
  auto rt = weft::testing::make_runtime(weft::testing::Flavor::kCurrentThread, 1);
  tower::BoxService<int, long> sync_box(
      tower::service_fn([](int x) -> absl::StatusOr<long> { return x; }));
  tower::BoxService<int, long> coro_box(tower::service_fn(&coroutine_leaf));
  // A boxed stack that must convert its response (int -> long) and map it.
  auto mapped = tower::ServiceBuilder()
                    .map_response([](int x) { return x; })
                    .service_fn([](int x) -> absl::StatusOr<int> { return x; });
  tower::BoxService<int, long> mapped_box(std::move(mapped));
  const long want = 1000L * 999 / 2;
  Counts a = rt.block_on(measure_calls(&sync_box, 1000));
  Counts b = rt.block_on(measure_box_oneshot(&sync_box, 1000));
  Counts c = rt.block_on(measure_calls(&coro_box, 1000));
  Counts d = rt.block_on(measure_box_oneshot(&coro_box, 1000));
  Counts e = rt.block_on(measure_box_oneshot(&mapped_box, 1000));
  Counts f = rt.block_on(measure(&sync_box, 1000));  // tower::oneshot: a Task, one frame
  for (const Counts* k : {&a, &b, &c, &d, &e, &f}) BOOST_TEST(k->sum == want);
  BOOST_TEST(a.frames == 0u);
  BOOST_TEST(b.frames == 0u);
  BOOST_TEST(c.frames == 1000u);  // coroutine_leaf's own
  BOOST_TEST(d.frames == 1000u);
  BOOST_TEST(e.frames == 0u);
  BOOST_TEST(f.frames == 1000u);
}
