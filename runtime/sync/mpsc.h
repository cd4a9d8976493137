// mpsc: multi-producer, single-consumer channels for passing values between tasks (Tokio's
// tokio::sync::mpsc). Bounded channels give backpressure: a sender waits while the buffer is full.
//
//   auto [tx, rx] = weft::sync::mpsc::channel<Job>(64);
//   weft::spawn(produce(tx));                          // Sender is copyable: one per producer
//   while (std::optional<Job> job = co_await rx.recv()) run(*job);   // nullopt: all senders gone
//
//   auto [utx, urx] = weft::sync::mpsc::unbounded_channel<Event>();
//   absl::Status s = utx.send(Event{});                // never waits (any thread)
//
// Results. send / try_send: FAILED_PRECONDITION "channel closed" when the receiver was dropped or
// closed (the value is dropped); try_send: RESOURCE_EXHAUSTED "channel full". try_recv:
// UNAVAILABLE "channel empty", FAILED_PRECONDITION "channel closed" once recv() would give
// nullopt. recv() gives nullopt when every sender is gone (or the receiver closed) and the
// buffer is drained.
//
// Bounded channel, invariants (after Tokio's chan + batch semaphore, with a ring instead of a
// block list):
//   1. Capacity is a semaphore `sem_` (permits << 2 | WAITERS | CLOSED). A sender takes a permit
//      before writing and the receiver returns it after taking the value out, so buffered +
//      in-flight values never exceed the capacity, and the ring (capacity rounded up to a power
//      of two) always has a free slot for a permit holder. The ring has at least 2 slots so that
//      a slot's "free for pos" and "holds pos - ring size" marks never coincide.
//   2. permits > 0 implies no queued sender: a released permit goes to the first queued sender
//      (under `mu_`) instead of the counter, and a sender only queues (setting WAITERS in the
//      same CAS) when permits == 0. So new senders never overtake waiting ones (FIFO), and the
//      fast paths of send and recv never take the lock. A queued sender that is cancelled
//      unlinks itself; if it had already been granted a permit, it releases it (to the next).
//   3. A sender claims a ring position with tail_.fetch_add, writes the slot and publishes it by
//      storing seq = pos + 1; the receiver consumes positions in order and frees a slot by
//      storing seq = pos + ring size. A claimed position is published without any suspension in
//      between, so a receiver that sees it claimed only ever waits a few instructions for it.
//   4. The receiver's waker (RxWaker) is woken at most once per registration: whoever moves it
//      from WAITING to NOTIFYING owns it. A registration records the position the receiver
//      waits for, and a sender wakes it only for a value at or after that position, so a
//      resumed recv (which cannot wait again) always has a value to take - at worst a few
//      instructions later, per 3 - and never wakes for a value it already took without
//      waiting. Publishing a value (seq_cst store) and then loading the receiver's state,
//      against registering (seq_cst store) and then re-checking the ring, means a value is
//      never left unseen by a suspended receiver. Senders wake the receiver only when it is
//      registered.
// The unbounded channel keeps values in a growable ring under a std::mutex (a push is a few
// instructions); the receiver's waker lives under the same mutex, so a sender wakes it exactly
// when it pushes to an empty buffer the receiver waits on.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/sync/wait_list.h"
#include "weft/runtime/task/coop.h"
#include "weft/runtime/task/waker.h"

namespace weft::sync::mpsc {

template <class T>
class Sender;
template <class T>
class Receiver;
template <class T>
class UnboundedSender;
template <class T>
class UnboundedReceiver;

namespace detail {

inline absl::Status closed_error() { return absl::FailedPreconditionError("channel closed"); }

// Busy-wait step for the few-instruction windows of invariant 3 (and RxWaker's NOTIFYING).
inline void spin_pause(int i) {
  if (i < 64) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  } else {
    std::this_thread::yield();  // the other side was preempted
  }
}

// An awaiter waiting in a channel's list (a queued send, a closed() wait); `granted` marks a
// send waiter handed a permit. The node's fields are guarded by the channel's mutex until the
// node is unlinked and its waker taken; the waker's wake then publishes them to the owner.
using ::weft::sync::detail::WaitList;
using ::weft::sync::detail::WaitNode;

// The bounded channel's receiver waker slot (invariant 4). The state word is
// position << 2 | IDLE / WAITING / NOTIFYING.
class RxWaker {
 public:
  // Any position: for wakes that end the stream (the receiver finds the channel finished).
  static constexpr uint64_t kAnyPosition = (uint64_t{1} << 62) - 1;

