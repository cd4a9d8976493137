#include "weft/http/client.h"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "weft/http/proto/h1/client_conn.h"
#include "weft/http/proto/h1/encode.h"
#include "weft/http/uri.h"
#include "weft/runtime/net/lookup_host.h"
#include "weft/runtime/net/tcp_stream.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/time/sleep.h"
#include "weft/runtime/time/timeout.h"

namespace weft::http {

namespace detail {

namespace h1 = proto::h1;

// The idle connections, per key (host:port and the runtime thread, see pool_key). Lists are
// LIFO: the most recently returned connection is the warmest (hyper does the same). Expired
// connections are never handed out (checked on checkout) and are closed by a reaper task that
// runs while anything is idle; it holds the pool weakly, so it ends once the Client is gone.
class Pool final : public h1::ConnPool, public std::enable_shared_from_this<Pool> {
 public:
  Pool(std::size_t max_idle, std::chrono::milliseconds idle_timeout)
      : max_idle_(max_idle), idle_timeout_(idle_timeout) {}

  // An idle connection for `key` that the server has not closed, or null.
  std::shared_ptr<h1::ClientConn> checkout(const std::string& key) {
    for (;;) {
      Idle e;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = idle_.find(key);
        if (it == idle_.end()) return nullptr;
        e = std::move(it->second.back());
        it->second.pop_back();
        if (it->second.empty()) idle_.erase(it);
      }
      // Rejected connections close here, outside the lock.
      if (expired(e, time::Clock::now())) continue;
      if (e.conn->peer_gone()) continue;
      return std::move(e.conn);
    }
  }

  void checkin(std::shared_ptr<h1::ClientConn> conn) override {
    if (max_idle_ == 0) return;
    std::vector<Idle> dropped;  // closed after the lock is released
    bool start_reaper = false;
    const time::Instant now = time::Clock::now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      std::vector<Idle>& list = idle_[conn->pool_key()];
      take_expired(list, now, dropped);
      if (list.size() >= max_idle_) {
        dropped.push_back(Idle{std::move(conn), now});  // over the limit: this one closes
      } else {
        list.push_back(Idle{std::move(conn), now});
        if (!reaper_running_ && idle_timeout_.count() > 0) reaper_running_ = start_reaper = true;
      }
    }
    if (start_reaper) {
      if (Handle::in_runtime()) {
        weft::spawn(reap(weak_from_this(), now + idle_timeout_));
      } else {
        std::lock_guard<std::mutex> lock(mu_);
        reaper_running_ = false;
      }
    }
  }

  // Closes the expired connections; the time the next one expires, or nullopt (and the reaper
  // stops) when none is idle.
  std::optional<time::Instant> clear_expired() {
    std::vector<Idle> dropped;
    std::lock_guard<std::mutex> lock(mu_);
    const time::Instant now = time::Clock::now();
    std::optional<time::Instant> next;
    for (auto it = idle_.begin(); it != idle_.end();) {
      take_expired(it->second, now, dropped);
      for (const Idle& e : it->second) {
        const time::Instant at = e.since + idle_timeout_;
        if (!next.has_value() || at < *next) next = at;
      }
      if (it->second.empty()) {
        it = idle_.erase(it);
      } else {
        ++it;
      }
    }
    if (!next.has_value()) reaper_running_ = false;
    return next;
  }

  std::size_t idle_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::size_t n = 0;
    for (const auto& [key, list] : idle_) n += list.size();
    return n;
  }

 private:
  struct Idle {
    std::shared_ptr<h1::ClientConn> conn;
    time::Instant since;
  };

  bool expired(const Idle& e, time::Instant now) const {
    return idle_timeout_.count() > 0 && now - e.since >= idle_timeout_;
  }
  void take_expired(std::vector<Idle>& list, time::Instant now, std::vector<Idle>& out) const {
    auto keep = std::stable_partition(list.begin(), list.end(),
                                      [&](const Idle& e) { return !expired(e, now); });
    for (auto it = keep; it != list.end(); ++it) out.push_back(std::move(*it));
    list.erase(keep, list.end());
  }

  static Task<void> reap(std::weak_ptr<Pool> weak, time::Instant first) {
    time::Instant next = first;
    for (;;) {
      time::Sleep pause = time::sleep_until(next);
      co_await pause;
      std::shared_ptr<Pool> pool = weak.lock();
      if (pool == nullptr) co_return;
      std::optional<time::Instant> n = pool->clear_expired();
      if (!n.has_value()) co_return;
      next = *n;
    }
  }

  const std::size_t max_idle_;
  const std::chrono::milliseconds idle_timeout_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::vector<Idle>> idle_;
  bool reaper_running_ = false;
};

struct ClientShared {
  explicit ClientShared(ClientOptions o)
      : opts(std::move(o)),
        limits{opts.max_response_head_bytes, h1::Limits{}.max_uri_bytes, opts.max_response_headers},
        pool(std::make_shared<Pool>(opts.max_idle_per_host, opts.idle_timeout)) {}

