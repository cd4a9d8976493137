// observe_body: frames pass through unchanged, on_data sees every data frame, on_end is called
// exactly once with how the body ended (complete, error, dropped), including a full body that
// completes at its last byte.
#define BOOST_TEST_MODULE observed_body_test
#include "weft/middleware/body_observer/observed_body.h"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

#include "weft/runtime/runtime.h"
#include "weft/runtime/testing/test_runtime.h"

using weft::Task;
namespace http = weft::http;
namespace mw = weft::middleware;

namespace {

struct Log {
  std::size_t bytes = 0;
  std::vector<mw::BodyEnd> ends;
  std::string error;
};

struct Observer {
  std::shared_ptr<Log> log;
  void on_data(std::size_t n) { log->bytes += n; }
  void on_end(mw::BodyEnd end, const absl::Status& error) {
    log->ends.push_back(end);
    log->error = std::string(error.message());
  }
};

Task<absl::StatusOr<std::optional<http::Frame>>> next(http::Body& b) {
  Task<absl::StatusOr<std::optional<http::Frame>>> t = b.frame();
  co_return co_await std::move(t);
}

Task<absl::Status> cases() {
  // A full body: one frame, complete at once (is_end_stream after it), size_hint kept.
  {
    auto log = std::make_shared<Log>();
    http::Body b = mw::observe_body(http::Body("hello"), Observer{log});
    WEFT_CO_CHECK(b.is_stream() && b.size_hint() == 5u);
    absl::StatusOr<std::optional<http::Frame>> f = co_await next(b);
    WEFT_CO_CHECK(f.ok() && f->has_value() && (*f)->data == "hello");
    WEFT_CO_CHECK(log->bytes == 5 && log->ends.size() == 1 &&
                  log->ends[0] == mw::BodyEnd::kComplete);
    absl::StatusOr<std::optional<http::Frame>> end = co_await next(b);
    WEFT_CO_CHECK(end.ok() && !end->has_value() && log->ends.size() == 1);
  }
  // A stream with trailers; then one cut by an error; then one dropped.
  {
    auto log = std::make_shared<Log>();
    auto [tx, inner] = http::Body::channel(4);
    http::Body b = mw::observe_body(std::move(inner), Observer{log});
    Task<absl::Status> s1 = tx.send_data(weft::io::Bytes::from_static("abc"));
    WEFT_CO_OK(co_await std::move(s1));
    Task<absl::Status> s2 = tx.send_trailers(http::HeaderMap());
    WEFT_CO_OK(co_await std::move(s2));
    absl::StatusOr<std::optional<http::Frame>> d = co_await next(b);
    WEFT_CO_CHECK(d.ok() && (*d)->data == "abc" && log->ends.empty());
    absl::StatusOr<std::optional<http::Frame>> t = co_await next(b);
    WEFT_CO_CHECK(t.ok() && !(*t)->is_data() && log->ends.size() == 1);
    WEFT_CO_CHECK(log->ends[0] == mw::BodyEnd::kComplete && log->bytes == 3);
  }
  {
    auto log = std::make_shared<Log>();
    auto [tx, inner] = http::Body::channel(4);
    http::Body b = mw::observe_body(std::move(inner), Observer{log});
    tx.abort(absl::DataLossError("cut"));
    absl::StatusOr<std::optional<http::Frame>> e = co_await next(b);
    WEFT_CO_CHECK(absl::IsDataLoss(e.status()));
    WEFT_CO_CHECK(log->ends.size() == 1 && log->ends[0] == mw::BodyEnd::kError &&
                  log->error == "cut");
  }
  {
    auto log = std::make_shared<Log>();
    auto [tx, inner] = http::Body::channel(4);
    { http::Body b = mw::observe_body(std::move(inner), Observer{log}); }
    WEFT_CO_CHECK(log->ends.size() == 1 && log->ends[0] == mw::BodyEnd::kDropped);
  }
  co_return absl::OkStatus();
}

}  // namespace

BOOST_AUTO_TEST_CASE(observes) {
  auto rt = weft::testing::make_runtime();
  absl::Status s = rt.block_on(cases());
  BOOST_TEST(s.ok(), s.ToString());
}
