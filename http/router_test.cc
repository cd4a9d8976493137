// Router: matching precedence, parameters, 404/405/400, HEAD, nesting, layers, state, errors,
// registration errors, many routes, concurrent use. The router is driven directly as a Service.
#define BOOST_TEST_MODULE router_test
#include "weft/http/router.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "weft/http/header_map.h"
#include "weft/http/header_name.h"
#include "weft/http/header_value.h"
#include "weft/http/method.h"
#include "weft/http/status_code.h"
#include "weft/http/uri.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/task/header.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/tower/service.h"
#include "weft/tower/service_builder.h"
#include "weft/tower/util/map_response.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WEFT_ROUTER_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_ROUTER_SANITIZED 1
#endif

// Counts heap allocations on this thread (the sanitizers own operator new: not under them).
namespace {
thread_local std::uint64_t news = 0;
}  // namespace
#ifndef WEFT_ROUTER_SANITIZED
#if defined(__GNUC__) && !defined(__clang__)
// g++ -O2 sees through the replacement and flags free() of memory from "new".
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  ++news;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

using weft::Task;
namespace http = weft::http;
namespace tower = weft::tower;
using Req = http::Request<http::Body>;
using Resp = http::Response<http::Body>;
using Result = absl::StatusOr<Resp>;

static_assert(tower::ServiceFor<http::Router, Req, Resp>);

namespace {

// absl::StrCat does not take std::string_view here (this Abseil has its own string_view).
template <class... A>
void append(std::string& s, const A&... parts) {
  auto one = [&s](const auto& p) {
    if constexpr (std::is_arithmetic_v<std::remove_cvref_t<decltype(p)>>) {
      s += std::to_string(p);
    } else {
      s.append(std::string_view(p));
    }
  };
  (one(parts), ...);
}
template <class... A>
std::string cat(const A&... parts) {
  std::string s;
  append(s, parts...);
  return s;
}

std::string join(const std::vector<std::string_view>& parts) {
  std::string s;
  for (std::string_view p : parts) append(s, s.empty() ? "" : ",", p);
  return s;
}

Req make_req(const http::Method& method, std::string_view target) {
  Req r;
  r.method() = method;
  absl::StatusOr<http::Uri> uri = http::Uri::parse(target);
  if (!uri.ok()) throw std::runtime_error(std::string(uri.status().message()));
  r.uri() = *std::move(uri);
  return r;
}

// What a call gave: the error, or the response's status, headers and whole body.
struct Got {
  absl::Status error;
  int status = 0;
  http::HeaderMap headers;
  std::string body;

  std::string header(std::string_view name) const {
    const http::HeaderValue* v = headers.get(name);
    return v == nullptr ? std::string("<none>") : std::string(v->as_str());
  }
};

Task<Got> fetch_task(const http::Router* router, Req req) {
  Got got;
  auto call = tower::oneshot(*router, std::move(req));
  Result r = co_await std::move(call);
  if (!r.ok()) {
    got.error = r.status();
    co_return got;
  }
  got.status = r->status().as_u16();
  got.headers = r->headers();
  auto collect = r->body().collect(1 << 20);
  absl::StatusOr<weft::io::Bytes> bytes = co_await std::move(collect);
  if (!bytes.ok()) {
    got.error = bytes.status();
    co_return got;
  }
  got.body = bytes->to_string();
  co_return got;
}

Got fetch(weft::Runtime& rt, const http::Router& router, const http::Method& method,
          std::string_view target) {
  return rt.block_on(fetch_task(&router, make_req(method, target)));
}

Resp text(std::string s) { return Resp(http::Body(std::move(s))); }

// A handler answering "<name>" followed by " key=value" for each path parameter. A capturing
// lambda coroutine: the router keeps the lambda (and so `name`) alive.
auto tag(std::string name) {
  return [name](Req req) -> Task<Result> {
    co_await weft::yield_now();  // the captures must survive a suspension
    std::string out = name;
    if (const http::PathParams* p = req.extensions().get<http::PathParams>(); p != nullptr) {
      for (const http::PathParams::Param& param : *p) {
        append(out, " ", param.name, "=", param.value);
      }
    }
    co_return text(std::move(out));
  };
}

// Reports what a nested handler sees: method, full path, NestedPath and params.
Task<Result> describe(Req req) {
  co_await weft::yield_now();
  std::string out = cat(req.method().as_str(), " ", req.uri().path());
  if (const http::NestedPath* n = req.extensions().get<http::NestedPath>(); n != nullptr) {
    append(out, " nested=", n->as_str());
  }
  if (const http::PathParams* p = req.extensions().get<http::PathParams>(); p != nullptr) {
    for (const http::PathParams::Param& param : *p) {
      append(out, " ", param.name, "=", param.value);
    }
  }
  co_return text(std::move(out));
}

// A layer adding `name: value` to every successful response of the service it wraps.
auto add_header(std::string name, std::string value) {
  return tower::map_response([name, value](Resp r) {
    r.headers().append(http::HeaderName::from_static(name), http::HeaderValue::from_static(value));
    return r;
  });
}

}  // namespace

