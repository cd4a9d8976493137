// watch: a single-producer, multi-consumer channel that holds one value, the latest (Tokio's
// tokio::sync::watch). Typical use: configuration or state that many tasks follow.
//
//   auto [tx, rx] = weft::sync::watch::channel<Config>(Config{});
//   tx.send_modify([](Config& c) { c.limit = 10; });   // never waits
//   absl::Status s = co_await rx.changed();           // a newer value than rx last saw
//   int limit = rx.borrow_and_update()->limit;        // read it and mark it seen
//
// Receivers see values, not a stream: several sends between two changed() calls wake it once
// and borrow() shows only the latest. Each receiver remembers the version it last saw; the
// initial value counts as seen, so changed() waits for the first send.
//
// Results. send: FAILED_PRECONDITION "no receivers" when every receiver is gone (the value is
// dropped, as in Tokio; send_replace / send_modify store regardless). changed(): OK once a
// version newer than the last seen exists (even if the sender is gone since), else
// FAILED_PRECONDITION "sender dropped" once the sender is gone.
//
// Borrows. borrow() returns a Ref that holds a read lock on the value. Keep it short and never
// across a co_await: the sender's send blocks (the thread, not the task) while any Ref lives,
// and a task may resume on another thread, which must not release a lock it did not take.
// Sending on a thread that holds a Ref deadlocks.
//
// Invariants:
//   1. `state` = version << 1 | CLOSED. The version grows by one per stored value and is only
//      bumped while the value's write lock is held, so a reader holding the read lock sees the
//      version of exactly the value it reads (borrow_and_update marks what it saw).
//   2. `state` changes only under `mu` too (lock order: value lock, then mu), in the same
//      critical section that moves every node of `waiting` to `notified`. A changed() links its
//      node into `waiting` only after finding, under mu, the version equal to its receiver's
//      seen version and CLOSED clear. So a node is moved only by a change made after it was
//      linked, and a woken changed() always finds a change or the close (both final for it:
//      versions only grow, and only the receiver's own task moves its seen version). A node
//      linked after a change is never woken for it.
//   3. Nodes in `notified` are woken in batches outside mu; a node is in at most one list and a
//      cancelled changed() unlinks it under mu before its frame goes away.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/sync/wait_list.h"
#include "weft/runtime/task/coop.h"
#include "weft/runtime/task/waker.h"

namespace weft::sync::watch {

template <class T>
class Sender;
template <class T>
class Receiver;

namespace detail {

// A suspended changed() links the awaiter itself (a WaitNode), so waiting allocates nothing.
using ::weft::sync::detail::WaitList;
using ::weft::sync::detail::WaitNode;

inline constexpr uint64_t kClosed = 1;
inline constexpr uint64_t kVersionOne = 2;  // versions are counted in state's upper bits

template <class T>
struct Shared {
  explicit Shared(T initial) : value(std::move(initial)) {}

  // Adds `bits` to state (a version bump or CLOSED) and moves every waiting changed() to
  // `notified`, atomically with respect to registration (invariant 2). True if any must be
  // woken (by wake_notified, outside every lock).
  bool publish(uint64_t bits) {
    std::lock_guard<std::mutex> lock(mu);
    if (bits == kClosed) {
      state.fetch_or(kClosed, std::memory_order_release);
    } else {
      state.fetch_add(bits, std::memory_order_release);
    }
    if (waiting.empty()) return false;
    notified.append(waiting);
    return true;
  }
  void wake_notified() { ::weft::sync::detail::wake_all(mu, notified); }
  // Links `n` unless the receiver that saw `seen` has a change or the close to see.
  bool register_waiter(uint64_t seen, WaitNode* n) {
    std::lock_guard<std::mutex> lock(mu);
    uint64_t s = state.load(std::memory_order_acquire);
    if ((s & kClosed) || (s >> 1) != seen) return false;
    waiting.push_back(n);
    return true;
  }
  void cancel_waiter(WaitNode* n) {
    std::lock_guard<std::mutex> lock(mu);
    if (n->list != nullptr) n->list->remove(n);
  }
  uint64_t version() const { return state.load(std::memory_order_acquire) >> 1; }

  mutable std::shared_mutex value_mu;  // guards value; the version is bumped under it (inv. 1)
  T value;
  std::atomic<uint64_t> state{0};
  std::atomic<std::size_t> rx_count{1};
  std::mutex mu;      // guards the lists
  WaitList waiting;   // guarded by mu
  WaitList notified;  // guarded by mu
};

}  // namespace detail

template <class T>
std::pair<Sender<T>, Receiver<T>> channel(T initial);

// A read-locked view of the channel's value (Tokio's watch::Ref). Move-only. Holds the read
// lock until destroyed: keep it short and never hold it across a co_await (see the top).
template <class T>
class Ref {
 public:
  Ref(Ref&&) noexcept = default;
  Ref& operator=(Ref&&) noexcept = default;
  Ref(const Ref&) = delete;
  Ref& operator=(const Ref&) = delete;

