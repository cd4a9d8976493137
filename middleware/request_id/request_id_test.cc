// SetRequestIdLayer: an absent id is made (32 hex digits, unique, also under concurrency), a valid
// one kept, an invalid one replaced; the id reaches the handler as header and RequestId extension
// and goes back on the response unless the handler set its own; errors pass through; custom
// generators and header names; RandomRequestId.
#define BOOST_TEST_MODULE request_id_test
#include "weft/middleware/request_id/request_id.h"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "weft/middleware/detail/testing.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/tower/service_builder.h"
#include "weft/tower/service_fn.h"

using weft::Task;
namespace http = weft::http;
namespace tower = weft::tower;
namespace mw = weft::middleware;
namespace t = weft::middleware::testing;
using mw::HttpRequest;
using mw::HttpResponse;

namespace {

// What the handler saw: the header and the extension.
struct Seen {
  std::mutex mu;
  std::vector<std::string> headers;     // every x-request-id value
  std::vector<std::string> extensions;  // RequestId, "<none>" if missing
};

auto recording_handler(std::shared_ptr<Seen> seen, bool set_own = false) {
  return tower::service_fn([seen, set_own](HttpRequest req) -> absl::StatusOr<HttpResponse> {
    {
      std::lock_guard<std::mutex> lock(seen->mu);
      for (const http::HeaderValue& v : req.headers().values("x-request-id")) {
        seen->headers.emplace_back(v.as_str());
      }
      const mw::RequestId* id = req.extensions().get<mw::RequestId>();
      seen->extensions.emplace_back(id != nullptr ? std::string(id->as_str()) : "<none>");
    }
    if (req.uri().path() == "/fail") return absl::UnavailableError("down");
    HttpResponse resp(http::Body("ok"));
    if (set_own)
      resp.headers().insert(http::header::X_REQUEST_ID, http::HeaderValue::from_static("own"));
    return resp;
  });
}

bool is_hex32(std::string_view s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Task<absl::Status> absent_id_is_made_and_propagated() {
  auto seen = std::make_shared<Seen>();
  auto svc =
      tower::ServiceBuilder().layer(mw::SetRequestIdLayer()).service(recording_handler(seen));
  auto r_call = tower::oneshot(svc, t::request(http::Method::GET, "/"));
  absl::StatusOr<HttpResponse> r = co_await std::move(r_call);
  WEFT_CO_CHECK(r.ok());
  std::string sent = t::header(r->headers(), "x-request-id");
  WEFT_CO_CHECK(is_hex32(sent));
  WEFT_CO_CHECK(seen->headers.size() == 1 && seen->headers[0] == sent);
  WEFT_CO_CHECK(seen->extensions.size() == 1 && seen->extensions[0] == sent);
  // The next one differs.
  auto r2_call = tower::oneshot(svc, t::request(http::Method::GET, "/"));
  absl::StatusOr<HttpResponse> r2 = co_await std::move(r2_call);
  WEFT_CO_CHECK(r2.ok());
  std::string sent2 = t::header(r2->headers(), "x-request-id");
  WEFT_CO_CHECK(is_hex32(sent2) && sent2 != sent);
  // Same process: same prefix, the counter moved on.
  WEFT_CO_CHECK(sent.substr(0, 16) == sent2.substr(0, 16));
  co_return absl::OkStatus();
}

Task<absl::Status> valid_id_is_kept() {
  auto seen = std::make_shared<Seen>();
  auto svc =
      tower::ServiceBuilder().layer(mw::SetRequestIdLayer()).service(recording_handler(seen));
  const std::string uuid = "6f1c2a3e-9b7d-4e21-8c55-0a1b2c3d4e5f";
  auto r_call = tower::oneshot(
      svc,
      t::request(http::Method::GET, "/", {{"X-Request-Id", uuid}, {"x-request-id", "second"}}));
  absl::StatusOr<HttpResponse> r = co_await std::move(r_call);
  WEFT_CO_CHECK(r.ok());
  WEFT_CO_CHECK(t::header(r->headers(), "x-request-id") == uuid);
  // Exactly one value reaches the handler: the first one.
  WEFT_CO_CHECK(seen->headers.size() == 1 && seen->headers[0] == uuid);
  WEFT_CO_CHECK(seen->extensions[0] == uuid);
  co_return absl::OkStatus();
}

Task<absl::Status> invalid_id_is_replaced() {
  auto seen = std::make_shared<Seen>();
  auto svc =
      tower::ServiceBuilder().layer(mw::SetRequestIdLayer()).service(recording_handler(seen));
  const std::vector<std::string> bad = {"has space", "quote\"d", std::string(129, 'a'),
                                        "",          "a,b",      "x\\y"};
  for (const std::string& b : bad) {
    auto r_call = tower::oneshot(svc, t::request(http::Method::GET, "/", {{"x-request-id", b}}));
    absl::StatusOr<HttpResponse> r = co_await std::move(r_call);
    WEFT_CO_CHECK(r.ok());
    WEFT_CO_CHECK(is_hex32(t::header(r->headers(), "x-request-id")));
  }
  for (const std::string& h : seen->headers) WEFT_CO_CHECK(is_hex32(h));
  WEFT_CO_CHECK(seen->headers.size() == bad.size());
  // The longest accepted id.
  std::string longest(mw::kMaxRequestIdLength, 'z');
  auto r_call =
      tower::oneshot(svc, t::request(http::Method::GET, "/", {{"x-request-id", longest}}));
  absl::StatusOr<HttpResponse> r = co_await std::move(r_call);
  WEFT_CO_CHECK(r.ok() && t::header(r->headers(), "x-request-id") == longest);
  co_return absl::OkStatus();
}

Task<absl::Status> accept_incoming_false_always_makes_one() {
  auto seen = std::make_shared<Seen>();
  auto svc = tower::ServiceBuilder()
                 .layer(mw::SetRequestIdLayer().accept_incoming(false))
                 .service(recording_handler(seen));
  auto r_call = tower::oneshot(svc, t::request(http::Method::GET, "/", {{"x-request-id", "abc"}}));
  absl::StatusOr<HttpResponse> r = co_await std::move(r_call);
  WEFT_CO_CHECK(r.ok());
  std::string id = t::header(r->headers(), "x-request-id");
  WEFT_CO_CHECK(is_hex32(id));
  WEFT_CO_CHECK(seen->headers.size() == 1 && seen->headers[0] == id);
  co_return absl::OkStatus();
}

Task<absl::Status> handler_id_and_errors_pass_through() {
  auto seen = std::make_shared<Seen>();
  auto svc = tower::ServiceBuilder()
                 .layer(mw::SetRequestIdLayer())
                 .service(recording_handler(seen, /*set_own=*/true));
  auto r_call = tower::oneshot(svc, t::request(http::Method::GET, "/", {{"x-request-id", "abc"}}));
  absl::StatusOr<HttpResponse> r = co_await std::move(r_call);
  WEFT_CO_CHECK(r.ok());
  WEFT_CO_CHECK(r->headers().get_all("x-request-id").size() == 1);
  WEFT_CO_CHECK(t::header(r->headers(), "x-request-id") == "own");
  auto e_call = tower::oneshot(svc, t::request(http::Method::GET, "/fail"));
  absl::StatusOr<HttpResponse> e = co_await std::move(e_call);
  WEFT_CO_CHECK(absl::IsUnavailable(e.status()));
  WEFT_CO_CHECK(seen->extensions.size() == 2 && seen->extensions[1] != "<none>");
  co_return absl::OkStatus();
}

template <class S>
Task<absl::StatusOr<std::string>> one_id(const S* svc) {
  auto call = tower::oneshot(*svc, t::request(http::Method::GET, "/"));
  absl::StatusOr<HttpResponse> r = co_await std::move(call);
  if (!r.ok()) co_return r.status();
  co_return t::header(r->headers(), "x-request-id");
}

Task<absl::Status> ids_are_unique_under_concurrency() {
  auto seen = std::make_shared<Seen>();
  auto svc =
      tower::ServiceBuilder().layer(mw::SetRequestIdLayer()).service(recording_handler(seen));
  std::vector<weft::JoinHandle<absl::StatusOr<std::string>>> hs;
  constexpr int kN = 400;
  for (int i = 0; i < kN; ++i) hs.push_back(weft::spawn(one_id(&svc)));
  std::set<std::string> ids;
  for (auto& h : hs) {
    absl::StatusOr<absl::StatusOr<std::string>> r = co_await h;
    WEFT_CO_CHECK(r.ok() && r->ok());
    ids.insert(**r);
  }
  WEFT_CO_CHECK(ids.size() == kN);
  co_return absl::OkStatus();
}

struct FixedId {
  std::string operator()() const { return "fixed-id"; }
};
struct BadId {
  std::string operator()() const { return "bad\r\nid"; }
};

Task<absl::Status> custom_generator_and_header() {
  auto seen = std::make_shared<Seen>();
  auto svc = tower::ServiceBuilder()
                 .layer(mw::SetRequestIdLayer(FixedId()).header(
                     http::HeaderName::from_static("x-correlation-id")))
                 .service(recording_handler(seen));
  auto r_call = tower::oneshot(svc, t::request(http::Method::GET, "/"));
  absl::StatusOr<HttpResponse> r = co_await std::move(r_call);
  WEFT_CO_CHECK(r.ok());
  WEFT_CO_CHECK(t::header(r->headers(), "x-correlation-id") == "fixed-id");
  WEFT_CO_CHECK(!r->headers().contains("x-request-id"));
  WEFT_CO_CHECK(seen->extensions[0] == "fixed-id");

  // A generator making an unusable value: the default id is used instead.
  auto bad = tower::ServiceBuilder()
                 .layer(mw::SetRequestIdLayer(BadId()))
                 .service(recording_handler(seen));
  auto b_call = tower::oneshot(bad, t::request(http::Method::GET, "/"));
  absl::StatusOr<HttpResponse> b = co_await std::move(b_call);
  WEFT_CO_CHECK(b.ok() && is_hex32(t::header(b->headers(), "x-request-id")));

  // RandomRequestId.
  auto rnd = tower::ServiceBuilder()
                 .layer(mw::SetRequestIdLayer(mw::RandomRequestId()))
                 .service(recording_handler(seen));
  auto x_call = tower::oneshot(rnd, t::request(http::Method::GET, "/"));
  absl::StatusOr<HttpResponse> x = co_await std::move(x_call);
  auto y_call = tower::oneshot(rnd, t::request(http::Method::GET, "/"));
  absl::StatusOr<HttpResponse> y = co_await std::move(y_call);
  WEFT_CO_CHECK(x.ok() && y.ok());
  std::string xi = t::header(x->headers(), "x-request-id");
  std::string yi = t::header(y->headers(), "x-request-id");
  WEFT_CO_CHECK(is_hex32(xi) && is_hex32(yi) && xi != yi);
  co_return absl::OkStatus();
}

}  // namespace

static_assert(mw::HttpService<decltype(mw::SetRequestIdLayer().layer(
                  recording_handler(std::make_shared<Seen>())))>);

BOOST_AUTO_TEST_CASE(validation) {
  BOOST_TEST(mw::is_valid_request_id("6f1c2a3e-9b7d-4e21-8c55-0a1b2c3d4e5f"));
  BOOST_TEST(mw::is_valid_request_id("Root=1-5759e988:bd862e3f/a+b@c~d_e.f"));
  BOOST_TEST(!mw::is_valid_request_id(""));
  BOOST_TEST(!mw::is_valid_request_id("a b"));
  BOOST_TEST(!mw::is_valid_request_id("a\"b"));
  BOOST_TEST(!mw::is_valid_request_id("\xc3\xa9"));
  BOOST_TEST(mw::is_valid_request_id(std::string(128, 'a')));
  BOOST_TEST(!mw::is_valid_request_id(std::string(129, 'a')));
  BOOST_TEST(is_hex32(mw::SequentialRequestId()()));
  BOOST_TEST(is_hex32(mw::RandomRequestId()()));
}

BOOST_AUTO_TEST_CASE(absent_id_is_made) {
  absl::Status s = t::run_in_all_flavors(&absent_id_is_made_and_propagated);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(valid_incoming_id_is_kept) {
  absl::Status s = t::run_in_all_flavors(&valid_id_is_kept);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(invalid_incoming_id_is_replaced) {
  absl::Status s = t::run_in_all_flavors(&invalid_id_is_replaced);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(accept_incoming_false) {
  absl::Status s = t::run_in_all_flavors(&accept_incoming_false_always_makes_one);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(handler_header_and_errors_pass_through) {
  absl::Status s = t::run_in_all_flavors(&handler_id_and_errors_pass_through);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(unique_under_concurrency) {
  absl::Status s = t::run_in_all_flavors(&ids_are_unique_under_concurrency);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(custom_generators_and_header) {
  absl::Status s = t::run_in_all_flavors(&custom_generator_and_header);
  BOOST_TEST(s.ok(), s);
}
