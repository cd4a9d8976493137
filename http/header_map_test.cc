// HeaderMap: case-insensitive lookup, several values per name in insertion order, insert
// replacing in place, remove counting, validation in the string forms, inline storage.
#define BOOST_TEST_MODULE header_map_test
#include "weft/http/header_map.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "http/detail/test_allocations.h"

namespace header = weft::http::header;
using weft::http::HeaderMap;
using weft::http::HeaderName;
using weft::http::HeaderValue;
using Views = std::vector<std::string_view>;

namespace {

// "name=value" for each entry, comma-separated, in iteration order.
std::string dump(const HeaderMap& m) {
  std::string out;
  for (const HeaderMap::Entry& e : m) {
    if (!out.empty()) out += ",";
    out += std::string(e.name.as_str()) + "=" + std::string(e.value.as_str());
  }
  return out;
}

HeaderMap make(std::initializer_list<std::pair<std::string_view, std::string_view>> entries) {
  HeaderMap m;
  for (const auto& [n, v] : entries) {
    absl::Status s = m.append(n, v);
    if (!s.ok()) throw std::runtime_error(std::string(s.message()));
  }
  return m;
}

}  // namespace

BOOST_AUTO_TEST_CASE(empty_map) {
  HeaderMap m;
  BOOST_TEST(m.empty());
  BOOST_TEST(m.size() == 0u);
  BOOST_TEST(m.get("host") == nullptr);
  BOOST_TEST(m.get(header::HOST) == nullptr);
  BOOST_TEST(!m.contains("host"));
  BOOST_TEST(m.get_all("host").empty());
  BOOST_TEST(m.values("host").empty());
  BOOST_TEST(m.remove("host") == 0u);
  BOOST_TEST((m.begin() == m.end()));
}

BOOST_AUTO_TEST_CASE(lookup_ignores_case) {
  HeaderMap m;
  BOOST_TEST(m.append("Content-Type", "text/html").ok());
  BOOST_TEST(m.append("X-Custom", "1").ok());
  for (std::string_view name : {"content-type", "Content-Type", "CONTENT-TYPE", "cOnTeNt-TyPe"}) {
    const HeaderValue* v = m.get(name);
    BOOST_TEST_REQUIRE(v != nullptr);
    BOOST_TEST(v->as_str() == "text/html");
    BOOST_TEST(m.contains(name));
  }
  BOOST_TEST(m.get(header::CONTENT_TYPE)->as_str() == "text/html");
  BOOST_TEST(m.get("x-CUSTOM")->as_str() == "1");
  BOOST_TEST(m.get(*HeaderName::parse("X-Custom"))->as_str() == "1");
  BOOST_TEST(m.get("content-typ") == nullptr);
  BOOST_TEST(m.get("content-type ") == nullptr);
  BOOST_TEST(!m.contains(header::ACCEPT));
  // Stored names are lowercase.
  BOOST_TEST(dump(m) == "content-type=text/html,x-custom=1");
}

BOOST_AUTO_TEST_CASE(multiple_values_keep_insertion_order) {
  HeaderMap m = make(
      {{"Set-Cookie", "a=1"}, {"Vary", "accept"}, {"set-cookie", "b=2"}, {"SET-COOKIE", "c=3"}});
  BOOST_TEST(m.size() == 4u);
  BOOST_TEST(m.get("set-cookie")->as_str() == "a=1");  // the first value
  BOOST_TEST((m.get_all("Set-Cookie") == Views{"a=1", "b=2", "c=3"}));
  BOOST_TEST((m.get_all(header::SET_COOKIE) == Views{"a=1", "b=2", "c=3"}));
  BOOST_TEST((m.get_all("vary") == Views{"accept"}));
  BOOST_TEST(m.get_all("cookie").empty());
  BOOST_TEST(dump(m) == "set-cookie=a=1,vary=accept,set-cookie=b=2,set-cookie=c=3");

  std::string seen;
  for (const HeaderValue& v : m.values("SET-cookie")) seen += std::string(v.as_str()) + ";";
  BOOST_TEST(seen == "a=1;b=2;c=3;");
  seen.clear();
  for (const HeaderValue& v : m.values(header::VARY)) seen += std::string(v.as_str()) + ";";
  BOOST_TEST(seen == "accept;");
  BOOST_TEST(m.values("nope").empty());
}

BOOST_AUTO_TEST_CASE(append_keeps_existing_values) {
  HeaderMap m;
  m.append(header::ACCEPT, HeaderValue::from_static("text/html"));
  m.append(header::ACCEPT, HeaderValue::from_static("*/*"));
  BOOST_TEST(m.append(header::ACCEPT, "application/json").ok());
  BOOST_TEST((m.get_all("accept") == Views{"text/html", "*/*", "application/json"}));
}

