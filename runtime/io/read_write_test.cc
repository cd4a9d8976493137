// read_exact, read_to_end, write_all, copy and copy_bidirectional over duplex pipes on a
// 2-worker multi-thread runtime. Only the root task makes Boost assertions.
#define BOOST_TEST_MODULE read_write_test
#include "weft/runtime/io/read_write.h"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <utility>

#include "weft/runtime/io/duplex.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/task/yield_now.h"

namespace io = weft::io;
using weft::Runtime;
using weft::Task;

namespace {

void run(Task<void> (*root)()) {
  auto rt = Runtime::Builder::new_multi_thread().worker_threads(2).build();
  BOOST_REQUIRE(rt.ok());
  rt->block_on(root());
}

std::string pattern(std::size_t n, uint32_t seed = 1) {
  std::string s(n, '\0');
  uint32_t x = seed;
  for (char& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 16);
  }
  return s;
}

// Writes `data` in pieces of `piece` bytes, yielding between them, then drops the stream.
Task<absl::Status> trickle(io::DuplexStream s, std::string data, std::size_t piece) {
  for (std::size_t off = 0; off < data.size(); off += piece) {
    std::size_t n = std::min(piece, data.size() - off);
    absl::Status st = co_await io::write_all(s, std::span<const char>(data.data() + off, n));
    if (!st.ok()) co_return st;
    co_await weft::yield_now();
  }
  co_return absl::OkStatus();
}

Task<void> case_read_exact_many_small_writes() {
  auto [a, b] = io::duplex(64);
  std::string data = pattern(5000);
  auto h = weft::spawn(trickle(std::move(a), data, 3));
  std::string got(5000, '\0');
  absl::Status st = co_await io::read_exact(b, std::span<char>(got));
  BOOST_REQUIRE(st.ok());
  BOOST_TEST((got == data));
  absl::StatusOr<absl::Status> w = co_await h;
  BOOST_TEST((w.ok() && w->ok()));
  // The writer is gone: nothing more.
  char c;
  absl::StatusOr<std::size_t> n = co_await b.read(std::span<char>(&c, 1));
  BOOST_TEST((n.ok() && *n == 0));
}

Task<void> case_read_exact_early_eof() {
  auto [a, b] = io::duplex(64);
  auto h = weft::spawn(trickle(std::move(a), "0123456789", 4));
  std::string got(20, '\0');
  absl::Status st = co_await io::read_exact(b, std::span<char>(got));
  BOOST_TEST(absl::IsOutOfRange(st));
  BOOST_TEST(st.message() == "early eof");
  (void)co_await h;
}

Task<void> case_read_to_end_limit() {
  for (std::size_t limit : {std::size_t{99}, std::size_t{100}, std::size_t{100000}}) {
    auto [a, b] = io::duplex(16);
    std::string data = pattern(100);
    auto h = weft::spawn(trickle(std::move(a), data, 7));
    absl::StatusOr<std::string> got = co_await io::read_to_end(b, limit);
    if (limit < 100) {
      BOOST_TEST(absl::IsResourceExhausted(got.status()));
    } else {
      BOOST_REQUIRE(got.ok());
      BOOST_TEST((*got == data));
    }
    b = io::DuplexStream();  // let a blocked writer fail instead of waiting
    (void)co_await h;
  }
  // Empty stream, limit 0.
  auto [a, b] = io::duplex(16);
  { io::DuplexStream gone = std::move(a); }
  absl::StatusOr<std::string> empty = co_await io::read_to_end(b, 0);
  BOOST_REQUIRE(empty.ok());
  BOOST_TEST(empty->empty());
}

Task<absl::StatusOr<std::string>> read_all_owned(io::DuplexStream s, std::size_t limit) {
  absl::StatusOr<std::string> r = co_await io::read_to_end(s, limit);
  co_return r;
}

// 1 MiB through a 64-byte duplex: write_all waits on backpressure thousands of times.
Task<void> case_write_all_backpressure() {
  auto [a, b] = io::duplex(64);
  auto reader = weft::spawn(read_all_owned(std::move(b), 2 << 20));
  std::string data = pattern(1 << 20, 3);
  absl::Status st = co_await io::write_all(a, std::span<const char>(data));
  BOOST_REQUIRE(st.ok());
  BOOST_REQUIRE((co_await a.shutdown_write()).ok());
  absl::StatusOr<absl::StatusOr<std::string>> got = co_await reader;
  BOOST_REQUIRE(got.ok());
  BOOST_REQUIRE(got->ok());
  BOOST_TEST((**got == data));

  // A dropped peer fails write_all.
  auto [c, d] = io::duplex(64);
  { io::DuplexStream gone = std::move(d); }
  st = co_await io::write_all(c, std::span<const char>(data));
  BOOST_TEST(absl::IsFailedPrecondition(st));
}