  const T& operator*() const { return *value_; }
  const T* operator->() const { return value_; }
  const T& get() const { return *value_; }
  // Whether this value was new to the receiver that borrowed it (false for a Sender's borrow).
  bool has_changed() const { return has_changed_; }

 private:
  friend class Sender<T>;
  friend class Receiver<T>;
  Ref(std::shared_lock<std::shared_mutex> lock, const T* value, bool changed)
      : lock_(std::move(lock)), value_(value), has_changed_(changed) {}
  std::shared_lock<std::shared_mutex> lock_;
  const T* value_;
  bool has_changed_;
};

// The sending half. Move-only. Dropping it ends every receiver's changed() (after any change
// it has not seen yet). send/send_modify never wait (beyond a Ref being released), so they may
// be called from any thread.
template <class T>
class Sender {
 public:
  Sender() = default;
  Sender(Sender&&) noexcept = default;
  Sender& operator=(Sender&& o) noexcept {
    if (this != &o) {
      reset();
      shared_ = std::move(o.shared_);
    }
    return *this;
  }
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;
  ~Sender() { reset(); }

  // Stores the value and wakes the receivers. FAILED_PRECONDITION "no receivers" if there are
  // none: the value is dropped and the stored one stays.
  absl::Status send(T value) {
    if (!shared_ || shared_->rx_count.load(std::memory_order_acquire) == 0) {
      return absl::FailedPreconditionError("no receivers");
    }
    send_replace(std::move(value));
    return absl::OkStatus();
  }

  // Stores the value whether or not anyone listens; returns the previous one.
  T send_replace(T value) {
    bool wake;
    {
      std::unique_lock<std::shared_mutex> lock(shared_->value_mu);
      std::swap(shared_->value, value);
      wake = shared_->publish(detail::kVersionOne);
    }
    if (wake) shared_->wake_notified();
    return value;
  }

  // Modifies the value in place (under the write lock: `f` must not borrow or send on this
  // channel) and wakes the receivers, whether or not anyone listens. If `f` throws, the
  // version is not bumped and nobody is woken (what `f` changed stays).
  template <class F>
  void send_modify(F&& f) {
    send_if_modified([&](T& v) {
      std::forward<F>(f)(v);
      return true;
    });
  }

  // As send_modify, but receivers are told only if `f` returns true. Returns what `f` did.
  template <class F>
  bool send_if_modified(F&& f) {
    bool wake;
    {
      std::unique_lock<std::shared_mutex> lock(shared_->value_mu);
      if (!std::forward<F>(f)(shared_->value)) return false;
      wake = shared_->publish(detail::kVersionOne);
    }
    if (wake) shared_->wake_notified();
    return true;
  }

  // The current value, read-locked.
  Ref<T> borrow() const {
    std::shared_lock<std::shared_mutex> lock(shared_->value_mu);
    return Ref<T>(std::move(lock), &shared_->value, false);
  }

  // A new receiver; the current value counts as seen by it.
  Receiver<T> subscribe() const;

  std::size_t receiver_count() const {
    return shared_ ? shared_->rx_count.load(std::memory_order_acquire) : 0;
  }
  // True when no receiver is left.
  bool is_closed() const { return receiver_count() == 0; }

 private:
  friend std::pair<Sender<T>, Receiver<T>> channel<T>(T);
  explicit Sender(std::shared_ptr<detail::Shared<T>> s) : shared_(std::move(s)) {}
  void reset() {
    if (!shared_) return;
    std::shared_ptr<detail::Shared<T>> s = std::move(shared_);
    if (s->publish(detail::kClosed)) s->wake_notified();
  }
  std::shared_ptr<detail::Shared<T>> shared_;
};

// The receiving half. Copyable: a copy has seen what the original has. One task uses a given
// Receiver at a time.
template <class T>
class Receiver {
 public:
  Receiver() = default;
  Receiver(const Receiver& o) : shared_(o.shared_), seen_(o.seen_) {
    if (shared_) shared_->rx_count.fetch_add(1, std::memory_order_relaxed);
  }
  Receiver(Receiver&& o) noexcept : shared_(std::move(o.shared_)), seen_(o.seen_) {}
  Receiver& operator=(Receiver o) noexcept {
    std::swap(shared_, o.shared_);
    std::swap(seen_, o.seen_);
    return *this;
  }
  ~Receiver() {
    if (shared_) shared_->rx_count.fetch_sub(1, std::memory_order_acq_rel);
  }

