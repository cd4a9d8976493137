// TaskScope: structured concurrency. Child tasks spawned through a scope never outlive it.
//
//   weft::TaskScope scope;
//   scope.spawn(fetch(a));
//   scope.spawn(fetch(b));
//   co_await scope.join();          // both finished
//
// If the scope is destroyed first (the owning task returned early, threw, or was cancelled),
// every child still alive is cancelled synchronously: the destructor waits for a child being
// polled on another worker to reach its next suspension point, then destroys its frame, so when
// ~TaskScope returns every child's destructors have run. Children may therefore borrow from the
// scope's owner (declare the scope after what the children borrow). Keep child polls short: the
// destructor may wait for one to end.
#pragma once

#include <utility>
#include <vector>

#include "weft/runtime/runtime.h"

namespace weft {

class TaskScope {
 public:
  TaskScope() = default;
  TaskScope(const TaskScope&) = delete;
  TaskScope& operator=(const TaskScope&) = delete;
  ~TaskScope() {
    for (detail::TaskHeader* t : children_) {
      detail::cancel_now(t);
      t->unref();
    }
  }

  // Spawns a child on the current runtime; the returned handle may be awaited or dropped.
  template <class T>
  JoinHandle<T> spawn(Task<T> task) {
    JoinHandle<T> h = weft::spawn(std::move(task));
    h.raw()->ref();
    children_.push_back(h.raw());
    return h;
  }

  // Waits until every child (including ones spawned while waiting) has finished.
  Task<void> join() {
    for (std::size_t i = 0; i < children_.size(); ++i) {
      co_await detail::CompletionAwaiter(children_[i]);
    }
  }

  // Requests cancellation of every child (asynchronous; join() or the destructor waits).
  void cancel() {
    for (detail::TaskHeader* t : children_) {
      if (t->transition_to_notified_and_cancel() == detail::TaskHeader::Wake::kSubmit) {
        t->scheduler->schedule(t, false);
      }
    }
  }

  std::size_t size() const { return children_.size(); }

 private:
  std::vector<detail::TaskHeader*> children_;  // one reference each
};

}  // namespace weft