Task<void> case_copy() {
  auto [src_w, src_r] = io::duplex(100);
  auto [dst_w, dst_r] = io::duplex(50);
  std::string data = pattern(300000, 5);
  auto writer = weft::spawn(trickle(std::move(src_w), data, 999));
  auto reader = weft::spawn(read_all_owned(std::move(dst_r), 1 << 20));
  absl::StatusOr<uint64_t> n = co_await io::copy(src_r, dst_w);
  BOOST_REQUIRE(n.ok());
  BOOST_TEST(*n == data.size());
  dst_w = io::DuplexStream();  // EOF for the reader
  absl::StatusOr<absl::StatusOr<std::string>> got = co_await reader;
  BOOST_REQUIRE((got.ok() && got->ok()));
  BOOST_TEST((**got == data));
  (void)co_await writer;
}

// One end of a proxied connection: writes `out`, half-closes, reads to EOF.
Task<absl::StatusOr<std::string>> peer(io::DuplexStream s, std::string out) {
  absl::Status st = co_await io::write_all(s, std::span<const char>(out));
  if (!st.ok()) co_return st;
  st = co_await s.shutdown_write();
  if (!st.ok()) co_return st;
  absl::StatusOr<std::string> in = co_await io::read_to_end(s, 1 << 20);
  co_return in;
}

// client <-> [p1  copy_bidirectional  p2] <-> server: both directions arrive, half-closes
// propagate, and the counts are per direction.
Task<void> case_copy_bidirectional() {
  auto [client, p1] = io::duplex(1 << 20);
  auto [p2, server] = io::duplex(1 << 20);
  std::string up = pattern(100000, 11);
  std::string down = pattern(50000, 12);
  auto c = weft::spawn(peer(std::move(client), up));
  auto s = weft::spawn(peer(std::move(server), down));
  absl::StatusOr<std::pair<uint64_t, uint64_t>> n = co_await io::copy_bidirectional(p1, p2);
  BOOST_REQUIRE(n.ok());
  BOOST_TEST(n->first == up.size());
  BOOST_TEST(n->second == down.size());
  absl::StatusOr<absl::StatusOr<std::string>> cr = co_await c;
  absl::StatusOr<absl::StatusOr<std::string>> sr = co_await s;
  BOOST_REQUIRE((cr.ok() && cr->ok() && sr.ok() && sr->ok()));
  BOOST_TEST((**cr == down));
  BOOST_TEST((**sr == up));
}

// Writes `out` and then keeps the stream open until aborted.
Task<void> write_all_then_hold(io::DuplexStream s, std::string out) {
  (void)co_await io::write_all(s, std::span<const char>(out));
  char c;
  (void)co_await s.read(std::span<char>(&c, 1));  // blocks until aborted
}

// A failing direction ends copy_bidirectional with its error (and stops the other direction).
Task<void> case_copy_bidirectional_error() {
  auto [client, p1] = io::duplex(64);
  auto [p2, server] = io::duplex(64);
  { io::DuplexStream gone = std::move(server); }  // writes to p2 fail
  std::string up = pattern(1000, 13);
  auto c = weft::spawn(write_all_then_hold(std::move(client), up));
  absl::StatusOr<std::pair<uint64_t, uint64_t>> n = co_await io::copy_bidirectional(p1, p2);
  BOOST_TEST(absl::IsFailedPrecondition(n.status()));
  c.abort();
  (void)co_await c;
}

// The streams live in the cancelled task's frame: after the abort, the direction tasks must be
// gone too (ASan would catch a use after free), and the outer ends see EOF.
Task<void> proxy_owning_its_streams(io::DuplexStream p1, io::DuplexStream p2) {
  (void)co_await io::copy_bidirectional(p1, p2);
}

Task<void> case_copy_bidirectional_cancelled() {
  auto [client, p1] = io::duplex(64);
  auto [p2, server] = io::duplex(64);
  auto proxy = weft::spawn(proxy_owning_its_streams(std::move(p1), std::move(p2)));
  std::string hello = "hello";
  BOOST_REQUIRE(co_await io::write_all(client, std::span<const char>(hello)) == absl::OkStatus());
  char buf[5];
  BOOST_REQUIRE(co_await io::read_exact(server, std::span<char>(buf, 5)) == absl::OkStatus());
  proxy.abort();
  (void)co_await proxy;
  char c;
  absl::StatusOr<std::size_t> eof = co_await server.read(std::span<char>(&c, 1));
  BOOST_TEST((eof.ok() && *eof == 0));  // the proxy's streams were destroyed: EOF
}

}  // namespace

BOOST_AUTO_TEST_CASE(copy_bidirectional_cancelled_leaves_nothing_behind) {
  for (int i = 0; i < 20; ++i) run(case_copy_bidirectional_cancelled);
}

BOOST_AUTO_TEST_CASE(read_exact_across_many_small_writes) {
  run(case_read_exact_many_small_writes);
}
BOOST_AUTO_TEST_CASE(read_exact_early_eof) { run(case_read_exact_early_eof); }
BOOST_AUTO_TEST_CASE(read_to_end_limit) { run(case_read_to_end_limit); }
BOOST_AUTO_TEST_CASE(write_all_backpressure_1mib_through_64_bytes) {
  run(case_write_all_backpressure);
}
BOOST_AUTO_TEST_CASE(copy_counts_bytes) { run(case_copy); }
BOOST_AUTO_TEST_CASE(copy_bidirectional_counts_and_half_close) { run(case_copy_bidirectional); }
BOOST_AUTO_TEST_CASE(copy_bidirectional_error) { run(case_copy_bidirectional_error); }
