// echo_client: a closed-loop TCP echo load generator written on weft itself.
//
// Usage: echo_client --port P [--connections C] [--size BYTES] [--seconds S] [--workers W]
//                    [--round-trips N] [--warmup S] [--host IPV4]
//   defaults: --connections 1 --size 32 --seconds 5 --workers 1 --warmup 0.5 --host 127.0.0.1
//   (`--flag value` and `--flag=value` both work.)
//
// Every connection (TCP_NODELAY) runs a closed loop: write `size` bytes, read the whole echo
// back (and check it), repeat; each round trip's latency is recorded. All connections are
// established before the clock starts. Timed mode: the first --warmup seconds are not
// measured, then the run lasts --seconds. --round-trips N: exactly N round trips in total
// (over all connections; no warm-up, --seconds is then only a safety limit), so a tracer on
// the server can divide its syscall counts by N.
//
// Prints one line of key=value pairs (tools/bench/echo_bench.sh parses it):
//   conns size workers seconds round_trips rt_per_s MB_per_s p50_us p99_us p999_us max_us
//   all_round_trips (warm-up included) errors
// MB_per_s counts the payload once per round trip (10^6 bytes/s sent, the same comes back);
// the percentiles are over every measured round trip of every connection.
//
// Coroutine rule: parameters by value, no capturing lambda coroutines.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/net/socket_addr.h"
#include "weft/runtime/net/tcp_stream.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/task/task.h"
#include "weft/runtime/time/sleep.h"

namespace {

using weft::JoinHandle;
using weft::Task;
using weft::net::SocketAddr;
using weft::net::TcpStream;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = -1;
  size_t connections = 1;
  size_t size = 32;
  double seconds = 5;
  double warmup = 0.5;
  size_t workers = 1;
  uint64_t round_trips = 0;  // 0: timed mode
};

// State every connection task shares.
struct Shared {
  std::atomic<bool> measuring{false};  // record latencies (after the warm-up)
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> claimed{0};  // --round-trips mode: round trips handed out so far
  std::atomic<size_t> finished{0};   // connection tasks that have ended
  uint64_t limit = 0;                // --round-trips N, 0 = none
};

struct ConnResult {
  std::vector<uint32_t> latency_ns;  // measured round trips only
  uint64_t all_round_trips = 0;      // warm-up included
  std::string error;                 // empty: ended normally
};

uint32_t clamp_ns(Clock::duration d) {
  int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return static_cast<uint32_t>(std::clamp<int64_t>(ns, 0, UINT32_MAX));
}

// One connection's closed loop.
Task<ConnResult> run_connection(TcpStream stream, size_t size, std::shared_ptr<Shared> sh) {
  ConnResult res;
  res.latency_ns.reserve(1 << 16);
  std::vector<char> msg(size), echo(size);
  for (size_t i = 0; i < size; ++i) msg[i] = static_cast<char>('a' + i % 26);
  while (!sh->stop.load(std::memory_order_relaxed)) {
    if (sh->limit != 0 && sh->claimed.fetch_add(1, std::memory_order_relaxed) >= sh->limit) break;
    Clock::time_point t0 = Clock::now();
    size_t off = 0;
    while (off < size) {
      absl::StatusOr<size_t> w =
          co_await stream.write(std::span<const char>(msg.data() + off, size - off));
      if (!w.ok()) {
        res.error = std::string(w.status().message());
        break;
      }
      off += *w;
    }
    if (!res.error.empty()) break;
    off = 0;
    while (off < size) {
      absl::StatusOr<size_t> r =
          co_await stream.read(std::span<char>(echo.data() + off, size - off));
      if (!r.ok()) {
        res.error = std::string(r.status().message());
        break;
      }
      if (*r == 0) {
        res.error = "server closed the connection";
        break;
      }
      off += *r;
    }
    if (!res.error.empty()) break;
    Clock::time_point t1 = Clock::now();
    if (std::memcmp(msg.data(), echo.data(), size) != 0) {
      res.error = "echo differs from the message sent";
      break;
    }
    ++res.all_round_trips;
    if (sh->measuring.load(std::memory_order_relaxed)) res.latency_ns.push_back(clamp_ns(t1 - t0));
    msg[res.all_round_trips % size] ^= 1;  // vary the payload a little
  }
  sh->finished.fetch_add(1, std::memory_order_relaxed);
  co_return res;
}

double percentile_us(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return v[k] / 1000.0;
}

