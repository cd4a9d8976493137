// Fuzz target of h1::Parser, requests (the server's side) and responses (the client's).
//
// Input: one mode byte, then the bytes of the wire.
//   mode bits 0-2  how the wire is fed: whole, or in pieces of 1, 2, 3, 5, 8, 13 or 64 bytes
//   mode bit 3     small limits (256-byte head, 64-byte target, 4 fields), to reach 414 and 431
//   mode bit 4     parse responses (else requests); bit 5: responses to HEAD (no bodies)
// The corpus files start with a printable mode byte: '@' requests whole, 'A' requests byte by
// byte, 'H' requests with small limits, 'P' responses, 'p' responses to HEAD.
//
// Properties, for any input:
//   - no crash, no sanitizer report, and the parse ends with sane offsets (h1::feed's checks);
//   - every head that is accepted holds only valid parts: a three-digit status, lowercase
//     token names, values that HeaderValue::parse accepts and that carry no surrounding
//     whitespace, a target that Uri::parse gives back unchanged, never both chunked and
//     Content-Length framing;
//   - a body framed by Content-Length delivers exactly that many bytes; an answer to HEAD,
//     a 1xx, 204 or 304 none;
//   - an error has a message and one of the statuses the server answers with (400, 414, 431,
//     501, 505 for requests; 400, 431 or 502 for responses);
//   - feeding the bytes in pieces gives the same messages as feeding them whole, and fails iff
//     feeding them whole fails.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "weft/http/header_name.h"
#include "weft/http/header_value.h"
#include "weft/http/proto/h1/feed.h"
#include "weft/http/proto/h1/parser.h"
#include "weft/http/uri.h"
#include "weft/tools/fuzz/check.h"

