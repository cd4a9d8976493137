// Test helper: counts heap allocations made through the global operator new, so tests can
// assert that a hot path does not allocate. Include from exactly one source file per test
// binary (it replaces the global operator new/delete).
//
//   weft::http::testing::Allocations allocs;
//   auto name = weft::http::HeaderName::parse("Content-Type");
//   BOOST_TEST(allocs.count() == 0);
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace weft::http::testing {

inline std::atomic<long> g_allocations{0};

// Allocations since construction.
class Allocations {
 public:
  long count() const { return g_allocations.load() - start_; }

 private:
  long start_ = g_allocations.load();
};

}  // namespace weft::http::testing

void* operator new(std::size_t n) {
  weft::http::testing::g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
// Array forms too: libstdc++'s default operator new[] forwards to operator new, but a
// sanitizer's runtime provides its own, which would go uncounted.
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
