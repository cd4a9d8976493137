// weft runtime micro-benchmarks: a port of the Tokio peer benchmarks
// (/work/shared/peers/tokio-bench, tokio 1.24.2) with the same cases, workloads, rules, CLI and
// output format, so tools/bench/runtime_vs_tokio.sh can put the two side by side.
//
// Usage: runtime_bench [--workers N] [--iters K] [--case NAME]...
//   defaults: --workers 2 --iters 5, the seven Tokio cases
//   (spawn pingpong mpsc yield timers chained oneshot_pp). `--case idle` adds a memory probe.
//
// Rules (as Tokio's):
//  * Each iteration builds a FRESH multi-thread runtime with N workers; building is not timed.
//  * The timed region is the block_on call; the runtime is destroyed after the clock is read.
//  * Inside block_on the whole case runs in ONE spawned driver task whose JoinHandle is awaited,
//    so all spawns/sends happen on a worker thread.
//  * Every result is checked (counts/sums); a failed check aborts the process.
//  * One untimed warm-up iteration per case, then --iters timed ones; prints median/min/max ms
//    and every sample.
//
// Cases: see the table in tokio-bench/README.md. `idle` (weft only): the driver spawns 1,000,000
// tasks each awaiting a oneshot receiver, waits until all of them are suspended, reads the RSS
// from /proc/self/statm and reports (RSS delta) / 1e6 = bytes per idle task (task header +
// frame + oneshot channel; the handle/sender vectors are touched and malloc_trim(0) is called
// before the baseline), then
// drops the senders and joins every task.
//
// Coroutine rule: parameters by value, no capturing lambda coroutines. A finished task's frame
// (with its parameters) lives as long as its JoinHandle, so tasks that must drop a channel end
// when their body ends move it into a local first.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/sync/mpsc.h"
#include "weft/runtime/sync/oneshot.h"
#include "weft/runtime/task/task.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/time/sleep.h"

namespace {

namespace mpsc = weft::sync::mpsc;
namespace oneshot = weft::sync::oneshot;
using weft::JoinHandle;
using weft::Task;

constexpr std::size_t kSpawnN = 1'000'000;
constexpr uint64_t kPingPongN = 1'000'000;
constexpr uint64_t kMpscProducers = 4;
constexpr uint64_t kMpscPerProducer = 1'000'000;
constexpr std::size_t kMpscCap = 1024;
constexpr std::size_t kYieldTasks = 100'000;
constexpr int kYieldTimes = 10;
constexpr std::size_t kTimerTasks = 100'000;
constexpr int kChainRounds = 1'000;
constexpr int kChainDepth = 1'000;
constexpr int kPpRounds = 100;
constexpr std::size_t kPpPings = 1'000;
constexpr std::size_t kIdleTasks = 1'000'000;

struct Unit {};

// Like assert, but also in optimised builds.
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "runtime_bench: check failed: %s\n", what);
    std::abort();
  }
}
void check_status(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "runtime_bench: %s: %s\n", what, s.ToString().c_str());
    std::abort();
  }
}

// ---- spawn ----
Task<void> empty_body() { co_return; }

Task<void> case_spawn() {
  std::vector<JoinHandle<void>> hs;
  hs.reserve(kSpawnN);
  for (std::size_t i = 0; i < kSpawnN; ++i) hs.push_back(weft::spawn(empty_body()));
  for (auto& slot : hs) {
    JoinHandle<void> h = std::move(slot);  // dropped after the await, as Tokio's `for h in hs`
    check_status(co_await h, "spawn: join");
  }
}

// ---- pingpong ----
Task<void> pingpong_p(mpsc::Sender<uint64_t> ping_param, mpsc::Receiver<uint64_t> pong_param) {
  mpsc::Sender<uint64_t> ping = std::move(ping_param);  // dropped when the body ends
  mpsc::Receiver<uint64_t> pong = std::move(pong_param);
  for (uint64_t i = 0; i < kPingPongN; ++i) {
    check_status(co_await ping.send(i), "pingpong: ping send");
    std::optional<uint64_t> r = co_await pong.recv();
    check(r.has_value() && *r == i, "pingpong: pong == i");
  }
}

