#include "weft/middleware/trace/trace.h"

#include <time.h>

#include <array>
#include <cstdio>
#include <exception>
#include <random>
#include <stdexcept>
#include <thread>

#include "weft/http/header_map.h"
#include "weft/http/header_value.h"
#include "weft/http/path_params.h"

namespace weft::middleware {

namespace detail {

struct TraceConfig {
  AccessSink sink;
  bool log_headers = false;
  std::vector<std::string> sensitive;  // lowercase
  std::string request_id_header;       // lowercase
  std::function<std::optional<std::string>(const http::Extensions&)> request_id_from;
  bool propagate = true;
  bool response_traceparent = true;
  http::HeaderName traceparent = http::HeaderName::from_static("traceparent");
  http::HeaderName tracestate = http::HeaderName::from_static("tracestate");
};

}  // namespace detail

namespace {

constexpr char kHex[] = "0123456789abcdef";

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool all_zero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

uint8_t hex_byte(std::string_view two) {
  auto v = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  return static_cast<uint8_t>(v(two[0]) * 16 + v(two[1]));
}

// One generator per thread: ids are made on every worker at once, and a shared generator would
// need a lock. Seeded from random_device, mixed with the thread id and the time in case the
// device is deterministic.
std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen([] {
    std::random_device rd;
    std::seed_seq seq{
        rd(),
        rd(),
        rd(),
        rd(),
        static_cast<unsigned>(std::hash<std::thread::id>()(std::this_thread::get_id())),
        static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count())};
    return std::mt19937_64(seq);
  }());
  return gen;
}

std::string random_hex(std::size_t digits) {
  std::string out(digits, '0');
  do {
    for (std::size_t i = 0; i < digits; i += 16) {
      uint64_t v = rng()();
      for (std::size_t j = i; j < digits && j < i + 16; ++j) {
        out[j] = kHex[v & 0xF];
        v >>= 4;
      }
    }
  } while (all_zero(out));
  return out;
}

std::string flags_hex(uint8_t flags) {
  std::string s(2, '0');
  s[0] = kHex[flags >> 4];
  s[1] = kHex[flags & 0xF];
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool always_sensitive(std::string_view name) {
  return name == "authorization" || name == "proxy-authorization" || name == "cookie" ||
         name == "set-cookie";
}

constexpr std::string_view kRedacted = "[redacted]";

// (name, value) per name in first-seen order, values joined with ", ", sensitive redacted.
std::vector<std::pair<std::string, std::string>> log_headers(const http::HeaderMap& headers,
                                                             const detail::TraceConfig& cfg) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const http::HeaderMap::Entry& e : headers) {
    std::string_view name = e.name.as_str();
    bool sensitive = e.value.is_sensitive() || always_sensitive(name);
    for (const std::string& s : cfg.sensitive) sensitive = sensitive || s == name;
    std::string_view value = sensitive ? kRedacted : e.value.as_str();
    auto it = out.begin();
    while (it != out.end() && it->first != name) ++it;
    if (it == out.end()) {
      out.emplace_back(std::string(name), std::string(value));
    } else if (!(sensitive && it->second == kRedacted)) {
      it->second.append(", ");
      it->second.append(value);
    }
  }
  return out;
}

std::string format_time(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[96];  // room for any int the compiler can imagine in each field
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::string format_ms(std::chrono::nanoseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(d.count()) / 1e6);
  return buf;
}

