// The Router's route table: a trie of path segments, built at registration and read-only while
// serving.
//
// Invariants (they hold between registration calls, and so whenever the router serves):
//  1. A node has at most one parameter child, one wildcard route and one nested service; their
//     names are fixed by the first route that created them (a second name at the same position
//     is a registration error), so the i-th captured value along a trie path always belongs to
//     the i-th name of whatever route ends there.
//  2. A nested service sits on a node that has neither an endpoint (a route ending there) nor a
//     wildcard route: those would make a request for the prefix ambiguous.
//  3. Every route ending on a node shares the node's Endpoint (one per pattern); its `allow`
//     string is recomputed whenever a method is added.
//  4. Nothing is mutated once the router serves, so matching needs no lock; it allocates nothing
//     (segments are string_views into the request path; captures go into a fixed array).
#include "weft/http/router.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/http/header_name.h"
#include "weft/http/header_value.h"
#include "weft/http/status_code.h"
#include "weft/runtime/io/bytes.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::http {

namespace detail {
namespace {

using RouteService = Router::RouteService;

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

// Standard methods are indexed by their Kind; kExtension is the count.
constexpr std::size_t kStandardMethods = static_cast<std::size_t>(Method::Kind::kExtension);

// The order of the Allow header.
const Method* const kAllowOrder[] = {&Method::GET,     &Method::HEAD,   &Method::POST,
                                     &Method::PUT,     &Method::DELETE, &Method::CONNECT,
                                     &Method::OPTIONS, &Method::TRACE,  &Method::PATCH};
static_assert(std::size(kAllowOrder) == kStandardMethods);

std::size_t kind_index(const Method& m) { return static_cast<std::size_t>(m.kind()); }

struct Node;

// A static child: the segment text and the node under it.
struct StaticChild {
  std::string segment;
  std::unique_ptr<Node> node;
};

// The order of a node's static children: by length, then bytes. A lookup is then a binary
// search in which most comparisons are of two lengths (hashing the segment cost more than the
// whole search for the few children a node has).
bool segment_less(std::string_view a, std::string_view b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

struct Node {
  std::vector<StaticChild> statics;  // sorted by segment_less
  std::unique_ptr<Node> param;
  std::string param_name;
  int32_t endpoint = -1;  // routes whose pattern ends here
  int32_t wildcard = -1;  // routes whose pattern ends here with /{*name}
  std::string wildcard_name;
  int32_t nest = -1;  // a nested router (service) mounted at the path of this node
};

// Where `seg` is, or would go, among the static children of `node` (a Node or a const Node).
template <class N>
auto static_position(N& node, std::string_view seg) {
  return std::lower_bound(
      node.statics.begin(), node.statics.end(), seg,
      [](const StaticChild& c, std::string_view s) { return segment_less(c.segment, s); });
}

struct Endpoint {
  std::string pattern;
  std::vector<std::string> names;  // parameter names, in capture order
  std::array<int32_t, kStandardMethods> by_kind;
  std::vector<std::pair<std::string, int32_t>> extension;  // extension methods by name
  int32_t any = -1;
  std::string allow;

  Endpoint() { by_kind.fill(-1); }
};

struct Nest {
  std::string pattern;
  std::vector<std::string> names;
  int32_t service = -1;
  bool router = false;  // nest() (a Router), not nest_service()
};

// Set on a request passed to a nested Router although a parameter of the prefix was badly
// percent-encoded: the nested router answers 400 only if it matches a route and method (so a
// path it does not know is still 404, a method 405, as for routes of the outer router).
struct MalformedPrefixParam {};

enum class SegmentKind { kStatic, kParam, kWildcard };
struct Segment {
  SegmentKind kind;
  std::string_view text;  // the literal, or the parameter's name
};
struct Pattern {
  std::vector<Segment> segments;
  std::vector<std::string> names;
  bool wildcard = false;
};

[[noreturn]] void fail(std::string_view what, std::string_view why) {
  throw std::invalid_argument(cat("weft::http::Router: ", what, ": ", why));
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

Pattern parse_pattern(std::string_view pattern, std::string_view what, bool nest) {
  if (pattern.empty() || pattern.front() != '/') fail(what, "a pattern must start with '/'");
  for (char c : pattern) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '?' || c == '#') {
      fail(what,
           "a pattern matches a path: no spaces, control characters, '?' or '#' (match the "
           "raw path: percent-encode such characters)");
    }
  }
  Pattern p;
  std::string_view rest = pattern.substr(1);
  std::size_t start = 0;
  for (;;) {
    std::size_t slash = rest.find('/', start);
    bool last = slash == std::string_view::npos;
    std::string_view seg = rest.substr(start, last ? std::string_view::npos : slash - start);
    if (seg.empty()) {
      if (!last) fail(what, "empty segment ('//')");
      if (nest) {
        fail(what, pattern.size() == 1 ? "cannot nest at \"/\" (register the routes directly)"
                                       : "a nest prefix must not end with '/'");
      }
      p.segments.push_back({SegmentKind::kStatic, seg});
    } else if (seg.front() == '{') {
      if (seg.size() < 3 || seg.back() != '}') {
        fail(what, "a parameter is a whole segment: {name} or {*name}");
      }
      std::string_view name = seg.substr(1, seg.size() - 2);
      SegmentKind kind = SegmentKind::kParam;
      if (name.front() == '*') {
        if (nest) fail(what, "a nest prefix cannot have a wildcard");
        if (!last) fail(what, "a wildcard {*name} must be the last segment");
        kind = SegmentKind::kWildcard;
        name.remove_prefix(1);
        p.wildcard = true;
      }
      if (name.empty()) fail(what, "a parameter needs a name");
      for (char c : name) {
        if (!is_name_char(c)) {
          fail(what, cat("parameter name '", name, "': use letters, digits and '_'"));
        }
      }
      for (const std::string& other : p.names) {
        if (other == name) fail(what, cat("parameter name '", name, "' used twice"));
      }
      p.names.emplace_back(name);
      p.segments.push_back({kind, name});
    } else {
      if (seg.find_first_of("{}") != std::string_view::npos) {
        fail(what, "braces must enclose a whole segment: {name} or {*name}");
      }
      p.segments.push_back({SegmentKind::kStatic, seg});
    }
    if (last) break;
    start = slash + 1;
  }
  if (p.names.size() > Router::kMaxParams) {
    fail(what, cat("more than ", Router::kMaxParams, " parameters"));
  }
  return p;
}

// Walks the non-wildcard segments of `p` from `root`. Without `create`, returns nullptr as soon
// as a node is missing (nothing below it can conflict). Throws when a parameter has another
// name than the one already at its position.
Node* walk(Node& root, const Pattern& p, bool create, std::string_view what) {
  Node* node = &root;
  for (const Segment& seg : p.segments) {
    if (seg.kind == SegmentKind::kWildcard) break;
    if (seg.kind == SegmentKind::kStatic) {
      auto it = static_position(*node, seg.text);
      if (it == node->statics.end() || it->segment != seg.text) {
        if (!create) return nullptr;
        it = node->statics.insert(it, StaticChild{std::string(seg.text), std::make_unique<Node>()});
      }
      node = it->node.get();
    } else {
      if (node->param == nullptr) {
        if (!create) return nullptr;
        node->param = std::make_unique<Node>();
        node->param_name = std::string(seg.text);
      } else if (node->param_name != seg.text) {
        fail(what, cat("parameter {", seg.text, "} conflicts with {", node->param_name,
                       "} at the same position in another route"));
      }
      node = node->param.get();
    }
  }
  return node;
}

Response<Body> text_response(StatusCode code, std::string_view static_text) {
  static const HeaderValue kTextPlain = HeaderValue::from_static("text/plain");
  Response<Body> r(code, Body::full(io::Bytes::from_static(static_text)));
  r.headers().insert(header::CONTENT_TYPE, kTextPlain);
  return r;
}

struct Match {
  enum class Kind { kEndpoint, kNest };
  Kind kind = Kind::kEndpoint;
  int32_t index = -1;
  std::size_t rest_pos = 0;  // kNest: where the nested router's path starts
  // The captured segments; only the first n are set. A plain pair rather than a string_view,
  // so that building a Match per request does not zero the whole array.
  struct Piece {
    const char* data;
    std::size_t size;
  };
  std::array<Piece, Router::kMaxParams> values;
  std::size_t n = 0;
};

// Matches `path` from `pos` (the '/' before the next segment, or the end) at `node`. Static
// children first, then the parameter, then the wildcard, then a nested router (the precedence
// of the top comment of router.h); a branch that fails deeper backtracks.
bool match_node(const Node& node, std::string_view path, std::size_t pos, Match& m) {
  if (pos == path.size()) {
    if (node.endpoint >= 0) {
      m.kind = Match::Kind::kEndpoint;
      m.index = node.endpoint;
      return true;
    }
    if (node.nest >= 0) {
      m.kind = Match::Kind::kNest;
      m.index = node.nest;
      m.rest_pos = pos;
      return true;
    }
    return false;
  }
  std::size_t start = pos + 1;
  std::size_t end = path.find('/', start);
  if (end == std::string_view::npos) end = path.size();
  std::string_view seg = path.substr(start, end - start);
  if (!node.statics.empty()) {
    auto it = static_position(node, seg);
    if (it != node.statics.end() && it->segment == seg && match_node(*it->node, path, end, m)) {
      return true;
    }
  }
  if (node.param != nullptr && !seg.empty() && m.n < m.values.size()) {
    m.values[m.n++] = Match::Piece{seg.data(), seg.size()};
    if (match_node(*node.param, path, end, m)) return true;
    --m.n;
  }
  if (node.wildcard >= 0 && m.n < m.values.size()) {
    std::string_view rest = path.substr(start);
    m.values[m.n++] = Match::Piece{rest.data(), rest.size()};
    m.kind = Match::Kind::kEndpoint;
    m.index = node.wildcard;
    return true;
  }
  if (node.nest >= 0) {
    m.kind = Match::Kind::kNest;
    m.index = node.nest;
    m.rest_pos = pos;
    return true;
  }
  return false;
}

int32_t pick_method(const Endpoint& e, const Method& method) {
  if (method.kind() == Method::Kind::kExtension) {
    for (const auto& [name, svc] : e.extension) {
      if (name == method.as_str()) return svc;
    }
    return e.any;
  }
  int32_t svc = e.by_kind[kind_index(method)];
  if (svc >= 0) return svc;
  if (method.kind() == Method::Kind::kHead) {
    svc = e.by_kind[kind_index(Method::GET)];
    if (svc >= 0) return svc;
  }
  return e.any;
}

std::string allow_of(const Endpoint& e) {
  std::vector<std::string_view> names;
  bool has_get = e.by_kind[kind_index(Method::GET)] >= 0;
  for (const Method* m : kAllowOrder) {
    if (e.by_kind[kind_index(*m)] >= 0 || (has_get && m->kind() == Method::Kind::kHead)) {
      names.push_back(m->as_str());
    }
  }
  for (const auto& ext : e.extension) names.push_back(ext.first);
  std::string allow;
  for (std::string_view name : names) append(allow, allow.empty() ? "" : ", ", name);
  return allow;
}

}  // namespace

struct RouterCore {
  Node root;
  std::vector<Endpoint> endpoints;
  std::vector<Nest> nests;
  std::vector<RouteService> services;  // routes and nested services, indexed by the above
  std::unique_ptr<RouteService> fallback;