BOOST_AUTO_TEST_CASE(readme_style_usage) {
  auto rt = weft::testing::make_runtime();
  http::Router api;
  api.get("/users/{id}", tag("user"));
  http::Router router;
  router
      .route(http::Method::GET, "/", [](Req) -> Task<Result> { co_return Resp(http::Body("hi")); })
      .get("/users/{id}", tag("user"))
      .nest("/api", std::move(api));
  Got root = fetch(rt, router, http::Method::GET, "/");
  BOOST_TEST(root.status == 200);
  BOOST_TEST(root.body == "hi");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/users/7").body == "user id=7");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/api/users/8?x=1").body == "user id=8");
}

BOOST_AUTO_TEST_CASE(static_beats_param_beats_wildcard_regardless_of_order) {
  auto rt = weft::testing::make_runtime();
  http::Router router;
  // Least specific first.
  router.get("/files/{*rest}", tag("wild"))
      .get("/files/{name}", tag("param"))
      .get("/files/{name}/meta", tag("param-meta"))
      .get("/files/new", tag("static"))
      .get("/files/new/meta", tag("static-meta"))
      .get("/a/b/c", tag("abc"))
      .get("/a/{x}/d", tag("axd"));
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/files/new").body == "static");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/files/abc").body == "param name=abc");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/files/abc/meta").body == "param-meta name=abc");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/files/new/meta").body == "static-meta");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/files/a/b/c").body == "wild rest=a/b/c");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/files/new/other").body ==
             "wild rest=new/other");
  // The wildcard may be empty; it needs the slash before it.
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/files/").body == "wild rest=");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/files").status == 404);
  // A static branch that fails deeper backtracks to the parameter.
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/a/b/c").body == "abc");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/a/b/d").body == "axd x=b");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/a/b/e").status == 404);
}

BOOST_AUTO_TEST_CASE(root_and_wildcard_at_root) {
  auto rt = weft::testing::make_runtime();
  http::Router router;
  router.get("/{*path}", tag("spa")).get("/", tag("root")).get("/api/{v}", tag("api"));
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/").body == "root");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/x/y").body == "spa path=x/y");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/api/1").body == "api v=1");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/api/1/2").body == "spa path=api/1/2");
  // Targets that are not paths match nothing, not even "/{*path}".
  BOOST_TEST(fetch(rt, router, http::Method::OPTIONS, "*").status == 404);
  BOOST_TEST(fetch(rt, router, http::Method::CONNECT, "example.com:443").status == 404);
}

BOOST_AUTO_TEST_CASE(params_are_percent_decoded) {
  auto rt = weft::testing::make_runtime();
  http::Router router;
  router.get("/users/{id}", tag("user"))
      .get("/static/{*path}", tag("static"))
      .get("/caf%C3%A9", tag("cafe"));
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/users/j%C3%B6rg%20x").body ==
             "user id=j\xC3\xB6rg x");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/users/a+b").body == "user id=a+b");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/users/a%2Fb").body == "user id=a/b");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/static/a%2Fb/c%20d.txt").body ==
             "static path=a/b/c d.txt");
  // Static segments match the raw path.
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/caf%C3%A9").body == "cafe");
  // Malformed escapes: 400, the handler is not called.
  Got bad = fetch(rt, router, http::Method::GET, "/users/%zz");
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(bad.body == "Bad Request");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/static/abc%4").status == 400);
  // An empty segment is not a parameter.
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/users/").status == 404);
}

