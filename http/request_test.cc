// Request<B>: defaults, access to every part, into_body, map_body keeping the head, parts.
#define BOOST_TEST_MODULE request_test
#include "weft/http/request.h"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace header = weft::http::header;
using weft::http::HeaderValue;
using weft::http::Method;
using weft::http::Request;
using weft::http::RequestParts;
using weft::http::Uri;
using weft::http::Version;

namespace {

struct PeerPort {
  int port;
};

Request<std::string> sample() {
  Request<std::string> req("hello");
  req.method() = Method::POST;
  req.uri() = *Uri::parse("/echo?x=1");
  req.version() = Version::kHttp10;
  req.headers().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
  req.headers().append(header::ACCEPT, HeaderValue::from_static("*/*"));
  req.extensions().insert(PeerPort{1234});
  return req;
}

// The head of `req` is the one sample() built.
template <class B>
void check_sample_head(const Request<B>& req) {
  BOOST_TEST((req.method() == Method::POST));
  BOOST_TEST(req.uri().path() == "/echo");
  BOOST_TEST(req.uri().query() == "x=1");
  BOOST_TEST((req.version() == Version::kHttp10));
  BOOST_TEST(req.headers().size() == 2u);
  BOOST_TEST(req.headers().get("content-type")->as_str() == "text/plain");
  BOOST_TEST(req.headers().get("accept")->as_str() == "*/*");
  BOOST_TEST_REQUIRE(req.extensions().template get<PeerPort>() != nullptr);
  BOOST_TEST(req.extensions().template get<PeerPort>()->port == 1234);
}

}  // namespace

BOOST_AUTO_TEST_CASE(defaults) {
  Request<std::string> req;
  BOOST_TEST((req.method() == Method::GET));
  BOOST_TEST(req.uri().to_string() == "/");
  BOOST_TEST((req.version() == Version::kHttp11));
  BOOST_TEST(req.headers().empty());
  BOOST_TEST(req.extensions().empty());
  BOOST_TEST(req.body().empty());

  Request<int> with_int;
  BOOST_TEST(with_int.body() == 0);  // value-initialised
}

BOOST_AUTO_TEST_CASE(body_constructor_and_accessors) {
  Request<std::string> req = sample();
  check_sample_head(req);
  BOOST_TEST(req.body() == "hello");
  req.body() += " world";
  const Request<std::string>& view = req;
  BOOST_TEST(view.body() == "hello world");
  check_sample_head(view);
}

BOOST_AUTO_TEST_CASE(into_body) {
  Request<std::string> req = sample();
  std::string body = std::move(req).into_body();
  BOOST_TEST(body == "hello");

  Request<std::unique_ptr<int>> boxed(std::make_unique<int>(7));
  std::unique_ptr<int> p = std::move(boxed).into_body();
  BOOST_TEST(*p == 7);
}

BOOST_AUTO_TEST_CASE(map_body_keeps_the_head) {
  auto sized = sample().map_body([](std::string s) { return s.size(); });
  static_assert(std::is_same_v<decltype(sized), Request<size_t>>);
  BOOST_TEST(sized.body() == 5u);
  check_sample_head(sized);

  // Move-only bodies in and out.
  auto boxed = std::move(sized).map_body([](size_t n) { return std::make_unique<size_t>(n * 2); });
  static_assert(std::is_same_v<decltype(boxed), Request<std::unique_ptr<size_t>>>);
  BOOST_TEST(*boxed.body() == 10u);
  check_sample_head(boxed);
  auto back = std::move(boxed).map_body([](std::unique_ptr<size_t> p) { return *p + 1; });
  BOOST_TEST(back.body() == 11u);

  // A function returning a reference gives a body held by value.
  std::string outside = "kept";
  auto copied =
      sample().map_body([&outside](std::string) -> const std::string& { return outside; });
  static_assert(std::is_same_v<decltype(copied), Request<std::string>>);
  outside = "changed";
  BOOST_TEST(copied.body() == "kept");
}

BOOST_AUTO_TEST_CASE(parts_round_trip) {
  auto [parts, body] = sample().into_parts();
  BOOST_TEST((parts.method == Method::POST));
  BOOST_TEST(parts.uri.path() == "/echo");
  BOOST_TEST(body == "hello");
  parts.headers.remove("accept");
  BOOST_TEST(parts.headers.append("accept", "*/*").ok());

  Request<int> again = Request<int>::from_parts(std::move(parts), 99);
  check_sample_head(again);
  BOOST_TEST(again.body() == 99);

  RequestParts fresh;
  BOOST_TEST((fresh.method == Method::GET));
  BOOST_TEST((fresh.version == Version::kHttp11));
  Request<std::string> built(std::move(fresh), "b");
  BOOST_TEST(built.body() == "b");
  BOOST_TEST(built.uri().path() == "/");
}

BOOST_AUTO_TEST_CASE(recycled_heads_come_back_clean_with_their_header_capacity) {
  std::size_t capacity = 0;
  {
    Request<int> used = sample().map_body([](std::string) { return 1; });
    used.extensions().insert(PeerPort{7});
    for (int i = 0; i < 8; ++i) BOOST_TEST(used.headers().append("x-n", "v").ok());
    capacity = used.headers().capacity();
  }  // its head goes back to this thread's pool
  Request<int> next;
  // A clean default head: GET "/" HTTP/1.1, no headers, no extensions...
  BOOST_TEST((next.method() == Method::GET));
  BOOST_TEST(next.uri().path() == "/");
  BOOST_TEST(next.uri().query().empty());
  BOOST_TEST((next.version() == Version::kHttp11));
  BOOST_TEST(next.headers().empty());
  BOOST_TEST(next.extensions().get<PeerPort>() == nullptr);
  // ...that kept the header vector of the head it recycles (the pool is last in, first out).
  BOOST_TEST(next.headers().capacity() == capacity);

  // A head whose headers grew large is freed, not pooled.
  {
    Request<int> big;
    for (int i = 0; i < 100; ++i) BOOST_TEST(big.headers().append("x-n", "v").ok());
  }
  Request<int> after;
  BOOST_TEST(after.headers().empty());
  BOOST_TEST(after.headers().capacity() <= 32u);
}
