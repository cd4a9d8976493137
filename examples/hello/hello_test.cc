// examples/hello from outside, as the README tells a newcomer to use it: start the binary, read
// "listening on 127.0.0.1:PORT", drive the JSON API with curl (the README's three lines and the
// error paths), scrape /metrics, SIGTERM it.
#define BOOST_TEST_MODULE hello_test
#include <boost/test/unit_test.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "weft/http/testing/raw_client.h"
#include "weft/tools/testing/child_server.h"

namespace {

using weft::http::testing::run_curl;
using weft::http::testing::url;

struct Hello {
  weft::testing::ChildServer s{"examples/hello/hello",
                               {"--port=0", "--workers=2", "--access_log=false"}};
  Hello() { BOOST_REQUIRE(s.started()); }
  std::string u(const std::string& target) const { return url(s.port(), target); }
};

struct Reply {
  int first = 0;        // the status (0: curl failed)
  std::string second;   // the body
  bool operator==(const Reply&) const = default;
};
[[maybe_unused]] std::ostream& operator<<(std::ostream& os, const Reply& r) {
  return os << r.first << " " << r.second;
}

// curl -w appends the status on its own last line.
Reply call(std::vector<std::string> args) {
  args.insert(args.begin(), {"-w", "\n%{http_code}"});
  weft::http::testing::CurlResult r = run_curl(args);
  if (r.exit_code != 0) return {0, r.err};
  std::size_t nl = r.out.rfind('\n');
  return {std::stoi(r.out.substr(nl + 1)), r.out.substr(0, nl)};
}

const std::vector<std::string> kAuth = {"-H", "authorization: Bearer hello-token"};
const std::vector<std::string> kJson = {"-H", "content-type: application/json"};

std::vector<std::string> put_args(const Hello& h, const std::string& key, const std::string& body,
                                  bool auth = true) {
  std::vector<std::string> a = {"-X", "PUT", h.u("/v1/items/" + key), "-d", body};
  a.insert(a.end(), kJson.begin(), kJson.end());
  if (auth) a.insert(a.end(), kAuth.begin(), kAuth.end());
  return a;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_readme_curl_lines_work) {
  Hello h;
  BOOST_TEST((call({h.u("/healthz")}) == Reply{200, R"({"status":"ok"})"}));
  BOOST_TEST((call(put_args(h, "greeting", R"({"value":"hi"})")) ==
             Reply{201, R"({"key":"greeting","value":"hi"})"}));
  BOOST_TEST((call({h.u("/v1/items/greeting")}) ==
             Reply{200, R"({"key":"greeting","value":"hi"})"}));
  BOOST_TEST(h.s.stop() == 0);
}

BOOST_AUTO_TEST_CASE(items_can_be_replaced_listed_and_deleted) {
  Hello h;
  BOOST_TEST(call(put_args(h, "a", R"({"value":{"n":[1,2]}})")).first == 201);
  BOOST_TEST(call(put_args(h, "a", R"({"value":3})")).first == 200);
  BOOST_TEST(call(put_args(h, "b", R"({"value":null})")).first == 201);
  BOOST_TEST(call({h.u("/v1/items")}).second == R"({"items":[{"key":"a","value":3},{"key":"b","value":null}]})");
  std::vector<std::string> del = {"-X", "DELETE", h.u("/v1/items/a")};
  del.insert(del.end(), kAuth.begin(), kAuth.end());
  BOOST_TEST(call(del).first == 204);
  BOOST_TEST(call(del).first == 404);
  BOOST_TEST(call({h.u("/v1/items/a")}).first == 404);
}

BOOST_AUTO_TEST_CASE(bad_requests_get_json_errors) {
  Hello h;
  auto [s1, b1] = call(put_args(h, "k", R"({"value":)"));
  BOOST_TEST(s1 == 400);
  BOOST_TEST(b1 == R"({"error":"body is not valid JSON"})");
  BOOST_TEST(call(put_args(h, "k", R"({"other":1})")).first == 400);
  BOOST_TEST(call(put_args(h, "bad%20key", R"({"value":1})")).first == 400);
  BOOST_TEST(call(put_args(h, "k", R"({"value":1})", /*auth=*/false)).first == 401);
  std::vector<std::string> text = {"-X", "PUT", h.u("/v1/items/k"), "-d", "x", "-H",
                                   "content-type: text/plain"};
  text.insert(text.end(), kAuth.begin(), kAuth.end());
  BOOST_TEST(call(text).first == 415);
  std::string big = R"({"value":")" + std::string(100 * 1024, 'x') + R"("})";
  BOOST_TEST(call(put_args(h, "k", big)).first == 413);
  BOOST_TEST(call({h.u("/nope")}).first == 404);
  BOOST_TEST(call({h.u("/healthz")}).first == 200);  // still healthy
}

BOOST_AUTO_TEST_CASE(metrics_count_requests_by_route) {
  Hello h;
  BOOST_TEST(call({h.u("/healthz")}).first == 200);
  BOOST_TEST(call({h.u("/v1/items/missing")}).first == 404);
  auto [status, text] = call({h.u("/metrics")});
  BOOST_TEST(status == 200);
  BOOST_TEST(text.find(R"(http_requests_total{method="GET",route="/healthz",status="200"} 1)") !=
             std::string::npos);
  BOOST_TEST(text.find(R"(http_requests_total{method="GET",route="/v1/items/{key}",status="404"} 1)") !=
             std::string::npos);
  BOOST_TEST(text.find("weft_runtime_") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(responses_carry_request_ids_and_gzip_when_asked) {
  Hello h;
  // Big enough to be worth compressing (the layer leaves bodies under 32 bytes alone).
  BOOST_TEST(call(put_args(h, "long", R"({"value":")" + std::string(200, 'x') + R"("})")).first == 201);
  weft::http::testing::CurlResult r =
      run_curl({"-D", "-", "-o", "/dev/null", "-H", "accept-encoding: gzip", h.u("/v1/items")});
  BOOST_TEST(r.out.find("content-encoding: gzip") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("x-request-id: ") != std::string::npos, r.out);
}

BOOST_AUTO_TEST_CASE(thread_per_core_mode_serves_too) {
  weft::testing::ChildServer s("examples/hello/hello",
                               {"--port=0", "--mode=thread-per-core", "--access_log=false"});
  BOOST_REQUIRE(s.started());
  BOOST_TEST(call({url(s.port(), "/healthz")}).first == 200);
  BOOST_TEST(s.stop() == 0);
}
