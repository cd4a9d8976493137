// BufReader / BufWriter over duplex pipes on a 2-worker multi-thread runtime. Only the root task
// makes Boost assertions.
#define BOOST_TEST_MODULE buf_test
#include <boost/test/unit_test.hpp>
#include <string>
#include <utility>

#include "weft/runtime/io/async_io.h"
#include "weft/runtime/io/buf_reader.h"
#include "weft/runtime/io/buf_writer.h"
#include "weft/runtime/io/duplex.h"
#include "weft/runtime/io/read_write.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/task/yield_now.h"

namespace io = weft::io;
using weft::Runtime;
using weft::Task;

static_assert(io::AsyncRead<io::BufReader<io::DuplexStream>>);
static_assert(io::AsyncWrite<io::BufReader<io::DuplexStream>>);
static_assert(io::AsyncShutdown<io::BufReader<io::DuplexStream>>);
static_assert(io::AsyncWrite<io::BufWriter<io::DuplexStream>>);
static_assert(io::AsyncFlush<io::BufWriter<io::DuplexStream>>);
static_assert(io::AsyncRead<io::BufWriter<io::DuplexStream>>);
static_assert(!io::AsyncFlush<io::DuplexStream>);

namespace {

void run(Task<void> (*root)()) {
  auto rt = Runtime::Builder::new_multi_thread().worker_threads(2).build();
  BOOST_REQUIRE(rt.ok());
  rt->block_on(root());
}

// Writes each piece separately (yielding between them), then drops the stream.
Task<absl::Status> write_pieces(io::DuplexStream s, std::vector<std::string> pieces) {
  for (const std::string& p : pieces) {
    absl::Status st = co_await io::write_all(s, std::span<const char>(p));
    if (!st.ok()) co_return st;
    co_await weft::yield_now();
  }
  co_return absl::OkStatus();
}

Task<void> case_read_line_split_input() {
  auto [a, b] = io::duplex(4);  // tiny: lines arrive in several reads
  auto h = weft::spawn(write_pieces(std::move(a), {"hel", "lo\r\nwor", "ld\n", "\n", "tail"}));
  io::BufReader<io::DuplexStream> r(std::move(b), 3);  // smaller than a line
  std::vector<std::string> lines;
  for (;;) {
    std::string line;
    absl::StatusOr<std::size_t> n = co_await r.read_line(line, 100);
    BOOST_REQUIRE(n.ok());
    if (*n == 0) break;
    BOOST_REQUIRE(*n == line.size());
    lines.push_back(line);
  }
  BOOST_REQUIRE(lines.size() == 4u);
  BOOST_TEST(lines[0] == "hello\r\n");
  BOOST_TEST(lines[1] == "world\n");
  BOOST_TEST(lines[2] == "\n");
  BOOST_TEST(lines[3] == "tail");
  (void)co_await h;
}

Task<void> case_line_longer_than_limit() {
  auto [a, b] = io::duplex(64);
  auto h = weft::spawn(write_pieces(std::move(a), {std::string(50, 'x'), "\nnext\n"}));
  io::BufReader<io::DuplexStream> r(std::move(b), 16);
  std::string line;
  absl::StatusOr<std::size_t> n = co_await r.read_line(line, 20);
  BOOST_TEST(absl::IsResourceExhausted(n.status()));
  BOOST_TEST(line.size() == 20u);  // what was consumed stays in `line`
  // The stream stays usable: the rest of the long line, then the next one.
  line.clear();
  n = co_await r.read_until('\n', line, 1000);
  BOOST_REQUIRE(n.ok());
  BOOST_TEST(line == std::string(30, 'x') + "\n");
  line.clear();
  n = co_await r.read_line(line, 1000);
  BOOST_TEST(line == "next\n");
  (void)co_await h;
}

Task<void> case_fill_buf_consume_and_read() {
  auto [a, b] = io::duplex(1024);
  std::string data = "abcdefghijklmnopqrstuvwxyz";
  auto h = weft::spawn(write_pieces(std::move(a), {data}));
  io::BufReader<io::DuplexStream> r(std::move(b), 8);
  absl::StatusOr<std::span<const char>> avail = co_await r.fill_buf();
  BOOST_REQUIRE(avail.ok());
  BOOST_TEST(std::string(avail->data(), avail->size()) == "abcdefgh");
  r.consume(3);
  char small[2];
  absl::StatusOr<std::size_t> n = co_await r.read(std::span<char>(small));  // from the buffer
  BOOST_REQUIRE(n.ok());
  BOOST_TEST(std::string(small, *n) == "de");
  std::string rest(21, '\0');
  absl::Status st = co_await io::read_exact(r, std::span<char>(rest));  // generic algorithm
  BOOST_REQUIRE(st.ok());
  BOOST_TEST(rest == data.substr(5));
  avail = co_await r.fill_buf();
  BOOST_REQUIRE(avail.ok());
  BOOST_TEST(avail->empty());  // EOF
  (void)co_await h;
}

Task<absl::StatusOr<std::string>> read_all_owned(io::DuplexStream s) {
  absl::StatusOr<std::string> r = co_await io::read_to_end(s, 4 << 20);
  co_return r;
}

Task<void> case_buf_writer() {
  auto [a, b] = io::duplex(1 << 20);
  io::BufWriter<io::DuplexStream> w(std::move(a), 16);
  for (char c : std::string("abcdef")) {
    absl::StatusOr<std::size_t> n = co_await w.write(std::span<const char>(&c, 1));
    BOOST_REQUIRE((n.ok() && *n == 1));
  }
  BOOST_TEST(b.readable_bytes() == 0u);  // all still buffered
  BOOST_TEST(w.buffer().size() == 6u);
  BOOST_REQUIRE((co_await w.flush()).ok());
  BOOST_TEST(b.readable_bytes() == 6u);
  // Overflowing the buffer flushes it first; a write >= capacity goes straight through.
  std::string big(40, 'B');
  (void)co_await w.write(std::span<const char>("xyz", 3));
  absl::StatusOr<std::size_t> n = co_await w.write(std::span<const char>(big));
  BOOST_REQUIRE((n.ok() && *n == 40));
  BOOST_TEST(w.buffer().empty());
  BOOST_TEST(b.readable_bytes() == 6u + 3u + 40u);
  BOOST_REQUIRE((co_await w.shutdown_write()).ok());
  absl::StatusOr<std::string> got = co_await io::read_to_end(b, 1000);
  BOOST_REQUIRE(got.ok());
  BOOST_TEST(*got == "abcdefxyz" + big);
}

// write_all through a BufWriter over a 64-byte pipe: the flushes wait on backpressure.
Task<void> case_buf_writer_backpressure() {
  auto [a, b] = io::duplex(64);
  auto reader = weft::spawn(read_all_owned(std::move(b)));
  io::BufWriter<io::DuplexStream> w(std::move(a), 1000);
  std::string expect;
  for (int i = 0; i < 5000; ++i) {
    std::string rec = "record " + std::to_string(i) + "\n";
    expect += rec;
    absl::Status st = co_await io::write_all(w, std::span<const char>(rec));
    BOOST_REQUIRE(st.ok());
  }
  BOOST_REQUIRE((co_await w.shutdown_write()).ok());
  absl::StatusOr<absl::StatusOr<std::string>> got = co_await reader;
  BOOST_REQUIRE((got.ok() && got->ok()));
  BOOST_TEST((**got == expect));
}

}  // namespace

BOOST_AUTO_TEST_CASE(read_line_over_split_input) { run(case_read_line_split_input); }
BOOST_AUTO_TEST_CASE(line_longer_than_limit_is_an_error) { run(case_line_longer_than_limit); }
BOOST_AUTO_TEST_CASE(fill_buf_consume_read) { run(case_fill_buf_consume_and_read); }
BOOST_AUTO_TEST_CASE(buf_writer_buffers_and_flushes) { run(case_buf_writer); }
BOOST_AUTO_TEST_CASE(buf_writer_under_backpressure) { run(case_buf_writer_backpressure); }
