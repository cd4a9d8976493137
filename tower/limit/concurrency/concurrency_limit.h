// concurrency_limit: at most `n` calls in flight through one service.
//
//   auto svc = weft::tower::ServiceBuilder()
//                  .layer(weft::tower::ConcurrencyLimitLayer(64))
//                  .service(inner);
//   absl::StatusOr<weft::tower::permit_t<decltype(svc)>> p = co_await svc.ready();  // waits
//   absl::StatusOr<Resp> r = co_await svc.call(std::move(*p), req);  // slot held until here
//
// The slot is taken in ready(): ready() stays pending (FIFO, on a weft::sync::Semaphore) while
// `n` permits are out, and completes when one is released. The permit carries the slot into
// call(), whose awaitable holds it until the response is done. The slot goes back as soon as the
// caller gives up: a permit dropped without a call, a ready() or call() whose task is cancelled
// or timed out (its frame is destroyed), a failed inner ready() or call().
//
// Copies of the service (when S is copyable) share one limit, as tower's clones do. The permit
// refers to the limit's semaphore: keep the service (or a copy) alive while permits exist.
//
// No coroutine frame when a slot is free and the inner service answers at once: ready() and
// call() then return awaitables that are complete at once (see tower/detail/awaitable.h).
//
// try_ready(): the optional "ready right now?" check that LoadShed uses (see
// tower/load_shed/load_shed.h): nullopt when no slot is free now (or the inner service says it
// is not ready now); never waits. An inner service without try_ready() is treated as ready: its
// ready() is then awaited at the start of call(), with the slot already held.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/sync/semaphore.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/detail/maybe_permit.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower {

template <class S>
class ConcurrencyLimit {
 public:
  // A concurrency slot plus the inner service's permit (missing only after a try_ready() whose
  // inner service could not tell; call() then awaits the inner ready() first).
  struct Permit {
    weft::sync::SemaphorePermit slot;
    detail::MaybePermit<permit_t<S>> inner;
  };

  ConcurrencyLimit(S inner, std::size_t max)
      : inner_(std::move(inner)), sem_(std::make_shared<weft::sync::Semaphore>(max)) {}

  // Waits for a free slot, then for the inner service. FAILED_PRECONDITION never happens (the
  // semaphore is never closed); inner ready() errors pass through (the slot is released).
  // Complete at once (no frame) when a slot is free and the inner readiness is complete at once.
  auto ready() const {
    using Fut = detail::ready_awaitable_t<S>;
    absl::StatusOr<weft::sync::SemaphorePermit> slot = sem_->try_acquire();
    if (!slot.ok()) return detail::Eager<Result>(acquire_then_ready());
    if constexpr (detail::Peekable<Fut>) {
      Fut inner = inner_.ready();
      if (inner.await_ready()) {
        return detail::eager_with<Result>(
            [&] { return with_slot(*std::move(slot), inner.await_resume()); });
      }
      return detail::Eager<Result>(finish_ready(*std::move(slot), std::move(inner)));
    } else {
      return detail::Eager<Result>(finish_ready(*std::move(slot), inner_.ready()));
    }
  }

  // Ready right now? nullopt if not (no slot free, or the inner try_ready() says not now); an
  // error if the inner service failed; never suspends.
  std::optional<absl::StatusOr<Permit>> try_ready() const {
    absl::StatusOr<weft::sync::SemaphorePermit> slot = sem_->try_acquire();
    if (!slot.ok()) return std::nullopt;
    if constexpr (requires(const S& s) { s.try_ready(); }) {
      std::optional<absl::StatusOr<permit_t<S>>> inner = inner_.try_ready();
      if (!inner.has_value()) return std::nullopt;
      if (!inner->ok()) return absl::StatusOr<Permit>(std::move(*inner).status());
      return absl::StatusOr<Permit>(
          Permit{*std::move(slot), detail::MaybePermit<permit_t<S>>(**std::move(inner))});
    } else {
      return absl::StatusOr<Permit>(Permit{*std::move(slot), std::nullopt});
    }
  }

  // The inner call's awaitable, holding the slot until it completes or is destroyed (no frame
  // of its own when the permit carries the inner permit, as ready()'s always does).
  template <class Req>
  requires Service<S, Req>
  auto call(Permit permit, Req req) const {
    using Held = detail::Mapped<detail::call_awaitable_t<S, Req>, Holding>;
    using Out = detail::OneOf<Held, Task<absl::StatusOr<response_t<S, Req>>>>;
    if (permit.inner.has_value()) {
      return Out(std::in_place_index<0>, [&] {
        return Held(
            std::in_place, [&] { return inner_.call(*std::move(permit.inner), std::move(req)); },
            Holding(std::move(permit.slot)));
      });
    }
    return Out(run<Req>(&inner_, std::move(permit.slot), std::move(req)));
  }

  // Slots free right now.
  std::size_t available() const { return sem_->available_permits(); }
  const S& inner() const { return inner_; }

 private:
  using Result = absl::StatusOr<Permit>;

  // Passes the response through; the slot it holds goes back when the awaitable goes away.
  struct Holding : detail::Pass {
    explicit Holding(weft::sync::SemaphorePermit s) : slot(std::move(s)) {}
    weft::sync::SemaphorePermit slot;
  };

  static Result with_slot(weft::sync::SemaphorePermit slot, absl::StatusOr<permit_t<S>> inner) {
    if (!inner.ok()) return std::move(inner).status();  // the slot goes back
    return Permit{std::move(slot), detail::MaybePermit<permit_t<S>>(*std::move(inner))};
  }
  template <class Fut>
  static Task<Result> finish_ready(weft::sync::SemaphorePermit slot, Fut inner) {
    co_return with_slot(std::move(slot), co_await std::move(inner));
  }
  Task<Result> acquire_then_ready() const {
    absl::StatusOr<weft::sync::SemaphorePermit> slot = co_await sem_->acquire();
    if (!slot.ok()) co_return slot.status();
    co_return with_slot(*std::move(slot), co_await inner_.ready());
  }

  // A permit from try_ready() over an inner service that could not tell: its readiness first.
  template <class Req>
  static Task<absl::StatusOr<response_t<S, Req>>> run(const S* inner,
                                                      weft::sync::SemaphorePermit slot, Req req) {
    absl::StatusOr<permit_t<S>> p = co_await inner->ready();
    if (!p.ok()) co_return std::move(p).status();
    co_return co_await inner->call(*std::move(p), std::move(req));  // `slot` lives until here
  }

  S inner_;
  std::shared_ptr<weft::sync::Semaphore> sem_;
};

class ConcurrencyLimitLayer {
 public:
  explicit ConcurrencyLimitLayer(std::size_t max) : max_(max) {}
  // Each service built gets its own limit of `max` slots.
  template <class S>
  ConcurrencyLimit<S> layer(S inner) const {
    return ConcurrencyLimit<S>(std::move(inner), max_);
  }

 private:
  std::size_t max_;
};

template <class S>
ConcurrencyLimit<S> concurrency_limit(S inner, std::size_t max) {
  return ConcurrencyLimitLayer(max).layer(std::move(inner));
}

}  // namespace weft::tower

WEFT_TOWER_CORO_END
