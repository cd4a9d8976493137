// Trace + compression (+ decompression): with the trace layer OUTSIDE compression, the access
// log reports the bytes that go on the wire — the compressed size — for full and streamed
// bodies; inside it, the size the handler produced. Likewise bytes_in counts a gzip request
// body as received when trace is outside decompression.
#define BOOST_TEST_MODULE trace_compression_test
#include <zlib.h>

#include <boost/test/unit_test.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "weft/http/header_value.h"
#include "weft/http/uri.h"
#include "weft/middleware/compression/compression.h"
#include "weft/middleware/decompression/decompression.h"
#include "weft/middleware/trace/trace.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/tower/service_builder.h"
#include "weft/tower/service_fn.h"

using weft::Task;
namespace http = weft::http;
namespace mw = weft::middleware;
namespace tower = weft::tower;
using Req = http::Request<http::Body>;
using Resp = http::Response<http::Body>;
using Result = absl::StatusOr<Resp>;

namespace {

struct Records {
  std::mutex mu;
  std::vector<mw::AccessRecord> all;
  std::size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return all.size();
  }
  mw::AccessRecord last() {
    std::lock_guard<std::mutex> lock(mu);
    return all.back();
  }
};

mw::TraceLayer tracing(const std::shared_ptr<Records>& rec) {
  mw::TraceOptions o;
  o.sink = [rec](const mw::AccessRecord& r) {
    std::lock_guard<std::mutex> lock(rec->mu);
    rec->all.push_back(r);
  };
  return mw::TraceLayer(std::move(o));
}

std::string text(std::size_t n) {
  std::string s;
  while (s.size() < n) s += "compressible line number " + std::to_string(s.size()) + "\n";
  s.resize(n);
  return s;
}

Task<void> produce(http::BodySender tx) {
  for (int i = 0; i < 5; ++i) {
    Task<absl::Status> send = tx.send_data(weft::io::Bytes::from(text(4000)));
    absl::Status s = co_await std::move(send);
    if (!s.ok()) co_return;
  }
}

// /full: 20000 bytes in memory; /stream: 5 frames of 4000 bytes; /echo: the request body.
Task<Result> handler(Req req) {
  if (req.uri().path() == "/stream") {
    auto [tx, body] = http::Body::channel(2);
    weft::spawn(produce(std::move(tx)));
    co_return Resp(std::move(body));
  }
  if (req.uri().path() == "/echo") {
    Task<absl::StatusOr<weft::io::Bytes>> t = req.body().collect(1 << 20);
    absl::StatusOr<weft::io::Bytes> b = co_await std::move(t);
    if (!b.ok()) co_return b.status();
    co_return Resp(http::Body::full(*std::move(b)));
  }
  co_return Resp(http::Body(text(20000)));
}

Req get(std::string_view target, bool gzip) {
  Req req;
  req.uri() = *http::Uri::parse(target);
  if (gzip) {
    req.headers().insert(http::header::ACCEPT_ENCODING,
                         http::HeaderValue::from_static("gzip, br;q=0.5"));
  }
  return req;
}

Task<absl::StatusOr<std::size_t>> drain(http::Body& body) {
  std::size_t n = 0;
  for (;;) {
    Task<absl::StatusOr<std::optional<http::Frame>>> next = body.frame();
    absl::StatusOr<std::optional<http::Frame>> f = co_await std::move(next);
    if (!f.ok()) co_return f.status();
    if (!f->has_value()) co_return n;
    n += (*f)->data.size();
  }
}

std::string gzip(std::string_view in) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

