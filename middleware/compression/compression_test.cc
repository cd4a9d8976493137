// CompressionLayer: Accept-Encoding negotiation (q-values, identity, *, gzip;q=0), what is and
// is not compressible, headers (content-encoding, vary, content-length, etag), full bodies
// decompressed with zlib directly, and streamed bodies compressed frame by frame (each frame
// decodable on arrival), trailers and errors passed through.
#define BOOST_TEST_MODULE compression_test
#include "weft/middleware/compression/compression.h"

#include <zlib.h>

#include <boost/test/unit_test.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "weft/http/header_value.h"
#include "weft/http/uri.h"
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
using Frame = absl::StatusOr<std::optional<http::Frame>>;

namespace {

// A gzip decoder driven by hand: what a client does with each frame as it arrives.
class Inflater {
 public:
  Inflater() { ok_ = inflateInit2(&zs_, 15 + 16) == Z_OK; }
  ~Inflater() { inflateEnd(&zs_); }
  // Everything `in` lets zlib produce now; nullopt on a zlib error.
  std::optional<std::string> feed(std::string_view in) {
    std::string out;
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
    char buf[4096];
    for (;;) {
      zs_.next_out = reinterpret_cast<Bytef*>(buf);
      zs_.avail_out = sizeof(buf);
      int rc = inflate(&zs_, Z_SYNC_FLUSH);
      out.append(buf, sizeof(buf) - zs_.avail_out);
      if (rc == Z_STREAM_END) {
        ended_ = true;
        return out;
      }
      if (rc == Z_BUF_ERROR || (rc == Z_OK && zs_.avail_in == 0 && zs_.avail_out != 0)) return out;
      if (rc != Z_OK) return std::nullopt;
    }
  }
  bool ended() const { return ended_; }
  bool ok() const { return ok_; }

