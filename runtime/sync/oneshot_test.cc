// oneshot: delivery, the error cases, close/closed, cancellation (abort) at every wait, races
// between the two halves on plain threads, the coop budget, and runtime teardown with tasks
// blocked on channels. Every case runs on the multi-thread and the current-thread runtime.
//
// Only the root task (the one block_on runs) and the test body make Boost assertions: spawned
// tasks report through their results, because Boost.Test is not thread-safe.
//
// g++ 12.2 silently skips a coroutine's whole body when an if/while/for condition co_awaits on
// a coroutine parameter (`while (co_await rx.recv())` with rx a parameter), so awaited results
// are bound to locals (or to a condition declaration) before they are tested.
#define BOOST_TEST_MODULE oneshot_test
// clang-format off: Boost.Test must come right after its module name
#include <boost/test/unit_test.hpp>
// clang-format on

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "weft/runtime/runtime.h"
#include "weft/runtime/sync/oneshot.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"

namespace oneshot = weft::sync::oneshot;
using weft::Runtime;
using weft::Task;

namespace {

constexpr int kFlavors = 2;  // 0: multi-thread (2 workers), 1: current-thread

Runtime make(int flavor) { return weft::testing::make_runtime(weft::testing::kAllFlavors[flavor]); }

using weft::testing::Counted;

using Flag = std::shared_ptr<std::atomic<bool>>;
Flag make_flag() { return std::make_shared<std::atomic<bool>>(false); }

Task<void> wait_for(Flag f) {
  while (!f->load()) co_await weft::yield_now();
}

Task<absl::Status> send_after_yield(oneshot::Sender<int> tx, int v) {
  co_await weft::yield_now();
  co_return tx.send(v);
}

// The sender is held in a local so it is dropped when the body ends, whenever the runtime
// destroys the finished frame (and the parameters in it).
Task<void> drop_after_yield(oneshot::Sender<int> tx_param) {
  oneshot::Sender<int> tx = std::move(tx_param);
  co_await weft::yield_now();
}  // tx dropped unsent

// Awaits a receiver that outlives this task (so a cancelled wait can be checked afterwards).
Task<int> await_shared(std::shared_ptr<oneshot::Receiver<int>> rx, Flag entered) {
  entered->store(true);
  absl::StatusOr<int> v = co_await *rx;
  co_return v.ok() ? *v : -1;
}

Task<int> await_owned(oneshot::Receiver<int> rx, Flag entered) {
  entered->store(true);
  absl::StatusOr<int> v = co_await rx;
  co_return v.ok() ? *v : -1;
}

Task<int> await_closed(std::shared_ptr<oneshot::Sender<int>> tx, Flag entered) {
  entered->store(true);
  co_await tx->closed();
  co_return 1;
}

Task<int> await_closed_owned(oneshot::Sender<int> tx, Flag entered) {
  entered->store(true);
  co_await tx.closed();
  co_return tx.is_closed() ? 1 : 0;
}

// ---- root tasks ----

Task<void> case_send_then_await() {
  auto [tx, rx] = oneshot::channel<int>();
  BOOST_TEST(!tx.is_closed());
  BOOST_TEST(tx.send(7).ok());
  absl::StatusOr<int> v = co_await rx;
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(*v == 7);
  absl::StatusOr<int> again = co_await rx;
  BOOST_TEST(absl::IsFailedPrecondition(again.status()));
  BOOST_TEST(absl::IsFailedPrecondition(tx.send(8)));  // used up
}

Task<void> case_await_then_send() {
  for (int i = 0; i < 2000; ++i) {
    auto [tx, rx] = oneshot::channel<int>();
    auto h = weft::spawn(send_after_yield(std::move(tx), i));
    absl::StatusOr<int> v = co_await rx;
    BOOST_REQUIRE(v.ok());
    BOOST_REQUIRE(*v == i);
    absl::StatusOr<absl::Status> st = co_await h;
    BOOST_REQUIRE(st.ok());
    BOOST_REQUIRE(st->ok());
  }
}

Task<void> case_sender_dropped() {
  auto [tx, rx] = oneshot::channel<int>();
  auto h = weft::spawn(drop_after_yield(std::move(tx)));
  absl::StatusOr<int> v = co_await rx;
  BOOST_TEST(absl::IsCancelled(v.status()));
  BOOST_TEST(v.status().message() == "oneshot sender dropped");
  auto dropped = co_await h;
  BOOST_TEST(dropped.ok());
  // Still the same answer, without waiting.
  BOOST_TEST(absl::IsCancelled(rx.try_recv().status()));
}

Task<void> case_closed_wakes_on_close() {
  auto [tx, rx] = oneshot::channel<int>();
  Flag entered = make_flag();
  auto h = weft::spawn(await_closed_owned(std::move(tx), entered));
  co_await wait_for(entered);
  rx.close();
  absl::StatusOr<int> r = co_await h;
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == 1);
  absl::StatusOr<int> v = co_await rx;  // the sender was dropped unsent after closed()
  BOOST_TEST(absl::IsCancelled(v.status()));
}

