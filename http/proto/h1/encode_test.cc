// h1 encoders: the exact bytes of response and request heads, chunk framing and trailers;
// framing headers a user set are replaced by the real framing; output is appended after what
// the buffer already holds; heads far larger than usual are written whole.
#define BOOST_TEST_MODULE h1_encode_test
#include "weft/http/proto/h1/encode.h"

#include <boost/test/unit_test.hpp>
#include <string>

namespace h1 = weft::http::proto::h1;
namespace http = weft::http;

namespace {

http::HeaderMap headers(std::initializer_list<std::pair<const char*, std::string>> kv) {
  http::HeaderMap h;
  for (const auto& [n, v] : kv) BOOST_REQUIRE(h.append(n, v).ok());
  return h;
}

std::string date_line() { return "date: " + std::string(h1::http_date()) + "\r\n"; }

// Encodes with `encode` and checks the result is `expected(date line)` for the date of just
// before or just after the call (a second may tick in between).
template <class Encode, class Expected>
void check_with_date(Encode encode, Expected expected) {
  std::string before = date_line();
  std::string out = encode();
  std::string after = date_line();
  if (out == expected(after)) return;
  BOOST_TEST(out == expected(before));
}

}  // namespace

BOOST_AUTO_TEST_CASE(response_head_with_length_and_date) {
  check_with_date(
      [] {
        std::string out = "previous bytes|";
        h1::encode_response_head(out, http::StatusCode::OK,
                                 headers({{"Content-Type", "text/plain"}, {"X-A", "1"}}),
                                 h1::BodyFraming::of_length(13), /*keep_alive=*/true);
        return out;
      },
      [](const std::string& date) {
        return "previous bytes|HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-a: 1\r\n" + date +
               "content-length: 13\r\n\r\n";
      });
}

BOOST_AUTO_TEST_CASE(users_framing_headers_are_replaced_and_their_date_kept) {
  std::string out;
  h1::encode_response_head(out, http::StatusCode::NOT_FOUND,
                           headers({{"Content-Length", "999"},
                                    {"Transfer-Encoding", "gzip"},
                                    {"Connection", "keep-alive"},
                                    {"Date", "Tue, 01 Dec 2026 00:00:00 GMT"}}),
                           h1::BodyFraming::chunked(), /*keep_alive=*/false);
  BOOST_TEST(out ==
             "HTTP/1.1 404 Not Found\r\ndate: Tue, 01 Dec 2026 00:00:00 GMT\r\n"
             "transfer-encoding: chunked\r\nconnection: close\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(connection_header_for_http10_and_upgrade) {
  std::string out;
  h1::encode_response_head(out, http::StatusCode::NO_CONTENT, {}, h1::BodyFraming::none(), true,
                           http::Version::kHttp10);
  BOOST_TEST(out == "HTTP/1.1 204 No Content\r\n" + date_line() + "connection: keep-alive\r\n\r\n");
  out.clear();
  h1::encode_response_head(out, http::StatusCode::SWITCHING_PROTOCOLS,
                           headers({{"Upgrade", "websocket"}}), h1::BodyFraming::none(), true);
  BOOST_TEST(out == "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n" + date_line() +
                        "connection: upgrade\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(the_largest_length_and_a_huge_header_fit) {
  const std::string big(100000, 'v');
  check_with_date(
      [&] {
        std::string out;
        h1::encode_response_head(out, http::StatusCode::OK, headers({{"x-big", big}}),
                                 h1::BodyFraming::of_length(UINT64_MAX), true);
        return out;
      },
      [&](const std::string& date) {
        return "HTTP/1.1 200 OK\r\nx-big: " + big + "\r\n" + date +
               "content-length: 18446744073709551615\r\n\r\n";
      });
}

BOOST_AUTO_TEST_CASE(request_head_adds_host_unless_given) {
  std::string out;
  h1::encode_request_head(out, http::Method::POST, "/a?b=c", "example.com:8080",
                          headers({{"Accept", "*/*"}}), h1::BodyFraming::of_length(0));
  BOOST_TEST(out ==
             "POST /a?b=c HTTP/1.1\r\nhost: example.com:8080\r\naccept: */*\r\n"
             "content-length: 0\r\n\r\n");
  out.clear();
  h1::encode_request_head(out, http::Method::GET, "", "example.com",
                          headers({{"Host", "other.org"}, {"Content-Length", "5"}}),
                          h1::BodyFraming::none());
  BOOST_TEST(out == "GET / HTTP/1.1\r\nhost: other.org\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(chunk_framing_and_trailers) {
  std::string out;
  h1::append_chunk_header(out, 0x1a2b);
  h1::append_chunk_end(out);
  h1::append_chunk_header(out, 0);
  BOOST_TEST(out == "1a2b\r\n\r\n0\r\n");
  out.clear();
  h1::append_last_chunk(out, nullptr);
  BOOST_TEST(out == "0\r\n\r\n");
  out.clear();
  http::HeaderMap t = headers({{"grpc-status", "0"}, {"Content-Length", "1"}});
  h1::append_last_chunk(out, &t);
  BOOST_TEST(out == "0\r\ngrpc-status: 0\r\n\r\n");
}
