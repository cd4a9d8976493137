// A service in another workspace, built on @weft: `greeter --self_check` serves one route on a
// free port, calls it with weft's client and exits 0 when the answer is right.
#include <cstdio>
#include <cstring>
#include <string>

#include "weft/http/body.h"
#include "weft/http/client.h"
#include "weft/http/router.h"
#include "weft/http/server.h"
#include "weft/runtime/runtime.h"

namespace http = weft::http;

namespace {

weft::Task<absl::StatusOr<http::Response<http::Body>>> greet(http::Request<http::Body> req) {
  const http::PathParams* p = req.extensions().get<http::PathParams>();
  std::string name = p != nullptr && p->get("name") ? std::string(*p->get("name")) : "stranger";
  co_return http::Response<http::Body>(http::Body("hello, " + name));
}

weft::Task<int> self_check() {
  http::Router router;
  router.get("/greet/{name}", &greet);
  absl::StatusOr<http::Server> server =
      http::Server::bind(weft::net::SocketAddr::loopback_v4(0), std::move(router));
  if (!server.ok()) co_return 1;
  weft::JoinHandle<absl::Status> serving = weft::spawn(server->serve());
  http::Client client;
  std::string url = "http://127.0.0.1:" + std::to_string(server->local_addr().port()) + "/greet/bazel";
  absl::StatusOr<http::Response<http::Body>> r = co_await client.get(url);
  std::string got;
  if (r.ok()) {
    absl::StatusOr<weft::io::Bytes> body = co_await r->body().collect(1024);
    if (body.ok()) got = body->to_string();
  }
  server->shutdown();
  (void)co_await serving;
  std::printf("%s\n", got.c_str());
  co_return got == "hello, bazel" ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--self_check") != 0) {
    std::fprintf(stderr, "usage: greeter --self_check\n");
    return 2;
  }
  absl::StatusOr<weft::Runtime> rt = weft::Runtime::Builder::new_multi_thread().worker_threads(2).build();
  if (!rt.ok()) return 1;
  return rt->block_on(self_check());
}
