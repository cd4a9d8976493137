// RequestBodyLimitLayer: a declared size over the limit (content-length / size hint / full body)
// is answered 413 without calling the handler or reading one byte; a streamed body is cut off
// at limit + 1 (the handler's collect fails, later reads fail without reading the stream) and the
// answer is 413 whatever the handler returned; bodies at or under the limit pass untouched.
#define BOOST_TEST_MODULE request_body_limit_test
#include "weft/middleware/limit/request_body_limit.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <mutex>
#include <string>

#include "weft/http/status_code.h"
#include "weft/middleware/detail/testing.h"
#include "weft/runtime/io/bytes.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/tower/service_builder.h"

using weft::Task;
namespace http = weft::http;
namespace io = weft::io;
namespace tower = weft::tower;
namespace mw = weft::middleware;
namespace t = weft::middleware::testing;
using mw::HttpRequest;
using mw::HttpResponse;

namespace {

// `frames` frames of `chunk` bytes, then the end; counts the reads; optional size hint.
class CountingSource final : public http::BodySource {
 public:
  CountingSource(int frames, std::size_t chunk, std::optional<uint64_t> hint)
      : frames_(frames), chunk_(chunk), hint_(hint) {}
  Task<absl::StatusOr<std::optional<http::Frame>>> next_frame() override {
    reads.fetch_add(1);
    co_await weft::yield_now();
    if (sent_ == frames_) co_return std::optional<http::Frame>();
    ++sent_;
    co_return std::optional<http::Frame>(
        http::Frame::of_data(io::Bytes::from(std::string(chunk_, 'x'))));
  }
  std::optional<uint64_t> size_hint() const override { return hint_; }
  std::atomic<int> reads{0};

