// Parser: the HTTP/1.1 message parser (requests for the server, responses for the client),
// driven by llhttp in its strict mode. Private to http/.
//
//   h1::Parser p(h1::Parser::Kind::kRequest, limits);
//   h1::Parser::Step s = p.execute(buf.data(), begin, buf.size());   // parse buf[begin, size)
//   if (s.event == h1::Parser::Event::kHead) { RequestHead h = p.take_request_head(buf.data()); }
//   if (s.event == h1::Parser::Event::kData) { slice buf[s.data_begin, s.data_end) as a body frame
//   }
//
// Invariants the caller keeps:
//   1. The bytes of one message head are contiguous in one buffer, from where the head started
//      until kHead, at the same offsets: execute() records header positions as offsets from
//      `base`, so the buffer may move (grow) between calls, but head bytes must not be dropped
//      before kHead.
//   2. Each execute() parses at most up to the next event and pauses there (kHead, one kData
//      span, kMessageComplete): `Step::consumed` says where to resume.
// Strictness (request smuggling, DoS): llhttp's lenient flags stay off, so Content-Length with
// Transfer-Encoding, duplicate Content-Length, bad chunk sizes, bare LF, invalid token or value
// characters are errors; the parser also enforces the head size, the URI length and the header
// count (Limits), each with its own status (431, 414, 431).
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "weft/http/header_map.h"
#include "weft/http/method.h"
#include "weft/http/status_code.h"
#include "weft/http/uri.h"
#include "weft/http/version.h"

namespace weft::http::proto::h1 {

struct Limits {
  std::size_t max_head_bytes = 16 * 1024;  // request line + headers (431 beyond)
  std::size_t max_uri_bytes = 8 * 1024;    // request target (414 beyond)
  std::size_t max_headers = 100;           // header fields (431 beyond)
};

// How the message's body is framed.
struct Framing {
  bool chunked = false;
  std::optional<uint64_t> content_length;  // set when Content-Length framed
  bool until_eof = false;                  // response read until the connection closes
  bool keep_alive = true;                  // the connection may carry another message after it
  bool upgrade = false;                    // Connection: upgrade + Upgrade (or CONNECT)
};

struct RequestHead {
  Method method;
  Uri uri;
  Version version = Version::kHttp11;
  HeaderMap headers;
  Framing framing;
  bool expect_continue = false;  // Expect: 100-continue
  bool expect_other = false;     // an Expect this server cannot meet (417)
};

struct ResponseHead {
  StatusCode status = StatusCode::OK;
  Version version = Version::kHttp11;
  HeaderMap headers;
  Framing framing;
};

// A parse failure and the status a server answers it with.
struct ParseError {
  StatusCode status = StatusCode::BAD_REQUEST;
  std::string message;
};

class Parser {
 public:
  enum class Kind : uint8_t { kRequest, kResponse };
  enum class Event : uint8_t {
    kNeedMore,         // everything given was consumed; feed more bytes
    kHead,             // the head is complete: take_*_head()
    kData,             // a piece of body: [data_begin, data_end)
    kMessageComplete,  // the message (and its trailers: take_trailers()) ended
    kUpgrade,          // the message ended and the connection switches protocol; bytes from
                       // `consumed` on belong to the new protocol
    kError,            // error(): the connection cannot continue
  };
  struct Step {
    Event event = Event::kNeedMore;
    std::size_t consumed = 0;  // offset (from base) where the next execute() starts
    std::size_t data_begin = 0;
    std::size_t data_end = 0;
  };

  Parser(Kind kind, Limits limits);
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Parses base[begin, end) up to the next event.
  Step execute(const char* base, std::size_t begin, std::size_t end);
  // The connection closed: ends a body framed by EOF (kMessageComplete), or errors if a
  // message was cut short (kError), or kNeedMore when between messages.
  Step finish();

  // For responses to HEAD (and 1xx, 204, 304 answers the client expects without a body).
  void set_response_has_no_body(bool v) { skip_body_ = v; }

  // `reuse`: a header map whose capacity the head's headers take over (its entries are dropped),
  // so a connection that hands its previous one back parses without allocating.
  RequestHead take_request_head(const char* base, HeaderMap reuse = HeaderMap());
  ResponseHead take_response_head(const char* base);
  // The trailers of the message that just completed (chunked bodies only).
  HeaderMap take_trailers();
  // take_*_head() found a bad request target or header (error() says which).
  bool head_error() const { return head_error_; }
  const ParseError& error() const { return error_; }
  // True when no byte of a next message has been parsed (the connection is idle).
  bool between_messages() const { return !in_message_; }

 private:
  struct Span {
    std::size_t off = 0;
    std::size_t len = 0;
  };
  struct Field {
    Span name;
    Span value;
  };

  static int on_message_begin(llhttp_t* p);
  static int on_url(llhttp_t* p, const char* at, std::size_t len);
  static int on_header_field(llhttp_t* p, const char* at, std::size_t len);
  static int on_header_value(llhttp_t* p, const char* at, std::size_t len);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, std::size_t len);
  static int on_message_complete(llhttp_t* p);
  static const llhttp_settings_t& settings();

  int fail(StatusCode status, std::string message);
  Step fail_step(StatusCode status, std::string message);
  absl::Status fill_headers(const char* base, HeaderMap& out);
  // `h` refused (head_error()): the status to answer with, and no keep-alive.
  template <class Head>
  Head rejected(Head h, StatusCode status, std::string message);
  Framing framing() const;

  llhttp_t llhttp_;
  Kind kind_;
  Limits limits_;
  const char* base_ = nullptr;  // during execute()
  bool skip_body_ = false;
  bool in_message_ = false;
  bool in_body_ = false;
  bool head_ready_ = false;      // kHead pending report
  bool complete_ready_ = false;  // kMessageComplete pending report
  bool last_was_value_ = false;
  std::size_t data_begin_ = 0, data_end_ = 0;
  bool data_ready_ = false;
  Span url_;
  std::vector<Field> fields_;
  // Trailers arrive after the head's bytes may be gone, so they are copied.
  std::string trailer_name_, trailer_value_;
  std::vector<std::pair<std::string, std::string>> trailer_fields_;
  std::size_t head_bytes_ = 0;  // bytes of the current head so far
  bool head_error_ = false;
  ParseError error_;
};

}  // namespace weft::http::proto::h1
