#include "weft/middleware/request_id/request_id.h"

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <random>

namespace weft::middleware {

namespace {

// Two 64-bit words as 32 lowercase hex digits.
std::string hex128(uint64_t hi, uint64_t lo) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 15; i >= 0; --i) {
    out[i] = kDigits[hi & 0xF];
    out[16 + i] = kDigits[lo & 0xF];
    hi >>= 4;
    lo >>= 4;
  }
  return out;
}

uint64_t random_u64() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ static_cast<uint64_t>(rd());
}

// The prefix is drawn once per process (and again in a forked child); relaxed loads suffice:
// the value is only ever replaced in a child before it has other threads.
std::atomic<uint64_t> g_prefix{0};
std::atomic<uint64_t> g_counter{0};
std::once_flag g_prefix_once;

void reseed_after_fork() { g_prefix.store(random_u64(), std::memory_order_relaxed); }

uint64_t prefix() {
  std::call_once(g_prefix_once, [] {
    g_prefix.store(random_u64(), std::memory_order_relaxed);
    pthread_atfork(nullptr, nullptr, &reseed_after_fork);
  });
  return g_prefix.load(std::memory_order_relaxed);
}

bool id_byte(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-':
    case '_':
    case '.':
    case ':':
    case '/':
    case '+':
    case '=':
    case '@':
    case '~':
      return true;
    default:
      return false;
  }
}

}  // namespace

bool is_valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (char c : id) {
    if (!id_byte(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string SequentialRequestId::operator()() const {
  const uint64_t p = prefix();
  // Relaxed: only uniqueness matters, which the atomic read-modify-write gives on its own.
  return hex128(p, g_counter.fetch_add(1, std::memory_order_relaxed));
}

std::string RandomRequestId::operator()() const {
  thread_local std::mt19937_64 gen(random_u64());
  const uint64_t hi = gen();
  return hex128(hi, gen());
}

}  // namespace weft::middleware
