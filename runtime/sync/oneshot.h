// oneshot: a channel that carries exactly one value from one task to another (Tokio's
// tokio::sync::oneshot). Typical use: the answer to a request handed to another task.
//
//   auto [tx, rx] = weft::sync::oneshot::channel<int>();
//   weft::spawn(compute(std::move(tx)));        // compute() ends with tx.send(42)
//   absl::StatusOr<int> v = co_await rx;         // 42, or CANCELLED if tx was dropped unsent
//
// Sending never waits; `co_await rx` waits for the value, `co_await tx.closed()` waits until
// nobody wants it any more (the receiver was dropped or closed: stop computing).
//
// Invariants (the state word, after Tokio's):
//   kComplete   the sender is done: it sent (the value is stored) or was dropped. Final.
//   kClosed     the receiver closed or was dropped. Final. A send after it fails, and the sender
//               keeps (then drops) its value; whichever of kComplete/kClosed is set first decides
//               who owns the value, so it is destroyed exactly once.
//   kRxTaskSet  rx_task holds the waker of a `co_await rx` that is suspended. The receiver writes
//               rx_task only while this bit is clear; the sender reads it only if the transition
//               that set kComplete saw the bit. kComplete is set once, so the receiver is woken
//               at most once; a cancelled `co_await rx` clears the bit (if kComplete is not set
//               yet) before its frame goes away, so no wake can reach a later suspension.
//   kTxTaskSet  tx_task holds the waker of a suspended `co_await tx.closed()`; symmetric, with
//               kClosed as the waking transition.
// One allocation per channel: the shared Inner, freed by whichever side lets go last.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/task/coop.h"
#include "weft/runtime/task/waker.h"

namespace weft::sync::oneshot {

template <class T>
class Sender;
template <class T>
class Receiver;

namespace detail {

inline constexpr uint32_t kRxTaskSet = 1;
inline constexpr uint32_t kComplete = 2;
inline constexpr uint32_t kClosed = 4;
inline constexpr uint32_t kTxTaskSet = 8;

template <class T>
struct Inner {
  std::atomic<uint32_t> state{0};
  std::atomic<uint32_t> refs{2};  // the sender and the receiver
  Waker rx_task;                  // see kRxTaskSet
  Waker tx_task;                  // see kTxTaskSet
  std::optional<T> value;         // written by the sender before kComplete

  void unref() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // Registers `w` in `slot` under `bit`, unless one of `final_bits` is set (then returns false:
  // the awaited event already happened and nobody will read the slot).
  bool register_waker(Waker& slot, uint32_t bit, uint32_t final_bits, Waker w) {
    uint32_t cur = state.load(std::memory_order_acquire);
    if (cur & final_bits) return false;
    if (cur & bit) {
      // Left over by an awaiter of another task sharing this end (misuse, but stay sound):
      // withdraw it before touching the slot.
      if (!unregister_waker(slot, bit, final_bits)) return false;
    }
    slot = std::move(w);
    uint32_t prev = state.fetch_or(bit, std::memory_order_acq_rel);
    if (prev & final_bits) {
      // The final transition came first and did not see the bit: nobody will read the slot.
      slot = Waker();
      return false;
    }
    return true;
  }

  // Withdraws the registration under `bit`. False: a final transition saw the bit first and
  // owns the slot now (its wake is on the way).
  bool unregister_waker(Waker& slot, uint32_t bit, uint32_t final_bits) {
    uint32_t cur = state.load(std::memory_order_acquire);
    for (;;) {
      if (cur & final_bits) return false;
      if (!(cur & bit)) return true;
      if (state.compare_exchange_weak(cur, cur & ~bit, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        slot = Waker();
        return true;
      }
    }
  }

  // Sets kComplete unless kClosed is set; returns the state before. Wakes the receiver.
  uint32_t complete() {
    uint32_t cur = state.load(std::memory_order_relaxed);
    for (;;) {
      if (cur & kClosed) return cur;
      if (state.compare_exchange_weak(cur, cur | kComplete, std::memory_order_acq_rel,
                                      std::memory_order_relaxed)) {
        break;
      }
    }
    if (cur & kRxTaskSet) {
      Waker w = std::move(rx_task);
      std::move(w).wake();
    }
    return cur;
  }

  // Sets kClosed; returns the state before. Wakes a closed() waiter.
  uint32_t close() {
    uint32_t prev = state.fetch_or(kClosed, std::memory_order_acq_rel);
    if ((prev & kTxTaskSet) && !(prev & kClosed)) {
      Waker w = std::move(tx_task);
      std::move(w).wake();
    }
    return prev;
  }
};

}  // namespace detail

// Creates a oneshot channel (one allocation).
template <class T>
std::pair<Sender<T>, Receiver<T>> channel();

// The sending half. Move-only. Dropping it unsent makes the receiver's await fail with
// CANCELLED "oneshot sender dropped".
template <class T>
class Sender {
 public:
  Sender() = default;
  Sender(Sender&& o) noexcept : inner_(std::exchange(o.inner_, nullptr)) {}
  Sender& operator=(Sender&& o) noexcept {
    if (this != &o) {
      reset();
      inner_ = std::exchange(o.inner_, nullptr);
    }
    return *this;
  }
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;
  ~Sender() { reset(); }

