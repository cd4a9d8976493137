#include "weft/runtime/io/duplex.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "absl/container/inlined_vector.h"
#include "weft/runtime/task/coop.h"

namespace weft::io {

namespace detail {

// Wakers taken out of a waiter list under the lock, woken after it is released (a wake may
// schedule the task on another worker, which is no work to do under our mutex).
using WakeBatch = absl::InlinedVector<Waker, 2>;

// One direction. Invariants (all fields guarded by mu):
//   * 0 <= len <= max; the bytes are buf[head .. head+len) modulo cap (cap grows up to max).
//   * A waiter is linked in `readers` only while no byte is buffered and the write side is open;
//     in `writers` only while the buffer is full and both sides are open. Every change that
//     breaks that condition wakes (and unlinks) the whole list, so no waiter sleeps through it.
//   * Only the reader removes bytes and only the writer adds them, so readiness seen by an
//     awaiter stays true until that awaiter acts on it (even across a coop yield).
struct DuplexPipe {
  std::mutex mu;
  std::unique_ptr<char[]> buf;
  std::size_t cap = 0;
  std::size_t head = 0;
  std::size_t len = 0;
  std::size_t max = 1;
  bool write_closed = false;  // the writer shut down or was dropped: EOF after draining
  bool read_closed = false;   // the reader was dropped: writes fail
  DuplexWaiter* readers = nullptr;
  DuplexWaiter* writers = nullptr;

  static void link(DuplexWaiter*& list, DuplexWaiter* w) {
    w->prev = nullptr;
    w->next = list;
    if (list != nullptr) list->prev = w;
    list = w;
    w->linked = true;
  }
  static void unlink(DuplexWaiter*& list, DuplexWaiter* w) {
    if (w->prev != nullptr) {
      w->prev->next = w->next;
    } else {
      list = w->next;
    }
    if (w->next != nullptr) w->next->prev = w->prev;
    w->prev = w->next = nullptr;
    w->linked = false;
  }
  static void take_all(DuplexWaiter*& list, WakeBatch& out) {
    while (list != nullptr) {
      DuplexWaiter* w = list;
      unlink(list, w);
      out.push_back(std::move(w->waker));
    }
  }

  bool read_ready() const { return len > 0 || write_closed; }
  bool write_ready() const { return len < max || read_closed || write_closed; }

  // Copies out up to n bytes; the caller checked read_ready().
  std::size_t take(char* dst, std::size_t n, WakeBatch& wake) {
    n = std::min(n, len);
    if (n == 0) return 0;  // drained and closed: EOF
    std::size_t first = std::min(n, cap - head);
    std::memcpy(dst, buf.get() + head, first);
    std::memcpy(dst + first, buf.get(), n - first);
    head = (head + n) % cap;
    len -= n;
    if (len == 0) head = 0;
    take_all(writers, wake);
    return n;
  }

  // Makes room for `want` more bytes if the capacity may still grow (up to max).
  void reserve(std::size_t want) {
    std::size_t need = std::min(max, len + want);
    if (need <= cap) return;
    std::size_t ncap = std::min(max, std::max({need, cap * 2, std::size_t{64}}));
    std::unique_ptr<char[]> nbuf(new char[ncap]);
    std::size_t first = std::min(len, cap - head);
    if (len > 0) {
      std::memcpy(nbuf.get(), buf.get() + head, first);
      std::memcpy(nbuf.get() + first, buf.get(), len - first);
    }
    buf = std::move(nbuf);
    cap = ncap;
    head = 0;
  }

  // Appends up to n bytes; returns how many fit.
  std::size_t put(const char* src, std::size_t n) {
    reserve(n);
    n = std::min(n, cap - len);
    if (n == 0) return 0;
    std::size_t tail = (head + len) % cap;
    std::size_t first = std::min(n, cap - tail);
    std::memcpy(buf.get() + tail, src, first);
    std::memcpy(buf.get(), src + first, n - first);
    len += n;
    return n;
  }