  // Receiver, not registered: the current task waits for a value at position `pos`, to be
  // resumed at `h`. A wake that raced with the cancellation of an earlier recv may still be
  // using the waker: wait for it (a few instructions). The waker is kept after a wake (until
  // clear()), so a receiver that waits again reuses its task reference.
  void register_current(std::coroutine_handle<> h, uint64_t pos) {
    wait_not_notifying();
    waker_.assign_current(h);
    state_.store(pos << kShift | kWaiting, std::memory_order_seq_cst);
  }
  // Receiver: withdraws the registration. False: a wake owns it and is on its way.
  bool unregister() {
    uint64_t cur = state_.load(std::memory_order_relaxed);
    // Only a waking sender can change a WAITING state under us.
    if ((cur & kMask) != kWaiting ||
        !state_.compare_exchange_strong(cur, (cur & ~kMask) | kIdle, std::memory_order_acq_rel,
                                        std::memory_order_relaxed)) {
      return false;
    }
    return true;
  }
  // Receiver, not registered, going away: drops the kept waker.
  void clear() {
    wait_not_notifying();
    waker_ = Waker();
  }
  // Anyone, after a seq_cst store that published the value at `pos` (or ended the stream).
  void notify(uint64_t pos) {
    uint64_t cur = state_.load(std::memory_order_seq_cst);
    if ((cur & kMask) != kWaiting || (cur >> kShift) > pos) return;
    if (!state_.compare_exchange_strong(cur, (cur & ~kMask) | kNotifying, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
      return;
    }
    waker_.wake_by_ref();  // NOTIFYING keeps register_current() and clear() off waker_
    state_.store((cur & ~kMask) | kIdle, std::memory_order_release);
  }

 private:
  void wait_not_notifying() const {
    for (int i = 0; (state_.load(std::memory_order_acquire) & kMask) == kNotifying; ++i) {
      spin_pause(i);
    }
  }

  static constexpr int kShift = 2;
  static constexpr uint64_t kMask = 3;
  static constexpr uint64_t kIdle = 0;
  static constexpr uint64_t kWaiting = 1;
  static constexpr uint64_t kNotifying = 2;
  std::atomic<uint64_t> state_{kIdle};
  Waker waker_;
};

enum class RxPoll { kReady, kEmpty, kClosed };

// Lifetime shared by both flavours: one reference for all senders together (dropped with the
// last sender, after Derived::on_last_sender() told the receiver) and one for the receiver.
template <class Derived>
class ChanLife {
 public:
  void add_sender() { tx_count_.fetch_add(1, std::memory_order_relaxed); }
  void drop_sender() {
    if (tx_count_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    static_cast<Derived*>(this)->on_last_sender();
    unref();
  }
  void unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete static_cast<Derived*>(this);
  }

 protected:
  ChanLife() = default;
  ~ChanLife() = default;
  std::atomic<std::size_t> tx_count_{1};
  std::atomic<uint32_t> refs_{2};
};

// ---- bounded -------------------------------------------------------------------------------

enum class Acquire { kOk, kFull, kClosed, kQueued };

template <class T>
class BoundedChan : public ChanLife<BoundedChan<T>> {
 public:
  using value_type = T;

