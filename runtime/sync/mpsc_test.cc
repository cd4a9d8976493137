// mpsc: order, capacity, closing from either side, cancellation (abort) in recv / send /
// closed(), FIFO among waiting senders, many producers on tasks and plain threads, the coop
// budget, and runtime teardown with tasks blocked on channels. Bounded and unbounded; the
// multi-thread and current-thread runtimes.
//
// Only the root task (the one block_on runs) and the test body make Boost assertions: spawned
// tasks report through their results, because Boost.Test is not thread-safe. Tasks that must
// drop a Sender when their body ends hold it in a local, so the drop does not depend on when
// the runtime destroys the finished frame (and the parameters in it).
//
// g++ 12.2 silently skips a coroutine's whole body when an if/while/for condition co_awaits on
// a coroutine parameter (`while (co_await rx.recv())` with rx a parameter), so awaited results
// are bound to locals (or to a condition declaration) before they are tested.
#define BOOST_TEST_MODULE mpsc_test
// clang-format off: Boost.Test must come right after its module name
#include <boost/test/unit_test.hpp>
// clang-format on

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/runtime/runtime.h"
#include "weft/runtime/sync/mpsc.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"

namespace mpsc = weft::sync::mpsc;
using weft::JoinHandle;
using weft::Runtime;
using weft::Task;

