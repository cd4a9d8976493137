// examples/echo: a TCP echo server on weft's runtime.
//
//   bazel run //examples/echo -- --port=7000       # prints "listening on 127.0.0.1:7000"
//   --port=0 picks a free port; --workers=N worker threads (default: CPUs);
//   SIGTERM or ctrl-c: stop accepting, close every connection, exit 0.
#include <signal.h>

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "weft/runtime/net/tcp_listener.h"
#include "weft/runtime/net/tcp_stream.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/signal/signal.h"
#include "weft/runtime/task/select.h"

ABSL_FLAG(int, port, 7000, "TCP port on 127.0.0.1 (0 = any free port)");
ABSL_FLAG(int, workers, 0, "worker threads (0 = one per CPU)");

namespace {

using weft::Task;
using weft::net::TcpListener;
using weft::net::TcpStream;

// Echoes until the peer closes or an error; the socket closes when the task ends (or is
// cancelled at shutdown).
Task<void> serve_connection(TcpStream stream) {
  char buf[16 * 1024];
  for (;;) {
    absl::StatusOr<size_t> n = co_await stream.read(std::span<char>(buf, sizeof buf));
    if (!n.ok() || *n == 0) co_return;
    size_t off = 0;
    while (off < *n) {
      absl::StatusOr<size_t> w = co_await stream.write(std::span<const char>(buf + off, *n - off));
      if (!w.ok()) co_return;
      off += *w;
    }
  }
}

Task<void> accept_loop(TcpListener listener) {
  for (;;) {
    auto conn = co_await listener.accept();
    if (!conn.ok()) {
      std::fprintf(stderr, "accept: %s\n", std::string(conn.status().message()).c_str());
      continue;  // accept backs off by itself when out of file descriptors
    }
    (void)conn->first.set_nodelay(true);
    weft::spawn(serve_connection(std::move(conn->first)));
  }
}

Task<bool> received(weft::signal::Signal* sig) {
  co_await sig->recv();
  co_return true;
}

Task<int> run(int port) {
  // Listen for the signals before announcing the port, so none is missed.
  auto term = weft::signal::Signal::create(SIGTERM);
  auto intr = weft::signal::Signal::create(SIGINT);
  if (!term.ok() || !intr.ok()) {
    std::fprintf(stderr, "echo: cannot handle signals\n");
    co_return 1;
  }
  absl::StatusOr<TcpListener> listener =
      TcpListener::bind(weft::net::SocketAddr::loopback_v4(static_cast<uint16_t>(port)));
  if (!listener.ok()) {
    std::fprintf(stderr, "echo: cannot listen on port %d: %s\n", port,
                 std::string(listener.status().message()).c_str());
    co_return 1;
  }
  absl::StatusOr<weft::net::SocketAddr> addr = listener->local_addr();
  std::printf("listening on 127.0.0.1:%u\n", addr.ok() ? addr->port() : 0u);
  std::fflush(stdout);

  weft::JoinHandle<void> server = weft::spawn(accept_loop(std::move(*listener)));
  (void)co_await weft::select(received(&*term), received(&*intr));
  server.abort();  // stop accepting; the listener closes
  (void)co_await server;
  co_return 0;  // returning ends block_on; destroying the runtime closes every connection
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("TCP echo server: echo --port=N [--workers=N]");
  absl::ParseCommandLine(argc, argv);
  int port = absl::GetFlag(FLAGS_port);
  if (port < 0 || port > 65535) {
    std::fprintf(stderr, "echo: --port must be 0..65535\n");
    return 2;
  }
  auto builder = weft::Runtime::Builder::new_multi_thread();
  if (absl::GetFlag(FLAGS_workers) > 0) {
    builder.worker_threads(static_cast<size_t>(absl::GetFlag(FLAGS_workers)));
  }
  absl::StatusOr<weft::Runtime> rt = builder.build();
  if (!rt.ok()) {
    std::fprintf(stderr, "echo: %s\n", std::string(rt.status().message()).c_str());
    return 1;
  }
  int rc = rt->block_on(run(port));
  return rc;
}
