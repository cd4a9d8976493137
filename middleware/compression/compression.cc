#include "weft/middleware/compression/compression.h"

#include <zlib.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "weft/http/header_name.h"
#include "weft/http/header_value.h"
#include "weft/runtime/io/bytes.h"

namespace weft::middleware {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Calls f(element) for each non-empty comma-separated element of every value of `name`.
template <class F>
void for_each_element(const http::HeaderMap& headers, const http::HeaderName& name, F f) {
  for (const http::HeaderValue& v : headers.values(name)) {
    std::string_view rest = v.as_str();
    while (!rest.empty()) {
      std::size_t comma = rest.find(',');
      std::string_view item = trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (!item.empty()) f(item);
    }
  }
}

bool has_token(const http::HeaderMap& headers, const http::HeaderName& name,
               std::string_view token) {
  bool found = false;
  for_each_element(headers, name, [&](std::string_view item) {
    found = found || iequals(trim(item.substr(0, item.find('='))), token);
  });
  return found;
}

// RFC 9110 qvalue in thousandths: "0" ["." 0-3 DIGIT] / "1" ["." 0-3 "0"]; nullopt if malformed.
std::optional<int> parse_q(std::string_view s) {
  if (s.empty() || (s[0] != '0' && s[0] != '1')) return std::nullopt;
  int q = (s[0] - '0') * 1000;
  if (s.size() == 1) return q;
  if (s[1] != '.' || s.size() > 5) return std::nullopt;
  int scale = 100;
  for (char c : s.substr(2)) {
    if (c < '0' || c > '9') return std::nullopt;
    q += (c - '0') * scale;
    scale /= 10;
  }
  if (q > 1000) return std::nullopt;
  return q;
}

// Output is built in a scratch buffer reused across frames and copied out at its exact size:
// adopting the scratch itself would pin deflateBound()-sized capacity for each small frame.
class GzipEncoder {
 public:
  GzipEncoder() = default;
  GzipEncoder(const GzipEncoder&) = delete;
  GzipEncoder& operator=(const GzipEncoder&) = delete;
  ~GzipEncoder() {
    if (ready_) deflateEnd(&zs_);
  }

  absl::Status init(int level) {
    if (level < -1 || level > 9) level = Z_DEFAULT_COMPRESSION;
    // windowBits 15 + 16: a gzip wrapper; memLevel 8: zlib's default.
    if (deflateInit2(&zs_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      return absl::InternalError("gzip: deflateInit2 failed");
    }
    ready_ = true;
    return absl::OkStatus();
  }

  // `flush`: Z_NO_FLUSH, Z_SYNC_FLUSH or Z_FINISH.
  absl::StatusOr<io::Bytes> deflate(std::string_view in, int flush) {
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
    std::size_t want = deflateBound(&zs_, in.size()) + 64;
    if (scratch_.size() < want) scratch_.resize(want);
    std::size_t produced = 0;
    for (;;) {
      zs_.next_out = reinterpret_cast<Bytef*>(scratch_.data() + produced);
      zs_.avail_out = static_cast<uInt>(scratch_.size() - produced);
      int rc = ::deflate(&zs_, flush);
      produced = scratch_.size() - zs_.avail_out;
      if (rc == Z_STREAM_ERROR) return absl::InternalError("gzip: deflate failed");
      // zlib's rule: done when output space is left over (for Z_FINISH: at Z_STREAM_END).
      const bool done = flush == Z_FINISH ? rc == Z_STREAM_END : zs_.avail_out != 0;
      if (done && zs_.avail_in == 0) break;
      scratch_.resize(scratch_.size() * 2);
    }
    io::Bytes out = io::Bytes::copy_from(std::string_view(scratch_.data(), produced));
    // A big first frame should not leave a big scratch behind for the rest of the stream.
    if (scratch_.size() > (256u << 10)) std::string().swap(scratch_);
    return out;
  }

 private:
  z_stream zs_{};
  bool ready_ = false;
  std::string scratch_;
};

class GzipSource final : public http::BodySource {
 public:
  GzipSource(http::Body inner, std::unique_ptr<GzipEncoder> enc, bool flush_frames)
      : inner_(std::move(inner)), enc_(std::move(enc)), flush_frames_(flush_frames) {}

