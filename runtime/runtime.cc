#include "weft/runtime/runtime.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "weft/runtime/blocking/blocking_pool.h"
#include "weft/runtime/scheduler/current_thread/current_thread.h"
#include "weft/runtime/scheduler/multi_thread/multi_thread.h"

namespace {
// The CPUs this process may run on (its affinity mask, as taskset or a container's cpuset sets
// it), as Tokio's default (num_cpus) counts them; the machine's count if that is unknown.
std::size_t available_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<std::size_t>(n);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}
}  // namespace

namespace weft {
namespace detail {

// Everything one Runtime owns. Destruction order matters: schedulers (which cancel their tasks)
// before the blocking pool their tasks may still reference.
class RuntimeCore {
 public:
  using Options = Runtime::Builder::Options;
  explicit RuntimeCore(Options opts) : opts_(std::move(opts)) {
    BlockingPool::Options bo;
    bo.max_threads = opts_.max_blocking_threads;
    bo.keep_alive = opts_.keep_alive;
    bo.on_thread_start = opts_.on_thread_start;
    bo.on_thread_stop = opts_.on_thread_stop;
    pool_ = std::make_unique<BlockingPool>(std::move(bo));
  }
  ~RuntimeCore() { shutdown(std::chrono::milliseconds(10000)); }

  absl::Status start() {
    std::size_t n = opts_.workers;
    if (n == 0) n = available_cpus();
    switch (opts_.flavor) {
      case Runtime::Builder::Flavor::kMultiThread: {
        MultiThreadScheduler::Options mo{n, opts_.thread_name, opts_.on_thread_start,
                                         opts_.on_thread_stop};
        multi_ = std::make_unique<MultiThreadScheduler>(std::move(mo), pool_.get());
        if (absl::Status st = multi_->driver().init_status(); !st.ok()) return st;
        multi_->start();
        break;
      }
      case Runtime::Builder::Flavor::kCurrentThread:
        per_thread_.push_back(std::make_unique<CurrentThreadScheduler>(pool_.get()));
        return per_thread_[0]->driver().init_status();
      case Runtime::Builder::Flavor::kThreadPerCore:
        for (std::size_t i = 0; i < n; ++i) {
          per_thread_.push_back(std::make_unique<CurrentThreadScheduler>(pool_.get()));
          if (absl::Status st = per_thread_.back()->driver().init_status(); !st.ok()) return st;
        }
        for (std::size_t i = 0; i < n; ++i) {
          CurrentThreadScheduler* s = per_thread_[i].get();
          threads_.emplace_back([this, s, i] {
            std::string name = absl::StrCat(opts_.thread_name, "-", i).substr(0, 15);
            pthread_setname_np(pthread_self(), name.c_str());
            if (opts_.on_thread_start) opts_.on_thread_start();
            s->run_until_stopped();
            if (opts_.on_thread_stop) opts_.on_thread_stop();
          });
        }
        break;
    }
    return absl::OkStatus();
  }

  Scheduler* entry() const {
    if (multi_) return multi_.get();
    return per_thread_[0].get();
  }
  Scheduler* at(std::size_t i) const {
    if (multi_) return multi_.get();
    return per_thread_.at(i).get();
  }
  std::size_t workers() const { return multi_ ? multi_->num_workers() : per_thread_.size(); }
  bool is_current_thread() const {
    return opts_.flavor == Runtime::Builder::Flavor::kCurrentThread;
  }

  void wait(TaskHeader* t) {
    if (is_current_thread()) {
      per_thread_[0]->run_until(t);
      return;
    }
    // The calling thread is not a worker: sleep until a watcher task sees `t` finish.
    Latch latch;
    t->ref();  // the watcher's own reference
    Handle(entry()).spawn(watch(t, &latch));
    latch.wait();
  }

  void shutdown(std::chrono::milliseconds timeout) {
    if (done_) return;
    done_ = true;
    for (auto& s : per_thread_) s->stop();
    for (auto& th : threads_) th.join();
    threads_.clear();
    if (multi_) multi_->shutdown();
    for (auto& s : per_thread_) s->shutdown();
    pool_->shutdown(timeout);
  }