// logfmt: bare when the value is a non-empty run of printable non-space bytes without '=' or
// '"'; otherwise quoted, with '"' and '\' escaped and control bytes as \n, \t or \xHH.
void logfmt_value(std::string& out, std::string_view v) {
  bool bare = !v.empty();
  for (unsigned char c : v) {
    if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c == 0x7F) bare = false;
  }
  if (bare) {
    out.append(v);
    return;
  }
  out.push_back('"');
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out.append("\\n");
    } else if (c == '\t') {
      out.append("\\t");
    } else if (c < ' ' || c == 0x7F) {
      out.append("\\x");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

void logfmt_pair(std::string& out, std::string_view key, std::string_view value) {
  if (!out.empty()) out.push_back(' ');
  out.append(key);
  out.push_back('=');
  logfmt_value(out, value);
}

void json_string(std::string& out, std::string_view v) {
  out.push_back('"');
  for (unsigned char c : v) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        // Controls, and obs-text bytes (0x80..0xFF, which header values may hold and
        // which need not be UTF-8) as the Latin-1 code points they stand for: the line stays
        // valid JSON whatever the bytes.
        if (c < 0x20 || c >= 0x7F) {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

}  // namespace

std::optional<TraceParent> parse_traceparent(std::string_view v) {
  if (v.size() < 55) return std::nullopt;
  std::string_view version = v.substr(0, 2);
  if (!is_lower_hex(version) || version == "ff") return std::nullopt;
  if (version == "00" ? v.size() != 55 : (v.size() > 55 && v[55] != '-')) return std::nullopt;
  if (v[2] != '-' || v[35] != '-' || v[52] != '-') return std::nullopt;
  std::string_view trace = v.substr(3, 32), parent = v.substr(36, 16), flags = v.substr(53, 2);
  if (!is_lower_hex(trace) || !is_lower_hex(parent) || !is_lower_hex(flags)) return std::nullopt;
  if (all_zero(trace) || all_zero(parent)) return std::nullopt;
  return TraceParent{hex_byte(version), std::string(trace), std::string(parent), hex_byte(flags)};
}

std::string random_trace_id() { return random_hex(32); }
std::string random_span_id() { return random_hex(16); }

std::string TraceContext::traceparent() const {
  std::string s;
  s.reserve(55);
  s.append("00-").append(trace_id).append("-").append(span_id).append("-").append(flags_hex(flags));
  return s;
}

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kComplete:
      return "complete";
    case Outcome::kError:
      return "error";
    case Outcome::kBodyError:
      return "body_error";
    case Outcome::kBodyDropped:
      return "body_dropped";
    case Outcome::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

std::string AccessRecord::to_logfmt() const {
  std::string out;
  out.reserve(320);
  logfmt_pair(out, "time", format_time(time));
  logfmt_pair(out, "method", method);
  logfmt_pair(out, "route", route);
  logfmt_pair(out, "path", path);
  logfmt_pair(out, "status", std::to_string(status));
  logfmt_pair(out, "latency_ms", format_ms(latency));
  logfmt_pair(out, "head_ms", format_ms(head_latency));
  logfmt_pair(out, "bytes_in", std::to_string(bytes_in));
  logfmt_pair(out, "bytes_out", std::to_string(bytes_out));
  if (!request_id.empty()) logfmt_pair(out, "request_id", request_id);
  logfmt_pair(out, "trace_id", trace_id);
  logfmt_pair(out, "span_id", span_id);
  if (!parent_span_id.empty()) logfmt_pair(out, "parent_id", parent_span_id);
  logfmt_pair(out, "outcome", outcome_name(outcome));
  if (!error.empty()) logfmt_pair(out, "error", error);
  for (const auto& [name, value] : request_headers) logfmt_pair(out, "req." + name, value);
  for (const auto& [name, value] : response_headers) logfmt_pair(out, "res." + name, value);
  return out;
}

std::string AccessRecord::to_json() const {
  std::string out = "{";
  out.reserve(400);
  auto str = [&out](std::string_view key, std::string_view value) {
    if (out.size() > 1) out.push_back(',');
    json_string(out, key);
    out.push_back(':');
    json_string(out, value);
  };
  auto raw = [&out](std::string_view key, std::string_view value) {
    if (out.size() > 1) out.push_back(',');
    json_string(out, key);
    out.push_back(':');
    out.append(value);
  };
  auto headers = [&out](std::string_view key,
                        const std::vector<std::pair<std::string, std::string>>& hs) {
    if (out.size() > 1) out.push_back(',');
    json_string(out, key);
    out.append(":{");
    bool first = true;
    for (const auto& [name, value] : hs) {
      if (!first) out.push_back(',');
      first = false;
      json_string(out, name);
      out.push_back(':');
      json_string(out, value);
    }
    out.push_back('}');
  };
  str("time", format_time(time));
  str("method", method);
  str("route", route);
  raw("route_matched", route_matched ? "true" : "false");
  str("path", path);
  raw("status", std::to_string(status));
  raw("latency_ms", format_ms(latency));
  raw("head_ms", format_ms(head_latency));
  raw("bytes_in", std::to_string(bytes_in));
  raw("bytes_out", std::to_string(bytes_out));
  if (!request_id.empty()) str("request_id", request_id);
  str("trace_id", trace_id);
  str("span_id", span_id);
  if (!parent_span_id.empty()) str("parent_id", parent_span_id);
  str("outcome", outcome_name(outcome));
  if (!error.empty()) str("error", error);
  if (!request_headers.empty()) headers("request_headers", request_headers);
  if (!response_headers.empty()) headers("response_headers", response_headers);
  out.push_back('}');
  return out;
}

AccessSink line_sink(std::function<void(std::string_view)> write, LogFormat format) {
  return [write = std::move(write), format](const AccessRecord& r) {
    std::string line = format == LogFormat::kJson ? r.to_json() : r.to_logfmt();
    write(line);
  };
}

AccessSink stderr_sink(LogFormat format) {
  return [format](const AccessRecord& r) {
    std::string line = format == LogFormat::kJson ? r.to_json() : r.to_logfmt();
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stderr);
  };
}

TraceLayer::TraceLayer(TraceOptions o) {
  auto cfg = std::make_shared<detail::TraceConfig>();
  cfg->sink = o.sink ? std::move(o.sink) : stderr_sink(LogFormat::kLogfmt);
  cfg->log_headers = o.log_headers;
  for (const std::string& s : o.sensitive_headers) cfg->sensitive.push_back(lower(s));
  cfg->request_id_header = lower(o.request_id_header);
  cfg->request_id_from = std::move(o.request_id_from);
  cfg->propagate = o.propagate_traceparent;
  cfg->response_traceparent = o.response_traceparent;
  cfg_ = std::move(cfg);
}

namespace detail {

namespace {

// Counts the request body bytes the inner service reads.
struct InCounter {
  std::shared_ptr<TraceCall> call;
  void on_data(std::size_t n) { call->add_in(n); }
  void on_end(BodyEnd, const absl::Status&) {}
};

// Counts the response body bytes; the record is finished when the body ends.
struct OutCounter {
  std::shared_ptr<TraceCall> call;
  void on_data(std::size_t n) { call->add_out(n); }
  void on_end(BodyEnd end, const absl::Status& error) { call->on_body_end(end, error); }
};

bool bodiless(std::string_view method, uint16_t status) {
  return method == "HEAD" || status < 200 || status == 204 || status == 304;
}

}  // namespace

TraceCall::TraceCall(std::shared_ptr<const TraceConfig> cfg,
                     std::chrono::steady_clock::time_point start)
    : cfg_(std::move(cfg)), start_(start) {}

std::shared_ptr<TraceCall> TraceCall::begin(const std::shared_ptr<const TraceConfig>& cfg,
                                            http::Request<http::Body>& req) {
  auto call = std::make_shared<TraceCall>(cfg, std::chrono::steady_clock::now());
  AccessRecord& rec = call->rec_;
  rec.time = std::chrono::system_clock::now();
  rec.method = std::string(req.method().as_str());
  rec.path = std::string(req.uri().path());
  rec.route = rec.path;
  call->route_ = http::MatchedPath::request_slot(req);  // the Router fills it

  http::HeaderMap& headers = req.headers();
  if (const http::HeaderValue* id = headers.get(cfg->request_id_header)) {
    rec.request_id = std::string(id->as_str());
  } else if (cfg->request_id_from) {
    if (std::optional<std::string> id = cfg->request_id_from(req.extensions())) {
      rec.request_id = std::move(*id);
    }
  }

  // Trace context: exactly one valid traceparent is accepted.
  std::optional<TraceParent> parent;
  int count = 0;
  for (const http::HeaderValue& v : headers.values(cfg->traceparent)) {
    if (++count == 1) parent = parse_traceparent(v.as_str());
  }
  if (count != 1) parent.reset();
  TraceContext ctx;
  if (parent.has_value()) {
    ctx.trace_id = std::move(parent->trace_id);
    ctx.parent_span_id = std::move(parent->parent_id);
    ctx.flags = parent->flags;
  } else {
    ctx.trace_id = random_trace_id();
    ctx.flags = 0x01;
    headers.remove(cfg->tracestate);  // meaningless without a valid traceparent
  }
  ctx.span_id = random_span_id();
  rec.trace_id = ctx.trace_id;
  rec.span_id = ctx.span_id;
  rec.parent_span_id = ctx.parent_span_id;
  call->flags_ = ctx.flags;
  if (cfg->log_headers) rec.request_headers = log_headers(headers, *cfg);
  if (cfg->propagate) {
    headers.insert(cfg->traceparent, http::HeaderValue::from_static(ctx.traceparent()));
  }
  req.extensions().insert(std::move(ctx));

  if (!req.body().is_end_stream()) {
    req.body() = observe_body(std::move(req.body()), InCounter{call});
  }
  return call;
}

void TraceCall::on_response(const std::shared_ptr<TraceCall>& self,
                            http::Response<http::Body>& res) {
  rec_.status = res.status().as_u16();
  rec_.head_latency = std::chrono::steady_clock::now() - start_;
  if (route_ != nullptr && !route_->empty()) {
    rec_.route = *route_;
    rec_.route_matched = true;
  }
  if (rec_.request_id.empty()) {
    if (const http::HeaderValue* id = res.headers().get(cfg_->request_id_header)) {
      rec_.request_id = std::string(id->as_str());
    }
  }
  if (cfg_->response_traceparent) {
    TraceContext ctx{rec_.trace_id, rec_.span_id, "", flags_};
    res.headers().insert(cfg_->traceparent, http::HeaderValue::from_static(ctx.traceparent()));
  }
  if (cfg_->log_headers) rec_.response_headers = log_headers(res.headers(), *cfg_);
  http::Body& body = res.body();
  if (body.is_stream() && !body.is_end_stream()) {
    body = observe_body(std::move(body), OutCounter{self});
    return;
  }
  if (!bodiless(rec_.method, rec_.status)) add_out(body.size_hint().value_or(0));
  finish(Outcome::kComplete, "");
}

void TraceCall::on_error(const absl::Status& error, uint16_t status) {
  rec_.status = status;
  rec_.head_latency = std::chrono::steady_clock::now() - start_;
  finish(Outcome::kError, std::string(error.message()));
}

void TraceCall::on_cancel() { finish(Outcome::kCancelled, ""); }

void TraceCall::on_body_end(BodyEnd end, const absl::Status& error) {
  switch (end) {
    case BodyEnd::kComplete:
      finish(Outcome::kComplete, "");
      break;
    case BodyEnd::kError:
      finish(Outcome::kBodyError, std::string(error.message()));
      break;
    case BodyEnd::kDropped:
      finish(bodiless(rec_.method, rec_.status) ? Outcome::kComplete : Outcome::kBodyDropped, "");
      break;
  }
}

void TraceCall::finish(Outcome outcome, std::string error) {
  if (done_.exchange(true, std::memory_order_acq_rel)) return;
  rec_.latency = std::chrono::steady_clock::now() - start_;
  if (outcome == Outcome::kCancelled || outcome == Outcome::kError) {
    rec_.head_latency = rec_.latency;
  }
  rec_.bytes_in = bytes_in_.load(std::memory_order_relaxed);
  rec_.bytes_out = bytes_out_.load(std::memory_order_relaxed);
  rec_.outcome = outcome;
  rec_.error = std::move(error);
  cfg_->sink(rec_);
}

void trace_exception(TraceCall& call) {
  std::string what = "exception";
  try {
    throw;
  } catch (const std::exception& e) {
    what = std::string("exception: ") + e.what();
  } catch (...) {
  }
  call.on_error(absl::InternalError(what), 500);
}

}  // namespace detail

}  // namespace weft::middleware