Task<uint64_t> pingpong_q(mpsc::Receiver<uint64_t> ping_param, mpsc::Sender<uint64_t> pong_param) {
  mpsc::Receiver<uint64_t> ping = std::move(ping_param);
  mpsc::Sender<uint64_t> pong = std::move(pong_param);
  uint64_t n = 0;
  while (std::optional<uint64_t> x = co_await ping.recv()) {
    check_status(co_await pong.send(*x), "pingpong: pong send");
    ++n;
  }
  co_return n;
}

Task<void> case_pingpong() {
  auto [ping_tx, ping_rx] = mpsc::channel<uint64_t>(1);
  auto [pong_tx, pong_rx] = mpsc::channel<uint64_t>(1);
  JoinHandle<void> p = weft::spawn(pingpong_p(std::move(ping_tx), std::move(pong_rx)));
  JoinHandle<uint64_t> q = weft::spawn(pingpong_q(std::move(ping_rx), std::move(pong_tx)));
  check_status(co_await p, "pingpong: join P");
  absl::StatusOr<uint64_t> n = co_await q;
  check_status(n.status(), "pingpong: join Q");
  check(*n == kPingPongN, "pingpong: Q count");
}

// ---- mpsc ----
Task<void> mpsc_producer(mpsc::Sender<uint64_t> tx_param, uint64_t p) {
  mpsc::Sender<uint64_t> tx = std::move(tx_param);  // dropped when the body ends
  for (uint64_t i = 0; i < kMpscPerProducer; ++i) {
    check_status(co_await tx.send(p * kMpscPerProducer + i), "mpsc: send");
  }
}

Task<void> case_mpsc() {
  auto [tx0, rx] = mpsc::channel<uint64_t>(kMpscCap);
  {
    mpsc::Sender<uint64_t> tx = std::move(tx0);
    for (uint64_t p = 0; p < kMpscProducers; ++p) {
      weft::spawn(mpsc_producer(tx, p));  // detached, as Tokio's dropped JoinHandle
    }
  }  // drop(tx)
  uint64_t count = 0, sum = 0;
  while (std::optional<uint64_t> v = co_await rx.recv()) {
    ++count;
    sum += *v;
  }
  const uint64_t n = kMpscProducers * kMpscPerProducer;
  check(count == n, "mpsc: count");
  check(sum == n * (n - 1) / 2, "mpsc: sum");
}

// ---- yield ----
Task<void> yield_body() {
  for (int i = 0; i < kYieldTimes; ++i) co_await weft::yield_now();
}

Task<void> case_yield() {
  std::vector<JoinHandle<void>> hs;
  hs.reserve(kYieldTasks);
  for (std::size_t i = 0; i < kYieldTasks; ++i) hs.push_back(weft::spawn(yield_body()));
  for (auto& slot : hs) {
    JoinHandle<void> h = std::move(slot);
    check_status(co_await h, "yield: join");
  }
}

// ---- timers ----
Task<void> timer_body() { co_await weft::time::sleep(std::chrono::milliseconds(1)); }

Task<void> case_timers() {
  std::vector<JoinHandle<void>> hs;
  hs.reserve(kTimerTasks);
  for (std::size_t i = 0; i < kTimerTasks; ++i) hs.push_back(weft::spawn(timer_body()));
  for (auto& slot : hs) {
    JoinHandle<void> h = std::move(slot);
    check_status(co_await h, "timers: join");
  }
}

// ---- chained ----
// Tokio: fn chain(done, n) { if n == 0 { done.send(()) } else { spawn(async { chain(done, n-1) }) }
// }
Task<void> chain(oneshot::Sender<Unit> done_param, int n) {
  oneshot::Sender<Unit> done = std::move(done_param);
  if (n == 0) {
    (void)done.send(Unit{});
  } else {
    weft::spawn(chain(std::move(done), n - 1));
  }
  co_return;
}

