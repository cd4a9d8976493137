// RequestDecompressionLayer: gzip request bodies reach the handler decoded (streamed in small
// frames, or full), headers fixed up; identity ignored, other codings 415; corrupt, truncated
// and oversized (zip bomb) bodies fail the handler's read and become 400/413; full bodies are
// judged by the layer before the handler runs; what CompressionLayer's encoder produces decodes.
#define BOOST_TEST_MODULE decompression_test
#include "weft/middleware/decompression/decompression.h"

#include <zlib.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "weft/http/header_value.h"
#include "weft/http/uri.h"
#include "weft/middleware/compression/compression.h"
#include "weft/middleware/detail/testing.h"
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

std::string gzip(std::string_view in, int level = Z_DEFAULT_COMPRESSION) {
  z_stream zs{};
  deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
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

// `zeros` zero bytes gzipped, without holding them all in memory.
std::string gzip_zeros(std::size_t zeros) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string chunk(1 << 20, '\0');
  std::string out;
  char buf[1 << 16];
  for (std::size_t done = 0; done < zeros;) {
    std::size_t n = std::min(chunk.size(), zeros - done);
    done += n;
    zs.next_in = reinterpret_cast<Bytef*>(chunk.data());
    zs.avail_in = static_cast<uInt>(n);
    const int flush = done == zeros ? Z_FINISH : Z_NO_FLUSH;
    do {
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof(buf);
      deflate(&zs, flush);
      out.append(buf, sizeof(buf) - zs.avail_out);
    } while (zs.avail_out == 0);
  }
  deflateEnd(&zs);
  return out;
}

std::string text(std::size_t n) {
  std::string s;
  while (s.size() < n) s += "lorem ipsum dolor sit amet " + std::to_string(s.size() * 7919 % 10007);
  s.resize(n);
  return s;
}

// A streamed request body carrying `data` in pieces of `piece` bytes.
Req streamed(std::string data, std::string_view encoding, std::size_t piece = 1000) {
  Req req(mw::testing::body_in_pieces(std::move(data), piece));
  req.method() = http::Method::POST;
  if (!encoding.empty()) {
    req.headers().insert(http::header::CONTENT_ENCODING, http::HeaderValue::from_static(encoding));
  }
  req.headers().insert(http::header::CONTENT_LENGTH, http::HeaderValue::from_integer(1234));
  return req;
}

Req full(std::string data, std::string_view encoding) {
  Req req{http::Body(std::move(data))};
  req.method() = http::Method::POST;
  req.headers().insert(http::header::CONTENT_ENCODING, http::HeaderValue::from_static(encoding));
  return req;
}

std::atomic<int> calls{0};

// Reads the body frame by frame and answers with it; headers it saw as x-saw-* ; the largest
// frame as x-max-frame. A read error is returned as the call's error.
Task<Result> echo(Req req) {
  calls.fetch_add(1);
  const bool was_full = req.body().is_full();
  std::string all;
  std::size_t max_frame = 0;
  std::string trailer;
  for (;;) {
    Task<absl::StatusOr<std::optional<http::Frame>>> next = req.body().frame();
    absl::StatusOr<std::optional<http::Frame>> f = co_await std::move(next);
    if (!f.ok()) co_return f.status();
    if (!f->has_value()) break;
    if (!(*f)->is_data()) {
      trailer = std::string((*f)->trailers->get("x-checksum")->as_str());
      continue;
    }
    max_frame = std::max(max_frame, (*f)->data.size());
    all.append((*f)->data.as_string_view());
  }
  Resp res(http::Body(std::move(all)));
  res.headers().insert(http::HeaderName::from_static("x-saw-encoding"),
                       http::HeaderValue::from_static(
                           req.headers().contains(http::header::CONTENT_ENCODING) ? "yes" : "no"));
  res.headers().insert(http::HeaderName::from_static("x-saw-length"),
                       http::HeaderValue::from_static(
                           req.headers().contains(http::header::CONTENT_LENGTH) ? "yes" : "no"));
  res.headers().insert(http::HeaderName::from_static("x-full"),
                       http::HeaderValue::from_static(was_full ? "yes" : "no"));
  res.headers().insert(http::HeaderName::from_static("x-max-frame"),
                       http::HeaderValue::from_integer(max_frame));
  if (!trailer.empty()) {
    res.headers().insert(http::HeaderName::from_static("x-trailer"),
                         http::HeaderValue::from_static(trailer));
  }
  co_return res;
}