BOOST_AUTO_TEST_CASE(insert_replaces_in_place) {
  HeaderMap m = make({{"a", "1"}, {"b", "2"}, {"A", "3"}, {"c", "4"}, {"a", "5"}});
  m.insert(*HeaderName::parse("A"), HeaderValue::from_static("9"));
  // One value left, where the first one was; the others keep their order.
  BOOST_TEST(dump(m) == "a=9,b=2,c=4");
  BOOST_TEST(m.size() == 3u);

  // A new name goes to the end.
  BOOST_TEST(m.insert("D", "7").ok());
  BOOST_TEST(dump(m) == "a=9,b=2,c=4,d=7");

  // Replacing a single value.
  BOOST_TEST(m.insert(header::CONTENT_LENGTH, "10").ok());
  BOOST_TEST(m.insert("content-length", "11").ok());
  BOOST_TEST(dump(m) == "a=9,b=2,c=4,d=7,content-length=11");

  // Replacing the middle entry keeps both neighbours in place.
  BOOST_TEST(m.insert("B", "x").ok());
  BOOST_TEST(dump(m) == "a=9,b=x,c=4,d=7,content-length=11");
}

BOOST_AUTO_TEST_CASE(remove_counts_and_keeps_order) {
  HeaderMap m = make({{"x", "1"}, {"y", "2"}, {"X", "3"}, {"z", "4"}, {"x", "5"}});
  BOOST_TEST(m.remove("X") == 3u);
  BOOST_TEST(dump(m) == "y=2,z=4");
  BOOST_TEST(m.remove("x") == 0u);
  BOOST_TEST(m.remove(*HeaderName::parse("z")) == 1u);
  BOOST_TEST(dump(m) == "y=2");
  BOOST_TEST(m.remove("Y") == 1u);
  BOOST_TEST(m.empty());
}

BOOST_AUTO_TEST_CASE(string_forms_validate) {
  HeaderMap m = make({{"keep", "me"}});

  absl::Status bad_name = m.append("bad name", "v");
  BOOST_TEST(absl::IsInvalidArgument(bad_name));
  BOOST_TEST(std::string(bad_name.message()).find("invalid header name \"bad name\"") !=
             std::string::npos);

  absl::Status bad_value = m.append("x-injected", "a\r\nSet-Cookie: evil");
  BOOST_TEST(absl::IsInvalidArgument(bad_value));
  BOOST_TEST(std::string(bad_value.message()).find("header x-injected: invalid header value") !=
             std::string::npos);

  BOOST_TEST(absl::IsInvalidArgument(m.insert("", "v")));
  BOOST_TEST(absl::IsInvalidArgument(m.insert("keep", std::string_view("\0", 1))));
  BOOST_TEST(absl::IsInvalidArgument(m.insert(header::HOST, "a\nb")));
  BOOST_TEST(absl::IsInvalidArgument(m.append(header::HOST, "a\x7F")));
  // A valid long name (kept on the heap) with a bad value: the entry begun for it goes.
  BOOST_TEST(absl::IsInvalidArgument(m.append(std::string(40, 'n'), "a\x01")));

  // Nothing was changed by the failed calls.
  BOOST_TEST(dump(m) == "keep=me");
}

BOOST_AUTO_TEST_CASE(clear_reserve_copy) {
  HeaderMap m = make({{"a", "1"}, {"b", "2"}});
  HeaderMap copy = m;
  m.clear();
  BOOST_TEST(m.empty());
  BOOST_TEST(dump(copy) == "a=1,b=2");
  copy.reserve(64);
  BOOST_TEST(dump(copy) == "a=1,b=2");
  for (int i = 0; i < 40; ++i) BOOST_TEST(copy.append("n" + std::to_string(i), "v").ok());
  BOOST_TEST(copy.size() == 42u);
  BOOST_TEST(copy.get("N39")->as_str() == "v");
  HeaderMap moved = std::move(copy);
  BOOST_TEST(moved.size() == 42u);
}

BOOST_AUTO_TEST_CASE(a_reserved_map_allocates_once) {
  HeaderName custom = *HeaderName::parse("x-request-id");
  HeaderValue short_value = HeaderValue::from_static("abc");
  HeaderMap m;
  m.reserve(8);
  weft::http::testing::Allocations allocs;
  m.append(header::HOST, HeaderValue::from_static("example.com"));
  m.append(header::USER_AGENT, HeaderValue::from_static("curl/8.0"));
  m.append(header::ACCEPT, HeaderValue::from_static("*/*"));
  m.append(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
  m.append(header::ACCEPT_ENCODING, HeaderValue::from_integer(42));
  m.append(custom, short_value);
  bool ok = m.insert("Connection", "keep-alive").ok();
  ok = m.append("X-Forwarded-For", "10.0.0.1").ok() && ok;
  const HeaderValue* host = m.get("Host");
  bool has = m.contains(header::CONNECTION);
  size_t removed = m.remove("x-request-id");
  long n = allocs.count();
  BOOST_TEST(n == 0);
  BOOST_TEST(ok);
  BOOST_TEST(host->as_str() == "example.com");
  BOOST_TEST(has);
  BOOST_TEST(removed == 1u);
  BOOST_TEST(m.size() == 7u);
}