Task<void> case_chained() {
  for (int r = 0; r < kChainRounds; ++r) {
    auto [tx, rx] = oneshot::channel<Unit>();
    weft::spawn(chain(std::move(tx), kChainDepth));
    check_status((co_await rx).status(), "chained: done");
  }
}

// ---- oneshot_pp ----
struct PpRound {
  std::atomic<std::size_t> rem{kPpPings};
  std::mutex mu;
  std::optional<oneshot::Sender<Unit>> done;
};

Task<void> pp_partner(oneshot::Receiver<Unit> rx1_param, oneshot::Sender<Unit> tx2_param) {
  oneshot::Receiver<Unit> rx1 = std::move(rx1_param);
  oneshot::Sender<Unit> tx2 = std::move(tx2_param);
  check_status((co_await rx1).status(), "oneshot_pp: rx1");
  check_status(tx2.send(Unit{}), "oneshot_pp: tx2 send");
}

Task<void> pp_ping(std::shared_ptr<PpRound> round) {
  auto [tx1, rx1] = oneshot::channel<Unit>();
  auto [tx2, rx2] = oneshot::channel<Unit>();
  weft::spawn(pp_partner(std::move(rx1), std::move(tx2)));
  check_status(tx1.send(Unit{}), "oneshot_pp: tx1 send");
  check_status((co_await rx2).status(), "oneshot_pp: rx2");
  if (round->rem.fetch_sub(1, std::memory_order_relaxed) == 1) {
    std::lock_guard<std::mutex> lock(round->mu);
    check(round->done.has_value(), "oneshot_pp: done sender");
    (void)round->done->send(Unit{});
    round->done.reset();
  }
}

Task<void> case_oneshot_pp() {
  for (int r = 0; r < kPpRounds; ++r) {
    auto round = std::make_shared<PpRound>();
    auto [done_tx, done_rx] = oneshot::channel<Unit>();
    round->done.emplace(std::move(done_tx));
    for (std::size_t i = 0; i < kPpPings; ++i) weft::spawn(pp_ping(round));
    check_status((co_await done_rx).status(), "oneshot_pp: done");
  }
}

// ---- idle (memory probe, weft only) ----
std::atomic<double> g_idle_bytes_per_task{0};

long rss_bytes() {
  long size = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  check(f != nullptr, "idle: open /proc/self/statm");
  check(std::fscanf(f, "%ld %ld", &size, &resident) == 2, "idle: read /proc/self/statm");
  std::fclose(f);
  return resident * sysconf(_SC_PAGESIZE);
}

Task<void> idle_body(oneshot::Receiver<Unit> rx_param, std::atomic<std::size_t>* parked) {
  oneshot::Receiver<Unit> rx = std::move(rx_param);
  parked->fetch_add(1, std::memory_order_relaxed);
  absl::StatusOr<Unit> v = co_await rx;
  check(absl::IsCancelled(v.status()), "idle: receiver sees the dropped sender");
}

Task<void> case_idle() {
  // Touch both vectors before the baseline so only the tasks and channels are counted.
  std::vector<JoinHandle<void>> hs(kIdleTasks);
  std::vector<oneshot::Sender<Unit>> senders(kIdleTasks);
  std::atomic<std::size_t> parked{0};
  // Earlier iterations (and cases) left freed memory in malloc's arenas, which would be reused
  // without growing the RSS: give it back to the kernel first (glibc).
  malloc_trim(0);
  const long before = rss_bytes();
  for (std::size_t i = 0; i < kIdleTasks; ++i) {
    auto [tx, rx] = oneshot::channel<Unit>();
    senders[i] = std::move(tx);
    hs[i] = weft::spawn(idle_body(std::move(rx), &parked));
  }
  // Wait until every task has run up to its co_await (the increment is just before it; yield a
  // few more times so the last ones have suspended).
  while (parked.load(std::memory_order_relaxed) < kIdleTasks) co_await weft::yield_now();
  for (int i = 0; i < 10; ++i) co_await weft::yield_now();
  const long after = rss_bytes();
  g_idle_bytes_per_task.store(static_cast<double>(after - before) /
                              static_cast<double>(kIdleTasks));
  senders.clear();  // every receiver wakes with CANCELLED
  for (auto& slot : hs) {
    JoinHandle<void> h = std::move(slot);
    check_status(co_await h, "idle: join");
  }
}