namespace {

constexpr int kFlavors = 2;  // 0: multi-thread (2 workers), 1: current-thread

Runtime make(int flavor) { return weft::testing::make_runtime(weft::testing::kAllFlavors[flavor]); }

using weft::testing::Counted;

using Flag = std::shared_ptr<std::atomic<bool>>;
Flag make_flag() { return std::make_shared<std::atomic<bool>>(false); }
using Counter = std::shared_ptr<std::atomic<int>>;
Counter make_counter() { return std::make_shared<std::atomic<int>>(0); }

// Sends without waiting on either flavour.
absl::Status send_now(mpsc::Sender<int>& tx, int v) { return tx.try_send(v); }
absl::Status send_now(mpsc::UnboundedSender<int>& tx, int v) { return tx.send(v); }

Task<void> wait_for(Flag f) {
  while (!f->load()) co_await weft::yield_now();
}
Task<void> wait_for_count(Counter c, int n) {
  while (c->load() < n) co_await weft::yield_now();
}

// Sends first + i for i in [0, n), then drops its sender. Returns the number sent.
Task<int> produce(mpsc::Sender<int64_t> tx_param, int64_t first, int n) {
  mpsc::Sender<int64_t> tx = std::move(tx_param);
  for (int i = 0; i < n; ++i) {
    absl::Status st = co_await tx.send(first + i);
    if (!st.ok()) co_return i;
  }
  co_return n;
}
Task<int> produce_unbounded(mpsc::UnboundedSender<int64_t> tx_param, int64_t first, int n) {
  mpsc::UnboundedSender<int64_t> tx = std::move(tx_param);
  for (int i = 0; i < n; ++i) {
    if (!tx.send(first + i).ok()) co_return i;
    if (i % 64 == 0) co_await weft::yield_now();  // interleave with the other producers
  }
  co_return n;
}

// Receives until nullopt; checks that each producer's values come in order (producer p sends
// p * kStride + i). Returns count, or -1 on a reordering.
constexpr int64_t kStride = 1'000'000'000;
template <class Rx>
Task<int64_t> consume_checked(Rx* rx, int producers, int64_t* sum) {
  std::vector<int64_t> next(producers, 0);
  int64_t count = 0;
  while (std::optional<int64_t> v = co_await rx->recv()) {
    int64_t p = *v / kStride;
    if (p < 0 || p >= producers || *v % kStride != next[p]) co_return -1;
    ++next[p];
    ++count;
    *sum += *v;
  }
  co_return count;
}

// ---- root tasks ----

Task<void> case_in_order(std::size_t cap) {
  auto [tx, rx] = mpsc::channel<int64_t>(cap);
  constexpr int kN = 5000;
  auto h = weft::spawn(produce(std::move(tx), 0, kN));
  for (int i = 0; i < kN; ++i) {
    std::optional<int64_t> v = co_await rx.recv();
    BOOST_REQUIRE(v.has_value());
    BOOST_REQUIRE(*v == i);
  }
  std::optional<int64_t> end = co_await rx.recv();
  BOOST_TEST(!end.has_value());
  absl::StatusOr<int> sent = co_await h;
  BOOST_REQUIRE(sent.ok());
  BOOST_TEST(*sent == kN);
}

Task<void> case_in_order_unbounded() {
  auto [tx, rx] = mpsc::unbounded_channel<int64_t>();
  constexpr int kN = 5000;
  auto h = weft::spawn(produce_unbounded(std::move(tx), 0, kN));
  for (int i = 0; i < kN; ++i) {
    std::optional<int64_t> v = co_await rx.recv();
    BOOST_REQUIRE(v.has_value());
    BOOST_REQUIRE(*v == i);
  }
  auto end = co_await rx.recv();
  BOOST_TEST(!end.has_value());
  auto r2 = co_await h;
  BOOST_TEST(r2.ok());
}

Task<int> send_one(std::shared_ptr<mpsc::Sender<int>> tx, int v, Flag entered) {
  entered->store(true);
  absl::Status st = co_await tx->send(v);
  co_return st.ok() ? 1 : absl::IsFailedPrecondition(st) ? 0 : -1;
}
Task<int> send_one_counted(mpsc::Sender<int> tx_param, int v, Counter entered) {
  mpsc::Sender<int> tx = std::move(tx_param);
  entered->fetch_add(1);
  absl::Status st = co_await tx.send(v);
  co_return st.ok() ? 1 : absl::IsFailedPrecondition(st) ? 0 : -1;
}
template <class Rx>
Task<int> recv_one(std::shared_ptr<Rx> rx, Flag entered) {
  entered->store(true);
  std::optional<int> v = co_await rx->recv();
  co_return v.has_value() ? *v : -1;
}
template <class Tx>
Task<int> wait_closed(std::shared_ptr<Tx> tx, Flag entered) {
  entered->store(true);
  co_await tx->closed();
  co_return tx->is_closed() ? 1 : 0;
}

// The last sender going away wakes a receiver waiting in recv.
Task<void> drop_after_yield(mpsc::Sender<int> tx_param) {
  mpsc::Sender<int> tx = std::move(tx_param);
  co_await weft::yield_now();
}
Task<void> case_senders_dropped() {
  auto [tx, rx] = mpsc::channel<int>(4);
  mpsc::Sender<int> tx2 = tx;
  BOOST_TEST(tx2.same_channel(tx));
  auto s1 = co_await tx.send(1);
  BOOST_TEST(s1.ok());
  auto s2 = co_await tx2.send(2);
  BOOST_TEST(s2.ok());
  { mpsc::Sender<int> gone = std::move(tx); }
  weft::spawn(drop_after_yield(std::move(tx2)));
  auto v1 = co_await rx.recv();
  BOOST_TEST(*v1 == 1);
  auto v2 = co_await rx.recv();
  BOOST_TEST(*v2 == 2);
  auto end = co_await rx.recv();
  BOOST_TEST(!end.has_value());  // waits for the spawned task's drop
  auto end_again = co_await rx.recv();
  BOOST_TEST(!end_again.has_value());  // and stays ended
  BOOST_TEST(absl::IsFailedPrecondition(rx.try_recv().status()));
}

// Receiver dropped: waiting senders and closed() waiters are woken, later sends fail, buffered
// values are destroyed.
Task<void> case_receiver_dropped() {
  auto [tx0, rx] = mpsc::channel<int>(1);
  auto tx = std::make_shared<mpsc::Sender<int>>(std::move(tx0));
  BOOST_TEST(tx->try_send(0).ok());
  Flag in_send = make_flag();
  Flag in_closed = make_flag();
  auto sender = weft::spawn(send_one(tx, 1, in_send));
  auto closer = weft::spawn(wait_closed(tx, in_closed));
  co_await wait_for(in_send);
  co_await wait_for(in_closed);
  BOOST_TEST(!tx->is_closed());
  { mpsc::Receiver<int> gone = std::move(rx); }
  BOOST_TEST(tx->is_closed());
  absl::StatusOr<int> s = co_await sender;
  BOOST_REQUIRE(s.ok());
  BOOST_TEST(*s == 0);  // FAILED_PRECONDITION
  absl::StatusOr<int> c = co_await closer;
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(*c == 1);
  absl::Status st = co_await tx->send(2);
  BOOST_TEST(absl::IsFailedPrecondition(st));
  BOOST_TEST(st.message() == "channel closed");
  BOOST_TEST(absl::IsFailedPrecondition(tx->try_send(3)));
  co_await tx->closed();  // ready at once
}

// Abort a task waiting in recv: nothing is left registered, the next receiver gets the value.
template <class Make>
Task<void> case_abort_recv(Make make_chan) {
  auto [tx, rx0] = make_chan();
  using Rx = std::remove_reference_t<decltype(rx0)>;
  auto rx = std::make_shared<Rx>(std::move(rx0));
  Flag entered = make_flag();
  auto h = weft::spawn(recv_one(rx, entered));
  co_await wait_for(entered);
  h.abort();
  absl::StatusOr<int> r = co_await h;
  BOOST_TEST(absl::IsCancelled(r.status()));
  BOOST_TEST(!tx.is_closed());

  Flag entered2 = make_flag();
  auto h2 = weft::spawn(recv_one(rx, entered2));
  co_await wait_for(entered2);
  BOOST_TEST(send_now(tx, 7).ok());
  absl::StatusOr<int> r2 = co_await h2;
  BOOST_REQUIRE(r2.ok());
  BOOST_TEST(*r2 == 7);
  BOOST_TEST(absl::IsUnavailable(rx->try_recv().status()));
}

// A receiver handed from task to task, each woken while waiting: the channel keeps the waker
// of the last task that waited (to reuse its reference), so this checks that a new task's wait
// replaces it and that each wake reaches the task waiting now.
template <class Make>
Task<void> case_receiver_passed_on(Make make_chan) {
  auto [tx, rx0] = make_chan();
  using Rx = std::remove_reference_t<decltype(rx0)>;
  auto rx = std::make_shared<Rx>(std::move(rx0));
  for (int i = 0; i < 3; ++i) {
    Flag entered = make_flag();
    auto h = weft::spawn(recv_one(rx, entered));
    co_await wait_for(entered);
    for (int k = 0; k < 5; ++k) co_await weft::yield_now();  // let it reach its wait
    BOOST_TEST(send_now(tx, i).ok());
    absl::StatusOr<int> r = co_await h;
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(*r == i);
  }
}

// Abort a task right after a value arrived for it: it either took it or left it there.
Task<void> case_abort_recv_after_send() {
  auto [tx, rx0] = mpsc::channel<int>(4);
  auto rx = std::make_shared<mpsc::Receiver<int>>(std::move(rx0));
  for (int i = 0; i < 200; ++i) {
    Flag entered = make_flag();
    auto h = weft::spawn(recv_one(rx, entered));
    co_await wait_for(entered);
    BOOST_REQUIRE(tx.try_send(i).ok());
    h.abort();
    absl::StatusOr<int> r = co_await h;
    if (r.ok()) {
      BOOST_REQUIRE(*r == i);
    } else {
      absl::StatusOr<int> left = rx->try_recv();
      BOOST_REQUIRE(left.ok());
      BOOST_REQUIRE(*left == i);
    }
  }
}

// Abort a sender waiting for capacity: its value is not sent, it leaves no waiter behind, and
// the next waiting sender gets the capacity.
Task<void> case_abort_send() {
  auto [tx0, rx] = mpsc::channel<int>(1);
  auto tx = std::make_shared<mpsc::Sender<int>>(std::move(tx0));
  BOOST_TEST(tx->try_send(0).ok());
  Flag e1 = make_flag();
  Flag e2 = make_flag();
  auto s1 = weft::spawn(send_one(tx, 1, e1));
  co_await wait_for(e1);
  auto s2 = weft::spawn(send_one(tx, 2, e2));
  co_await wait_for(e2);
  s1.abort();
  auto aborted = co_await s1;
  BOOST_TEST(absl::IsCancelled(aborted.status()));
  auto v0 = co_await rx.recv();
  BOOST_TEST(*v0 == 0);
  auto v2 = co_await rx.recv();
  BOOST_TEST(*v2 == 2);  // s2 got the slot; 1 was never sent
  absl::StatusOr<int> r2 = co_await s2;
  BOOST_REQUIRE(r2.ok());
  BOOST_TEST(*r2 == 1);
  BOOST_TEST(absl::IsUnavailable(rx.try_recv().status()));
  BOOST_TEST(tx->capacity() == 1u);  // all capacity back
}

// Current-thread only (deterministic): the first waiter is granted the slot and aborted before
// it runs; the slot passes to the second waiter.
Task<void> case_abort_granted_send() {
  auto [tx0, rx] = mpsc::channel<int>(1);
  auto tx = std::make_shared<mpsc::Sender<int>>(std::move(tx0));
  BOOST_TEST(tx->try_send(0).ok());
  Flag e1 = make_flag();
  Flag e2 = make_flag();
  auto s1 = weft::spawn(send_one(tx, 1, e1));
  auto s2 = weft::spawn(send_one(tx, 2, e2));
  co_await wait_for(e1);
  co_await wait_for(e2);                      // both are queued, s1 first
  absl::StatusOr<int> first = rx.try_recv();  // grants the slot to s1 and wakes it...
  BOOST_REQUIRE(first.ok());
  BOOST_TEST(*first == 0);
  s1.abort();  // ...which is cancelled before it runs
  auto aborted = co_await s1;
  BOOST_TEST(absl::IsCancelled(aborted.status()));
  std::optional<int> v = co_await rx.recv();
  BOOST_REQUIRE(v.has_value());
  BOOST_TEST(*v == 2);
  absl::StatusOr<int> r2 = co_await s2;
  BOOST_REQUIRE(r2.ok());
  BOOST_TEST(*r2 == 1);
  BOOST_TEST(absl::IsUnavailable(rx.try_recv().status()));
  BOOST_TEST(tx->capacity() == 1u);
}

// Current-thread only: senders waiting for capacity are served in arrival order.
Task<void> case_fifo_senders() {
  auto [tx, rx] = mpsc::channel<int>(1);
  BOOST_TEST(tx.try_send(-1).ok());
  constexpr int kN = 8;
  Counter entered = make_counter();
  std::vector<JoinHandle<int>> hs;
  for (int i = 0; i < kN; ++i) {
    hs.push_back(weft::spawn(send_one_counted(tx, i, entered)));
  }
  co_await wait_for_count(entered, kN);
  BOOST_TEST(absl::IsResourceExhausted(tx.try_send(99)));  // no overtaking the queue
  auto v0 = co_await rx.recv();
  BOOST_TEST(*v0 == -1);
  for (int i = 0; i < kN; ++i) {
    std::optional<int> v = co_await rx.recv();
    BOOST_REQUIRE(v.has_value());
    BOOST_TEST(*v == i);
  }
  for (auto& h : hs) {
    auto sent = co_await h;
    BOOST_TEST(*sent == 1);
  }
}

// Aborting a task waiting in closed() leaves the others registered.
Task<void> case_abort_closed() {
  auto [tx0, rx] = mpsc::channel<int>(1);
  auto tx = std::make_shared<mpsc::Sender<int>>(std::move(tx0));
  Flag e1 = make_flag();
  Flag e2 = make_flag();
  auto c1 = weft::spawn(wait_closed(tx, e1));
  auto c2 = weft::spawn(wait_closed(tx, e2));
  co_await wait_for(e1);
  co_await wait_for(e2);
  c1.abort();
  auto aborted = co_await c1;
  BOOST_TEST(absl::IsCancelled(aborted.status()));
  rx.close();
  absl::StatusOr<int> r = co_await c2;
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == 1);
}