BOOST_AUTO_TEST_CASE(not_found_and_trailing_slash) {
  auto rt = weft::testing::make_runtime();
  http::Router router;
  router.get("/users", tag("users")).get("/dir/", tag("dir"));
  Got nf = fetch(rt, router, http::Method::GET, "/nope");
  BOOST_TEST(nf.error.ok());
  BOOST_TEST(nf.status == 404);
  BOOST_TEST(nf.body == "Not Found");
  BOOST_TEST(nf.header("content-type") == "text/plain");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/users").status == 200);
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/users/").status == 404);
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/dir/").body == "dir");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/dir").status == 404);
  // The query is not part of the path.
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/users?page=2").body == "users");
  // An empty router answers 404 to everything.
  http::Router empty;
  BOOST_TEST(fetch(rt, empty, http::Method::GET, "/").status == 404);
}

BOOST_AUTO_TEST_CASE(custom_fallback) {
  auto rt = weft::testing::make_runtime();
  http::Router router;
  router.get("/a", tag("a")).fallback([](Req req) -> Task<Result> {
    co_return Resp(http::StatusCode::NOT_FOUND, http::Body(cat("no route for ", req.uri().path())));
  });
  Got got = fetch(rt, router, http::Method::POST, "/b/c");
  BOOST_TEST(got.status == 404);
  BOOST_TEST(got.body == "no route for /b/c");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/a").body == "a");
  // A matched path with the wrong method is a 405, not the fallback.
  BOOST_TEST(fetch(rt, router, http::Method::POST, "/a").status == 405);
}

BOOST_AUTO_TEST_CASE(method_not_allowed_lists_the_path_methods) {
  auto rt = weft::testing::make_runtime();
  http::Router router;
  router.post("/items", tag("post"))
      .get("/items", tag("get"))
      .delete_("/items/{id}", tag("delete"))
      .put("/items/{id}", tag("put"))
      .patch("/items/{id}", tag("patch"));
  Got got = fetch(rt, router, http::Method::DELETE, "/items");
  BOOST_TEST(got.status == 405);
  BOOST_TEST(got.body == "Method Not Allowed");
  BOOST_TEST(got.header("content-type") == "text/plain");
  BOOST_TEST(got.header("allow") == "GET, HEAD, POST");
  Got item = fetch(rt, router, http::Method::GET, "/items/3");
  BOOST_TEST(item.status == 405);
  BOOST_TEST(item.header("allow") == "PUT, DELETE, PATCH");
  BOOST_TEST(fetch(rt, router, http::Method::PATCH, "/items/3").body == "patch id=3");
  BOOST_TEST(fetch(rt, router, http::Method::OPTIONS, "/items").status == 405);
  // Extension methods are routed by name and listed last.
  absl::StatusOr<http::Method> purge = http::Method::parse("PURGE");
  BOOST_REQUIRE(purge.ok());
  router.route(*purge, "/items", tag("purge"));
  BOOST_TEST(fetch(rt, router, *purge, "/items").body == "purge");
  BOOST_TEST(fetch(rt, router, http::Method::PUT, "/items").header("allow") ==
             "GET, HEAD, POST, PURGE");
  absl::StatusOr<http::Method> other = http::Method::parse("OTHER");
  BOOST_TEST(fetch(rt, router, *other, "/items").status == 405);
}

BOOST_AUTO_TEST_CASE(any_takes_the_methods_without_a_route) {
  auto rt = weft::testing::make_runtime();
  http::Router router;
  router.any("/x", tag("any")).get("/x", tag("get"));
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/x").body == "get");
  BOOST_TEST(fetch(rt, router, http::Method::DELETE, "/x").body == "any");
  absl::StatusOr<http::Method> purge = http::Method::parse("PURGE");
  BOOST_TEST(fetch(rt, router, *purge, "/x").body == "any");
}

BOOST_AUTO_TEST_CASE(head_falls_back_to_get) {
  auto rt = weft::testing::make_runtime();
  http::Router router;
  router.get("/doc", describe).get("/both", tag("get")).head("/both", tag("head"));
  router.post("/post-only", tag("post"));
  Got head = fetch(rt, router, http::Method::HEAD, "/doc");
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.body == "HEAD /doc");  // the GET handler sees the real method
  BOOST_TEST(fetch(rt, router, http::Method::HEAD, "/both").body == "head");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/both").body == "get");
  Got none = fetch(rt, router, http::Method::HEAD, "/post-only");
  BOOST_TEST(none.status == 405);
  BOOST_TEST(none.header("allow") == "POST");
}

