#include "weft/http/proto/h1/encode.h"

#include <time.h>

#include <charconv>
#include <cstring>

namespace weft::http::proto::h1 {

namespace {

constexpr std::size_t kMaxNumber = 20;  // digits of 2^64 - 1

// Writes a message head into memory reserved beforehand for its largest possible size: one
// capacity check for the whole head instead of one per piece (with a dozen std::string appends,
// encode_response_head took 673 of http_echo's 7,779 instructions per GET /, callgrind).
class HeadWriter {
 public:
  HeadWriter(std::string& out, std::size_t max_size) : out_(out) {
    std::size_t start = out_.size();
    out_.resize(start + max_size);
    p_ = out_.data() + start;
  }
  ~HeadWriter() { out_.resize(static_cast<std::size_t>(p_ - out_.data())); }
  HeadWriter(const HeadWriter&) = delete;
  HeadWriter& operator=(const HeadWriter&) = delete;

  void put(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  template <std::size_t N>
  void put(const char (&lit)[N]) {  // a literal: a copy of a size known at compile time
    std::memcpy(p_, lit, N - 1);
    p_ += N - 1;
  }
  template <std::size_t N>
  void put_fixed(const char* p) {  // N bytes, N known at compile time: a copy without a call
    std::memcpy(p_, p, N);
    p_ += N;
  }
  void put_number(uint64_t v, int base = 10) {
    p_ = std::to_chars(p_, p_ + kMaxNumber, v, base).ptr;
  }

 private:
  std::string& out_;
  char* p_;
};

// The longest framing line put_framing writes.
constexpr std::size_t kMaxFraming = sizeof("content-length: \r\n") + kMaxNumber;

// Framing headers the encoder owns: a user's copy would contradict the real framing.
bool is_framing_header(std::string_view name) {
  return name.size() >= 10 &&
         (name == "content-length" || name == "transfer-encoding" || name == "connection");
}

// Upper bound of what put_headers writes.
std::size_t headers_size(const HeaderMap& headers) {
  std::size_t n = 0;
  for (const auto& e : headers) n += e.name.as_str().size() + e.value.as_str().size() + 4;
  return n;
}

// "name: value\r\n" for each header but the framing ones; true if one of them is `wanted`.
bool put_headers(HeadWriter& w, const HeaderMap& headers, std::string_view wanted) {
  bool seen = false;
  for (const auto& e : headers) {
    std::string_view n = e.name.as_str();
    if (is_framing_header(n)) continue;
    if (n == wanted) seen = true;
    w.put(n);
    w.put(": ");
    w.put(e.value.as_str());
    w.put("\r\n");
  }
  return seen;
}

void put_framing(HeadWriter& w, BodyFraming framing) {
  switch (framing.kind) {
    case BodyFraming::Kind::kLength:
      w.put("content-length: ");
      w.put_number(framing.length);
      w.put("\r\n");
      break;
    case BodyFraming::Kind::kChunked:
      w.put("transfer-encoding: chunked\r\n");
      break;
    case BodyFraming::Kind::kNone:
    case BodyFraming::Kind::kCloseDelimited:
      break;
  }
}

}  // namespace

namespace {

// "date: " + IMF-fixdate (always 29 bytes, "Sun, 06 Nov 1994 08:49:37 GMT") + CRLF.
constexpr std::size_t kDatePrefix = sizeof("date: ") - 1;
constexpr std::size_t kDate = sizeof("Sun, 06 Nov 1994 08:49:37 GMT") - 1;
constexpr std::size_t kDateLine = kDatePrefix + kDate + 2;

// The current date line, cached per thread and rewritten once a second: a response copies it
// whole (a fixed-size copy, no formatting).
const char* date_line() {
  struct Cache {
    time_t second = -1;
    char line[kDateLine + 1];  // + strftime's NUL
  };
  thread_local Cache cache;
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  if (ts.tv_sec != cache.second) {
    tm t;
    gmtime_r(&ts.tv_sec, &t);
    strftime(cache.line, sizeof cache.line, "date: %a, %d %b %Y %H:%M:%S GMT\r\n", &t);
    cache.second = ts.tv_sec;
  }
  return cache.line;
}

}  // namespace

std::string_view http_date() { return std::string_view(date_line() + kDatePrefix, kDate); }

void encode_response_head(std::string& out, StatusCode status, const HeaderMap& headers,
                          BodyFraming framing, bool keep_alive, Version peer) {
  const bool ok = status == StatusCode::OK;  // most answers: a status line written as one piece
  const std::string_view reason = ok ? std::string_view("OK") : status.canonical_reason();
  HeadWriter w(out, sizeof("HTTP/1.1  \r\n") + kMaxNumber + reason.size() + headers_size(headers) +
                        kDateLine + kMaxFraming + sizeof("connection: keep-alive\r\n") +
                        sizeof("\r\n"));
  if (ok) {
    w.put("HTTP/1.1 200 OK\r\n");
  } else {
    w.put("HTTP/1.1 ");
    w.put_number(status.as_u16());
    w.put(" ");
    w.put(reason);
    w.put("\r\n");
  }
  if (!put_headers(w, headers, "date")) w.put_fixed<kDateLine>(date_line());
  put_framing(w, framing);
  if (status.as_u16() == 101) {
    w.put("connection: upgrade\r\n");  // the user's Upgrade header names the protocol
  } else if (!keep_alive) {
    w.put("connection: close\r\n");
  } else if (peer == Version::kHttp10) {
    w.put("connection: keep-alive\r\n");
  }
  w.put("\r\n");
}

void encode_request_head(std::string& out, const Method& method, std::string_view target,
                         std::string_view host, const HeaderMap& headers, BodyFraming framing) {
  if (target.empty()) target = "/";
  const bool add_host = !host.empty() && !headers.contains(header::HOST);
  HeadWriter w(out, method.as_str().size() + target.size() + sizeof("  HTTP/1.1\r\n") +
                        sizeof("host: \r\n") + host.size() + headers_size(headers) + kMaxFraming +
                        sizeof("\r\n"));
  w.put(method.as_str());
  w.put(" ");
  w.put(target);
  w.put(" HTTP/1.1\r\n");
  if (add_host) {
    w.put("host: ");
    w.put(host);
    w.put("\r\n");
  }
  put_headers(w, headers, {});
  put_framing(w, framing);
  w.put("\r\n");
}

void append_chunk_header(std::string& out, std::size_t size) {
  HeadWriter w(out, kMaxNumber + 2);
  w.put_number(size, 16);
  w.put("\r\n");
}

void append_last_chunk(std::string& out, const HeaderMap* trailers) {
  HeadWriter w(out, sizeof("0\r\n\r\n") + (trailers != nullptr ? headers_size(*trailers) : 0));
  w.put("0\r\n");
  if (trailers != nullptr) put_headers(w, *trailers, {});
  w.put("\r\n");
}

}  // namespace weft::http::proto::h1
