// Fuzz target of the h1 encoder against the h1 parser: whatever head, body and trailers a
// handler (or a client's caller) builds, what encode.h writes parses back to the same message.
//
// Input: a mode byte, a selector byte, then lines ('\n'-separated):
//   mode bit 0  a request (the client's encoder), else a response (the server's)
//   mode bit 1  the body chunked (with trailers), else framed by its length
//   mode bit 2  keep-alive (responses)
//   selector    the status (responses) or the method (requests), from the tables below
//   line 0      the body; line 1: the chunk sizes, one byte each (chunked)
//   lines 2...  "name:value" header candidates, added through HeaderMap::append (invalid ones
//               are dropped); after a line "--", trailers (chunked only)
// The corpus files (corpus/encode/) are written so: "\x02\x00hello\n\x02\x03\nx-a:1\n--\nx-t:2".
//
// Properties: the encoding parses (kind, whole and byte by byte) without error, to one message
// with the same status or method and target, the user's headers in order with their values
// (without the surrounding whitespace an HTTP/1 parser trims) except the framing ones the
// encoder owns (content-length, transfer-encoding, connection; and date and host, which it may
// add), the same body and the same trailers; nothing follows the message.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/http/header_map.h"
#include "weft/http/proto/h1/encode.h"
#include "weft/http/proto/h1/feed.h"
#include "weft/http/proto/h1/parser.h"
#include "weft/tools/fuzz/check.h"

namespace {

namespace http = weft::http;
namespace h1 = weft::http::proto::h1;
using Event = h1::Parser::Event;
using Fields = std::vector<std::pair<std::string, std::string>>;

std::vector<std::string_view> lines_of(std::string_view s) {
  std::vector<std::string_view> out;
  for (;;) {
    std::size_t nl = s.find('\n');
    out.push_back(s.substr(0, nl));
    if (nl == std::string_view::npos) return out;
    s.remove_prefix(nl + 1);
  }
}

std::string_view trimmed(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

bool owned_by_encoder(std::string_view name) {
  return name == "content-length" || name == "transfer-encoding" || name == "connection" ||
         name == "date" || name == "host";
}

// The fields a parser should see: names as given (lowercase), values trimmed, minus the ones
// the encoder owns.
Fields visible(const http::HeaderMap& m) {
  Fields f;
  for (const auto& e : m) {
    if (owned_by_encoder(e.name.as_str())) continue;
    f.emplace_back(e.name.as_str(), trimmed(e.value.as_str()));
  }
  return f;
}

struct Parsed {
  std::string start;  // "200" or "GET /x"
  Fields headers, trailers;
  std::string body;
  int messages = 0;
};

Parsed parse(const std::string& wire, bool request, std::size_t step) {
  h1::Parser p(request ? h1::Parser::Kind::kRequest : h1::Parser::Kind::kResponse, h1::Limits{});
  Parsed out;
  std::string problem = h1::feed(
      p, wire, step, /*finish=*/false, [&](const h1::Parser::Step& s, const std::string& buf) {
        WEFT_FUZZ_CHECK(s.event != Event::kError, "the encoding does not parse");
        if (s.event == Event::kHead) {
          http::HeaderMap headers;
          if (request) {
            h1::RequestHead h = p.take_request_head(buf.data());
            WEFT_FUZZ_CHECK(!p.head_error(), "the encoded request head is rejected");
            out.start = std::string(h.method.as_str()) + " " + h.uri.to_string();
            headers = std::move(h.headers);
          } else {
            h1::ResponseHead h = p.take_response_head(buf.data());
            WEFT_FUZZ_CHECK(!p.head_error(), "the encoded response head is rejected");
            out.start = std::to_string(h.status.as_u16());
            headers = std::move(h.headers);
          }
          out.headers = visible(headers);
        } else if (s.event == Event::kData) {
          out.body.append(buf, s.data_begin, s.data_end - s.data_begin);
        } else if (s.event == Event::kMessageComplete) {
          ++out.messages;
          out.trailers = visible(p.take_trailers());
        }
        return true;
      });
  WEFT_FUZZ_CHECK(problem.empty(), problem.c_str());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool request = (data[0] & 1) != 0;
  const bool chunked = (data[0] & 2) != 0;
  const bool keep_alive = (data[0] & 4) != 0;
  static const uint16_t kStatuses[] = {200, 201, 299, 400, 404, 418, 500, 599};
  static const http::Method kMethods[] = {http::Method::GET,   http::Method::POST,
                                          http::Method::PUT,   http::Method::DELETE,
                                          http::Method::PATCH, http::Method::OPTIONS};
  const uint16_t status = kStatuses[data[1] % 8];
  const http::Method& method = kMethods[data[1] % 6];
  std::vector<std::string_view> lines =
      lines_of(std::string_view(reinterpret_cast<const char*>(data) + 2, size - 2));
  const std::string_view body = lines[0];
  const std::string_view sizes = lines.size() > 1 ? lines[1] : std::string_view();
  http::HeaderMap headers, trailers;
  bool in_trailers = false;
  for (std::size_t i = 2; i < lines.size(); ++i) {
    if (lines[i] == "--") {
      in_trailers = true;
      continue;
    }
    std::size_t colon = lines[i].find(':');
    if (colon == std::string_view::npos) continue;
    http::HeaderMap& into = in_trailers && chunked ? trailers : headers;
    (void)into.append(lines[i].substr(0, colon), lines[i].substr(colon + 1));
  }
  // A request with two Host fields is ambiguous (the parser refuses it): not this target's
  // business.
  if (request && headers.get_all("host").size() > 1) return 0;

  std::string wire;
  const h1::BodyFraming framing =
      chunked ? h1::BodyFraming::chunked() : h1::BodyFraming::of_length(body.size());
  if (request) {
    h1::encode_request_head(wire, method, "/x?y=1", "example.com", headers, framing);
  } else {
    h1::encode_response_head(wire, http::StatusCode(status), headers, framing, keep_alive);
  }
  if (chunked) {
    std::size_t at = 0;
    for (std::size_t k = 0; at < body.size(); ++k) {
      std::size_t n = k < sizes.size() ? static_cast<unsigned char>(sizes[k]) : body.size();
      n = std::min(n == 0 ? 1 : n, body.size() - at);
      h1::append_chunk_header(wire, n);
      wire.append(body.substr(at, n));
      h1::append_chunk_end(wire);
      at += n;
    }
    h1::append_last_chunk(wire, trailers.empty() ? nullptr : &trailers);
  } else {
    wire.append(body);
  }

  const std::string start =
      request ? std::string(method.as_str()) + " /x?y=1" : std::to_string(status);
  for (std::size_t step : {std::size_t{0}, std::size_t{1}}) {
    Parsed got = parse(wire, request, step);
    WEFT_FUZZ_CHECK(got.messages == 1, "not exactly one message");
    WEFT_FUZZ_CHECK(got.start == start, "another status, method or target");
    WEFT_FUZZ_CHECK(got.headers == visible(headers), "other headers than the user's");
    WEFT_FUZZ_CHECK(got.body == body, "another body");
    WEFT_FUZZ_CHECK(got.trailers == visible(trailers), "other trailers");
  }
  return 0;
}