  // The current value, read-locked, without marking it seen. Ref::has_changed tells whether
  // it is newer than what this receiver last saw.
  Ref<T> borrow() const {
    std::shared_lock<std::shared_mutex> lock(shared_->value_mu);
    bool changed = shared_->version() != seen_;
    return Ref<T>(std::move(lock), &shared_->value, changed);
  }

  // The current value, read-locked, and marks it seen (a later changed() waits for a newer one).
  Ref<T> borrow_and_update() {
    std::shared_lock<std::shared_mutex> lock(shared_->value_mu);
    uint64_t v = shared_->version();  // stable while the read lock is held (invariant 1)
    bool changed = v != seen_;
    seen_ = v;
    return Ref<T>(std::move(lock), &shared_->value, changed);
  }

  // Whether a value newer than the last seen was stored. FAILED_PRECONDITION "sender dropped"
  // once the sender is gone (as Tokio, even if there is an unseen change).
  absl::StatusOr<bool> has_changed() const {
    if (!shared_) return closed_error();
    uint64_t s = shared_->state.load(std::memory_order_acquire);
    if (s & detail::kClosed) return closed_error();
    return (s >> 1) != seen_;
  }

  // Makes the current value count as seen / unseen.
  void mark_unchanged() {
    if (shared_) seen_ = shared_->version();
  }
  void mark_changed() {
    if (shared_) seen_ = shared_->version() - 1;  // any other version reads as a change
  }

  // `absl::Status s = co_await rx.changed()`: waits until a version newer than the one this
  // receiver last saw exists, then marks it seen (read it with borrow()). OK, or
  // FAILED_PRECONDITION "sender dropped" when the sender is gone and nothing new is left.
  // Cancel-safe: a cancelled changed() marks nothing seen (a later call sees the change) and
  // leaves nothing registered. The Receiver must outlive the wait and not be moved meanwhile.
  class [[nodiscard]] ChangedFuture : private detail::WaitNode {
   public:
    explicit ChangedFuture(Receiver* rx) : rx_(rx) {}
    ChangedFuture(const ChangedFuture&) = delete;
    ChangedFuture& operator=(const ChangedFuture&) = delete;
    ~ChangedFuture() {
      if (waiting_) rx_->shared_->cancel_waiter(this);
    }

    bool await_ready() {
      if (!ready()) return false;
      if (coop::try_consume()) return true;
      yield_ = true;  // ready, and it stays so (invariant 2): yield first
      return false;
    }
    bool await_suspend(std::coroutine_handle<> h) {
      if (!yield_) {
        waker = Waker::current(h);
        if (rx_->shared_->register_waiter(rx_->seen_, this)) {
          waiting_ = true;
          return true;
        }
        waker = Waker();
        if (coop::try_consume()) return false;
      }
      coop::yield_current(h);
      return true;
    }
    absl::Status await_resume() {
      waiting_ = false;
      if (!rx_->shared_) return closed_error();
      uint64_t s = rx_->shared_->state.load(std::memory_order_acquire);
      if ((s >> 1) != rx_->seen_) {
        rx_->seen_ = s >> 1;
        return absl::OkStatus();
      }
      if (s & detail::kClosed) return closed_error();
      // Invariant 2 rules this out; say so rather than report a close that did not happen.
      return absl::InternalError("watch: woken without a change");
    }

   private:
    bool ready() const {
      if (!rx_->shared_) return true;
      uint64_t s = rx_->shared_->state.load(std::memory_order_acquire);
      return (s & detail::kClosed) || (s >> 1) != rx_->seen_;
    }
    Receiver* rx_;
    bool waiting_ = false;
    bool yield_ = false;
  };
  ChangedFuture changed() { return ChangedFuture(this); }

  bool same_channel(const Receiver& o) const { return shared_ == o.shared_; }

 private:
  friend class Sender<T>;
  friend std::pair<Sender<T>, Receiver<T>> channel<T>(T);
  // Adopts one count of rx_count.
  Receiver(std::shared_ptr<detail::Shared<T>> s, uint64_t seen)
      : shared_(std::move(s)), seen_(seen) {}
  static absl::Status closed_error() { return absl::FailedPreconditionError("sender dropped"); }

  std::shared_ptr<detail::Shared<T>> shared_;
  uint64_t seen_ = 0;  // the version this receiver last saw
};

template <class T>
Receiver<T> Sender<T>::subscribe() const {
  if (!shared_) return Receiver<T>();
  shared_->rx_count.fetch_add(1, std::memory_order_relaxed);
  return Receiver<T>(shared_, shared_->version());
}

// Creates a channel holding `initial` (one allocation).
template <class T>
std::pair<Sender<T>, Receiver<T>> channel(T initial) {
  auto shared = std::make_shared<detail::Shared<T>>(std::move(initial));
  Receiver<T> rx(shared, 0);  // rx_count starts at 1: this receiver
  return {Sender<T>(std::move(shared)), std::move(rx)};
}

}  // namespace weft::sync::watch
