// tower stack benchmark (issue 5, "Benchmark"): the cost per call of a 6-layer stack
//
//   timeout(10 s) > concurrency_limit(1024) > rate_limit(huge/s) > load_shed > retry(never) > map
//
// (first = outermost) over a trivial service (a service_fn returning the request + 1,
// synchronously) versus calling that service directly.
//
// Usage: stack_bench [--calls N] [--runs K] [--only TEXT]
//   defaults: 1000000 calls, median of 5 runs; --only runs "direct" and the rows whose name
//   contains TEXT (e.g. --only full, to profile one variant).
//   Pin it (`taskset -c N stack_bench`) and compare binaries on the same CPU: on a VM the two
//   vCPUs may run at different speeds (seen here: +46 ns on one, +65 on the other, and which
//   one was faster changed within the hour), which makes unpinned runs bimodal.
//
// Method: one current-thread runtime; one task per variant awaits `ready()` then `call()`
// sequentially, N times (no oneshot: its frame is not part of the stack). 10,000 untimed warm-up
// calls first, then K timed runs of N calls; ns/call is the median run. Over the timed runs:
//  * allocs/call: calls to the global operator new (replaced below, thread-local counter);
//  * frames/call: coroutine frames allocated (weft's per-thread frame cache, which does not go
//    through operator new);
//  * malloc/call: frames the cache could not serve (each one a malloc).
// Limits are generous so nothing ever waits; the retry policy never retries (and clones
// nothing); the retry layer has a RetryBudget as in a real deployment (one deposit per call).
//
// Rows: "direct" (the service alone); then the stack grown from the inside out, one layer per
// row (each row's delta over the previous one is that layer's cost inside the stack); then each
// layer alone over the service; then the full stack boxed in a BoxService.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/task/header.h"
#include "weft/runtime/task/task.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/tower/boxed.h"
#include "weft/tower/limit/concurrency/concurrency_limit.h"
#include "weft/tower/limit/rate/rate_limit.h"
#include "weft/tower/load_shed/load_shed.h"
#include "weft/tower/retry/retry.h"
#include "weft/tower/service_builder.h"
#include "weft/tower/timeout/timeout.h"

namespace {
thread_local std::uint64_t g_news = 0;
}  // namespace

void* operator new(std::size_t n) {
  ++g_news;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  ++g_news;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  ++g_news;
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  ++g_news;
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

namespace tower = weft::tower;
using weft::Task;

// Never retries, and so never keeps a copy of the request.
struct NeverRetry {
  template <class Req>
  std::optional<Req> clone_request(const Req&) const {
    return std::nullopt;
  }
  template <class Req, class Resp>
  bool retry(const Req&, const absl::StatusOr<Resp>&, int) const {
    return false;
  }
};

struct Leaf {
  absl::StatusOr<long> operator()(long x) const { return x + 1; }
};
struct Map {
  long operator()(long x) const { return x; }
};

tower::TimeoutLayer timeout_layer() { return tower::TimeoutLayer(std::chrono::seconds(10)); }
tower::ConcurrencyLimitLayer concurrency_layer() { return tower::ConcurrencyLimitLayer(1024); }
tower::RateLimitLayer rate_layer() {
  return tower::RateLimitLayer(std::numeric_limits<std::uint64_t>::max() / 2,
                               std::chrono::seconds(1));
}
tower::LoadShedLayer load_shed_layer() { return tower::LoadShedLayer(); }
tower::RetryLayer<NeverRetry> retry_layer() {
  return tower::RetryLayer<NeverRetry>(
      NeverRetry{}, std::make_shared<tower::RetryBudget>(std::chrono::seconds(10), 10, 0.2));
}

// Every variant's loop yields once per kYieldEvery calls, so each row pays the same number of
// cooperative yields (resources force one per 128 budget units; the layers spend different
// amounts). The yield is in "direct" too, so the added ns per layer are unaffected.
constexpr long kYieldEvery = 32;

struct Sample {
  std::uint64_t ns = 0;
  std::uint64_t news = 0;
  std::uint64_t frames = 0;
  std::uint64_t frame_misses = 0;
  bool ok = true;
};

template <class S>
Task<Sample> run_calls(const S* svc, long n) {
  Sample s;
  std::uint64_t news0 = g_news;
  weft::detail::FrameCacheStats f0 = weft::detail::frame_cache_stats();
  auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) {
    if (i % kYieldEvery == kYieldEvery - 1) co_await weft::yield_now();  // see kYieldEvery
    auto permit = co_await svc->ready();
    if (!permit.ok()) {
      std::fprintf(stderr, "call %ld: ready(): %s\n", i, permit.status().ToString().c_str());
      s.ok = false;
      break;
    }
    absl::StatusOr<long> r = co_await svc->call(std::move(*permit), i);
    if (!r.ok() || *r != i + 1) {
      std::fprintf(stderr, "call %ld: %s\n", i,
                   r.ok() ? std::to_string(*r).c_str() : r.status().ToString().c_str());
      s.ok = false;
      break;
    }
  }
  auto t1 = std::chrono::steady_clock::now();
  weft::detail::FrameCacheStats f1 = weft::detail::frame_cache_stats();
  s.news = g_news - news0;
  s.frames = f1.allocations - f0.allocations;
  s.frame_misses = (f1.allocations - f1.cache_hits) - (f0.allocations - f0.cache_hits);
  s.ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
  co_return s;
}