  struct Decision {
    const RouteService* service = nullptr;  // or:
    std::optional<Response<Body>> response;
  };

  // Records the matched parameters in the request; false when one is badly percent-encoded.
  static bool push_params(Request<Body>& req, const std::vector<std::string>& names,
                          const Match& m) {
    return names.empty() || push_some_params(req, names, m);  // the check inline: most have none
  }
  [[gnu::noinline]] static bool push_some_params(Request<Body>& req,
                                                 const std::vector<std::string>& names,
                                                 const Match& m) {
    std::size_t n = std::min(names.size(), m.n);
    PathParams* params = req.extensions().get<PathParams>();
    if (params == nullptr) params = req.extensions().insert(PathParams());
    for (std::size_t i = 0; i < n; ++i) {
      std::optional<std::string> value =
          Uri::percent_decode(std::string_view(m.values[i].data, m.values[i].size));
      if (!value.has_value()) return false;
      params->push(names[i], *std::move(value));
    }
    return true;
  }

  // Fills the MatchedPath a layer outside asked for; nested routers append to what the outer
  // ones wrote ("/api" + "/users/{id}"; the nested root "/" adds nothing).
  static void record_match(Request<Body>& req, const std::string& pattern) {
    MatchedPath* mp = req.extensions().get<MatchedPath>();
    if (mp == nullptr || mp->pattern == nullptr) return;
    if (req.extensions().get<NestedPath>() != nullptr && !mp->pattern->empty()) {
      if (pattern != "/") mp->pattern->append(pattern);
    } else {
      *mp->pattern = pattern;
    }
  }