  explicit BoundedChan(std::size_t capacity)
      : cap_(capacity),
        mask_(std::max<uint64_t>(2, std::bit_ceil(uint64_t{capacity})) - 1),
        slots_(new Slot[mask_ + 1]),
        sem_(uint64_t{capacity} << kShift) {
    for (uint64_t i = 0; i <= mask_; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
  }
  ~BoundedChan() {
    // Every claimed position was published (a claim never spans a suspension).
    uint64_t tail = tail_.load(std::memory_order_acquire);
    for (uint64_t pos = head_; pos < tail; ++pos) {
      Slot& s = slots_[pos & mask_];
      if (s.seq.load(std::memory_order_acquire) == pos + 1) s.ptr()->~T();
    }
  }

  // ---- senders ----
  Acquire try_acquire() {
    uint64_t cur = sem_.load(std::memory_order_relaxed);
    for (;;) {
      if (cur & kClosed) return Acquire::kClosed;
      if (cur < kPermit) return Acquire::kFull;
      if (sem_.compare_exchange_weak(cur, cur - kPermit, std::memory_order_seq_cst,
                                     std::memory_order_relaxed)) {
        return Acquire::kOk;
      }
    }
  }

  // Takes a permit, or queues `n` (its waker set) to be granted one in FIFO order.
  Acquire acquire_or_enqueue(WaitNode* n) {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t cur = sem_.load(std::memory_order_relaxed);
    for (;;) {
      if (cur & kClosed) return Acquire::kClosed;
      if (cur >= kPermit) {
        if (sem_.compare_exchange_weak(cur, cur - kPermit, std::memory_order_seq_cst,
                                       std::memory_order_relaxed)) {
          return Acquire::kOk;
        }
        continue;
      }
      if ((cur & kWaiters) ||
          sem_.compare_exchange_weak(cur, cur | kWaiters, std::memory_order_seq_cst,
                                     std::memory_order_relaxed)) {
        break;
      }
    }
    n->granted = false;
    send_waiters_.push_back(n);
    return Acquire::kQueued;
  }

  // A queued sender goes away. Returns whether it had been granted a permit (which the caller
  // must then release, so capacity passes on to the next sender).
  bool cancel_waiter(WaitNode* n) {
    std::lock_guard<std::mutex> lock(mu_);
    if (n->linked()) {
      send_waiters_.remove(n);
      if (send_waiters_.empty()) sem_.fetch_and(~kWaiters, std::memory_order_seq_cst);
      return false;
    }
    return n->granted;
  }

  // Writes `v` into the ring; the caller holds a permit.
  void push(T&& v) {
    uint64_t pos = tail_.fetch_add(1, std::memory_order_relaxed);
    Slot& s = slots_[pos & mask_];
    // The permit guarantees that the slot's previous value was taken (invariant 1); its free
    // mark may take a moment to become visible here.
    for (int i = 0; s.seq.load(std::memory_order_acquire) != pos; ++i) spin_pause(i);
    ::new (static_cast<void*>(s.storage)) T(std::move(v));
    s.seq.store(pos + 1, std::memory_order_seq_cst);  // invariant 4
    rx_.notify(pos);
  }

  // Returns one permit: to the first queued sender, else to the counter.
  void release_permit() {
    uint64_t cur = sem_.load(std::memory_order_relaxed);
    for (;;) {
      if (cur & kWaiters) {
        release_slow();
        return;
      }
      if (sem_.compare_exchange_weak(cur, cur + kPermit, std::memory_order_seq_cst,
                                     std::memory_order_relaxed)) {
        break;
      }
    }
    notify_if_closed_idle(cur);
  }

  bool is_closed() const { return (sem_.load(std::memory_order_acquire) & kClosed) != 0; }
  std::size_t capacity() const {
    return static_cast<std::size_t>(sem_.load(std::memory_order_relaxed) >> kShift);
  }
  std::size_t max_capacity() const { return static_cast<std::size_t>(cap_); }

  // Registers a closed() waiter; false if the channel is closed already.
  bool closed_register(WaitNode* n) {
    std::lock_guard<std::mutex> lock(mu_);
    if (sem_.load(std::memory_order_relaxed) & kClosed) return false;
    closed_waiters_.push_back(n);
    return true;
  }
  void closed_cancel(WaitNode* n) {
    std::lock_guard<std::mutex> lock(mu_);
    if (n->linked()) closed_waiters_.remove(n);
  }

  // ---- receiver ----
  // kReady: a value is at the head (moved into *out when out != null). kClosed: none will come.
  RxPoll rx_poll(std::optional<T>* out) {
    Slot& s = slots_[head_ & mask_];
    if (s.seq.load(std::memory_order_seq_cst) != head_ + 1) {
      bool finished = tx_closed_.load(std::memory_order_seq_cst);
      if (!finished) {
        // Closed and every permit back: nothing buffered, nobody about to write.
        uint64_t sem = sem_.load(std::memory_order_seq_cst);
        finished = (sem & kClosed) && (sem >> kShift) == cap_;
      }
      if (!finished) return RxPoll::kEmpty;
      // Everything sent before the end is published by now: look once more.
      if (s.seq.load(std::memory_order_seq_cst) != head_ + 1) return RxPoll::kClosed;
    }
    if (out != nullptr) {
      out->emplace(std::move(*s.ptr()));
      s.ptr()->~T();
      s.seq.store(head_ + mask_ + 1, std::memory_order_release);
      ++head_;
      release_permit();
    }
    return RxPoll::kReady;
  }
  // A sender claimed the head position and is still writing it (invariant 3).
  bool rx_busy() const { return tail_.load(std::memory_order_acquire) != head_; }
  // Registers the receiver's waker; false (not registered) if something is ready after all.
  bool rx_register(std::coroutine_handle<> h) {
    rx_.register_current(h, head_);
    return rx_poll(nullptr) == RxPoll::kEmpty || !rx_.unregister();
  }
  void rx_unregister() { rx_.unregister(); }  // false: a wake for a dying task is in flight
  void on_last_sender() {
    tx_closed_.store(true, std::memory_order_seq_cst);
    rx_.notify(RxWaker::kAnyPosition);
  }

  void close() {
    uint64_t prev = sem_.fetch_or(kClosed, std::memory_order_seq_cst);
    if ((prev >> kShift) == cap_) rx_.notify(RxWaker::kAnyPosition);  // finished already
    // No sender queues after kClosed; wake every queued one (with "closed") and every closed()
    // waiter, one lock round each so nothing is allocated and no wake runs under the lock.
    for (;;) {
      Waker w;
      {
        std::lock_guard<std::mutex> lock(mu_);
        WaitNode* n = send_waiters_.pop_front();
        if (n == nullptr) {
          sem_.fetch_and(~kWaiters, std::memory_order_seq_cst);
          n = closed_waiters_.pop_front();
        }
        if (n == nullptr) break;
        w = std::move(n->waker);
      }
      std::move(w).wake();
    }
  }
  void drop_receiver() {
    close();
    std::optional<T> v;
    while (rx_poll(&v) == RxPoll::kReady) v.reset();  // release values now, as Tokio does
    rx_.clear();  // senders may keep the channel alive: not the receiver's task too
    this->unref();
  }

 private:
  static constexpr uint64_t kClosed = 1;
  static constexpr uint64_t kWaiters = 2;
  static constexpr int kShift = 2;
  static constexpr uint64_t kPermit = uint64_t{1} << kShift;

  struct Slot {
    std::atomic<uint64_t> seq{0};
    alignas(T) unsigned char storage[sizeof(T)];
    T* ptr() { return std::launder(reinterpret_cast<T*>(storage)); }
  };

  void release_slow() {
    Waker w;
    uint64_t prev = 0;
    bool added = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (WaitNode* n = send_waiters_.pop_front()) {
        n->granted = true;
        w = std::move(n->waker);
        if (send_waiters_.empty()) sem_.fetch_and(~kWaiters, std::memory_order_seq_cst);
      } else {
        // The queued senders left meanwhile (WAITERS is clear again).
        prev = sem_.fetch_add(kPermit, std::memory_order_seq_cst);
        added = true;
      }
    }
    std::move(w).wake();
    if (added) notify_if_closed_idle(prev);
  }
  // After a release that found `prev`: if that was the last permit out after close(), a
  // receiver waiting for in-flight sends learns that none is left.
  void notify_if_closed_idle(uint64_t prev) {
    if ((prev & kClosed) && (prev >> kShift) + 1 == cap_) rx_.notify(RxWaker::kAnyPosition);
  }

