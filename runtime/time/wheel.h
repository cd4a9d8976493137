// TimerWheel: the hierarchical timing wheel behind the runtime's time driver (sleep, timeout,
// interval). It maps millisecond deadlines to intrusive TimerEntry nodes, tells the driver when
// it must next wake up, and fires entries in deadline order as the clock advances. It never
// allocates: every node lives inside the object that waits on it (a Sleep awaiter, say).
//
//   struct Sleep : TimerEntry { Waker waker; };            // the awaiter embeds the node
//   Sleep s;  s.deadline_ms = wheel.elapsed() + 250;
//   if (!wheel.insert(&s)) s.waker.wake();                  // already due: fire at once
//   wheel.poll(clock_ms(), [](TimerEntry* e) { static_cast<Sleep*>(e)->waker.wake(); });
//   if (auto t = wheel.next_expiration()) park_until(*t);   // else park with no timeout
//
// Layout (after Tokio's runtime/time/wheel): kLevels levels of kSlots slots. A slot on level L
// spans 64^L ms, so level 0 holds 1 ms slots over 64 ms, level 1 64 ms slots over ~4 s,
// level 2 ~4 s / ~4.4 min, level 3 ~4.4 min / ~4.7 h, level 4 ~4.7 h / ~12.4 days,
// level 5 ~12.4 days / ~2.18 years. Each slot is an intrusive doubly linked FIFO list; each
// level keeps a 64-bit bitmap of its non-empty slots.
//
// Invariants (between calls, and whenever a poll callback runs):
//   1. Every registered entry has deadline_ms > elapsed(), except inside poll, where entries
//      due exactly at elapsed() may still wait in their level-0 slot.
//   2. An entry sits on the level of the highest 6-bit group in which its deadline differs from
//      elapsed() (capped at the top level), in slot (deadline >> 6 * level) % 64. So level 0
//      holds exact deadlines in elapsed()'s 64 ms block, and every entry on a lower level is
//      due before the start of any occupied slot on a higher level: the earliest slot of the
//      lowest non-empty level is always the next thing to process.
//   3. occupied_[L] bit s is set exactly when slot s of level L is non-empty.
//   4. Entries with equal deadlines are always in the same slot, in insertion order; cascading
//      a slot down a level moves its entries in list order, so they fire in insertion order.
//   5. Deadlines beyond the top level's range (> ~2.18 years ahead) go to the top level slot
//      their deadline names; that slot comes round every 2^36 ms and re-places the entry until
//      the deadline is in range, so such an entry fires at its exact deadline, never early.
//
// Costs: insert and remove are O(1); finding the next expiration is a rotate and a
// count-trailing-zeros per level; each entry is moved down at most kLevels - 1 times (plus
// once per 2.18-year round of the top level for deadlines further out).
//
// Times are milliseconds since an epoch the driver chooses, and must stay below 2^63 (the
// wheel adds a top-level round to them); a deadline may be anything, UINT64_MAX ("never")
// included.
//
// Not thread-safe: the time driver guards its wheel with a std::mutex (the wheel runs no code
// of its own that could block). Nodes are neither copyable nor movable, because the wheel holds
// pointers to them; a node must stay alive and unmoved while registered().
#ifndef WEFT_RUNTIME_TIME_WHEEL_H_
#define WEFT_RUNTIME_TIME_WHEEL_H_

#include <array>
#include <cassert>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace weft::detail {

class TimerWheel;

// The intrusive node a timer embeds (or derives from). Set deadline_ms before insert() and
// leave it alone while registered(); the links belong to the wheel.
struct TimerEntry {
  // Absolute deadline, in the wheel's milliseconds.
  uint64_t deadline_ms = 0;

  TimerEntry() = default;
  explicit TimerEntry(uint64_t deadline) : deadline_ms(deadline) {}
  TimerEntry(const TimerEntry&) = delete;
  TimerEntry& operator=(const TimerEntry&) = delete;
  // Destroying a registered node would leave the wheel with a dangling pointer: remove() it
  // first (cancellation is destruction, so an awaiter's destructor does exactly that).
  ~TimerEntry() { assert(!registered()); }

  // True from a successful insert() until the entry fires or is removed.
  bool registered() const { return level_ != kUnregistered; }

 private:
  friend class TimerWheel;
  static constexpr uint8_t kUnregistered = 0xff;

