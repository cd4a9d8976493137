// ChildServer: runs a server binary as a child process, the way a user runs it, for tests of
// examples that talk to it over loopback.
//
//   weft::testing::ChildServer s("examples/echo/echo", {"--port=0", "--workers=2"});
//   BOOST_REQUIRE(s.started());               // it printed "listening on 127.0.0.1:PORT"
//   int fd = weft::testing::connect_loopback(s.port());   // loopback.h
//   BOOST_TEST(s.stop() == 0);                // SIGTERM, then its exit code
//
// The child's stdout is a pipe; its first line must be "listening on 127.0.0.1:PORT" (it is
// read with a bound, so a child that never prints fails the test instead of hanging it). The
// pipe stays open until the child is gone, so later output cannot kill it with SIGPIPE. The
// destructor SIGKILLs a child that is still running. No Boost.Test macros here: callers assert
// on the results (and connect_loopback may run on client threads).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "weft/tools/testing/loopback.h"

namespace weft::testing {

class ChildServer {
 public:
  // Starts `path` with `args` and waits up to `limit` for its "listening on" line.
  ChildServer(const std::string& path, const std::vector<std::string>& args,
              std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return;
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(path.c_str()));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {  // only async-signal-safe calls until exec
      ::dup2(out[1], 1);
      ::execv(path.c_str(), argv.data());
      _exit(127);
    }
    ::close(out[1]);
    out_ = out[0];
    if (pid_ < 0) return;
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (line.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{out_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
      char c;
      if (::read(out_, &c, 1) != 1) return;  // the child exited without a line
      line.push_back(c);
    }
    first_line_ = line;
    int port = 0;
    if (std::sscanf(line.c_str(), "listening on 127.0.0.1:%d", &port) == 1 && port > 0)
      port_ = port;
  }
  ChildServer(const ChildServer&) = delete;
  ChildServer& operator=(const ChildServer&) = delete;
  ~ChildServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }

  // True once the child announced its port.
  bool started() const { return port_ > 0; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& first_line() const { return first_line_; }

  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  // Waits up to `limit` for the child to exit: its exit code, 128 + signal if a signal killed
  // it, -1 if it did not exit in time (it is then SIGKILLed).
  int wait(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    if (pid_ <= 0) return -1;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    for (;;) {
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (r < 0 || std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // SIGTERM, then wait().
  int stop(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    signal(SIGTERM);
    return wait(limit);
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int port_ = 0;
  std::string first_line_;
};

}  // namespace weft::testing