  const uint64_t cap_;
  const uint64_t mask_;
  const std::unique_ptr<Slot[]> slots_;
  // One cache line per writer pattern: senders bump tail_, both sides sem_, every push reads
  // rx_ (written only when the receiver waits), the receiver alone head_.
  alignas(64) std::atomic<uint64_t> tail_{0};  // next position to claim
  alignas(64) std::atomic<uint64_t> sem_;      // invariant 1
  alignas(64) RxWaker rx_;
  std::atomic<bool> tx_closed_{false};  // the last sender is gone
  alignas(64) uint64_t head_ = 0;       // next position to take (receiver only)
  alignas(64) std::mutex mu_;           // guards the two lists
  WaitList send_waiters_;
  WaitList closed_waiters_;
};

// ---- unbounded -----------------------------------------------------------------------------

// A growable power-of-two ring (no allocation once it has grown to the working set).
template <class T>
class RingBuf {
 public:
  RingBuf() = default;
  RingBuf(const RingBuf&) = delete;
  RingBuf& operator=(const RingBuf&) = delete;
  ~RingBuf() {
    while (size_ > 0) {
      at(head_)->~T();
      head_ = (head_ + 1) & (cap_ - 1);
      --size_;
    }
    if (data_ != nullptr) std::allocator<T>().deallocate(data_, cap_);
  }
  bool empty() const { return size_ == 0; }
  void swap(RingBuf& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(cap_, o.cap_);
    std::swap(head_, o.head_);
    std::swap(size_, o.size_);
  }
  void push(T&& v) {
    if (size_ == cap_) grow();
    ::new (static_cast<void*>(at(head_ + size_))) T(std::move(v));
    ++size_;
  }
  void pop_into(std::optional<T>& out) {
    T* p = at(head_);
    out.emplace(std::move(*p));
    p->~T();
    head_ = (head_ + 1) & (cap_ - 1);
    --size_;
  }

