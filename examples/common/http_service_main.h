// run_http_service: the main() the HTTP examples share — flags --port, --workers and --mode,
// the runtime they ask for, bind 127.0.0.1:port, print "listening on 127.0.0.1:PORT", serve
// until SIGTERM or SIGINT (a graceful shutdown), and the exit code.
//
//   int main(int argc, char** argv) {
//     return examples::run_http_service(argc, argv, "http_echo: HTTP/1.1 echo server",
//                                       [](const weft::Runtime&) { return make_router(); });
//   }
//
// `make(runtime)` returns the service to serve (any tower Service of Request<Body> ->
// Response<Body>); it runs inside the runtime, after the flags are parsed. Exit codes: 0 after a
// clean shutdown, 1 when the port cannot be bound or serving fails, 2 for bad flags.
#pragma once

#include <signal.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "weft/http/server.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/signal/signal.h"
#include "weft/runtime/task/select.h"

namespace examples {

namespace detail {

struct ServiceSetup {
  int port = 0;
  absl::StatusOr<weft::Runtime> runtime = absl::UnknownError("not built");
  std::vector<weft::Handle> per_core;  // thread-per-core: one listener per thread
};

// Parses the flags and builds the runtime; on bad flags returns nullopt-like status (exit 2).
absl::StatusOr<ServiceSetup> setup(int argc, char** argv, const char* usage);

// Shuts `server` down gracefully at the first delivery of either signal.
weft::Task<void> stop_on_signal(weft::signal::Signal* term, weft::signal::Signal* intr,
                                weft::http::ShutdownHandle server);

template <class MakeService>
weft::Task<int> serve(const char* name, int port, std::vector<weft::Handle> per_core,
                      const weft::Runtime* rt, MakeService make) {
  // Listen for the signals before announcing the port, so none is missed.
  absl::StatusOr<weft::signal::Signal> term = weft::signal::Signal::create(SIGTERM);
  absl::StatusOr<weft::signal::Signal> intr = weft::signal::Signal::create(SIGINT);
  if (!term.ok() || !intr.ok()) {
    std::fprintf(stderr, "%s: cannot handle signals\n", name);
    co_return 1;
  }
  weft::http::ServerOptions opts;
  opts.listener_threads = std::move(per_core);
  absl::StatusOr<weft::http::Server> server = weft::http::Server::bind(
      weft::net::SocketAddr::loopback_v4(static_cast<uint16_t>(port)), make(*rt), opts);
  if (!server.ok()) {
    std::fprintf(stderr, "%s: cannot listen on port %d: %s\n", name, port,
                 std::string(server.status().message()).c_str());
    co_return 1;
  }
  std::printf("listening on 127.0.0.1:%u\n", server->local_addr().port());
  std::fflush(stdout);
  weft::JoinHandle<void> stopper =
      weft::spawn(stop_on_signal(&*term, &*intr, server->handle()));
  absl::Status st = co_await server->serve();
  stopper.abort();
  if (!st.ok()) {
    std::fprintf(stderr, "%s: %s\n", name, std::string(st.message()).c_str());
    co_return 1;
  }
  co_return 0;
}

}  // namespace detail

template <class MakeService>
int run_http_service(int argc, char** argv, const char* usage, MakeService make) {
  const char* name = argv[0];
  absl::StatusOr<detail::ServiceSetup> s = detail::setup(argc, argv, usage);
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", name, std::string(s.status().message()).c_str());
    return absl::IsInvalidArgument(s.status()) ? 2 : 1;
  }
  return s->runtime->block_on(
      detail::serve(name, s->port, std::move(s->per_core), &*s->runtime, std::move(make)));
}

}  // namespace examples
