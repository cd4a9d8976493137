#include "weft/runtime/task/header.h"

#include <cassert>
#include <cstdlib>
#include <mutex>
#include <new>
#include <thread>

#include "weft/runtime/scheduler/scheduler.h"
#include "weft/runtime/task/waker.h"

namespace weft::detail {

// Memory orders: a transition that hands the task to another thread (NOTIFIED, COMPLETE) is a
// release; taking it over (RUNNING) is an acquire. CAS loops use acq_rel on success so a worker
// that starts polling sees everything the previous poller wrote into the frame.

namespace {
void release_memory(TaskHeader* header);
}

void TaskHeader::unref(uint32_t n) {
  uint64_t prev = state.fetch_sub(n * kRefOne, std::memory_order_acq_rel);
  if ((prev & ~kFlagsMask) == n * kRefOne) release_last();
}

void TaskHeader::release_last() {
  // Last reference: nobody can reach the task any more.
  if (!frame_destroyed) {
    frame_destroyed = true;
    root().destroy();  // never polled to the end (a Task that was never spawned)
  }
  if (output_stored) vtable->drop_output(this);
  release_memory(this);
}

TaskHeader::Wake TaskHeader::transition_to_notified(uint32_t gen, bool by_val) {
  uint64_t cur = state.load(std::memory_order_acquire);
  for (;;) {
    // Finished, already queued, or a waker from an earlier poll: nothing to do.
    if ((cur & (kComplete | kNotified)) || generation_of(cur) != gen) {
      if (by_val) unref();  // the waker's reference goes
      return Wake::kNothing;
    }
    uint64_t next = cur | kNotified;
    Wake action;
    if (cur & kRunning) {
      // The running worker re-queues it after the poll. A by-value waker's reference is
      // dropped: the poll holds one too, so it is never the last.
      if (by_val) next -= kRefOne;
      action = Wake::kNothing;
    } else {
      // The run queue's reference: a new one, or the by-value waker's.
      if (!by_val) next += kRefOne;
      action = Wake::kSubmit;
    }
    if (state.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      return action;
    }
  }
}

TaskHeader::Wake TaskHeader::transition_to_notified_and_cancel() {
  uint64_t cur = state.load(std::memory_order_acquire);
  for (;;) {
    uint64_t next;
    Wake action = Wake::kNothing;
    if (cur & (kComplete | kCancelled)) return Wake::kNothing;
    if (cur & (kRunning | kNotified)) {
      next = cur | kCancelled | kNotified;  // already queued or being polled
    } else {
      next = (cur | kCancelled | kNotified) + kRefOne;
      action = Wake::kSubmit;
    }
    if (state.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      return action;
    }
  }
}

TaskHeader::Run TaskHeader::transition_to_running() {
  uint64_t cur = state.load(std::memory_order_acquire);
  for (;;) {
    // Finished, or being cancelled synchronously by cancel_now(): the queue entry is stale.
    if (cur & (kComplete | kRunning)) return Run::kStale;
    uint64_t gen = (cur + (uint64_t{1} << kGenShift)) & kGenMask;  // wraps within its bits
    uint64_t next = (((cur & ~kNotified) | kRunning) & ~kGenMask) | gen;
    if (state.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      return (cur & kCancelled) ? Run::kCancel : Run::kPoll;
    }
  }
}

bool TaskHeader::claim_for_cancel() {
  uint64_t cur = state.load(std::memory_order_acquire);
  for (;;) {
    if (cur & kComplete) return false;
    if (cur & kRunning) {
      // Being polled on another thread: wait for that poll to end (polls are short).
      std::this_thread::yield();
      cur = state.load(std::memory_order_acquire);
      continue;
    }
    // NOTIFIED stays set: a queue entry keeps its reference and finds the task stale.
    if (state.compare_exchange_weak(cur, cur | kRunning | kCancelled, std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      return true;
    }
  }
}

TaskHeader::Idle TaskHeader::transition_to_idle(bool requeue, uint32_t add_refs) {
  uint64_t cur = state.load(std::memory_order_acquire);
  for (;;) {
    uint64_t next = (cur & ~kRunning) + add_refs * kRefOne;
    if (requeue) next |= kNotified;            // yielded: queued again with the same reference
    if (!(next & kNotified)) next -= kRefOne;  // the run queue's reference goes
    // Never the last one: a task that ends a poll suspended is in the live list, whose
    // reference lasts until it finishes.
    assert((next & ~kFlagsMask) != 0);
    if (state.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      return (next & kNotified) ? Idle::kNotified : Idle::kIdle;
    }
  }
}

void TaskHeader::lock_join() {
  while (join_lock.exchange(1, std::memory_order_acquire) != 0) std::this_thread::yield();
}

void TaskHeader::complete_and_unref(uint32_t refs) {
  // RUNNING is set and COMPLETE is not (kComplete == 2 * kRunning): adding kRunning turns the
  // one into the other in a single read-modify-write.
  static_assert(kComplete == 2 * kRunning);
  uint64_t prev = state.fetch_add(kRunning, std::memory_order_seq_cst);
  assert((prev & kRunning) && !(prev & kComplete));  // every caller holds the task RUNNING
  if ((prev & ~kFlagsMask) == refs * kRefOne) {
    // Only the caller's references are left: no JoinHandle, no waker, so nobody else can see
    // the task any more (making a reference needs one). No join waiter either: one is only
    // registered through a JoinHandle, whose awaiter takes it back before the handle goes.
    assert(join_waiter == nullptr);
    release_last();
    return;
  }
  wake_join_waiter();
  unref(refs);
}

void TaskHeader::wake_join_waiter() {
  // Nobody ever awaited it (a detached task, the common case): no lock. set_join_waiter arms
  // the flag before it looks at COMPLETE, both seq_cst, so either it saw COMPLETE (and did not
  // register) or we see the flag and take the lock, behind which its registration is done.
  if (!join_armed.load(std::memory_order_seq_cst)) return;
  lock_join();
  TaskHeader* waiter = join_waiter;
  uint32_t gen = join_waiter_gen;
  join_waiter = nullptr;
  unlock_join();
  if (waiter != nullptr) Waker::adopt(waiter, gen).wake();
}

bool TaskHeader::set_join_waiter(TaskHeader* waiter, uint32_t gen) {
  lock_join();
  join_armed.store(true, std::memory_order_seq_cst);  // see wake_join_waiter()
  if (state.load(std::memory_order_seq_cst) & kComplete) {
    unlock_join();
    return false;
  }
  TaskHeader* old = join_waiter;
  join_waiter = waiter;
  join_waiter_gen = gen;
  unlock_join();
  if (old != nullptr) old->unref();
  return true;
}

void TaskHeader::clear_join_waiter(TaskHeader* waiter) {
  lock_join();
  TaskHeader* old = join_waiter == waiter ? waiter : nullptr;
  if (old != nullptr) join_waiter = nullptr;
  unlock_join();
  if (old != nullptr) old->unref();
}

// ---------------------------------------------------------------------------------------------
// Frame allocation: a small slab allocator (tcmalloc's shape, tiny).
//
// Size classes of 16 bytes up to 2 KiB cover nearly every task frame. Three tiers:
//   1. a per-thread cache per class (no locks): up to kMaxCachedPerClass free frames;
//   2. a shared pool per class (one lock per kBatch frames moved): tasks are usually allocated
//      on one thread (the spawner) and freed on another (the worker that finished them), so
//      thread caches overflow on one side and run dry on the other;
//   3. new frames are carved kBatch at a time from kChunkBytes chunks taken from malloc.
// Why chunks: glibc grows a thread's arena one page at a time with mprotect and trims it again
// when the top frees up; a million spawns cost ~100k mprotect calls and as many extra page
// faults (measured: spawn benchmark 280 ms -> ~95 ms with the arena growth taken out).
// Trade-off: frame memory is kept for reuse, never returned to the OS, so a process holds on
// to its peak of live task frames. Frames over 2 KiB go straight to operator new/delete.

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_FRAME_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_FRAME_CACHE 0
#endif
#endif
#ifndef WEFT_FRAME_CACHE
#define WEFT_FRAME_CACHE 1  // off under ASan, which must see every allocation and free
#endif

namespace {
constexpr std::size_t kClassBytes = 16;   // fine classes: a 160-byte frame uses 160, not 192
constexpr std::size_t kNumClasses = 128;  // up to 2 KiB
[[maybe_unused]] constexpr uint32_t kMaxCachedPerClass = 64;
[[maybe_unused]] constexpr uint32_t kBatch = 32;
// Above glibc's mmap threshold (128 KiB): each chunk is one mmap, outside the arenas.
[[maybe_unused]] constexpr std::size_t kChunkBytes = 256 * 1024;

// A free frame. In the shared pool the first block of a batch also links the next batch.
struct FreeBlock {
  FreeBlock* next;
  FreeBlock* next_batch;
  uint32_t count;  // blocks in this batch (first block only)
};

// Batches of frames per size class, shared by all threads (an intrusive stack of batches).
struct SharedPool {
  struct alignas(64) Class {
    std::mutex mu;
    FreeBlock* batches = nullptr;
  };
  Class classes[kNumClasses];

  void put(std::size_t cls, FreeBlock* batch, uint32_t count) {
    batch->count = count;
    Class& c = classes[cls];
    std::lock_guard<std::mutex> lock(c.mu);
    batch->next_batch = c.batches;
    c.batches = batch;
  }
  FreeBlock* take(std::size_t cls) {
    Class& c = classes[cls];
    std::lock_guard<std::mutex> lock(c.mu);
    FreeBlock* b = c.batches;
    if (b != nullptr) c.batches = b->next_batch;
    return b;
  }
};

SharedPool& shared_pool() {
  static SharedPool* pool = new SharedPool();  // never destroyed: threads may free at exit
  return *pool;
}

struct FrameCache {
  FreeBlock* heads[kNumClasses] = {};
  uint32_t counts[kNumClasses] = {};
  char* chunk_cur = nullptr;  // bump region for carving new frames
  char* chunk_end = nullptr;
  FrameCacheStats stats;

  ~FrameCache() {
    // The frames live on in the shared pool (they belong to chunks, not to malloc).
    for (std::size_t cls = 0; cls < kNumClasses; ++cls) {
      if (heads[cls] != nullptr) shared_pool().put(cls, heads[cls], counts[cls]);
    }
  }

  // Moves kBatch frames from this cache to the shared pool.
  void spill(std::size_t cls) {
    FreeBlock* first = heads[cls];
    FreeBlock* last = first;
    for (uint32_t i = 1; i < kBatch; ++i) last = last->next;
    heads[cls] = last->next;
    last->next = nullptr;
    counts[cls] -= kBatch;
    shared_pool().put(cls, first, kBatch);
  }

  // Fills an empty class: a batch from the shared pool, else kBatch new frames from a chunk.
  void refill(std::size_t cls) {
    if (FreeBlock* batch = shared_pool().take(cls)) {
      heads[cls] = batch;
      counts[cls] = batch->count;
      return;
    }
    std::size_t size = (cls + 1) * kClassBytes;
    if (static_cast<std::size_t>(chunk_end - chunk_cur) < size * kBatch) {
      chunk_cur = static_cast<char*>(::operator new(kChunkBytes));
      chunk_end = chunk_cur + kChunkBytes;
    }
    FreeBlock* head = nullptr;
    for (uint32_t i = 0; i < kBatch; ++i) {
      auto* b = reinterpret_cast<FreeBlock*>(chunk_cur);
      chunk_cur += size;
      b->next = head;
      head = b;
    }
    heads[cls] = head;
    counts[cls] = kBatch;
  }
};

thread_local FrameCache tls_cache;

std::size_t round_up(std::size_t n) { return (n + kClassBytes - 1) / kClassBytes * kClassBytes; }
}  // namespace

void* frame_alloc(std::size_t frame_size) {
  std::size_t total = round_up(sizeof(TaskHeader) + frame_size);
  FrameCache& cache = tls_cache;
  ++cache.stats.allocations;
  void* mem = nullptr;
#if WEFT_FRAME_CACHE
  std::size_t cls = total / kClassBytes - 1;
  if (cls < kNumClasses) {
    if (cache.heads[cls] == nullptr) {
      cache.refill(cls);
    } else {
      ++cache.stats.cache_hits;
    }
    FreeBlock* b = cache.heads[cls];
    cache.heads[cls] = b->next;
    --cache.counts[cls];
    mem = b;
  }
#endif
  if (mem == nullptr) mem = ::operator new(total);
  auto* header = new (mem) TaskHeader();
  header->alloc_size = static_cast<uint32_t>(total);
  return header->frame();
}

namespace {
void release_memory(TaskHeader* header) {
#if WEFT_FRAME_CACHE
  std::size_t cls = header->alloc_size / kClassBytes - 1;
  header->~TaskHeader();
  if (cls < kNumClasses) {
    FrameCache& cache = tls_cache;
    auto* b = reinterpret_cast<FreeBlock*>(header);
    b->next = cache.heads[cls];
    cache.heads[cls] = b;
    if (++cache.counts[cls] > kMaxCachedPerClass) cache.spill(cls);
    return;
  }
#else
  header->~TaskHeader();
#endif
  ::operator delete(static_cast<void*>(header));
}
}  // namespace

void frame_free(void* frame) {
  TaskHeader* header = TaskHeader::from_frame(frame);
  if (header->scheduler != nullptr) return;  // spawned: freed by the last unref()
  release_memory(header);
}

FrameCacheStats frame_cache_stats() { return tls_cache.stats; }

}  // namespace weft::detail
