// p2c: a load balancer over a changing set of endpoints, by the power of two choices (tower's
// balance::p2c::Balance with its load metrics).
//
//   namespace balance = weft::tower::balance;
//   auto [tx, rx] = weft::sync::mpsc::unbounded_channel<balance::Change<std::string, Svc>>();
//   balance::Balance<std::string, Svc, balance::PeakEwma> lb(std::move(rx), {.default_rtt = 5ms});
//   tx.send(balance::Change<std::string, Svc>::insert("10.0.0.1:80", make_svc("10.0.0.1:80")));
//   absl::StatusOr<Resp> r = co_await weft::tower::oneshot(lb, req);   // UNAVAILABLE: no endpoints
//   tx.send(balance::Change<std::string, Svc>::remove("10.0.0.1:80"));
//
// Discovery. The set is fed by an unbounded mpsc channel of `Change<Key, Svc>`: insert(key, svc)
// adds an endpoint or replaces the one under `key`; remove(key) drops it (an unknown key is
// ignored). A channel rather than a `watch` of the whole set: changes are small and keyed, an
// insert does not rebuild the other endpoints' load state, and the sender never waits. Changes
// are applied at the start of every ready() (and size()/cost()), like tower's poll_discover in
// poll_ready: no background task. When every sender is gone the set stays as it is.
//
// Readiness. ready() picks two distinct endpoints at random (the only one if there is one),
// prefers the one with the lower load (`L::cost`, ties to the first drawn), and gives a permit
// naming it and holding its inner permit. If S has the optional `try_ready()` (see
// tower/load_shed/load_shed.h) the two are asked "ready now?" in that order and the first ready
// one is taken; otherwise (or if neither is ready now) ready() awaits the preferred one's
// ready(), so backpressure comes from the chosen endpoint. An endpoint whose ready() (or
// try_ready()) fails is evicted, as tower does with failed services, and the pick is made again
// from the others; its error is not returned unless it was the last endpoint.
//
// Empty set: ready() fails fast with UNAVAILABLE "no endpoints" (plus the last endpoint error,
// if one was just evicted) instead of waiting for discovery as tower does: a caller that has
// nowhere to go learns it at once and can retry, time out or shed at its own layer.
//
// Load. An endpoint counts a request as pending from the moment ready() picks it until its call
// completes, or until the permit or the call is dropped, so concurrent pickers see each other's
// choices before the call is sent. PeakEwma's latency sample is the call's own duration
// (call() to response); a dropped permit or cancelled call gives no sample. See load.h.
//
// Lifetime. An endpoint lives in a shared_ptr held by the set and by every permit and call that
// picked it: removing or replacing it while requests are in flight lets those requests finish on
// it; it is destroyed (outside the balancer's lock) when the last of them ends.
//
// Thread-safety: ready(), call(), size() and cost() may be used from many tasks at once. The set
// and the discovery receiver are under a std::mutex held for a few instructions (never across a
// suspension or a call into an endpoint); load metrics are atomics (PeakEwma: a mutex around two
// doubles). Copies of a Balance share one set.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "weft/runtime/sync/mpsc.h"
#include "weft/runtime/task/task.h"
#include "weft/runtime/time/time_driver.h"
#include "weft/tower/balance/p2c/load.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower::balance {

// One change of the endpoint set: an insert when `service` holds a value, a removal otherwise.
template <class K, class S>
struct Change {
  K key;
  std::optional<S> service;

  static Change insert(K key, S service) {
    return Change{std::move(key), std::optional<S>(std::move(service))};
  }
  static Change remove(K key) { return Change{std::move(key), std::nullopt}; }
  bool is_insert() const { return service.has_value(); }
};

namespace detail {

// Per-thread xorshift64*: picks need speed and independence between threads, not quality.
inline std::uint64_t random_u64() {
  thread_local std::uint64_t s = [] {
    std::uint64_t z =
        std::hash<std::thread::id>()(std::this_thread::get_id()) ^
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    z += 0x9e3779b97f4a7c15ULL;  // splitmix64 finaliser: any seed becomes a non-zero state
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return z == 0 ? 1 : z;
  }();
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 0x2545f4914f6cdd1dULL;
}

template <class S>
concept HasTryReady = requires(const S& s) {
  { s.try_ready() } -> std::same_as<std::optional<absl::StatusOr<permit_t<S>>>>;
};

}  // namespace detail

template <class K, class S, LoadMetric L = PendingRequests>
class Balance {
  struct Endpoint {
    Endpoint(K k, S s, const typename L::Options& o, time::Instant now)
        : key(std::move(k)), service(std::move(s)), load(o, now) {}
    const K key;
    const S service;
    L load;
  };
  using EndpointPtr = std::shared_ptr<Endpoint>;

