// retry: calls the inner service again while a Policy says so and a RetryBudget allows it.
//
//   auto budget = std::make_shared<weft::tower::RetryBudget>(std::chrono::seconds(10), 10, 0.2);
//   auto svc = weft::tower::ServiceBuilder()
//                  .layer(weft::tower::RetryLayer(
//                      weft::tower::RetryOnCodes(3, {absl::StatusCode::kUnavailable}), budget))
//                  .service(inner);
//   absl::StatusOr<Resp> r = co_await weft::tower::oneshot(svc, req);   // the last result
//
// A Policy (the concept below), shared and called as const from many tasks:
//   * `p.clone_request(const Req&) -> std::optional<Req>`: a copy kept for a retry, made before
//     each attempt; nullopt means "this request cannot be retried" (a streaming body, say);
//   * `p.retry(const Req&, const absl::StatusOr<Resp>&, int attempts) -> bool`: whether to try
//     again after `attempts` calls gave this result. A policy that returns false for a failure
//     (a non-idempotent request that may have been applied) is never retried for it.
// Each call deposits once into the budget; each retry withdraws; when the budget is spent the
// last result (usually the last error) is returned as is, so callers branch on the inner
// service's own codes. A retry waits for the inner service's readiness again; an error there is
// returned. The first attempt uses the permit of ready() (the inner service's own). A request
// the policy cannot clone is simply the inner call (no frame of its own).
#pragma once

#include <concepts>
#include <initializer_list>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/retry/budget.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower {

// P decides retries of requests Req with responses Resp (see the header comment).
template <class P, class Req, class Resp>
concept Policy = requires(const P& p, const Req& req, const absl::StatusOr<Resp>& result,
                          int attempts) {
  { p.clone_request(req) } -> std::same_as<std::optional<Req>>;
  { p.retry(req, result, attempts) } -> std::convertible_to<bool>;
};

// A ready-made policy: retries failures whose code is in `codes`, up to `max_attempts` calls in
// all, for requests that can be copied. Successes and other codes are never retried.
class RetryOnCodes {
 public:
  RetryOnCodes(int max_attempts, std::initializer_list<absl::StatusCode> codes)
      : max_attempts_(max_attempts), codes_(codes) {}

  template <class Req>
  requires std::copy_constructible<Req> std::optional<Req> clone_request(const Req& req)
  const { return req; }
  template <class Req, class Resp>
  bool retry(const Req&, const absl::StatusOr<Resp>& result, int attempts) const {
    if (result.ok() || attempts >= max_attempts_) return false;
    for (absl::StatusCode c : codes_) {
      if (result.status().code() == c) return true;
    }
    return false;
  }

 private:
  int max_attempts_;
  std::vector<absl::StatusCode> codes_;
};

template <class S, class P>
class Retry {
 public:
  Retry(S inner, P policy, std::shared_ptr<RetryBudget> budget)
      : inner_(std::move(inner)), policy_(std::move(policy)), budget_(std::move(budget)) {}

  auto ready() const requires detail::ReadyGivesStatusOr<S> { return inner_.ready(); }

  template <class Req>
  requires Service<S, Req> && Policy<P, Req, response_t<S, Req>>
  auto call(permit_t<S> permit, Req req) const {
    using Out =
        detail::OneOf<detail::call_awaitable_t<S, Req>, Task<absl::StatusOr<response_t<S, Req>>>>;
    if (budget_) budget_->deposit();
    std::optional<Req> backup = policy_.clone_request(std::as_const(req));
    if (!backup.has_value()) {
      return Out(std::in_place_index<0>,
                 [&] { return inner_.call(std::move(permit), std::move(req)); });
    }
    return Out(run(std::move(permit), std::move(req), std::move(backup)));
  }

  const S& inner() const { return inner_; }
  const P& policy() const { return policy_; }
  const std::shared_ptr<RetryBudget>& budget() const { return budget_; }

 private:
  // The first attempt, then retries while the policy and the budget agree.
  template <class Req>
  Task<absl::StatusOr<response_t<S, Req>>> run(permit_t<S> permit, Req req,
                                               std::optional<Req> backup) const {
    using Resp = response_t<S, Req>;
    absl::StatusOr<Resp> result = co_await inner_.call(std::move(permit), std::move(req));
    int attempts = 1;
    while (backup.has_value() && policy_.retry(std::as_const(*backup), result, attempts)) {
      if (budget_ && !budget_->withdraw()) break;  // spent: the last result is the answer
      absl::StatusOr<permit_t<S>> next_permit = co_await inner_.ready();
      if (!next_permit.ok()) co_return std::move(next_permit).status();
      Req next = *std::move(backup);
      backup = policy_.clone_request(std::as_const(next));
      result = co_await inner_.call(*std::move(next_permit), std::move(next));
      ++attempts;
    }
    co_return result;
  }

  S inner_;
  [[no_unique_address]] P policy_;
  std::shared_ptr<RetryBudget> budget_;  // null: unlimited (only the policy decides)
};

template <class P>
class RetryLayer {
 public:
  // Services built by this layer share `budget` (null: no budget, the policy alone decides).
  RetryLayer(P policy, std::shared_ptr<RetryBudget> budget)
      : policy_(std::move(policy)), budget_(std::move(budget)) {}
  template <class S>
  Retry<S, P> layer(S inner) const {
    return Retry<S, P>(std::move(inner), policy_, budget_);
  }

 private:
  P policy_;
  std::shared_ptr<RetryBudget> budget_;
};

template <class S, class P>
Retry<S, P> retry(S inner, P policy, std::shared_ptr<RetryBudget> budget) {
  return Retry<S, P>(std::move(inner), std::move(policy), std::move(budget));
}

}  // namespace weft::tower

WEFT_TOWER_CORO_END