template <class Make>
Task<void> case_close_keeps_buffer(Make make_chan) {
  auto [tx, rx] = make_chan();
  BOOST_TEST(send_now(tx, 1).ok());
  BOOST_TEST(send_now(tx, 2).ok());
  rx.close();
  BOOST_TEST(tx.is_closed());
  BOOST_TEST(absl::IsFailedPrecondition(send_now(tx, 3)));
  co_await tx.closed();
  auto v1 = co_await rx.recv();
  BOOST_TEST(*v1 == 1);
  auto v2 = co_await rx.recv();
  BOOST_TEST(*v2 == 2);
  auto end = co_await rx.recv();
  BOOST_TEST(!end.has_value());  // senders still exist, but it is closed
  BOOST_TEST(absl::IsFailedPrecondition(rx.try_recv().status()));
}

// Four producer tasks into one receiver: nothing lost, each producer's order kept.
Task<void> case_many_producers(std::size_t cap) {
  constexpr int kProducers = 4;
  constexpr int kPer = 20000;
  auto [tx, rx] = mpsc::channel<int64_t>(cap);
  std::vector<JoinHandle<int>> hs;
  for (int p = 0; p < kProducers; ++p) hs.push_back(weft::spawn(produce(tx, p * kStride, kPer)));
  { mpsc::Sender<int64_t> gone = std::move(tx); }
  int64_t sum = 0;
  int64_t count = co_await consume_checked(&rx, kProducers, &sum);
  BOOST_TEST(count == int64_t{kProducers} * kPer);
  int64_t expect = 0;
  for (int p = 0; p < kProducers; ++p)
    expect += p * kStride * kPer + int64_t{kPer} * (kPer - 1) / 2;
  BOOST_TEST(sum == expect);
  for (auto& h : hs) {
    auto sent = co_await h;
    BOOST_TEST(*sent == kPer);
  }
}