 public:
  using Options = typename L::Options;
  using Receiver = weft::sync::mpsc::UnboundedReceiver<Change<K, S>>;

  // A request's place on one endpoint: counted as pending from construction until the call
  // completes (with a latency sample) or the Pick is dropped (without one). Keeps the endpoint
  // alive.
  class Pick {
   public:
    explicit Pick(EndpointPtr ep) : ep_(std::move(ep)) { ep_->load.start(); }
    Pick(Pick&& o) noexcept
        : ep_(std::move(o.ep_)), sent_(o.sent_), active_(std::exchange(o.active_, false)) {}
    Pick& operator=(Pick&& o) noexcept {
      if (this != &o) {
        end(std::nullopt);
        ep_ = std::move(o.ep_);
        sent_ = o.sent_;
        active_ = std::exchange(o.active_, false);
      }
      return *this;
    }
    Pick(const Pick&) = delete;
    Pick& operator=(const Pick&) = delete;
    ~Pick() { end(std::nullopt); }

    const K& key() const { return ep_->key; }
    const EndpointPtr& endpoint() const { return ep_; }
    void sent() { sent_ = time::Clock::now(); }
    void completed() { end(time::Clock::now() - sent_); }

   private:
    void end(std::optional<time::Duration> rtt) {
      if (!std::exchange(active_, false)) return;
      ep_->load.finish(rtt, time::Clock::now());
    }
    EndpointPtr ep_;
    time::Instant sent_{};
    bool active_ = true;
  };

  // The chosen endpoint (key()) and its inner permit.
  struct Permit {
    Pick pick;
    permit_t<S> inner;
    const K& key() const { return pick.key(); }
  };

  explicit Balance(Receiver discover, Options options = {})
      : state_(std::make_shared<State>(std::move(discover), std::move(options))) {}

  // Applies pending changes, picks an endpoint (see the header comment) and awaits its
  // readiness. UNAVAILABLE "no endpoints" when the set is (or becomes) empty.
  Task<absl::StatusOr<Permit>> ready() const { return ready_on(state_.get()); }

  // Calls the endpoint the permit names; the endpoint lives until this Task is done.
  template <class Req>
  requires Service<S, Req> Task<absl::StatusOr<response_t<S, Req>>> call(Permit permit, Req req)
  const { return run<Req>(std::move(permit), std::move(req)); }

  // Endpoints in the set now (pending changes applied first).
  std::size_t size() const {
    std::vector<EndpointPtr> graveyard;
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->drain_locked(graveyard);
    return state_->endpoints.size();
  }
  // The load of the endpoint under `key` now, or nullopt if there is none.
  std::optional<double> cost(const K& key) const {
    EndpointPtr ep = state_->find(key);
    if (ep == nullptr) return std::nullopt;
    return ep->load.cost(time::Clock::now());
  }
  // Requests picked and not finished on the endpoint under `key` (nullopt if there is none).
  std::optional<std::size_t> pending(const K& key) const requires requires(const L& l) {
    l.pending();
  }
  {
    EndpointPtr ep = state_->find(key);
    if (ep == nullptr) return std::nullopt;
    return ep->load.pending();
  }

 private:
  struct Candidates {
    EndpointPtr first;   // lower load; null when the set is empty
    EndpointPtr second;  // may be null (one endpoint)
  };

  struct State {
    State(Receiver rx, Options o) : discover(std::move(rx)), options(std::move(o)) {}

    // Requires mu. Removed endpoints go to `graveyard`, destroyed by the caller after unlocking
    // (an endpoint's destructor is the service's: never run it under our lock).
    void drain_locked(std::vector<EndpointPtr>& graveyard) {
      while (discover_open) {
        absl::StatusOr<Change<K, S>> c = discover.try_recv();
        if (!c.ok()) {
          if (absl::IsFailedPrecondition(c.status())) discover_open = false;  // senders gone
          return;
        }
        apply_locked(*std::move(c), graveyard);
      }
    }

    void apply_locked(Change<K, S> c, std::vector<EndpointPtr>& graveyard) {
      std::size_t i = 0;
      while (i < endpoints.size() && !(endpoints[i]->key == c.key)) ++i;
      if (c.service.has_value()) {
        EndpointPtr ep = std::make_shared<Endpoint>(std::move(c.key), *std::move(c.service),
                                                    options, time::Clock::now());
        if (i < endpoints.size()) {
          graveyard.push_back(std::exchange(endpoints[i], std::move(ep)));
        } else {
          endpoints.push_back(std::move(ep));
        }
      } else if (i < endpoints.size()) {
        remove_at_locked(i, graveyard);
      }
    }

