// broadcast: a multi-producer, multi-consumer channel where every receiver sees every value
// (Tokio's tokio::sync::broadcast). Typical use: fan an event stream out to many tasks.
//
//   auto [tx, rx] = weft::sync::broadcast::channel<Event>(16);
//   auto rx2 = tx.subscribe();                        // sees values sent from now on
//   absl::StatusOr<std::size_t> n = tx.send(Event{});  // n receivers will see it
//   absl::StatusOr<Event> e = co_await rx.recv();      // each receiver gets its own copy
//
// The channel keeps the last `capacity` values. A receiver that falls further behind loses the
// oldest ones: its next recv gives DATA_LOSS "lagged by N" (N values skipped) and the one after
// continues from the oldest value still kept. So a slow receiver never blocks senders and memory
// stays bounded by the capacity. (Unlike Tokio, the capacity is not rounded up to a power of
// two: exactly `capacity` values are kept.)
//
// Results. send: the number of receivers that will see the value, or FAILED_PRECONDITION
// "no receivers" (the value is dropped; a later subscribe() makes sends succeed again).
// recv / try_recv: the value, DATA_LOSS "lagged by N", or CANCELLED "closed" once every Sender
// is gone and this receiver has read everything; try_recv: UNAVAILABLE "channel empty".
//
// Invariants (one std::mutex `mu` guards the whole state; a value is copied out under it):
//   1. Values get consecutive positions; `tail` is the next position. The value at position p
//      lives in slots[p % capacity] while tail - p <= capacity, and is overwritten after.
//   2. A receiver reads positions in order from `next` (next <= tail). Receivers subscribed when
//      a value was sent are its `rem` count; each decrements it when it reads the value or is
//      dropped before reading it, and whoever brings it to zero frees the value (the last reader
//      moves it out instead of copying). A receiver that lagged past a position never owed it:
//      that slot was overwritten, which reset the count.
//   3. A recv suspends only when next == tail and senders remain, after linking its node into
//      `waiting` under mu. A send (or the last sender's drop) moves every waiting node to
//      `notified` under the same lock and wakes them from there, in batches outside the lock.
//      So a woken recv always finds something (a value, a lag or the end): its position can only
//      fall behind further, and closing is final. A node registered after that send stays in
//      `waiting`, so it is never woken for a value it has already seen.
//   4. A node is in at most one list; a cancelled recv unlinks it from whichever (under mu)
//      before its frame goes away, so no wake ever reaches freed memory.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "weft/runtime/sync/wait_list.h"
#include "weft/runtime/task/coop.h"
#include "weft/runtime/task/waker.h"

namespace weft::sync::broadcast {

template <class T>
class Sender;
template <class T>
class Receiver;

namespace detail {

// A suspended recv links the awaiter itself (a WaitNode), so waiting allocates nothing.
using ::weft::sync::detail::WaitList;
using ::weft::sync::detail::WaitNode;

enum class Poll { kValue, kLagged, kClosed, kEmpty };

template <class T>
class Shared {
 public:
  explicit Shared(std::size_t capacity) : cap_(capacity), slots_(new Slot[capacity]) {}

  absl::StatusOr<std::size_t> send(T&& value) {
    std::optional<T> old;  // an overwritten value is destroyed outside the lock
    std::size_t receivers;
    bool wake;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (rx_count_ == 0) return absl::FailedPreconditionError("no receivers");
      Slot& s = slots_[tail_ % cap_];
      old.swap(s.value);
      s.value.emplace(std::move(value));
      s.rem = rx_count_;
      ++tail_;
      receivers = rx_count_;
      wake = notify_locked();
    }
    if (wake) wake_notified();
    return receivers;
  }

  // Reads position `next` for a receiver (invariant 2). kEmpty when nothing is there yet.
  Poll poll(uint64_t& next, std::optional<T>* out, uint64_t* missed) {
    std::lock_guard<std::mutex> lock(mu_);
    return poll_locked(next, out, missed);
  }

