#include "weft/http/proto/h1/encode.h"

#include <time.h>

#include <charconv>
#include <cstring>

namespace weft::http::proto::h1 {

namespace {

// Framing headers the encoder owns: a user's copy would contradict the real framing.
bool is_framing_header(std::string_view name) {
  return name == "content-length" || name == "transfer-encoding" || name == "connection";
}

void append_u64(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

void append_headers(std::string& out, const HeaderMap& headers, bool* has_date, bool* has_host) {
  for (const auto& e : headers) {
    std::string_view n = e.name.as_str();
    if (n.size() >= 10 && is_framing_header(n)) continue;
    if (has_date != nullptr && n == "date") *has_date = true;
    if (has_host != nullptr && n == "host") *has_host = true;
    out.append(n);
    out.append(": ");
    out.append(e.value.as_str());
    out.append("\r\n");
  }
}

void append_framing(std::string& out, BodyFraming framing) {
  switch (framing.kind) {
    case BodyFraming::Kind::kLength:
      out.append("content-length: ");
      append_u64(out, framing.length);
      out.append("\r\n");
      break;
    case BodyFraming::Kind::kChunked:
      out.append("transfer-encoding: chunked\r\n");
      break;
    case BodyFraming::Kind::kNone:
    case BodyFraming::Kind::kCloseDelimited:
      break;
  }
}

}  // namespace

std::string_view http_date() {
  struct Cache {
    time_t second = -1;
    char text[32];
    std::size_t len = 0;
  };
  thread_local Cache cache;
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  if (ts.tv_sec != cache.second) {
    tm t;
    gmtime_r(&ts.tv_sec, &t);
    cache.len = strftime(cache.text, sizeof cache.text, "%a, %d %b %Y %H:%M:%S GMT", &t);
    cache.second = ts.tv_sec;
  }
  return std::string_view(cache.text, cache.len);
}

void encode_response_head(std::string& out, StatusCode status, const HeaderMap& headers,
                          BodyFraming framing, bool keep_alive, Version peer) {
  out.append("HTTP/1.1 ");
  append_u64(out, status.as_u16());
  out.push_back(' ');
  out.append(status.canonical_reason());
  out.append("\r\n");
  bool has_date = false;
  append_headers(out, headers, &has_date, nullptr);
  if (!has_date) {
    out.append("date: ");
    out.append(http_date());
    out.append("\r\n");
  }
  append_framing(out, framing);
  if (status.as_u16() == 101) {
    out.append("connection: upgrade\r\n");  // the user's Upgrade header names the protocol
  } else if (!keep_alive) {
    out.append("connection: close\r\n");
  } else if (peer == Version::kHttp10) {
    out.append("connection: keep-alive\r\n");
  }
  out.append("\r\n");
}

void encode_request_head(std::string& out, const Method& method, std::string_view target,
                         std::string_view host, const HeaderMap& headers, BodyFraming framing) {
  out.append(method.as_str());
  out.push_back(' ');
  out.append(target.empty() ? std::string_view("/") : target);
  out.append(" HTTP/1.1\r\n");
  bool has_host = false;
  std::size_t host_at = out.size();
  append_headers(out, headers, nullptr, &has_host);
  if (!has_host && !host.empty()) {
    std::string line = "host: ";
    line.append(host);
    line.append("\r\n");
    out.insert(host_at, line);
  }
  append_framing(out, framing);
  out.append("\r\n");
}

void append_chunk_header(std::string& out, std::size_t size) {
  char buf[20];
  auto r = std::to_chars(buf, buf + sizeof buf, size, 16);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
  out.append("\r\n");
}

void append_last_chunk(std::string& out, const HeaderMap* trailers) {
  out.append("0\r\n");
  if (trailers != nullptr) append_headers(out, *trailers, nullptr, nullptr);
  out.append("\r\n");
}

}  // namespace weft::http::proto::h1
