// OpenSSL 3 (Debian libssl-dev): a digest and a TLS server context with ALPN.
#define BOOST_TEST_MODULE openssl_test
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <string>

BOOST_AUTO_TEST_CASE(sha256_of_abc) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  BOOST_REQUIRE(EVP_Digest("abc", 3, md, &n, EVP_sha256(), nullptr) == 1);
  std::string hex;
  char buf[3];
  for (unsigned i = 0; i < 4; ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", md[i]);
    hex += buf;
  }
  BOOST_TEST(n == 32u);
  BOOST_TEST(hex == "ba7816bf");
}

BOOST_AUTO_TEST_CASE(tls_server_context) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  BOOST_REQUIRE(ctx != nullptr);
  BOOST_TEST(SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1);
  SSL_CTX_free(ctx);
}
