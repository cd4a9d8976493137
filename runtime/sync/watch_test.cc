// watch: changed() wakes on send and coalesces several sends into one change; borrow sees the
// latest value; the sender's drop ends changed(); abort while waiting in changed(); send
// without receivers; receivers on other threads following a sender. On a 2-worker
// multi-thread runtime.
//
// Only the root task and the test body make Boost assertions (Boost.Test is not thread-safe);
// spawned tasks report through their results. Awaited results are bound to locals before they
// are tested, and coroutine parameters are moved into locals (see mpsc_test.cc).
#define BOOST_TEST_MODULE watch_test
// clang-format off: Boost.Test must come right after its module name
#include <boost/test/unit_test.hpp>
// clang-format on

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "weft/runtime/runtime.h"
#include "weft/runtime/sync/watch.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"

namespace watch = weft::sync::watch;
using weft::Runtime;
using weft::Task;

namespace {

using Flag = std::shared_ptr<std::atomic<bool>>;
Flag make_flag() { return std::make_shared<std::atomic<bool>>(false); }

Task<void> wait_for(Flag f) {
  while (!f->load()) co_await weft::yield_now();
}
Task<void> yield_times(int n) {
  for (int i = 0; i < n; ++i) co_await weft::yield_now();
}

// Waits for one change and returns the value then (-1: changed() failed; -2 - code otherwise).
Task<int> changed_once(std::shared_ptr<watch::Receiver<int>> rx, Flag entered) {
  entered->store(true);
  absl::Status st = co_await rx->changed();
  if (absl::IsFailedPrecondition(st)) co_return -1;
  if (!st.ok()) co_return -2 - static_cast<int>(st.code());
  co_return *rx->borrow();
}

Task<void> case_changed_wakes_on_send() {
  auto [tx, rx0] = watch::channel<int>(0);
  auto rx = std::make_shared<watch::Receiver<int>>(std::move(rx0));
  BOOST_TEST(*rx->borrow() == 0);
  BOOST_TEST(*rx->has_changed() == false);  // the initial value counts as seen
  Flag entered = make_flag();
  auto h = weft::spawn(changed_once(rx, entered));
  co_await wait_for(entered);
  co_await yield_times(5);  // let it suspend in changed()
  BOOST_TEST(!h.is_finished());
  BOOST_TEST(tx.send(5).ok());
  absl::StatusOr<int> r = co_await h;
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == 5);
  BOOST_TEST(*rx->has_changed() == false);  // changed() marked it seen
}

Task<void> case_coalesces() {
  auto [tx, rx0] = watch::channel<int>(0);
  auto rx = std::make_shared<watch::Receiver<int>>(std::move(rx0));
  BOOST_TEST(tx.send(1).ok());
  BOOST_TEST(tx.send(2).ok());
  tx.send_modify([](int& v) { v += 1; });  // 3
  BOOST_TEST(*rx->has_changed() == true);
  {
    watch::Ref<int> ref = rx->borrow();
    BOOST_TEST(*ref == 3);  // borrow sees the latest
    BOOST_TEST(ref.has_changed());
  }
  absl::Status st = co_await rx->changed();  // one change for the three sends
  BOOST_TEST(st.ok());
  BOOST_TEST(*rx->borrow() == 3);
  BOOST_TEST(*rx->has_changed() == false);

  // Nothing new: the next changed() waits for the next send.
  Flag entered = make_flag();
  auto h = weft::spawn(changed_once(rx, entered));
  co_await wait_for(entered);
  co_await yield_times(5);
  BOOST_TEST(!h.is_finished());
  BOOST_TEST(tx.send_if_modified([](int&) { return false; }) == false);  // not a change
  co_await yield_times(5);
  BOOST_TEST(!h.is_finished());
  BOOST_TEST(tx.send(4).ok());
  absl::StatusOr<int> r = co_await h;
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == 4);

  // borrow_and_update marks the value seen; borrow does not; copies share what was seen.
  BOOST_TEST(tx.send(5).ok());
  watch::Receiver<int> copy = *rx;
  BOOST_TEST(*copy.has_changed() == true);
  BOOST_TEST(rx->borrow().has_changed());
  BOOST_TEST(*rx->has_changed() == true);
  {
    watch::Ref<int> ref = rx->borrow_and_update();
    BOOST_TEST(*ref == 5);
    BOOST_TEST(ref.has_changed());
  }
  BOOST_TEST(*rx->has_changed() == false);
  BOOST_TEST(*copy.has_changed() == true);  // its own version
  copy.mark_unchanged();
  BOOST_TEST(*copy.has_changed() == false);
  copy.mark_changed();
  absl::Status st2 = co_await copy.changed();
  BOOST_TEST(st2.ok());
  BOOST_TEST(*tx.borrow() == 5);
  BOOST_TEST(tx.receiver_count() == 2u);
}

