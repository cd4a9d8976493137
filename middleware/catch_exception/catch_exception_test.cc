// CatchExceptionLayer: exceptions thrown by call() itself and by the awaited call (after a
// suspension), std and non-std, become 500 with a fixed body and without the text, which goes to
// the callback (a throwing callback changes nothing); successes and error Statuses pass through;
// no callback needed.
#define BOOST_TEST_MODULE catch_exception_test
#include "weft/middleware/catch_exception/catch_exception.h"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <mutex>
#include <stdexcept>
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

// /sync throws from call(), /async after suspending, /int throws an int, /status fails, else 200.
struct Thrower {
  tower::AlwaysReady ready() const { return tower::always_ready(); }
  Task<absl::StatusOr<HttpResponse>> call(tower::NoPermit, HttpRequest req) const {
    if (req.uri().path() == "/sync") throw std::runtime_error("secret: /etc/db.conf");
    return run(std::move(req));
  }
  static Task<absl::StatusOr<HttpResponse>> run(HttpRequest req) {
    co_await weft::yield_now();
    co_await weft::time::sleep(1ms);
    if (req.uri().path() == "/async") throw std::logic_error("password=hunter2");
    if (req.uri().path() == "/int") throw 42;
    if (req.uri().path() == "/status") co_return absl::PermissionDeniedError("no");
    co_return HttpResponse(http::Body("fine"));
  }
};

struct Log {
  std::mutex mu;
  std::vector<std::string> lines;
};

struct Logger {
  std::shared_ptr<Log> log;
  void operator()(std::string_view what) const {
    std::lock_guard<std::mutex> lock(log->mu);
    log->lines.emplace_back(what);
  }
};

struct ThrowingLogger {
  void operator()(std::string_view) const { throw std::runtime_error("logger broke"); }
};

template <class S>
Task<std::string> fetch(const S* svc, std::string path) {
  absl::StatusOr<HttpResponse> r =
      co_await tower::oneshot(*svc, t::request(http::Method::GET, path));
  if (!r.ok()) co_return "<" + r.status().ToString() + ">";
  std::string head =
      std::to_string(r->status().as_u16()) + " " + t::header(r->headers(), "content-type");
  std::string body = co_await t::body_text(*std::move(r));
  co_return head + " " + body;
}

Task<absl::Status> exceptions_become_500() {
  auto log = std::make_shared<Log>();
  auto svc = mw::CatchExceptionLayer(Logger{log}).layer(Thrower{});
  const std::string k500 = "500 text/plain; charset=utf-8 Internal Server Error\n";
  Task<std::string> a = fetch(&svc, "/sync");
  std::string ra = co_await std::move(a);
  WEFT_CO_CHECK(ra == k500);
  Task<std::string> b = fetch(&svc, "/async");
  std::string rb = co_await std::move(b);
  WEFT_CO_CHECK(rb == k500);
  Task<std::string> c = fetch(&svc, "/int");
  std::string rc = co_await std::move(c);
  WEFT_CO_CHECK(rc == k500);
  WEFT_CO_CHECK(log->lines.size() == 3);
  WEFT_CO_CHECK(log->lines[0] == "secret: /etc/db.conf");
  WEFT_CO_CHECK(log->lines[1] == "password=hunter2");
  WEFT_CO_CHECK(log->lines[2] == "unknown exception");
  // Success and error Status pass through, nothing logged.
  Task<std::string> d = fetch(&svc, "/ok");
  std::string rd = co_await std::move(d);
  WEFT_CO_CHECK(rd == "200  fine");
  Task<std::string> e = fetch(&svc, "/status");
  std::string re = co_await std::move(e);
  WEFT_CO_CHECK(re.find("PERMISSION_DENIED") != std::string::npos);
  WEFT_CO_CHECK(log->lines.size() == 3);
  co_return absl::OkStatus();
}

Task<absl::Status> no_callback_and_throwing_callback() {
  auto quiet = tower::ServiceBuilder().layer(mw::CatchExceptionLayer()).service(Thrower{});
  Task<std::string> a = fetch(&quiet, "/async");
  std::string ra = co_await std::move(a);
  WEFT_CO_CHECK(ra.starts_with("500 "));
  auto broken = mw::CatchExceptionLayer(ThrowingLogger{}).layer(Thrower{});
  Task<std::string> b = fetch(&broken, "/sync");
  std::string rb = co_await std::move(b);
  WEFT_CO_CHECK(rb.starts_with("500 "));
  // A sync service_fn that throws inside call().
  auto sync = mw::CatchExceptionLayer().layer(tower::service_fn(
      [](HttpRequest) -> absl::StatusOr<HttpResponse> { throw std::out_of_range("index 7"); }));
  Task<std::string> c = fetch(&sync, "/");
  std::string rc = co_await std::move(c);
  WEFT_CO_CHECK(rc.starts_with("500 "));
  co_return absl::OkStatus();
}

}  // namespace

static_assert(mw::HttpService<decltype(mw::CatchExceptionLayer().layer(Thrower{}))>);

BOOST_AUTO_TEST_CASE(exceptions_become_500_without_their_text) {
  absl::Status s = t::run_in_all_flavors(&exceptions_become_500);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(callbacks_optional_and_may_throw) {
  absl::Status s = t::run_in_all_flavors(&no_callback_and_throwing_callback);
  BOOST_TEST(s.ok(), s);
}
