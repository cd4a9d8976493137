// Raw HTTP/1.1 over a blocking socket, and curl as an independent client: for tests that
// control every byte on the wire (http/server_test, examples/http_echo/http_echo_test).
//
//   weft::http::testing::RawConn c(port);
//   c.send(get_request("/"));                    // "GET / HTTP/1.1\r\nhost: t\r\n\r\n"
//   RawResponse r = c.read_response();          // bounded: r.error says what went wrong
//   r.status; r.header("content-length"); r.body; without_date(r.raw);
//   c.wait_closed();                             // the server closed (EOF or reset) in time
//   CurlResult cr = run_curl({url(port, "/")});  // cr.exit_code, cr.out, cr.err
//
// read_response() decodes what the server sends: content-length, chunked (each chunk's data
// and the trailers are kept), close-delimited, and no body for HEAD, 1xx, 204 and 304. It is
// strict about the framing it decodes (a chunk size must be hex, a chunk must end in CRLF).
// No Boost.Test macros here: client threads call these, and Boost.Test is single-threaded.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::http::testing {

using Millis = std::chrono::milliseconds;
// The bound on every wait: generous for sanitizers on a loaded 2-core machine.
inline constexpr Millis kLimit{20'000};

struct RawResponse {
  std::string error;  // empty when a whole response was read
  std::string version;
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;                                          // chunks joined
  std::vector<std::string> chunks;                           // a chunked body's pieces
  std::vector<std::pair<std::string, std::string>> trailers;
  std::string raw;  // the bytes of this response, as received

  bool ok() const { return error.empty(); }
  // The field's value; repeated fields joined with ", "; "<none>" when absent.
  std::string header(std::string_view name) const;
  // The field names in order, comma-separated: "content-type,date,content-length".
  std::string header_names() const;
};

// `raw` with the value of its date header replaced by "*", to compare whole responses.
std::string without_date(std::string raw);

class RawConn {
 public:
  // Connects to 127.0.0.1:port (blocking); connected() is false on failure.
  explicit RawConn(int port);
  RawConn(RawConn&& o) noexcept;
  RawConn& operator=(RawConn&&) = delete;
  ~RawConn();

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Sends all of `data`; false on error (a reset peer, for one).
  bool send(std::string_view data);
  void shutdown_write();
  // The next response (a 1xx one too: call again for the final one).
  RawResponse read_response(bool head_request = false, Millis limit = kLimit);
  // Exactly n bytes, or what arrived before EOF, an error or the bound.
  std::string read_exact(std::size_t n, Millis limit = kLimit);
  // True if the peer closes (EOF or reset) within `limit`; bytes still received before that
  // are appended to *extra.
  bool wait_closed(Millis limit = kLimit, std::string* extra = nullptr);
  // True if nothing arrives and the connection stays open for `quiet`.
  bool stays_quiet(Millis quiet);

 private:
  enum class Got { kData, kEof, kTimeout, kError };
  Got fill(std::chrono::steady_clock::time_point deadline);
  // Makes buf_ hold at least n bytes; false with *why set otherwise.
  bool need(std::size_t n, std::chrono::steady_clock::time_point deadline, std::string* why);
  // A CRLF-terminated line (without it), consumed from buf_ into *raw.
  bool line(std::string* out, std::string* raw, std::chrono::steady_clock::time_point deadline,
            std::string* why);

  int fd_ = -1;
  std::string buf_;
};

// "GET <target> HTTP/1.1" with host: t, then `extra_headers` (each ending in CRLF).
std::string get_request(std::string_view target, std::string_view extra_headers = "");
// "POST <target> HTTP/1.1" with host: t, content-length, `extra_headers`, then `body`.
std::string post_request(std::string_view target, std::string_view body,
                         std::string_view extra_headers = "");
// `request` on a fresh connection, and the first response ("connect failed" in error).
RawResponse roundtrip(int port, std::string_view request, bool head_request = false);
// "http://127.0.0.1:<port><target>".
std::string url(int port, std::string_view target);

struct CurlResult {
  int exit_code = -1;  // curl's exit code; -1 if it did not finish within the bound
  std::string out;     // stdout
  std::string err;     // stderr
};
// Runs `curl -sS --max-time <limit> args...` (curl from PATH), capturing its output.
CurlResult run_curl(const std::vector<std::string>& args, Millis limit = Millis(60'000));

}  // namespace weft::http::testing