Task<void> drop_after_yield(watch::Sender<int> tx_param) {
  watch::Sender<int> tx = std::move(tx_param);
  co_await yield_times(3);
}

Task<void> case_sender_drop() {
  // A receiver waiting in changed() is woken with FAILED_PRECONDITION.
  {
    auto [tx, rx0] = watch::channel<int>(0);
    auto rx = std::make_shared<watch::Receiver<int>>(std::move(rx0));
    Flag entered = make_flag();
    auto h = weft::spawn(changed_once(rx, entered));
    co_await wait_for(entered);
    co_await yield_times(5);
    { watch::Sender<int> gone = std::move(tx); }
    absl::StatusOr<int> r = co_await h;
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(*r == -1);
    BOOST_TEST(absl::IsFailedPrecondition(rx->has_changed().status()));
    BOOST_TEST(*rx->borrow() == 0);  // the value stays readable
  }
  // An unseen change is still reported first, then the end.
  {
    auto [tx, rx] = watch::channel<int>(0);
    BOOST_TEST(tx.send(9).ok());
    weft::spawn(drop_after_yield(std::move(tx)));
    absl::Status st1 = co_await rx.changed();
    BOOST_TEST(st1.ok());
    BOOST_TEST(*rx.borrow() == 9);
    absl::Status st2 = co_await rx.changed();  // waits for the spawned task's drop
    BOOST_TEST(absl::IsFailedPrecondition(st2));
    BOOST_TEST(st2.message() == "sender dropped");
    absl::Status st3 = co_await rx.changed();
    BOOST_TEST(absl::IsFailedPrecondition(st3));
  }
}

Task<void> case_no_receivers() {
  auto [tx, rx] = watch::channel<std::string>("a");
  { watch::Receiver<std::string> gone = std::move(rx); }
  BOOST_TEST(tx.is_closed());
  absl::Status st = tx.send("b");
  BOOST_TEST(absl::IsFailedPrecondition(st));
  BOOST_TEST(st.message() == "no receivers");
  BOOST_TEST(*tx.borrow() == "a");  // not stored
  std::string old = tx.send_replace("c");
  BOOST_TEST(old == "a");
  tx.send_modify([](std::string& s) { s += "d"; });  // stored regardless
  watch::Receiver<std::string> rx2 = tx.subscribe();
  BOOST_TEST(*rx2.borrow() == "cd");
  BOOST_TEST(*rx2.has_changed() == false);  // subscribe marks the current value seen
  BOOST_TEST(tx.send("e").ok());
  absl::Status changed = co_await rx2.changed();
  BOOST_TEST(changed.ok());
  BOOST_TEST(*rx2.borrow() == "e");
}