// Turns a read error into its own answer.
Task<Result> forgiving(Req req) {
  Task<absl::StatusOr<weft::io::Bytes>> t = req.body().collect(1 << 30);
  absl::StatusOr<weft::io::Bytes> b = co_await std::move(t);
  if (!b.ok()) co_return Resp(http::StatusCode::UNPROCESSABLE_ENTITY, http::Body("nope"));
  co_return Resp(http::Body("fine"));
}

Task<Result> ignores_body(Req) { co_return Resp(http::Body("did not read")); }

std::string header(const Resp& r, std::string_view name) {
  const http::HeaderValue* v = r.headers().get(name);
  return v != nullptr ? std::string(v->as_str()) : "<absent>";
}

Task<absl::Status> streamed_gzip_is_decoded() {
  auto svc = tower::ServiceBuilder().layer(mw::RequestDecompressionLayer()).service_fn(&echo);
  const std::string plain = text(300000);
  Req req = streamed(gzip(plain), "gzip", 777);
  Result r = co_await tower::oneshot(svc, std::move(req));
  WEFT_CO_CHECK(r.ok() && r->status() == http::StatusCode::OK);
  WEFT_CO_CHECK(r->body().full_bytes() == plain);
  WEFT_CO_CHECK(header(*r, "x-saw-encoding") == "no" && header(*r, "x-saw-length") == "no");
  WEFT_CO_CHECK(header(*r, "x-full") == "no");
  WEFT_CO_CHECK(std::stoul(header(*r, "x-max-frame")) <= mw::kOutputFrame);

  // x-gzip, any case; several codings; concatenated members; identity ignored.
  Req x = streamed(gzip("hello"), "X-GZIP");
  Result rx = co_await tower::oneshot(svc, std::move(x));
  WEFT_CO_CHECK(rx.ok() && rx->body().full_bytes() == "hello");
  Req twice = streamed(gzip(gzip(plain)), "gzip, identity, gzip", 5000);
  Result rt = co_await tower::oneshot(svc, std::move(twice));
  WEFT_CO_CHECK(rt.ok() && rt->body().full_bytes() == plain);
  Req members = streamed(gzip("first ") + gzip("second"), "gzip", 3);
  Result rm = co_await tower::oneshot(svc, std::move(members));
  WEFT_CO_CHECK(rm.ok() && rm->body().full_bytes() == "first second");
  Req empty = streamed("", "gzip");
  Result re = co_await tower::oneshot(svc, std::move(empty));
  WEFT_CO_CHECK(re.ok() && re->body().full_bytes() == "");

  // Identity only: the header goes, the body and its length stay.
  Req id = streamed("as is", "identity");
  Result ri = co_await tower::oneshot(svc, std::move(id));
  WEFT_CO_CHECK(ri.ok() && ri->body().full_bytes() == "as is");
  WEFT_CO_CHECK(header(*ri, "x-saw-encoding") == "no" && header(*ri, "x-saw-length") == "yes");
  // No content-encoding: untouched.
  Req none = streamed("plain", "");
  Result rn = co_await tower::oneshot(svc, std::move(none));
  WEFT_CO_CHECK(rn.ok() && rn->body().full_bytes() == "plain" &&
                header(*rn, "x-saw-length") == "yes");
  co_return absl::OkStatus();
}