 private:
  T* at(std::size_t i) { return data_ + (i & (cap_ - 1)); }
  void grow() {
    std::size_t n = cap_ == 0 ? 16 : cap_ * 2;
    T* d = std::allocator<T>().allocate(n);
    for (std::size_t i = 0; i < size_; ++i) {
      T* p = at(head_ + i);
      ::new (static_cast<void*>(d + i)) T(std::move(*p));
      p->~T();
    }
    if (data_ != nullptr) std::allocator<T>().deallocate(data_, cap_);
    data_ = d;
    cap_ = n;
    head_ = 0;
  }
  T* data_ = nullptr;
  std::size_t cap_ = 0;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

template <class T>
class UnboundedChan : public ChanLife<UnboundedChan<T>> {
 public:
  using value_type = T;

  absl::Status send(T&& v) {
    Waker w;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return closed_error();
      buf_.push(std::move(v));
      take_rx_waker(w);
    }
    std::move(w).wake();
    return absl::OkStatus();
  }
  bool is_closed() const { return closed_flag_.load(std::memory_order_acquire); }

  bool closed_register(WaitNode* n) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    closed_waiters_.push_back(n);
    return true;
  }
  void closed_cancel(WaitNode* n) {
    std::lock_guard<std::mutex> lock(mu_);
    if (n->linked()) closed_waiters_.remove(n);
  }

  RxPoll rx_poll(std::optional<T>* out) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!buf_.empty()) {
      if (out != nullptr) buf_.pop_into(*out);
      return RxPoll::kReady;
    }
    return (closed_ || tx_closed_) ? RxPoll::kClosed : RxPoll::kEmpty;
  }
  bool rx_busy() const { return false; }
  bool rx_register(std::coroutine_handle<> h) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!buf_.empty() || closed_ || tx_closed_) return false;
    rx_waker_.assign_current(h);
    rx_waiting_ = true;
    return true;
  }
  void rx_unregister() {
    Waker w;
    std::lock_guard<std::mutex> lock(mu_);
    take_rx_waker(w);  // dropped after the unlock
  }
  void on_last_sender() {
    Waker w;
    {
      std::lock_guard<std::mutex> lock(mu_);
      tx_closed_ = true;
      take_rx_waker(w);
    }
    std::move(w).wake();
  }

  void close() {
    {
      Waker w;
      {
        std::lock_guard<std::mutex> lock(mu_);
        closed_ = true;
        closed_flag_.store(true, std::memory_order_release);
        if (buf_.empty()) take_rx_waker(w);  // finished
      }
      std::move(w).wake();
    }
    for (;;) {
      Waker w;
      {
        std::lock_guard<std::mutex> lock(mu_);
        WaitNode* n = closed_waiters_.pop_front();
        if (n == nullptr) break;
        w = std::move(n->waker);
      }
      std::move(w).wake();
    }
  }
  void drop_receiver() {
    close();
    RingBuf<T> drained;
    {
      std::lock_guard<std::mutex> lock(mu_);
      drained.swap(buf_);  // destroyed outside the lock
    }
    this->unref();
  }

 private:
  void take_rx_waker(Waker& w) {
    if (!rx_waiting_) return;
    rx_waiting_ = false;
    w = std::move(rx_waker_);
  }

  std::mutex mu_;
  RingBuf<T> buf_;           // guarded by mu_
  bool closed_ = false;      // guarded by mu_: send checks it in the same critical section
  bool tx_closed_ = false;   // guarded by mu_: the last sender is gone
  bool rx_waiting_ = false;  // guarded by mu_: rx_waker_ holds the suspended receiver
  Waker rx_waker_;           // guarded by mu_
  WaitList closed_waiters_;  // guarded by mu_
  std::atomic<bool> closed_flag_{false};  // closed_, for is_closed() without the lock
};

// ---- awaiters ------------------------------------------------------------------------------

// `co_await rx.recv()`. Cancel-safe: if the task is cancelled while waiting, no value is taken
// from the channel (a later recv gets it) and the registration is withdrawn.
template <class Chan>
class [[nodiscard]] RecvFuture {
 public:
  using T = typename Chan::value_type;
  explicit RecvFuture(Chan* chan) : chan_(chan) {}
  RecvFuture(const RecvFuture&) = delete;
  RecvFuture& operator=(const RecvFuture&) = delete;
  ~RecvFuture() {
    if (waiting_) chan_->rx_unregister();
  }

