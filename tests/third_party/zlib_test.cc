// zlib (Debian zlib1g-dev): gzip round trip through deflate/inflate streams.
#define BOOST_TEST_MODULE zlib_test
#include <zlib.h>

#include <boost/test/unit_test.hpp>
#include <string>

BOOST_AUTO_TEST_CASE(gzip_round_trip) {
  std::string input;
  for (int i = 0; i < 1000; ++i) input += "hello weft ";
  z_stream d{};
  BOOST_REQUIRE(deflateInit2(&d, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                             Z_DEFAULT_STRATEGY) == Z_OK);
  std::string gz(deflateBound(&d, input.size()) + 32, '\0');
  d.next_in = reinterpret_cast<Bytef*>(input.data());
  d.avail_in = input.size();
  d.next_out = reinterpret_cast<Bytef*>(gz.data());
  d.avail_out = gz.size();
  BOOST_REQUIRE(deflate(&d, Z_FINISH) == Z_STREAM_END);
  gz.resize(d.total_out);
  deflateEnd(&d);
  BOOST_TEST(gz.size() < input.size() / 10);
  BOOST_TEST(static_cast<unsigned char>(gz[0]) == 0x1f);  // gzip magic

  z_stream in{};
  BOOST_REQUIRE(inflateInit2(&in, 15 + 16) == Z_OK);
  std::string out(input.size(), '\0');
  in.next_in = reinterpret_cast<Bytef*>(gz.data());
  in.avail_in = gz.size();
  in.next_out = reinterpret_cast<Bytef*>(out.data());
  in.avail_out = out.size();
  BOOST_TEST(inflate(&in, Z_FINISH) == Z_STREAM_END);
  inflateEnd(&in);
  BOOST_TEST(out == input);
}
