// auth: bearer-token authentication (RFC 6750) with an asynchronous validator; the validated
// claims go into the request's extensions (tower-http's ValidateRequestHeaderLayer::bearer /
// AsyncRequireAuthorizationLayer).
//
//   struct User { std::string name; std::vector<std::string> scopes; };
//   weft::Task<absl::StatusOr<User>> check_token(std::string_view token);   // your lookup
//
//   namespace mw = weft::middleware;
//   auto svc = weft::tower::ServiceBuilder()
//                  .layer(mw::RequestBodyLimitLayer(1 << 20))        // outside: refuses unread
//                  .layer(mw::BearerAuthLayer(&check_token).realm("api"))
//                  .service(router);
//   // in a handler: const User* u = req.extensions().get<User>();
//
// The validator: any `v(std::string_view token) const` returning an awaitable of
// absl::StatusOr<Claims> (usually a Task) or an absl::StatusOr<Claims> (synchronous), Claims a
// movable value type. The view points at a copy of the token that lives until the validator's
// result is in: a validator Task may keep it across suspensions (it must not keep it longer).
// It is called as const from many tasks at once. A tower Service<std::string, Claims> is used
// through a lambda: `[svc](std::string_view t) { return tower::oneshot(svc, std::string(t)); }`
// (not a coroutine: `svc` is the lambda's own copy, stored in the layer, so it lives long enough).
//
// Answers (the request never reaches the inner service in these cases; the body is not read):
//   no `authorization`, another scheme, several `authorization` fields
//         -> 401, `www-authenticate: Bearer` (+ ` realm="..."`), no error code (RFC 6750 §3.1);
//   `Bearer` with a malformed token (not b64token: [A-Za-z0-9-._~+/]+ then '='s), empty
//         -> 401, `Bearer error="invalid_token"` (RFC 6750 would allow 400 invalid_request; 401
//            keeps "no valid credentials" one status for clients);
//   validator fails PERMISSION_DENIED
//         -> 403, `Bearer error="insufficient_scope"` (the token is good, the rights are not);
//   validator fails UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, UNKNOWN, RESOURCE_EXHAUSTED,
//   ABORTED, DATA_LOSS, CANCELLED, UNIMPLEMENTED (it could not decide)
//         -> that error Status, passed through (the server answers 5xx): a client must not
//            throw away a good token because the token store is down;
//   validator fails with any other code (UNAUTHENTICATED, INVALID_ARGUMENT, NOT_FOUND, ...)
//         -> 401, `Bearer error="invalid_token"`.
// Bodies are the reason phrase (text/plain); the validator's message is never sent (it may say
// why a token is bad). On success the claims are inserted into the request's extensions (a
// Claims already there is replaced) and the request goes on with its `authorization` header.
// An exception from the validator propagates (CatchExceptionLayer turns it into a 500).
//
// The inner permit (from ready()) is held while the validator runs. Cost: one coroutine frame
// per call plus the validator's.
#pragma once

#include <concepts>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/http/header_map.h"
#include "weft/http/header_name.h"
#include "weft/http/header_value.h"
#include "weft/http/status_code.h"
#include "weft/middleware/detail/http_service.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::middleware {

// The token of `authorization: Bearer <token>`: nullopt when there is no authorization field,
// several, or another scheme; "" when the scheme is Bearer but the token is missing or malformed.
std::optional<std::string_view> bearer_token(const http::HeaderMap& headers);

// What the layer does with a failed validation (see the top comment).
enum class AuthFailure { kUnauthorized, kForbidden, kPassThrough };
AuthFailure classify_auth_failure(const absl::Status& status);

