// load_shed: fails fast with RESOURCE_EXHAUSTED "overloaded" when the inner service is not
// ready right now, instead of waiting for it.
//
//   auto svc = weft::tower::ServiceBuilder()
//                  .layer(weft::tower::LoadShedLayer())
//                  .layer(weft::tower::ConcurrencyLimitLayer(64))
//                  .service(inner);
//   absl::StatusOr<Resp> r = co_await weft::tower::oneshot(svc, req);
//   if (weft::tower::is_overloaded(r.status())) { ... }   // shed: the request was never sent
//
// As in tower, LoadShed itself is always ready: ready() checks the inner service once, without
// waiting, and gives a permit holding either the inner permit or nothing; call() with an empty
// permit fails at once with RESOURCE_EXHAUSTED "overloaded" (the error is per request, not a
// failure of the service). Inner ready() errors pass through ready().
//
// "Ready right now" is the optional customization point `try_ready()`:
//
//   std::optional<absl::StatusOr<Permit>> try_ready() const;   // same Permit as ready()
//
// nullopt: not ready now (ready() would wait); a value: what ready() would give, obtained
// without suspending. ConcurrencyLimit provides it (a free slot now?), Timeout forwards it;
// LoadShed provides it too (always a value). A service WITHOUT try_ready() is treated as always
// ready: its ready() is awaited as usual (a service that always is ready loses nothing; one
// that applies backpressure without try_ready() is not shed). Layers that do not forward
// try_ready() (map_*, and_then, then, boxes) hide it: put LoadShed directly over the service
// whose capacity it watches.
#pragma once

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/detail/maybe_permit.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower {

// S has the optional non-suspending readiness check (see above).
template <class S>
concept TryReady = detail::ReadyGivesStatusOr<S> && requires(const S& s) {
  { s.try_ready() } -> std::same_as<std::optional<absl::StatusOr<permit_t<S>>>>;
};

inline constexpr char kOverloadedMessage[] = "overloaded";

// The error of a shed request.
inline absl::Status overloaded_error() { return absl::ResourceExhaustedError(kOverloadedMessage); }
// True for the error of a shed request (RESOURCE_EXHAUSTED "overloaded").
inline bool is_overloaded(const absl::Status& s) {
  return absl::IsResourceExhausted(s) && s.message() == kOverloadedMessage;
}

template <class S>
class LoadShed {
 public:
  // The inner permit, or nothing when the inner service was not ready (the call will be shed).
  struct Permit {
    detail::MaybePermit<permit_t<S>> inner;
  };

  explicit LoadShed(S inner) : inner_(std::move(inner)) {}

  // Never waits when S has try_ready() (complete at once, no frame); otherwise S counts as
  // always ready and its ready() is awaited (no frame either).
  auto ready() const requires detail::ReadyGivesStatusOr<S> {
    if constexpr (TryReady<S>) {
      return detail::ReadyValue<absl::StatusOr<Permit>>(std::in_place, [&] { return check(); });
    } else {
      using Fut = detail::ready_awaitable_t<S>;
      return detail::Mapped<Fut, Wrap>(
          std::in_place, [&] { return inner_.ready(); }, Wrap{});
    }
  }

  std::optional<absl::StatusOr<Permit>> try_ready() const requires TryReady<S> { return check(); }

  // The inner call's awaitable, or RESOURCE_EXHAUSTED "overloaded" at once when the permit is
  // empty (the inner service is not called). No frame of its own.
  template <class Req>
  requires Service<S, Req>
  auto call(Permit permit, Req req) const {
    using R = absl::StatusOr<response_t<S, Req>>;
    using Out = detail::OneOf<detail::call_awaitable_t<S, Req>, detail::ReadyValue<R>>;
    if (!permit.inner.has_value()) return Out(detail::ReadyValue<R>(overloaded_error()));
    return Out(std::in_place_index<0>,
               [&] { return inner_.call(*std::move(permit.inner), std::move(req)); });
  }

  const S& inner() const { return inner_; }

 private:
  struct Wrap {
    absl::StatusOr<Permit> operator()(absl::StatusOr<permit_t<S>> p) const {
      if (!p.ok()) return std::move(p).status();
      return Permit{detail::MaybePermit<permit_t<S>>(*std::move(p))};
    }
  };

  absl::StatusOr<Permit> check() const {
    std::optional<absl::StatusOr<permit_t<S>>> p = inner_.try_ready();
    if (!p.has_value()) return Permit{std::nullopt};  // not ready now: shed the call
    return Wrap{}(*std::move(p));
  }

  S inner_;
};

class LoadShedLayer {
 public:
  LoadShedLayer() = default;
  template <class S>
  LoadShed<S> layer(S inner) const {
    return LoadShed<S>(std::move(inner));
  }
};

template <class S>
LoadShed<S> load_shed(S inner) {
  return LoadShed<S>(std::move(inner));
}

}  // namespace weft::tower

WEFT_TOWER_CORO_END