  Decision unmatched() const {
    if (fallback != nullptr) return Decision{fallback.get(), std::nullopt};
    return Decision{nullptr, text_response(StatusCode::NOT_FOUND, "Not Found")};
  }

  Decision decide(Request<Body>& req) const {
    std::string_view full = req.uri().path();
    // Nested: match what follows the prefix the outer routers matched (unless a layer in
    // between rewrote the path so that it no longer starts with it).
    std::size_t offset = 0;
    const NestedPath* outer = req.extensions().get<NestedPath>();
    if (outer != nullptr) {
      std::string_view prefix = outer->prefix;
      if (full.substr(0, prefix.size()) == prefix &&
          (full.size() == prefix.size() || full[prefix.size()] == '/')) {
        offset = prefix.size();
      }
    }
    std::string_view rel = full.substr(offset);
    // "/api" itself is "/" for a router nested at "/api". (An empty path with no nesting, as
    // in an authority-form target, matches nothing.)
    bool at_prefix = offset > 0 && rel.empty();
    if (at_prefix) rel = "/";
    Match m;
    if (rel.empty() || rel.front() != '/' || !match_node(root, rel, 0, m)) return unmatched();
    if (m.kind == Match::Kind::kEndpoint) {
      const Endpoint& e = endpoints[m.index];
      record_match(req, e.pattern);
      int32_t svc = pick_method(e, req.method());
      if (svc < 0) {
        Response<Body> r = text_response(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
        r.headers().insert(header::ALLOW, HeaderValue::from_static(e.allow));
        return Decision{nullptr, std::move(r)};
      }
      // (Only a nested router can have been handed a malformed prefix parameter.)
      if (!push_params(req, e.names, m) ||
          (outer != nullptr && req.extensions().get<MalformedPrefixParam>() != nullptr)) {
        return Decision{nullptr, text_response(StatusCode::BAD_REQUEST, "Bad Request")};
      }
      return Decision{&services[svc], std::nullopt};
    }
    const Nest& nest = nests[m.index];
    record_match(req, nest.pattern);
    // (A nest never matches at the root, so `at_prefix` only guards against a future change.)
    std::size_t prefix_len = at_prefix ? full.size() : offset + m.rest_pos;
    NestedPath nested{std::string(full.substr(0, prefix_len))};
    if (!push_params(req, nest.names, m)) {
      if (!nest.router) {
        return Decision{nullptr, text_response(StatusCode::BAD_REQUEST, "Bad Request")};
      }
      req.extensions().insert(MalformedPrefixParam{});
    }
    req.extensions().insert(std::move(nested));
    return Decision{&services[nest.service], std::nullopt};
  }

  tower::detail::Eager<absl::StatusOr<Response<Body>>> dispatch(Request<Body> req) const {
    using Result = absl::StatusOr<Response<Body>>;
    Decision d = decide(req);
    if (d.service != nullptr) return d.service->oneshot(std::move(req));
    return tower::detail::eager_with<Result>([&] { return Result(std::move(*d.response)); });
  }
};

namespace {

// The router without its layers, as a service for layer() to wrap.
struct CoreService {
  const RouterCore* core;
  tower::AlwaysReady ready() const { return tower::always_ready(); }
  tower::detail::Eager<absl::StatusOr<Response<Body>>> call(tower::NoPermit,
                                                            Request<Body> req) const {
    return core->dispatch(std::move(req));
  }
};

}  // namespace
}  // namespace detail

Router::Router() : core_(std::make_unique<detail::RouterCore>()) {}
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;
Router::~Router() = default;

tower::detail::Eager<absl::StatusOr<Response<Body>>> Router::call(tower::NoPermit,
                                                                  Request<Body> req) const {
  if (layered_ != nullptr) return layered_->oneshot(std::move(req));
  return core_->dispatch(std::move(req));
}

void Router::add_route(const Method* method, std::string_view pattern, RouteService svc) {
  using detail::Endpoint;
  using detail::Node;
  std::string what = detail::cat(method != nullptr ? method->as_str() : "ANY", " ", pattern);
  detail::Pattern p = detail::parse_pattern(pattern, what, /*nest=*/false);
  detail::RouterCore& core = *core_;
  std::string wildcard_name = p.wildcard ? p.names.back() : std::string();

  // Check everything before changing anything, so that a failed registration leaves no trace.
  if (const Node* node = detail::walk(core.root, p, /*create=*/false, what); node != nullptr) {
    if (node->nest >= 0) {
      detail::fail(what,
                   detail::cat("overlaps the router nested at ", core.nests[node->nest].pattern));
    }
    if (p.wildcard && node->wildcard >= 0 && node->wildcard_name != wildcard_name) {
      detail::fail(what, detail::cat("wildcard {*", wildcard_name, "} conflicts with {*",
                                     node->wildcard_name, "} in another route"));
    }
    int32_t existing = p.wildcard ? node->wildcard : node->endpoint;
    if (existing >= 0) {
      const Endpoint& e = core.endpoints[existing];
      bool taken = false;
      if (method == nullptr) {
        taken = e.any >= 0;
      } else if (method->kind() == Method::Kind::kExtension) {
        for (const auto& ext : e.extension) taken = taken || ext.first == method->as_str();
      } else {
        taken = e.by_kind[detail::kind_index(*method)] >= 0;
      }
      if (taken) detail::fail(what, "conflicting route: this method and path are already routed");
    }
  }

  Node* node = detail::walk(core.root, p, /*create=*/true, what);
  int32_t& slot = p.wildcard ? node->wildcard : node->endpoint;
  if (slot < 0) {
    slot = static_cast<int32_t>(core.endpoints.size());
    Endpoint e;
    e.pattern = std::string(pattern);
    e.names = p.names;
    core.endpoints.push_back(std::move(e));
    if (p.wildcard) node->wildcard_name = wildcard_name;
  }
  Endpoint& e = core.endpoints[slot];
  auto index = static_cast<int32_t>(core.services.size());
  core.services.push_back(std::move(svc));
  if (method == nullptr) {
    e.any = index;
  } else if (method->kind() == Method::Kind::kExtension) {
    e.extension.emplace_back(std::string(method->as_str()), index);
  } else {
    e.by_kind[detail::kind_index(*method)] = index;
  }
  e.allow = detail::allow_of(e);
}

void Router::add_nest(std::string_view prefix, RouteService svc, bool router) {
  using detail::Node;
  std::string what = detail::cat("nest ", prefix);
  detail::Pattern p = detail::parse_pattern(prefix, what, /*nest=*/true);
  detail::RouterCore& core = *core_;
  if (const Node* node = detail::walk(core.root, p, /*create=*/false, what); node != nullptr) {
    if (node->nest >= 0) {
      detail::fail(what,
                   detail::cat("a service is already nested at ", core.nests[node->nest].pattern));
    }
    int32_t other = node->endpoint >= 0 ? node->endpoint : node->wildcard;
    if (other >= 0) {
      detail::fail(what,
                   detail::cat("overlaps the route ", core.endpoints[other].pattern,
                               " (a nested router owns its prefix; route it inside instead)"));
    }
  }
  Node* node = detail::walk(core.root, p, /*create=*/true, what);
  node->nest = static_cast<int32_t>(core.nests.size());
  detail::Nest n;
  n.pattern = std::string(prefix);
  n.names = p.names;
  n.service = static_cast<int32_t>(core.services.size());
  n.router = router;
  core.services.push_back(std::move(svc));
  core.nests.push_back(std::move(n));
}

Router& Router::nest(std::string_view prefix, Router inner) {
  add_nest(prefix, RouteService(std::move(inner)), /*router=*/true);
  return *this;
}

void Router::set_fallback(RouteService svc) {
  core_->fallback = std::make_unique<RouteService>(std::move(svc));
}

void Router::add_state(const void* key, std::shared_ptr<void> state) {
  for (const auto& entry : states_) {
    if (entry.first == key) {
      throw std::invalid_argument(
          "weft::http::Router::with_state: a state of this type is already set");
    }
  }
  states_.emplace_back(key, std::move(state));
}

std::shared_ptr<void> Router::find_state(const void* key, std::string_view method,
                                         std::string_view pattern) const {
  for (const auto& entry : states_) {
    if (entry.first == key) return entry.second;
  }
  detail::fail(detail::cat(method, " ", pattern),
               "the handler takes a state whose type was not given to with_state() (call "
               "with_state before registering the route)");
}

void Router::for_each_route_service(absl::FunctionRef<void(RouteService&)> f) {
  for (RouteService& svc : core_->services) f(svc);
}

Router::RouteService Router::core_service() const {
  return RouteService(detail::CoreService{core_.get()});
}

}  // namespace weft::http

WEFT_TOWER_CORO_END