  TimerEntry* prev_ = nullptr;
  TimerEntry* next_ = nullptr;
  // Where the entry is linked, so remove() needs neither a search nor deadline_ms.
  uint8_t level_ = kUnregistered;
  uint8_t slot_ = 0;
};

class TimerWheel {
 public:
  // 64 slots per level: one uint64_t bitmap covers a level, so the next occupied slot is a
  // rotate plus a count-trailing-zeros, and a slot index is 6 bits of the deadline.
  static constexpr unsigned kSlotBits = 6;
  static constexpr unsigned kSlots = 1u << kSlotBits;
  // 6 levels of 64 slots at 1 ms (the resolution of epoll_wait's timeout, which is how the
  // driver sleeps) reach 64^6 ms = 2^36 ms, ~2.18 years: more than any real timeout, yet the
  // whole wheel is 6 KiB of list heads. Tokio made the same choice.
  static constexpr unsigned kLevels = 6;
  // Deadlines at least this far past elapsed() wrap around the top level (invariant 5).
  static constexpr uint64_t kMaxDuration = (uint64_t{1} << (kSlotBits * kLevels)) - 1;

  explicit TimerWheel(uint64_t now_ms = 0);
  // Entries still registered are unlinked (registered() turns false) but not fired.
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Registers `entry` (which must not be registered) to fire at entry->deadline_ms. Returns
  // false, and leaves the entry unregistered, when the deadline is <= elapsed(): the caller
  // fires it at once.
  [[nodiscard]] bool insert(TimerEntry* entry);

  // Unregisters `entry` in O(1). A no-op if it is not registered (it already fired, was
  // removed, or was never inserted).
  void remove(TimerEntry* entry);

  // When poll() must next be called: the earliest deadline if it is on level 0 (within the
  // current 64 ms block), otherwise the start of the earliest occupied slot, which is never
  // later than the earliest deadline (polling then moves that slot's entries down a level).
  // nullopt when empty.
  std::optional<uint64_t> next_expiration() const;

  // Advances elapsed() to now_ms (an earlier now_ms is a no-op) and calls on_expired(entry)
  // for every entry with deadline_ms <= now_ms, in deadline order, equal deadlines in
  // insertion order. Each entry is unregistered before its callback, which may therefore
  // re-insert, destroy or free it, and may insert or remove other entries. While a callback
  // runs, elapsed() is the deadline being fired, so an entry inserted with a deadline in
  // (elapsed(), now_ms] fires later in this same poll; one at or before elapsed() is refused.
  // If a callback throws, the wheel stays consistent and the rest fire on the next poll.
  // Returns the number of callbacks made.
  template <class F>
  size_t poll(uint64_t now_ms, F&& on_expired) requires std::invocable<F&, TimerEntry*> {
    size_t fired = 0;
    while (TimerEntry* entry = pop_expired(now_ms)) {
      ++fired;
      on_expired(entry);
    }
    return fired;
  }

  // The wheel's current time: the last now_ms polled (or the constructor's).
  uint64_t elapsed() const { return elapsed_; }
  bool empty() const { return size_ == 0; }
  // Number of registered entries.
  size_t size() const { return size_; }

 private:
  struct Slot {
    TimerEntry* head = nullptr;
    TimerEntry* tail = nullptr;
  };
  struct Expiration {
    unsigned level;
    unsigned slot;
    uint64_t deadline;  // when the slot must be processed
  };

  // The slot to process next (invariant 2: the earliest slot of the lowest non-empty level).
  std::optional<Expiration> next_slot() const;
  // Moves time forward to the next expired entry (cascading slots on the way), unlinks and
  // returns it; when nothing is due by now_ms, sets elapsed_ to now_ms and returns nullptr.
  TimerEntry* pop_expired(uint64_t now_ms);
  // Moves every entry of a slot whose start elapsed_ has reached to its level for elapsed_.
  void cascade(unsigned level, unsigned slot);
  // Appends `entry` to the slot its deadline maps to relative to elapsed_.
  void link(TimerEntry* entry);
  void unlink(TimerEntry* entry);

  uint64_t elapsed_;
  size_t size_ = 0;
  std::array<uint64_t, kLevels> occupied_{};
  std::array<std::array<Slot, kSlots>, kLevels> slots_{};
};

}  // namespace weft::detail

#endif  // WEFT_RUNTIME_TIME_WHEEL_H_
