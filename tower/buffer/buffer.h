// buffer: many callers share one service through a worker task that owns it, behind a bounded
// weft::sync::mpsc channel (tower's Buffer).
//
//   // Inside a runtime: the worker task is spawned when the service is built.
//   auto svc = weft::tower::ServiceBuilder()
//                  .layer(weft::tower::BufferLayer<Request>(64))
//                  .service(std::move(not_thread_safe_client));
//   absl::StatusOr<weft::tower::permit_t<decltype(svc)>> p = co_await svc.ready();  // a slot
//   absl::StatusOr<Response> r = co_await svc.call(std::move(*p), req);
//
// * The worker is spawned at construction, on the current runtime (or on the Handle given to
//   Buffer's constructor / BufferLayer::layer): build the service inside a runtime. It runs until
//   every copy of the Buffer is gone (copies share one worker and one queue), or until the inner
//   service fails.
// * ready() reserves one of `capacity` queue slots (a weft::sync::Semaphore, FIFO), pending while
//   all are taken; the permit carries the slot into call(), which sends {request, oneshot for
//   the response, slot} into the channel. The slot frees when the worker takes the request off
//   the queue (as tower's), or at once when the permit is dropped unused. The mpsc channel has
//   the same capacity and a slot is only released after the channel's own, so the send in
//   call() never waits.
// * The worker serves one request at a time: inner.ready(), inner.call(), await the response,
//   send it back. So the inner service is never used by two tasks at once and need not be
//   thread-safe (nor its ready()/call() const-safe across threads); responses come back in the
//   order requests were queued. Requests whose caller already gave up are skipped.
// * Errors: when the inner ready() fails, that error goes to the waiting request, to everything
//   still queued, and to every later ready()/call(); the worker stops. When the worker is gone
//   for another reason (its frame ended or was destroyed), callers get UNAVAILABLE "buffer
//   worker closed". (Not verified: whether a runtime's shutdown destroys the idle worker's frame;
//   a test of that path found the worker still answering ready(), so it was left out.)
//   Errors from the inner call() go to that caller only.
// * Req and the response type must be movable. A caller that is cancelled after call() sent its
//   request does not un-send it: the worker still runs it (the response is dropped).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/sync/mpsc.h"
#include "weft/runtime/sync/oneshot.h"
#include "weft/runtime/sync/semaphore.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower {

namespace detail {

// What the worker and all copies of the Buffer share: the queue slots and the terminal error.
struct BufferShared {
  explicit BufferShared(std::size_t capacity)
      : slots(std::make_shared<weft::sync::Semaphore>(capacity)) {}

  // The error callers get: OK while the worker runs.
  absl::Status error() const {
    std::lock_guard<std::mutex> lock(mu);
    return err;
  }
  // The error once the worker is known to be gone (or going).
  absl::Status closed_error() const {
    std::lock_guard<std::mutex> lock(mu);
    return err.ok() ? absl::UnavailableError("buffer worker closed") : err;
  }
  // The first error sticks; waiters in ready() are woken.
  void fail(absl::Status s) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (err.ok()) err = std::move(s);
    }
    slots->close();
  }

  std::shared_ptr<weft::sync::Semaphore> slots;
  mutable std::mutex mu;
  absl::Status err;  // guarded by mu
};

}  // namespace detail

template <class Req, class S>
requires Service<S, Req>
class Buffer {
 public:
  using Response = response_t<S, Req>;

  // One reserved queue slot; dropping it unused gives the slot back.
  struct Permit {
    weft::sync::OwnedSemaphorePermit slot;
  };

  // Spawns the worker on `rt` (default: the current runtime; throws std::logic_error outside
  // one). capacity >= 1 (std::invalid_argument otherwise, from the channel).
  Buffer(S inner, std::size_t capacity, Handle rt = Handle::current())
      : shared_(std::make_shared<detail::BufferShared>(capacity)) {
    auto [tx, rx] = weft::sync::mpsc::channel<Message>(capacity);
    tx_ = std::move(tx);
    rt.spawn(worker(std::move(inner), std::move(rx), shared_));  // detached
  }