BOOST_AUTO_TEST_CASE(nesting_strips_the_prefix_for_matching_only) {
  auto rt = weft::testing::make_runtime();
  http::Router v1;
  v1.get("/items/{item}", describe);
  http::Router api;
  api.get("/", describe).get("/users/{id}", describe).nest("/v1", std::move(v1));
  http::Router router;
  router.get("/", tag("home")).nest("/api", std::move(api)).get("/apix", tag("apix"));

  BOOST_TEST(fetch(rt, router, http::Method::GET, "/").body == "home");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/api").body == "GET /api nested=/api");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/api/").body == "GET /api/ nested=/api");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/api/users/7").body ==
             "GET /api/users/7 nested=/api id=7");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/api/v1/items/x%20y").body ==
             "GET /api/v1/items/x%20y nested=/api/v1 item=x y");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/apix").body == "apix");
  // Under the prefix, unmatched paths and methods are the inner router's business.
  Got nf = fetch(rt, router, http::Method::GET, "/api/nope");
  BOOST_TEST(nf.status == 404);
  BOOST_TEST(nf.body == "Not Found");
  Got na = fetch(rt, router, http::Method::POST, "/api/users/7");
  BOOST_TEST(na.status == 405);
  BOOST_TEST(na.header("allow") == "GET, HEAD");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/apiz").status == 404);
}

BOOST_AUTO_TEST_CASE(nesting_with_params_and_outer_routes_that_win) {
  auto rt = weft::testing::make_runtime();
  http::Router repos;
  repos.get("/repos/{id}", describe).get("/", describe);
  http::Router router;
  router.nest("/orgs/{org}", std::move(repos))
      .get("/orgs/{org}/settings", tag("settings"))
      .get("/orgs/acme/repos/special", tag("special"));
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/orgs/acme/repos/3").body ==
             "GET /orgs/acme/repos/3 nested=/orgs/acme org=acme id=3");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/orgs/a%20b").body ==
             "GET /orgs/a%20b nested=/orgs/a%20b org=a b");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/orgs/x/settings").body == "settings org=x");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/orgs/acme/repos/special").body == "special");
  // The inner router answers 404 under its prefix.
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/orgs/x/other").status == 404);
}

// Found by //http:router_fuzz: a badly encoded prefix parameter made every path under the
// prefix 400, where the same routes registered flat answer 404 or 405 first.
BOOST_AUTO_TEST_CASE(a_malformed_prefix_param_is_400_only_where_a_route_matches) {
  auto rt = weft::testing::make_runtime();
  http::Router repos;
  repos.get("/repos/{id}", describe);
  http::Router router;
  router.nest("/orgs/{org}", std::move(repos))
      .nest_service("/mounted/{at}", tower::service_fn(describe));
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/orgs/%zz/repos/1").status == 400);
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/orgs/%zz/nope").status == 404);
  Got post = fetch(rt, router, http::Method::POST, "/orgs/%zz/repos/1");
  BOOST_TEST(post.status == 405);
  BOOST_TEST(post.header("allow") == "GET, HEAD");
  // What a mounted service would answer is unknown: 400 at once.
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/mounted/%zz/x").status == 400);
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/orgs/ok/repos/1").status == 200);
}

BOOST_AUTO_TEST_CASE(nest_service_mounts_any_service) {
  auto rt = weft::testing::make_runtime();
  http::Router router;
  router.nest_service("/assets", tower::service_fn(describe));
  BOOST_TEST(fetch(rt, router, http::Method::DELETE, "/assets/css/site.css").body ==
             "DELETE /assets/css/site.css nested=/assets");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/assets").body == "GET /assets nested=/assets");
}

