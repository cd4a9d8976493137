// BearerAuthLayer: missing / other-scheme / duplicated credentials -> 401 `Bearer`; malformed
// bearer tokens -> 401 invalid_token; validator verdicts -> claims in the extensions, 401
// invalid_token, 403 insufficient_scope, or the error passed through; the validator never runs
// for malformed requests and the handler never runs unless authenticated; realm; sync and
// service-backed validators; the validator's message is never sent.
#define BOOST_TEST_MODULE bearer_auth_test
#include "weft/middleware/auth/bearer_auth.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

#include "weft/http/status_code.h"
#include "weft/middleware/detail/testing.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/time/sleep.h"
#include "weft/tower/service_builder.h"
#include "weft/tower/service_fn.h"

using weft::Task;
using namespace std::chrono_literals;
namespace http = weft::http;
namespace tower = weft::tower;
namespace mw = weft::middleware;
namespace t = weft::middleware::testing;
using mw::HttpRequest;
using mw::HttpResponse;

namespace {

struct User {
  std::string name;
};

std::atomic<int> g_validations{0};

// "alice" / "bob.admin" are good; "readonly" lacks rights; "down" finds the store down; the rest
// are unknown. Suspends first, so the token must stay alive across a suspension.
Task<absl::StatusOr<User>> check_token(std::string_view token) {
  g_validations.fetch_add(1);
  co_await weft::yield_now();
  co_await weft::time::sleep(1ms);
  if (token == "alice" || token == "bob.admin") co_return User{std::string(token)};
  if (token == "readonly") co_return absl::PermissionDeniedError("scope write missing");
  if (token == "down") co_return absl::UnavailableError("token store down");
  co_return absl::UnauthenticatedError("token secret-reason expired");
}

// Answers "hello <user>" (or "hello ?" without claims); counts calls.
auto handler(std::shared_ptr<std::atomic<int>> calls) {
  return tower::service_fn([calls](HttpRequest req) -> absl::StatusOr<HttpResponse> {
    calls->fetch_add(1);
    const User* u = req.extensions().get<User>();
    return HttpResponse(http::Body("hello " + (u != nullptr ? u->name : std::string("?"))));
  });
}

struct Outcome {
  int status = 0;
  std::string www;
  std::string body;
  std::string error;  // the Status when the call failed
};

template <class S>
Task<Outcome> send(const S* svc, std::vector<std::pair<std::string, std::string>> auth) {
  HttpRequest req = t::request(http::Method::GET, "/me");
  for (const std::pair<std::string, std::string>& h : auth) {
    (void)req.headers().append(h.first, h.second);
  }
  absl::StatusOr<HttpResponse> r = co_await tower::oneshot(*svc, std::move(req));
  Outcome o;
  if (!r.ok()) {
    o.error = r.status().ToString();
    co_return o;
  }
  o.status = r->status().as_u16();
  o.www = t::header(r->headers(), "www-authenticate");
  o.body = co_await t::body_text(*std::move(r));
  co_return o;
}

using Headers = std::vector<std::pair<std::string, std::string>>;

Task<absl::Status> unauthenticated_requests() {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto svc = mw::BearerAuthLayer(&check_token).layer(handler(calls));
  const int before = g_validations.load();
  // No credentials, another scheme, two fields: 401 with a bare challenge.
  const std::vector<Headers> missing = {
      {},
      {{"authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l"}},
      {{"authorization", "Bearer alice"}, {"authorization", "Bearer alice"}},
      {{"authorization", "Bearerish alice"}},
  };
  for (const Headers& h : missing) {
    Task<Outcome> s = send(&svc, h);
    Outcome o = co_await std::move(s);
    WEFT_CO_CHECK(o.status == 401 && o.www == "Bearer" && o.body == "Unauthorized\n");
  }
  // Malformed bearer credentials: 401 invalid_token, validator not asked.
  const std::vector<Headers> malformed = {
      {{"authorization", "Bearer"}},      {{"authorization", "Bearer   "}},
      {{"authorization", "Bearer a b"}},  {{"authorization", "Bearer tok!en"}},
      {{"authorization", "Bearer =abc"}}, {{"authorization", "Bearer ab=c"}},
  };
  for (const Headers& h : malformed) {
    Task<Outcome> s = send(&svc, h);
    Outcome o = co_await std::move(s);
    WEFT_CO_CHECK(o.status == 401 && o.www == "Bearer error=\"invalid_token\"");
  }
  WEFT_CO_CHECK(g_validations.load() == before);
  WEFT_CO_CHECK(calls->load() == 0);
  co_return absl::OkStatus();
}

Task<absl::Status> validator_verdicts() {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto svc = mw::BearerAuthLayer(&check_token).layer(handler(calls));
  // Good tokens, any case of the scheme, extra blanks, b64 padding.
  Task<Outcome> a = send(&svc, {{"authorization", "Bearer alice"}});
  Outcome oa = co_await std::move(a);
  WEFT_CO_CHECK(oa.status == 200 && oa.body == "hello alice" && oa.www.empty());
  Task<Outcome> b = send(&svc, {{"authorization", "  bEaReR \t bob.admin  "}});
  Outcome ob = co_await std::move(b);
  WEFT_CO_CHECK(ob.status == 200 && ob.body == "hello bob.admin");
  WEFT_CO_CHECK(calls->load() == 2);
  // Unknown token: 401 invalid_token; the validator's reason is not sent.
  Task<Outcome> c = send(&svc, {{"authorization", "Bearer mallory=="}});
  Outcome oc = co_await std::move(c);
  WEFT_CO_CHECK(oc.status == 401 && oc.www == "Bearer error=\"invalid_token\"");
  WEFT_CO_CHECK(oc.body == "Unauthorized\n");
  // Not allowed: 403 insufficient_scope.
  Task<Outcome> d = send(&svc, {{"authorization", "Bearer readonly"}});
  Outcome od = co_await std::move(d);
  WEFT_CO_CHECK(od.status == 403 && od.www == "Bearer error=\"insufficient_scope\"");
  WEFT_CO_CHECK(od.body == "Forbidden\n");
  // The store is down: the error passes through (the server answers 503).
  Task<Outcome> e = send(&svc, {{"authorization", "Bearer down"}});
  Outcome oe = co_await std::move(e);
  WEFT_CO_CHECK(oe.status == 0 && oe.error.find("UNAVAILABLE") != std::string::npos);
  WEFT_CO_CHECK(calls->load() == 2);
  co_return absl::OkStatus();
}

Task<absl::Status> realm_sync_and_service_validators() {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto sync = mw::BearerAuthLayer([](std::string_view token) -> absl::StatusOr<User> {
                if (token == "s3cr3t") return User{"sync"};
                return absl::NotFoundError("no such token");
              })
                  .realm("my \"api\"")
                  .layer(handler(calls));
  Task<Outcome> a = send(&sync, {{"authorization", "Bearer s3cr3t"}});
  Outcome oa = co_await std::move(a);
  WEFT_CO_CHECK(oa.status == 200 && oa.body == "hello sync");
  Task<Outcome> b = send(&sync, {});
  Outcome ob = co_await std::move(b);
  WEFT_CO_CHECK(ob.status == 401 && ob.www == "Bearer realm=\"my \\\"api\\\"\"");
  Task<Outcome> c = send(&sync, {{"authorization", "Bearer nope"}});
  Outcome oc = co_await std::move(c);
  WEFT_CO_CHECK(oc.status == 401 &&
                oc.www == "Bearer realm=\"my \\\"api\\\"\", error=\"invalid_token\"");

  // A tower Service as the validator, through a (non-coroutine) lambda.
  auto token_service = tower::service_fn([](std::string token) -> Task<absl::StatusOr<User>> {
    co_await weft::yield_now();
    if (token == "svc-token") co_return User{"from-service"};
    co_return absl::UnauthenticatedError("bad");
  });
  auto via_service = mw::BearerAuthLayer([token_service](std::string_view token) {
                       return tower::oneshot(token_service, std::string(token));
                     }).layer(handler(calls));
  Task<Outcome> d = send(&via_service, {{"authorization", "Bearer svc-token"}});
  Outcome od = co_await std::move(d);
  WEFT_CO_CHECK(od.status == 200 && od.body == "hello from-service");
  Task<Outcome> e = send(&via_service, {{"authorization", "Bearer other"}});
  Outcome oe = co_await std::move(e);
  WEFT_CO_CHECK(oe.status == 401);
  co_return absl::OkStatus();
}

}  // namespace