Task<void> case_closed_wakes_on_drop() {
  auto [tx, rx] = oneshot::channel<int>();
  Flag entered = make_flag();
  auto h = weft::spawn(await_closed_owned(std::move(tx), entered));
  co_await wait_for(entered);
  { oneshot::Receiver<int> gone = std::move(rx); }
  absl::StatusOr<int> r = co_await h;
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == 1);
}

// Abort a task suspended in `co_await rx`: its registration goes away with it, and the value
// sent afterwards reaches the next awaiter.
Task<void> case_abort_waiting_receiver() {
  auto [tx, rx0] = oneshot::channel<int>();
  auto rx = std::make_shared<oneshot::Receiver<int>>(std::move(rx0));
  Flag entered = make_flag();
  auto h = weft::spawn(await_shared(rx, entered));
  co_await wait_for(entered);
  h.abort();
  absl::StatusOr<int> r = co_await h;
  BOOST_TEST(absl::IsCancelled(r.status()));
  BOOST_TEST(!tx.is_closed());  // the receiver itself is alive

  Flag entered2 = make_flag();
  auto h2 = weft::spawn(await_shared(rx, entered2));
  co_await wait_for(entered2);
  BOOST_TEST(tx.send(5).ok());
  absl::StatusOr<int> r2 = co_await h2;
  BOOST_REQUIRE(r2.ok());
  BOOST_TEST(*r2 == 5);
}

// Abort right after the value was sent: either the task took it, or it is still in the channel.
Task<void> case_abort_after_send() {
  for (int i = 0; i < 200; ++i) {
    auto [tx, rx0] = oneshot::channel<int>();
    auto rx = std::make_shared<oneshot::Receiver<int>>(std::move(rx0));
    Flag entered = make_flag();
    auto h = weft::spawn(await_shared(rx, entered));
    co_await wait_for(entered);
    BOOST_REQUIRE(tx.send(i).ok());
    h.abort();
    absl::StatusOr<int> r = co_await h;
    if (r.ok()) {
      BOOST_REQUIRE(*r == i);
    } else {
      BOOST_REQUIRE(absl::IsCancelled(r.status()));
      absl::StatusOr<int> left = rx->try_recv();
      BOOST_REQUIRE(left.ok());
      BOOST_REQUIRE(*left == i);
    }
  }
}

// Abort a task that owns the receiver: the sender sees the channel closed.
Task<void> case_abort_receiver_owner() {
  auto [tx, rx] = oneshot::channel<int>();
  Flag entered = make_flag();
  auto h = weft::spawn(await_owned(std::move(rx), entered));
  co_await wait_for(entered);
  h.abort();
  auto r2 = co_await h;
  BOOST_TEST(absl::IsCancelled(r2.status()));
  BOOST_TEST(tx.is_closed());
  co_await tx.closed();
  absl::Status st = tx.send(1);
  BOOST_TEST(absl::IsFailedPrecondition(st));
  BOOST_TEST(st.message() == "oneshot receiver dropped");
}

