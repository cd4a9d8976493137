// llhttp 8.1 (compiled from Debian node-llhttp's generated C): parse good and bad requests.
#define BOOST_TEST_MODULE llhttp_test
#include <llhttp.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <string>

namespace {
struct Parsed {
  std::string url, body;
  int complete = 0;
};

llhttp_errno_t parse(const std::string& input, Parsed& out) {
  llhttp_settings_t settings;
  llhttp_settings_init(&settings);
  settings.on_url = [](llhttp_t* p, const char* at, size_t n) {
    static_cast<Parsed*>(p->data)->url.append(at, n);
    return 0;
  };
  settings.on_body = [](llhttp_t* p, const char* at, size_t n) {
    static_cast<Parsed*>(p->data)->body.append(at, n);
    return 0;
  };
  settings.on_message_complete = [](llhttp_t* p) {
    ++static_cast<Parsed*>(p->data)->complete;
    return 0;
  };
  llhttp_t parser;
  llhttp_init(&parser, HTTP_REQUEST, &settings);
  parser.data = &out;
  return llhttp_execute(&parser, input.data(), input.size());
}
}  // namespace

BOOST_AUTO_TEST_CASE(pipelined_requests_with_chunked_body) {
  Parsed p;
  BOOST_TEST(parse("GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"
                   "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                   p) == HPE_OK);
  BOOST_TEST(p.complete == 2);
  BOOST_TEST(p.url == "/a?x=1/b");
  BOOST_TEST(p.body == "abc");
}

BOOST_AUTO_TEST_CASE(malformed_request_line_is_an_error) {
  Parsed p;
  BOOST_TEST(parse("GET / HTTP/9\r\n\r\n", p) != HPE_OK);
}