static_assert(
    mw::HttpService<decltype(mw::BearerAuthLayer(&check_token)
                                 .layer(handler(std::make_shared<std::atomic<int>>(0))))>);

BOOST_AUTO_TEST_CASE(token_parsing) {
  http::HeaderMap h;
  BOOST_TEST(!mw::bearer_token(h).has_value());
  (void)h.insert("authorization", "Bearer abc-._~+/09==");
  BOOST_TEST(mw::bearer_token(h).value() == "abc-._~+/09==");
  (void)h.insert("authorization", "Digest x");
  BOOST_TEST(!mw::bearer_token(h).has_value());
  (void)h.insert("authorization", "BEARER");
  BOOST_TEST(mw::bearer_token(h).value().empty());
  BOOST_TEST(
      (mw::classify_auth_failure(absl::PermissionDeniedError("")) == mw::AuthFailure::kForbidden));
  BOOST_TEST((mw::classify_auth_failure(absl::InvalidArgumentError("")) ==
              mw::AuthFailure::kUnauthorized));
  BOOST_TEST((mw::classify_auth_failure(absl::DeadlineExceededError("")) ==
              mw::AuthFailure::kPassThrough));
}

BOOST_AUTO_TEST_CASE(missing_or_malformed_credentials_401) {
  absl::Status s = t::run_in_all_flavors(&unauthenticated_requests);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(validator_decides) {
  absl::Status s = t::run_in_all_flavors(&validator_verdicts);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(realm_sync_and_service_validators_work) {
  absl::Status s = t::run_in_all_flavors(&realm_sync_and_service_validators);
  BOOST_TEST(s.ok(), s);
}