Task<void> case_many_producers_unbounded() {
  constexpr int kProducers = 4;
  constexpr int kPer = 20000;
  auto [tx, rx] = mpsc::unbounded_channel<int64_t>();
  for (int p = 0; p < kProducers; ++p) weft::spawn(produce_unbounded(tx, p * kStride, kPer));
  { mpsc::UnboundedSender<int64_t> gone = std::move(tx); }
  int64_t sum = 0;
  int64_t count = co_await consume_checked(&rx, kProducers, &sum);
  BOOST_TEST(count == int64_t{kProducers} * kPer);
  int64_t expect = 0;
  for (int p = 0; p < kProducers; ++p)
    expect += p * kStride * kPer + int64_t{kPer} * (kPer - 1) / 2;
  BOOST_TEST(sum == expect);
}

// Two capacity-1 channels bouncing a counter (the shape of the pingpong benchmark).
Task<int> pong(mpsc::Receiver<int> rx, mpsc::Sender<int> tx_param) {
  mpsc::Sender<int> tx = std::move(tx_param);
  int n = 0;
  while (std::optional<int> v = co_await rx.recv()) {
    absl::Status st = co_await tx.send(*v + 1);
    if (!st.ok()) co_return -1;
    ++n;
  }
  co_return n;
}
Task<void> case_pingpong() {
  constexpr int kRounds = 20000;
  auto [ping_tx, ping_rx] = mpsc::channel<int>(1);
  auto [pong_tx, pong_rx] = mpsc::channel<int>(1);
  auto h = weft::spawn(pong(std::move(ping_rx), std::move(pong_tx)));
  for (int i = 0; i < kRounds; ++i) {
    auto st = co_await ping_tx.send(i);
    BOOST_REQUIRE(st.ok());
    std::optional<int> v = co_await pong_rx.recv();
    BOOST_REQUIRE(v.has_value());
    BOOST_REQUIRE(*v == i + 1);
  }
  { mpsc::Sender<int> gone = std::move(ping_tx); }
  absl::StatusOr<int> n = co_await h;
  BOOST_REQUIRE(n.ok());
  BOOST_TEST(*n == kRounds);
}