BOOST_AUTO_TEST_CASE(route_layer_wraps_only_the_routes_registered_before) {
  auto rt = weft::testing::make_runtime();
  http::Router router;
  router.get("/a", tag("a"))
      .route_layer(add_header("x-layer", "a-only"))
      .get("/b", tag("b"))
      // The per-route way: the route's service is the layered stack itself.
      .get("/c", add_header("x-layer", "c-only").layer(tower::service_fn(tag("c"))));
  Got a = fetch(rt, router, http::Method::GET, "/a");
  BOOST_TEST(a.body == "a");
  BOOST_TEST(a.header("x-layer") == "a-only");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/b").header("x-layer") == "<none>");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/c").header("x-layer") == "c-only");
  // Not for what no route matched.
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/zzz").header("x-layer") == "<none>");
  BOOST_TEST(fetch(rt, router, http::Method::POST, "/a").header("x-layer") == "<none>");
}

BOOST_AUTO_TEST_CASE(layer_wraps_the_whole_router) {
  auto rt = weft::testing::make_runtime();
  http::Router inner;
  inner.get("/x", tag("inner-x")).layer(add_header("x-inner", "1"));
  http::Router router;
  router.get("/a", tag("a"))
      .nest("/in", std::move(inner))
      .layer(add_header("x-order", "first"))
      .layer(add_header("x-order", "second"))  // outermost: sees the response last
      .get("/later", tag("later"));            // added after layer(): wrapped too
  for (const char* path : {"/a", "/later", "/nope", "/in/x"}) {
    Got got = fetch(rt, router, http::Method::GET, path);
    BOOST_TEST(join(got.headers.get_all("x-order")) == "first,second", path);
  }
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/later").body == "later");
  BOOST_TEST(fetch(rt, router, http::Method::POST, "/a").header("x-order") == "first");  // 405
  Got in = fetch(rt, router, http::Method::GET, "/in/x");
  BOOST_TEST(in.body == "inner-x");
  BOOST_TEST(in.header("x-inner") == "1");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/in/nope").header("x-inner") == "1");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/a").header("x-inner") == "<none>");
}

namespace {

struct Counter {
  std::atomic<int> hits{0};
  std::string name = "shop";
};

Task<Result> count_hit(Req req, Counter& c) {
  int n = c.hits.fetch_add(1) + 1;
  co_await weft::yield_now();
  co_return text(cat(c.name, " ", n));
}

Task<Result> read_hits(const Req& req, const Counter& c) {
  co_await weft::yield_now();
  // The request (taken by reference) is still alive after the suspension.
  co_return text(cat(req.uri().path(), " hits=", c.hits.load()));
}

}  // namespace

BOOST_AUTO_TEST_CASE(state_is_shared_between_handlers) {
  auto rt = weft::testing::make_runtime();
  auto counter = std::make_shared<Counter>();
  http::Router router;
  router.with_state(counter)
      .post("/hit", count_hit)
      .post("/hit2",
            [](Req, Counter& c) -> Task<Result> {
              c.hits.fetch_add(10);
              co_return text("ok");
            })
      .get("/hits", read_hits);
  BOOST_TEST(fetch(rt, router, http::Method::POST, "/hit").body == "shop 1");
  BOOST_TEST(fetch(rt, router, http::Method::POST, "/hit").body == "shop 2");
  BOOST_TEST(fetch(rt, router, http::Method::POST, "/hit2").body == "ok");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/hits").body == "/hits hits=12");
  BOOST_TEST(counter->hits.load() == 12);

  // A handler asking for a state the router does not have, or a state given twice: errors.
  http::Router no_state;
  BOOST_CHECK_THROW(no_state.get("/x", count_hit), std::invalid_argument);
  BOOST_CHECK_THROW(router.with_state(std::make_shared<Counter>()), std::invalid_argument);
  BOOST_CHECK_THROW(no_state.with_state(std::shared_ptr<Counter>()), std::invalid_argument);
}

namespace {

// A hand-written service: counts its calls, answers with the count.
struct CountingService {
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  tower::AlwaysReady ready() const { return tower::always_ready(); }
  Task<Result> call(tower::NoPermit, Req req) const {
    int n = calls->fetch_add(1) + 1;
    co_return text(cat("call ", n));
  }
};

// Readiness fails: the router reports the inner readiness error as its call's error.
struct DownService {
  Task<absl::StatusOr<tower::NoPermit>> ready() const {
    co_return absl::UnavailableError("backend down");
  }
  Task<Result> call(tower::NoPermit, Req) const { co_return text("unreachable"); }
};

Task<Result> forbidden(Req) {
  co_await weft::yield_now();
  co_return absl::PermissionDeniedError("no entry");
}

}  // namespace

