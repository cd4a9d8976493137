#include "weft/middleware/metrics/metrics.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <tuple>
#include <unordered_map>

#include "weft/http/header_name.h"
#include "weft/http/header_value.h"
#include "weft/http/method.h"
#include "weft/http/path_params.h"

namespace weft::middleware {

namespace detail {

namespace {

struct KeyView {
  std::string_view method;
  std::string_view route;
  uint16_t status;
};

struct Key {
  std::string method;
  std::string route;
  uint16_t status;
  KeyView view() const { return {method, route, status}; }
};

struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(const KeyView& k) const {
    std::size_t h = std::hash<std::string_view>()(k.method);
    h = h * 31 + std::hash<std::string_view>()(k.route);
    return h * 31 + k.status;
  }
  std::size_t operator()(const Key& k) const { return (*this)(k.view()); }
};

struct KeyEq {
  using is_transparent = void;
  static bool eq(const KeyView& a, const KeyView& b) {
    return a.status == b.status && a.method == b.method && a.route == b.route;
  }
  bool operator()(const Key& a, const Key& b) const { return eq(a.view(), b.view()); }
  bool operator()(const KeyView& a, const Key& b) const { return eq(a, b.view()); }
  bool operator()(const Key& a, const KeyView& b) const { return eq(a.view(), b); }
};

}  // namespace

// The counters of one (method, route, status) series. Bucket i counts durations in
// (bound[i-1], bound[i]]; the last one is +Inf. Cumulative counts are summed at scrape time, so
// recording touches one bucket only.
struct Cell {
  explicit Cell(std::size_t buckets) : counts(new std::atomic<uint64_t>[buckets]) {
    for (std::size_t i = 0; i < buckets; ++i) counts[i].store(0, std::memory_order_relaxed);
  }
  std::unique_ptr<std::atomic<uint64_t>[]> counts;
  std::atomic<uint64_t> sum_ns{0};
};

// Shards: requests on different routes rarely share a lock's cache line. 16 is well above the
// core counts this runs on and keeps a scrape's lock walk short.
constexpr std::size_t kShards = 16;

struct alignas(64) Shard {
  mutable std::shared_mutex mu;
  std::unordered_map<Key, std::unique_ptr<Cell>, KeyHash, KeyEq> cells;
};

struct RegistryState {
  explicit RegistryState(MetricsOptions o) : options(std::move(o)) {
    std::sort(options.buckets.begin(), options.buckets.end());
    options.buckets.erase(std::unique(options.buckets.begin(), options.buckets.end()),
                          options.buckets.end());
    for (double b : options.buckets) bounds_ns.push_back(std::llround(b * 1e9));
  }

  std::size_t buckets() const { return bounds_ns.size() + 1; }

  Cell* find(const KeyView& k, std::size_t hash) const {
    const Shard& s = shards[hash % kShards];
    std::shared_lock<std::shared_mutex> lock(s.mu);
    auto it = s.cells.find(k);
    return it != s.cells.end() ? it->second.get() : nullptr;
  }

  Cell* cell(const KeyView& k) {
    const std::size_t hash = KeyHash()(k);
    if (Cell* c = find(k, hash)) return c;
    if (k.route != kOverflowRoute && series.load(std::memory_order_relaxed) >= options.max_series) {
      return cell(KeyView{k.method, kOverflowRoute, k.status});
    }
    Shard& s = shards[hash % kShards];
    std::unique_lock<std::shared_mutex> lock(s.mu);
    auto it = s.cells.find(k);
    if (it != s.cells.end()) return it->second.get();
    series.fetch_add(1, std::memory_order_relaxed);
    auto [pos, inserted] =
        s.cells.emplace(Key{std::string(k.method), std::string(k.route), k.status},
                        std::make_unique<Cell>(buckets()));
    return pos->second.get();
  }

  void observe(const KeyView& k, std::chrono::nanoseconds d) {
    Cell* c = cell(k);
    const int64_t ns = std::max<int64_t>(d.count(), 0);
    std::size_t i = 0;
    while (i < bounds_ns.size() && ns > bounds_ns[i]) ++i;
    c->counts[i].fetch_add(1, std::memory_order_relaxed);
    c->sum_ns.fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
  }

  static constexpr std::string_view kOverflowRoute = "__other__";

  MetricsOptions options;
  std::vector<int64_t> bounds_ns;
  std::array<Shard, kShards> shards;
  std::atomic<std::size_t> series{0};
  std::atomic<int64_t> in_flight{0};

  std::mutex extra_mu;  // setup and scrapes only
  std::function<RuntimeMetrics()> runtime;
  std::vector<std::function<void(std::string&)>> collectors;
};

}  // namespace detail

namespace {

void append_double(std::string& out, double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) {
    out.append("NaN");
    return;
  }
  out.append(buf, end);
}