Task<absl::Status> trailers_and_full_bodies() {
  auto svc = tower::ServiceBuilder().layer(mw::RequestDecompressionLayer()).service_fn(&echo);
  // Trailers after the gzip stream reach the handler.
  auto [tx, body] = http::Body::channel(4);
  Req req(std::move(body));
  req.headers().insert(http::header::CONTENT_ENCODING, http::HeaderValue::from_static("gzip"));
  weft::JoinHandle<Result> h = weft::spawn(tower::oneshot(svc, std::move(req)));
  Task<absl::Status> send = tx.send_data(weft::io::Bytes::from(gzip("with trailers")));
  WEFT_CO_OK(co_await std::move(send));
  http::HeaderMap trailers;
  trailers.insert(http::HeaderName::from_static("x-checksum"),
                  http::HeaderValue::from_static("42"));
  Task<absl::Status> st = tx.send_trailers(std::move(trailers));
  WEFT_CO_OK(co_await std::move(st));
  absl::StatusOr<Result> r = co_await h;
  WEFT_CO_CHECK(r.ok() && r->ok());
  WEFT_CO_CHECK((*r)->body().full_bytes() == "with trailers" && header(**r, "x-trailer") == "42");

  // A full body is decoded before the handler runs: it gets a full body of exact size.
  const std::string plain = text(100000);
  Req f = full(gzip(plain), "gzip");
  Result rf = co_await tower::oneshot(svc, std::move(f));
  WEFT_CO_CHECK(rf.ok() && rf->body().full_bytes() == plain && header(*rf, "x-full") == "yes");

  // What the compression layer's encoder produces (streamed, frame by frame) decodes.
  auto [tx2, body2] = http::Body::channel(8);
  absl::StatusOr<http::Body> gz = mw::gzip_body(std::move(body2));
  WEFT_CO_CHECK(gz.ok());
  Req c(*std::move(gz));
  c.headers().insert(http::header::CONTENT_ENCODING, http::HeaderValue::from_static("gzip"));
  weft::JoinHandle<Result> hc = weft::spawn(tower::oneshot(svc, std::move(c)));
  for (int i = 0; i < 4; ++i) {
    Task<absl::Status> s = tx2.send_data(weft::io::Bytes::from(text(10000)));
    WEFT_CO_OK(co_await std::move(s));
  }
  { http::BodySender done = std::move(tx2); }
  absl::StatusOr<Result> rc = co_await hc;
  WEFT_CO_CHECK(rc.ok() && rc->ok());
  WEFT_CO_CHECK((*rc)->body().full_bytes() ==
                text(10000) + text(10000) + text(10000) + text(10000));
  co_return absl::OkStatus();
}

