// Response<B>: defaults (200 OK, HTTP/1.1), constructors, accessors, into_body, map_body
// keeping the head, parts, recycled heads.
#define BOOST_TEST_MODULE response_test
#include "weft/http/response.h"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace header = weft::http::header;
using weft::http::HeaderValue;
using weft::http::Response;
using weft::http::ResponseParts;
using weft::http::StatusCode;
using weft::http::Version;

namespace {

struct Timing {
  int micros;
};

Response<std::string> sample() {
  Response<std::string> res(StatusCode::NOT_FOUND, "no such page");
  res.version() = Version::kHttp2;
  res.headers().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
  res.extensions().insert(Timing{17});
  return res;
}

template <class B>
void check_sample_head(const Response<B>& res) {
  BOOST_TEST((res.status() == StatusCode::NOT_FOUND));
  BOOST_TEST((res.version() == Version::kHttp2));
  BOOST_TEST(res.headers().size() == 1u);
  BOOST_TEST(res.headers().get("Content-Type")->as_str() == "text/plain");
  BOOST_TEST_REQUIRE(res.extensions().template get<Timing>() != nullptr);
  BOOST_TEST(res.extensions().template get<Timing>()->micros == 17);
}

}  // namespace

BOOST_AUTO_TEST_CASE(defaults) {
  Response<std::string> res;
  BOOST_TEST((res.status() == StatusCode::OK));
  BOOST_TEST((res.version() == Version::kHttp11));
  BOOST_TEST(res.headers().empty());
  BOOST_TEST(res.extensions().empty());
  BOOST_TEST(res.body().empty());

  Response<std::string> with_body("hi");
  BOOST_TEST((with_body.status() == StatusCode::OK));
  BOOST_TEST(with_body.body() == "hi");
}

BOOST_AUTO_TEST_CASE(status_and_body_constructor) {
  Response<std::string> res = sample();
  check_sample_head(res);
  BOOST_TEST(res.body() == "no such page");
  BOOST_TEST(res.status().is_client_error());

  res.status() = StatusCode::GONE;
  res.body() = "gone";
  const Response<std::string>& view = res;
  BOOST_TEST((view.status() == StatusCode::GONE));
  BOOST_TEST(view.body() == "gone");
  BOOST_TEST((view.version() == Version::kHttp2));
}

BOOST_AUTO_TEST_CASE(into_body) {
  BOOST_TEST(sample().into_body() == "no such page");
  Response<std::unique_ptr<int>> boxed(StatusCode::CREATED, std::make_unique<int>(3));
  BOOST_TEST(*std::move(boxed).into_body() == 3);
}

BOOST_AUTO_TEST_CASE(map_body_keeps_the_head) {
  auto sized = sample().map_body([](std::string s) { return s.size(); });
  static_assert(std::is_same_v<decltype(sized), Response<size_t>>);
  BOOST_TEST(sized.body() == 12u);
  check_sample_head(sized);

  auto boxed = std::move(sized).map_body([](size_t n) { return std::make_unique<size_t>(n); });
  static_assert(std::is_same_v<decltype(boxed), Response<std::unique_ptr<size_t>>>);
  BOOST_TEST(*boxed.body() == 12u);
  check_sample_head(boxed);

  // A mutable function object is called once, on the body.
  struct Appender {
    int calls = 0;
    std::string operator()(std::string s) {
      ++calls;
      return s + "!";
    }
  };
  auto shouted = sample().map_body(Appender{});
  BOOST_TEST(shouted.body() == "no such page!");
}

BOOST_AUTO_TEST_CASE(parts_round_trip) {
  auto [parts, body] = sample().into_parts();
  BOOST_TEST((parts.status == StatusCode::NOT_FOUND));
  BOOST_TEST(body == "no such page");
  Response<int> again = Response<int>::from_parts(std::move(parts), 5);
  check_sample_head(again);
  BOOST_TEST(again.body() == 5);

  ResponseParts fresh;
  BOOST_TEST((fresh.status == StatusCode::OK));
  BOOST_TEST((fresh.version == Version::kHttp11));
}

BOOST_AUTO_TEST_CASE(recycled_heads_come_back_clean_with_their_header_capacity) {
  std::size_t capacity = 0;
  {
    Response<int> used = sample().map_body([](std::string) { return 1; });
    used.version() = Version::kHttp10;
    used.extensions().insert(Timing{7});
    for (int i = 0; i < 8; ++i) BOOST_TEST(used.headers().append("x-n", "v").ok());
    capacity = used.headers().capacity();
  }  // its head goes back to this thread's pool
  Response<int> next;
  // A clean default head: 200 OK, HTTP/1.1, no headers, no extensions...
  BOOST_TEST((next.status() == StatusCode::OK));
  BOOST_TEST((next.version() == Version::kHttp11));
  BOOST_TEST(next.headers().empty());
  BOOST_TEST(next.extensions().get<Timing>() == nullptr);
  // ...that kept the header vector of the head it recycles (the pool is last in, first out).
  BOOST_TEST(next.headers().capacity() == capacity);

  // A head whose headers grew large is freed, not pooled.
  {
    Response<int> big;
    for (int i = 0; i < 100; ++i) BOOST_TEST(big.headers().append("x-n", "v").ok());
  }
  Response<int> after;
  BOOST_TEST(after.headers().empty());
  BOOST_TEST(after.headers().capacity() <= 32u);
}