namespace detail {

template <class R>
struct ValidatorResult {
  using type = tower::detail::await_result_t<R>;
};
template <class T>
struct ValidatorResult<absl::StatusOr<T>> {
  using type = absl::StatusOr<T>;
};

template <class V>
using validator_result_t =
    typename ValidatorResult<std::invoke_result_t<const V&, std::string_view>>::type;

template <class V>
concept TokenValidator =
    std::invocable<const V&, std::string_view> && tower::detail::IsStatusOr<validator_result_t<V>>;

// The www-authenticate values, made once per layer.
struct BearerChallenges {
  http::HeaderValue missing;             // Bearer [realm="..."]
  http::HeaderValue invalid_token;       // Bearer [realm="...", ]error="invalid_token"
  http::HeaderValue insufficient_scope;  // Bearer [realm="...", ]error="insufficient_scope"
  static BearerChallenges make(const std::string& realm);
};

HttpResponse challenge_response(http::StatusCode code, const http::HeaderValue& challenge);

}  // namespace detail

template <class S, class V>
class BearerAuth {
 public:
  using Claims = typename tower::detail::StatusOrTraits<detail::validator_result_t<V>>::value_type;

  BearerAuth(S inner, V validator, detail::BearerChallenges challenges)
      : inner_(std::move(inner)),
        validator_(std::move(validator)),
        challenges_(std::move(challenges)) {}

  auto ready() const requires tower::detail::HasReady<S> { return inner_.ready(); }
  auto try_ready() const requires requires(const S& s) { s.try_ready(); }
  { return inner_.try_ready(); }

  // A Task: the challenge answer, the validator's pass-through error, or the inner result.
  Task<absl::StatusOr<HttpResponse>> call(tower::permit_t<S> permit,
                                          HttpRequest req) const requires HttpService<S> {
    return run(this, std::move(permit), std::move(req));
  }

  const S& inner() const { return inner_; }

 private:
  static Task<absl::StatusOr<HttpResponse>> run(const BearerAuth* self, tower::permit_t<S> permit,
                                                HttpRequest req) {
    std::optional<std::string_view> found = bearer_token(req.headers());
    if (!found.has_value()) {
      co_return detail::challenge_response(http::StatusCode::UNAUTHORIZED,
                                           self->challenges_.missing);
    }
    if (found->empty()) {
      co_return detail::challenge_response(http::StatusCode::UNAUTHORIZED,
                                           self->challenges_.invalid_token);
    }
    const std::string token(*found);  // lives in this frame while the validator runs
    absl::StatusOr<Claims> claims = absl::InternalError("unset");
    if constexpr (tower::detail::IsStatusOr<std::invoke_result_t<const V&, std::string_view>>) {
      claims = std::invoke(self->validator_, std::string_view(token));
    } else {
      auto check = std::invoke(self->validator_, std::string_view(token));
      claims = co_await std::move(check);
    }
    if (!claims.ok()) {
      AuthFailure what = classify_auth_failure(claims.status());
      if (what == AuthFailure::kPassThrough) co_return std::move(claims).status();
      if (what == AuthFailure::kForbidden) {
        co_return detail::challenge_response(http::StatusCode::FORBIDDEN,
                                             self->challenges_.insufficient_scope);
      }
      co_return detail::challenge_response(http::StatusCode::UNAUTHORIZED,
                                           self->challenges_.invalid_token);
    }
    req.extensions().insert(*std::move(claims));
    auto fut = self->inner_.call(std::move(permit), std::move(req));
    absl::StatusOr<HttpResponse> r = co_await std::move(fut);
    co_return r;
  }

  S inner_;
  [[no_unique_address]] V validator_;
  detail::BearerChallenges challenges_;
};

// `V`: the token validator (see the top comment).
template <detail::TokenValidator V>
class BearerAuthLayer {
 public:
  explicit BearerAuthLayer(V validator) : validator_(std::move(validator)) {}

  // The realm in the challenge (`Bearer realm="api"`); quotes and backslashes are escaped,
  // control bytes dropped.
  BearerAuthLayer realm(std::string realm) const {
    BearerAuthLayer l = *this;
    l.realm_ = std::move(realm);
    return l;
  }

  template <class S>
  BearerAuth<S, V> layer(S inner) const {
    return BearerAuth<S, V>(std::move(inner), validator_, detail::BearerChallenges::make(realm_));
  }

 private:
  [[no_unique_address]] V validator_;
  std::string realm_;
};

}  // namespace weft::middleware

WEFT_TOWER_CORO_END