Task<absl::Status> compression_under_trace_reports_the_compressed_size() {
  auto rec = std::make_shared<Records>();
  auto svc = tower::ServiceBuilder()
                 .layer(tracing(rec))  // outermost: sees what goes on the wire
                 .layer(mw::CompressionLayer())
                 .service_fn(&handler);

  // Full body.
  Req full_req = get("/full", true);
  Result full = co_await tower::oneshot(svc, std::move(full_req));
  WEFT_CO_CHECK(full.ok() && *full->headers().get(http::header::CONTENT_ENCODING) == "gzip");
  const std::size_t compressed = full->body().full_bytes().size();
  WEFT_CO_CHECK(compressed > 0 && compressed < 20000 / 4);
  WEFT_CO_CHECK(rec->size() == 1);
  WEFT_CO_CHECK(rec->last().bytes_out == compressed);
  WEFT_CO_CHECK(rec->last().to_logfmt().find("bytes_out=" + std::to_string(compressed) + " ") !=
                std::string::npos);

  // The same without accept-encoding: the full size.
  Req plain_req = get("/full", false);
  Result plain = co_await tower::oneshot(svc, std::move(plain_req));
  WEFT_CO_CHECK(plain.ok() && !plain->headers().contains(http::header::CONTENT_ENCODING));
  WEFT_CO_CHECK(rec->size() == 2 && rec->last().bytes_out == 20000);

  // Streamed: counted frame by frame as the compressed frames are read; logged at the end.
  Req stream_req = get("/stream", true);
  Result stream = co_await tower::oneshot(svc, std::move(stream_req));
  WEFT_CO_CHECK(stream.ok() && *stream->headers().get(http::header::CONTENT_ENCODING) == "gzip");
  WEFT_CO_CHECK(rec->size() == 2);  // not yet: the body has not ended
  absl::StatusOr<std::size_t> sent = co_await drain(stream->body());
  WEFT_CO_CHECK(sent.ok() && *sent > 0 && *sent < 20000 / 2);
  WEFT_CO_CHECK(rec->size() == 3);
  mw::AccessRecord s = rec->last();
  WEFT_CO_CHECK(s.bytes_out == *sent && s.outcome == mw::Outcome::kComplete);
  co_return absl::OkStatus();
}

Task<absl::Status> trace_under_compression_reports_the_handler_size() {
  auto rec = std::make_shared<Records>();
  auto svc = tower::ServiceBuilder()
                 .layer(mw::CompressionLayer())
                 .layer(tracing(rec))  // inside: sees the handler's bytes
                 .service_fn(&handler);
  Req req = get("/stream", true);
  Result r = co_await tower::oneshot(svc, std::move(req));
  WEFT_CO_CHECK(r.ok() && r->headers().contains(http::header::CONTENT_ENCODING));
  absl::StatusOr<std::size_t> sent = co_await drain(r->body());
  WEFT_CO_CHECK(sent.ok() && *sent < 20000);
  WEFT_CO_CHECK(rec->size() == 1 && rec->last().bytes_out == 20000);
  // No traceparent lost on the way out through compression.
  WEFT_CO_CHECK(r->headers().contains("traceparent"));
  co_return absl::OkStatus();
}

Task<absl::Status> decompression_under_trace_reports_the_received_size() {
  auto rec = std::make_shared<Records>();
  auto svc = tower::ServiceBuilder()
                 .layer(tracing(rec))
                 .layer(mw::RequestDecompressionLayer())
                 .service_fn(&handler);
  const std::string body = text(30000);
  const std::string gz = gzip(body);
  auto [tx, stream] = http::Body::channel(2);
  Req req(std::move(stream));
  req.method() = http::Method::POST;
  req.uri() = *http::Uri::parse("/echo");
  req.headers().insert(http::header::CONTENT_ENCODING, http::HeaderValue::from_static("gzip"));
  weft::JoinHandle<Result> h = weft::spawn(tower::oneshot(svc, std::move(req)));
  for (std::size_t at = 0; at < gz.size(); at += 1000) {
    Task<absl::Status> send =
        tx.send_data(weft::io::Bytes::copy_from(std::string_view(gz).substr(at, 1000)));
    WEFT_CO_OK(co_await std::move(send));
  }
  { http::BodySender done = std::move(tx); }
  absl::StatusOr<Result> r = co_await h;
  WEFT_CO_CHECK(r.ok() && r->ok() && (*r)->body().full_bytes() == body);
  WEFT_CO_CHECK(rec->size() == 1);
  WEFT_CO_CHECK(rec->last().bytes_in == gz.size() && rec->last().bytes_out == body.size());
  co_return absl::OkStatus();
}

void run(Task<absl::Status> (*test)()) {
  auto rt = weft::testing::make_runtime();
  absl::Status s = rt.block_on(test());
  BOOST_TEST(s.ok(), s.ToString());
}

}  // namespace

BOOST_AUTO_TEST_CASE(compression_under_trace) {
  run(&compression_under_trace_reports_the_compressed_size);
}
BOOST_AUTO_TEST_CASE(trace_under_compression) {
  run(&trace_under_compression_reports_the_handler_size);
}
BOOST_AUTO_TEST_CASE(decompression_under_trace) {
  run(&decompression_under_trace_reports_the_received_size);
}