// ---- harness ----
Task<void> make_case(const std::string& name) {
  if (name == "spawn") return case_spawn();
  if (name == "pingpong") return case_pingpong();
  if (name == "mpsc") return case_mpsc();
  if (name == "yield") return case_yield();
  if (name == "timers") return case_timers();
  if (name == "chained") return case_chained();
  if (name == "oneshot_pp") return case_oneshot_pp();
  if (name == "idle") return case_idle();
  std::fprintf(stderr, "runtime_bench: unknown case %s\n", name.c_str());
  std::exit(2);
}

Task<void> driver(Task<void> the_case) {
  JoinHandle<void> h = weft::spawn(std::move(the_case));
  check_status(co_await h, "driver: join case");
}

double run_case(const std::string& name, std::size_t workers) {
  absl::StatusOr<weft::Runtime> rt =
      weft::Runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build();
  check_status(rt.status(), "runtime build");
  Task<void> task = driver(make_case(name));
  const auto t0 = std::chrono::steady_clock::now();
  rt->block_on(std::move(task));
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}  // runtime destroyed after the clock was read

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: runtime_bench [--workers N] [--iters K] [--case "
               "spawn|pingpong|mpsc|yield|timers|chained|oneshot_pp|idle]...\n");
  std::exit(2);
}

std::size_t parse_count(const char* s) {
  char* end = nullptr;
  unsigned long v = std::strtoul(s, &end, 10);
  if (end == s || *end != '\0' || v == 0) usage();
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t workers = 2, iters = 5;
  std::vector<std::string> cases;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage();
    if (a == "--workers") {
      workers = parse_count(argv[++i]);
    } else if (a == "--iters") {
      iters = parse_count(argv[++i]);
    } else if (a == "--case") {
      cases.emplace_back(argv[++i]);
    } else {
      usage();
    }
  }
  if (cases.empty()) {
    cases = {"spawn", "pingpong", "mpsc", "yield", "timers", "chained", "oneshot_pp"};
  }
  std::printf("# weft-bench workers=%zu iters=%zu\n", workers, iters);
  std::printf("%-10s %10s %10s %10s  %s\n", "case", "median_ms", "min_ms", "max_ms", "all_ms");
  std::fflush(stdout);
  for (const std::string& c : cases) {
    // The memory probe must see a process whose task memory is still fresh: weft keeps task
    // frames for reuse, so after any earlier iteration the RSS delta would only show what
    // is not recycled. It runs first, without warm-up, and only its first figure counts.
    bool memory_probe = c == "idle";
    if (!memory_probe) (void)run_case(c, workers);  // warm-up iteration, not reported
    std::vector<double> v;
    std::vector<double> idle_bytes;
    std::string all;
    for (std::size_t k = 0; k < iters; ++k) {
      v.push_back(run_case(c, workers));
      if (k == 0) idle_bytes.push_back(g_idle_bytes_per_task.load());
      char buf[32];
      std::snprintf(buf, sizeof buf, "%s%.1f", k == 0 ? "" : ",", v.back());
      all += buf;
    }
    std::sort(v.begin(), v.end());
    std::printf("%-10s %10.1f %10.1f %10.1f  %s\n", c.c_str(), v[v.size() / 2], v.front(), v.back(),
                all.c_str());
    if (memory_probe) {
      std::printf("# idle bytes_per_task=%.1f (RSS delta / %zu tasks, first run in this process)\n",
                  idle_bytes.front(), kIdleTasks);
    }
    std::fflush(stdout);
  }
  return 0;
}