// Abort a task suspended in tx.closed(): the next closed() waiter is still woken.
Task<void> case_abort_closed_waiter() {
  auto [tx0, rx] = oneshot::channel<int>();
  auto tx = std::make_shared<oneshot::Sender<int>>(std::move(tx0));
  Flag entered = make_flag();
  auto h = weft::spawn(await_closed(tx, entered));
  co_await wait_for(entered);
  h.abort();
  auto aborted = co_await h;
  BOOST_TEST(absl::IsCancelled(aborted.status()));

  Flag entered2 = make_flag();
  auto h2 = weft::spawn(await_closed(tx, entered2));
  co_await wait_for(entered2);
  rx.close();
  absl::StatusOr<int> r = co_await h2;
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == 1);
}

Task<int> recv_counted(oneshot::Receiver<Counted> rx) {
  absl::StatusOr<Counted> v = co_await rx;
  co_return v.ok() ? v->v : -1;
}

Task<void> send_counted(oneshot::Sender<Counted> tx, int v) {
  co_await weft::yield_now();
  (void)tx.send(Counted(v));
}

// Many channels in flight at once across the workers.
Task<void> case_many_in_flight() {
  constexpr int kN = 2000;
  std::vector<weft::JoinHandle<int>> receivers;
  receivers.reserve(kN);
  for (int i = 0; i < kN; ++i) {
    auto [tx, rx] = oneshot::channel<Counted>();
    receivers.push_back(weft::spawn(recv_counted(std::move(rx))));
    weft::spawn(send_counted(std::move(tx), i));
  }
  long sum = 0;
  for (auto& h : receivers) {
    absl::StatusOr<int> r = co_await h;
    BOOST_REQUIRE(r.ok());
    sum += *r;
  }
  BOOST_TEST(sum == long{kN} * (kN - 1) / 2);
}

// Coop: awaiting ready receivers spends budget, so a long run of them lets other tasks in.
Task<bool> drain_ready(std::shared_ptr<std::vector<oneshot::Receiver<int>>> rxs, Flag other) {
  bool saw_other = false;
  for (auto& rx : *rxs) {
    absl::StatusOr<int> v = co_await rx;
    if (!v.ok()) co_return false;
    if (other->load()) saw_other = true;
  }
  co_return saw_other;
}
Task<void> set_flag(Flag f) {
  f->store(true);
  co_return;
}
Task<void> case_coop_budget() {
  auto rxs = std::make_shared<std::vector<oneshot::Receiver<int>>>();
  for (int i = 0; i < 1000; ++i) {
    auto [tx, rx] = oneshot::channel<int>();
    (void)tx.send(i);
    rxs->push_back(std::move(rx));
  }
  Flag other = make_flag();
  auto drain = weft::spawn(drain_ready(rxs, other));
  auto setter = weft::spawn(set_flag(other));
  absl::StatusOr<bool> saw = co_await drain;
  BOOST_REQUIRE(saw.ok());
  BOOST_TEST(*saw);  // current-thread: only a budget yield lets `setter` run meanwhile
  auto setter_done = co_await setter;
  BOOST_TEST(setter_done.ok());
}

using Counter = std::shared_ptr<std::atomic<int>>;

Task<void> block_forever_on(oneshot::Receiver<Counted> rx, Counter entered) {
  entered->fetch_add(1);
  (void)co_await rx;
}
Task<void> keep_until_closed(oneshot::Sender<Counted> tx, Counter entered) {
  entered->fetch_add(1);
  co_await tx.closed();
}
Task<void> hold_value_and_block(oneshot::Receiver<Counted> full, oneshot::Receiver<Counted> never,
                                Counter entered) {
  entered->fetch_add(1);
  (void)co_await never;
  (void)full.try_recv();
}