Task<absl::Status> unsupported_is_415() {
  auto svc = tower::ServiceBuilder().layer(mw::RequestDecompressionLayer()).service_fn(&echo);
  const int before = calls.load();
  for (std::string_view enc : {"br", "deflate", "gzip, zstd", "compress"}) {
    Req req = streamed("whatever", enc);
    Result r = co_await tower::oneshot(svc, std::move(req));
    WEFT_CO_CHECK(r.ok() && r->status() == http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
    WEFT_CO_CHECK(header(*r, "accept-encoding") == "gzip");
    WEFT_CO_CHECK(r->body().full_bytes().as_string_view().find("content-encoding") !=
                  std::string_view::npos);
  }
  WEFT_CO_CHECK(calls.load() == before);  // the handler never ran
  co_return absl::OkStatus();
}

Task<absl::Status> corrupt_bodies() {
  auto svc = tower::ServiceBuilder().layer(mw::RequestDecompressionLayer()).service_fn(&echo);
  const std::string good = gzip(text(50000));
  std::string bad_crc = good;
  bad_crc[bad_crc.size() - 6] ^= 0x55;  // inside the CRC32
  std::string bad_data = good;
  bad_data[good.size() / 2] ^= 0xFF;
  const std::vector<std::string> corrupt = {
      "this is not gzip at all",
      good.substr(0, good.size() / 2),  // truncated
      good.substr(0, 5),                // truncated inside the header
      bad_crc,
      good + "trailing garbage",
  };
  for (const std::string& body : corrupt) {
    // Streamed: the handler's read fails; it returns the error, the layer answers 400.
    Req s = streamed(body, "gzip", 100);
    Result r = co_await tower::oneshot(svc, std::move(s));
    WEFT_CO_CHECK(r.ok() && r->status() == http::StatusCode::BAD_REQUEST);
    WEFT_CO_CHECK(r->body().full_bytes().as_string_view().starts_with(
        "Bad Request: corrupt gzip request body"));
    // Full: the layer finds out first, the handler is not called.
    const int before = calls.load();
    Req f = full(body, "gzip");
    Result rf = co_await tower::oneshot(svc, std::move(f));
    WEFT_CO_CHECK(rf.ok() && rf->status() == http::StatusCode::BAD_REQUEST);
    WEFT_CO_CHECK(calls.load() == before);
  }
  // Data corruption somewhere in the stream (a bad block or a bad CRC).
  Req d = streamed(bad_data, "gzip", 100);
  Result rd = co_await tower::oneshot(svc, std::move(d));
  WEFT_CO_CHECK(rd.ok() && rd->status() == http::StatusCode::BAD_REQUEST);

  // The read error itself, as the handler sees it.
  http::Body raw = mw::gunzip_body(http::Body("not gzip"), 1000);
  Task<absl::StatusOr<weft::io::Bytes>> t = raw.collect(1000);
  absl::StatusOr<weft::io::Bytes> err = co_await std::move(t);
  WEFT_CO_CHECK(absl::IsInvalidArgument(err.status()));
  WEFT_CO_CHECK(std::string(err.status().message()).starts_with("corrupt gzip request body"));

  // A handler that answers the error itself keeps its answer; one that never reads is fine.
  auto own = tower::ServiceBuilder().layer(mw::RequestDecompressionLayer()).service_fn(&forgiving);
  Req o = streamed("garbage", "gzip");
  Result ro = co_await tower::oneshot(own, std::move(o));
  WEFT_CO_CHECK(ro.ok() && ro->status() == http::StatusCode::UNPROCESSABLE_ENTITY);
  auto lazy =
      tower::ServiceBuilder().layer(mw::RequestDecompressionLayer()).service_fn(&ignores_body);
  Req l = streamed("garbage", "gzip");
  Result rl = co_await tower::oneshot(lazy, std::move(l));
  WEFT_CO_CHECK(rl.ok() && rl->status() == http::StatusCode::OK);
  co_return absl::OkStatus();
}

Task<absl::Status> zip_bomb_is_stopped() {
  mw::DecompressionOptions o;
  o.max_decompressed_bytes = 1 << 20;
  auto svc = tower::ServiceBuilder().layer(mw::RequestDecompressionLayer(o)).service_fn(&echo);
  const std::string bomb = gzip_zeros(std::size_t{64} << 20);  // 64 MiB of zeros
  WEFT_CO_CHECK(bomb.size() < (std::size_t{1} << 20) / 4);
  Req s = streamed(bomb, "gzip", 4096);
  Result r = co_await tower::oneshot(svc, std::move(s));
  WEFT_CO_CHECK(r.ok() && r->status() == http::StatusCode::PAYLOAD_TOO_LARGE);
  WEFT_CO_CHECK(r->body().full_bytes().as_string_view().find("larger than 1048576 bytes") !=
                std::string_view::npos);
  // The limit is inclusive: exactly max bytes pass.
  Req exact = streamed(gzip(std::string(1 << 20, 'z')), "gzip");
  Result re = co_await tower::oneshot(svc, std::move(exact));
  WEFT_CO_CHECK(re.ok() && re->status() == http::StatusCode::OK &&
                re->body().full_bytes().size() == (1u << 20));
  Req over = streamed(gzip(std::string((1 << 20) + 1, 'z')), "gzip");
  Result ro = co_await tower::oneshot(svc, std::move(over));
  WEFT_CO_CHECK(ro.ok() && ro->status() == http::StatusCode::PAYLOAD_TOO_LARGE);
  // Full bodies: 413 from the layer.
  Req f = full(bomb, "gzip");
  Result rf = co_await tower::oneshot(svc, std::move(f));
  WEFT_CO_CHECK(rf.ok() && rf->status() == http::StatusCode::PAYLOAD_TOO_LARGE);
  // The read error the handler sees.
  http::Body raw = mw::gunzip_body(http::Body(bomb), 4096);
  Task<absl::StatusOr<weft::io::Bytes>> t = raw.collect(1 << 30);
  absl::StatusOr<weft::io::Bytes> err = co_await std::move(t);
  WEFT_CO_CHECK(absl::IsResourceExhausted(err.status()));
  co_return absl::OkStatus();
}

void run(Task<absl::Status> (*test)()) {
  auto rt = weft::testing::make_runtime();
  absl::Status s = rt.block_on(test());
  BOOST_TEST(s.ok(), s.ToString());
}

}  // namespace

BOOST_AUTO_TEST_CASE(streamed_body) { run(&streamed_gzip_is_decoded); }
BOOST_AUTO_TEST_CASE(trailers_full_and_round_trip) { run(&trailers_and_full_bodies); }
BOOST_AUTO_TEST_CASE(unsupported) { run(&unsupported_is_415); }
BOOST_AUTO_TEST_CASE(corrupt) { run(&corrupt_bodies); }
BOOST_AUTO_TEST_CASE(zip_bomb) { run(&zip_bomb_is_stopped); }
