// NormalizePathLayer: the normal form of paths (table); rewrite mode reaches a Router's `/a/b`
// route from `/a/b/` and `//a//b` with the query kept; redirect mode answers 308 with the
// location and never calls the inner service, and passes normal paths; absolute-form targets
// keep their authority; `*` is untouched.
#define BOOST_TEST_MODULE normalize_path_test
#include "weft/middleware/normalize_path/normalize_path.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>

#include "weft/http/router.h"
#include "weft/http/status_code.h"
#include "weft/middleware/detail/testing.h"
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

// Answers with the URI it saw.
auto echo_uri(std::shared_ptr<std::atomic<int>> calls) {
  return tower::service_fn([calls](HttpRequest req) -> absl::StatusOr<HttpResponse> {
    calls->fetch_add(1);
    return HttpResponse(http::Body(req.uri().to_string()));
  });
}

http::Router router() {
  http::Router r;
  r.get("/a/b", [](HttpRequest req) -> absl::StatusOr<HttpResponse> {
    return HttpResponse(http::Body("ab?" + std::string(req.uri().query())));
  });
  r.get("/", [](HttpRequest) -> absl::StatusOr<HttpResponse> {
    return HttpResponse(http::Body("root"));
  });
  return r;
}

template <class S>
Task<std::string> fetch(const S* svc, std::string target) {
  absl::StatusOr<HttpResponse> r =
      co_await tower::oneshot(*svc, t::request(http::Method::GET, target));
  if (!r.ok()) co_return "<" + r.status().ToString() + ">";
  std::string status = std::to_string(r->status().as_u16());
  std::string body = co_await t::body_text(*std::move(r));
  co_return status + " " + body;
}

Task<absl::Status> rewrite_reaches_the_route() {
  auto svc = mw::NormalizePathLayer::trim_trailing_slash().layer(router());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/a/b", "200 ab?"},
      {"/a/b/", "200 ab?"},
      {"//a//b", "200 ab?"},
      {"/a/b//?x=1", "200 ab?x=1"},
      {"///a///b///?q=/a//b/", "200 ab?q=/a//b/"},
      {"/", "200 root"},
      {"//", "200 root"},
      {"/a/c/", "404 Not Found"},
  };
  for (const std::pair<std::string, std::string>& c : cases) {
    Task<std::string> f = fetch(&svc, c.first);
    std::string got = co_await std::move(f);
    if (got != c.second) co_return absl::InternalError(c.first + ": got " + got);
  }
  co_return absl::OkStatus();
}

Task<absl::Status> redirect_mode() {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto svc = mw::NormalizePathLayer::redirect_trailing_slash().layer(echo_uri(calls));
  auto c1 = tower::oneshot(svc, t::request(http::Method::POST, "/a//b/?x=1&y=%2F"));
  absl::StatusOr<HttpResponse> r = co_await std::move(c1);
  WEFT_CO_CHECK(r.ok());
  WEFT_CO_CHECK(r->status() == http::StatusCode::PERMANENT_REDIRECT);
  WEFT_CO_CHECK(t::header(r->headers(), "location") == "/a/b?x=1&y=%2F");
  WEFT_CO_CHECK(calls->load() == 0);
  // A normal path is served as is.
  auto c2 = tower::oneshot(svc, t::request(http::Method::GET, "/a/b?x=1"));
  absl::StatusOr<HttpResponse> ok = co_await std::move(c2);
  WEFT_CO_CHECK(ok.ok() && ok->status() == http::StatusCode::OK);
  std::string body = co_await t::body_text(*std::move(ok));
  WEFT_CO_CHECK(body == "/a/b?x=1");
  WEFT_CO_CHECK(calls->load() == 1);
  // Absolute form: the location is the path and query.
  auto c3 = tower::oneshot(svc, t::request(http::Method::GET, "http://example.com:8080/x/"));
  absl::StatusOr<HttpResponse> abs = co_await std::move(c3);
  WEFT_CO_CHECK(abs.ok() && abs->status() == http::StatusCode::PERMANENT_REDIRECT);
  WEFT_CO_CHECK(t::header(abs->headers(), "location") == "/x");
  co_return absl::OkStatus();
}

Task<absl::Status> other_forms() {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto svc = mw::NormalizePathLayer::trim_trailing_slash().layer(echo_uri(calls));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"http://example.com:8080//x//y/?q", "200 http://example.com:8080/x/y?q"},
      {"http://example.com", "200 http://example.com/"},
      {"*", "200 *"},
      {"example.com:443", "200 example.com:443"},
      {"/%2F/", "200 /%2F"},
  };
  for (const std::pair<std::string, std::string>& c : cases) {
    Task<std::string> f = fetch(&svc, c.first);
    std::string got = co_await std::move(f);
    if (got != c.second) co_return absl::InternalError(c.first + ": got " + got);
  }
  co_return absl::OkStatus();
}

}  // namespace

BOOST_AUTO_TEST_CASE(normal_form) {
  BOOST_TEST(!mw::normalize_path("/").has_value());
  BOOST_TEST(!mw::normalize_path("/a/b").has_value());
  BOOST_TEST(!mw::normalize_path("/a.b/c-d").has_value());
  BOOST_TEST(mw::normalize_path("/a/b/").value() == "/a/b");
  BOOST_TEST(mw::normalize_path("//a//b").value() == "/a/b");
  BOOST_TEST(mw::normalize_path("//a//b//").value() == "/a/b");
  BOOST_TEST(mw::normalize_path("//").value() == "/");
  BOOST_TEST(mw::normalize_path("///").value() == "/");
  BOOST_TEST(mw::normalize_path("").value() == "/");
  BOOST_TEST(mw::normalize_path("a/b/").value() == "/a/b");
  BOOST_TEST(mw::normalize_path("/a/./b/").value() == "/a/./b");  // dot segments are kept
}

BOOST_AUTO_TEST_CASE(rewrite_mode) {
  absl::Status s = t::run_in_all_flavors(&rewrite_reaches_the_route);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(redirect_mode_answers_308) {
  absl::Status s = t::run_in_all_flavors(&redirect_mode);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(absolute_authority_and_asterisk_forms) {
  absl::Status s = t::run_in_all_flavors(&other_forms);
  BOOST_TEST(s.ok(), s);
}