  const ClientOptions opts;
  const h1::Limits limits;
  const std::shared_ptr<Pool> pool;
};

namespace {

// Where a request goes.
struct Target {
  std::string host;  // for lookup_host: no brackets around an IPv6 literal
  uint16_t port = 80;
  std::string authority;  // for the Host header: as written in the URI
  std::string key;        // the pool's key
};

absl::StatusOr<Target> target_of(const Uri& uri) {
  if (!uri.is_absolute()) {
    return absl::InvalidArgumentError(
        absl::StrCat("http::Client needs an absolute URI (http://host[:port]/path), got \"",
                     uri.to_string(), "\""));
  }
  if (uri.scheme() == "https") {
    return absl::UnimplementedError(
        absl::StrCat("https is not supported by http::Client yet (no TLS): ", uri.to_string()));
  }
  if (uri.scheme() != "http") {
    return absl::InvalidArgumentError(
        absl::StrCat("http::Client speaks http://, not \"", std::string(uri.scheme()), "://\""));
  }
  Target t;
  std::string_view host = uri.host();
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return absl::InvalidArgumentError("URI without a host");
  t.host = std::string(host);
  t.port = uri.port().value_or(80);
  t.authority = std::string(uri.authority());
  // Per runtime thread as well: in a thread-per-core runtime each thread keeps the connections
  // its own reactor drives (a multi-thread runtime has one scheduler, so one pool per host).
  const uintptr_t sched =
      Handle::in_runtime() ? reinterpret_cast<uintptr_t>(Handle::current().scheduler()) : 0;
  t.key = absl::StrCat(absl::AsciiStrToLower(t.host), ":", t.port, "@", sched);
  return t;
}

// The encoded head and the body, framed.
h1::Outgoing encode(Request<Body>& req, const Target& t) {
  h1::Outgoing out;
  const Method& m = req.method();
  Body& body = req.body();
  h1::BodyFraming framing;
  if (body.is_full()) {
    out.full = body.full_bytes();
    framing = h1::BodyFraming::of_length(out.full.size());
  } else if (body.is_stream()) {
    const std::optional<uint64_t> hint = body.size_hint();
    framing = hint.has_value() ? h1::BodyFraming::of_length(*hint) : h1::BodyFraming::chunked();
    out.stream = std::move(body);
  } else if (m == Method::POST || m == Method::PUT || m == Method::PATCH) {
    framing = h1::BodyFraming::of_length(0);  // methods that expect a body say it is empty
  }
  h1::encode_request_head(out.head, m, req.uri().path_and_query_view(), t.authority, req.headers(),
                          framing);
  out.framing = framing;
  out.head_request = m == Method::HEAD;
  out.idempotent = m.is_idempotent();
  return out;
}

// Resolves `host` and connects to its addresses in order.
Task<absl::StatusOr<net::TcpStream>> connect_any(std::string host, uint16_t port) {
  Task<absl::StatusOr<std::vector<net::SocketAddr>>> lookup = net::lookup_host(host, port);
  absl::StatusOr<std::vector<net::SocketAddr>> addrs = co_await std::move(lookup);
  if (!addrs.ok()) {
    co_return absl::Status(addrs.status().code(),
                           absl::StrCat("resolving ", host, ": ", addrs.status().message()));
  }
  absl::Status last = absl::UnavailableError("no address");
  for (const net::SocketAddr& addr : *addrs) {
    Task<absl::StatusOr<net::TcpStream>> connect = net::TcpStream::connect(addr);
    absl::StatusOr<net::TcpStream> s = co_await std::move(connect);
    if (s.ok()) {
      (void)s->set_nodelay(true);  // heads and small bodies go out at once
      co_return std::move(s);
    }
    last = s.status();
  }
  co_return absl::Status(last.code(),
                         absl::StrCat("connecting to ", host, ":", port, ": ", last.message()));
}

Task<absl::StatusOr<net::TcpStream>> connect_to(std::string host, uint16_t port,
                                                std::chrono::milliseconds limit) {
  Task<absl::StatusOr<net::TcpStream>> connect = connect_any(host, port);
  if (limit.count() <= 0) {
    absl::StatusOr<net::TcpStream> s = co_await std::move(connect);
    co_return std::move(s);
  }
  Task<absl::StatusOr<net::TcpStream>> bounded = time::timeout(limit, std::move(connect));
  absl::StatusOr<net::TcpStream> s = co_await std::move(bounded);
  if (!s.ok() && absl::IsDeadlineExceeded(s.status())) {
    co_return absl::DeadlineExceededError(
        absl::StrCat("connecting to ", host, ":", port, " timed out after ", limit.count(), " ms"));
  }
  co_return std::move(s);
}

// One request: a connection (pooled or new), send, the response head; once more on a new
// connection if a pooled one turned out to be closed (Exchange::retryable).
Task<absl::StatusOr<Response<Body>>> exchange(std::shared_ptr<ClientShared> s, Request<Body> req,
                                              std::optional<time::Instant> deadline,
                                              std::string timeout_what) {
  absl::StatusOr<Target> target = target_of(req.uri());
  if (!target.ok()) co_return target.status();
  h1::Outgoing out = encode(req, *target);
  for (int attempt = 0;; ++attempt) {
    std::shared_ptr<h1::ClientConn> conn;
    if (attempt == 0) conn = s->pool->checkout(target->key);
    const bool reused = conn != nullptr;
    if (conn == nullptr) {
      Task<absl::StatusOr<net::TcpStream>> connect =
          connect_to(target->host, target->port, s->opts.connect_timeout);
      absl::StatusOr<net::TcpStream> stream = co_await std::move(connect);
      if (!stream.ok()) co_return stream.status();
      conn = std::make_shared<h1::ClientConn>(*std::move(stream), s->limits, target->key);
    }
    auto ex = std::make_unique<h1::Exchange>(std::move(conn), s->pool, reused);
    Task<absl::Status> send = ex->send(&out);
    absl::Status sent = co_await std::move(send);
    absl::StatusOr<h1::ResponseHead> head = absl::UnknownError("no response");
    if (sent.ok()) {
      Task<absl::StatusOr<h1::ResponseHead>> read = ex->read_head();
      head = co_await std::move(read);
    } else {
      head = sent;
    }
    if (!head.ok()) {
      if (attempt == 0 && s->opts.retry_canceled_requests && ex->retryable(out)) continue;
      co_return head.status();
    }
    Response<Body> resp;
    resp.status() = head->status;
    resp.version() = head->version;
    resp.headers() = std::move(head->headers);
    if (!ex->finished()) {
      if (deadline.has_value()) ex->set_deadline(*deadline, std::move(timeout_what));
      resp.body() = Body::from_source(h1::response_body(std::move(ex)));
    }
    co_return std::move(resp);
  }
}

Task<absl::StatusOr<Response<Body>>> send_request(std::shared_ptr<ClientShared> s,
                                                  Request<Body> req) {
  const std::chrono::milliseconds limit = s->opts.request_timeout;
  if (limit.count() <= 0) {
    Task<absl::StatusOr<Response<Body>>> run =
        exchange(std::move(s), std::move(req), std::nullopt, std::string());
    absl::StatusOr<Response<Body>> r = co_await std::move(run);
    co_return std::move(r);
  }
  const time::Instant deadline = time::Clock::now() + limit;
  std::string what =
      absl::StrCat("request to ", req.uri().to_string(), " timed out after ", limit.count(), " ms");
  Task<absl::StatusOr<Response<Body>>> run = exchange(std::move(s), std::move(req), deadline, what);
  Task<absl::StatusOr<Response<Body>>> bounded = time::timeout_at(deadline, std::move(run));
  absl::StatusOr<Response<Body>> r = co_await std::move(bounded);
  if (!r.ok() && absl::IsDeadlineExceeded(r.status()) && time::Clock::now() >= deadline) {
    co_return absl::DeadlineExceededError(what);
  }
  co_return std::move(r);
}

Task<absl::StatusOr<Response<Body>>> send_url(std::shared_ptr<ClientShared> s, std::string url,
                                              Method method, Body body) {
  absl::StatusOr<Uri> uri = Uri::parse(url);
  if (!uri.ok()) {
    co_return absl::InvalidArgumentError(
        absl::StrCat("bad URL \"", url, "\": ", uri.status().message()));
  }
  Request<Body> req(std::move(body));
  req.method() = std::move(method);
  req.uri() = *std::move(uri);
  Task<absl::StatusOr<Response<Body>>> run = send_request(std::move(s), std::move(req));
  absl::StatusOr<Response<Body>> r = co_await std::move(run);
  co_return std::move(r);
}

}  // namespace

}  // namespace detail

Client::Client(ClientOptions opts)
    : shared_(std::make_shared<detail::ClientShared>(std::move(opts))) {}

Task<absl::StatusOr<Response<Body>>> Client::request(Request<Body> req) const {
  return detail::send_request(shared_, std::move(req));
}

Task<absl::StatusOr<Response<Body>>> Client::get(std::string url) const {
  return detail::send_url(shared_, std::move(url), Method::GET, Body());
}

Task<absl::StatusOr<Response<Body>>> Client::post(std::string url, Body body) const {
  return detail::send_url(shared_, std::move(url), Method::POST, std::move(body));
}

const ClientOptions& Client::options() const { return shared_->opts; }

std::size_t Client::idle_connections() const { return shared_->pool->idle_count(); }

}  // namespace weft::http
