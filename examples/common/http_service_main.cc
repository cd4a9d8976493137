#include "examples/common/http_service_main.h"

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"

ABSL_FLAG(int, port, 8080, "TCP port on 127.0.0.1 (0 = any free port)");
ABSL_FLAG(int, workers, 0, "worker threads (0 = one per CPU)");
ABSL_FLAG(std::string, mode, "work-stealing", "work-stealing | thread-per-core");

namespace examples::detail {

absl::StatusOr<ServiceSetup> setup(int argc, char** argv, const char* usage) {
  absl::SetProgramUsageMessage(usage);
  absl::ParseCommandLine(argc, argv);
  ServiceSetup s;
  s.port = absl::GetFlag(FLAGS_port);
  if (s.port < 0 || s.port > 65535) return absl::InvalidArgumentError("--port must be 0..65535");
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode != "work-stealing" && mode != "thread-per-core") {
    return absl::InvalidArgumentError("--mode must be work-stealing or thread-per-core");
  }
  const bool per_core = mode == "thread-per-core";
  auto builder = per_core ? weft::Runtime::Builder::new_thread_per_core()
                          : weft::Runtime::Builder::new_multi_thread();
  if (absl::GetFlag(FLAGS_workers) > 0) {
    builder.worker_threads(static_cast<std::size_t>(absl::GetFlag(FLAGS_workers)));
  }
  s.runtime = builder.build();
  if (!s.runtime.ok()) return s.runtime.status();
  if (per_core) {
    for (std::size_t i = 0; i < s.runtime->num_workers(); ++i) {
      s.per_core.push_back(s.runtime->handle_for(i));
    }
  }
  return s;
}

namespace {
weft::Task<bool> received(weft::signal::Signal* sig) {
  co_await sig->recv();
  co_return true;
}
}  // namespace

weft::Task<void> stop_on_signal(weft::signal::Signal* term, weft::signal::Signal* intr,
                                weft::http::ShutdownHandle server) {
  (void)co_await weft::select(received(term), received(intr));
  server.shutdown();
}

}  // namespace examples::detail
