// Steer: routes each request to one of N services of the same type, chosen by a picker that
// sees the request (tower's Steer).
//
//   std::vector<Backend> backends = ...;
//   auto svc = weft::tower::steer(std::move(backends),
//       [](const Request& r, std::span<const Backend> s) { return r.user_id % s.size(); });
//   co_await weft::tower::oneshot(svc, req);
//
// The picker is `size_t(const Req&, std::span<const S>) const` or `size_t(const Req&) const`.
// Readiness: Steer is always ready, and call() awaits the PICKED service's ready() before
// calling it. Tower's Steer instead waits until every service is ready, because it must
// reserve before it sees the request; with permits that would hold capacity on N-1 services a
// request will not use, and one saturated service would stall every route. Backpressure still
// reaches the caller: the call's awaitable waits for the picked service.
// Errors: UNAVAILABLE when there are no services, OUT_OF_RANGE when the picker's index is not
// one of them. Costs one frame per call (oneshot on the picked service).
#pragma once

#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower {

template <class S, class Picker>
class Steer {
 public:
  Steer(std::vector<S> services, Picker picker)
      : services_(std::move(services)), picker_(std::move(picker)) {}

  AlwaysReady ready() const { return always_ready(); }

  template <class Req>
  requires Service<S, Req> &&
      (std::is_invocable_r_v<std::size_t, const Picker&, const Req&, std::span<const S>> ||
       std::is_invocable_r_v<std::size_t, const Picker&, const Req&>)
          Task<absl::StatusOr<response_t<S, Req>>> call(NoPermit, Req req) const {
    if (services_.empty()) co_return absl::UnavailableError("weft::tower::Steer: no services");
    std::size_t i = pick(req);
    if (i >= services_.size()) {
      co_return absl::OutOfRangeError(
          absl::StrCat("weft::tower::Steer: picker chose service ", i, " of ", services_.size()));
    }
    const S& svc = services_[i];
    absl::StatusOr<permit_t<S>> permit = co_await svc.ready();
    if (!permit.ok()) co_return std::move(permit).status();
    auto response = svc.call(*std::move(permit), std::move(req));
    co_return co_await std::move(response);
  }

  std::span<const S> services() const { return services_; }

 private:
  template <class Req>
  std::size_t pick(const Req& req) const {
    if constexpr (std::is_invocable_r_v<std::size_t, const Picker&, const Req&,
                                        std::span<const S>>) {
      return std::invoke(picker_, req, std::span<const S>(services_));
    } else {
      return std::invoke(picker_, req);
    }
  }

  std::vector<S> services_;
  [[no_unique_address]] Picker picker_;
};

template <class S, class Picker>
Steer<S, Picker> steer(std::vector<S> services, Picker picker) {
  return Steer<S, Picker>(std::move(services), std::move(picker));
}

}  // namespace weft::tower

WEFT_TOWER_CORO_END
