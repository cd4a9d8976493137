#include "weft/runtime/sync/thread_index.h"

#include <functional>
#include <mutex>
#include <queue>
#include <vector>

namespace weft::sync::detail {
namespace {

// The indices handed out: the smallest free one first, so they stay dense.
struct Registry {
  std::mutex mu;
  std::priority_queue<int, std::vector<int>, std::greater<int>> free;
  int next = 0;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: threads may exit after main
  return *r;
}

// Gives the thread's index back when the thread exits.
struct Owner {
  int index;
  ~Owner() {
    tls_thread_index = kNoThreadIndex;  // asked again from a later destructor: no index
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    r.free.push(index);
  }
};

}  // namespace

int acquire_thread_index() {
  Registry& r = registry();
  int index;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (r.free.empty()) {
      index = r.next++;
    } else {
      index = r.free.top();
      r.free.pop();
    }
  }
  thread_local Owner owner{index};  // constructed once: this is the thread's first call
  tls_thread_index = index;
  return index;
}

}  // namespace weft::sync::detail