// Abort a task waiting in changed(): nothing stays registered and the receiver still counts.
Task<void> case_abort_changed() {
  auto [tx, rx0] = watch::channel<int>(0);
  auto rx = std::make_shared<watch::Receiver<int>>(std::move(rx0));
  for (int i = 1; i <= 50; ++i) {
    Flag entered = make_flag();
    auto h = weft::spawn(changed_once(rx, entered));
    co_await wait_for(entered);
    if (i % 2 == 0) co_await yield_times(3);  // sometimes suspended, sometimes still racing
    h.abort();
    absl::StatusOr<int> r = co_await h;
    BOOST_TEST(absl::IsCancelled(r.status()));
    BOOST_TEST(*rx->has_changed() == false);  // nothing marked seen
  }
  // Aborted right after a send: it either saw the change or left it unseen.
  for (int i = 1; i <= 50; ++i) {
    Flag entered = make_flag();
    auto h = weft::spawn(changed_once(rx, entered));
    co_await wait_for(entered);
    BOOST_REQUIRE(tx.send(i).ok());
    h.abort();
    absl::StatusOr<int> r = co_await h;
    if (r.ok()) {
      BOOST_REQUIRE(*r == i);
      BOOST_REQUIRE(*rx->has_changed() == false);
    } else {
      BOOST_REQUIRE(*rx->has_changed() == true);
      rx->mark_unchanged();
    }
  }
  BOOST_TEST(tx.receiver_count() == 1u);
  Flag entered = make_flag();
  auto h = weft::spawn(changed_once(rx, entered));
  co_await wait_for(entered);
  BOOST_TEST(tx.send(100).ok());
  absl::StatusOr<int> r = co_await h;
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == 100);
}

// Receivers on the workers follow a sender: they see non-decreasing values, end with the last
// one, and end when the sender is dropped. Returns the last value seen, or -1 if one went back.
Task<int64_t> follow(watch::Receiver<int64_t> rx_param) {
  watch::Receiver<int64_t> rx = std::move(rx_param);
  int64_t last = *rx.borrow_and_update();
  for (;;) {
    absl::Status st = co_await rx.changed();
    if (!st.ok()) co_return absl::IsFailedPrecondition(st) ? last : -1;
    int64_t v = *rx.borrow_and_update();
    if (v < last) co_return -1;
    last = v;
  }
}
Task<void> produce(watch::Sender<int64_t> tx_param, int64_t n) {
  watch::Sender<int64_t> tx = std::move(tx_param);
  for (int64_t i = 1; i <= n; ++i) {
    tx.send_modify([](int64_t& v) { ++v; });
    if (i % 16 == 0) co_await weft::yield_now();
  }
}
Task<void> case_many_receivers() {
  constexpr int kReceivers = 6;
  constexpr int64_t kN = 20000;
  auto [tx, rx] = watch::channel<int64_t>(0);
  std::vector<weft::JoinHandle<int64_t>> followers;
  for (int i = 1; i < kReceivers; ++i) followers.push_back(weft::spawn(follow(rx)));
  followers.push_back(weft::spawn(follow(std::move(rx))));
  auto p = weft::spawn(produce(std::move(tx), kN));
  absl::Status ps = co_await p;
  BOOST_TEST(ps.ok());
  for (auto& f : followers) {
    absl::StatusOr<int64_t> last = co_await f;
    BOOST_REQUIRE(last.ok());
    BOOST_TEST(*last == kN);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(changed_wakes_on_send) {
  Runtime rt = weft::testing::make_runtime();
  rt.block_on(case_changed_wakes_on_send());
}

BOOST_AUTO_TEST_CASE(changed_coalesces_sends_and_borrow_sees_the_latest) {
  Runtime rt = weft::testing::make_runtime();
  rt.block_on(case_coalesces());
}

BOOST_AUTO_TEST_CASE(sender_drop_ends_changed) {
  Runtime rt = weft::testing::make_runtime();
  rt.block_on(case_sender_drop());
}

BOOST_AUTO_TEST_CASE(send_without_receivers_fails) {
  Runtime rt = weft::testing::make_runtime();
  rt.block_on(case_no_receivers());
}

BOOST_AUTO_TEST_CASE(abort_while_in_changed_leaves_no_waiter) {
  Runtime rt = weft::testing::make_runtime();
  rt.block_on(case_abort_changed());
}

BOOST_AUTO_TEST_CASE(receivers_on_other_threads_follow_the_sender) {
  Runtime rt = weft::testing::make_runtime();
  rt.block_on(case_many_receivers());
}