// Leaves four tasks blocked for good: on rx, on closed(), and one holding a sent value.
Task<void> case_spawn_blocked() {
  Counter entered = std::make_shared<std::atomic<int>>(0);
  auto [tx1, rx1] = oneshot::channel<Counted>();
  weft::spawn(block_forever_on(std::move(rx1), entered));
  weft::spawn(keep_until_closed(std::move(tx1), entered));
  auto [tx2, rx2] = oneshot::channel<Counted>();
  auto [tx3, rx3] = oneshot::channel<Counted>();
  BOOST_TEST(tx2.send(Counted(1)).ok());  // stays in rx2
  weft::spawn(hold_value_and_block(std::move(rx2), std::move(rx3), entered));
  weft::spawn(keep_until_closed(std::move(tx3), entered));
  while (entered->load() < 4) co_await weft::yield_now();
  for (int i = 0; i < 10; ++i) co_await weft::yield_now();  // let them reach their awaits
}

void run(int flavor, Task<void> (*root)()) {
  Runtime rt = make(flavor);
  rt.block_on(root());
}

}  // namespace

BOOST_AUTO_TEST_CASE(send_then_await) {
  for (int f = 0; f < kFlavors; ++f) run(f, case_send_then_await);
}

BOOST_AUTO_TEST_CASE(await_then_send_from_another_task) {
  for (int f = 0; f < kFlavors; ++f) run(f, case_await_then_send);
}

BOOST_AUTO_TEST_CASE(dropped_sender_is_cancelled) {
  for (int f = 0; f < kFlavors; ++f) run(f, case_sender_dropped);
}

BOOST_AUTO_TEST_CASE(send_to_a_dropped_receiver_fails_and_drops_the_value) {
  {
    auto [tx, rx] = oneshot::channel<Counted>();
    { oneshot::Receiver<Counted> gone = std::move(rx); }
    BOOST_TEST(tx.is_closed());
    absl::Status st = tx.send(Counted(1));
    BOOST_TEST(absl::IsFailedPrecondition(st));
    BOOST_TEST(st.message() == "oneshot receiver dropped");
    BOOST_TEST(Counted::live.load() == 0);
  }
  {
    auto [tx, rx] = oneshot::channel<Counted>();
    rx.close();
    BOOST_TEST(tx.is_closed());
    BOOST_TEST(absl::IsFailedPrecondition(tx.send(Counted(2))));
    BOOST_TEST(Counted::live.load() == 0);
    absl::StatusOr<Counted> v = rx.try_recv();
    BOOST_TEST(absl::IsCancelled(v.status()));
    BOOST_TEST(v.status().message() == "oneshot receiver closed");
  }
  {  // sent, never received: destroyed with the channel
    auto [tx, rx] = oneshot::channel<Counted>();
    BOOST_TEST(tx.send(Counted(3)).ok());
    BOOST_TEST(Counted::live.load() == 1);
  }
  BOOST_TEST(Counted::live.load() == 0);
}

BOOST_AUTO_TEST_CASE(try_recv_reports_each_state) {
  auto [tx, rx] = oneshot::channel<std::string>();
  BOOST_TEST(absl::IsUnavailable(rx.try_recv().status()));
  BOOST_TEST(tx.send("hello").ok());
  absl::StatusOr<std::string> v = rx.try_recv();
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(*v == "hello");
  BOOST_TEST(absl::IsFailedPrecondition(rx.try_recv().status()));

  auto [tx2, rx2] = oneshot::channel<std::string>();
  { oneshot::Sender<std::string> gone = std::move(tx2); }
  BOOST_TEST(absl::IsCancelled(rx2.try_recv().status()));
}

BOOST_AUTO_TEST_CASE(value_sent_before_close_is_still_delivered) {
  auto [tx, rx] = oneshot::channel<int>();
  BOOST_TEST(tx.send(9).ok());
  rx.close();
  absl::StatusOr<int> v = rx.try_recv();
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(*v == 9);
}

BOOST_AUTO_TEST_CASE(closed_completes_when_the_receiver_closes) {
  for (int f = 0; f < kFlavors; ++f) run(f, case_closed_wakes_on_close);
}