  RuntimeMetrics metrics() const {
    RuntimeMetrics m;
    if (multi_) {
      multi_->metrics(m);
    } else {
      m.workers = per_thread_.size();
      m.per_worker.resize(per_thread_.size());
      for (std::size_t i = 0; i < per_thread_.size(); ++i) {
        per_thread_[i]->metrics(m.per_worker[i]);
        m.tasks_alive += per_thread_[i]->alive();
        m.inject_queue_depth += per_thread_[i]->inject_depth();
      }
    }
    m.blocking_threads = pool_->num_threads();
    m.blocking_idle_threads = pool_->num_idle_threads();
    return m;
  }

 private:
  struct Latch {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    void set() {
      std::lock_guard<std::mutex> lock(mu);
      done = true;
      cv.notify_all();  // under the lock: the waiter may destroy the latch right after
    }
    void wait() {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return done; });
    }
  };
  static Task<void> watch(TaskHeader* t, Latch* latch) {
    co_await CompletionAwaiter(t);
    t->unref();
    latch->set();
  }

  Options opts_;
  std::unique_ptr<BlockingPool> pool_;
  std::unique_ptr<MultiThreadScheduler> multi_;
  std::vector<std::unique_ptr<CurrentThreadScheduler>> per_thread_;
  std::vector<std::thread> threads_;
  bool done_ = false;
};

}  // namespace detail

Runtime::Runtime(std::unique_ptr<detail::RuntimeCore> core) : core_(std::move(core)) {}
Runtime::Runtime(Runtime&&) noexcept = default;
Runtime& Runtime::operator=(Runtime&&) noexcept = default;
Runtime::~Runtime() = default;

detail::Scheduler* Runtime::entry_scheduler() const { return core_->entry(); }
void Runtime::wait_blocking(detail::TaskHeader* t) { core_->wait(t); }
std::size_t Runtime::num_workers() const { return core_->workers(); }
Handle Runtime::handle_for(std::size_t i) const { return Handle(core_->at(i)); }
RuntimeMetrics Runtime::metrics() const { return core_->metrics(); }
void Runtime::shutdown_timeout(std::chrono::milliseconds timeout) { core_->shutdown(timeout); }

Runtime::Builder Runtime::Builder::new_multi_thread() {
  Builder b;
  b.opts_.flavor = Flavor::kMultiThread;
  return b;
}
Runtime::Builder Runtime::Builder::new_current_thread() {
  Builder b;
  b.opts_.flavor = Flavor::kCurrentThread;
  return b;
}
Runtime::Builder Runtime::Builder::new_thread_per_core() {
  Builder b;
  b.opts_.flavor = Flavor::kThreadPerCore;
  return b;
}
Runtime::Builder& Runtime::Builder::worker_threads(std::size_t n) {
  opts_.workers = n;
  return *this;
}
Runtime::Builder& Runtime::Builder::thread_name(std::string name) {
  opts_.thread_name = std::move(name);
  return *this;
}
Runtime::Builder& Runtime::Builder::on_thread_start(std::function<void()> f) {
  opts_.on_thread_start = std::move(f);
  return *this;
}
Runtime::Builder& Runtime::Builder::on_thread_stop(std::function<void()> f) {
  opts_.on_thread_stop = std::move(f);
  return *this;
}
Runtime::Builder& Runtime::Builder::max_blocking_threads(std::size_t n) {
  opts_.max_blocking_threads = n;
  return *this;
}
Runtime::Builder& Runtime::Builder::thread_keep_alive(std::chrono::milliseconds d) {
  opts_.keep_alive = d;
  return *this;
}

absl::StatusOr<Runtime> Runtime::Builder::build() {
  auto core = std::make_unique<detail::RuntimeCore>(opts_);
  if (absl::Status st = core->start(); !st.ok()) return st;
  return Runtime(std::move(core));
}

}  // namespace weft