BOOST_AUTO_TEST_CASE(services_and_errors) {
  auto rt = weft::testing::make_runtime();
  CountingService counting;
  http::Router router;
  router.get("/count", counting)
      .get(
          "/stack",
          tower::ServiceBuilder().map_response([](Resp r) { return r; }).service(CountingService{}))
      .get("/forbidden", forbidden)
      .get("/down", DownService{})
      .get("/sync", [](Req) { return Result(text("sync")); });
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/count").body == "call 1");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/count").body == "call 2");
  BOOST_TEST(counting.calls->load() == 2);
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/stack").body == "call 1");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/sync").body == "sync");
  Got err = fetch(rt, router, http::Method::GET, "/forbidden");
  BOOST_TEST(absl::IsPermissionDenied(err.error));
  BOOST_TEST(err.error.message() == "no entry");
  Got down = fetch(rt, router, http::Method::GET, "/down");
  BOOST_TEST(absl::IsUnavailable(down.error));
  // Through a nested router and a layer, the error is unchanged.
  http::Router inner;
  inner.get("/f", forbidden);
  http::Router outer;
  outer.nest("/in", std::move(inner)).layer(add_header("x", "y"));
  BOOST_TEST(absl::IsPermissionDenied(fetch(rt, outer, http::Method::GET, "/in/f").error));
}

BOOST_AUTO_TEST_CASE(registration_errors_throw_and_leave_no_trace) {
  auto rt = weft::testing::make_runtime();
  http::Router router;
  router.get("/users/{id}", tag("get")).get("/files/{*path}", tag("files"));
  router.nest("/api", http::Router());
  auto throws = [&](auto&& register_route, std::string_view needle) {
    try {
      register_route();
    } catch (const std::invalid_argument& e) {
      BOOST_TEST(std::string(e.what()).find(needle) != std::string::npos, e.what());
      return;
    }
    BOOST_ERROR("no exception; expected one mentioning: " << needle);
  };
  throws([&] { router.get("/users/{id}", tag("again")); }, "already routed");
  throws([&] { router.route(http::Method::GET, "/users/{id}", tag("again")); }, "GET /users/{id}");
  throws([&] { router.post("/users/{user_id}", tag("x")); }, "conflicts with {id}");
  throws([&] { router.get("/users/{user_id}/posts", tag("x")); }, "conflicts with {id}");
  throws([&] { router.get("/files/{*other}", tag("x")); }, "conflicts with {*path}");
  throws([&] { router.get("/api/{*rest}", tag("x")); }, "overlaps the router nested at /api");
  throws([&] { router.get("/api", tag("x")); }, "overlaps the router nested at /api");
  throws([&] { router.nest("/api", http::Router()); }, "already nested");
  throws([&] { router.nest("/files", http::Router()); }, "overlaps the route /files/{*path}");
  throws([&] { router.nest("/", http::Router()); }, "cannot nest at");
  throws([&] { router.nest("/x/", http::Router()); }, "must not end with '/'");
  throws([&] { router.nest("/x/{*rest}", http::Router()); }, "wildcard");
  throws([&] { router.get("users", tag("x")); }, "must start with '/'");
  throws([&] { router.get("", tag("x")); }, "must start with '/'");
  throws([&] { router.get("/a/{*x}/b", tag("x")); }, "last segment");
  throws([&] { router.get("/a/{x", tag("x")); }, "whole segment");
  throws([&] { router.get("/a/x{y}", tag("x")); }, "whole segment");
  throws([&] { router.get("/a//b", tag("x")); }, "empty segment");
  throws([&] { router.get("/a/{}", tag("x")); }, "whole segment");
  throws([&] { router.get("/a/{x-y}", tag("x")); }, "letters, digits");
  throws([&] { router.get("/a/{x}/{x}", tag("x")); }, "used twice");
  throws([&] { router.get("/a b", tag("x")); }, "no spaces");
  throws([&] { router.get("/a?b=1", tag("x")); }, "'?'");
  std::string many = "/m";
  for (int i = 0; i <= static_cast<int>(http::Router::kMaxParams); ++i) {
    append(many, "/{p", i, "}");
  }
  throws([&] { router.get(many, tag("x")); }, "parameters");

  // Other methods on a taken pattern are fine, and the failed attempts left nothing behind:
  // the names they tried did not pin their positions.
  router.post("/users/{id}", tag("post")).get("/other/{user_id}", tag("other"));
  router.get("/a/{z}", tag("az"));
  BOOST_TEST(fetch(rt, router, http::Method::POST, "/users/1").body == "post id=1");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/users/1").body == "get id=1");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/a/q").body == "az z=q");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/a/b").body == "az z=b");
  BOOST_TEST(fetch(rt, router, http::Method::GET, "/users/1").header("allow") == "<none>");
  BOOST_TEST(fetch(rt, router, http::Method::PUT, "/users/1").header("allow") == "GET, HEAD, POST");
}

