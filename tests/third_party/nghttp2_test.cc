// nghttp2 (Debian libnghttp2-dev): a client and a server session talk through memory.
#define BOOST_TEST_MODULE nghttp2_test
#include <nghttp2/nghttp2.h>

#include <boost/test/unit_test.hpp>
#include <string>

namespace {
struct Peer {
  nghttp2_session* session = nullptr;
  std::string path;
  int headers_done = 0;
};

int on_header(nghttp2_session*, const nghttp2_frame*, const uint8_t* name, size_t namelen,
              const uint8_t* value, size_t valuelen, uint8_t, void* user) {
  auto* peer = static_cast<Peer*>(user);
  if (std::string(reinterpret_cast<const char*>(name), namelen) == ":path") {
    peer->path.assign(reinterpret_cast<const char*>(value), valuelen);
  }
  return 0;
}

int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  if (frame->hd.type == NGHTTP2_HEADERS) ++static_cast<Peer*>(user)->headers_done;
  return 0;
}

// Moves everything `from` wants to send into `to`.
void pump(Peer& from, Peer& to) {
  const uint8_t* data = nullptr;
  for (ssize_t n; (n = nghttp2_session_mem_send(from.session, &data)) > 0;) {
    BOOST_REQUIRE(nghttp2_session_mem_recv(to.session, data, n) == n);
  }
}
}  // namespace

BOOST_AUTO_TEST_CASE(client_request_reaches_server) {
  nghttp2_session_callbacks* cbs = nullptr;
  BOOST_REQUIRE(nghttp2_session_callbacks_new(&cbs) == 0);
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
  Peer client, server;
  BOOST_REQUIRE(nghttp2_session_client_new(&client.session, cbs, &client) == 0);
  BOOST_REQUIRE(nghttp2_session_server_new(&server.session, cbs, &server) == 0);
  BOOST_REQUIRE(nghttp2_submit_settings(client.session, NGHTTP2_FLAG_NONE, nullptr, 0) == 0);
  BOOST_REQUIRE(nghttp2_submit_settings(server.session, NGHTTP2_FLAG_NONE, nullptr, 0) == 0);

  auto nv = [](const char* n, const char* v) {
    return nghttp2_nv{(uint8_t*)n, (uint8_t*)v, strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE};
  };
  nghttp2_nv hdrs[] = {nv(":method", "GET"), nv(":scheme", "http"), nv(":path", "/hello"),
                       nv(":authority", "localhost")};
  int32_t stream = nghttp2_submit_request(client.session, nullptr, hdrs, 4, nullptr, nullptr);
  BOOST_TEST(stream == 1);
  pump(client, server);
  pump(server, client);
  BOOST_TEST(server.path == "/hello");
  BOOST_TEST(server.headers_done == 1);
  nghttp2_session_del(client.session);
  nghttp2_session_del(server.session);
  nghttp2_session_callbacks_del(cbs);
}

BOOST_AUTO_TEST_CASE(garbage_preface_is_rejected) {
  nghttp2_session_callbacks* cbs = nullptr;
  BOOST_REQUIRE(nghttp2_session_callbacks_new(&cbs) == 0);
  nghttp2_session* server = nullptr;
  BOOST_REQUIRE(nghttp2_session_server_new(&server, cbs, nullptr) == 0);
  const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  BOOST_TEST(nghttp2_session_mem_recv(server, reinterpret_cast<const uint8_t*>(junk),
                                      sizeof(junk) - 1) == NGHTTP2_ERR_BAD_CLIENT_MAGIC);
  nghttp2_session_del(server);
  nghttp2_session_callbacks_del(cbs);
}
