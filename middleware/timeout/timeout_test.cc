// middleware::TimeoutLayer: a fast call passes unchanged; a slow one is answered 503 within
// bounded time and its frame is destroyed before the caller resumes; the status is configurable
// (408); an inner DEADLINE_EXCEEDED stays an error; inner errors and exceptions propagate;
// CatchExceptionLayer outside turns the exception into 500.
#define BOOST_TEST_MODULE http_timeout_test
#include "weft/middleware/timeout/timeout.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "weft/http/status_code.h"
#include "weft/middleware/catch_exception/catch_exception.h"
#include "weft/middleware/detail/testing.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/time/sleep.h"
#include "weft/tower/service_builder.h"

using weft::Task;
using namespace std::chrono_literals;
namespace http = weft::http;
namespace tower = weft::tower;
namespace mw = weft::middleware;
namespace t = weft::middleware::testing;
using mw::HttpRequest;
using mw::HttpResponse;

namespace {

// /sleep/<ms>: answers after that long; /deadline fails DEADLINE_EXCEEDED; /throw throws after
// a suspension; /bad fails INVALID_ARGUMENT. Counts frames destroyed.
struct Slow {
  std::shared_ptr<std::atomic<int>> dropped = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> finished = std::make_shared<std::atomic<int>>(0);
  tower::AlwaysReady ready() const { return tower::always_ready(); }
  Task<absl::StatusOr<HttpResponse>> call(tower::NoPermit, HttpRequest req) const {
    return run(dropped, finished, std::move(req));
  }
  static Task<absl::StatusOr<HttpResponse>> run(std::shared_ptr<std::atomic<int>> dropped,
                                                std::shared_ptr<std::atomic<int>> finished,
                                                HttpRequest req) {
    weft::testing::DropCounter on_drop(dropped);
    std::string_view path = req.uri().path();
    if (path == "/deadline") co_return absl::DeadlineExceededError("upstream");
    if (path == "/bad") co_return absl::InvalidArgumentError("bad");
    if (path == "/throw") {
      co_await weft::time::sleep(1ms);
      throw std::runtime_error("boom");
    }
    int ms = path.starts_with("/sleep/") ? std::stoi(std::string(path.substr(7))) : 0;
    co_await weft::time::sleep(std::chrono::milliseconds(ms));
    finished->fetch_add(1);
    co_return HttpResponse(http::Body("slept"));
  }
};

Task<absl::Status> fast_passes_slow_is_503() {
  Slow inner;
  auto svc = tower::ServiceBuilder().layer(mw::TimeoutLayer(200ms)).service(inner);
  auto c1 = tower::oneshot(svc, t::request(http::Method::GET, "/sleep/1"));
  absl::StatusOr<HttpResponse> fast = co_await std::move(c1);
  WEFT_CO_CHECK(fast.ok() && fast->status() == http::StatusCode::OK);
  std::string body = co_await t::body_text(*std::move(fast));
  WEFT_CO_CHECK(body == "slept");

  auto quick = tower::ServiceBuilder().layer(mw::TimeoutLayer(20ms)).service(inner);
  const auto start = std::chrono::steady_clock::now();
  auto c2 = tower::oneshot(quick, t::request(http::Method::GET, "/sleep/60000"));
  absl::StatusOr<HttpResponse> slow = co_await std::move(c2);
  const auto took = std::chrono::steady_clock::now() - start;
  WEFT_CO_CHECK(slow.ok());
  WEFT_CO_CHECK(slow->status() == http::StatusCode::SERVICE_UNAVAILABLE);
  WEFT_CO_CHECK(t::header(slow->headers(), "content-type").starts_with("text/plain"));
  // Cancelled: its frame is gone (the first call's and this one's) and it never finished.
  WEFT_CO_CHECK(inner.dropped->load() == 2);
  WEFT_CO_CHECK(inner.finished->load() == 1);
  WEFT_CO_CHECK(took >= 20ms && took < 5s);
  std::string text = co_await t::body_text(*std::move(slow));
  WEFT_CO_CHECK(text == "Service Unavailable\n");
  co_return absl::OkStatus();
}

Task<absl::Status> status_is_configurable() {
  Slow inner;
  auto svc = mw::TimeoutLayer(10ms, http::StatusCode::REQUEST_TIMEOUT).layer(inner);
  auto c1 = tower::oneshot(svc, t::request(http::Method::GET, "/sleep/60000"));
  absl::StatusOr<HttpResponse> r = co_await std::move(c1);
  WEFT_CO_CHECK(r.ok() && r->status() == http::StatusCode::REQUEST_TIMEOUT);
  WEFT_CO_CHECK(inner.dropped->load() == 1);
  co_return absl::OkStatus();
}

Task<absl::Status> errors_and_exceptions_propagate() {
  Slow inner;
  auto svc = mw::TimeoutLayer(1s).layer(inner);
  // The inner service's own DEADLINE_EXCEEDED stays an error (not our 503).
  auto c1 = tower::oneshot(svc, t::request(http::Method::GET, "/deadline"));
  absl::StatusOr<HttpResponse> d = co_await std::move(c1);
  WEFT_CO_CHECK(absl::IsDeadlineExceeded(d.status()));
  auto c2 = tower::oneshot(svc, t::request(http::Method::GET, "/bad"));
  absl::StatusOr<HttpResponse> b = co_await std::move(c2);
  WEFT_CO_CHECK(absl::IsInvalidArgument(b.status()));
  bool threw = false;
  try {
    auto c3 = tower::oneshot(svc, t::request(http::Method::GET, "/throw"));
    absl::StatusOr<HttpResponse> x = co_await std::move(c3);
  } catch (const std::runtime_error&) {
    threw = true;
  }
  WEFT_CO_CHECK(threw);
  // With CatchExceptionLayer outside: a 500.
  auto caught = tower::ServiceBuilder()
                    .layer(mw::CatchExceptionLayer())
                    .layer(mw::TimeoutLayer(1s))
                    .service(inner);
  auto c4 = tower::oneshot(caught, t::request(http::Method::GET, "/throw"));
  absl::StatusOr<HttpResponse> c = co_await std::move(c4);
  WEFT_CO_CHECK(c.ok() && c->status() == http::StatusCode::INTERNAL_SERVER_ERROR);
  co_return absl::OkStatus();
}

}  // namespace

static_assert(mw::HttpService<mw::Timeout<Slow>>);

BOOST_AUTO_TEST_CASE(fast_call_passes_slow_call_gets_503) {
  absl::Status s = t::run_in_all_flavors(&fast_passes_slow_is_503);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(timeout_status_configurable) {
  absl::Status s = t::run_in_all_flavors(&status_is_configurable);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(inner_errors_and_exceptions_propagate) {
  absl::Status s = t::run_in_all_flavors(&errors_and_exceptions_propagate);
  BOOST_TEST(s.ok(), s);
}