  void close_write(WakeBatch& wake) {
    write_closed = true;
    take_all(readers, wake);
    take_all(writers, wake);  // a blocked write of our own side fails now
  }
  void close_read(WakeBatch& wake) {
    read_closed = true;
    take_all(writers, wake);
  }
};

struct DuplexShared {
  DuplexPipe pipes[2];
};

namespace {
void wake_all(WakeBatch& batch) {
  for (Waker& w : batch) std::move(w).wake();
}
}  // namespace

}  // namespace detail

using detail::DuplexPipe;
using detail::WakeBatch;

namespace {

absl::Status broken_pipe() {
  return absl::ErrnoToStatus(EPIPE, "duplex: the other end was dropped");
}
absl::Status write_after_shutdown() {
  return absl::ErrnoToStatus(EPIPE, "duplex: write after shutdown_write");
}

}  // namespace

std::pair<DuplexStream, DuplexStream> duplex(std::size_t max_buf_size) {
  auto shared = std::make_shared<detail::DuplexShared>();
  for (DuplexPipe& p : shared->pipes) p.max = std::max<std::size_t>(max_buf_size, 1);
  return {DuplexStream(shared, 0), DuplexStream(shared, 1)};
}

// ---- DuplexIo -------------------------------------------------------------------------------

namespace {

// Is the operation ready to complete (under the pipe's lock)?
bool ready_locked(const DuplexPipe& p, DuplexIo::Kind kind, std::size_t n) {
  if (n == 0) return true;  // empty buffers complete at once
  return kind == DuplexIo::Kind::kRead ? p.read_ready() : p.write_ready();
}

std::size_t iov_total(const iovec* iov, std::size_t cnt) {
  std::size_t t = 0;
  for (std::size_t i = 0; i < cnt; ++i) t += iov[i].iov_len;
  return t;
}

}  // namespace

namespace {
// Performs a ready operation (under the pipe's lock).
absl::StatusOr<std::size_t> perform_locked(DuplexPipe& p, DuplexIo::Kind kind, char* rd,
                                           const char* wr, std::size_t n, const iovec* iov,
                                           std::size_t iovcnt, WakeBatch& wake) {
  if (kind == DuplexIo::Kind::kRead) {
    if (n == 0) return 0;
    return p.take(rd, n, wake);  // 0 when write_closed and drained: EOF
  }
  if (p.write_closed) return write_after_shutdown();
  if (p.read_closed) return broken_pipe();
  std::size_t done = 0;
  if (kind == DuplexIo::Kind::kWrite) {
    done = n == 0 ? 0 : p.put(wr, n);
  } else {
    for (std::size_t i = 0; i < iovcnt && p.len < p.max; ++i) {
      const iovec& v = iov[i];
      if (v.iov_len == 0) continue;
      std::size_t put = p.put(static_cast<const char*>(v.iov_base), v.iov_len);
      done += put;
      if (put < v.iov_len) break;
    }
  }
  if (done > 0) DuplexPipe::take_all(p.readers, wake);
  return done;
}
}  // namespace

DuplexIo::~DuplexIo() {
  if (!waiting_) return;
  Waker drop;
  {
    std::lock_guard<std::mutex> lock(pipe_->mu);
    if (linked) {
      DuplexPipe::unlink(kind_ == Kind::kRead ? pipe_->readers : pipe_->writers, this);
    }
    drop = std::move(waker);  // released outside the lock
  }
}

bool DuplexIo::await_ready() {
  if (pipe_ == nullptr) {
    result_.emplace(absl::FailedPreconditionError("duplex: empty (moved-from) stream"));
    return true;
  }
  if (kind_ == Kind::kWritev) n_ = iov_total(iov_, iovcnt_);
  if (coop::exhausted()) return false;  // await_suspend chooses between yielding and waiting
  WakeBatch wake;
  {
    std::lock_guard<std::mutex> lock(pipe_->mu);
    if (!ready_locked(*pipe_, kind_, n_)) return false;
    result_.emplace(perform_locked(*pipe_, kind_, rd_, wr_, n_, iov_, iovcnt_, wake));
  }
  detail::wake_all(wake);
  coop::try_consume();
  return true;
}

bool DuplexIo::await_suspend(std::coroutine_handle<> h) {
  {
    std::lock_guard<std::mutex> lock(pipe_->mu);
    if (!ready_locked(*pipe_, kind_, n_)) {
      waker = Waker::current(h);
      DuplexPipe::link(kind_ == Kind::kRead ? pipe_->readers : pipe_->writers, this);
      waiting_ = true;
      return true;
    }
  }
  // Ready, but only the budget stopped the fast path. Readiness persists (see DuplexPipe), so
  // the operation itself happens in await_resume; a task cancelled while it yields has done
  // nothing.
  if (coop::try_consume()) return false;
  coop::yield_current(h);
  return true;
}

absl::StatusOr<std::size_t> DuplexIo::await_resume() {
  if (result_.has_value()) return std::move(*result_);
  WakeBatch wake;
  Waker drop;
  absl::StatusOr<std::size_t> r;
  {
    std::lock_guard<std::mutex> lock(pipe_->mu);
    if (waiting_ && linked) {
      DuplexPipe::unlink(kind_ == Kind::kRead ? pipe_->readers : pipe_->writers, this);
    }
    waiting_ = false;
    drop = std::move(waker);
    if (ready_locked(*pipe_, kind_, n_)) {
      r = perform_locked(*pipe_, kind_, rd_, wr_, n_, iov_, iovcnt_, wake);
    } else {
      // Only possible when two tasks use the same end in the same direction at once.
      r = absl::FailedPreconditionError(
          "duplex: concurrent reads (or writes) on one end of a duplex stream");
    }
  }
  detail::wake_all(wake);
  return r;
}

// ---- DuplexStream ---------------------------------------------------------------------------

DuplexStream& DuplexStream::operator=(DuplexStream&& o) noexcept {
  if (this != &o) {
    close();
    shared_ = std::move(o.shared_);
    side_ = o.side_;
  }
  return *this;
}

DuplexPipe* DuplexStream::read_pipe() const {
  return shared_ == nullptr ? nullptr : &shared_->pipes[1 - side_];
}
DuplexPipe* DuplexStream::write_pipe() const {
  return shared_ == nullptr ? nullptr : &shared_->pipes[side_];
}

DuplexIo DuplexStream::read(std::span<char> buf) {
  return DuplexIo(shared_, read_pipe(), DuplexIo::Kind::kRead, buf.data(), nullptr, buf.size(),
                  nullptr, 0);
}

DuplexIo DuplexStream::write(std::span<const char> buf) {
  return DuplexIo(shared_, write_pipe(), DuplexIo::Kind::kWrite, nullptr, buf.data(), buf.size(),
                  nullptr, 0);
}

DuplexIo DuplexStream::writev(std::span<const iovec> iov) {
  return DuplexIo(shared_, write_pipe(), DuplexIo::Kind::kWritev, nullptr, nullptr, 0, iov.data(),
                  iov.size());
}

ReadyStatus DuplexStream::shutdown_write() {
  if (shared_ == nullptr) return {absl::FailedPreconditionError("duplex: empty stream")};
  WakeBatch wake;
  {
    DuplexPipe* p = write_pipe();
    std::lock_guard<std::mutex> lock(p->mu);
    p->close_write(wake);
  }
  detail::wake_all(wake);
  return {absl::OkStatus()};
}

std::size_t DuplexStream::readable_bytes() const {
  if (shared_ == nullptr) return 0;
  DuplexPipe* p = read_pipe();
  std::lock_guard<std::mutex> lock(p->mu);
  return p->len;
}

std::size_t DuplexStream::write_buffered_bytes() const {
  if (shared_ == nullptr) return 0;
  DuplexPipe* p = write_pipe();
  std::lock_guard<std::mutex> lock(p->mu);
  return p->len;
}

std::size_t DuplexStream::waiter_count() const {
  if (shared_ == nullptr) return 0;
  std::size_t n = 0;
  for (DuplexPipe& p : shared_->pipes) {
    std::lock_guard<std::mutex> lock(p.mu);
    for (auto* w = p.readers; w != nullptr; w = w->next) ++n;
    for (auto* w = p.writers; w != nullptr; w = w->next) ++n;
  }
  return n;
}

void DuplexStream::close() {
  if (shared_ == nullptr) return;
  WakeBatch wake;
  {
    DuplexPipe* p = write_pipe();
    std::lock_guard<std::mutex> lock(p->mu);
    p->close_write(wake);
  }
  {
    DuplexPipe* p = read_pipe();
    std::lock_guard<std::mutex> lock(p->mu);
    p->close_read(wake);
  }
  shared_.reset();
  detail::wake_all(wake);
}

}  // namespace weft::io
