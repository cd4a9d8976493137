#include "weft/http/server.h"

#include <algorithm>
#include <optional>

#include "weft/http/proto/h1/server_conn.h"
#include "weft/runtime/sync/notify.h"
#include "weft/runtime/sync/semaphore.h"
#include "weft/runtime/time/sleep.h"
#include "weft/runtime/time/timeout.h"

namespace weft::http::detail {

namespace h1 = proto::h1;

struct ServerState {
  ServerOptions opts;
  std::shared_ptr<const ErasedService> svc;
  h1::ConnConfig conn_cfg;
  std::atomic<bool> draining{false};
  std::atomic<bool> shutdown_called{false};
  net::SocketAddr addr;
  std::optional<net::TcpListener> listener;  // the first one, bound by bind()
  h1::ConnRegistry registry;
  std::atomic<std::size_t> active{0};
  sync::Notify shutdown_requested;
  sync::Notify drained;
  std::shared_ptr<sync::Semaphore> conn_limit;
  std::mutex error_mu;
  absl::Status error;  // the first accept-loop failure

  void fail(absl::Status st) {
    {
      std::lock_guard<std::mutex> lock(error_mu);
      if (error.ok()) error = std::move(st);
    }
    shutdown_server(*this);
  }
};

namespace {

Task<void> connection_task(std::shared_ptr<ServerState> s, net::TcpStream stream,
                           std::shared_ptr<h1::ConnControl> ctl,
                           sync::OwnedSemaphorePermit permit) {
  struct Done {
    ServerState* s;
    ~Done() {
      if (s->active.fetch_sub(1, std::memory_order_acq_rel) == 1) s->drained.notify_one();
    }
  } done{s.get()};
  Task<void> serve = h1::serve_connection(std::move(stream), *s->svc, *ctl, s->conn_cfg);
  co_await std::move(serve);
}

Task<void> accept_loop(std::shared_ptr<ServerState> s, net::TcpListener listener) {
  for (;;) {
    absl::StatusOr<sync::OwnedSemaphorePermit> permit =
        co_await sync::Semaphore::acquire_owned(s->conn_limit);
    if (!permit.ok()) co_return;
    auto conn = co_await listener.accept();
    if (!conn.ok()) {
      s->fail(conn.status());
      co_return;
    }
    net::TcpStream stream = std::move(conn->first);
    (void)stream.set_nodelay(true);
    auto ctl = std::make_shared<h1::ConnControl>();
    ctl->fd = stream.raw_fd();
    ctl->since_ms.store(h1::coarse_now_ms(), std::memory_order_relaxed);
    s->active.fetch_add(1, std::memory_order_acq_rel);
    s->registry.add(ctl.get());
    JoinHandle<void> h =
        spawn(connection_task(s, std::move(stream), ctl, *std::move(permit)));
    s->registry.set_task(ctl.get(), std::move(h));
  }
}

// Thread-per-core: the listeners after the first bind on their own thread.
Task<void> bind_and_accept(std::shared_ptr<ServerState> s) {
  absl::StatusOr<net::TcpListener> l =
      net::TcpListener::bind(s->addr, net::BindOptions{.reuse_port = true});
  if (!l.ok()) {
    s->fail(l.status());
    co_return;
  }
  Task<void> loop = accept_loop(s, *std::move(l));
  co_await std::move(loop);
}

// Closes connections that stay too long without a request (keep_alive_timeout) or inside a
// request head (header_read_timeout). A scan every quarter of the shorter timeout costs
// nothing per request; a timeout fires within 1.25x its value.
Task<void> reaper(std::shared_ptr<ServerState> s) {
  const int64_t head_ms = s->opts.header_read_timeout.count();
  const int64_t idle_ms = s->opts.keep_alive_timeout.count();
  int64_t shortest = head_ms > 0 ? head_ms : INT64_MAX;
  if (idle_ms > 0) shortest = std::min(shortest, idle_ms);
  if (shortest == INT64_MAX) co_return;
  const auto period = std::chrono::milliseconds(std::clamp<int64_t>(shortest / 4, 5, 1000));
  for (;;) {
    co_await time::sleep(period);
    const int64_t now = h1::coarse_now_ms();
    s->registry.for_each([&](h1::ConnControl& c) {
      uint8_t phase = c.phase.load(std::memory_order_acquire);
      int64_t age = now - c.since_ms.load(std::memory_order_relaxed);
      if (phase == h1::ConnControl::kIdle && idle_ms > 0 && age >= idle_ms) {
        c.finish(h1::ConnControl::kIdle, h1::ConnControl::kClosing);
      } else if (phase == h1::ConnControl::kHead && head_ms > 0 && age >= head_ms) {
        c.finish(h1::ConnControl::kHead, h1::ConnControl::kTimedOut);
      }
    });
  }
}

Task<void> wait_drained(ServerState* s) { co_await s->drained.notified(); }

}  // namespace

absl::StatusOr<std::shared_ptr<ServerState>> bind_server(net::SocketAddr addr,
                                                         std::shared_ptr<const ErasedService> svc,
                                                         const ServerOptions& opts) {
  auto s = std::make_shared<ServerState>();
  s->opts = opts;
  s->svc = std::move(svc);
  s->conn_cfg.limits = h1::Limits{opts.max_head_bytes, opts.max_uri_bytes, opts.max_headers};
  s->conn_cfg.draining = &s->draining;
  s->conn_limit = std::make_shared<sync::Semaphore>(std::max<std::size_t>(1, opts.max_connections));
  absl::StatusOr<net::TcpListener> l = net::TcpListener::bind(
      addr, net::BindOptions{.reuse_port = opts.listener_threads.size() > 1});
  if (!l.ok()) return l.status();
  absl::StatusOr<net::SocketAddr> local = l->local_addr();
  if (!local.ok()) return local.status();
  s->addr = *local;
  s->listener.emplace(*std::move(l));
  return s;
}

net::SocketAddr server_addr(const ServerState& s) { return s.addr; }

void shutdown_server(ServerState& s) {
  if (s.shutdown_called.exchange(true)) return;
  s.draining.store(true, std::memory_order_seq_cst);
  s.shutdown_requested.notify_one();
}

Task<absl::Status> serve_server(std::shared_ptr<ServerState> s) {
  if (!s->listener.has_value()) co_return absl::FailedPreconditionError("serve() called twice");
  // 1. Accept loops (one per thread in thread-per-core mode) and the timeout scan.
  std::vector<JoinHandle<void>> loops;
  loops.push_back(spawn(accept_loop(s, std::move(*s->listener))));
  s->listener.reset();
  for (std::size_t i = 1; i < s->opts.listener_threads.size(); ++i) {
    loops.push_back(s->opts.listener_threads[i].spawn(bind_and_accept(s)));
  }
  JoinHandle<void> scan = spawn(reaper(s));

  // 2. Until shutdown.
  co_await s->shutdown_requested.notified();

  // 3. Stop accepting; close idle connections (and those that have not sent a whole head).
  for (JoinHandle<void>& l : loops) l.abort();
  for (JoinHandle<void>& l : loops) {
    JoinHandle<void> h = std::move(l);
    (void)co_await std::move(h);
  }
  s->registry.for_each([](h1::ConnControl& c) {
    if (!c.finish(h1::ConnControl::kIdle, h1::ConnControl::kClosing)) {
      c.finish(h1::ConnControl::kHead, h1::ConnControl::kClosing);
    }
  });

  // 4. In-flight requests finish, up to the deadline.
  const time::Instant deadline = time::Clock::now() + s->opts.shutdown_timeout;
  while (s->active.load(std::memory_order_acquire) > 0 && time::Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<time::Duration>(deadline - time::Clock::now());
    Task<void> wait = wait_drained(s.get());
    auto bounded = time::timeout(left, std::move(wait));
    (void)co_await std::move(bounded);
  }

  // 5. Cancel what is left, and wait for the cancelled tasks to unwind.
  for (JoinHandle<void>& t : s->registry.take_tasks()) t.abort();
  while (s->active.load(std::memory_order_acquire) > 0) {
    Task<void> wait = wait_drained(s.get());
    auto bounded = time::timeout(std::chrono::milliseconds(100), std::move(wait));
    (void)co_await std::move(bounded);
  }
  scan.abort();
  std::lock_guard<std::mutex> lock(s->error_mu);
  co_return s->error;
}

}  // namespace weft::http::detail