  // Sends the value and uses the sender up (later calls fail). FAILED_PRECONDITION "oneshot
  // receiver dropped" if the receiver is gone or closed: the value is then destroyed. Never
  // waits, so it may be called from any thread.
  absl::Status send(T value) {
    if (inner_ == nullptr) return absl::FailedPreconditionError("oneshot sender already used");
    detail::Inner<T>* inner = std::exchange(inner_, nullptr);
    inner->value.emplace(std::move(value));
    uint32_t prev = inner->complete();
    absl::Status status;
    if (prev & detail::kClosed) {
      inner->value.reset();  // the receiver never looks at it
      status = absl::FailedPreconditionError("oneshot receiver dropped");
    }
    inner->unref();
    return status;
  }

  // True once the receiver was dropped or closed (or this sender was used up).
  bool is_closed() const {
    return inner_ == nullptr ||
           (inner_->state.load(std::memory_order_acquire) & detail::kClosed) != 0;
  }

  // `co_await tx.closed()`: completes when the receiver is dropped or closed. Lets a producer
  // stop work nobody waits for any more. Cancel-safe: a cancelled wait leaves nothing behind.
  // The Sender must outlive the wait and must not send meanwhile.
  class [[nodiscard]] ClosedFuture {
   public:
    explicit ClosedFuture(detail::Inner<T>* inner) : inner_(inner) {}
    ClosedFuture(const ClosedFuture&) = delete;
    ClosedFuture& operator=(const ClosedFuture&) = delete;
    ~ClosedFuture() {
      if (waiting_) {
        inner_->unregister_waker(inner_->tx_task, detail::kTxTaskSet, detail::kClosed);
      }
    }

    bool await_ready() {
      if (!ready()) return false;
      if (coop::try_consume()) return true;
      yield_ = true;  // ready, but the budget is spent: yield first (kClosed is final)
      return false;
    }
    bool await_suspend(std::coroutine_handle<> h) {
      if (!yield_) {
        if (inner_->register_waker(inner_->tx_task, detail::kTxTaskSet, detail::kClosed,
                                   Waker::current(h))) {
          waiting_ = true;
          return true;
        }
        if (coop::try_consume()) return false;
      }
      coop::yield_current(h);
      return true;
    }
    void await_resume() { waiting_ = false; }

   private:
    bool ready() const {
      return inner_ == nullptr ||
             (inner_->state.load(std::memory_order_acquire) & detail::kClosed) != 0;
    }
    detail::Inner<T>* inner_;
    bool waiting_ = false;
    bool yield_ = false;
  };
  ClosedFuture closed() { return ClosedFuture(inner_); }