BOOST_AUTO_TEST_CASE(many_routes) {
  auto rt = weft::testing::make_runtime();
  constexpr int kRoutes = 500;
  http::Router router;
  for (int i = 0; i < kRoutes; ++i) {
    std::string base = cat("/r", i);
    router.get(base, tag(cat("list", i)))
        .get(base + "/{id}", tag(cat("item", i)))
        .post(base + "/{id}/tags/{tag}", tag(cat("tag", i)))
        .get(base + "/static", tag(cat("static", i)));
  }
  // Every route: 500 static siblings of lengths 2 to 4, looked up by binary search.
  for (int i = 0; i < kRoutes; ++i) {
    std::string base = cat("/r", i);
    BOOST_TEST(fetch(rt, router, http::Method::GET, base).body == cat("list", i));
    BOOST_TEST(fetch(rt, router, http::Method::GET, base + "/42").body == cat("item", i, " id=42"));
    BOOST_TEST(fetch(rt, router, http::Method::POST, base + "/42/tags/red").body ==
               cat("tag", i, " id=42 tag=red"));
    BOOST_TEST(fetch(rt, router, http::Method::GET, base + "/static").body == cat("static", i));
  }
  // Near misses: a length no sibling has, the right length with other bytes, an empty segment.
  for (std::string miss : {cat("/r", kRoutes), std::string("/r10x"), std::string("/s10"),
                           std::string("/R10"), std::string("/r1/"), std::string("//r1")}) {
    BOOST_TEST(fetch(rt, router, http::Method::GET, miss).status == 404, miss);
  }
}

namespace {

Task<int> hammer(const http::Router* router, int task) {
  int ok = 0;
  for (int i = 0; i < 50; ++i) {
    std::string id = cat(task, "-", i);
    auto fetching = fetch_task(router, make_req(http::Method::GET, "/users/" + id));
    Got got = co_await std::move(fetching);
    if (got.status == 200 && got.body == "user id=" + id) ++ok;
  }
  co_return ok;
}

Task<int> hammer_all(const http::Router* router) {
  std::vector<weft::JoinHandle<int>> handles;
  for (int t = 0; t < 8; ++t) handles.push_back(weft::spawn(hammer(router, t)));
  int total = 0;
  for (weft::JoinHandle<int>& h : handles) {
    absl::StatusOr<int> n = co_await h;
    if (n.ok()) total += *n;
  }
  co_return total;
}

}  // namespace

BOOST_AUTO_TEST_CASE(shared_by_concurrent_tasks) {
  auto rt = weft::testing::make_runtime();
  http::Router router;
  router.get("/users/{id}", tag("user")).layer(add_header("x", "y"));
  BOOST_TEST(rt.block_on(hammer_all(&router)) == 8 * 50);
}

