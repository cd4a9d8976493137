#include "weft/runtime/reactor/reactor.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "weft/runtime/scheduler/driver.h"
#include "weft/runtime/scheduler/scheduler.h"

namespace weft::reactor {

namespace {
absl::Status errno_status(const char* what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}
// 256 events per turn: enough to drain a busy server in one call, small enough for the stack.
constexpr int kMaxEvents = 256;
}  // namespace

// ---- ReadinessAwaiter ----

bool ReadinessAwaiter::await_ready() {
  event_ = io_->peek(interest_);
  if (event_.ready == 0) return false;
  if (!coop::try_consume()) {
    yield_ = true;
    return false;
  }
  return true;
}

bool ReadinessAwaiter::await_suspend(std::coroutine_handle<> h) {
  if (yield_) {
    yield_ = false;
    coop::yield_current(h);
    return true;
  }
  waker_ = Waker::current(h);
  std::lock_guard<weft::sync::SpinLock> lock(io_->mu_);
  event_ = io_->peek(interest_);
  if (event_.ready != 0) return false;  // an edge arrived meanwhile
  next_ = io_->waiters_;
  if (next_ != nullptr) next_->prev_ = this;
  io_->waiters_ = this;
  prev_ = nullptr;
  linked_ = true;
  return true;
}

ReadyEvent ReadinessAwaiter::await_resume() {
  if (event_.ready == 0) event_ = io_->peek(interest_);
  return event_;
}

ReadinessAwaiter::~ReadinessAwaiter() {
  if (!linked_) return;
  std::lock_guard<weft::sync::SpinLock> lock(io_->mu_);
  if (linked_) io_->unlink(this);
}

// ---- ScheduledIo ----

void ScheduledIo::unlink(ReadinessAwaiter* w) {
  if (w->prev_ != nullptr)
    w->prev_->next_ = w->next_;
  else
    waiters_ = w->next_;
  if (w->next_ != nullptr) w->next_->prev_ = w->prev_;
  w->linked_ = false;
}

ReadyEvent ScheduledIo::peek(Interest interest) const {
  uint64_t s = state_.load(std::memory_order_acquire);
  return ReadyEvent{static_cast<uint32_t>(s) & mask_for(interest) & 0xff,
                    static_cast<uint32_t>(s >> kTickShift)};
}

void ScheduledIo::clear_readiness(ReadyEvent ev) {
  // Only the closed bits are final (as in Tokio). kError is cleared too: EPOLLERR is transient
  // on datagram sockets (an ICMP error is consumed by the next recv), and a sticky error bit
  // would make every later wait return at once.
  uint64_t clear = ev.ready & (kReadable | kWritable | kError);
  uint64_t cur = state_.load(std::memory_order_acquire);
  while (static_cast<uint32_t>(cur >> kTickShift) == ev.tick) {
    if (state_.compare_exchange_weak(cur, cur & ~clear, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      return;
    }
  }
  // A newer event arrived after `ev` was read: keep the readiness it reported.
}

void ScheduledIo::set_readiness(uint32_t bits) {
  // acquire: pairs with the release in Reactor::add, so the driver thread, which finds this
  // object through epoll (a hand-off no memory model sees), sees it fully constructed.
  uint64_t cur = state_.load(std::memory_order_acquire);
  for (;;) {
    uint64_t tick = (cur >> kTickShift) + 1;
    uint64_t next = (tick << kTickShift) | ((cur | bits) & 0xff);
    if (state_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                     std::memory_order_relaxed)) {
      break;
    }
  }
  // Wake outside the lock, one waiter at a time: the scan that takes a waiter also says whether
  // another one matches, so the usual single waiter costs one pass and no list of wakers. A
  // waiter that registers between two passes either sees the bits set above and does not
  // suspend, or (having consumed them since) may be woken once for nothing: readiness waiters
  // retry their operation, and wait again on EAGAIN.
  for (;;) {
    Waker waker;
    bool took = false, more = false;
    {
      std::lock_guard<weft::sync::SpinLock> lock(mu_);
      for (ReadinessAwaiter* w = waiters_; w != nullptr;) {
        ReadinessAwaiter* next = w->next_;
        if (bits & mask_for(w->interest_)) {
          if (took) {
            more = true;
            break;
          }
          took = true;
          unlink(w);
          waker = std::move(w->waker_);
        }
        w = next;
      }
    }
    if (waker) std::move(waker).wake();
    if (!more) break;
  }
}

// ---- Reactor ----

Reactor::Reactor() {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) {
    init_ = errno_status("epoll_create1");
    return;
  }
  eventfd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (eventfd_ < 0) {
    init_ = errno_status("eventfd");
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.ptr = nullptr;  // marks the wake-up eventfd
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, eventfd_, &ev) != 0) init_ = errno_status("epoll_ctl");
}

