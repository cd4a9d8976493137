// PathParams, NestedPath and MatchedPath: what the Router (router.h) tells a handler, and the
// layers around it, about the route it matched, through the request's extensions (axum's Path,
// NestedPath and MatchedPath).
//
//   router.get("/users/{id}/files/{*path}", handler);
//   // in the handler, for GET /users/42/files/a%20b/c.txt:
//   const http::PathParams* p = req.extensions().get<http::PathParams>();
//   p->get("id");     // "42"
//   p->get("path");   // "a b/c.txt"  (percent-decoded; the wildcard keeps its '/')
//
// PathParams is absent when no router that handled the request matched a parameter. Values are
// percent-decoded ('+' stays '+': that rule is the query string's, not the path's). A request
// that went through nested routers carries the parameters of every level, outer ones first.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/inlined_vector.h"

namespace weft::http {

class PathParams {
 public:
  struct Param {
    std::string name;
    std::string value;
  };

  // The decoded value of parameter `name`; nullopt when the route has no such parameter. When
  // nested routers use the same name, the innermost (last matched) value wins.
  std::optional<std::string_view> get(std::string_view name) const {
    for (auto it = params_.rbegin(); it != params_.rend(); ++it) {
      if (it->name == name) return std::string_view(it->value);
    }
    return std::nullopt;
  }
  bool contains(std::string_view name) const { return get(name).has_value(); }

  std::size_t size() const { return params_.size(); }
  bool empty() const { return params_.empty(); }
  // In match order: outer routers first, then left to right in the pattern.
  auto begin() const { return params_.begin(); }
  auto end() const { return params_.end(); }

  void push(std::string name, std::string value) {
    params_.push_back(Param{std::move(name), std::move(value)});
  }

 private:
  // Routes rarely have more than a few parameters; short names and values stay in the strings'
  // inline buffers, so a typical match allocates nothing here.
  absl::InlinedVector<Param, 4> params_;
};

// The raw (still percent-encoded) part of the request path matched by the routers this request
// was nested through: "/api" for GET /api/users reaching a router nested at "/api", "/api/v1"
// when nested twice. A nested router matches the path after this prefix; the request's URI is
// left whole.
struct NestedPath {
  std::string prefix;

  std::string_view as_str() const { return prefix; }
};

// The pattern of the route a Router matched ("/users/{id}"; through nested routers the whole
// "/api/users/{id}"), for layers outside the router that label by route (access logs,
// metrics). Such a layer puts a MatchedPath in the request's extensions before calling the
// router (or reuses one an outer layer put there) and reads `*pattern` once the response is
// back: empty when no route matched (404). A router fills it only when asked: nothing is
// allocated or copied for requests that carry none.
struct MatchedPath {
  std::shared_ptr<std::string> pattern = std::make_shared<std::string>();

  // The slot of `req`'s MatchedPath, adding one if it has none.
  template <class Req>
  static std::shared_ptr<std::string> request_slot(Req& req) {
    if (MatchedPath* m = req.extensions().template get<MatchedPath>()) return m->pattern;
    MatchedPath m;
    std::shared_ptr<std::string> slot = m.pattern;
    req.extensions().insert(std::move(m));
    return slot;
  }
};

}  // namespace weft::http