    void remove_at_locked(std::size_t i, std::vector<EndpointPtr>& graveyard) {
      graveyard.push_back(std::move(endpoints[i]));
      endpoints[i] = std::move(endpoints.back());
      endpoints.pop_back();
    }

    Candidates choose() {
      Candidates c;
      std::vector<EndpointPtr> graveyard;  // destroyed after the lock is released
      {
        std::lock_guard<std::mutex> lock(mu);
        drain_locked(graveyard);
        const std::size_t n = endpoints.size();
        if (n == 0) return c;
        if (n == 1) {
          c.first = endpoints[0];
          return c;
        }
        const std::size_t a = detail::random_u64() % n;
        std::size_t b = detail::random_u64() % (n - 1);
        if (b >= a) ++b;  // distinct from a, uniform over the others
        c.first = endpoints[a];
        c.second = endpoints[b];
      }
      const time::Instant now = time::Clock::now();
      if (c.second->load.cost(now) < c.first->load.cost(now)) std::swap(c.first, c.second);
      return c;
    }

    // Removes `ep` if it is still in the set (not already removed or replaced).
    void evict(const EndpointPtr& ep) {
      std::vector<EndpointPtr> graveyard;
      std::lock_guard<std::mutex> lock(mu);
      for (std::size_t i = 0; i < endpoints.size(); ++i) {
        if (endpoints[i] == ep) {
          remove_at_locked(i, graveyard);
          return;
        }
      }
    }

    EndpointPtr find(const K& key) {
      std::vector<EndpointPtr> graveyard;
      std::lock_guard<std::mutex> lock(mu);
      drain_locked(graveyard);
      for (const EndpointPtr& ep : endpoints) {
        if (ep->key == key) return ep;
      }
      return nullptr;
    }

    std::mutex mu;
    Receiver discover;                   // guarded by mu
    bool discover_open = true;           // guarded by mu
    std::vector<EndpointPtr> endpoints;  // guarded by mu
    const Options options;
  };

  static absl::Status no_endpoints(const absl::Status& last_error) {
    if (last_error.ok()) return absl::UnavailableError("no endpoints");
    return absl::UnavailableError(
        absl::StrCat("no endpoints (last endpoint evicted: ", last_error.ToString(), ")"));
  }

  // The first candidate ready right now, if S can tell (try_ready()). A candidate that fails is
  // evicted and `*failed` set.
  static std::optional<Permit> try_now(State* st, Candidates& c, absl::Status* failed) {
    if constexpr (detail::HasTryReady<S>) {
      for (EndpointPtr* ep : {&c.first, &c.second}) {
        if (*ep == nullptr) break;
        Pick pick(*ep);
        std::optional<absl::StatusOr<permit_t<S>>> now = (*ep)->service.try_ready();
        if (!now.has_value()) continue;
        if (now->ok()) return Permit{std::move(pick), **std::move(now)};
        *failed = now->status();
        st->evict(*ep);
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

  static Task<absl::StatusOr<Permit>> ready_on(State* st) {
    absl::Status last_error = absl::OkStatus();
    // Each failed round evicts one endpoint, so this ends when the set runs out.
    for (;;) {
      Candidates c = st->choose();
      if (c.first == nullptr) co_return no_endpoints(last_error);
      absl::Status failed = absl::OkStatus();
      std::optional<Permit> now = try_now(st, c, &failed);
      if (now.has_value()) co_return std::move(*now);
      if (!failed.ok()) {
        last_error = std::move(failed);
        continue;
      }
      Pick pick(c.first);  // pending from now on, so that other pickers see it
      auto fut = c.first->service.ready();
      absl::StatusOr<permit_t<S>> inner = co_await std::move(fut);
      if (inner.ok()) co_return Permit{std::move(pick), *std::move(inner)};
      last_error = std::move(inner).status();
      st->evict(c.first);
    }
  }

  template <class Req>
  static Task<absl::StatusOr<response_t<S, Req>>> run(Permit permit, Req req) {
    // `permit.pick` (a parameter) holds the endpoint until the frame is gone, after `fut`.
    const Endpoint* ep = permit.pick.endpoint().get();
    permit.pick.sent();
    auto fut = ep->service.call(std::move(permit.inner), std::move(req));
    absl::StatusOr<response_t<S, Req>> r = co_await std::move(fut);
    permit.pick.completed();
    co_return std::move(r);
  }

  std::shared_ptr<State> state_;
};

}  // namespace weft::tower::balance

WEFT_TOWER_CORO_END
