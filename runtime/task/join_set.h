// JoinSet<T>: a collection of spawned tasks, joined in the order they finish (Tokio's JoinSet).
//
//   weft::JoinSet<int> set;
//   for (int i = 0; i < 10; ++i) set.spawn(work(i));
//   while (auto r = co_await set.join_next()) { use(*r); }   // absl::StatusOr<int> per task
//
// Destroying the set aborts the tasks still in it (asynchronously, like Tokio). join_next()
// returns std::nullopt once the set is empty. Cancel-safe: a cancelled join_next() loses no
// result (the finished task stays in the set for the next call).
#pragma once

#include <coroutine>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "weft/runtime/runtime.h"

namespace weft {

namespace detail {
// Shared between the set and its children's completion guards.
struct JoinSetState {
  std::mutex mu;
  std::vector<TaskHeader*> finished;  // children whose frames are being torn down
  Waker waiter;                       // join_next waiting for one
  void notify(TaskHeader* t) {
    Waker w;
    {
      std::lock_guard<std::mutex> lock(mu);
      finished.push_back(t);
      w = std::move(waiter);
    }
    std::move(w).wake();
  }
};

// Lives in the child's frame: its destructor runs when the child finishes or is cancelled.
struct JoinSetNotifier {
  std::shared_ptr<JoinSetState> state;
  ~JoinSetNotifier() {
    if (state) state->notify(tls_context.current);
  }
};

template <class T>
Task<T> join_set_child(Task<T> inner, std::shared_ptr<JoinSetState> state) {
  JoinSetNotifier notifier{std::move(state)};
  co_return co_await std::move(inner);
}
template <>
inline Task<void> join_set_child(Task<void> inner, std::shared_ptr<JoinSetState> state) {
  JoinSetNotifier notifier{std::move(state)};
  co_await std::move(inner);
}
}  // namespace detail

template <class T>
class JoinSet {
 public:
  using Output = typename JoinHandle<T>::Output;

  JoinSet() : state_(std::make_shared<detail::JoinSetState>()) {}
  JoinSet(const JoinSet&) = delete;
  JoinSet& operator=(const JoinSet&) = delete;
  ~JoinSet() { abort_all(); }

  void spawn(Task<T> task) {
    JoinHandle<T> h = weft::spawn(detail::join_set_child(std::move(task), state_));
    detail::TaskHeader* raw = h.raw();
    handles_.emplace(raw, std::move(h));
  }

  std::size_t size() const { return handles_.size(); }
  bool empty() const { return handles_.empty(); }

  // The next task to finish, or nullopt when the set is empty.
  Task<std::optional<Output>> join_next() {
    while (!handles_.empty()) {
      detail::TaskHeader* done = co_await NextFinished{state_.get()};
      auto it = handles_.find(done);
      if (it == handles_.end()) continue;
      {
        // Its notifier ran while the frame was torn down; completion follows at once. If this
        // join_next is cancelled meanwhile, the task goes back on the finished list.
        Requeue requeue{state_.get(), done};
        co_await detail::CompletionAwaiter(done);
        requeue.done = nullptr;
      }
      JoinHandle<T> h = std::move(it->second);
      handles_.erase(it);
      co_return co_await h;
    }
    co_return std::nullopt;
  }

  void abort_all() {
    for (auto& [raw, h] : handles_) h.abort();
  }

 private:
  struct Requeue {
    detail::JoinSetState* st;
    detail::TaskHeader* done;
    ~Requeue() {
      if (done == nullptr) return;
      std::lock_guard<std::mutex> lock(st->mu);
      st->finished.push_back(done);
    }
  };

  // Suspends until a child has finished; returns it. Cancel-safe: nothing is taken until resume.
  struct NextFinished {
    detail::JoinSetState* st;
    detail::TaskHeader* got = nullptr;
    bool await_ready() { return take(); }
    bool await_suspend(std::coroutine_handle<> h) {
      std::lock_guard<std::mutex> lock(st->mu);
      if (!st->finished.empty()) return false;
      st->waiter = Waker::current(h);
      return true;
    }
    detail::TaskHeader* await_resume() {
      if (got == nullptr) take();
      return got;
    }
    bool take() {
      std::lock_guard<std::mutex> lock(st->mu);
      if (st->finished.empty()) return false;
      got = st->finished.back();
      st->finished.pop_back();
      return true;
    }
    ~NextFinished() {
      if (got != nullptr) return;
      std::lock_guard<std::mutex> lock(st->mu);
      st->waiter = Waker();
    }
  };

  std::shared_ptr<detail::JoinSetState> state_;
  absl::flat_hash_map<detail::TaskHeader*, JoinHandle<T>> handles_;
};

}  // namespace weft