  bool await_ready() {
    if (chan_ == nullptr) return true;
    if (coop::exhausted()) return false;  // await_suspend decides between yielding and waiting
    if (chan_->rx_poll(&value_) == RxPoll::kEmpty) return false;
    coop::try_consume();
    done_ = true;
    return true;
  }
  bool await_suspend(std::coroutine_handle<> h) {
    if (chan_->rx_poll(nullptr) == RxPoll::kEmpty && chan_->rx_register(h)) {
      waiting_ = true;
      return true;
    }
    // Ready without waiting. Only the receiver takes values, so it stays ready over a yield.
    if (coop::try_consume()) return false;
    coop::yield_current(h);
    return true;
  }
  std::optional<T> await_resume() {
    waiting_ = false;
    if (!done_ && chan_ != nullptr) {
      // Woken by a publish of a later position while the head's writer is mid-write
      // (invariant 3): a few instructions at most.
      for (int i = 0; chan_->rx_poll(&value_) == RxPoll::kEmpty; ++i) spin_pause(i);
    }
    return std::move(value_);
  }

 private:
  Chan* chan_;
  std::optional<T> value_;
  bool waiting_ = false;
  bool done_ = false;
};

// `co_await tx.closed()`: completes once the receiver is dropped or closed. Cancel-safe.
template <class Chan>
class [[nodiscard]] ClosedFuture : private WaitNode {
 public:
  explicit ClosedFuture(Chan* chan) : chan_(chan) {}
  ClosedFuture(const ClosedFuture&) = delete;
  ClosedFuture& operator=(const ClosedFuture&) = delete;
  ~ClosedFuture() {
    if (waiting_) chan_->closed_cancel(this);
  }

  bool await_ready() {
    if (chan_ != nullptr && !chan_->is_closed()) return false;
    if (coop::try_consume()) return true;
    yield_ = true;  // closed is final: it stays ready over the yield
    return false;
  }
  bool await_suspend(std::coroutine_handle<> h) {
    if (!yield_) {
      waker = Waker::current(h);
      if (chan_->closed_register(this)) {
        waiting_ = true;
        return true;
      }
      waker = Waker();
      if (coop::try_consume()) return false;
    }
    coop::yield_current(h);
    return true;
  }
  void await_resume() { waiting_ = false; }

 private:
  Chan* chan_;
  bool waiting_ = false;
  bool yield_ = false;
};

// `co_await tx.send(v)` on a bounded channel.
template <class T>
class [[nodiscard]] SendFuture : private WaitNode {
 public:
  SendFuture(BoundedChan<T>* chan, T value) : chan_(chan), value_(std::move(value)) {}
  SendFuture(const SendFuture&) = delete;
  SendFuture& operator=(const SendFuture&) = delete;
  ~SendFuture() {
    if (state_ == kWaiting) {
      if (chan_->cancel_waiter(this)) chan_->release_permit();  // granted, never used
    } else if (state_ == kPermit) {
      chan_->release_permit();  // cancelled during a budget yield
    }
  }

  bool await_ready() {
    if (chan_ == nullptr) {
      state_ = kClosed;
      return true;
    }
    switch (chan_->try_acquire()) {
      case Acquire::kOk:
        state_ = kPermit;
        break;
      case Acquire::kFull:
        return false;
      default:
        state_ = kClosed;
        break;
    }
    return coop::try_consume();  // false: yield first, keeping the permit
  }
  bool await_suspend(std::coroutine_handle<> h) {
    if (state_ == kInit) {
      waker = Waker::current(h);
      switch (chan_->acquire_or_enqueue(this)) {
        case Acquire::kQueued:
          state_ = kWaiting;
          return true;
        case Acquire::kOk:
          state_ = kPermit;
          break;
        default:
          state_ = kClosed;
          break;
      }
      waker = Waker();
      if (coop::try_consume()) return false;
    }
    coop::yield_current(h);
    return true;
  }
  absl::Status await_resume() {
    if (state_ == kWaiting) state_ = granted ? kPermit : kClosed;  // set before our wake
    if (state_ == kPermit) {
      state_ = kDone;
      chan_->push(std::move(value_));
      return absl::OkStatus();
    }
    state_ = kDone;
    return closed_error();
  }

 private:
  enum State : uint8_t { kInit, kWaiting, kPermit, kClosed, kDone };
  BoundedChan<T>* chan_;
  T value_;
  State state_ = kInit;
};

// What the senders (and the receivers) of both flavours share: the channel pointer and the
// reference it holds. Every copy of a sender counts as one sender; a receiver is move-only and
// closes the channel when dropped.
template <class Chan>
class SenderHandle {
 public:
  SenderHandle() = default;
  SenderHandle(const SenderHandle& o) : chan_(o.chan_) {
    if (chan_ != nullptr) chan_->add_sender();
  }
  SenderHandle(SenderHandle&& o) noexcept : chan_(std::exchange(o.chan_, nullptr)) {}
  SenderHandle& operator=(SenderHandle o) noexcept {
    std::swap(chan_, o.chan_);
    return *this;
  }
  ~SenderHandle() {
    if (chan_ != nullptr) chan_->drop_sender();
  }

