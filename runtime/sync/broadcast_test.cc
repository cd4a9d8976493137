// broadcast: every receiver gets every value in order; a lagging receiver gets DATA_LOSS with
// the number it missed and then continues from the oldest kept value (memory bounded by the
// capacity); the end after the last sender; abort in recv; many senders (tasks and plain
// threads) and receivers lose nothing while they stay within the capacity. On a 2-worker
// multi-thread runtime.
//
// Only the root task (the one block_on runs) and the test body make Boost assertions: spawned
// tasks report through their results, because Boost.Test is not thread-safe. Awaited results are
// bound to locals before they are tested, and coroutine parameters are moved into locals (see
// mpsc_test.cc for the g++ 12 bug this avoids).
#define BOOST_TEST_MODULE broadcast_test
// clang-format off: Boost.Test must come right after its module name
#include <boost/test/unit_test.hpp>
// clang-format on

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "weft/runtime/runtime.h"
#include "weft/runtime/sync/broadcast.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"

namespace broadcast = weft::sync::broadcast;
using weft::Runtime;
using weft::Task;

namespace {

// Counts live instances: proves every value is destroyed exactly once and no more than the
// capacity is kept.
using weft::testing::Counted;

using Flag = std::shared_ptr<std::atomic<bool>>;
Flag make_flag() { return std::make_shared<std::atomic<bool>>(false); }

Task<void> wait_for(Flag f) {
  while (!f->load()) co_await weft::yield_now();
}
Task<void> yield_times(int n) {
  for (int i = 0; i < n; ++i) co_await weft::yield_now();
}

// Receives until "closed", expecting 0, 1, 2, ... in order; publishes how many it got.
// Returns the count, or -1 on anything else (a gap, a lag, a wrong error).
Task<int64_t> consume_in_order(broadcast::Receiver<int64_t> rx_param,
                               std::shared_ptr<std::atomic<int64_t>> progress) {
  broadcast::Receiver<int64_t> rx = std::move(rx_param);
  int64_t expect = 0;
  for (;;) {
    absl::StatusOr<int64_t> v = co_await rx.recv();
    if (!v.ok()) {
      bool closed = absl::IsCancelled(v.status()) && v.status().message() == "closed";
      co_return closed ? expect : -1;
    }
    if (*v != expect) co_return -1;
    ++expect;
    progress->store(expect);
  }
}

Task<void> case_in_order() {
  constexpr int kReceivers = 3;
  constexpr int64_t kCap = 8;
  constexpr int64_t kN = 2000;
  auto [tx, rx0] = broadcast::channel<int64_t>(kCap);
  std::vector<std::shared_ptr<std::atomic<int64_t>>> progress;
  std::vector<weft::JoinHandle<int64_t>> consumers;
  for (int i = 0; i < kReceivers; ++i) {
    progress.push_back(std::make_shared<std::atomic<int64_t>>(0));
    broadcast::Receiver<int64_t> rx = i == 0 ? std::move(rx0) : tx.subscribe();
    consumers.push_back(weft::spawn(consume_in_order(std::move(rx), progress.back())));
  }
  BOOST_TEST(tx.receiver_count() == std::size_t{kReceivers});
  // Sends in bursts of the capacity, each after every receiver has read the previous one, so
  // the receivers are woken from recv as well as find values ready.
  for (int64_t sent = 0; sent < kN;) {
    for (int64_t i = 0; i < kCap && sent < kN; ++i, ++sent) {
      absl::StatusOr<std::size_t> n = tx.send(sent);
      BOOST_REQUIRE(n.ok());
      BOOST_REQUIRE(*n == std::size_t{kReceivers});
    }
    for (auto& p : progress) {
      while (p->load() < sent) co_await weft::yield_now();
    }
  }
  { broadcast::Sender<int64_t> gone = std::move(tx); }
  for (auto& c : consumers) {
    absl::StatusOr<int64_t> got = co_await c;
    BOOST_REQUIRE(got.ok());
    BOOST_TEST(*got == kN);
  }
}

Task<void> case_lagged() {
  Counted::live.store(0);
  {
    auto [tx, rx] = broadcast::channel<Counted>(4);
    auto fast = tx.subscribe();
    for (int64_t i = 0; i < 3; ++i) BOOST_REQUIRE(tx.send(Counted(i)).ok());
    for (int64_t i = 0; i < 3; ++i) {
      absl::StatusOr<Counted> v = co_await fast.recv();
      BOOST_REQUIRE(v.ok());
      BOOST_TEST(v->v == i);
    }
    for (int64_t i = 3; i < 10; ++i) BOOST_REQUIRE(tx.send(Counted(i)).ok());
    BOOST_TEST(Counted::live.load() == 4);  // only the capacity is kept
    BOOST_TEST(rx.len() == 4u);

    // rx never read: 0..5 are gone (10 sent, 4 kept).
    absl::StatusOr<Counted> lag = co_await rx.recv();
    BOOST_TEST(absl::IsDataLoss(lag.status()));
    BOOST_TEST(lag.status().message() == "lagged by 6");
    for (int64_t i = 6; i < 10; ++i) {
      absl::StatusOr<Counted> v = co_await rx.recv();
      BOOST_REQUIRE(v.ok());
      BOOST_TEST(v->v == i);
    }
    BOOST_TEST(absl::IsUnavailable(rx.try_recv().status()));
    BOOST_TEST(rx.is_empty());

    // fast read 0..2, so it missed 3..5 only; try_recv reports it too.
    absl::StatusOr<Counted> lag2 = fast.try_recv();
    BOOST_TEST(absl::IsDataLoss(lag2.status()));
    BOOST_TEST(lag2.status().message() == "lagged by 3");
    for (int64_t i = 6; i < 10; ++i) {
      absl::StatusOr<Counted> v = fast.try_recv();
      BOOST_REQUIRE(v.ok());
      BOOST_TEST(v->v == i);
    }
    // Every receiver has read everything kept: the channel holds no value any more.
    BOOST_TEST(Counted::live.load() == 0);

    // A receiver dropped with unread values releases them.
    BOOST_REQUIRE(tx.send(Counted(10)).ok());
    BOOST_REQUIRE(tx.send(Counted(11)).ok());
    absl::StatusOr<Counted> v10 = co_await rx.recv();
    BOOST_REQUIRE(v10.ok());
    BOOST_TEST(Counted::live.load() == 3);  // v10 and the two kept (fast has not read them)
    { broadcast::Receiver<Counted> gone = std::move(fast); }
    BOOST_TEST(Counted::live.load() == 2);  // 10 now owed by nobody; 11 still owed to rx
  }
  BOOST_TEST(Counted::live.load() == 0);
}

Task<void> drop_after_yield(broadcast::Sender<int> tx_param) {
  broadcast::Sender<int> tx = std::move(tx_param);
  co_await yield_times(3);
}

Task<void> case_closed() {
  auto [tx, rx] = broadcast::channel<int>(4);
  broadcast::Sender<int> tx2 = tx;
  BOOST_TEST(tx2.same_channel(tx));
  BOOST_REQUIRE(tx.send(1).ok());
  BOOST_REQUIRE(tx2.send(2).ok());
  { broadcast::Sender<int> gone = std::move(tx); }
  BOOST_TEST(!rx.is_closed());
  weft::spawn(drop_after_yield(std::move(tx2)));
  absl::StatusOr<int> v1 = co_await rx.recv();
  BOOST_TEST(*v1 == 1);
  absl::StatusOr<int> v2 = co_await rx.recv();
  BOOST_TEST(*v2 == 2);
  absl::StatusOr<int> end = co_await rx.recv();  // waits for the spawned task's drop
  BOOST_TEST(absl::IsCancelled(end.status()));
  BOOST_TEST(end.status().message() == "closed");
  absl::StatusOr<int> end_again = co_await rx.recv();
  BOOST_TEST(absl::IsCancelled(end_again.status()));
  BOOST_TEST(absl::IsCancelled(rx.try_recv().status()));
  BOOST_TEST(rx.is_closed());
}

Task<void> case_no_receivers() {
  auto [tx, rx] = broadcast::channel<int>(2);
  { broadcast::Receiver<int> gone = std::move(rx); }
  absl::StatusOr<std::size_t> n = tx.send(1);
  BOOST_TEST(absl::IsFailedPrecondition(n.status()));
  BOOST_TEST(n.status().message() == "no receivers");
  auto rx2 = tx.subscribe();
  auto rx3 = rx2.resubscribe();
  absl::StatusOr<std::size_t> n2 = tx.send(2);
  BOOST_REQUIRE(n2.ok());
  BOOST_TEST(*n2 == 2u);
  absl::StatusOr<int> a = co_await rx2.recv();
  absl::StatusOr<int> b = co_await rx3.recv();
  BOOST_TEST(*a == 2);
  BOOST_TEST(*b == 2);
  co_return;
}

Task<int> recv_one(std::shared_ptr<broadcast::Receiver<int>> rx, Flag entered) {
  entered->store(true);
  absl::StatusOr<int> v = co_await rx->recv();
  co_return v.ok() ? *v : -1;
}

// Abort a task waiting in recv: nothing stays registered (ASan would see a wake of the freed
// frame), and the next recv on the same receiver gets the value.
Task<void> case_abort_recv() {
  auto [tx, rx0] = broadcast::channel<int>(4);
  auto rx = std::make_shared<broadcast::Receiver<int>>(std::move(rx0));
  Flag entered = make_flag();
  auto h = weft::spawn(recv_one(rx, entered));
  co_await wait_for(entered);
  co_await yield_times(5);  // let it reach the recv
  h.abort();
  absl::StatusOr<int> r = co_await h;
  BOOST_TEST(absl::IsCancelled(r.status()));

  Flag entered2 = make_flag();
  auto h2 = weft::spawn(recv_one(rx, entered2));
  co_await wait_for(entered2);
  co_await yield_times(5);
  BOOST_TEST(tx.send(7).ok());
  absl::StatusOr<int> r2 = co_await h2;
  BOOST_REQUIRE(r2.ok());
  BOOST_TEST(*r2 == 7);
  BOOST_TEST(absl::IsUnavailable(rx->try_recv().status()));
}

// Abort right after a value arrived: the recv either took it or left it for the next one.
Task<void> case_abort_recv_after_send() {
  auto [tx, rx0] = broadcast::channel<int>(4);
  auto rx = std::make_shared<broadcast::Receiver<int>>(std::move(rx0));
  for (int i = 0; i < 200; ++i) {
    Flag entered = make_flag();
    auto h = weft::spawn(recv_one(rx, entered));
    co_await wait_for(entered);
    BOOST_REQUIRE(tx.send(i).ok());
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

// ---- many senders and receivers ----

constexpr int64_t kStride = 1'000'000'000;

// Senders keep every receiver within the capacity: a send happens only while the slowest
// receiver is less than `cap` values behind (checked and sent under one lock, so the check
// holds for the position the send takes).
struct Window {
  std::mutex mu;
  int64_t sent = 0;  // guarded by mu
  int64_t cap = 0;
  std::vector<std::shared_ptr<std::atomic<int64_t>>> received;
  int64_t slowest() const {
    int64_t m = INT64_MAX;
    for (auto& r : received) m = std::min(m, r->load());
    return m;
  }
  int64_t sent_count() {
    std::lock_guard<std::mutex> lock(mu);
    return sent;
  }
  // True if sent.
  bool try_send(broadcast::Sender<Counted>& tx, int64_t v, bool* failed) {
    std::lock_guard<std::mutex> lock(mu);
    if (sent - slowest() >= cap) return false;
    if (!tx.send(Counted(v)).ok()) *failed = true;
    ++sent;
    return true;
  }
};

Task<int> produce(broadcast::Sender<Counted> tx_param, std::shared_ptr<Window> w, int64_t first,
                  int n) {
  broadcast::Sender<Counted> tx = std::move(tx_param);
  bool failed = false;
  for (int i = 0; i < n; ++i) {
    while (!w->try_send(tx, first + i, &failed)) co_await weft::yield_now();
  }
  co_return failed ? -1 : n;
}

// Receives until closed; checks each producer's values arrive in order. Returns the count, or
// -1 on a reordering, a lag or an unexpected error.
Task<int64_t> consume_checked(broadcast::Receiver<Counted> rx_param, int producers,
                              std::shared_ptr<std::atomic<int64_t>> received) {
  broadcast::Receiver<Counted> rx = std::move(rx_param);
  std::vector<int64_t> next(producers, 0);
  int64_t count = 0;
  for (;;) {
    absl::StatusOr<Counted> v = co_await rx.recv();
    if (!v.ok()) co_return absl::IsCancelled(v.status()) ? count : -1;
    int64_t p = v->v / kStride;
    if (p < 0 || p >= producers || v->v % kStride != next[p]) co_return -1;
    ++next[p];
    ++count;
    received->store(count);
  }
}

Task<void> case_many(int64_t cap) {
  constexpr int kTaskProducers = 3;
  constexpr int kThreadProducers = 2;
  constexpr int kProducers = kTaskProducers + kThreadProducers;
  constexpr int kReceivers = 4;
  constexpr int kN = 3000;
  Counted::live.store(0);
  {
    auto [tx, rx0] = broadcast::channel<Counted>(cap);
    auto w = std::make_shared<Window>();
    w->cap = cap;
    std::vector<broadcast::Receiver<Counted>> rxs;
    rxs.push_back(std::move(rx0));
    for (int i = 1; i < kReceivers; ++i) rxs.push_back(tx.subscribe());
    for (int i = 0; i < kReceivers; ++i) {
      w->received.push_back(std::make_shared<std::atomic<int64_t>>(0));
    }
    std::vector<weft::JoinHandle<int64_t>> consumers;
    for (int i = 0; i < kReceivers; ++i) {
      consumers.push_back(
          weft::spawn(consume_checked(std::move(rxs[i]), kProducers, w->received[i])));
    }
    std::vector<weft::JoinHandle<int>> producers;
    for (int p = 0; p < kTaskProducers; ++p) {
      producers.push_back(weft::spawn(produce(tx, w, p * kStride, kN)));
    }
    std::vector<std::thread> threads;
    std::atomic<int> thread_failures{0};
    for (int p = kTaskProducers; p < kProducers; ++p) {
      threads.emplace_back([tx = tx, w, p, &thread_failures]() mutable {
        bool failed = false;
        for (int i = 0; i < kN; ++i) {
          while (!w->try_send(tx, p * kStride + i, &failed)) std::this_thread::yield();
        }
        if (failed) thread_failures.fetch_add(1);
      });
    }
    { broadcast::Sender<Counted> gone = std::move(tx); }
    for (auto& h : producers) {
      absl::StatusOr<int> r = co_await h;
      BOOST_REQUIRE(r.ok());
      BOOST_TEST(*r == kN);
    }
    // The threads finish once the consumers (running on the workers) keep up.
    while (w->sent_count() < int64_t{kProducers} * kN) co_await weft::yield_now();
    for (auto& t : threads) t.join();  // each drops its Sender copy: the consumers see the end
    BOOST_TEST(thread_failures.load() == 0);
    for (auto& c : consumers) {
      absl::StatusOr<int64_t> got = co_await c;
      BOOST_REQUIRE(got.ok());
      BOOST_TEST(*got == int64_t{kProducers} * kN);
    }
  }
  BOOST_TEST(Counted::live.load() == 0);
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_receiver_gets_every_value_in_order) {
  Runtime rt = weft::testing::make_runtime();
  rt.block_on(case_in_order());
}

BOOST_AUTO_TEST_CASE(lagging_receiver_gets_data_loss_then_continues) {
  Runtime rt = weft::testing::make_runtime();
  rt.block_on(case_lagged());
}

BOOST_AUTO_TEST_CASE(recv_ends_when_all_senders_are_dropped) {
  Runtime rt = weft::testing::make_runtime();
  rt.block_on(case_closed());
}

BOOST_AUTO_TEST_CASE(send_without_receivers_fails) {
  Runtime rt = weft::testing::make_runtime();
  rt.block_on(case_no_receivers());
}

BOOST_AUTO_TEST_CASE(abort_while_in_recv_leaves_no_waiter) {
  Runtime rt = weft::testing::make_runtime();
  rt.block_on(case_abort_recv());
  rt.block_on(case_abort_recv_after_send());
}

BOOST_AUTO_TEST_CASE(many_senders_and_receivers_lose_nothing_within_capacity) {
  for (int64_t cap : {1, 7, 64}) {
    Runtime rt = weft::testing::make_runtime();
    rt.block_on(case_many(cap));
  }
}

BOOST_AUTO_TEST_CASE(invalid_capacity_is_rejected) {
  BOOST_CHECK_THROW(broadcast::channel<int>(0), std::invalid_argument);
}