 private:
  z_stream zs_{};
  bool ok_ = false;
  bool ended_ = false;
};

std::optional<std::string> gunzip(std::string_view gz) {
  Inflater in;
  std::optional<std::string> out = in.feed(gz);
  if (!out || !in.ended()) return std::nullopt;
  return out;
}

std::string text(std::size_t n) {
  std::string s;
  while (s.size() < n)
    s += "the quick brown fox jumps over the lazy dog " + std::to_string(s.size());
  s.resize(n);
  return s;
}

Req request(std::vector<std::string> accept, std::string_view target = "/") {
  Req req;
  req.uri() = *http::Uri::parse(target);
  for (const std::string& a : accept) {
    req.headers().append(http::header::ACCEPT_ENCODING, http::HeaderValue::from_static(a));
  }
  return req;
}

// Answers according to the query: n=<size>, ct=<content-type>, ce=<content-encoding>,
// status=<code>, cc=<cache-control>, etag=<etag>.
Task<Result> page(Req req) {
  const http::Uri& u = req.uri();
  std::optional<std::string> n = u.query_param("n");
  Resp res(http::Body(text(n ? std::stoul(*n) : 4096)));
  res.headers().insert(http::header::CONTENT_LENGTH,
                       http::HeaderValue::from_integer(*res.body().size_hint()));
  auto set = [&](const char* key, const http::HeaderName& name) {
    if (std::optional<std::string> v = u.query_param(key)) {
      res.headers().insert(name, http::HeaderValue::from_static(*v));
    }
  };
  set("ct", http::header::CONTENT_TYPE);
  set("ce", http::header::CONTENT_ENCODING);
  set("cc", http::header::CACHE_CONTROL);
  set("etag", http::header::ETAG);
  set("vary", http::header::VARY);
  if (std::optional<std::string> s = u.query_param("status")) {
    res.status() = http::StatusCode(static_cast<uint16_t>(std::stoi(*s)));
  }
  co_return res;
}

// Hands out a body the test feeds through a channel.
struct Handoff {
  struct Slot {
    std::mutex mu;
    std::optional<http::Body> body;
  };
  std::shared_ptr<Slot> slot = std::make_shared<Slot>();
  tower::AlwaysReady ready() const { return tower::always_ready(); }
  Task<Result> call(tower::NoPermit, Req) const {
    std::lock_guard<std::mutex> lock(slot->mu);
    Resp res(std::move(*slot->body));
    res.headers().insert(http::header::CONTENT_TYPE,
                         http::HeaderValue::from_static("text/event-stream"));
    co_return res;
  }
};

std::string vary(const Resp& r) {
  std::string out;
  for (std::string_view v : r.headers().get_all(http::header::VARY)) {
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

Task<absl::Status> full_body_is_gzipped() {
  auto svc = tower::ServiceBuilder().layer(mw::CompressionLayer()).service_fn(&page);
  Req r_req = request({"br;q=1.0, gzip;q=0.8, *;q=0.1"}, "/?n=20000&ct=text/html&etag=%22v1%22");
  Result r = co_await tower::oneshot(svc, std::move(r_req));
  WEFT_CO_CHECK(r.ok());
  const http::HeaderMap& h = r->headers();
  WEFT_CO_CHECK(h.get(http::header::CONTENT_ENCODING) != nullptr &&
                *h.get(http::header::CONTENT_ENCODING) == "gzip");
  WEFT_CO_CHECK(vary(*r) == "accept-encoding");
  WEFT_CO_CHECK(!h.contains(http::header::CONTENT_LENGTH));
  WEFT_CO_CHECK(*h.get(http::header::ETAG) == "W/\"v1\"");
  // Still a full body of known size: the server sends content-length and one write.
  WEFT_CO_CHECK(r->body().is_full());
  const std::string gz(r->body().full_bytes().as_string_view());
  WEFT_CO_CHECK(gz.size() < 20000 / 4);
  WEFT_CO_CHECK(static_cast<unsigned char>(gz[0]) == 0x1f &&
                static_cast<unsigned char>(gz[1]) == 0x8b);
  std::optional<std::string> plain = gunzip(gz);
  WEFT_CO_CHECK(plain.has_value() && *plain == text(20000));

  // An existing vary is extended, not replaced; one that has it already is left alone.
  Req v_req = request({"gzip"}, "/?vary=origin");
  Result v = co_await tower::oneshot(svc, std::move(v_req));
  WEFT_CO_CHECK(v.ok() && vary(*v) == "origin, accept-encoding");
  Req v2_req = request({"gzip"}, "/?vary=Accept-Encoding");
  Result v2 = co_await tower::oneshot(svc, std::move(v2_req));
  WEFT_CO_CHECK(v2.ok() && vary(*v2) == "Accept-Encoding");
  co_return absl::OkStatus();
}

Task<absl::Status> what_is_left_alone() {
  mw::CompressionOptions o;
  o.min_size = 100;
  auto svc = tower::ServiceBuilder().layer(mw::CompressionLayer(o)).service_fn(&page);
  struct Case {
    std::string target;
    bool vary;  // compressible (so `vary` is set) but not compressed, or not compressible
  };
  const std::vector<Case> cases = {
      {"/?n=99", false},          // below min_size
      {"/?n=0", false},           // empty
      {"/?ce=br", false},         // already encoded
      {"/?ct=image/png", false},  // images
      {"/?ct=video/mp4", false},
      {"/?ct=application/grpc%2Bproto", false},
      {"/?ct=application/zip", false},
      {"/?status=204", false},
      {"/?status=304", false},
      {"/?status=206", false},
      {"/?cc=public,%20no-transform", false},
  };
  for (const Case& c : cases) {
    Req r_req = request({"gzip"}, c.target);
    Result r = co_await tower::oneshot(svc, std::move(r_req));
    WEFT_CO_CHECK(r.ok());
    const http::HeaderValue* ce = r->headers().get(http::header::CONTENT_ENCODING);
    WEFT_CO_CHECK(ce == nullptr || *ce != "gzip");
    WEFT_CO_CHECK(r->headers().contains(http::header::CONTENT_LENGTH));
    WEFT_CO_CHECK(vary(*r).empty() == !c.vary);
  }
  // SVG is an image worth compressing; so is JSON, and a body without content-type.
  for (std::string_view target : {"/?ct=image/svg%2Bxml", "/?ct=application/json", "/"}) {
    Req r_req = request({"gzip"}, target);
    Result r = co_await tower::oneshot(svc, std::move(r_req));
    WEFT_CO_CHECK(r.ok() && r->headers().contains(http::header::CONTENT_ENCODING));
  }
  // Not negotiated: identity, but `vary` says the answer depends on accept-encoding.
  Req id_req = request({"gzip;q=0"});
  Result id = co_await tower::oneshot(svc, std::move(id_req));
  WEFT_CO_CHECK(id.ok() && !id->headers().contains(http::header::CONTENT_ENCODING));
  WEFT_CO_CHECK(vary(*id) == "accept-encoding");
  WEFT_CO_CHECK(id->body().full_bytes() == text(4096));
  // A custom predicate.
  mw::CompressionOptions only_text;
  only_text.predicate = [](std::string_view ct) { return ct.starts_with("text/"); };
  auto picky = tower::ServiceBuilder().layer(mw::CompressionLayer(only_text)).service_fn(&page);
  Req j_req = request({"gzip"}, "/?ct=application/json");
  Result j = co_await tower::oneshot(picky, std::move(j_req));
  WEFT_CO_CHECK(j.ok() && !j->headers().contains(http::header::CONTENT_ENCODING));
  Req t_req = request({"gzip"}, "/?ct=text/plain");
  Result t = co_await tower::oneshot(picky, std::move(t_req));
  WEFT_CO_CHECK(t.ok() && t->headers().contains(http::header::CONTENT_ENCODING));
  co_return absl::OkStatus();
}

Task<Frame> next(http::Body& body) {
  Task<Frame> t = body.frame();
  co_return co_await std::move(t);
}

Task<absl::Status> streamed_body_stays_streamed() {
  Handoff inner;
  auto [tx, body] = http::Body::channel(4);
  inner.slot->body = std::move(body);
  auto svc = tower::ServiceBuilder().layer(mw::CompressionLayer()).service(inner);
  Req r_req = request({"gzip"});
  Result r = co_await tower::oneshot(svc, std::move(r_req));
  WEFT_CO_CHECK(r.ok());
  WEFT_CO_CHECK(*r->headers().get(http::header::CONTENT_ENCODING) == "gzip");
  WEFT_CO_CHECK(r->body().is_stream() && !r->body().size_hint().has_value());  // chunked
  Inflater client;
  WEFT_CO_CHECK(client.ok());
  // Each event is decodable as soon as its frame arrives, before the next is even sent.
  for (int i = 0; i < 3; ++i) {
    const std::string event = "data: event " + std::to_string(i) + "\n\n";
    Task<absl::Status> send = tx.send_data(weft::io::Bytes::copy_from(std::string_view(event)));
    WEFT_CO_OK(co_await std::move(send));
    Frame f = co_await next(r->body());
    WEFT_CO_CHECK(f.ok() && f->has_value() && (*f)->is_data());
    const std::string_view gz = (*f)->data.as_string_view();
    if (i == 0) WEFT_CO_CHECK(static_cast<unsigned char>(gz[0]) == 0x1f);
    std::optional<std::string> got = client.feed(gz);
    WEFT_CO_CHECK(got.has_value() && *got == event);
    WEFT_CO_CHECK(!client.ended());
  }
  // Trailers: the gzip trailer goes first as data, then the trailers, then the end.
  http::HeaderMap trailers;
  trailers.insert(http::HeaderName::from_static("grpc-status"),
                  http::HeaderValue::from_static("0"));
  Task<absl::Status> st = tx.send_trailers(std::move(trailers));
  WEFT_CO_OK(co_await std::move(st));
  Frame tail = co_await next(r->body());
  WEFT_CO_CHECK(tail.ok() && tail->has_value() && (*tail)->is_data());
  std::optional<std::string> rest = client.feed((*tail)->data.as_string_view());
  WEFT_CO_CHECK(rest.has_value() && rest->empty() && client.ended());
  Frame tr = co_await next(r->body());
  WEFT_CO_CHECK(tr.ok() && tr->has_value() && !(*tr)->is_data());
  WEFT_CO_CHECK(*(*tr)->trailers->get("grpc-status") == "0");
  Frame end = co_await next(r->body());
  WEFT_CO_CHECK(end.ok() && !end->has_value() && r->body().is_end_stream());
  co_return absl::OkStatus();
}

Task<absl::Status> stream_end_and_errors() {
  // Dropping the sender ends the body: the gzip trailer comes alone.
  {
    Handoff inner;
    auto [tx, body] = http::Body::channel(4);
    inner.slot->body = std::move(body);
    auto svc = tower::ServiceBuilder().layer(mw::CompressionLayer()).service(inner);
    Req r_req = request({"*"});
    Result r = co_await tower::oneshot(svc, std::move(r_req));
    WEFT_CO_CHECK(r.ok() && r->headers().contains(http::header::CONTENT_ENCODING));
    Task<absl::Status> send = tx.send_data(weft::io::Bytes::from(text(50000)));
    WEFT_CO_OK(co_await std::move(send));
    { http::BodySender gone = std::move(tx); }
    Task<absl::StatusOr<weft::io::Bytes>> all = r->body().collect(1 << 20);
    absl::StatusOr<weft::io::Bytes> gz = co_await std::move(all);
    WEFT_CO_CHECK(gz.ok());
    std::optional<std::string> plain = gunzip(gz->as_string_view());
    WEFT_CO_CHECK(plain.has_value() && *plain == text(50000));
  }
  // An inner error is passed on.
  {
    Handoff inner;
    auto [tx, body] = http::Body::channel(4);
    inner.slot->body = std::move(body);
    auto svc = tower::ServiceBuilder().layer(mw::CompressionLayer()).service(inner);
    Req r_req = request({"gzip"});
    Result r = co_await tower::oneshot(svc, std::move(r_req));
    WEFT_CO_CHECK(r.ok());
    Task<absl::Status> send = tx.send_data(weft::io::Bytes::from_static("some data"));
    WEFT_CO_OK(co_await std::move(send));
    tx.abort(absl::DataLossError("upstream reset"));
    Frame f = co_await next(r->body());
    WEFT_CO_CHECK(f.ok() && f->has_value());
    Frame e = co_await next(r->body());
    WEFT_CO_CHECK(absl::IsDataLoss(e.status()));
  }
  // Without per-frame flushes the output still decodes to the same bytes.
  {
    auto [tx, body] = http::Body::channel(8);
    absl::StatusOr<http::Body> gz = mw::gzip_body(std::move(body), 9, /*flush_frames=*/false);
    WEFT_CO_CHECK(gz.ok() && gz->is_stream());
    for (int i = 0; i < 5; ++i) {
      Task<absl::Status> send = tx.send_data(weft::io::Bytes::from(text(1000)));
      WEFT_CO_OK(co_await std::move(send));
    }
    { http::BodySender gone = std::move(tx); }
    Task<absl::StatusOr<weft::io::Bytes>> all = gz->collect(1 << 20);
    absl::StatusOr<weft::io::Bytes> bytes = co_await std::move(all);
    WEFT_CO_CHECK(bytes.ok());
    std::optional<std::string> plain = gunzip(bytes->as_string_view());
    WEFT_CO_CHECK(plain.has_value() &&
                  *plain == text(1000) + text(1000) + text(1000) + text(1000) + text(1000));
  }
  co_return absl::OkStatus();
}

void run(Task<absl::Status> (*test)()) {
  auto rt = weft::testing::make_runtime();
  absl::Status s = rt.block_on(test());
  BOOST_TEST(s.ok(), s.ToString());
}

mw::ContentCoding negotiate(std::vector<std::string> values) {
  return mw::negotiate_encoding(request(std::move(values)).headers());
}

}  // namespace

BOOST_AUTO_TEST_CASE(negotiation) {
  using C = mw::ContentCoding;
  struct Case {
    std::vector<std::string> accept;
    C want;
  };
  const std::vector<Case> cases = {
      {{}, C::kIdentity},    // no header: identity
      {{""}, C::kIdentity},  // empty: no coding wanted
      {{"gzip"}, C::kGzip},
      {{"GZip"}, C::kGzip},
      {{"x-gzip"}, C::kGzip},
      {{"gzip;q=0"}, C::kIdentity},
      {{"gzip; q=0.000"}, C::kIdentity},
      {{"gzip;q=0.001"}, C::kGzip},
      {{"gzip;Q=0.7"}, C::kGzip},
      {{"gzip;q=0.5, identity;q=1"}, C::kIdentity},  // identity preferred
      {{"identity;q=0.5, gzip;q=0.5"}, C::kGzip},    // a tie goes to gzip
      {{"identity;q=0"}, C::kIdentity},              // nothing else: no 406
      {{"*"}, C::kGzip},
      {{"*;q=0"}, C::kIdentity},
      {{"*;q=0, identity"}, C::kIdentity},
      {{"*;q=0.3, gzip;q=0"}, C::kIdentity},  // specific beats *
      {{"gzip;q=0, *"}, C::kIdentity},
      {{"br, deflate"}, C::kIdentity},  // gzip not offered
      {{"br;q=1, *;q=0.1"}, C::kGzip},  // gzip via *, ties identity
      {{"deflate, gzip;q=0.8"}, C::kGzip},
      {{"br", "gzip"}, C::kGzip},      // several fields
      {{"gzip;q=1.5"}, C::kIdentity},  // malformed q: ignored
      {{"gzip;q=0.0001"}, C::kIdentity},
      {{"gzip;q=abc"}, C::kIdentity},
      {{"gzip;q="}, C::kIdentity},
      {{"gzip;level=1;q=0.5"}, C::kGzip},  // other parameters skipped
      {{" gzip ; q=0.9 , br"}, C::kGzip},
      {{",,gzip,,"}, C::kGzip},
  };
  for (const Case& c : cases) {
    std::string label;
    for (const std::string& a : c.accept) label += "[" + a + "]";
    BOOST_TEST((negotiate(c.accept) == c.want), label);
  }
}

BOOST_AUTO_TEST_CASE(content_type_predicate) {
  BOOST_TEST(mw::compressible_content_type("text/html; charset=utf-8"));
  BOOST_TEST(mw::compressible_content_type(""));
  BOOST_TEST(mw::compressible_content_type("IMAGE/SVG+XML"));
  BOOST_TEST(!mw::compressible_content_type("image/jpeg"));
  BOOST_TEST(!mw::compressible_content_type("audio/ogg"));
  BOOST_TEST(!mw::compressible_content_type("application/grpc"));
  BOOST_TEST(!mw::compressible_content_type("font/woff2"));
  BOOST_TEST(!mw::compressible_content_type("application/gzip"));
  BOOST_TEST(mw::compressible_content_type("text/event-stream"));  // flushed per frame
}

BOOST_AUTO_TEST_CASE(full_body) { run(&full_body_is_gzipped); }
BOOST_AUTO_TEST_CASE(left_alone) { run(&what_is_left_alone); }
BOOST_AUTO_TEST_CASE(streamed_frame_by_frame) { run(&streamed_body_stays_streamed); }
BOOST_AUTO_TEST_CASE(stream_end_errors_no_flush) { run(&stream_end_and_errors); }
