#include "weft/runtime/time/wheel.h"

#include <bit>

namespace weft::detail {
namespace {

constexpr uint64_t kSlotMask = TimerWheel::kSlots - 1;
constexpr unsigned kTopLevel = TimerWheel::kLevels - 1;

// The level for a deadline seen from `elapsed` (invariant 2): the 6-bit group holding the
// highest bit in which the two differ. OR-ing in the slot mask makes a deadline inside the
// current 64 ms block (or equal to elapsed, which only a cascade produces) land on level 0.
unsigned level_for(uint64_t elapsed, uint64_t deadline) {
  const uint64_t differing = (elapsed ^ deadline) | kSlotMask;
  const unsigned level =
      (static_cast<unsigned>(std::bit_width(differing)) - 1) / TimerWheel::kSlotBits;
  return level < kTopLevel ? level : kTopLevel;  // beyond the top level: wrap (invariant 5)
}

unsigned slot_for(uint64_t deadline, unsigned level) {
  return static_cast<unsigned>((deadline >> (level * TimerWheel::kSlotBits)) & kSlotMask);
}

}  // namespace

TimerWheel::TimerWheel(uint64_t now_ms) : elapsed_(now_ms) { assert(now_ms < (uint64_t{1} << 63)); }

TimerWheel::~TimerWheel() {
  for (unsigned level = 0; level < kLevels; ++level) {
    for (Slot& slot : slots_[level]) {
      for (TimerEntry* entry = slot.head; entry != nullptr;) {
        TimerEntry* next = entry->next_;
        entry->prev_ = entry->next_ = nullptr;
        entry->level_ = TimerEntry::kUnregistered;
        entry = next;
      }
    }
  }
}

bool TimerWheel::insert(TimerEntry* entry) {
  assert(!entry->registered());
  if (entry->deadline_ms <= elapsed_) return false;
  link(entry);
  ++size_;
  return true;
}

void TimerWheel::remove(TimerEntry* entry) {
  if (!entry->registered()) return;
  unlink(entry);
  --size_;
}

std::optional<uint64_t> TimerWheel::next_expiration() const {
  if (auto expiration = next_slot()) return expiration->deadline;
  return std::nullopt;
}

std::optional<TimerWheel::Expiration> TimerWheel::next_slot() const {
  for (unsigned level = 0; level < kLevels; ++level) {
    const uint64_t occupied = occupied_[level];
    if (occupied == 0) continue;
    const unsigned shift = level * kSlotBits;
    // The first occupied slot going round the level from where elapsed_ is. On level 0 that
    // starts with elapsed_'s own slot, which may hold entries due right now. Above it,
    // elapsed_'s own slot has begun, so it is occupied only on the top level, by deadlines a
    // round or more away (invariant 5): it comes last, and the search starts after it.
    const unsigned now_slot = slot_for(elapsed_, level);
    const unsigned first = level == 0 ? now_slot : (now_slot + 1) & kSlotMask;
    const unsigned slot =
        (first + static_cast<unsigned>(std::countr_zero(std::rotr(occupied, first)))) & kSlotMask;
    const uint64_t level_range = uint64_t{1} << (shift + kSlotBits);
    uint64_t deadline = (elapsed_ & ~(level_range - 1)) + (uint64_t{slot} << shift);
    if (level > 0 && deadline <= elapsed_) {
      // A slot at or before elapsed_'s own in this round: its next start is in the next round.
      // Only the top level wraps like this; levels 1..kTopLevel-1 hold only slots after
      // elapsed_'s (invariant 2).
      assert(level == kTopLevel);
      deadline += level_range;
    }
    assert(deadline >= elapsed_);
    return Expiration{level, slot, deadline};
  }
  return std::nullopt;
}

TimerEntry* TimerWheel::pop_expired(uint64_t now_ms) {
  for (;;) {
    const std::optional<Expiration> expiration = next_slot();
    if (!expiration || expiration->deadline > now_ms) {
      // Nothing is due by now_ms, so no occupied slot starts in (elapsed_, now_ms] and moving
      // time there keeps every entry on its level (invariant 2).
      if (now_ms > elapsed_) {
        assert(now_ms < (uint64_t{1} << 63));
        elapsed_ = now_ms;
      }
      return nullptr;
    }
    elapsed_ = expiration->deadline;
    if (expiration->level == 0) {
      // A level-0 slot holds one deadline; take its oldest entry. Callbacks can't add to this
      // slot (insert refuses deadline <= elapsed_), so it drains.
      TimerEntry* entry = slots_[0][expiration->slot].head;
      unlink(entry);
      --size_;
      return entry;
    }
    cascade(expiration->level, expiration->slot);
  }
}

void TimerWheel::cascade(unsigned level, unsigned slot) {
  // Detach the whole list first: on the top level an entry a round or more out goes back into
  // this very slot, and must not be visited again.
  Slot list = slots_[level][slot];
  slots_[level][slot] = Slot{};
  occupied_[level] &= ~(uint64_t{1} << slot);
  for (TimerEntry* entry = list.head; entry != nullptr;) {
    TimerEntry* next = entry->next_;
    entry->prev_ = entry->next_ = nullptr;
    link(entry);  // in list order, which keeps equal deadlines in insertion order
    entry = next;
  }
}

void TimerWheel::link(TimerEntry* entry) {
  const unsigned level = level_for(elapsed_, entry->deadline_ms);
  const unsigned slot = slot_for(entry->deadline_ms, level);
  Slot& list = slots_[level][slot];
  entry->level_ = static_cast<uint8_t>(level);
  entry->slot_ = static_cast<uint8_t>(slot);
  entry->prev_ = list.tail;
  entry->next_ = nullptr;
  if (list.tail != nullptr) {
    list.tail->next_ = entry;
  } else {
    list.head = entry;
  }
  list.tail = entry;
  occupied_[level] |= uint64_t{1} << slot;
}

void TimerWheel::unlink(TimerEntry* entry) {
  Slot& list = slots_[entry->level_][entry->slot_];
  if (entry->prev_ != nullptr) {
    entry->prev_->next_ = entry->next_;
  } else {
    list.head = entry->next_;
  }
  if (entry->next_ != nullptr) {
    entry->next_->prev_ = entry->prev_;
  } else {
    list.tail = entry->prev_;
  }
  if (list.head == nullptr) occupied_[entry->level_] &= ~(uint64_t{1} << entry->slot_);
  entry->prev_ = entry->next_ = nullptr;
  entry->level_ = TimerEntry::kUnregistered;
}

}  // namespace weft::detail