  // Waits for a free queue slot. The worker's error (or UNAVAILABLE "buffer worker closed")
  // once it is gone.
  Task<absl::StatusOr<Permit>> ready() const {
    if (absl::Status e = shared_->error(); !e.ok()) co_return e;
    absl::StatusOr<weft::sync::SemaphorePermit> slot = co_await shared_->slots->acquire();
    if (!slot.ok()) co_return shared_->closed_error();
    co_return Permit{weft::sync::OwnedSemaphorePermit(shared_->slots, *std::move(slot))};
  }

  // Queues the request and waits for the worker's answer.
  Task<absl::StatusOr<Response>> call(Permit permit, Req req) const {
    return run(&tx_, shared_, std::move(permit), std::move(req));
  }

  // Queue slots free right now.
  std::size_t available() const { return shared_->slots->available_permits(); }

 private:
  struct Message {
    Req req;
    weft::sync::oneshot::Sender<absl::StatusOr<Response>> reply;
    weft::sync::OwnedSemaphorePermit slot;
  };

  static Task<absl::StatusOr<Response>> run(weft::sync::mpsc::Sender<Message>* tx,
                                            std::shared_ptr<detail::BufferShared> shared,
                                            Permit permit, Req req) {
    // Named locals, no structured binding or temporaries across co_await (gcc 12 coroutines).
    std::pair<weft::sync::oneshot::Sender<absl::StatusOr<Response>>,
              weft::sync::oneshot::Receiver<absl::StatusOr<Response>>>
        reply = weft::sync::oneshot::channel<absl::StatusOr<Response>>();
    weft::sync::oneshot::Receiver<absl::StatusOr<Response>> reply_rx = std::move(reply.second);
    Message msg{std::move(req), std::move(reply.first), std::move(permit.slot)};
    absl::Status sent = co_await tx->send(std::move(msg));
    if (!sent.ok()) co_return shared->closed_error();
    absl::StatusOr<absl::StatusOr<Response>> r = co_await reply_rx;
    if (!r.ok()) co_return shared->closed_error();  // dropped unanswered: the worker is gone
    co_return *std::move(r);
  }

  // Marks the worker gone however its frame ends (finished, failed, destroyed at shutdown).
  struct WorkerGuard {
    explicit WorkerGuard(std::shared_ptr<detail::BufferShared> s) : shared(std::move(s)) {}
    WorkerGuard(const WorkerGuard&) = delete;
    WorkerGuard& operator=(const WorkerGuard&) = delete;
    ~WorkerGuard() { shared->fail(absl::UnavailableError("buffer worker closed")); }
    std::shared_ptr<detail::BufferShared> shared;
  };

  static Task<void> worker(S inner, weft::sync::mpsc::Receiver<Message> rx,
                           std::shared_ptr<detail::BufferShared> shared) {
    WorkerGuard guard{shared};
    for (;;) {
      std::optional<Message> m = co_await rx.recv();
      if (!m.has_value()) co_return;  // every Buffer is gone
      { weft::sync::OwnedSemaphorePermit off_the_queue = std::move(m->slot); }  // slot frees
      if (m->reply.is_closed()) continue;  // the caller gave up
      absl::StatusOr<permit_t<S>> p = co_await inner.ready();
      if (!p.ok()) {
        absl::Status err = std::move(p).status();
        shared->fail(err);
        rx.close();
        (void)m->reply.send(err);
        while (std::optional<Message> rest = co_await rx.recv()) (void)rest->reply.send(err);
        co_return;
      }
      absl::StatusOr<Response> r = co_await inner.call(*std::move(p), std::move(m->req));
      (void)m->reply.send(std::move(r));
    }
  }

  mutable weft::sync::mpsc::Sender<Message> tx_;
  std::shared_ptr<detail::BufferShared> shared_;
};

// Buffers requests of type Req (the channel carries one request type).
template <class Req>
class BufferLayer {
 public:
  explicit BufferLayer(std::size_t capacity) : capacity_(capacity) {}
  // Spawns the worker on `rt` (default: the current runtime). Each service built gets its own
  // worker and queue.
  template <class S>
  Buffer<Req, S> layer(S inner, Handle rt = Handle::current()) const {
    return Buffer<Req, S>(std::move(inner), capacity_, rt);
  }

 private:
  std::size_t capacity_;
};

template <class Req, class S>
Buffer<Req, S> buffer(S inner, std::size_t capacity, Handle rt = Handle::current()) {
  return Buffer<Req, S>(std::move(inner), capacity, rt);
}

}  // namespace weft::tower

WEFT_TOWER_CORO_END