namespace {

namespace h1 = weft::http::proto::h1;
using weft::http::HeaderMap;
using weft::http::StatusCode;
using Event = h1::Parser::Event;

struct Mode {
  std::size_t step = 0;  // 0: whole
  bool small_limits = false;
  bool responses = false;
  bool head_responses = false;
};

Mode mode_of(uint8_t b) {
  static constexpr std::size_t kSteps[] = {0, 1, 2, 3, 5, 8, 13, 64};
  return Mode{kSteps[b & 7], (b & 8) != 0, (b & 16) != 0, (b & 32) != 0};
}

// What the parse gave: a description of each message (compared between feeds) and the error.
struct Outcome {
  std::string messages;
  bool error = false;
  StatusCode status = StatusCode::OK;
};

// Appends each part (string-like) to `out`.
template <typename... Parts>
void add(std::string& out, const Parts&... parts) {
  (out.append(std::string_view(parts)), ...);
}

std::string_view yes(bool b) { return b ? "yes" : "no"; }

bool has_outer_ows(std::string_view v) {
  auto ows = [](char c) { return c == ' ' || c == '\t'; };
  return !v.empty() && (ows(v.front()) || ows(v.back()));
}

void check_headers(const HeaderMap& headers, std::string& out) {
  for (const HeaderMap::Entry& e : headers) {
    std::string_view name = e.name.as_str();
    absl::StatusOr<weft::http::HeaderName> reparsed = weft::http::HeaderName::parse(name);
    WEFT_FUZZ_CHECK(reparsed.ok() && reparsed->as_str() == name,
                    "a header name that is not a lowercase token");
    for (char c : name) WEFT_FUZZ_CHECK(!(c >= 'A' && c <= 'Z'), "an uppercase header name");
    std::string_view value = e.value.as_str();
    WEFT_FUZZ_CHECK(weft::http::HeaderValue::parse(value).ok(), "an invalid header value");
    WEFT_FUZZ_CHECK(!has_outer_ows(value), "a header value with surrounding whitespace");
    add(out, name, ": ", value, "\n");
  }
}

void check_framing(const h1::Framing& f, std::string& out) {
  WEFT_FUZZ_CHECK(!(f.chunked && f.content_length.has_value()),
                  "chunked and Content-Length framing together");
  add(out, "framing chunked=", yes(f.chunked),
      " length=", f.content_length ? std::to_string(*f.content_length) : "none",
      " eof=", yes(f.until_eof), " keep-alive=", yes(f.keep_alive), " upgrade=", yes(f.upgrade),
      "\n");
}

void check_error(const h1::Parser& p, const Mode& mode, Outcome& o) {
  o.error = true;
  o.status = p.error().status;
  WEFT_FUZZ_CHECK(!p.error().message.empty(), "an error without a message");
  int code = o.status.as_u16();
  if (mode.responses) {
    WEFT_FUZZ_CHECK(code == 400 || code == 431 || code == 502,
                    "a response error with an unexpected status");
  } else {
    WEFT_FUZZ_CHECK(code == 400 || code == 414 || code == 431 || code == 501 || code == 505,
                    "a request error with an unexpected status");
  }
}

// Parses `wire` fed in pieces of `step` bytes, as the server and the client do (h1::feed); for
// responses the end of the bytes is the close.
Outcome parse(std::string_view wire, const Mode& mode, std::size_t step) {
  h1::Limits limits;
  if (mode.small_limits) limits = h1::Limits{256, 64, 4};
  h1::Parser p(mode.responses ? h1::Parser::Kind::kResponse : h1::Parser::Kind::kRequest, limits);
  p.set_response_has_no_body(mode.head_responses);
  Outcome o;
  std::string body;
  // The Content-Length of the body being read (a plain integer: g++ 12 -O1 takes an optional
  // here for maybe-uninitialized).
  constexpr uint64_t kNoLength = UINT64_MAX;
  uint64_t length = kNoLength;
  auto on_event = [&](const h1::Parser::Step& s, const std::string& buf) {
    switch (s.event) {
      case Event::kHead:
        if (mode.responses) {
          h1::ResponseHead h = p.take_response_head(buf.data());
          if (p.head_error()) {
            check_error(p, mode, o);
            return false;
          }
          WEFT_FUZZ_CHECK(h.status.as_u16() >= 100 && h.status.as_u16() <= 999,
                          "a status code that is not three digits");
          add(o.messages, "response ", std::to_string(h.status.as_u16()), " ",
              weft::http::to_string(h.version), "\n");
          check_headers(h.headers, o.messages);
          check_framing(h.framing, o.messages);
          // No body for HEAD answers, 1xx, 204 and 304, whatever their framing headers say.
          const uint16_t code = h.status.as_u16();
          const bool bodiless = mode.head_responses || code < 200 || code == 204 || code == 304;
          length = bodiless ? 0 : h.framing.content_length.value_or(kNoLength);
        } else {
          h1::RequestHead h = p.take_request_head(buf.data());
          if (p.head_error()) {
            check_error(p, mode, o);
            return false;
          }
          std::string target = h.uri.to_string();
          absl::StatusOr<weft::http::Uri> again = weft::http::Uri::parse(target);
          WEFT_FUZZ_CHECK(again.ok() && again->to_string() == target,
                          "a request target that does not parse back");
          WEFT_FUZZ_CHECK(!h.method.as_str().empty(), "an empty method");
          add(o.messages, h.method.as_str(), " ", target, " ", weft::http::to_string(h.version),
              " continue=", yes(h.expect_continue), " expect-other=", yes(h.expect_other), "\n");
          check_headers(h.headers, o.messages);
          check_framing(h.framing, o.messages);
          length = h.framing.chunked ? kNoLength : h.framing.content_length.value_or(kNoLength);
        }
        return true;
      case Event::kData:
        body.append(buf, s.data_begin, s.data_end - s.data_begin);
        return true;
      case Event::kMessageComplete: {
        if (length != kNoLength) {
          WEFT_FUZZ_CHECK(body.size() == length, "a body longer or shorter than its length");
        }
        add(o.messages, "body ", std::to_string(body.size()), ": ", body, "\n");
        HeaderMap trailers = p.take_trailers();
        check_headers(trailers, o.messages);
        body.clear();
        length = kNoLength;
        return true;
      }
      case Event::kUpgrade:
        add(o.messages, "upgrade\n");
        return false;
      case Event::kError:
        check_error(p, mode, o);
        return false;
      case Event::kNeedMore:
        break;
    }
    return true;
  };
  std::string problem = h1::feed(p, wire, step, /*finish=*/mode.responses, on_event);
  WEFT_FUZZ_CHECK(problem.empty(), problem.c_str());
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Mode mode = mode_of(data[0]);
  std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);
  Outcome whole = parse(wire, mode, 0);
  if (mode.step != 0) {
    Outcome pieces = parse(wire, mode, mode.step);
    WEFT_FUZZ_CHECK(pieces.error == whole.error, "fed in pieces, it fails iff fed whole fails");
    // Which check fails first may depend on where a piece ends (an oversized head with a bad
    // byte in it: 431 or 400); the messages before the failure may not.
    WEFT_FUZZ_CHECK(pieces.messages == whole.messages,
                    "fed in pieces, it gives other messages than fed whole");
  }
  return 0;
}