// Coop: a run of operations that never wait lets other tasks in (current-thread runtime).
Task<void> set_flag(Flag f) {
  f->store(true);
  co_return;
}
Task<bool> drain_ready(std::shared_ptr<mpsc::Receiver<int>> rx, int n, Flag other) {
  bool saw = false;
  for (int i = 0; i < n; ++i) {
    std::optional<int> v = co_await rx->recv();
    if (!v || *v != i) co_return false;
    saw = saw || other->load();
  }
  co_return saw;
}
Task<bool> fill_ready(std::shared_ptr<mpsc::Sender<int>> tx, int n, Flag other) {
  bool saw = false;
  for (int i = 0; i < n; ++i) {
    absl::Status st = co_await tx->send(i);
    if (!st.ok()) co_return false;
    saw = saw || other->load();
  }
  co_return saw;
}
Task<void> case_coop() {
  constexpr int kN = 1000;
  auto [tx0, rx0] = mpsc::channel<int>(kN);
  auto tx = std::make_shared<mpsc::Sender<int>>(std::move(tx0));
  auto rx = std::make_shared<mpsc::Receiver<int>>(std::move(rx0));
  Flag f1 = make_flag();
  auto filler = weft::spawn(fill_ready(tx, kN, f1));
  auto s1 = weft::spawn(set_flag(f1));
  absl::StatusOr<bool> saw1 = co_await filler;
  BOOST_REQUIRE(saw1.ok());
  BOOST_TEST(*saw1);  // sends with free capacity spent budget and yielded
  auto setter_done = co_await s1;
  BOOST_TEST(setter_done.ok());

  Flag f2 = make_flag();
  auto drainer = weft::spawn(drain_ready(rx, kN, f2));
  auto s2 = weft::spawn(set_flag(f2));
  absl::StatusOr<bool> saw2 = co_await drainer;
  BOOST_REQUIRE(saw2.ok());
  BOOST_TEST(*saw2);  // ready receives spent budget and yielded
  auto setter_done2 = co_await s2;
  BOOST_TEST(setter_done2.ok());
}

// Current-thread only: a sender that ran out of budget yields holding a permit; aborting it
// then returns the permit (no capacity leaks).
Task<int> send_many(std::shared_ptr<mpsc::Sender<int>> tx, int n) {
  for (int i = 0; i < n; ++i) {
    absl::Status st = co_await tx->send(i);
    if (!st.ok()) co_return -1;
  }
  co_return n;
}
Task<void> case_abort_sender_holding_permit() {
  constexpr int kCap = 1000;
  auto [tx0, rx] = mpsc::channel<int>(kCap);
  auto tx = std::make_shared<mpsc::Sender<int>>(std::move(tx0));
  auto h = weft::spawn(send_many(tx, kCap));
  co_await weft::yield_now();  // the sender runs until its budget is spent, then yields
  int received = 0;
  for (;;) {
    absl::StatusOr<int> v = rx.try_recv();
    if (!v.ok()) break;
    BOOST_REQUIRE(*v == received);
    ++received;
  }
  BOOST_TEST(received > 0);
  BOOST_TEST(received < kCap);
  BOOST_TEST(tx->capacity() == std::size_t{kCap - 1});  // the yielded send holds one permit
  h.abort();
  auto aborted = co_await h;
  BOOST_TEST(absl::IsCancelled(aborted.status()));
  BOOST_TEST(tx->capacity() == std::size_t{kCap});  // ...which the abort gave back
  BOOST_TEST(absl::IsUnavailable(rx.try_recv().status()));
}