 private:
  friend std::pair<Sender<T>, Receiver<T>> channel<T>();
  explicit Sender(detail::Inner<T>* inner) : inner_(inner) {}
  void reset() {
    if (inner_ == nullptr) return;
    detail::Inner<T>* inner = std::exchange(inner_, nullptr);
    inner->complete();  // no value: the receiver sees "sender dropped"
    inner->unref();
  }
  detail::Inner<T>* inner_ = nullptr;
};

// The receiving half. Move-only. `co_await rx` gives the value, or CANCELLED "oneshot sender
// dropped" (the sender went away unsent) / CANCELLED "oneshot receiver closed" (close() was
// called before a value arrived). After the value was taken, further attempts give
// FAILED_PRECONDITION.
template <class T>
class Receiver {
 public:
  Receiver() = default;
  Receiver(Receiver&& o) noexcept
      : inner_(std::exchange(o.inner_, nullptr)), received_(o.received_) {}
  Receiver& operator=(Receiver&& o) noexcept {
    if (this != &o) {
      reset();
      inner_ = std::exchange(o.inner_, nullptr);
      received_ = o.received_;
    }
    return *this;
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;
  ~Receiver() { reset(); }

  // The value if it has been sent. UNAVAILABLE "oneshot value not sent yet" if the sender is
  // still holding on; otherwise the same results as `co_await rx`. Never waits.
  absl::StatusOr<T> try_recv() {
    if (inner_ == nullptr) return gone();
    uint32_t s = inner_->state.load(std::memory_order_acquire);
    if (!(s & (detail::kComplete | detail::kClosed))) {
      return absl::UnavailableError("oneshot value not sent yet");
    }
    return take(s);
  }

  // Stops the sender from sending (its send() then fails and tx.closed() completes). A value
  // sent before is still delivered by try_recv / co_await.
  void close() {
    if (inner_ != nullptr) inner_->close();
  }

  // `co_await rx` (rx stays owned by the caller and must outlive the wait).
  // Cancel-safe: if the waiting task is cancelled, a value sent meanwhile stays in the channel
  // (a later try_recv / co_await gets it), and the receiver can be awaited again.
  class [[nodiscard]] Awaiter {
   public:
    explicit Awaiter(Receiver* rx) : rx_(rx) {}
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;
    ~Awaiter() {
      if (waiting_) {
        detail::Inner<T>* in = rx_->inner_;
        in->unregister_waker(in->rx_task, detail::kRxTaskSet, kFinal);
      }
    }

    bool await_ready() {
      if (!ready()) return false;
      if (coop::try_consume()) return true;
      yield_ = true;  // ready, but the budget is spent: yield first (the state is final)
      return false;
    }
    bool await_suspend(std::coroutine_handle<> h) {
      if (!yield_) {
        detail::Inner<T>* in = rx_->inner_;
        if (in->register_waker(in->rx_task, detail::kRxTaskSet, kFinal, Waker::current(h))) {
          waiting_ = true;
          return true;
        }
        if (coop::try_consume()) return false;
      }
      coop::yield_current(h);
      return true;
    }
    absl::StatusOr<T> await_resume() {
      waiting_ = false;
      if (rx_->inner_ == nullptr) return rx_->gone();
      return rx_->take(rx_->inner_->state.load(std::memory_order_acquire));
    }

   private:
    static constexpr uint32_t kFinal = detail::kComplete | detail::kClosed;
    bool ready() const {
      return rx_->inner_ == nullptr ||
             (rx_->inner_->state.load(std::memory_order_acquire) & kFinal) != 0;
    }
    Receiver* rx_;
    bool waiting_ = false;
    bool yield_ = false;
  };
  Awaiter operator co_await() & { return Awaiter(this); }
  Awaiter operator co_await() && { return Awaiter(this); }

 private:
  friend std::pair<Sender<T>, Receiver<T>> channel<T>();
  explicit Receiver(detail::Inner<T>* inner) : inner_(inner) {}

  absl::Status gone() const {
    return absl::FailedPreconditionError(received_ ? "oneshot value already received"
                                                   : "oneshot receiver is empty (moved from)");
  }
  // `s` has kComplete or kClosed.
  absl::StatusOr<T> take(uint32_t s) {
    if (s & detail::kComplete) {
      if (!inner_->value.has_value()) return absl::CancelledError("oneshot sender dropped");
      absl::StatusOr<T> v(std::move(*inner_->value));
      inner_->value.reset();
      received_ = true;
      std::exchange(inner_, nullptr)->unref();  // as Tokio: the receiver is spent
      return v;
    }
    return absl::CancelledError("oneshot receiver closed");
  }
  void reset() {
    if (inner_ == nullptr) return;
    detail::Inner<T>* inner = std::exchange(inner_, nullptr);
    uint32_t prev = inner->close();
    if (prev & detail::kComplete) inner->value.reset();  // ours: the sender finished first
    inner->unref();
  }

  detail::Inner<T>* inner_ = nullptr;
  bool received_ = false;
};

template <class T>
std::pair<Sender<T>, Receiver<T>> channel() {
  static_assert(std::is_move_constructible_v<T>, "oneshot values must be movable");
  auto* inner = new detail::Inner<T>();
  return {Sender<T>(inner), Receiver<T>(inner)};
}

}  // namespace weft::sync::oneshot
