// duplex: delivery, EOF and broken-pipe rules, backpressure, writev, and cancellation of tasks
// blocked in read and in write (no waiter left behind, no byte lost or duplicated), all on a
// 2-worker multi-thread runtime.
//
// Only the root task (the one block_on runs) makes Boost assertions: spawned tasks report
// through their results, because Boost.Test is not thread-safe.
#define BOOST_TEST_MODULE duplex_test
#include "weft/runtime/io/duplex.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

#include "weft/runtime/io/async_io.h"
#include "weft/runtime/io/read_write.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/task/yield_now.h"

namespace io = weft::io;
using weft::Runtime;
using weft::Task;

static_assert(io::AsyncRead<io::DuplexStream>);
static_assert(io::AsyncWrite<io::DuplexStream>);
static_assert(io::AsyncWriteVectored<io::DuplexStream>);
static_assert(io::AsyncShutdown<io::DuplexStream>);
static_assert(!io::AsyncRead<int>);

namespace {

Runtime make_rt() { return weft::testing::make_runtime(); }

void run(Task<void> (*root)()) {
  Runtime rt = make_rt();
  rt.block_on(root());
}

using Flag = std::shared_ptr<std::atomic<bool>>;
Flag make_flag() { return std::make_shared<std::atomic<bool>>(false); }

// Waits until the pair has `n` suspended awaiters (the spawned task really is blocked).
Task<void> wait_waiters(const io::DuplexStream* s, std::size_t n) {
  while (s->waiter_count() != n) co_await weft::yield_now();
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

Task<absl::StatusOr<std::size_t>> read_some(io::DuplexStream& s, std::string& out,
                                            std::size_t max) {
  out.resize(max);
  absl::StatusOr<std::size_t> n = co_await s.read(std::span<char>(out));
  out.resize(n.ok() ? *n : 0);
  co_return n;
}

// ---- cases ----------------------------------------------------------------------------------

Task<void> case_round_trip_and_eof() {
  auto [a, b] = io::duplex(1024);
  std::string msg = "hello";
  absl::StatusOr<std::size_t> w = co_await a.write(std::span<const char>(msg));
  BOOST_REQUIRE(w.ok());
  BOOST_TEST(*w == 5u);
  std::string got;
  absl::StatusOr<std::size_t> r = co_await read_some(b, got, 64);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(got == "hello");

  // Empty buffers complete at once.
  absl::StatusOr<std::size_t> r0 = co_await b.read(std::span<char>());
  BOOST_TEST((r0.ok() && *r0 == 0));

  // Half-close: b reads EOF after draining; b can still write to a.
  std::string tail = "tail";
  BOOST_REQUIRE((co_await a.write(std::span<const char>(tail))).ok());
  BOOST_TEST((co_await a.shutdown_write()).ok());
  r = co_await read_some(b, got, 64);
  BOOST_TEST(got == "tail");
  r = co_await read_some(b, got, 64);
  BOOST_TEST((r.ok() && *r == 0));
  absl::StatusOr<std::size_t> aw = co_await a.write(std::span<const char>(tail));
  BOOST_TEST(absl::IsFailedPrecondition(aw.status()));  // write after shutdown_write
  absl::StatusOr<std::size_t> bw = co_await b.write(std::span<const char>(tail));
  BOOST_TEST((bw.ok() && *bw == 4u));
  r = co_await read_some(a, got, 64);
  BOOST_TEST(got == "tail");

  // Dropping b: a's reads give EOF, a's writes fail.
  { io::DuplexStream gone = std::move(b); }
  r = co_await read_some(a, got, 64);
  BOOST_TEST((r.ok() && *r == 0));
  aw = co_await a.write(std::span<const char>(tail));
  BOOST_TEST(absl::IsFailedPrecondition(aw.status()));

  // A moved-from stream fails cleanly instead of crashing.
  r = co_await read_some(b, got, 64);
  BOOST_TEST(absl::IsFailedPrecondition(r.status()));
}

Task<absl::StatusOr<std::size_t>> blocked_read(std::shared_ptr<io::DuplexStream> s) {
  char buf[16];
  absl::StatusOr<std::size_t> n = co_await s->read(std::span<char>(buf));
  co_return n;
}

// A reader blocked on an empty pipe wakes when the peer is dropped.
Task<void> case_drop_wakes_reader() {
  auto [a0, b] = io::duplex(64);
  auto a = std::make_shared<io::DuplexStream>(std::move(a0));
  auto h = weft::spawn(blocked_read(a));
  co_await wait_waiters(a.get(), 1);
  { io::DuplexStream gone = std::move(b); }
  absl::StatusOr<absl::StatusOr<std::size_t>> r = co_await h;
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE(r->ok());
  BOOST_TEST(**r == 0u);
}

Task<absl::StatusOr<std::size_t>> blocked_write(std::shared_ptr<io::DuplexStream> s,
                                                std::string data) {
  absl::StatusOr<std::size_t> n = co_await s->write(std::span<const char>(data));
  co_return n;
}

// Backpressure: a full pipe blocks the writer until the reader takes bytes out; a partial write
// reports what fit. Dropping the reader fails a blocked writer.
Task<void> case_backpressure() {
  auto [a0, b] = io::duplex(8);
  auto a = std::make_shared<io::DuplexStream>(std::move(a0));
  std::string ten = "0123456789";
  absl::StatusOr<std::size_t> w = co_await a->write(std::span<const char>(ten));
  BOOST_REQUIRE(w.ok());
  BOOST_TEST(*w == 8u);  // partial: the buffer holds 8
  auto h = weft::spawn(blocked_write(a, "89"));
  co_await wait_waiters(a.get(), 1);
  BOOST_TEST(!h.is_finished());
  std::string got;
  (void)co_await read_some(b, got, 3);
  BOOST_TEST(got == "012");
  absl::StatusOr<absl::StatusOr<std::size_t>> r = co_await h;
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE(r->ok());
  BOOST_TEST(**r == 2u);
  (void)co_await read_some(b, got, 64);
  BOOST_TEST(got == "3456789");

  // Fill again, block a writer, then drop the reader: the writer fails with EPIPE.
  (void)co_await a->write(std::span<const char>(ten));
  auto h2 = weft::spawn(blocked_write(a, "x"));
  co_await wait_waiters(a.get(), 1);
  { io::DuplexStream gone = std::move(b); }
  absl::StatusOr<absl::StatusOr<std::size_t>> r2 = co_await h2;
  BOOST_REQUIRE(r2.ok());
  BOOST_TEST(absl::IsFailedPrecondition(r2->status()));
  BOOST_TEST(a->waiter_count() == 0u);
}

Task<void> case_writev() {
  auto [a, b] = io::duplex(10);
  std::string p1 = "abc", p2 = "", p3 = "defghijkl";
  iovec iov[3] = {{p1.data(), p1.size()}, {p2.data(), p2.size()}, {p3.data(), p3.size()}};
  absl::StatusOr<std::size_t> w = co_await a.writev(std::span<const iovec>(iov));
  BOOST_REQUIRE(w.ok());
  BOOST_TEST(*w == 10u);  // 3 + 7 of the 9: partial at the capacity
  std::string got;
  (void)co_await read_some(b, got, 64);
  BOOST_TEST(got == "abcdefghij");
}

// 1 MiB through a 64-byte pipe with a reader and a writer on different workers.
Task<absl::Status> write_all_owned(io::DuplexStream s, std::string data) {
  absl::Status st = co_await io::write_all(s, std::span<const char>(data));
  co_return st;
}
Task<void> case_stream_through_small_pipe() {
  auto [a, b] = io::duplex(64);
  std::string data = pattern(1 << 20);
  auto h = weft::spawn(write_all_owned(std::move(a), data));
  absl::StatusOr<std::string> got = co_await io::read_to_end(b, 2 << 20);
  BOOST_REQUIRE(got.ok());
  BOOST_TEST((*got == data));
  absl::StatusOr<absl::Status> st = co_await h;
  BOOST_REQUIRE(st.ok());
  BOOST_TEST(st->ok());
}

// ---- cancellation ---------------------------------------------------------------------------

// Reads until cancelled, appending what each completed read returned to `got`.
Task<void> reader_until_aborted(std::shared_ptr<io::DuplexStream> s,
                                std::shared_ptr<std::string> got, Flag entered) {
  char buf[7];
  entered->store(true);
  for (;;) {
    absl::StatusOr<std::size_t> n = co_await s->read(std::span<char>(buf));
    if (!n.ok() || *n == 0) co_return;
    got->append(buf, *n);
  }
}

// Abort a task blocked in read: nothing is left registered and the next reader gets every byte.
Task<void> case_abort_blocked_reader() {
  auto [a, b0] = io::duplex(64);
  auto b = std::make_shared<io::DuplexStream>(std::move(b0));
  auto got = std::make_shared<std::string>();
  Flag entered = make_flag();
  auto h = weft::spawn(reader_until_aborted(b, got, entered));
  co_await wait_waiters(b.get(), 1);
  h.abort();
  absl::Status r = co_await h;
  BOOST_TEST(absl::IsCancelled(r));
  BOOST_TEST(b->waiter_count() == 0u);
  BOOST_TEST(got->empty());
  std::string msg = "after abort";
  BOOST_REQUIRE((co_await a.write(std::span<const char>(msg))).ok());
  std::string out;
  (void)co_await read_some(*b, out, 64);
  BOOST_TEST(out == msg);
}

// Abort a task blocked in write on a full pipe: the aborted write wrote nothing.
Task<void> case_abort_blocked_writer() {
  auto [a0, b] = io::duplex(64);
  auto a = std::make_shared<io::DuplexStream>(std::move(a0));
  std::string fill = pattern(64, 7);
  BOOST_REQUIRE((co_await io::write_all(*a, std::span<const char>(fill))).ok());
  auto h = weft::spawn(blocked_write(a, "NEVER"));
  co_await wait_waiters(a.get(), 1);
  h.abort();
  absl::StatusOr<absl::StatusOr<std::size_t>> r = co_await h;
  BOOST_TEST(absl::IsCancelled(r.status()));
  BOOST_TEST(a->waiter_count() == 0u);
  BOOST_TEST(a->write_buffered_bytes() == 64u);
  std::string more = "more";
  auto h2 = weft::spawn(blocked_write(a, more));
  std::string out(64, '\0');
  BOOST_REQUIRE((co_await io::read_exact(b, std::span<char>(out))).ok());
  BOOST_TEST((out == fill));
  absl::StatusOr<absl::StatusOr<std::size_t>> r2 = co_await h2;
  BOOST_REQUIRE(r2.ok());
  BOOST_REQUIRE(r2->ok());
  std::string rest;
  (void)co_await read_some(b, rest, 64);
  BOOST_TEST(rest == "more");
}

// Writes `data` in chunks of `chunk`, counting accepted bytes in `sent` (updated right after each
// write returns, so it always matches what the pipe accepted), until done or cancelled.
Task<void> counting_writer(std::shared_ptr<io::DuplexStream> s, std::shared_ptr<std::string> data,
                           std::size_t chunk, std::shared_ptr<std::atomic<std::size_t>> sent) {
  std::size_t off = 0;
  while (off < data->size()) {
    std::size_t n = std::min(chunk, data->size() - off);
    absl::StatusOr<std::size_t> w = co_await s->write(std::span<const char>(data->data() + off, n));
    if (!w.ok()) co_return;
    off += *w;
    sent->store(off);
  }
}

// Race aborts against a running transfer many times: whatever the aborted reader had received
// plus what is left in the pipe is exactly what the writer sent; same with an aborted writer.
Task<void> case_abort_races_lose_nothing() {
  for (int iter = 0; iter < 200; ++iter) {
    auto [a0, b0] = io::duplex(32);
    auto a = std::make_shared<io::DuplexStream>(std::move(a0));
    auto b = std::make_shared<io::DuplexStream>(std::move(b0));
    auto data = std::make_shared<std::string>(pattern(4096, iter + 1));
    auto sent = std::make_shared<std::atomic<std::size_t>>(0);
    auto got = std::make_shared<std::string>();
    Flag entered = make_flag();
    auto wh = weft::spawn(counting_writer(a, data, 1 + iter % 13, sent));
    auto rh = weft::spawn(reader_until_aborted(b, got, entered));
    for (int k = 0; k < iter % 5; ++k) co_await weft::yield_now();
    if (iter % 2 == 0) {
      rh.abort();
      (void)co_await rh;
      wh.abort();
      (void)co_await wh;
    } else {
      wh.abort();
      (void)co_await wh;
      rh.abort();
      (void)co_await rh;
    }
    BOOST_REQUIRE(a->waiter_count() == 0u);
    // Drain what is left in the pipe.
    BOOST_REQUIRE((co_await a->shutdown_write()).ok());
    absl::StatusOr<std::string> rest = co_await io::read_to_end(*b, 1 << 20);
    BOOST_REQUIRE(rest.ok());
    std::string all = *got + *rest;
    BOOST_REQUIRE(all.size() == sent->load());
    BOOST_REQUIRE((all == data->substr(0, all.size())));
  }
}

// Dropping the runtime with tasks blocked in read and write frees everything (ASan checks).
Task<void> case_spawn_blocked() {
  auto [a0, b0] = io::duplex(4);
  auto a = std::make_shared<io::DuplexStream>(std::move(a0));
  auto b = std::make_shared<io::DuplexStream>(std::move(b0));
  (void)co_await a->write(std::span<const char>("xxxx", 4));
  weft::spawn(blocked_write(a, "yy"));
  weft::spawn(blocked_read(a));
  co_await wait_waiters(a.get(), 2);
}

}  // namespace

BOOST_AUTO_TEST_CASE(round_trip_eof_and_broken_pipe) { run(case_round_trip_and_eof); }
BOOST_AUTO_TEST_CASE(drop_wakes_blocked_reader) { run(case_drop_wakes_reader); }
BOOST_AUTO_TEST_CASE(backpressure_and_partial_writes) { run(case_backpressure); }
BOOST_AUTO_TEST_CASE(writev_gathers_until_full) { run(case_writev); }
BOOST_AUTO_TEST_CASE(one_mib_through_64_bytes) { run(case_stream_through_small_pipe); }
BOOST_AUTO_TEST_CASE(abort_blocked_reader_leaves_no_waiter) { run(case_abort_blocked_reader); }
BOOST_AUTO_TEST_CASE(abort_blocked_writer_writes_nothing) { run(case_abort_blocked_writer); }
BOOST_AUTO_TEST_CASE(abort_races_lose_or_duplicate_nothing) { run(case_abort_races_lose_nothing); }
BOOST_AUTO_TEST_CASE(runtime_drop_with_blocked_tasks) { run(case_spawn_blocked); }