// Leaves tasks blocked for good in recv (bounded and unbounded), in send on a full channel and
// in closed(), with values parked in the channels:
//   A (bounded):   one task waits in recv, another holds the sender and waits in closed()
//   B (bounded):   one task is stuck sending (2 values buffered, a third in its send)
//   C (unbounded): a task holding B's receiver waits in recv on C
//   D (unbounded): one value parked; its receiver is held by a task waiting in C's closed()
using Entered = std::shared_ptr<std::atomic<int>>;
Task<void> block_recv(mpsc::Receiver<Counted> rx, Entered e) {
  e->fetch_add(1);
  for (;;) {
    std::optional<Counted> v = co_await rx.recv();
    if (!v) break;
  }
}
Task<void> block_closed(mpsc::Sender<Counted> tx, Entered e) {
  e->fetch_add(1);
  co_await tx.closed();
}
Task<void> block_send(mpsc::Sender<Counted> tx, Entered e) {
  e->fetch_add(1);
  for (int i = 0;; ++i) {
    absl::Status st = co_await tx.send(Counted(i));
    if (!st.ok()) co_return;
  }
}
Task<void> hold_and_recv(mpsc::Receiver<Counted> keep, mpsc::UnboundedReceiver<Counted> rx,
                         Entered e) {
  e->fetch_add(1);
  for (;;) {
    std::optional<Counted> v = co_await rx.recv();
    if (!v) break;
  }
}
Task<void> hold_and_wait_closed(mpsc::UnboundedReceiver<Counted> keep,
                                mpsc::UnboundedSender<Counted> tx, Entered e) {
  e->fetch_add(1);
  co_await tx.closed();
}
Task<void> case_spawn_blocked() {
  Entered e = std::make_shared<std::atomic<int>>(0);
  auto [txa, rxa] = mpsc::channel<Counted>(2);
  weft::spawn(block_recv(std::move(rxa), e));
  weft::spawn(block_closed(std::move(txa), e));
  auto [txb, rxb] = mpsc::channel<Counted>(2);
  weft::spawn(block_send(std::move(txb), e));
  auto [txc, rxc] = mpsc::unbounded_channel<Counted>();
  weft::spawn(hold_and_recv(std::move(rxb), std::move(rxc), e));
  auto [txd, rxd] = mpsc::unbounded_channel<Counted>();
  BOOST_TEST(txd.send(Counted(5)).ok());
  weft::spawn(hold_and_wait_closed(std::move(rxd), std::move(txc), e));
  while (e->load() < 5) co_await weft::yield_now();
  for (int i = 0; i < 10; ++i) co_await weft::yield_now();  // let them reach their awaits
}

void run(int flavor, Task<void> (*root)()) {
  Runtime rt = make(flavor);
  rt.block_on(root());
}

auto bounded4() { return mpsc::channel<int>(4); }
auto unbounded() { return mpsc::unbounded_channel<int>(); }

}  // namespace

BOOST_AUTO_TEST_CASE(values_arrive_in_order) {
  for (int f = 0; f < kFlavors; ++f) {
    for (std::size_t cap : {1, 3, 16, 1024}) {
      Runtime rt = make(f);
      rt.block_on(case_in_order(cap));
    }
    run(f, case_in_order_unbounded);
  }
}

BOOST_AUTO_TEST_CASE(try_send_respects_capacity) {
  for (std::size_t cap : {1, 3, 4}) {
    auto [tx, rx] = mpsc::channel<int>(cap);
    BOOST_TEST(tx.max_capacity() == cap);
    BOOST_TEST(rx.max_capacity() == cap);
    BOOST_TEST(absl::IsUnavailable(rx.try_recv().status()));
    for (std::size_t i = 0; i < cap; ++i) {
      BOOST_TEST(tx.capacity() == cap - i);
      BOOST_TEST(tx.try_send(static_cast<int>(i)).ok());
    }
    absl::Status full = tx.try_send(100);
    BOOST_TEST(absl::IsResourceExhausted(full));
    BOOST_TEST(full.message() == "channel full");
    BOOST_TEST(tx.capacity() == 0u);
    absl::StatusOr<int> first = rx.try_recv();
    BOOST_REQUIRE(first.ok());
    BOOST_TEST(*first == 0);
    BOOST_TEST(tx.try_send(100).ok());
    BOOST_TEST(absl::IsResourceExhausted(tx.try_send(101)));
    for (std::size_t i = 1; i < cap; ++i) BOOST_TEST(*rx.try_recv() == static_cast<int>(i));
    BOOST_TEST(*rx.try_recv() == 100);
    BOOST_TEST(absl::IsUnavailable(rx.try_recv().status()));
    BOOST_TEST(tx.capacity() == cap);
  }
}

BOOST_AUTO_TEST_CASE(try_send_leaves_the_value_on_error) {
  auto [tx, rx] = mpsc::channel<std::unique_ptr<int>>(1);
  BOOST_TEST(tx.try_send(std::make_unique<int>(1)).ok());
  auto v = std::make_unique<int>(2);
  BOOST_TEST(absl::IsResourceExhausted(tx.try_send(std::move(v))));
  BOOST_REQUIRE(v != nullptr);
  BOOST_TEST(*v == 2);
  absl::StatusOr<std::unique_ptr<int>> got = rx.try_recv();
  BOOST_REQUIRE(got.ok());
  BOOST_TEST(**got == 1);
}

