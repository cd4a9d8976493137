// One HTTP/1.1 server connection: reads requests, calls the service, writes responses, until
// the peer closes, an error, a timeout or the server's shutdown ends it. Private to http/.
//
//   h1::ConnControl ctl;                          // registered with the server (timeouts)
//   co_await h1::serve_connection(std::move(stream), svc, ctl, config);
//
// ConnControl is how the server reaches a connection from outside its task (a timer scan and
// shutdown run elsewhere). Its phase word is the only shared state:
//   kIdle   waiting for a next request, nothing buffered  (keep_alive_timeout applies)
//   kHead   part of a request head received, or just accepted (header_read_timeout applies)
//   kBusy   a request is being served (no server timeout)
//   kTimedOut / kClosing   final, set by the server with a CAS from kIdle or kHead, then it
//           shuts the socket's read side down so the pending read returns at once; the
//           connection answers 408 (kTimedOut in kHead) or just closes.
// The connection moves between the first three with a CAS too, so it can never miss a final
// state; `since_ms` is stored before the phase (release), so whoever sees a phase sees its
// start time.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "weft/http/proto/h1/parser.h"
#include "weft/http/server.h"
#include "weft/runtime/net/tcp_stream.h"
#include "weft/runtime/task/join_handle.h"
#include "weft/runtime/task/task.h"

namespace weft::http::proto::h1 {

// Milliseconds on a coarse monotonic clock (a few ns to read; ~4 ms resolution is plenty for
// second-scale timeouts).
int64_t coarse_now_ms();

class ConnRegistry;

struct ConnControl {
  enum Phase : uint8_t { kIdle, kHead, kBusy, kTimedOut, kClosing };

  // Registry links and the task's handle (for cancelling at the shutdown deadline); guarded by
  // the registry's mutex.
  ConnRegistry* registry = nullptr;
  ConnControl* prev = nullptr;
  ConnControl* next = nullptr;
  JoinHandle<void> task;

  std::atomic<uint8_t> phase{kHead};
  std::atomic<int64_t> since_ms{0};
  int fd = -1;

  // The connection's own moves between kIdle, kHead and kBusy. False once final. Staying in
  // a phase keeps its start time: a head that trickles in byte by byte still has
  // header_read_timeout from its first byte (or the accept) to be complete.
  bool enter(Phase p) {
    uint8_t cur = phase.load(std::memory_order_relaxed);
    if (cur == p) return true;
    if (p != kBusy) since_ms.store(coarse_now_ms(), std::memory_order_relaxed);
    while (cur < kTimedOut) {
      if (phase.compare_exchange_weak(cur, p, std::memory_order_seq_cst)) return true;
    }
    return false;
  }
  // The server's move to a final state, allowed only from `from` (kIdle or kHead).
  bool finish(Phase from, Phase to) {
    uint8_t cur = from;
    if (!phase.compare_exchange_strong(cur, to, std::memory_order_seq_cst)) return false;
    ::shutdown(fd, SHUT_RD);  // wakes the connection's pending read with EOF
    return true;
  }
};

// The live connections of one server, for the timeout scan and shutdown. A connection removes
// itself (serve_connection does, before its socket can close), so a registered ConnControl's
// fd is always open: calls on it under the mutex never reach a reused descriptor.
class ConnRegistry {
 public:
  void add(ConnControl* c) {
    std::lock_guard<std::mutex> lock(mu_);
    c->registry = this;
    c->next = head_;
    if (head_ != nullptr) head_->prev = c;
    head_ = c;
  }
  void remove(ConnControl* c) {
    JoinHandle<void> drop;
    std::lock_guard<std::mutex> lock(mu_);
    if (c->registry != this) return;
    c->registry = nullptr;
    if (c->prev != nullptr)
      c->prev->next = c->next;
    else
      head_ = c->next;
    if (c->next != nullptr) c->next->prev = c->prev;
    c->prev = c->next = nullptr;
    drop = std::move(c->task);
  }
  // Stores the task handle if `c` is still registered (it may have finished already).
  void set_task(ConnControl* c, JoinHandle<void> h) {
    std::lock_guard<std::mutex> lock(mu_);
    if (c->registry == this) c->task = std::move(h);
  }
  // f(ConnControl&) for each, under the mutex (f must not reenter the registry).
  template <class F>
  void for_each(F f) {
    std::lock_guard<std::mutex> lock(mu_);
    for (ConnControl* c = head_; c != nullptr; c = c->next) f(*c);
  }
  // Takes every task handle out (to abort them outside the lock).
  std::vector<JoinHandle<void>> take_tasks() {
    std::vector<JoinHandle<void>> out;
    std::lock_guard<std::mutex> lock(mu_);
    for (ConnControl* c = head_; c != nullptr; c = c->next) out.push_back(std::move(c->task));
    return out;
  }

 private:
  std::mutex mu_;
  ConnControl* head_ = nullptr;
};

struct ConnConfig {
  Limits limits;
  const std::atomic<bool>* draining = nullptr;  // the server is shutting down
};

Task<void> serve_connection(net::TcpStream stream, const http::detail::ErasedService& svc,
                            ConnControl& ctl, const ConnConfig& cfg);

}  // namespace weft::http::proto::h1
