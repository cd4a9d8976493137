// Notify and CancellationToken on a real runtime.
#define BOOST_TEST_MODULE notify_test
#include "weft/runtime/sync/notify.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <vector>

#include "weft/runtime/runtime.h"
#include "weft/runtime/sync/cancellation_token.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/time/sleep.h"
#include "weft/runtime/time/timeout.h"

using namespace std::chrono_literals;
using weft::Task;
using weft::sync::CancellationToken;
using weft::sync::Notify;

namespace {
Task<void> wait_and_count(Notify* n, std::atomic<int>* woken) {
  co_await n->notified();
  woken->fetch_add(1);
}

Task<bool> permit_is_stored_once() {
  Notify n;
  n.notify_one();
  n.notify_one();         // does not accumulate
  co_await n.notified();  // completes at once
  auto second = co_await weft::time::timeout(
      5ms, [](Notify* n) -> Task<void> { co_await n->notified(); }(&n));
  co_return absl::IsDeadlineExceeded(second);
}

Task<int> notify_one_wakes_one_waiters_wakes_all() {
  Notify n;
  std::atomic<int> woken{0};
  std::vector<weft::JoinHandle<void>> hs;
  for (int i = 0; i < 5; ++i) hs.push_back(weft::spawn(wait_and_count(&n, &woken)));
  co_await weft::time::sleep(3ms);
  n.notify_one();
  co_await weft::time::sleep(3ms);
  int after_one = woken.load();
  n.notify_waiters();
  for (auto& h : hs) (void)co_await h;
  co_return after_one * 10 + woken.load();
}

Task<bool> notification_survives_cancelled_waiter() {
  Notify n;
  std::atomic<int> woken{0};
  auto first = weft::spawn(wait_and_count(&n, &woken));
  co_await weft::time::sleep(2ms);
  auto second = weft::spawn(wait_and_count(&n, &woken));
  co_await weft::time::sleep(2ms);
  n.notify_one();  // picks `first`...
  first.abort();   // ...which is cancelled before or after it ran
  (void)co_await first;
  // Either first consumed it (woken == 1) or the notification moved on to `second`.
  auto r = co_await weft::time::timeout(1s, [](weft::JoinHandle<void>* h) -> Task<void> {
    if (h->is_finished()) co_return;
    (void)co_await *h;
  }(&second));
  if (woken.load() == 1 && !r.ok()) co_return true;  // first got it before the abort
  co_return r.ok() && woken.load() >= 1;
}

Task<bool> token_tree() {
  CancellationToken root;
  CancellationToken child = root.child_token();
  CancellationToken grandchild = child.child_token();
  CancellationToken other = root.child_token();
  other.cancel();  // a child's cancel does not reach the parent
  if (root.is_cancelled()) co_return false;
  std::atomic<int> woken{0};
  auto waiter = [](CancellationToken t, std::atomic<int>* w) -> Task<void> {
    co_await t.cancelled();
    w->fetch_add(1);
  };
  auto a = weft::spawn(waiter(grandchild, &woken));
  auto b = weft::spawn(waiter(root, &woken));
  co_await weft::time::sleep(2ms);
  root.cancel();
  (void)co_await a;
  (void)co_await b;
  CancellationToken late = root.child_token();
  co_return woken.load() == 2 && grandchild.is_cancelled() && late.is_cancelled();
}

Task<bool> drop_guard_cancels() {
  CancellationToken t;
  { auto guard = t.drop_guard(); }
  CancellationToken u;
  {
    auto guard = u.drop_guard();
    (void)guard.disarm();
  }
  co_return t.is_cancelled() && !u.is_cancelled();
}
}  // namespace

BOOST_AUTO_TEST_CASE(notify_semantics) {
  weft::Runtime rt = weft::testing::make_runtime();
  BOOST_TEST(rt.block_on(permit_is_stored_once()));
  BOOST_TEST(rt.block_on(notify_one_wakes_one_waiters_wakes_all()) == 15);
  for (int i = 0; i < 20; ++i) BOOST_TEST(rt.block_on(notification_survives_cancelled_waiter()));
}

BOOST_AUTO_TEST_CASE(cancellation_token_semantics) {
  weft::Runtime rt = weft::testing::make_runtime();
  BOOST_TEST(rt.block_on(token_tree()));
  BOOST_TEST(rt.block_on(drop_guard_cancels()));
}