BOOST_AUTO_TEST_CASE(invalid_capacity_is_rejected) {
  BOOST_CHECK_THROW(mpsc::channel<int>(0), std::invalid_argument);
  BOOST_CHECK_THROW(mpsc::channel<int>(mpsc::kMaxCapacity + 1), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(recv_ends_when_all_senders_are_dropped) {
  for (int f = 0; f < kFlavors; ++f) run(f, case_senders_dropped);
  {
    auto [tx, rx] = mpsc::unbounded_channel<int>();
    mpsc::UnboundedSender<int> tx2 = tx;
    BOOST_TEST(tx.send(1).ok());
    { mpsc::UnboundedSender<int> gone = std::move(tx); }
    BOOST_TEST(*rx.try_recv() == 1);
    BOOST_TEST(absl::IsUnavailable(rx.try_recv().status()));
    { mpsc::UnboundedSender<int> gone = std::move(tx2); }
    BOOST_TEST(absl::IsFailedPrecondition(rx.try_recv().status()));
  }
}

BOOST_AUTO_TEST_CASE(receiver_drop_is_seen_by_senders) {
  for (int f = 0; f < kFlavors; ++f) run(f, case_receiver_dropped);
  {
    auto [tx, rx] = mpsc::channel<Counted>(4);
    BOOST_TEST(tx.try_send(Counted(1)).ok());
    BOOST_TEST(tx.try_send(Counted(2)).ok());
    BOOST_TEST(Counted::live.load() == 2);
    { mpsc::Receiver<Counted> gone = std::move(rx); }
    BOOST_TEST(Counted::live.load() == 0);  // dropped with the receiver
    BOOST_TEST(absl::IsFailedPrecondition(tx.try_send(Counted(3))));
  }
  {
    auto [tx, rx] = mpsc::unbounded_channel<Counted>();
    BOOST_TEST(tx.send(Counted(1)).ok());
    { mpsc::UnboundedReceiver<Counted> gone = std::move(rx); }
    BOOST_TEST(Counted::live.load() == 0);
    BOOST_TEST(tx.is_closed());
    absl::Status st = tx.send(Counted(2));
    BOOST_TEST(absl::IsFailedPrecondition(st));
    BOOST_TEST(st.message() == "channel closed");
  }
  BOOST_TEST(Counted::live.load() == 0);
}

BOOST_AUTO_TEST_CASE(receiver_close_keeps_what_is_buffered) {
  for (int f = 0; f < kFlavors; ++f) {
    Runtime rt = make(f);
    rt.block_on(case_close_keeps_buffer(bounded4));
    rt.block_on(case_close_keeps_buffer(unbounded));
  }
}

BOOST_AUTO_TEST_CASE(abort_while_in_recv_leaves_no_waiter) {
  for (int f = 0; f < kFlavors; ++f) {
    Runtime rt = make(f);
    rt.block_on(case_abort_recv(bounded4));
    rt.block_on(case_abort_recv(unbounded));
    rt.block_on(case_abort_recv_after_send());
  }
}

BOOST_AUTO_TEST_CASE(a_receiver_passed_between_tasks_wakes_the_one_waiting) {
  for (int f = 0; f < kFlavors; ++f) {
    Runtime rt = make(f);
    rt.block_on(case_receiver_passed_on(bounded4));
    rt.block_on(case_receiver_passed_on(unbounded));
  }
}

BOOST_AUTO_TEST_CASE(abort_while_in_send_leaves_no_waiter) {
  for (int f = 0; f < kFlavors; ++f) run(f, case_abort_send);
  run(1, case_abort_granted_send);
}

BOOST_AUTO_TEST_CASE(waiting_senders_are_served_in_order) { run(1, case_fifo_senders); }

BOOST_AUTO_TEST_CASE(abort_while_in_closed_leaves_no_waiter) {
  for (int f = 0; f < kFlavors; ++f) run(f, case_abort_closed);
}

BOOST_AUTO_TEST_CASE(many_producer_tasks_lose_nothing) {
  for (int f = 0; f < kFlavors; ++f) {
    for (std::size_t cap : {1, 7, 1024}) {
      Runtime rt = make(f);
      rt.block_on(case_many_producers(cap));
    }
    run(f, case_many_producers_unbounded);
  }
}

BOOST_AUTO_TEST_CASE(pingpong_round_trips) {
  for (int f = 0; f < kFlavors; ++f) run(f, case_pingpong);
}

BOOST_AUTO_TEST_CASE(operations_that_do_not_wait_spend_coop_budget) {
  run(1, case_coop);
  run(1, case_abort_sender_holding_permit);
}

// Plain threads on both sides (try_send / try_recv): exercises a receiver meeting a slot that a
// sender has claimed but not yet written.
BOOST_AUTO_TEST_CASE(producer_threads_and_a_polling_consumer_thread) {
  constexpr int kThreads = 3;
  constexpr int kPer = 20000;
  for (std::size_t cap : {1, 2, 5, 64}) {
    auto [tx, rx] = mpsc::channel<int64_t>(cap);
    std::vector<std::thread> producers;
    for (int p = 0; p < kThreads; ++p) {
      producers.emplace_back([tx = tx, p]() mutable {
        for (int i = 0; i < kPer; ++i) {
          int64_t v = p * kStride + i;
          absl::Status st;
          while (absl::IsResourceExhausted(st = tx.try_send(std::move(v)))) {
            std::this_thread::yield();
          }
          if (!st.ok()) return;
        }
      });
    }
    { mpsc::Sender<int64_t> gone = std::move(tx); }
    std::vector<int64_t> next(kThreads, 0);
    int64_t count = 0;
    bool ordered = true;
    for (;;) {
      absl::StatusOr<int64_t> v = rx.try_recv();
      if (absl::IsUnavailable(v.status())) {
        std::this_thread::yield();
        continue;
      }
      if (!v.ok()) break;  // closed: every producer finished
      int64_t p = *v / kStride;
      ordered = ordered && *v % kStride == next[p]++;
      ++count;
    }
    for (auto& t : producers) t.join();
    BOOST_TEST(ordered);
    BOOST_TEST(count == int64_t{kThreads} * kPer);
  }
}

// Plain threads sending into channels that tasks receive from.
Task<int64_t> consume_from_threads(mpsc::Receiver<int64_t> rx_param, int producers) {
  mpsc::Receiver<int64_t> rx = std::move(rx_param);
  int64_t sum = 0;
  co_return co_await consume_checked(&rx, producers, &sum);
}
Task<int64_t> consume_from_threads_unbounded(mpsc::UnboundedReceiver<int64_t> rx_param,
                                             int producers) {
  mpsc::UnboundedReceiver<int64_t> rx = std::move(rx_param);
  int64_t sum = 0;
  co_return co_await consume_checked(&rx, producers, &sum);
}
BOOST_AUTO_TEST_CASE(producer_threads_into_a_receiving_task) {
  constexpr int kThreads = 3;
  constexpr int kPer = 20000;
  for (int f = 0; f < kFlavors; ++f) {
    Runtime rt = make(f);
    {
      auto [tx, rx] = mpsc::channel<int64_t>(8);
      std::vector<std::thread> producers;
      for (int p = 0; p < kThreads; ++p) {
        producers.emplace_back([tx = tx, p]() mutable {
          for (int i = 0; i < kPer; ++i) {
            while (absl::IsResourceExhausted(tx.try_send(p * kStride + i))) {
              std::this_thread::yield();
            }
          }
        });
      }
      { mpsc::Sender<int64_t> gone = std::move(tx); }
      BOOST_TEST(rt.block_on(consume_from_threads(std::move(rx), kThreads)) ==
                 int64_t{kThreads} * kPer);
      for (auto& t : producers) t.join();
    }
    {
      auto [tx, rx] = mpsc::unbounded_channel<int64_t>();
      std::vector<std::thread> producers;
      for (int p = 0; p < kThreads; ++p) {
        producers.emplace_back([tx = tx, p]() mutable {
          for (int i = 0; i < kPer; ++i) (void)tx.send(p * kStride + i);
        });
      }
      { mpsc::UnboundedSender<int64_t> gone = std::move(tx); }
      BOOST_TEST(rt.block_on(consume_from_threads_unbounded(std::move(rx), kThreads)) ==
                 int64_t{kThreads} * kPer);
      for (auto& t : producers) t.join();
    }
  }
}

BOOST_AUTO_TEST_CASE(move_only_values) {
  auto [tx, rx] = mpsc::unbounded_channel<std::unique_ptr<std::string>>();
  BOOST_TEST(tx.send(std::make_unique<std::string>("a")).ok());
  absl::StatusOr<std::unique_ptr<std::string>> v = rx.try_recv();
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(**v == "a");
}

// Dropping the runtime cancels tasks blocked on channels; every frame, channel and value goes.
BOOST_AUTO_TEST_CASE(runtime_drop_with_blocked_tasks_leaks_nothing) {
  for (int f = 0; f < kFlavors; ++f) {
    {
      Runtime rt = make(f);
      rt.block_on(case_spawn_blocked());
      BOOST_TEST(Counted::live.load() > 0);
    }
    BOOST_TEST(Counted::live.load() == 0);
  }
}