// Label values escape '\', '"' and newline (exposition format 0.0.4).
void append_label_value(std::string& out, std::string_view v) {
  out.push_back('"');
  for (char c : v) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '"') {
      out.append("\\\"");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void append_labels(std::string& out, const detail::Key& k, const std::string* le = nullptr) {
  out.append("{method=");
  append_label_value(out, k.method);
  out.append(",route=");
  append_label_value(out, k.route);
  out.append(",status=\"");
  out.append(std::to_string(k.status));
  out.push_back('"');
  if (le != nullptr) {
    out.append(",le=\"");
    out.append(*le);
    out.push_back('"');
  }
  out.push_back('}');
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

template <class T>
void sample(std::string& out, std::string_view name, T value, std::string_view labels = "") {
  out.append(name).append(labels).append(" ").append(std::to_string(value)).append("\n");
}

std::string_view method_label(const http::Method& m) {
  return m.kind() == http::Method::Kind::kExtension ? std::string_view("OTHER") : m.as_str();
}

}  // namespace

void render_runtime_metrics(const RuntimeMetrics& m, std::string& out) {
  auto gauge = [&out](std::string_view name, std::string_view help, uint64_t v) {
    header(out, name, "gauge", help);
    sample(out, name, v);
  };
  auto counter = [&out](std::string_view name, std::string_view help, uint64_t v) {
    header(out, name, "counter", help);
    sample(out, name, v);
  };
  uint64_t parks = 0, yields = 0, overflows = 0;
  for (const WorkerMetrics& w : m.per_worker) {
    parks += w.parks;
    yields += w.forced_yields;
    overflows += w.overflows;
  }
  gauge("weft_runtime_workers", "Worker threads of the runtime.", m.workers);
  gauge("weft_runtime_tasks_alive", "Tasks spawned and not yet finished.", m.tasks_alive);
  gauge("weft_runtime_inject_queue_depth", "Tasks waiting in the global inject queue.",
        m.inject_queue_depth);
  gauge("weft_runtime_blocking_threads", "Threads of the blocking pool.", m.blocking_threads);
  gauge("weft_runtime_blocking_idle_threads", "Idle threads of the blocking pool.",
        m.blocking_idle_threads);
  counter("weft_runtime_polls_total", "Task polls (resumptions), all workers.", m.total_polls());
  counter("weft_runtime_steals_total", "Tasks stolen from another worker's queue.",
          m.total_steals());
  counter("weft_runtime_parks_total", "Times a worker went to sleep.", parks);
  counter("weft_runtime_forced_yields_total", "Polls ended because the coop budget ran out.",
          yields);
  counter("weft_runtime_queue_overflows_total",
          "Local queue overflows (half moved to the inject queue).", overflows);
  auto per_worker = [&](std::string_view name, std::string_view type, std::string_view help,
                        auto field) {
    header(out, name, type, help);
    for (std::size_t i = 0; i < m.per_worker.size(); ++i) {
      sample(out, name, field(m.per_worker[i]), "{worker=\"" + std::to_string(i) + "\"}");
    }
  };
  per_worker("weft_runtime_worker_polls_total", "counter", "Task polls, per worker.",
             [](const WorkerMetrics& w) { return w.polls; });
  per_worker("weft_runtime_worker_steals_total", "counter", "Tasks stolen, per worker.",
             [](const WorkerMetrics& w) { return w.steals; });
  per_worker("weft_runtime_worker_local_queue_depth", "gauge", "Tasks in a worker's local queue.",
             [](const WorkerMetrics& w) { return static_cast<uint64_t>(w.local_queue_depth); });
}

Registry::Registry(MetricsOptions options)
    : state_(std::make_shared<detail::RegistryState>(std::move(options))) {}

void Registry::watch_runtime(const Runtime& rt) {
  const Runtime* p = &rt;
  set_runtime_metrics([p] { return p->metrics(); });
}

void Registry::set_runtime_metrics(std::function<RuntimeMetrics()> source) {
  std::lock_guard<std::mutex> lock(state_->extra_mu);
  state_->runtime = std::move(source);
}

void Registry::add_collector(std::function<void(std::string& out)> collect) {
  std::lock_guard<std::mutex> lock(state_->extra_mu);
  state_->collectors.push_back(std::move(collect));
}

void Registry::observe(std::string_view method, std::string_view route, uint16_t status,
                       std::chrono::nanoseconds duration) const {
  state_->observe(detail::KeyView{method, route, status}, duration);
}

int64_t Registry::in_flight() const { return state_->in_flight.load(std::memory_order_relaxed); }

uint64_t Registry::requests(std::string_view method, std::string_view route,
                            uint16_t status) const {
  detail::KeyView k{method, route, status};
  detail::Cell* c = state_->find(k, detail::KeyHash()(k));
  if (c == nullptr) return 0;
  uint64_t n = 0;
  for (std::size_t i = 0; i < state_->buckets(); ++i) {
    n += c->counts[i].load(std::memory_order_relaxed);
  }
  return n;
}

std::string Registry::render() const {
  const detail::RegistryState& st = *state_;
  struct Snapshot {
    detail::Key key;
    std::vector<uint64_t> counts;  // per bucket, not cumulative
    uint64_t sum_ns;
    uint64_t total;
  };
  std::vector<Snapshot> series;
  for (const detail::Shard& shard : st.shards) {
    std::shared_lock<std::shared_mutex> lock(shard.mu);
    for (const auto& [key, cell] : shard.cells) {
      Snapshot s{key, std::vector<uint64_t>(st.buckets()), 0, 0};
      for (std::size_t i = 0; i < st.buckets(); ++i) {
        s.counts[i] = cell->counts[i].load(std::memory_order_relaxed);
        s.total += s.counts[i];
      }
      s.sum_ns = cell->sum_ns.load(std::memory_order_relaxed);
      series.push_back(std::move(s));
    }
  }
  std::sort(series.begin(), series.end(), [](const Snapshot& a, const Snapshot& b) {
    return std::tie(a.key.route, a.key.method, a.key.status) <
           std::tie(b.key.route, b.key.method, b.key.status);
  });

  std::string out;
  out.reserve(256 + series.size() * (200 + 90 * st.buckets()));
  header(out, "http_requests_total", "counter", "HTTP requests, by method, route and status.");
  for (const Snapshot& s : series) {
    out.append("http_requests_total");
    append_labels(out, s.key);
    out.append(" ").append(std::to_string(s.total)).append("\n");
  }
  header(out, "http_request_duration_seconds", "histogram",
         "HTTP request latency, from the call to the end of the response body.");
  std::vector<std::string> les;
  for (double b : st.options.buckets) {
    std::string le;
    append_double(le, b);
    les.push_back(std::move(le));
  }
  les.push_back("+Inf");
  for (const Snapshot& s : series) {
    uint64_t cumulative = 0;
    for (std::size_t i = 0; i < st.buckets(); ++i) {
      cumulative += s.counts[i];
      out.append("http_request_duration_seconds_bucket");
      append_labels(out, s.key, &les[i]);
      out.append(" ").append(std::to_string(cumulative)).append("\n");
    }
    out.append("http_request_duration_seconds_sum");
    append_labels(out, s.key);
    out.push_back(' ');
    append_double(out, static_cast<double>(s.sum_ns) / 1e9);
    out.push_back('\n');
    out.append("http_request_duration_seconds_count");
    append_labels(out, s.key);
    out.append(" ").append(std::to_string(s.total)).append("\n");
  }
  header(out, "http_requests_in_flight", "gauge",
         "HTTP requests called whose response body has not ended yet.");
  sample(out, "http_requests_in_flight", st.in_flight.load(std::memory_order_relaxed));

  std::function<RuntimeMetrics()> runtime;
  std::vector<std::function<void(std::string&)>> collectors;
  {
    std::lock_guard<std::mutex> lock(state_->extra_mu);
    runtime = st.runtime;
    collectors = st.collectors;
  }
  if (runtime) render_runtime_metrics(runtime(), out);
  for (const auto& collect : collectors) collect(out);
  return out;
}

MetricsHandler Registry::handler() const { return MetricsHandler(*this); }

Task<absl::StatusOr<http::Response<http::Body>>> MetricsHandler::call(
    tower::NoPermit, http::Request<http::Body> req) const {
  http::Response<http::Body> res(http::Body(registry_.render()));
  res.headers().insert(http::header::CONTENT_TYPE,
                       http::HeaderValue::from_static(kPrometheusContentType));
  co_return std::move(res);
}

namespace detail {

MetricsCall::MetricsCall(std::shared_ptr<RegistryState> state, http::Request<http::Body>& req)
    : state_(std::move(state)),
      start_(std::chrono::steady_clock::now()),
      method_(method_label(req.method())),
      matched_path_(http::MatchedPath::request_slot(req)) {
  if (!state_->options.unmatched_route.has_value()) route_ = std::string(req.uri().path());
  state_->in_flight.fetch_add(1, std::memory_order_relaxed);
}

MetricsCall::MetricsCall(MetricsCall&& o) noexcept
    : state_(std::move(o.state_)),
      start_(o.start_),
      method_(o.method_),
      route_(std::move(o.route_)),
      matched_path_(std::move(o.matched_path_)),
      status_(o.status_),
      matched_(o.matched_),
      active_(std::exchange(o.active_, false)) {}

MetricsCall::~MetricsCall() {
  if (active_) state_->in_flight.fetch_sub(1, std::memory_order_relaxed);
}

void MetricsCall::on_response(http::Response<http::Body>& res) {
  status_ = res.status().as_u16();
  if (matched_path_ != nullptr && !matched_path_->empty()) {
    route_ = *matched_path_;
    matched_ = true;
  }
  http::Body& body = res.body();
  if (body.is_stream() && !body.is_end_stream()) {
    body = observe_body(std::move(body), std::move(*this));
    return;
  }
  finish();
}

void MetricsCall::on_error(const absl::Status& error) {
  status_ = http::from_status(error).as_u16();
  finish();
}

void MetricsCall::finish() {
  if (!active_) return;
  active_ = false;
  const std::string_view route = matched_ || !state_->options.unmatched_route.has_value()
                                     ? std::string_view(route_)
                                     : std::string_view(*state_->options.unmatched_route);
  state_->observe(KeyView{method_, route, status_}, std::chrono::steady_clock::now() - start_);
  state_->in_flight.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace detail

}  // namespace weft::middleware
