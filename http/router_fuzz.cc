// Fuzz target of Router: for any request target, the router answers what a plain reference
// matcher of the same route table answers.
//
// Input: one mode byte (bits 0-1: the method, GET, HEAD, POST or DELETE), then the request
// target ("/users/42", "http://h/static/a%20b", "*", ...). Targets Uri::parse rejects are
// skipped (the server answers them 400 before routing). The corpus files start with '@' (GET).
//
// The route table (the reference below knows it by heart):
//   GET /                              "root"
//   GET, DELETE /users/{id}            "user <id>"
//   GET /users/me                      "me"          (static beats parameter)
//   GET /users/{id}/posts/{post}       "post <id> <post>"
//   GET /static/{*path}                "static <path>"
//   nest /api/{version}: GET /         "api <version>"
//                        GET /items/{item}  "item <version> <item>"
// Reference rules (router.h): segments match raw; parameters take one non-empty segment, the
// wildcard the rest (maybe empty), both percent-decoded (Uri::percent_decode, tested in
// uri_test), and malformed %-escapes give 400 after the method check; HEAD uses GET; a path
// whose routes lack the method gives 405 with `allow`; anything else 404, under
// /api/{version} from the nested router.
//
// Properties: no crash, no sanitizer report; the router's status, body and `allow` header are
// the reference's.
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/http/body.h"
#include "weft/http/path_params.h"
#include "weft/http/router.h"
#include "weft/runtime/runtime.h"
#include "weft/tools/fuzz/check.h"
#include "weft/tower/service.h"

namespace {

namespace http = weft::http;
using Req = http::Request<http::Body>;
using Resp = http::Response<http::Body>;

std::string param(const Req& req, std::string_view name) {
  const http::PathParams* p = req.extensions().get<http::PathParams>();
  if (p == nullptr || !p->get(name).has_value()) return "<none>";
  return std::string(*p->get(name));
}

Resp said(std::string text) { return Resp(http::Body(std::move(text))); }

http::Router make_router() {
  http::Router api;
  api.get("/", [](Req r) -> absl::StatusOr<Resp> { return said("api " + param(r, "version")); })
      .get("/items/{item}", [](Req r) -> absl::StatusOr<Resp> {
        return said("item " + param(r, "version") + " " + param(r, "item"));
      });
  http::Router router;
  router.get("/", [](Req) -> absl::StatusOr<Resp> { return said("root"); })
      .get("/users/{id}",
           [](Req r) -> absl::StatusOr<Resp> { return said("user " + param(r, "id")); })
      .delete_("/users/{id}",
               [](Req r) -> absl::StatusOr<Resp> { return said("user " + param(r, "id")); })
      .get("/users/me", [](Req) -> absl::StatusOr<Resp> { return said("me"); })
      .get("/users/{id}/posts/{post}",
           [](Req r) -> absl::StatusOr<Resp> {
             return said("post " + param(r, "id") + " " + param(r, "post"));
           })
      .get("/static/{*path}",
           [](Req r) -> absl::StatusOr<Resp> { return said("static " + param(r, "path")); })
      .nest("/api/{version}", std::move(api));
  return router;
}

// ---- the reference ----

struct Answer {
  int status = 404;
  std::string body;   // for 200
  std::string allow;  // for 405
};

std::vector<std::string_view> split(std::string_view path) {  // "/a/b" -> {"a", "b"}; "/" -> {""}
  std::vector<std::string_view> segs;
  std::size_t start = 1;
  for (;;) {
    std::size_t end = path.find('/', start);
    segs.push_back(path.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return segs;
    start = end + 1;
  }
}

// A matched route: the methods it takes, its answer's words (raw parameters to decode).
struct Route {
  bool get = true, del = false;
  std::string name;
  std::vector<std::string_view> raw_params;
};

std::optional<Route> match(std::string_view path) {
  if (path.empty() || path[0] != '/') return std::nullopt;
  std::vector<std::string_view> s = split(path);
  const std::size_t n = s.size();
  if (n == 1 && s[0].empty()) return Route{true, false, "root", {}};
  if (s[0] == "users" && n == 2 && s[1] == "me") return Route{true, false, "me", {}};
  if (s[0] == "users" && n == 2 && !s[1].empty()) return Route{true, true, "user", {s[1]}};
  if (s[0] == "users" && n == 4 && !s[1].empty() && s[2] == "posts" && !s[3].empty()) {
    return Route{true, false, "post", {s[1], s[3]}};
  }
  if (s[0] == "static" && n >= 2) {
    return Route{true, false, "static", {path.substr(std::string_view("/static/").size())}};
  }
  if (s[0] == "api" && n >= 2 && !s[1].empty()) {
    // The nested router sees what follows "/api/<version>" ("/" when nothing does).
    if (n == 2 || (n == 3 && s[2].empty())) return Route{true, false, "api", {s[1]}};
    if (n == 4 && s[2] == "items" && !s[3].empty()) {
      return Route{true, false, "item", {s[1], s[3]}};
    }
    return Route{false, false, "nested 404", {}};
  }
  return std::nullopt;
}

Answer reference(std::string_view path, const http::Method& method) {
  std::optional<Route> r = match(path);
  if (!r.has_value() || r->name == "nested 404") return Answer{404, "", ""};
  const bool get_like = method == http::Method::GET || method == http::Method::HEAD;
  if (!(get_like && r->get) && !(method == http::Method::DELETE && r->del)) {
    return Answer{405, "", r->del ? "GET, HEAD, DELETE" : "GET, HEAD"};
  }
  std::string body = r->name;
  for (std::string_view raw : r->raw_params) {
    std::optional<std::string> v = http::Uri::percent_decode(raw);
    if (!v.has_value()) return Answer{400, "", ""};
    body += " " + *v;
  }
  return Answer{200, body, ""};
}

weft::Task<void> check(Req req, Answer want) {
  static const http::Router router = make_router();
  absl::StatusOr<Resp> r = co_await weft::tower::oneshot(router, std::move(req));
  WEFT_FUZZ_CHECK(r.ok(), "the router failed the call instead of answering");
  if (r->status().as_u16() != want.status) {
    std::fprintf(stderr, "router: %d, reference: %d\n", r->status().as_u16(), want.status);
  }
  WEFT_FUZZ_CHECK(r->status().as_u16() == want.status, "another status than the reference's");
  if (want.status == 200) {
    WEFT_FUZZ_CHECK(r->body().is_full() && r->body().full_bytes().as_string_view() == want.body,
                    "another route or parameters than the reference's");
  }
  if (want.status == 405) {
    const http::HeaderValue* allow = r->headers().get("allow");
    WEFT_FUZZ_CHECK(allow != nullptr && allow->as_str() == want.allow,
                    "another allow header than the reference's");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static weft::Runtime rt = *weft::Runtime::Builder::new_current_thread().build();
  if (size == 0) return 0;
  static const http::Method kMethods[] = {http::Method::GET, http::Method::HEAD, http::Method::POST,
                                          http::Method::DELETE};
  const http::Method& method = kMethods[data[0] & 3];
  absl::StatusOr<http::Uri> uri =
      http::Uri::parse(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  if (!uri.ok()) return 0;
  Answer want = reference(uri->path(), method);
  Req req;
  req.method() = method;
  req.uri() = *std::move(uri);
  rt.block_on(check(std::move(req), std::move(want)));
  return 0;
}
