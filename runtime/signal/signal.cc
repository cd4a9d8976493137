#include "weft/runtime/signal/signal.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace weft::signal {
namespace detail {

// NSIG on Linux is 65: signals 1..64 (real-time ones included).
constexpr int kMaxSignal = 65;

struct Listener {
  int signum = 0;
  uint64_t seen = 0;  // deliveries this listener has consumed (guarded by the hub mutex)
  Waker waiter;       // set while a recv() is suspended
};

// Process-wide state. Never destroyed: the handler and the dispatcher thread may run until
// the process exits.
struct Hub {
  std::atomic<uint64_t> delivered[kMaxSignal] = {};  // bumped by the handler
  std::atomic<bool> installed[kMaxSignal] = {};
  int pipe_read = -1;
  std::atomic<int> pipe_write{-1};
  std::mutex mu;  // guards listeners and the Listener fields
  std::vector<Listener*> listeners;
  std::once_flag started;
  absl::Status start_status;

  void dispatch() {
    char buf[64];
    for (;;) {
      ssize_t n = ::read(pipe_read, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      std::vector<Waker> wake;
      {
        std::lock_guard<std::mutex> lock(mu);
        for (Listener* l : listeners) {
          if (l->waiter && l->seen < delivered[l->signum].load(std::memory_order_acquire)) {
            wake.push_back(std::move(l->waiter));
          }
        }
      }
      for (Waker& w : wake) std::move(w).wake();
    }
  }
};

Hub& hub() {
  static Hub* h = new Hub();  // intentionally leaked, see above
  return *h;
}

extern "C" void on_signal(int signum) {
  int saved = errno;  // the handler must not disturb the interrupted code's errno
  Hub& h = hub();
  h.delivered[signum].fetch_add(1, std::memory_order_release);
  char c = static_cast<char>(signum);
  int fd = h.pipe_write.load(std::memory_order_relaxed);
  if (fd >= 0) (void)!::write(fd, &c, 1);  // full pipe: a wake-up is pending anyway
  errno = saved;
}

absl::Status ensure_started() {
  Hub& h = hub();
  std::call_once(h.started, [&h] {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      h.start_status = absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
      return;
    }
    ::fcntl(fds[1], F_SETFL, O_NONBLOCK);  // the handler must never block
    h.pipe_read = fds[0];
    h.pipe_write.store(fds[1]);
    std::thread([&h] { h.dispatch(); }).detach();
  });
  return h.start_status;
}

absl::Status install(int signum) {
  Hub& h = hub();
  std::lock_guard<std::mutex> lock(h.mu);
  if (h.installed[signum].load()) return absl::OkStatus();
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (::sigaction(signum, &sa, nullptr) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot handle signal ", signum, ": ", std::strerror(errno)));
  }
  h.installed[signum].store(true);
  return absl::OkStatus();
}

}  // namespace detail

absl::StatusOr<Signal> Signal::create(int signum) {
  if (signum <= 0 || signum >= detail::kMaxSignal || signum == SIGKILL || signum == SIGSTOP) {
    return absl::InvalidArgumentError(absl::StrCat("signal ", signum, " cannot be handled"));
  }
  if (absl::Status st = detail::ensure_started(); !st.ok()) return st;
  if (absl::Status st = detail::install(signum); !st.ok()) return st;
  auto l = std::make_unique<detail::Listener>();
  l->signum = signum;
  detail::Hub& h = detail::hub();
  std::lock_guard<std::mutex> lock(h.mu);
  l->seen = h.delivered[signum].load(std::memory_order_acquire);  // only later deliveries count
  h.listeners.push_back(l.get());
  return Signal(std::move(l));
}

Signal::Signal(std::unique_ptr<detail::Listener> l) : listener_(std::move(l)) {}
Signal::Signal(Signal&&) noexcept = default;
Signal& Signal::operator=(Signal&& o) noexcept {
  Signal old(std::move(*this));  // unregisters the current listener when it goes out of scope
  listener_ = std::move(o.listener_);
  return *this;
}

Signal::~Signal() {
  if (!listener_) return;
  detail::Hub& h = detail::hub();
  std::lock_guard<std::mutex> lock(h.mu);
  std::erase(h.listeners, listener_.get());
}

int Signal::signum() const { return listener_->signum; }

bool Signal::RecvAwaiter::await_ready() {
  detail::Hub& h = detail::hub();
  std::lock_guard<std::mutex> lock(h.mu);
  uint64_t d = h.delivered[l_->signum].load(std::memory_order_acquire);
  if (l_->seen < d) {
    l_->seen = d;
    return true;
  }
  return false;
}

bool Signal::RecvAwaiter::await_suspend(std::coroutine_handle<> h) {
  detail::Hub& hub = detail::hub();
  std::lock_guard<std::mutex> lock(hub.mu);
  if (l_->seen < hub.delivered[l_->signum].load(std::memory_order_acquire)) return false;
  l_->waiter = Waker::current(h);
  registered_ = true;
  return true;
}

bool Signal::RecvAwaiter::await_resume() {
  detail::Hub& h = detail::hub();
  std::lock_guard<std::mutex> lock(h.mu);
  registered_ = false;
  l_->waiter = Waker();
  l_->seen = h.delivered[l_->signum].load(std::memory_order_acquire);
  return true;
}

Signal::RecvAwaiter::~RecvAwaiter() {
  if (!registered_) return;
  detail::Hub& h = detail::hub();
  std::lock_guard<std::mutex> lock(h.mu);
  l_->waiter = Waker();
}

Task<absl::Status> ctrl_c() {
  absl::StatusOr<Signal> sig = Signal::create(SIGINT);
  if (!sig.ok()) co_return sig.status();
  co_await sig->recv();
  co_return absl::OkStatus();
}

}  // namespace weft::signal