  // True once the receiver was dropped or closed.
  bool is_closed() const { return chan_ == nullptr || chan_->is_closed(); }
  // `co_await tx.closed()`: completes when the receiver is dropped or closed. Cancel-safe.
  ClosedFuture<Chan> closed() const { return ClosedFuture<Chan>(chan_); }
  bool same_channel(const SenderHandle& o) const { return chan_ == o.chan_; }

 protected:
  explicit SenderHandle(Chan* chan) : chan_(chan) {}
  Chan* chan_ = nullptr;
};

template <class Chan>
class ReceiverHandle {
 public:
  ReceiverHandle() = default;
  ReceiverHandle(ReceiverHandle&& o) noexcept : chan_(std::exchange(o.chan_, nullptr)) {}
  ReceiverHandle& operator=(ReceiverHandle&& o) noexcept {
    if (this != &o) {
      if (chan_ != nullptr) chan_->drop_receiver();
      chan_ = std::exchange(o.chan_, nullptr);
    }
    return *this;
  }
  ReceiverHandle(const ReceiverHandle&) = delete;
  ReceiverHandle& operator=(const ReceiverHandle&) = delete;
  // Closes the channel and drops what is buffered.
  ~ReceiverHandle() {
    if (chan_ != nullptr) chan_->drop_receiver();
  }

  // `std::optional<T> v = co_await rx.recv()`: the next value in order, or nullopt once every
  // sender is dropped (or close() was called) and the buffer is empty.
  // Cancel-safe: a cancelled recv takes nothing; the value stays for the next recv.
  RecvFuture<Chan> recv() { return RecvFuture<Chan>(chan_); }

  // The next value without waiting: UNAVAILABLE "channel empty", or FAILED_PRECONDITION
  // "channel closed" where recv() would give nullopt.
  absl::StatusOr<typename Chan::value_type> try_recv() {
    if (chan_ == nullptr) return closed_error();
    std::optional<typename Chan::value_type> v;
    for (int i = 0;; ++i) {
      switch (chan_->rx_poll(&v)) {
        case RxPoll::kReady:
          return std::move(*v);
        case RxPoll::kClosed:
          return closed_error();
        case RxPoll::kEmpty:
          // A sender is mid-write at the head (bounded channel only): its send has not returned
          // yet, but a later one may have. Wait for it rather than report a hole (a few
          // instructions).
          if (!chan_->rx_busy()) return absl::UnavailableError("channel empty");
          spin_pause(i);
          break;
      }
    }
  }

  // Stops new sends (they fail with "channel closed"; waiting senders are woken with it) while
  // what is buffered can still be received, then recv() gives nullopt. On a bounded channel,
  // senders already granted capacity may still deliver; recv() gives nullopt after them.
  void close() {
    if (chan_ != nullptr) chan_->close();
  }

 protected:
  explicit ReceiverHandle(Chan* chan) : chan_(chan) {}
  Chan* chan_ = nullptr;
};

template <class T>
constexpr void check_value_type() {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "mpsc values must be nothrow-move-constructible (a value half moved into the "
                "buffer would block the receiver)");
}

}  // namespace detail

template <class T>
std::pair<Sender<T>, Receiver<T>> channel(std::size_t capacity);
template <class T>
std::pair<UnboundedSender<T>, UnboundedReceiver<T>> unbounded_channel();

// The largest capacity a bounded channel accepts (its ring is allocated up front).
inline constexpr std::size_t kMaxCapacity = std::size_t{1} << 32;

// Sending half of a bounded channel. Copy it to get more producers; the receiver sees the end
// of the stream when the last copy is dropped.
template <class T>
class Sender : public detail::SenderHandle<detail::BoundedChan<T>> {
 public:
  using Chan = detail::BoundedChan<T>;

  Sender() = default;
  // Copying, is_closed(), closed() and same_channel(): see detail::SenderHandle.

  // `absl::Status s = co_await tx.send(v)`: waits for capacity (senders waiting for capacity
  // are served first come, first served), then buffers v. FAILED_PRECONDITION "channel closed"
  // if the receiver is gone or closed (the value is dropped).
  // Cancel-safety: if the task is cancelled while waiting for capacity the value is dropped and
  // not sent, nothing stays queued, and capacity granted to it passes to the next waiting
  // sender. The Sender must outlive the wait.
  detail::SendFuture<T> send(T value) { return detail::SendFuture<T>(chan_, std::move(value)); }

