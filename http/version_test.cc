// Version: names as written on an HTTP/1 start line (and "HTTP/2"), usable at compile time.
#define BOOST_TEST_MODULE version_test
#include "weft/http/version.h"

#include <boost/test/unit_test.hpp>
#include <sstream>

using weft::http::Version;

static_assert(weft::http::to_string(Version::kHttp11) == "HTTP/1.1");
static_assert(sizeof(Version) == 1);

BOOST_AUTO_TEST_CASE(names) {
  BOOST_TEST(weft::http::to_string(Version::kHttp10) == "HTTP/1.0");
  BOOST_TEST(weft::http::to_string(Version::kHttp11) == "HTTP/1.1");
  BOOST_TEST(weft::http::to_string(Version::kHttp2) == "HTTP/2");
}

BOOST_AUTO_TEST_CASE(ordered_by_protocol_age) {
  BOOST_TEST((Version::kHttp10 < Version::kHttp11));
  BOOST_TEST((Version::kHttp11 < Version::kHttp2));
}

BOOST_AUTO_TEST_CASE(prints_its_name) {
  std::ostringstream os;
  os << Version::kHttp2 << ' ' << Version::kHttp10;
  BOOST_TEST(os.str() == "HTTP/2 HTTP/1.0");
}
