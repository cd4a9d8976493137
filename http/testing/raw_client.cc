#include "weft/http/testing/raw_client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "weft/tools/testing/loopback.h"

extern char** environ;

namespace weft::http::testing {

namespace {

using Clock = std::chrono::steady_clock;

int ms_until(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// "name: value" into (lower-cased name, trimmed value); false if there is no colon.
bool split_field(std::string_view l, std::vector<std::pair<std::string, std::string>>* out) {
  std::size_t colon = l.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  out->emplace_back(lower(l.substr(0, colon)), std::string(trim(l.substr(colon + 1))));
  return true;
}

}  // namespace

std::string RawResponse::header(std::string_view name) const {
  std::string want = lower(name), v;
  bool found = false;
  for (const auto& [n, value] : headers) {
    if (n != want) continue;
    if (found) v += ", ";
    v += value;
    found = true;
  }
  return found ? v : "<none>";
}

std::string RawResponse::header_names() const {
  std::string s;
  for (const auto& h : headers) s += (s.empty() ? "" : ",") + h.first;
  return s;
}

std::string without_date(std::string raw) {
  const std::string_view key = "\r\ndate: ";
  std::size_t at = raw.find(key);
  if (at == std::string::npos) return raw;
  std::size_t begin = at + key.size();
  std::size_t end = raw.find("\r\n", begin);
  if (end == std::string::npos) return raw;
  raw.replace(begin, end - begin, "*");
  return raw;
}

RawConn::RawConn(int port) : fd_(weft::testing::connect_loopback(port)) {}

RawConn::RawConn(RawConn&& o) noexcept : fd_(o.fd_), buf_(std::move(o.buf_)) { o.fd_ = -1; }

RawConn::~RawConn() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConn::send(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void RawConn::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

RawConn::Got RawConn::fill(Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, ms_until(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return Got::kTimeout;
    if (r < 0) return Got::kError;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return Got::kEof;
    if (n < 0) return Got::kError;  // ECONNRESET: the server closed with unread data
    buf_.append(tmp, static_cast<std::size_t>(n));
    return Got::kData;
  }
}

bool RawConn::need(std::size_t n, Clock::time_point deadline, std::string* why) {
  while (buf_.size() < n) {
    switch (fill(deadline)) {
      case Got::kData:
        break;
      case Got::kEof:
        *why = "connection closed";
        return false;
      case Got::kTimeout:
        *why = "timed out";
        return false;
      case Got::kError:
        *why = "connection reset";
        return false;
    }
  }
  return true;
}

bool RawConn::line(std::string* out, std::string* raw, Clock::time_point deadline,
                   std::string* why) {
  std::size_t from = 0;
  for (;;) {
    std::size_t at = buf_.find("\r\n", from);
    if (at != std::string::npos) {
      out->assign(buf_, 0, at);
      raw->append(buf_, 0, at + 2);
      buf_.erase(0, at + 2);
      return true;
    }
    from = buf_.empty() ? 0 : buf_.size() - 1;
    if (!need(buf_.size() + 1, deadline, why)) return false;
  }
}

RawResponse RawConn::read_response(bool head_request, Millis limit) {
  RawResponse r;
  const Clock::time_point deadline = Clock::now() + limit;
  auto fail = [&r](std::string why) {
    r.error = std::move(why);
    return std::move(r);
  };
  std::string why, l;
  if (!line(&l, &r.raw, deadline, &why)) return fail("status line: " + why);
  // "HTTP/1.1 200 OK"
  if (l.size() < 12 || l.compare(0, 5, "HTTP/") != 0 || l[8] != ' ') {
    return fail("bad status line: " + l);
  }
  r.version = l.substr(0, 8);
  r.status = std::atoi(l.substr(9, 3).c_str());
  r.reason = l.size() > 13 ? l.substr(13) : "";
  for (;;) {
    if (!line(&l, &r.raw, deadline, &why)) return fail("head: " + why);
    if (l.empty()) break;
    if (!split_field(l, &r.headers)) return fail("bad header line: " + l);
  }
  if (head_request || r.status < 200 || r.status == 204 || r.status == 304) return r;

  auto take = [&](std::size_t n, std::string* into) {
    if (!need(n, deadline, &why)) return false;
    into->append(buf_, 0, n);
    r.raw.append(buf_, 0, n);
    buf_.erase(0, n);
    return true;
  };
  if (lower(r.header("transfer-encoding")) == "chunked") {
    for (;;) {
      if (!line(&l, &r.raw, deadline, &why)) return fail("chunk size: " + why);
      if (l.empty() || l.size() > 16 ||
          l.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
        return fail("bad chunk size line: " + l);
      }
      std::size_t size = std::stoull(l, nullptr, 16);
      if (size == 0) break;
      std::string chunk;
      if (!take(size, &chunk)) return fail("chunk data: " + why);
      std::string crlf;
      if (!take(2, &crlf)) return fail("chunk end: " + why);
      if (crlf != "\r\n") return fail("chunk not followed by CRLF");
      r.body += chunk;
      r.chunks.push_back(std::move(chunk));
    }
    for (;;) {
      if (!line(&l, &r.raw, deadline, &why)) return fail("trailers: " + why);
      if (l.empty()) break;
      if (!split_field(l, &r.trailers)) return fail("bad trailer line: " + l);
    }
    return r;
  }
  if (std::string cl = r.header("content-length"); cl != "<none>") {
    if (cl.empty() || cl.find_first_not_of("0123456789") != std::string::npos) {
      return fail("bad content-length: " + cl);
    }
    if (!take(std::stoull(cl), &r.body)) return fail("body: " + why);
    return r;
  }
  // Close-delimited.
  for (;;) {
    Got g = buf_.empty() ? fill(deadline) : Got::kData;
    if (g == Got::kData) {
      r.body += buf_;
      r.raw += buf_;
      buf_.clear();
      continue;
    }
    if (g == Got::kEof) return r;
    return fail(g == Got::kTimeout ? "close-delimited body: timed out" : "body: reset");
  }
}

std::string RawConn::read_exact(std::size_t n, Millis limit) {
  std::string why;
  need(n, Clock::now() + limit, &why);
  std::string out = buf_.substr(0, std::min(n, buf_.size()));
  buf_.erase(0, out.size());
  return out;
}

bool RawConn::wait_closed(Millis limit, std::string* extra) {
  const Clock::time_point deadline = Clock::now() + limit;
  for (;;) {
    if (extra != nullptr) extra->append(buf_);
    buf_.clear();
    switch (fill(deadline)) {
      case Got::kData:
        continue;
      case Got::kEof:
      case Got::kError:
        return true;
      case Got::kTimeout:
        return false;
    }
  }
}

bool RawConn::stays_quiet(Millis quiet) {
  return buf_.empty() && fill(Clock::now() + quiet) == Got::kTimeout;
}

std::string get_request(std::string_view target, std::string_view extra_headers) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nhost: t\r\n" + std::string(extra_headers) +
         "\r\n";
}

std::string post_request(std::string_view target, std::string_view body,
                         std::string_view extra_headers) {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nhost: t\r\ncontent-length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra_headers) + "\r\n" + std::string(body);
}

RawResponse roundtrip(int port, std::string_view request, bool head_request) {
  RawConn c(port);
  if (!c.connected()) {
    RawResponse r;
    r.error = "connect failed";
    return r;
  }
  c.send(request);
  return c.read_response(head_request);
}

std::string url(int port, std::string_view target) {
  return "http://127.0.0.1:" + std::to_string(port) + std::string(target);
}

CurlResult run_curl(const std::vector<std::string>& args, Millis limit) {
  CurlResult res;
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return res;
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return res;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<char*> argv;
  static char curl_name[] = "curl";
  argv.push_back(curl_name);
  // Silent but for errors; curl gives up a second before it would be killed.
  static char silent[] = "-sS", max_time[] = "--max-time";
  std::string seconds = std::to_string(std::max<long long>(1, limit.count() / 1000 - 1));
  argv.push_back(silent);
  argv.push_back(max_time);
  argv.push_back(seconds.data());
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, "curl", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(err[0]);
    res.err = "posix_spawnp curl failed";
    return res;
  }
  const Clock::time_point deadline = Clock::now() + limit;
  pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&res.out, &res.err};
  int open = 2;
  bool timed_out = false;
  while (open > 0) {
    int r = ::poll(p, 2, ms_until(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      timed_out = true;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (p[i].fd < 0 || p[i].revents == 0) continue;
      char buf[65536];
      ssize_t n = ::read(p[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(p[i].fd);
        p[i].fd = -1;
        --open;
      }
    }
  }
  for (pollfd& x : p) {
    if (x.fd >= 0) ::close(x.fd);
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  res.exit_code = timed_out ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return res;
}

}  // namespace weft::http::testing