  // Buffers the value if there is room now, without waiting: OK, RESOURCE_EXHAUSTED "channel
  // full" or FAILED_PRECONDITION "channel closed". On error `value` is left as it was. Callable
  // from any thread.
  absl::Status try_send(T&& value) {
    if (chan_ == nullptr) return detail::closed_error();
    switch (chan_->try_acquire()) {
      case detail::Acquire::kOk:
        chan_->push(std::move(value));
        return absl::OkStatus();
      case detail::Acquire::kFull:
        return absl::ResourceExhaustedError("channel full");
      default:
        return detail::closed_error();
    }
  }
  absl::Status try_send(const T& value) {
    T copy(value);
    return try_send(std::move(copy));
  }

  // Free slots right now, and the channel's capacity.
  std::size_t capacity() const { return chan_ == nullptr ? 0 : chan_->capacity(); }
  std::size_t max_capacity() const { return chan_ == nullptr ? 0 : chan_->max_capacity(); }

 private:
  friend std::pair<Sender<T>, Receiver<T>> channel<T>(std::size_t);
  explicit Sender(Chan* chan) : detail::SenderHandle<Chan>(chan) {}
  using detail::SenderHandle<Chan>::chan_;
};

// Receiving half of a bounded channel. Move-only; one task receives at a time.
template <class T>
class Receiver : public detail::ReceiverHandle<detail::BoundedChan<T>> {
 public:
  using Chan = detail::BoundedChan<T>;

  Receiver() = default;
  // recv(), try_recv() and close(): see detail::ReceiverHandle.

  std::size_t max_capacity() const { return chan_ == nullptr ? 0 : chan_->max_capacity(); }

 private:
  friend std::pair<Sender<T>, Receiver<T>> channel<T>(std::size_t);
  explicit Receiver(Chan* chan) : detail::ReceiverHandle<Chan>(chan) {}
  using detail::ReceiverHandle<Chan>::chan_;
};

// Creates a bounded channel buffering up to `capacity` values (1 <= capacity <= kMaxCapacity;
// otherwise std::invalid_argument). The buffer is allocated here, rounded up to a power of two.
template <class T>
std::pair<Sender<T>, Receiver<T>> channel(std::size_t capacity) {
  detail::check_value_type<T>();
  if (capacity == 0 || capacity > kMaxCapacity) {
    throw std::invalid_argument("mpsc::channel: capacity must be in [1, 2^32]");
  }
  auto* chan = new detail::BoundedChan<T>(capacity);
  return {Sender<T>(chan), Receiver<T>(chan)};
}

// Sending half of an unbounded channel; copyable. send() never waits.
template <class T>
class UnboundedSender : public detail::SenderHandle<detail::UnboundedChan<T>> {
 public:
  using Chan = detail::UnboundedChan<T>;

  UnboundedSender() = default;
  // Copying, is_closed(), closed() and same_channel(): see detail::SenderHandle.

  // Buffers the value: OK, or FAILED_PRECONDITION "channel closed" (the value is dropped).
  // Never waits; callable from any thread.
  absl::Status send(T value) {
    if (chan_ == nullptr) return detail::closed_error();
    return chan_->send(std::move(value));
  }

 private:
  friend std::pair<UnboundedSender<T>, UnboundedReceiver<T>> unbounded_channel<T>();
  explicit UnboundedSender(Chan* chan) : detail::SenderHandle<Chan>(chan) {}
  using detail::SenderHandle<Chan>::chan_;
};

// Receiving half of an unbounded channel; same contract as Receiver.
template <class T>
class UnboundedReceiver : public detail::ReceiverHandle<detail::UnboundedChan<T>> {
 public:
  using Chan = detail::UnboundedChan<T>;

  UnboundedReceiver() = default;
  // recv(), try_recv() and close(): see detail::ReceiverHandle.

 private:
  friend std::pair<UnboundedSender<T>, UnboundedReceiver<T>> unbounded_channel<T>();
  explicit UnboundedReceiver(Chan* chan) : detail::ReceiverHandle<Chan>(chan) {}
};

template <class T>
std::pair<UnboundedSender<T>, UnboundedReceiver<T>> unbounded_channel() {
  detail::check_value_type<T>();
  auto* chan = new detail::UnboundedChan<T>();
  return {UnboundedSender<T>(chan), UnboundedReceiver<T>(chan)};
}

}  // namespace weft::sync::mpsc
