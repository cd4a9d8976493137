// The I/O driver: an edge-triggered epoll instance that turns kernel readiness into task wakeups.
//
// A socket type registers its fd once and keeps the Registration for its whole life:
//
//   auto reg = Registration::create(reactor, fd);           // absl::StatusOr<Registration>
//   for (;;) {
//     ReadyEvent ev = co_await reg->readiness(Interest::kReadable);
//     ssize_t n = ::read(fd, buf, len);
//     if (n < 0 && errno == EAGAIN) { reg->clear_readiness(ev); continue; }
//     ...
//   }
//
// Readiness is cached per fd (ScheduledIo): epoll reports edges, the cache remembers them until
// an operation hits EAGAIN and clears them. A new registration starts optimistic (readable and
// writable), so the first operation is tried at once without a trip through epoll. No epoll_ctl
// happens per operation: only at register and deregister.
//
// Every event carries the driver tick it was seen in; clear_readiness(ev) only clears if no
// newer event arrived meanwhile, so an edge that lands between the EAGAIN and the clear is not
// lost (Tokio's scheme).
//
// Lifetime: a deregistered ScheduledIo may still be referenced by events that an epoll_wait
// already returned on another thread, so it is freed only at the start of the next driver turn.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "absl/status/statusor.h"
#include "weft/runtime/sync/spin_lock.h"
#include "weft/runtime/task/coop.h"
#include "weft/runtime/task/waker.h"

struct epoll_event;  // <sys/epoll.h>

namespace weft::reactor {

enum class Interest : uint8_t { kReadable = 1, kWritable = 2 };

// Readiness bits.
enum : uint32_t {
  kReadable = 1,
  kWritable = 2,
  kReadClosed = 4,   // peer shut down its write side (EPOLLRDHUP) or hang-up
  kWriteClosed = 8,  // EPOLLHUP / EPOLLERR: writes will fail
  kError = 16,
};

struct ReadyEvent {
  uint32_t ready = 0;  // bits above
  uint32_t tick = 0;
  bool is_readable() const { return ready & (kReadable | kReadClosed | kError); }
  bool is_writable() const { return ready & (kWritable | kWriteClosed | kError); }
  bool is_read_closed() const { return ready & kReadClosed; }
};

class Reactor;
class ScheduledIo;

// Cancel-safe: destroying it while suspended unregisters its waker.
class ReadinessAwaiter {
 public:
  ReadinessAwaiter(ScheduledIo* io, Interest interest) : io_(io), interest_(interest) {}
  ReadinessAwaiter(const ReadinessAwaiter&) = delete;
  ~ReadinessAwaiter();
  bool await_ready();
  bool await_suspend(std::coroutine_handle<> h);
  ReadyEvent await_resume();

 private:
  friend class ScheduledIo;
  ScheduledIo* io_;
  Interest interest_;
  bool yield_ = false;
  bool linked_ = false;
  ReadyEvent event_;
  Waker waker_;
  ReadinessAwaiter* prev_ = nullptr;
  ReadinessAwaiter* next_ = nullptr;
};

// Per-fd readiness state shared between the driver and the tasks using the fd.
class ScheduledIo {
 public:
  explicit ScheduledIo(int fd) : fd_(fd) {}
  ReadinessAwaiter readiness(Interest interest) { return ReadinessAwaiter(this, interest); }
  // The current cached readiness matching `interest` (ready == 0 when none).
  ReadyEvent peek(Interest interest) const;
  void clear_readiness(ReadyEvent ev);
  // Driver side: new edges arrived; wakes matching waiters.
  void set_readiness(uint32_t bits);
  int fd() const { return fd_; }

 private:
  friend class ReadinessAwaiter;
  friend class Reactor;
  static constexpr int kTickShift = 8;
  static uint32_t mask_for(Interest i) {
    return i == Interest::kReadable ? (kReadable | kReadClosed | kError)
                                    : (kWritable | kWriteClosed | kError);
  }
  // Takes `w` off the waiter list; mu_ held.
  void unlink(ReadinessAwaiter* w);

  // low 8 bits: readiness; upper bits: tick of the last driver update. Optimistic start.
  std::atomic<uint64_t> state_{kReadable | kWritable};
  weft::sync::SpinLock mu_;  // guards the waiter list (held for a few pointer writes)
  ReadinessAwaiter* waiters_ = nullptr;
  int fd_;
  ScheduledIo* release_next_ = nullptr;  // pending-release list link (reactor-owned)
};

class Reactor {
 public:
  Reactor();
  ~Reactor();
  Reactor(const Reactor&) = delete;
  absl::Status init_status() const { return init_; }

  // Registers fd for edge-triggered read+write readiness.
  absl::StatusOr<ScheduledIo*> add(int fd);
  // Stops watching fd (call before closing it); the ScheduledIo is freed on a later turn.
  void remove(ScheduledIo* io);

  // One driver turn: wait up to timeout_ns (-1: no limit, 0: just look) and dispatch. If given,
  // *park_state is set to `awake` between the wait and the dispatch (see Driver::park).
  void turn(int64_t timeout_ns, std::atomic<int>* park_state = nullptr, int awake = 0);
  // Interrupts a turn blocked in epoll_wait (from any thread).
  void wake();

  uint64_t registrations() const { return live_.load(std::memory_order_relaxed); }

 private:
  void free_released();
  int wait(::epoll_event* events, int64_t timeout_ns);
  absl::Status init_;
  int epfd_ = -1;
  // epoll_pwait2 answered ENOSYS or EPERM once (a kernel before 5.11, or a seccomp profile that
  // does not know it): timed turns use epoll_wait from then on, one syscall each, not two.
  // Only the thread holding the driver turns, so no atomic is needed.
  bool pwait2_missing_ = false;
  int eventfd_ = -1;
  std::atomic<uint64_t> live_{0};
  std::mutex release_mu_;
  ScheduledIo* release_head_ = nullptr;
};

// RAII registration a socket type owns. Moves; deregisters on destruction.
class Registration {
 public:
  static absl::StatusOr<Registration> create(Reactor& reactor, int fd);
  // Uses the reactor of the runtime running the current task.
  static absl::StatusOr<Registration> create_current(int fd);
  Registration() = default;
  Registration(Registration&& o) noexcept;
  Registration& operator=(Registration&& o) noexcept;
  ~Registration() { reset(); }

  ReadinessAwaiter readiness(Interest i) { return io_->readiness(i); }
  void clear_readiness(ReadyEvent ev) { io_->clear_readiness(ev); }
  ScheduledIo* io() const { return io_; }
  bool valid() const { return io_ != nullptr; }
  // Deregisters now (before closing the fd).
  void reset();

 private:
  Reactor* reactor_ = nullptr;
  ScheduledIo* io_ = nullptr;
};

}  // namespace weft::reactor