  // Links `n` into the waiting list unless the receiver at `next` has something to read.
  bool register_waiter(uint64_t next, WaitNode* n) {
    std::lock_guard<std::mutex> lock(mu_);
    if (next != tail_ || tx_count_ == 0) return false;
    waiting_.push_back(n);
    return true;
  }
  void cancel_waiter(WaitNode* n) {
    std::lock_guard<std::mutex> lock(mu_);
    if (n->list != nullptr) n->list->remove(n);
  }

  void add_sender() {
    std::lock_guard<std::mutex> lock(mu_);
    ++tx_count_;
  }
  void drop_sender() {
    bool wake;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--tx_count_ != 0) return;
      wake = notify_locked();  // every waiter now finds the end
    }
    if (wake) wake_notified();
  }
  uint64_t add_receiver() {
    std::lock_guard<std::mutex> lock(mu_);
    ++rx_count_;
    return tail_;
  }
  void drop_receiver(uint64_t next) {
    // Release what this receiver still owed (invariant 2); values freed outside the lock.
    std::optional<T> freed[kBatch];
    std::size_t nfreed = 0;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (next < oldest_locked()) next = oldest_locked();
        for (; next < tail_ && nfreed < kBatch; ++next) {
          Slot& s = slots_[next % cap_];
          if (--s.rem == 0) freed[nfreed++].swap(s.value);
        }
        if (next == tail_) {
          --rx_count_;
          break;
        }
      }
      for (std::size_t i = 0; i < nfreed; ++i) freed[i].reset();
      nfreed = 0;
    }
  }

  std::size_t receiver_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return rx_count_;
  }
  uint64_t tail() {
    std::lock_guard<std::mutex> lock(mu_);
    return tail_;
  }
  // Values a receiver at `next` can still read.
  std::size_t len(uint64_t next) {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t from = next < oldest_locked() ? oldest_locked() : next;
    return static_cast<std::size_t>(tail_ - from);
  }
  bool closed() {
    std::lock_guard<std::mutex> lock(mu_);
    return tx_count_ == 0;
  }

 private:
  struct Slot {
    std::optional<T> value;
    std::size_t rem = 0;  // receivers that have still to read (or drop) this value
  };
  // Values freed per lock round by drop_receiver: no allocation, and few lock rounds.
  static constexpr std::size_t kBatch = 16;

  uint64_t oldest_locked() const { return tail_ > cap_ ? tail_ - cap_ : 0; }

  Poll poll_locked(uint64_t& next, std::optional<T>* out, uint64_t* missed) {
    if (next == tail_) return tx_count_ == 0 ? Poll::kClosed : Poll::kEmpty;
    uint64_t oldest = oldest_locked();
    if (next < oldest) {
      *missed = oldest - next;
      next = oldest;
      return Poll::kLagged;
    }
    Slot& s = slots_[next % cap_];
    if (s.rem == 1) {
      out->emplace(std::move(*s.value));  // the last reader: no copy
      s.value.reset();
    } else {
      out->emplace(*s.value);  // may throw: then nothing changed
    }
    --s.rem;
    ++next;
    return Poll::kValue;
  }

  // Invariant 3: every waiting recv has something to read now. True if any must be woken.
  bool notify_locked() {
    if (waiting_.empty()) return false;
    notified_.append(waiting_);
    return true;
  }
  void wake_notified() { ::weft::sync::detail::wake_all(mu_, notified_); }

  const uint64_t cap_;
  const std::unique_ptr<Slot[]> slots_;
  std::mutex mu_;
  uint64_t tail_ = 0;         // guarded by mu_
  std::size_t rx_count_ = 0;  // guarded by mu_
  std::size_t tx_count_ = 1;  // guarded by mu_
  WaitList waiting_;          // guarded by mu_
  WaitList notified_;         // guarded by mu_
};