BOOST_AUTO_TEST_CASE(closed_completes_when_the_receiver_is_dropped) {
  for (int f = 0; f < kFlavors; ++f) run(f, case_closed_wakes_on_drop);
}

BOOST_AUTO_TEST_CASE(abort_while_awaiting_leaves_no_waiter) {
  for (int f = 0; f < kFlavors; ++f) run(f, case_abort_waiting_receiver);
}

BOOST_AUTO_TEST_CASE(abort_after_send_loses_nothing) {
  for (int f = 0; f < kFlavors; ++f) run(f, case_abort_after_send);
}

BOOST_AUTO_TEST_CASE(abort_of_the_receiving_task_closes_the_channel) {
  for (int f = 0; f < kFlavors; ++f) run(f, case_abort_receiver_owner);
}

BOOST_AUTO_TEST_CASE(abort_while_awaiting_closed_leaves_no_waiter) {
  for (int f = 0; f < kFlavors; ++f) run(f, case_abort_closed_waiter);
}

BOOST_AUTO_TEST_CASE(many_channels_in_flight) {
  for (int f = 0; f < kFlavors; ++f) run(f, case_many_in_flight);
  BOOST_TEST(Counted::live.load() == 0);
}

BOOST_AUTO_TEST_CASE(ready_receivers_spend_coop_budget) {
  run(1, case_coop_budget);  // deterministic on the current-thread runtime
}

// Both halves on plain threads, racing: send against drop, send against close + try_recv.
// Each value must be destroyed exactly once and each outcome must be consistent.
BOOST_AUTO_TEST_CASE(halves_race_on_threads) {
  for (int i = 0; i < 2000; ++i) {
    auto [tx, rx] = oneshot::channel<Counted>();
    absl::Status st;
    std::thread a([&, tx = std::move(tx)]() mutable { st = tx.send(Counted(i)); });
    std::thread b(
        [&, rx = std::move(rx)]() mutable { oneshot::Receiver<Counted> gone = std::move(rx); });
    a.join();
    b.join();
    BOOST_REQUIRE(Counted::live.load() == 0);
    BOOST_REQUIRE((st.ok() || absl::IsFailedPrecondition(st)));
  }
  for (int i = 0; i < 2000; ++i) {
    auto [tx, rx] = oneshot::channel<Counted>();
    absl::Status st;
    std::thread a([&, tx = std::move(tx)]() mutable { st = tx.send(Counted(i)); });
    rx.close();
    a.join();
    absl::StatusOr<Counted> v = rx.try_recv();
    BOOST_REQUIRE(v.ok() == st.ok());  // delivered iff the send won the race
    if (v.ok()) BOOST_REQUIRE(v->v == i);
  }
  BOOST_TEST(Counted::live.load() == 0);
}

// A task awaits while a plain thread sends.
Task<int> await_from_thread(oneshot::Receiver<int> rx) {
  absl::StatusOr<int> v = co_await rx;
  co_return v.ok() ? *v : -1;
}
BOOST_AUTO_TEST_CASE(send_from_a_plain_thread) {
  for (int f = 0; f < kFlavors; ++f) {
    Runtime rt = make(f);
    for (int i = 0; i < 200; ++i) {
      auto [tx, rx] = oneshot::channel<int>();
      std::thread t([tx = std::move(tx), i]() mutable { (void)tx.send(i); });
      BOOST_REQUIRE(rt.block_on(await_from_thread(std::move(rx))) == i);
      t.join();
    }
  }
}

// Dropping the runtime cancels tasks blocked on channels; every frame, channel and value goes.
BOOST_AUTO_TEST_CASE(runtime_drop_with_blocked_tasks_leaks_nothing) {
  for (int f = 0; f < kFlavors; ++f) {
    {
      Runtime rt = make(f);
      rt.block_on(case_spawn_blocked());
      BOOST_TEST(Counted::live.load() == 1);  // the value parked in rx2
    }
    BOOST_TEST(Counted::live.load() == 0);
  }
}
