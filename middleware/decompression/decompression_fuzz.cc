// Fuzz target of RequestDecompressionLayer: any bytes sent as a gzip request body decode to
// exactly what zlib itself makes of them, or fail as the layer promises (400 corrupt, 413 too
// large), whether the body comes whole or streamed in pieces.
//
// Input: one mode byte (bits 0-2: the body is full, or streamed in pieces of 1, 2, 3, 7, 64,
// 512 or 4096 bytes), then the body. The corpus files start with a printable mode byte ('@'
// full, 'A' byte by byte, 'E' 64-byte pieces, ...).
//
// The reference is zlib's inflate in gzip mode, member after member (RFC 1952 concatenation),
// with nothing but members allowed: decoded bytes, or "corrupt" (a bad header, bad data, a bad
// CRC or length, trailing garbage, a body that ends inside a member), or "too large" once the
// output passes the layer's bound (64 KiB here). An empty body is an empty body.
//
// Properties: no crash, no sanitizer report; 200 with the reference's bytes, 400 for corrupt,
// 413 for too large.
#include <zlib.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "weft/http/body.h"
#include "weft/middleware/decompression/decompression.h"
#include "weft/middleware/detail/testing.h"
#include "weft/runtime/runtime.h"
#include "weft/tools/fuzz/check.h"
#include "weft/tower/service_builder.h"
#include "weft/tower/service_fn.h"

namespace {

namespace http = weft::http;
namespace mw = weft::middleware;
using weft::Task;
using Req = http::Request<http::Body>;
using Resp = http::Response<http::Body>;

constexpr uint64_t kMax = 64 * 1024;

struct Reference {
  enum Result { kOk, kCorrupt, kTooLarge } result = kOk;
  std::string out;
};

Reference inflate_all(std::string_view in) {
  Reference r;
  if (in.empty()) return r;
  z_stream zs{};
  WEFT_FUZZ_CHECK(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK, "inflateInit2");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  char buf[16384];
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    int ret = inflate(&zs, Z_NO_FLUSH);
    r.out.append(buf, sizeof buf - zs.avail_out);
    if (r.out.size() > kMax) {
      r.result = Reference::kTooLarge;
      break;
    }
    if (ret == Z_STREAM_END) {
      if (zs.avail_in == 0) break;  // the last member ended with the body
      inflateReset(&zs);            // another member follows
      continue;
    }
    if (ret == Z_OK) continue;
    // Z_BUF_ERROR with no input left: the body ended inside a member; anything else: bad data.
    r.result = Reference::kCorrupt;
    break;
  }
  inflateEnd(&zs);
  return r;
}

// Reads the whole (decoded) body; a read error is the call's error, which the layer turns
// into 400 or 413.
Task<absl::StatusOr<Resp>> collect(Req req) {
  absl::StatusOr<weft::io::Bytes> all = co_await req.body().collect(1 << 20);
  if (!all.ok()) co_return all.status();
  co_return Resp(http::Body::full(*std::move(all)));
}

Task<void> check(std::string body, std::size_t piece, Reference want) {
  mw::DecompressionOptions o;
  o.max_decompressed_bytes = kMax;
  auto svc =
      weft::tower::ServiceBuilder().layer(mw::RequestDecompressionLayer(o)).service_fn(&collect);
  Req req;
  if (piece == 0) {
    req = Req(http::Body(std::move(body)));
  } else {
    req = Req(mw::testing::body_in_pieces(std::move(body), piece));
  }
  req.method() = http::Method::POST;
  req.headers().insert(http::header::CONTENT_ENCODING, http::HeaderValue::from_static("gzip"));
  absl::StatusOr<Resp> r = co_await weft::tower::oneshot(svc, std::move(req));
  WEFT_FUZZ_CHECK(r.ok(), "the layer failed the call instead of answering");
  const int status = r->status().as_u16();
  switch (want.result) {
    case Reference::kOk: {
      WEFT_FUZZ_CHECK(status == 200, "zlib decodes the body, the layer does not");
      absl::StatusOr<weft::io::Bytes> got = co_await r->body().collect(1 << 20);
      WEFT_FUZZ_CHECK(got.ok() && got->as_string_view() == want.out,
                      "the layer decodes other bytes than zlib");
      break;
    }
    case Reference::kCorrupt:
      WEFT_FUZZ_CHECK(status == 400, "zlib finds the body corrupt, the layer does not say 400");
      break;
    case Reference::kTooLarge:
      WEFT_FUZZ_CHECK(status == 413, "the body decodes past the bound, the layer does not say 413");
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static weft::Runtime rt = *weft::Runtime::Builder::new_current_thread().build();
  if (size == 0) return 0;
  static constexpr std::size_t kPieces[] = {0, 1, 2, 3, 7, 64, 512, 4096};
  std::size_t piece = kPieces[data[0] & 7];
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  Reference want = inflate_all(body);
  rt.block_on(check(std::move(body), piece, std::move(want)));
  return 0;
}
