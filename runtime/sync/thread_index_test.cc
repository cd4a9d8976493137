// this_thread_index(): stable on a thread, distinct among live threads, dense (the smallest free
// index first), reused after a thread exits, and kNoThreadIndex when asked from a thread-local
// destructor after the index went back.
#define BOOST_TEST_MODULE thread_index_test
// clang-format off: Boost.Test must come right after its module name
#include <boost/test/unit_test.hpp>
// clang-format on

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "weft/runtime/sync/thread_index.h"

using weft::sync::kNoThreadIndex;
using weft::sync::this_thread_index;

BOOST_AUTO_TEST_CASE(an_index_is_stable_on_its_thread) {
  int i = this_thread_index();
  BOOST_TEST(i >= 0);
  BOOST_TEST(i != kNoThreadIndex);
  BOOST_TEST(this_thread_index() == i);
}

BOOST_AUTO_TEST_CASE(live_threads_have_distinct_dense_indices) {
  const int main_index = this_thread_index();
  constexpr int kThreads = 8;
  std::mutex mu;
  std::vector<int> seen;
  std::atomic<int> arrived{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      int i = this_thread_index();
      {
        std::lock_guard<std::mutex> lock(mu);
        seen.push_back(i);
      }
      arrived.fetch_add(1);
      while (arrived.load() < kThreads) std::this_thread::yield();  // all alive at once
      if (this_thread_index() != i) {
        std::lock_guard<std::mutex> lock(mu);
        seen.push_back(-1);  // changed on the same thread: fails below
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<int> distinct(seen.begin(), seen.end());
  BOOST_TEST(seen.size() == static_cast<std::size_t>(kThreads));
  BOOST_TEST(distinct.size() == static_cast<std::size_t>(kThreads));
  BOOST_TEST(distinct.count(main_index) == 0u);
  // Dense: with the main thread (and nothing else alive that asked) they are 0..kThreads.
  BOOST_TEST(*std::max_element(seen.begin(), seen.end()) <= kThreads);
  BOOST_TEST(*std::min_element(seen.begin(), seen.end()) >= 0);
}

BOOST_AUTO_TEST_CASE(an_exited_threads_index_is_reused) {
  (void)this_thread_index();
  int first = -1;
  std::thread([&] { first = this_thread_index(); }).join();
  int second = -1;
  std::thread([&] { second = this_thread_index(); }).join();
  BOOST_TEST(first >= 0);
  BOOST_TEST(second == first);  // the smallest free index, given back at exit
}

namespace {
// Asks for an index from a thread-local destructor that runs after the index went back.
struct LateAsker {
  int* out = nullptr;
  ~LateAsker() {
    if (out != nullptr) *out = this_thread_index();
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(asking_after_the_index_went_back_gives_no_index) {
  int late = 0;
  int early = -1;
  std::thread([&] {
    // Constructed before the index's owner, so destroyed after it (reverse order).
    thread_local LateAsker asker;
    asker.out = &late;
    early = this_thread_index();
  }).join();
  BOOST_TEST(early >= 0);
  BOOST_TEST(late == kNoThreadIndex);
}