Reactor::~Reactor() {
  free_released();
  if (eventfd_ >= 0) ::close(eventfd_);
  if (epfd_ >= 0) ::close(epfd_);
}

absl::StatusOr<ScheduledIo*> Reactor::add(int fd) {
  auto* io = new ScheduledIo(fd);
  // Publish the new object before epoll can hand it to the driver thread (see set_readiness).
  io->state_.store(io->state_.load(std::memory_order_relaxed), std::memory_order_release);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = io;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    absl::Status st = errno_status("epoll_ctl(ADD)");
    delete io;
    return st;
  }
  live_.fetch_add(1, std::memory_order_relaxed);
  return io;
}

void Reactor::remove(ScheduledIo* io) {
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, io->fd_, nullptr);  // fails harmlessly if fd already closed
  live_.fetch_sub(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(release_mu_);
  io->release_next_ = release_head_;
  release_head_ = io;
}

void Reactor::free_released() {
  ScheduledIo* head;
  {
    std::lock_guard<std::mutex> lock(release_mu_);
    head = release_head_;
    release_head_ = nullptr;
  }
  while (head != nullptr) {
    ScheduledIo* next = head->release_next_;
    delete head;
    head = next;
  }
}

int Reactor::wait(epoll_event* events, int64_t timeout_ns) {
  if (timeout_ns > 0 && !pwait2_missing_) {
    // epoll_pwait2 (Linux 5.11) takes a timespec: timers wake on time, not on the next whole
    // millisecond.
    timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000),
                static_cast<long>(timeout_ns % 1'000'000'000)};
    int n = ::epoll_pwait2(epfd_, events, kMaxEvents, &ts, nullptr);
    if (n >= 0 || (errno != ENOSYS && errno != EPERM)) return n;
    pwait2_missing_ = true;
  }
  // Without epoll_pwait2 a timed wait rounds up to the next millisecond (never early).
  int ms = timeout_ns < 0
               ? -1
               : static_cast<int>(std::min<int64_t>((timeout_ns + 999'999) / 1'000'000, 3'600'000));
  return ::epoll_wait(epfd_, events, kMaxEvents, ms);
}

void Reactor::turn(int64_t timeout_ns, std::atomic<int>* park_state, int awake) {
  // Events of the previous turn have all been dispatched: deregistered entries are safe to free.
  free_released();
  epoll_event events[kMaxEvents];
  int n = wait(events, timeout_ns);
  // Awake again before dispatching: wakes caused by the dispatch need no eventfd write.
  if (park_state != nullptr) park_state->store(awake, std::memory_order_release);
  for (int i = 0; i < n; ++i) {
    auto* io = static_cast<ScheduledIo*>(events[i].data.ptr);
    if (io == nullptr) {
      uint64_t v;
      (void)!::read(eventfd_, &v, sizeof v);  // one read resets the counter
      continue;
    }
    uint32_t e = events[i].events;
    uint32_t bits = 0;
    if (e & EPOLLIN) bits |= kReadable;
    if (e & EPOLLOUT) bits |= kWritable;
    if (e & (EPOLLRDHUP | EPOLLHUP)) bits |= kReadClosed;
    if (e & EPOLLHUP) bits |= kWriteClosed;
    if (e & EPOLLERR) bits |= kError;
    io->set_readiness(bits);
  }
}

void Reactor::wake() {
  uint64_t one = 1;
  ssize_t r = ::write(eventfd_, &one, sizeof one);
  (void)r;  // EAGAIN: the counter is already non-zero, a wake-up is pending anyway
}

// ---- Registration ----

absl::StatusOr<Registration> Registration::create(Reactor& reactor, int fd) {
  absl::StatusOr<ScheduledIo*> io = reactor.add(fd);
  if (!io.ok()) return io.status();
  Registration r;
  r.reactor_ = &reactor;
  r.io_ = *io;
  return r;
}

absl::StatusOr<Registration> Registration::create_current(int fd) {
  detail::Scheduler* s = detail::tls_context.scheduler;
  if (s == nullptr) return absl::FailedPreconditionError("no weft runtime on this thread");
  return create(s->driver().reactor(), fd);
}

Registration::Registration(Registration&& o) noexcept
    : reactor_(std::exchange(o.reactor_, nullptr)), io_(std::exchange(o.io_, nullptr)) {}

Registration& Registration::operator=(Registration&& o) noexcept {
  if (this != &o) {
    reset();
    reactor_ = std::exchange(o.reactor_, nullptr);
    io_ = std::exchange(o.io_, nullptr);
  }
  return *this;
}

void Registration::reset() {
  if (io_ != nullptr) reactor_->remove(std::exchange(io_, nullptr));
}

}  // namespace weft::reactor