Task<int> run(Options opt) {
  absl::StatusOr<SocketAddr> addr = SocketAddr::from_ip(opt.host, static_cast<uint16_t>(opt.port));
  if (!addr.ok()) {
    std::fprintf(stderr, "echo_client: bad --host: %s\n", addr.status().ToString().c_str());
    co_return 2;
  }
  auto sh = std::make_shared<Shared>();
  sh->limit = opt.round_trips;

  // Connect everything first, so the measured loop sees no handshakes.
  std::vector<TcpStream> streams;
  streams.reserve(opt.connections);
  for (size_t i = 0; i < opt.connections; ++i) {
    absl::StatusOr<TcpStream> s = co_await TcpStream::connect(*addr);
    if (!s.ok()) {
      std::fprintf(stderr, "echo_client: connection %zu: %s\n", i, s.status().ToString().c_str());
      co_return 1;
    }
    if (absl::Status st = s->set_nodelay(true); !st.ok()) {
      std::fprintf(stderr, "echo_client: %s\n", st.ToString().c_str());
      co_return 1;
    }
    streams.push_back(std::move(*s));
  }

  const bool timed = opt.round_trips == 0;
  if (!timed) sh->measuring.store(true);
  std::vector<JoinHandle<ConnResult>> handles;
  handles.reserve(opt.connections);
  Clock::time_point start = Clock::now();
  for (TcpStream& s : streams) {
    handles.push_back(weft::spawn(run_connection(std::move(s), opt.size, sh)));
  }
  if (timed && opt.warmup > 0) {
    co_await weft::time::sleep(
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.warmup)));
    start = Clock::now();
    sh->measuring.store(true);
  }
  const Clock::time_point deadline = start + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(opt.seconds));
  // Poll for the end: cheap (100 wake-ups a second on the client only) and exact enough.
  while (sh->finished.load(std::memory_order_relaxed) < opt.connections) {
    Clock::time_point now = Clock::now();
    if (now >= deadline) break;
    co_await weft::time::sleep(
        std::min<Clock::duration>(deadline - now, std::chrono::milliseconds(10)));
  }
  sh->measuring.store(false);
  sh->stop.store(true);
  Clock::time_point end = Clock::now();

  std::vector<uint32_t> all;
  uint64_t all_round_trips = 0;
  size_t errors = 0;
  for (JoinHandle<ConnResult>& h : handles) {
    absl::StatusOr<ConnResult> r = co_await h;
    if (!r.ok()) {
      ++errors;
      std::fprintf(stderr, "echo_client: connection task: %s\n", r.status().ToString().c_str());
      continue;
    }
    if (!r->error.empty()) {
      ++errors;
      std::fprintf(stderr, "echo_client: connection: %s\n", r->error.c_str());
    }
    all.insert(all.end(), r->latency_ns.begin(), r->latency_ns.end());
    all_round_trips += r->all_round_trips;
  }
  if (!timed) end = Clock::now();  // the last round trip has finished now
  double secs = std::chrono::duration<double>(end - start).count();
  const uint64_t n = all.size();
  double rt_per_s = secs > 0 ? static_cast<double>(n) / secs : 0;
  double p50 = percentile_us(all, 0.50);
  double p99 = percentile_us(all, 0.99);
  double p999 = percentile_us(all, 0.999);
  double max_us = all.empty() ? 0 : *std::max_element(all.begin(), all.end()) / 1000.0;
  std::printf(
      "conns=%zu size=%zu workers=%zu seconds=%.3f round_trips=%llu rt_per_s=%.1f MB_per_s=%.3f "
      "p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f all_round_trips=%llu errors=%zu\n",
      opt.connections, opt.size, opt.workers, secs, static_cast<unsigned long long>(n), rt_per_s,
      rt_per_s * static_cast<double>(opt.size) / 1e6, p50, p99, p999, max_us,
      static_cast<unsigned long long>(all_round_trips), errors);
  std::fflush(stdout);
  if (opt.round_trips != 0 && n != opt.round_trips) {
    std::fprintf(stderr, "echo_client: %llu of %llu round trips done before --seconds ran out\n",
                 static_cast<unsigned long long>(n),
                 static_cast<unsigned long long>(opt.round_trips));
    co_return 1;
  }
  co_return errors == 0 ? 0 : 1;
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "echo_client: %s\n"
               "usage: echo_client --port P [--connections C] [--size BYTES] [--seconds S]\n"
               "                   [--workers W] [--round-trips N] [--warmup S] [--host IPV4]\n",
               why);
  std::exit(2);
}

bool parse_u64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::string str(s);
  unsigned long long v = std::strtoull(str.c_str(), &end, 10);
  if (*end != '\0' || str[0] == '-') return false;
  *out = v;
  return true;
}

bool parse_double(std::string_view s, double* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::string str(s);
  double v = std::strtod(str.c_str(), &end);
  if (*end != '\0' || !(v >= 0)) return false;
  *out = v;
  return true;
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-h" || a == "--help") usage("help");
    if (a.substr(0, 2) != "--") usage("unexpected argument");
    std::string_view name = a.substr(2), value;
    if (size_t eq = name.find('='); eq != std::string_view::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else {
      if (i + 1 >= argc) usage("missing value");
      value = argv[++i];
    }
    uint64_t u = 0;
    if (name == "host") {
      o.host = std::string(value);
    } else if (name == "seconds") {
      if (!parse_double(value, &o.seconds) || o.seconds <= 0) usage("bad --seconds");
    } else if (name == "warmup") {
      if (!parse_double(value, &o.warmup)) usage("bad --warmup");
    } else if (!parse_u64(value, &u)) {
      usage("bad number");
    } else if (name == "port") {
      if (u == 0 || u > 65535) usage("--port must be 1..65535");
      o.port = static_cast<int>(u);
    } else if (name == "connections") {
      if (u == 0 || u > 100000) usage("--connections must be 1..100000");
      o.connections = u;
    } else if (name == "size") {
      if (u == 0 || u > (64u << 20)) usage("--size must be 1..64 MiB");
      o.size = u;
    } else if (name == "workers") {
      if (u == 0 || u > 1024) usage("--workers must be 1..1024");
      o.workers = u;
    } else if (name == "round-trips" || name == "round_trips") {
      o.round_trips = u;
    } else {
      usage("unknown flag");
    }
  }
  if (o.port < 0) usage("--port is required");
  if (o.round_trips != 0 && o.round_trips < o.connections) usage("--round-trips < --connections");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse_args(argc, argv);
  // With --round-trips, --seconds is only a safety limit: give a long default.
  bool seconds_given = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]).substr(0, 9) == "--seconds") seconds_given = true;
  }
  if (opt.round_trips != 0 && !seconds_given) opt.seconds = 300;
  absl::StatusOr<weft::Runtime> rt =
      weft::Runtime::Builder::new_multi_thread().worker_threads(opt.workers).build();
  if (!rt.ok()) {
    std::fprintf(stderr, "echo_client: %s\n", rt.status().ToString().c_str());
    return 1;
  }
  return rt->block_on(run(opt));
}
