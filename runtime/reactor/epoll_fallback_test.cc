// Timed driver turns on a kernel without epoll_pwait2 (before Linux 5.11, or behind a seccomp
// profile that does not know it): timers still fire on time, and each reactor tries
// epoll_pwait2 only once.
//
// A seccomp filter hands every epoll_pwait2 of this process to a supervisor thread (seccomp's
// user notification), which counts the calls and fails them with the errno a test chooses.
// The filter is installed once for the whole process: this test binary is its own process.
#define BOOST_TEST_MODULE epoll_fallback_test
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <thread>

#include "weft/runtime/runtime.h"
#include "weft/runtime/time/sleep.h"

using namespace std::chrono_literals;
using weft::Runtime;
using weft::Task;
using weft::time::Clock;

namespace {

#if defined(__x86_64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
#else
#error "epoll_fallback_test: add this architecture's AUDIT_ARCH"
#endif

// The errno the supervisor answers epoll_pwait2 with, and how many calls it answered.
std::atomic<int> answer_errno{ENOSYS};
std::atomic<int> pwait2_calls{0};

void supervise(int listener) {
  for (;;) {
    seccomp_notif req{};
    if (::ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
      if (errno == EINTR || errno == ENOENT) continue;
      return;
    }
    pwait2_calls.fetch_add(1);
    seccomp_notif_resp resp{};
    resp.id = req.id;
    resp.error = -answer_errno.load();
    (void)::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  }
}

// Installs the filter on this thread (threads created later inherit it) and starts the
// supervisor, which lives as long as the process.
struct FilterPwait2 {
  FilterPwait2() {
    sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_epoll_pwait2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof code / sizeof code[0]), code};
    BOOST_REQUIRE(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    int listener = static_cast<int>(
        ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog));
    BOOST_REQUIRE_MESSAGE(listener >= 0, "seccomp user notification: errno " << errno);
    std::thread(supervise, listener).detach();
  }
};

struct Lateness {
  Clock::duration least = Clock::duration::max();  // negative: a timer fired early
  Clock::duration most = Clock::duration::min();
};

// Sleeps `times` times for `each`; how late the timers fired.
Task<Lateness> sleep_repeatedly(int times, Clock::duration each) {
  Lateness l;
  for (int i = 0; i < times; ++i) {
    Clock::time_point deadline = Clock::now() + each;
    co_await weft::time::sleep_until(deadline);
    Clock::duration late = Clock::now() - deadline;
    l.least = std::min(l.least, late);
    l.most = std::max(l.most, late);
  }
  co_return l;
}

void timers_work_and_pwait2_is_tried_once(int errno_value, bool multi) {
  answer_errno.store(errno_value);
  auto rt = multi ? Runtime::Builder::new_multi_thread().worker_threads(2).build()
                  : Runtime::Builder::new_current_thread().build();
  BOOST_REQUIRE(rt.ok());
  int before = pwait2_calls.load();
  Lateness late = rt->block_on(sleep_repeatedly(10, 3ms));
  BOOST_TEST(late.least >= Clock::duration::zero());  // never early
  // epoll_wait's whole milliseconds make a timer up to 1 ms late; a loaded 2-core machine adds
  // scheduling delays, hence the generous bound (a lost wake-up would hang, not be late).
  BOOST_TEST(late.most < 200ms);
  // One runtime, one driver: the first timed turn learns that epoll_pwait2 is missing.
  BOOST_TEST(pwait2_calls.load() - before == 1);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(without_epoll_pwait2, *boost::unit_test::fixture<FilterPwait2>())

BOOST_AUTO_TEST_CASE(enosys_falls_back_to_epoll_wait_once) {
  timers_work_and_pwait2_is_tried_once(ENOSYS, /*multi=*/false);
  timers_work_and_pwait2_is_tried_once(ENOSYS, /*multi=*/true);
}

// Docker's older seccomp profiles answer an unknown syscall with EPERM.
BOOST_AUTO_TEST_CASE(eperm_falls_back_to_epoll_wait_once) {
  timers_work_and_pwait2_is_tried_once(EPERM, /*multi=*/false);
  timers_work_and_pwait2_is_tried_once(EPERM, /*multi=*/true);
}

BOOST_AUTO_TEST_SUITE_END()