inline absl::Status lagged_error(uint64_t missed) {
  return absl::DataLossError(absl::StrCat("lagged by ", missed));
}
inline absl::Status closed_error() { return absl::CancelledError("closed"); }

}  // namespace detail

template <class T>
std::pair<Sender<T>, Receiver<T>> channel(std::size_t capacity);

// The largest capacity a channel accepts (its slots are allocated up front).
inline constexpr std::size_t kMaxCapacity = std::size_t{1} << 32;

// The sending half. Copy it for more producers; receivers see the end when the last copy is
// dropped. send() never waits, so it may be called from any thread.
template <class T>
class Sender {
 public:
  Sender() = default;
  Sender(const Sender& o) : shared_(o.shared_) {
    if (shared_) shared_->add_sender();
  }
  Sender(Sender&& o) noexcept = default;
  Sender& operator=(Sender o) noexcept {
    std::swap(shared_, o.shared_);
    return *this;
  }
  ~Sender() {
    if (shared_) shared_->drop_sender();
  }

  // Keeps the value for every current receiver; returns how many there are. FAILED_PRECONDITION
  // "no receivers" if there are none (the value is dropped). May overwrite the oldest value
  // (receivers that had not read it will see a lag).
  absl::StatusOr<std::size_t> send(T value) {
    if (!shared_) return absl::FailedPreconditionError("no receivers");
    return shared_->send(std::move(value));
  }

  // A new receiver that sees the values sent from now on.
  Receiver<T> subscribe() const;

  std::size_t receiver_count() const { return shared_ ? shared_->receiver_count() : 0; }
  bool same_channel(const Sender& o) const { return shared_ == o.shared_; }

 private:
  friend std::pair<Sender<T>, Receiver<T>> channel<T>(std::size_t);
  explicit Sender(std::shared_ptr<detail::Shared<T>> s) : shared_(std::move(s)) {}
  std::shared_ptr<detail::Shared<T>> shared_;
};