struct Row {
  std::string name;
  double ns = 0;
  double allocs = 0;
  double frames = 0;
  double mallocs = 0;
};

long g_calls = 1000000;
int g_runs = 5;
const char* g_only = nullptr;
double g_direct_ns = 0;

template <class S>
Row measure(weft::Runtime& rt, const std::string& name, const S& svc) {
  if (g_only != nullptr && g_direct_ns > 0 && name.find(g_only) == std::string::npos) return {};
  (void)rt.block_on(run_calls(&svc, 10000));  // warm-up: frame cache, branch predictors
  std::vector<double> ns;
  Sample total;
  for (int k = 0; k < g_runs; ++k) {
    Sample s = rt.block_on(run_calls(&svc, g_calls));
    if (!s.ok) {
      std::fprintf(stderr, "%s: a call failed\n", name.c_str());
      std::exit(1);
    }
    ns.push_back(static_cast<double>(s.ns) / static_cast<double>(g_calls));
    total.news += s.news;
    total.frames += s.frames;
    total.frame_misses += s.frame_misses;
  }
  std::sort(ns.begin(), ns.end());
  double calls = static_cast<double>(g_calls) * g_runs;
  Row r{name, ns[ns.size() / 2], static_cast<double>(total.news) / calls,
        static_cast<double>(total.frames) / calls, static_cast<double>(total.frame_misses) / calls};
  std::printf("%-44s %9.1f %9.1f %11.3f %10.2f %10.4f\n", r.name.c_str(), r.ns,
              g_direct_ns > 0 ? r.ns - g_direct_ns : 0.0, r.allocs, r.frames, r.mallocs);
  std::fflush(stdout);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--calls") == 0) {
      g_calls = std::atol(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--runs") == 0) {
      g_runs = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--only") == 0) {
      g_only = argv[i + 1];
    } else {
      std::fprintf(stderr, "usage: stack_bench [--calls N] [--runs K] [--only TEXT]\n");
      return 2;
    }
  }
  if (g_calls <= 0 || g_runs <= 0) return 2;
  absl::StatusOr<weft::Runtime> built = weft::Runtime::Builder::new_current_thread().build();
  if (!built.ok()) {
    std::fprintf(stderr, "runtime: %s\n", std::string(built.status().message()).c_str());
    return 1;
  }
  weft::Runtime rt = std::move(*built);

  std::printf(
      "tower stack: %ld sequential ready()+call() per run, median of %d runs, "
      "current-thread runtime\n",
      g_calls, g_runs);
  std::printf("%-44s %9s %9s %11s %10s %10s\n", "variant", "ns/call", "+ns", "allocs/call",
              "frames/call", "malloc/call");

  // The trivial service, called directly.
  g_direct_ns = measure(rt, "direct: service_fn(x + 1)", tower::service_fn(Leaf{})).ns;

  // The stack grown from the inside out (each row = the previous one + one outer layer).
  measure(rt, "+ map", tower::ServiceBuilder().map_response(Map{}).service_fn(Leaf{}));
  measure(rt, "+ retry > map",
          tower::ServiceBuilder().layer(retry_layer()).map_response(Map{}).service_fn(Leaf{}));
  measure(rt, "+ load_shed > retry > map",
          tower::ServiceBuilder()
              .layer(load_shed_layer())
              .layer(retry_layer())
              .map_response(Map{})
              .service_fn(Leaf{}));
  measure(rt, "+ rate > load_shed > retry > map",
          tower::ServiceBuilder()
              .layer(rate_layer())
              .layer(load_shed_layer())
              .layer(retry_layer())
              .map_response(Map{})
              .service_fn(Leaf{}));
  measure(rt, "+ concurrency > rate > load_shed > retry > map",
          tower::ServiceBuilder()
              .layer(concurrency_layer())
              .layer(rate_layer())
              .layer(load_shed_layer())
              .layer(retry_layer())
              .map_response(Map{})
              .service_fn(Leaf{}));
  auto full = tower::ServiceBuilder()
                  .layer(timeout_layer())
                  .layer(concurrency_layer())
                  .layer(rate_layer())
                  .layer(load_shed_layer())
                  .layer(retry_layer())
                  .map_response(Map{})
                  .service_fn(Leaf{});
  measure(rt, "full 6-layer stack (+ timeout)", full);

  // Each layer alone over the service.
  measure(rt, "alone: timeout", tower::ServiceBuilder().layer(timeout_layer()).service_fn(Leaf{}));
  measure(rt, "alone: concurrency_limit",
          tower::ServiceBuilder().layer(concurrency_layer()).service_fn(Leaf{}));
  measure(rt, "alone: rate_limit", tower::ServiceBuilder().layer(rate_layer()).service_fn(Leaf{}));
  measure(rt, "alone: load_shed",
          tower::ServiceBuilder().layer(load_shed_layer()).service_fn(Leaf{}));
  measure(rt, "alone: retry (budget)",
          tower::ServiceBuilder().layer(retry_layer()).service_fn(Leaf{}));
  measure(rt, "alone: retry (no budget)",
          tower::ServiceBuilder()
              .layer(tower::RetryLayer<NeverRetry>(NeverRetry{}, nullptr))
              .service_fn(Leaf{}));

  // The full stack, type-erased.
  tower::BoxService<long, long> boxed(std::move(full));
  measure(rt, "full stack boxed (BoxService<long, long>)", boxed);
  return 0;
}
