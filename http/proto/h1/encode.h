// Encoding of HTTP/1.1 message heads and chunked framing, appended to the connection's output
// buffer. Private to http/.
//
//   std::string out;
//   h1::encode_response_head(out, resp.status(), resp.headers(), h1::BodyFraming::length(5), true);
//   out.append("hello");                       // then one write of `out`
//   h1::append_chunk_header(out, 5);           // "5\r\n"; data; "\r\n" (append_chunk_end)
//
// The server's Date header comes from a per-thread cache refreshed once a second (formatting
// a date per response would cost more than the rest of the head).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "weft/http/header_map.h"
#include "weft/http/method.h"
#include "weft/http/status_code.h"
#include "weft/http/version.h"

namespace weft::http::proto::h1 {

// How the body of an outgoing message is delimited on the wire.
struct BodyFraming {
  enum class Kind : uint8_t { kNone, kLength, kChunked, kCloseDelimited };
  Kind kind = Kind::kNone;
  uint64_t length = 0;
  static BodyFraming none() { return {}; }
  static BodyFraming of_length(uint64_t n) { return {Kind::kLength, n}; }
  static BodyFraming chunked() { return {Kind::kChunked, 0}; }
  static BodyFraming close_delimited() { return {Kind::kCloseDelimited, 0}; }
};

// "HTTP/1.1 200 OK\r\n", the user's headers (framing headers the user set are replaced by
// `framing`'s), date, content-length / transfer-encoding, connection, and the blank line.
// `keep_alive` false adds "connection: close"; for an HTTP/1.0 peer, true adds
// "connection: keep-alive". `content_length_for_head` is the length a HEAD answer announces.
void encode_response_head(std::string& out, StatusCode status, const HeaderMap& headers,
                          BodyFraming framing, bool keep_alive, Version peer = Version::kHttp11);

// "GET /path?q HTTP/1.1\r\nhost: ...\r\n", headers, framing, blank line. `host` is written
// unless the headers have one.
void encode_request_head(std::string& out, const Method& method, std::string_view target,
                         std::string_view host, const HeaderMap& headers, BodyFraming framing);

void append_chunk_header(std::string& out, std::size_t size);   // "<hex>\r\n"
inline void append_chunk_end(std::string& out) { out.append("\r\n"); }
// "0\r\n", the trailers, "\r\n".
void append_last_chunk(std::string& out, const HeaderMap* trailers);

// The current "Date" header value (IMF-fixdate), cached per thread for a second.
std::string_view http_date();

}  // namespace weft::http::proto::h1