  Task<absl::StatusOr<std::optional<http::Frame>>> next_frame() override {
    for (;;) {
      if (state_ == State::kTrailers) {
        state_ = State::kDone;
        co_return std::optional<http::Frame>(http::Frame::of_trailers(std::move(*trailers_)));
      }
      if (state_ == State::kDone) co_return std::optional<http::Frame>();
      Task<absl::StatusOr<std::optional<http::Frame>>> next = inner_.frame();
      absl::StatusOr<std::optional<http::Frame>> f = co_await std::move(next);
      if (!f.ok()) {
        state_ = State::kDone;
        co_return f.status();
      }
      const bool end = !f->has_value() || !(*f)->is_data();
      if (end) {
        if (f->has_value()) trailers_ = std::move((*f)->trailers);
        absl::StatusOr<io::Bytes> tail = enc_->deflate("", Z_FINISH);
        state_ = trailers_.has_value() ? State::kTrailers : State::kDone;
        if (!tail.ok()) co_return tail.status();
        co_return std::optional<http::Frame>(http::Frame::of_data(*std::move(tail)));
      }
      io::Bytes& data = (*f)->data;
      if (data.empty()) continue;
      // The last frame of a body that knows it has ended carries the gzip trailer too.
      const bool last = inner_.is_end_stream();
      const int flush = last ? Z_FINISH : flush_frames_ ? Z_SYNC_FLUSH : Z_NO_FLUSH;
      absl::StatusOr<io::Bytes> out = enc_->deflate(data.as_string_view(), flush);
      if (!out.ok()) {
        state_ = State::kDone;
        co_return out.status();
      }
      if (last) state_ = State::kDone;
      if (out->empty()) continue;
      co_return std::optional<http::Frame>(http::Frame::of_data(*std::move(out)));
    }
  }

  bool is_end_stream() const override { return state_ == State::kDone; }

 private:
  enum class State { kStreaming, kTrailers, kDone };

  http::Body inner_;
  std::unique_ptr<GzipEncoder> enc_;
  bool flush_frames_;
  State state_ = State::kStreaming;
  std::optional<http::HeaderMap> trailers_;
};

// Replaces `body` with its gzipped form; on failure `body` is left as it was.
absl::Status gzip_in_place(http::Body& body, int level, bool flush_frames) {
  auto enc = std::make_unique<GzipEncoder>();
  absl::Status st = enc->init(level);
  if (!st.ok()) return st;
  if (body.is_stream()) {
    body = http::Body::from_source(
        std::make_shared<GzipSource>(std::move(body), std::move(enc), flush_frames));
    return absl::OkStatus();
  }
  absl::StatusOr<io::Bytes> out = enc->deflate(body.full_bytes().as_string_view(), Z_FINISH);
  if (!out.ok()) return out.status();
  body = http::Body::full(*std::move(out));
  return absl::OkStatus();
}

}  // namespace

bool compressible_content_type(std::string_view ct) {
  std::string_view type = trim(ct.substr(0, ct.find(';')));
  if (type.empty()) return true;
  if (istarts_with(type, "image/")) return iequals(type, "image/svg+xml");
  if (istarts_with(type, "audio/") || istarts_with(type, "video/")) return false;
  if (istarts_with(type, "application/grpc")) return false;  // gRPC compresses per message
  if (istarts_with(type, "font/woff")) return false;
  static constexpr std::string_view kCompressed[] = {
      "application/zip",
      "application/gzip",
      "application/x-gzip",
      "application/zstd",
      "application/x-bzip2",
      "application/x-xz",
      "application/x-7z-compressed",
      "application/vnd.rar",
      "application/x-rar-compressed",
  };
  for (std::string_view c : kCompressed) {
    if (iequals(type, c)) return false;
  }
  return true;
}

ContentCoding negotiate_encoding(const http::HeaderMap& headers) {
  std::optional<int> gzip, identity, star;
  for_each_element(headers, http::header::ACCEPT_ENCODING, [&](std::string_view item) {
    std::size_t semi = item.find(';');
    std::string_view coding = trim(item.substr(0, semi));
    int q = 1000;
    while (semi != std::string_view::npos) {
      item = item.substr(semi + 1);
      semi = item.find(';');
      std::string_view param = trim(item.substr(0, semi));
      std::size_t eq = param.find('=');
      if (eq == std::string_view::npos || !iequals(trim(param.substr(0, eq)), "q")) continue;
      std::optional<int> parsed = parse_q(trim(param.substr(eq + 1)));
      if (!parsed.has_value()) return;  // a malformed q: the element is ignored
      q = *parsed;
    }
    auto keep = [q](std::optional<int>& slot) { slot = slot.has_value() ? std::max(*slot, q) : q; };
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      keep(gzip);
    } else if (iequals(coding, "identity")) {
      keep(identity);
    } else if (coding == "*") {
      keep(star);
    }
  });
  const int gzip_w = gzip.value_or(star.value_or(0));
  // Identity not mentioned is the fallback, acceptable but preferred to nothing offered.
  const int identity_w = identity.value_or(star.value_or(0));
  return gzip_w > 0 && gzip_w >= identity_w ? ContentCoding::kGzip : ContentCoding::kIdentity;
}