 private:
  int frames_;
  std::size_t chunk_;
  std::optional<uint64_t> hint_;
  int sent_ = 0;
};

struct Seen {
  std::atomic<int> calls{0};
  std::mutex mu;
  std::string collect_status;  // what the handler's collect gave
  std::string second_read;     // what a read after the failure gave
};

// Collects the body (up to 1 MiB, its own limit), answers 200 "<n bytes>"; on failure answers
// what `mode` says: "status" -> the error Status, "500" -> a 500 response it makes itself.
struct Collector {
  std::shared_ptr<Seen> seen;
  std::string mode = "status";
  tower::AlwaysReady ready() const { return tower::always_ready(); }
  Task<absl::StatusOr<HttpResponse>> call(tower::NoPermit, HttpRequest req) const {
    return run(seen, mode, std::move(req));
  }
  static Task<absl::StatusOr<HttpResponse>> run(std::shared_ptr<Seen> seen, std::string mode,
                                                HttpRequest req) {
    seen->calls.fetch_add(1);
    absl::StatusOr<io::Bytes> all = co_await req.body().collect(1 << 20);
    {
      std::lock_guard<std::mutex> lock(seen->mu);
      seen->collect_status = all.ok() ? "OK" : all.status().ToString();
    }
    if (all.ok()) co_return HttpResponse(http::Body(std::to_string(all->size()) + " bytes"));
    absl::StatusOr<std::optional<http::Frame>> again = co_await req.body().frame();
    {
      std::lock_guard<std::mutex> lock(seen->mu);
      seen->second_read = again.ok() ? "OK" : again.status().ToString();
    }
    if (mode == "500") {
      co_return HttpResponse(http::StatusCode::INTERNAL_SERVER_ERROR, http::Body("oops"));
    }
    co_return all.status();
  }
};

HttpRequest streamed(std::shared_ptr<CountingSource> src, std::string_view content_length = "") {
  HttpRequest req = t::request(http::Method::POST, "/upload");
  if (!content_length.empty()) (void)req.headers().insert("content-length", content_length);
  req.body() = http::Body::from_source(std::move(src));
  return req;
}

Task<absl::Status> declared_size_refused_unread() {
  auto seen = std::make_shared<Seen>();
  auto svc = mw::RequestBodyLimitLayer(100).layer(Collector{seen});
  // Size hint (what a server-received body with content-length has).
  auto src = std::make_shared<CountingSource>(1, 101, 101);
  auto c1 = tower::oneshot(svc, streamed(src));
  absl::StatusOr<HttpResponse> r = co_await std::move(c1);
  WEFT_CO_CHECK(r.ok() && r->status() == http::StatusCode::PAYLOAD_TOO_LARGE);
  WEFT_CO_CHECK(src->reads.load() == 0);
  std::string text = co_await t::body_text(*std::move(r));
  WEFT_CO_CHECK(text == "Payload Too Large\n");
  // The header alone (a hand-made body without a hint); a huge value.
  auto src2 = std::make_shared<CountingSource>(1, 10, std::nullopt);
  auto c2 = tower::oneshot(svc, streamed(src2, "5000000"));
  absl::StatusOr<HttpResponse> r2 = co_await std::move(c2);
  WEFT_CO_CHECK(r2.ok() && r2->status() == http::StatusCode::PAYLOAD_TOO_LARGE);
  auto c3 = tower::oneshot(svc, streamed(src2, "99999999999999999999999"));
  absl::StatusOr<HttpResponse> r3 = co_await std::move(c3);
  WEFT_CO_CHECK(r3.ok() && r3->status() == http::StatusCode::PAYLOAD_TOO_LARGE);
  WEFT_CO_CHECK(src2->reads.load() == 0);
  // A full body.
  auto c4 = tower::oneshot(
      svc, t::request(http::Method::POST, "/", {}, http::Body(std::string(101, 'y'))));
  absl::StatusOr<HttpResponse> r4 = co_await std::move(c4);
  WEFT_CO_CHECK(r4.ok() && r4->status() == http::StatusCode::PAYLOAD_TOO_LARGE);
  WEFT_CO_CHECK(seen->calls.load() == 0);
  co_return absl::OkStatus();
}

Task<absl::Status> within_limit_passes() {
  auto seen = std::make_shared<Seen>();
  auto svc = mw::RequestBodyLimitLayer(100).layer(Collector{seen});
  // Exactly the limit, streamed without a hint (10 x 10).
  auto src = std::make_shared<CountingSource>(10, 10, std::nullopt);
  auto c1 = tower::oneshot(svc, streamed(src));
  absl::StatusOr<HttpResponse> r = co_await std::move(c1);
  WEFT_CO_CHECK(r.ok() && r->status() == http::StatusCode::OK);
  std::string text = co_await t::body_text(*std::move(r));
  WEFT_CO_CHECK(text == "100 bytes");
  // A full body at the limit; an empty one; with a matching content-length.
  auto c2 = tower::oneshot(svc, t::request(http::Method::POST, "/", {{"content-length", "100"}},
                                           http::Body(std::string(100, 'y'))));
  absl::StatusOr<HttpResponse> r2 = co_await std::move(c2);
  WEFT_CO_CHECK(r2.ok() && r2->status() == http::StatusCode::OK);
  auto c3 = tower::oneshot(svc, t::request(http::Method::GET, "/"));
  absl::StatusOr<HttpResponse> r3 = co_await std::move(c3);
  WEFT_CO_CHECK(r3.ok() && r3->status() == http::StatusCode::OK);
  WEFT_CO_CHECK(seen->calls.load() == 3 && seen->collect_status == "OK");
  co_return absl::OkStatus();
}

Task<absl::Status> stream_cut_off_and_413() {
  auto seen = std::make_shared<Seen>();
  auto svc = mw::RequestBodyLimitLayer(100).layer(Collector{seen});
  // 1000 frames of 30 bytes, no hint: the 4th frame crosses 100.
  auto src = std::make_shared<CountingSource>(1000, 30, std::nullopt);
  auto c1 = tower::oneshot(svc, streamed(src));
  absl::StatusOr<HttpResponse> r = co_await std::move(c1);
  WEFT_CO_CHECK(r.ok() && r->status() == http::StatusCode::PAYLOAD_TOO_LARGE);
  WEFT_CO_CHECK(seen->calls.load() == 1);
  WEFT_CO_CHECK(seen->collect_status.find("RESOURCE_EXHAUSTED") != std::string::npos);
  WEFT_CO_CHECK(seen->collect_status.find("larger than 100 bytes") != std::string::npos);
  WEFT_CO_CHECK(seen->second_read.find("RESOURCE_EXHAUSTED") != std::string::npos);
  WEFT_CO_CHECK(src->reads.load() == 4);  // not one read more: the rest is never read

  // The handler turns the error into its own 500: still 413.
  auto seen2 = std::make_shared<Seen>();
  auto svc2 = mw::RequestBodyLimitLayer(100).layer(Collector{seen2, "500"});
  auto src2 = std::make_shared<CountingSource>(1000, 64, std::nullopt);
  auto c2 = tower::oneshot(svc2, streamed(src2));
  absl::StatusOr<HttpResponse> r2 = co_await std::move(c2);
  WEFT_CO_CHECK(r2.ok() && r2->status() == http::StatusCode::PAYLOAD_TOO_LARGE);
  WEFT_CO_CHECK(src2->reads.load() == 2);

  // A lying size hint (says 50, sends more) is caught by the stream check.
  auto src3 = std::make_shared<CountingSource>(1000, 64, 50);
  auto c3 = tower::oneshot(svc, streamed(src3));
  absl::StatusOr<HttpResponse> r3 = co_await std::move(c3);
  WEFT_CO_CHECK(r3.ok() && r3->status() == http::StatusCode::PAYLOAD_TOO_LARGE);
  co_return absl::OkStatus();
}

Task<absl::Status> channel_body() {
  // A Body::channel with a producer sending 10 x 50 bytes; the limit is 120.
  auto seen = std::make_shared<Seen>();
  auto svc = mw::RequestBodyLimitLayer(120).layer(Collector{seen});
  std::pair<http::BodySender, http::Body> ch = http::Body::channel(2);
  auto producer = [](http::BodySender tx) -> Task<int> {
    int sent = 0;
    for (int i = 0; i < 10; ++i) {
      absl::Status s = co_await tx.send_data(io::Bytes::from(std::string(50, 'z')));
      if (!s.ok()) break;
      ++sent;
    }
    co_return sent;
  };
  weft::JoinHandle<int> h = weft::spawn(producer(std::move(ch.first)));
  HttpRequest req = t::request(http::Method::POST, "/");
  req.body() = std::move(ch.second);
  auto c1 = tower::oneshot(svc, std::move(req));
  absl::StatusOr<HttpResponse> r = co_await std::move(c1);
  WEFT_CO_CHECK(r.ok() && r->status() == http::StatusCode::PAYLOAD_TOO_LARGE);
  absl::StatusOr<int> sent = co_await h;
  // The receiver went away with the request: the producer stopped early.
  WEFT_CO_CHECK(sent.ok() && *sent < 10);
  co_return absl::OkStatus();
}

}  // namespace

static_assert(mw::HttpService<mw::RequestBodyLimit<Collector>>);

BOOST_AUTO_TEST_CASE(declared_size_over_limit_is_413_unread) {
  absl::Status s = t::run_in_all_flavors(&declared_size_refused_unread);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(bodies_within_the_limit_pass) {
  absl::Status s = t::run_in_all_flavors(&within_limit_passes);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(streamed_body_cut_off_then_413) {
  absl::Status s = t::run_in_all_flavors(&stream_cut_off_and_413);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(channel_body_producer_stops) {
  absl::Status s = t::run_in_all_flavors(&channel_body);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(declared_size_helper) {
  auto req = t::request(http::Method::POST, "/", {{"content-length", "10"}});
  BOOST_TEST(!mw::declared_body_too_large(req, 10));
  BOOST_TEST(mw::declared_body_too_large(req, 9));
  auto junk = t::request(http::Method::POST, "/", {{"content-length", "1x"}});
  BOOST_TEST(!mw::declared_body_too_large(junk, 0));  // left to the stream check
}
