// this_thread_index(): a small integer naming the calling thread among the live threads that
// asked for one: 0, 1, 2, ... in order of first use, and reused once its thread has exited.
// For per-thread sharded state (counters that each thread writes alone, without an atomic
// read-modify-write, and that a reader sums):
//
//   int i = weft::sync::this_thread_index();
//   if (i < kShards) {
//     auto& c = shards[i].count;                            // written by this thread only
//     c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
//   } else { /* more live threads than shards: a locked fallback */ }
//
// Two live threads never hold the same index. An index is handed to a new thread only after
// its previous owner's thread-local destructors ran, through a mutex, so whatever the old
// owner wrote happens-before the new owner's first use. The first call on a thread takes that
// mutex; later calls read one thread-local int. A thread that asks from its thread-local
// destructors, after its index was given back, gets kNoThreadIndex (larger than any shard
// count: the fallback path).
#pragma once

#include <climits>

namespace weft::sync {

inline constexpr int kNoThreadIndex = INT_MAX;

namespace detail {
inline thread_local int tls_thread_index = -1;
int acquire_thread_index();  // first use on this thread
}  // namespace detail

inline int this_thread_index() {
  int i = detail::tls_thread_index;
  return i >= 0 ? i : detail::acquire_thread_index();  // kNoThreadIndex is >= 0 too
}

}  // namespace weft::sync