absl::StatusOr<http::Body> gzip_body(http::Body body, int level, bool flush_frames) {
  absl::Status st = gzip_in_place(body, level, flush_frames);
  if (!st.ok()) return st;
  return body;
}

CompressionLayer::CompressionLayer(CompressionOptions o) {
  auto cfg = std::make_shared<detail::CompressionConfig>();
  cfg->level = o.level;
  cfg->min_size = o.min_size;
  cfg->predicate = o.predicate ? std::move(o.predicate) : &compressible_content_type;
  cfg->flush_frames = o.flush_frames;
  cfg_ = std::move(cfg);
}

namespace detail {

void compress_response(const CompressionConfig& cfg, ContentCoding coding,
                       http::Response<http::Body>& res) {
  const uint16_t code = res.status().as_u16();
  if (code < 200 || code == 204 || code == 206 || code == 304) return;
  http::HeaderMap& h = res.headers();
  if (h.contains(http::header::CONTENT_ENCODING) || h.contains(http::header::CONTENT_RANGE)) {
    return;
  }
  if (has_token(h, http::header::CACHE_CONTROL, "no-transform")) return;
  http::Body& body = res.body();
  if (body.is_end_stream() || (body.is_full() && body.full_bytes().empty())) return;
  std::optional<uint64_t> hint = body.size_hint();
  if (hint.has_value() && (*hint == 0 || *hint < cfg.min_size)) return;
  const http::HeaderValue* ct = h.get(http::header::CONTENT_TYPE);
  if (!cfg.predicate(ct != nullptr ? ct->as_str() : std::string_view())) return;

  // Compressible: the answer depends on accept-encoding from here on.
  if (!has_token(h, http::header::VARY, "accept-encoding") &&
      !has_token(h, http::header::VARY, "*")) {
    h.append(http::header::VARY, http::HeaderValue::from_static("accept-encoding"));
  }
  if (coding != ContentCoding::kGzip) return;

  // If zlib cannot start (no memory) the body is sent as it was.
  if (!gzip_in_place(body, cfg.level, cfg.flush_frames).ok()) return;
  h.insert(http::header::CONTENT_ENCODING, http::HeaderValue::from_static("gzip"));
  h.remove(http::header::CONTENT_LENGTH);
  if (const http::HeaderValue* etag = h.get(http::header::ETAG)) {
    if (!etag->as_str().starts_with("W/")) {
      std::string weak = "W/" + std::string(etag->as_str());
      h.insert(http::header::ETAG, http::HeaderValue::from_static(weak));
    }
  }
}

}  // namespace detail

}  // namespace weft::middleware