namespace {

struct AllocCounts {
  std::uint64_t news = 0;        // operator new calls
  std::uint64_t frames = 0;      // coroutine frames
  std::uint64_t frame_news = 0;  // frames the per-thread cache could not serve (too big)
  int ok = 0;
};

// Calls the router with each prepared request (built outside the measured window) and counts
// what the calls after the first `warm` allocate.
Task<AllocCounts> measure(const http::Router* router, std::vector<Req>* reqs, std::size_t warm) {
  AllocCounts c;
  std::uint64_t news0 = 0;
  weft::detail::FrameCacheStats frames0;
  for (std::size_t i = 0; i < reqs->size(); ++i) {
    if (i == warm) {
      news0 = news;
      frames0 = weft::detail::frame_cache_stats();
    }
    auto call = tower::oneshot(*router, std::move((*reqs)[i]));
    Result r = co_await std::move(call);
    if (r.ok() && r->status().as_u16() == 200) ++c.ok;
  }
  weft::detail::FrameCacheStats frames1 = weft::detail::frame_cache_stats();
  c.news = news - news0;
  c.frames = frames1.allocations - frames0.allocations;
  c.frame_news = c.frames - (frames1.cache_hits - frames0.cache_hits);
  co_return c;
}

Task<Result> empty_ok(Req) { co_return Resp(); }

}  // namespace

// What a call costs, beyond the coroutine frames (which come from the runtime's frame cache
// when they are at most 2 KiB; frames holding a Request<Body> (~800 bytes) by value can be
// bigger in unoptimised builds, and then come from operator new: counted apart).
BOOST_AUTO_TEST_CASE(matching_allocates_nothing_per_call) {
  auto rt = weft::testing::make_runtime(weft::testing::Flavor::kCurrentThread, 1);
  http::Router router;
  for (int i = 0; i < 50; ++i) {
    router.get(cat("/r", i, "/items"), empty_ok).get(cat("/r", i, "/items/{id}"), empty_ok);
  }
  constexpr std::size_t kWarm = 100;
  constexpr std::size_t kCalls = 1000;
  auto requests = [](std::string_view target) {
    std::vector<Req> reqs;
    for (std::size_t i = 0; i < kWarm + kCalls; ++i) {
      reqs.push_back(make_req(http::Method::GET, target));
    }
    return reqs;
  };
  std::vector<Req> statics = requests("/r37/items");
  AllocCounts a = rt.block_on(measure(&router, &statics, kWarm));
  BOOST_TEST(a.ok == static_cast<int>(kWarm + kCalls));
  std::vector<Req> params = requests("/r37/items/12345");
  AllocCounts b = rt.block_on(measure(&router, &params, kWarm));
  BOOST_TEST(b.ok == static_cast<int>(kWarm + kCalls));
#ifndef WEFT_ROUTER_SANITIZED
  BOOST_TEST_MESSAGE("per call: static route "
                     << a.news / kCalls << " allocations, " << a.frames / kCalls << " frames ("
                     << a.frame_news / kCalls << " too big for the cache); with a parameter "
                     << b.news / kCalls << " allocations, " << b.frames / kCalls << " frames ("
                     << b.frame_news / kCalls << " too big)");
  // A static route: nothing but frames (routing, the boxed handler, the response).
  BOOST_TEST(a.news - a.frame_news == 0u);
  // A parameter: the PathParams extension (its short strings stay inline).
  BOOST_TEST(b.news - b.frame_news <= 2 * kCalls);
#endif
}

namespace {
Task<absl::StatusOr<Resp>> ok_handler(Req) { co_return Resp(http::Body("ok")); }
}  // namespace

BOOST_AUTO_TEST_CASE(matched_path_is_reported_when_asked) {
  auto rt = weft::testing::make_runtime();
  http::Router api;
  api.get("/users/{id}", &ok_handler).get("/", &ok_handler);
  http::Router router;
  router.get("/files/{*path}", &ok_handler).nest("/api", std::move(api));
  auto pattern_for = [&](std::string target) -> std::string {
    Req req;
    req.uri() = *http::Uri::parse(target);
    std::shared_ptr<std::string> slot = http::MatchedPath::request_slot(req);
    absl::StatusOr<Resp> r = rt.block_on(tower::oneshot(router, std::move(req)));  // borrows
    BOOST_TEST(r.ok());
    return *slot;
  };
  BOOST_TEST(pattern_for("/files/a/b") == "/files/{*path}");
  BOOST_TEST(pattern_for("/api/users/7") == "/api/users/{id}");
  BOOST_TEST(pattern_for("/api") == "/api");
  BOOST_TEST(pattern_for("/nope") == "");
  // Not asked: nothing is added to the request.
  Req plain;
  plain.uri() = *http::Uri::parse("/files/x");
  BOOST_TEST(rt.block_on(tower::oneshot(router, std::move(plain))).ok());
}
