// Body: empty / full / streamed bodies, collect limits, the channel's backpressure, abort and
// trailers.
#define BOOST_TEST_MODULE body_test
#include "weft/http/body.h"

#include <boost/test/unit_test.hpp>
#include <string>

#include "weft/runtime/runtime.h"
#include "weft/runtime/testing/test_runtime.h"

namespace http = weft::http;
using weft::Task;
using weft::io::Bytes;

namespace {

Task<absl::Status> produce(http::BodySender tx, int n) {
  for (int i = 0; i < n; ++i) {
    absl::Status st = co_await tx.send_data(Bytes::from(std::to_string(i) + ","));
    WEFT_CO_OK(st);
  }
  co_return absl::OkStatus();
}

Task<absl::StatusOr<std::string>> collect_string(http::Body body, std::size_t limit) {
  absl::StatusOr<Bytes> b = co_await body.collect(limit);
  if (!b.ok()) co_return b.status();
  co_return b->to_string();
}

}  // namespace

BOOST_AUTO_TEST_CASE(empty_and_full_bodies_report_their_size) {
  http::Body empty;
  BOOST_TEST(empty.size_hint().value() == 0u);
  BOOST_TEST(empty.is_end_stream());
  http::Body full("hello");
  BOOST_TEST(full.is_full());
  BOOST_TEST(full.size_hint().value() == 5u);
  BOOST_TEST(!full.is_end_stream());
  http::Body from_empty_string(std::string{});
  BOOST_TEST(from_empty_string.is_end_stream());
}

BOOST_AUTO_TEST_CASE(full_body_gives_one_frame_then_the_end) {
  weft::Runtime rt = weft::testing::make_runtime();
  absl::Status st = rt.block_on([]() -> Task<absl::Status> {
    http::Body body("abc");
    absl::StatusOr<std::optional<http::Frame>> f = co_await body.frame();
    WEFT_CO_CHECK(f.ok() && f->has_value() && (*f)->data == "abc");
    absl::StatusOr<std::optional<http::Frame>> end = co_await body.frame();
    WEFT_CO_CHECK(end.ok() && !end->has_value());
    WEFT_CO_CHECK(body.is_end_stream());
    co_return absl::OkStatus();
  }());
  BOOST_TEST(st.ok(), st);
}

BOOST_AUTO_TEST_CASE(collect_joins_streamed_frames_in_order) {
  weft::Runtime rt = weft::testing::make_runtime();
  absl::StatusOr<std::string> s = rt.block_on([]() -> Task<absl::StatusOr<std::string>> {
    auto [tx, body] = http::Body::channel(2);  // smaller than the frame count: backpressure
    weft::JoinHandle<absl::Status> p = weft::spawn(produce(std::move(tx), 100));
    absl::StatusOr<std::string> all = co_await collect_string(std::move(body), 1 << 20);
    absl::StatusOr<absl::Status> sent = co_await p;
    if (!sent.ok() || !sent->ok()) co_return absl::InternalError("producer failed");
    co_return all;
  }());
  BOOST_REQUIRE(s.ok());
  std::string want;
  for (int i = 0; i < 100; ++i) want += std::to_string(i) + ",";
  BOOST_TEST(*s == want);
}

BOOST_AUTO_TEST_CASE(collect_over_the_limit_is_resource_exhausted) {
  weft::Runtime rt = weft::testing::make_runtime();
  absl::StatusOr<std::string> full = rt.block_on(collect_string(http::Body("0123456789"), 4));
  BOOST_TEST(full.status().code() == absl::StatusCode::kResourceExhausted);
  BOOST_TEST(std::string(full.status().message()) == "body larger than 4 bytes");
  absl::StatusOr<std::string> streamed = rt.block_on([]() -> Task<absl::StatusOr<std::string>> {
    auto [tx, body] = http::Body::channel(4);
    weft::spawn(produce(std::move(tx), 1000));  // stops when the receiver goes away
    co_return co_await collect_string(std::move(body), 50);
  }());
  BOOST_TEST(streamed.status().code() == absl::StatusCode::kResourceExhausted);
}

BOOST_AUTO_TEST_CASE(abort_reaches_the_reader_after_buffered_frames) {
  weft::Runtime rt = weft::testing::make_runtime();
  absl::Status st = rt.block_on([]() -> Task<absl::Status> {
    auto [tx, body] = http::Body::channel(4);
    absl::Status sent = co_await tx.send_data(Bytes::from(std::string("first")));
    WEFT_CO_OK(sent);
    tx.abort(absl::DataLossError("producer crashed"));
    absl::StatusOr<std::optional<http::Frame>> f = co_await body.frame();
    WEFT_CO_CHECK(f.ok() && f->has_value() && (*f)->data == "first");
    absl::StatusOr<std::optional<http::Frame>> err = co_await body.frame();
    WEFT_CO_CHECK(err.status().code() == absl::StatusCode::kDataLoss);
    co_return absl::OkStatus();
  }());
  BOOST_TEST(st.ok(), st);
}

BOOST_AUTO_TEST_CASE(trailers_end_the_body) {
  weft::Runtime rt = weft::testing::make_runtime();
  absl::Status st = rt.block_on([]() -> Task<absl::Status> {
    auto [tx, body] = http::Body::channel(4);
    absl::Status a = co_await tx.send_data(Bytes::from(std::string("data")));
    WEFT_CO_OK(a);
    http::HeaderMap t;
    WEFT_CO_OK(t.append("grpc-status", "0"));
    absl::Status b = co_await tx.send_trailers(std::move(t));
    WEFT_CO_OK(b);
    absl::StatusOr<std::optional<http::Frame>> d = co_await body.frame();
    WEFT_CO_CHECK(d.ok() && d->has_value() && (*d)->is_data());
    absl::StatusOr<std::optional<http::Frame>> tr = co_await body.frame();
    WEFT_CO_CHECK(tr.ok() && tr->has_value() && !(*tr)->is_data());
    WEFT_CO_CHECK((*tr)->trailers->get("grpc-status")->as_str() == "0");
    WEFT_CO_CHECK(body.is_end_stream());
    absl::StatusOr<std::optional<http::Frame>> end = co_await body.frame();
    WEFT_CO_CHECK(end.ok() && !end->has_value());
    co_return absl::OkStatus();
  }());
  BOOST_TEST(st.ok(), st);
}

BOOST_AUTO_TEST_CASE(sender_sees_a_dropped_receiver) {
  weft::Runtime rt = weft::testing::make_runtime();
  absl::Status st = rt.block_on([]() -> Task<absl::Status> {
    auto [tx, body] = http::Body::channel(1);
    { http::Body gone = std::move(body); }
    absl::Status s = co_await tx.send_data(Bytes::from(std::string("x")));
    WEFT_CO_CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
    co_return absl::OkStatus();
  }());
  BOOST_TEST(st.ok(), st);
}

BOOST_AUTO_TEST_CASE(dropping_the_sender_ends_the_body_cleanly) {
  weft::Runtime rt = weft::testing::make_runtime();
  absl::StatusOr<std::string> s = rt.block_on([]() -> Task<absl::StatusOr<std::string>> {
    auto [tx, body] = http::Body::channel(4);
    absl::Status a = co_await tx.send_data(Bytes::from(std::string("only")));
    if (!a.ok()) co_return a;
    { http::BodySender gone = std::move(tx); }
    co_return co_await collect_string(std::move(body), 100);
  }());
  BOOST_REQUIRE(s.ok());
  BOOST_TEST(*s == "only");
}