// The receiving half. Move-only (resubscribe() makes another); one task receives at a time.
template <class T>
class Receiver {
 public:
  Receiver() = default;
  Receiver(Receiver&& o) noexcept : shared_(std::move(o.shared_)), next_(o.next_) {}
  Receiver& operator=(Receiver&& o) noexcept {
    if (this != &o) {
      reset();
      shared_ = std::move(o.shared_);
      next_ = o.next_;
    }
    return *this;
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;
  ~Receiver() { reset(); }

  // `absl::StatusOr<T> v = co_await rx.recv()`: the next value (a copy), DATA_LOSS "lagged by
  // N" after this receiver fell more than `capacity` values behind (the next recv continues
  // from the oldest value kept), or CANCELLED "closed" once every sender is gone and
  // everything was read.
  // Cancel-safe: a cancelled recv takes nothing (the value is there for the next recv) and
  // leaves nothing registered. The Receiver must outlive the wait and not be moved meanwhile.
  class [[nodiscard]] RecvFuture : private detail::WaitNode {
   public:
    explicit RecvFuture(Receiver* rx) : rx_(rx) {}
    RecvFuture(const RecvFuture&) = delete;
    RecvFuture& operator=(const RecvFuture&) = delete;
    ~RecvFuture() {
      if (waiting_) rx_->shared_->cancel_waiter(this);
    }

    bool await_ready() {
      if (!rx_->shared_) return true;
      if (coop::exhausted()) return false;  // await_suspend decides between yielding and waiting
      std::optional<absl::StatusOr<T>> r = rx_->poll();
      if (!r.has_value()) return false;
      coop::try_consume();
      result_ = std::move(r);
      return true;
    }
    bool await_suspend(std::coroutine_handle<> h) {
      waker = Waker::current(h);
      if (rx_->shared_->register_waiter(rx_->next_, this)) {
        waiting_ = true;
        return true;
      }
      waker = Waker();
      // Ready without waiting, and only this receiver moves next_: it stays ready over a yield,
      // and nothing is taken until await_resume (so a cancelled yield loses nothing).
      if (coop::try_consume()) return false;
      coop::yield_current(h);
      return true;
    }
    absl::StatusOr<T> await_resume() {
      waiting_ = false;
      if (result_.has_value()) return std::move(*result_);
      if (!rx_->shared_) return rx_->gone();
      std::optional<absl::StatusOr<T>> r = rx_->poll();
      // Invariant 3: a woken recv always finds something.
      if (!r.has_value()) return absl::InternalError("broadcast: woken with nothing to read");
      return std::move(*r);
    }

   private:
    Receiver* rx_;
    std::optional<absl::StatusOr<T>> result_;
    bool waiting_ = false;
  };
  RecvFuture recv() { return RecvFuture(this); }

  // The next value without waiting: as recv(), or UNAVAILABLE "channel empty".
  absl::StatusOr<T> try_recv() {
    if (!shared_) return gone();
    std::optional<absl::StatusOr<T>> r = poll();
    if (!r.has_value()) return absl::UnavailableError("channel empty");
    return std::move(*r);
  }

  // A new receiver on the same channel that sees the values sent from now on (as Tokio's
  // resubscribe: not a copy of this one's position).
  Receiver resubscribe() const {
    if (!shared_) return Receiver();
    return Receiver(shared_);
  }

  // Values this receiver can still read (at most the capacity).
  std::size_t len() const { return shared_ ? shared_->len(next_) : 0; }
  bool is_empty() const { return len() == 0; }
  // True once every sender is gone (values may still be left to read).
  bool is_closed() const { return !shared_ || shared_->closed(); }
  std::size_t receiver_count() const { return shared_ ? shared_->receiver_count() : 0; }

 private:
  friend class Sender<T>;
  friend std::pair<Sender<T>, Receiver<T>> channel<T>(std::size_t);
  explicit Receiver(std::shared_ptr<detail::Shared<T>> s)
      : shared_(std::move(s)), next_(shared_->add_receiver()) {}

  // nullopt when there is nothing to read yet.
  std::optional<absl::StatusOr<T>> poll() {
    std::optional<T> v;
    uint64_t missed = 0;
    switch (shared_->poll(next_, &v, &missed)) {
      case detail::Poll::kValue:
        return absl::StatusOr<T>(std::move(*v));
      case detail::Poll::kLagged:
        return absl::StatusOr<T>(detail::lagged_error(missed));
      case detail::Poll::kClosed:
        return absl::StatusOr<T>(detail::closed_error());
      case detail::Poll::kEmpty:
        break;
    }
    return std::nullopt;
  }
  static absl::Status gone() {
    return absl::FailedPreconditionError("broadcast receiver is empty (moved from)");
  }
  void reset() {
    if (shared_) std::exchange(shared_, nullptr)->drop_receiver(next_);
  }

  std::shared_ptr<detail::Shared<T>> shared_;
  uint64_t next_ = 0;  // the next position to read (invariant 2)
};

template <class T>
Receiver<T> Sender<T>::subscribe() const {
  if (!shared_) return Receiver<T>();
  return Receiver<T>(shared_);
}

// Creates a channel keeping up to `capacity` values (1 <= capacity <= kMaxCapacity; otherwise
// std::invalid_argument). The slots are allocated here; values are copied to each receiver.
template <class T>
std::pair<Sender<T>, Receiver<T>> channel(std::size_t capacity) {
  static_assert(std::is_copy_constructible_v<T>,
                "broadcast values must be copyable: every receiver gets its own copy");
  static_assert(std::is_move_constructible_v<T>, "broadcast values must be movable");
  if (capacity == 0 || capacity > kMaxCapacity) {
    throw std::invalid_argument("broadcast::channel: capacity must be in [1, 2^32]");
  }
  auto shared = std::make_shared<detail::Shared<T>>(capacity);
  Receiver<T> rx(shared);
  return {Sender<T>(std::move(shared)), std::move(rx)};
}

}  // namespace weft::sync::broadcast
