#define BOOST_TEST_MODULE wheel_test
#include "weft/runtime/time/wheel.h"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>

namespace weft::detail {
namespace {

constexpr uint64_t kSecond = 1000;
constexpr uint64_t kMinute = 60 * kSecond;
constexpr uint64_t kHour = 60 * kMinute;
constexpr uint64_t kDay = 24 * kHour;
constexpr uint64_t kYear = 365 * kDay;

struct Timer : TimerEntry {
  int id = 0;
  Timer() = default;
  Timer(int i, uint64_t deadline) : TimerEntry(deadline), id(i) {}
};

int id_of(TimerEntry* e) { return static_cast<Timer*>(e)->id; }

// One fired entry as the callback saw it.
struct Fired {
  int id;
  uint64_t deadline;
  uint64_t elapsed;  // wheel.elapsed() during the callback
  bool registered;   // entry->registered() during the callback
};

std::vector<Fired> poll_collect(TimerWheel& wheel, uint64_t now) {
  std::vector<Fired> fired;
  const size_t n = wheel.poll(now, [&](TimerEntry* e) {
    fired.push_back({id_of(e), e->deadline_ms, wheel.elapsed(), e->registered()});
  });
  BOOST_TEST(n == fired.size());
  BOOST_TEST(wheel.elapsed() == std::max(now, wheel.elapsed()));
  return fired;
}

// Every fire happened at its own tick (never early, never late) with the entry unlinked, in
// non-decreasing deadline order.
void check_fires(const std::vector<Fired>& fired) {
  for (size_t i = 0; i < fired.size(); ++i) {
    BOOST_TEST(fired[i].elapsed == fired[i].deadline);
    BOOST_TEST(!fired[i].registered);
    if (i > 0) BOOST_TEST(fired[i - 1].deadline <= fired[i].deadline);
  }
}

// Deadlines on every level, on and around level boundaries, and past the top level's range.
std::vector<uint64_t> level_deadlines() {
  return {1,
          2,
          63,
          64,
          65,
          100,
          4095,
          4096,
          4097,
          10 * kSecond,
          (uint64_t{1} << 18) - 1,
          uint64_t{1} << 18,
          5 * kMinute,
          3 * kHour,
          (uint64_t{1} << 24) + 7,
          5 * kDay,
          (uint64_t{1} << 30) + 1,
          200 * kDay,
          TimerWheel::kMaxDuration - 1,
          TimerWheel::kMaxDuration,
          TimerWheel::kMaxDuration + 1,
          3 * kYear,
          7 * kYear + 12345};
}

BOOST_AUTO_TEST_CASE(fires_in_deadline_order_never_early) {
  TimerWheel wheel;
  std::vector<uint64_t> deadlines = {50, 3, 700, 3, 64, 1, 63, 65, 9000, 128, 2};
  std::deque<Timer> timers;
  for (size_t i = 0; i < deadlines.size(); ++i) {
    timers.emplace_back(static_cast<int>(i), deadlines[i]);
    BOOST_TEST(wheel.insert(&timers.back()));
  }
  BOOST_TEST(wheel.size() == deadlines.size());
  std::vector<Fired> all;
  for (uint64_t now = 1; now <= 10000; ++now) {
    for (const Fired& f : poll_collect(wheel, now)) {
      BOOST_TEST(f.deadline == now);
      all.push_back(f);
    }
  }
  check_fires(all);
  BOOST_TEST(all.size() == deadlines.size());
  // The two timers due at 3 fire in insertion order.
  BOOST_TEST(all[2].id == 1);
  BOOST_TEST(all[3].id == 3);
  BOOST_TEST(wheel.empty());
  BOOST_TEST(!wheel.next_expiration().has_value());
}

BOOST_AUTO_TEST_CASE(insert_at_or_before_elapsed_is_refused) {
  TimerWheel wheel(1000);
  BOOST_TEST(wheel.elapsed() == 1000u);
  Timer past(0, 999), now(1, 1000), zero(2, 0), next(3, 1001);
  BOOST_TEST(!wheel.insert(&past));
  BOOST_TEST(!wheel.insert(&now));
  BOOST_TEST(!wheel.insert(&zero));
  BOOST_TEST(!past.registered());
  BOOST_TEST(!now.registered());
  BOOST_TEST(wheel.empty());
  BOOST_TEST(wheel.insert(&next));
  BOOST_TEST(next.registered());
  BOOST_TEST(wheel.size() == 1u);
  BOOST_TEST(*wheel.next_expiration() == 1001u);
  wheel.remove(&next);
}

BOOST_AUTO_TEST_CASE(every_level_fires_at_its_tick_one_big_jump) {
  for (uint64_t start : {uint64_t{0}, uint64_t{12345}, (uint64_t{1} << 36) - 3}) {
    TimerWheel wheel(start);
    std::deque<Timer> timers;
    for (uint64_t d : level_deadlines()) {
      timers.emplace_back(static_cast<int>(timers.size()), start + d);
      BOOST_TEST(wheel.insert(&timers.back()));
    }
    std::vector<Fired> fired = poll_collect(wheel, start + 8 * kYear);
    BOOST_TEST(fired.size() == timers.size());
    check_fires(fired);
    for (size_t i = 0; i < fired.size(); ++i) BOOST_TEST(fired[i].id == static_cast<int>(i));
    BOOST_TEST(wheel.empty());
  }
}

BOOST_AUTO_TEST_CASE(every_level_fires_at_its_tick_polling_in_steps) {
  for (uint64_t start : {uint64_t{0}, uint64_t{777777}}) {
    for (uint64_t d : level_deadlines()) {
      TimerWheel wheel(start);
      Timer t(0, start + d);
      BOOST_TEST(wheel.insert(&t));
      // Polls that stop just short of the deadline, with steps of growing size, fire nothing.
      uint64_t now = start;
      for (uint64_t step = 1; now + step < start + d; step = step * 3 + 1) {
        now += step;
        BOOST_TEST(poll_collect(wheel, now).empty());
      }
      BOOST_TEST(poll_collect(wheel, start + d - 1).empty());
      BOOST_TEST(t.registered());
      std::vector<Fired> fired = poll_collect(wheel, start + d);
      BOOST_TEST_REQUIRE(fired.size() == 1u);
      check_fires(fired);
      BOOST_TEST(!t.registered());
      BOOST_TEST(wheel.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(fixed_steps_fire_on_the_first_poll_at_or_after_the_deadline) {
  // Polling every `step` ms, each timer fires on the first poll whose time reaches it.
  for (uint64_t step : {uint64_t{1}, uint64_t{7}, uint64_t{1000}, 37 * kSecond}) {
    TimerWheel wheel;
    std::deque<Timer> timers;
    std::mt19937_64 rng(step);
    for (int i = 0; i < 200; ++i) {
      timers.emplace_back(i, 1 + rng() % (step * 500));
      BOOST_TEST(wheel.insert(&timers.back()));
    }
    size_t fired_total = 0;
    for (uint64_t now = step; !wheel.empty(); now += step) {
      const uint64_t before = wheel.elapsed();
      wheel.poll(now, [&](TimerEntry* e) {
        BOOST_TEST(e->deadline_ms > before);
        BOOST_TEST(e->deadline_ms <= now);
        BOOST_TEST(wheel.elapsed() == e->deadline_ms);
        ++fired_total;
      });
    }
    BOOST_TEST(fired_total == timers.size());
  }
}

BOOST_AUTO_TEST_CASE(equal_deadlines_fire_in_insertion_order_across_levels) {
  // Same deadline, inserted at different times, so the first ones start on higher levels and
  // are cascaded down while the later ones are inserted straight into lower levels.
  const uint64_t deadline = 3 * kHour + 5;
  TimerWheel wheel;
  std::deque<Timer> timers;
  int next_id = 0;
  for (uint64_t at : {uint64_t{0}, uint64_t{1}, kHour, 3 * kHour - kMinute,
                      3 * kHour - 10 * kSecond, 3 * kHour - 100, 3 * kHour, 3 * kHour + 4}) {
    BOOST_TEST(poll_collect(wheel, at).empty());
    timers.emplace_back(next_id++, deadline);
    BOOST_TEST(wheel.insert(&timers.back()));
    Timer& other = timers.emplace_back(-1, deadline + 1);  // interleaved later neighbour
    BOOST_TEST(wheel.insert(&other));
  }
  std::vector<Fired> fired = poll_collect(wheel, deadline + 1);
  check_fires(fired);
  BOOST_TEST_REQUIRE(fired.size() == timers.size());
  for (size_t i = 0; i < timers.size() / 2; ++i) BOOST_TEST(fired[i].id == static_cast<int>(i));
}

BOOST_AUTO_TEST_CASE(removed_entries_never_fire) {
  TimerWheel wheel;
  std::deque<Timer> timers;
  for (uint64_t d : level_deadlines()) {
    timers.emplace_back(static_cast<int>(timers.size()), d);
    BOOST_TEST(wheel.insert(&timers.back()));
  }
  for (Timer& t : timers) wheel.remove(&t);
  for (Timer& t : timers) BOOST_TEST(!t.registered());
  BOOST_TEST(wheel.empty());
  BOOST_TEST(wheel.size() == 0u);
  BOOST_TEST(!wheel.next_expiration().has_value());
  BOOST_TEST(poll_collect(wheel, 10 * kYear).empty());
}

BOOST_AUTO_TEST_CASE(remove_from_head_middle_and_tail_of_a_slot) {
  TimerWheel wheel;
  std::deque<Timer> timers;
  for (int i = 0; i < 6; ++i) {
    timers.emplace_back(i, 10);  // all in one level-0 slot
    BOOST_TEST(wheel.insert(&timers.back()));
  }
  wheel.remove(&timers[0]);
  wheel.remove(&timers[3]);
  wheel.remove(&timers[5]);
  BOOST_TEST(wheel.size() == 3u);
  std::vector<Fired> fired = poll_collect(wheel, 10);
  BOOST_TEST_REQUIRE(fired.size() == 3u);
  BOOST_TEST(fired[0].id == 1);
  BOOST_TEST(fired[1].id == 2);
  BOOST_TEST(fired[2].id == 4);
}

BOOST_AUTO_TEST_CASE(remove_of_fired_or_unregistered_entry_is_a_noop) {
  TimerWheel wheel;
  Timer never(0, 5), fired(1, 5), other(2, 6);
  wheel.remove(&never);  // never inserted
  BOOST_TEST(wheel.insert(&fired));
  BOOST_TEST(wheel.insert(&other));
  BOOST_TEST(poll_collect(wheel, 5).size() == 1u);
  BOOST_TEST(!fired.registered());
  wheel.remove(&fired);  // already fired
  wheel.remove(&fired);
  BOOST_TEST(wheel.size() == 1u);
  BOOST_TEST(other.registered());
  BOOST_TEST(*wheel.next_expiration() == 6u);
  // Removed, then re-inserted: it fires once, at its new deadline.
  wheel.remove(&other);
  wheel.remove(&other);
  other.deadline_ms = 9;
  BOOST_TEST(wheel.insert(&other));
  std::vector<Fired> f = poll_collect(wheel, 100);
  BOOST_TEST_REQUIRE(f.size() == 1u);
  BOOST_TEST(f[0].deadline == 9u);
}

BOOST_AUTO_TEST_CASE(callback_reinserts_the_entry) {
  // An interval: every fire re-arms 10 ms later. One poll over 1 s sees all 100 ticks in order.
  TimerWheel wheel;
  Timer interval(0, 10);
  BOOST_TEST(wheel.insert(&interval));
  std::vector<uint64_t> ticks;
  wheel.poll(1000, [&](TimerEntry* e) {
    ticks.push_back(wheel.elapsed());
    BOOST_TEST(!wheel.insert(e));  // its own deadline is not in the future
    e->deadline_ms += 10;
    BOOST_TEST(wheel.insert(e));
  });
  BOOST_TEST_REQUIRE(ticks.size() == 100u);
  for (size_t i = 0; i < ticks.size(); ++i) BOOST_TEST(ticks[i] == 10 * (i + 1));
  BOOST_TEST(interval.registered());
  BOOST_TEST(*wheel.next_expiration() == 1010u);
  wheel.remove(&interval);
}

BOOST_AUTO_TEST_CASE(callback_frees_entries_and_removes_others) {
  TimerWheel wheel;
  std::vector<std::unique_ptr<Timer>> owned;
  for (int i = 0; i < 4; ++i) {
    owned.push_back(std::make_unique<Timer>(i, 20));
    BOOST_TEST(wheel.insert(owned.back().get()));
  }
  Timer later(9, 30);
  BOOST_TEST(wheel.insert(&later));
  std::vector<int> ids;
  wheel.poll(100, [&](TimerEntry* e) {
    const int id = id_of(e);
    ids.push_back(id);
    owned[id].reset();  // free the entry that just fired
    if (id == 0) {
      wheel.remove(owned[2].get());  // cancel one due at the same tick
      wheel.remove(&later);          // and one due later
    }
  });
  BOOST_TEST((ids == std::vector<int>{0, 1, 3}));
  BOOST_TEST(wheel.empty());
  BOOST_TEST(!later.registered());
}

BOOST_AUTO_TEST_CASE(callback_inserts_a_new_entry_due_within_the_same_poll) {
  TimerWheel wheel;
  Timer first(0, 10), spawned(1, 0), same_tick(2, 0);
  BOOST_TEST(wheel.insert(&first));
  std::vector<Fired> fired;
  wheel.poll(50, [&](TimerEntry* e) {
    fired.push_back({id_of(e), e->deadline_ms, wheel.elapsed(), e->registered()});
    if (e == &first) {
      same_tick.deadline_ms = 10;
      BOOST_TEST(!wheel.insert(&same_tick));
      spawned.deadline_ms = 40;
      BOOST_TEST(wheel.insert(&spawned));
    }
  });
  BOOST_TEST_REQUIRE(fired.size() == 2u);
  check_fires(fired);
  BOOST_TEST(fired[1].id == 1);
  BOOST_TEST(wheel.elapsed() == 50u);
}

BOOST_AUTO_TEST_CASE(next_expiration_is_exact_on_level_zero) {
  TimerWheel wheel(64 * 100 + 3);
  BOOST_TEST(!wheel.next_expiration().has_value());
  Timer a(0, wheel.elapsed() + 40), b(1, wheel.elapsed() + 5), c(2, wheel.elapsed() + 60);
  BOOST_TEST(wheel.insert(&a));
  BOOST_TEST(*wheel.next_expiration() == a.deadline_ms);
  BOOST_TEST(wheel.insert(&b));
  BOOST_TEST(wheel.insert(&c));
  BOOST_TEST(*wheel.next_expiration() == b.deadline_ms);
  wheel.remove(&b);
  BOOST_TEST(*wheel.next_expiration() == a.deadline_ms);
  BOOST_TEST(poll_collect(wheel, a.deadline_ms).size() == 1u);
  BOOST_TEST(*wheel.next_expiration() == c.deadline_ms);
  wheel.remove(&c);
  BOOST_TEST(!wheel.next_expiration().has_value());
}

BOOST_AUTO_TEST_CASE(next_expiration_is_never_late_and_converges) {
  // The driver's loop: sleep until next_expiration(), poll, repeat. On every level that reaches
  // the timer at its exact tick in a few wake-ups and never passes it.
  for (uint64_t start : {uint64_t{0}, uint64_t{98765}}) {
    for (uint64_t d : level_deadlines()) {
      TimerWheel wheel(start);
      Timer t(0, start + d);
      BOOST_TEST(wheel.insert(&t));
      int wakeups = 0;
      std::vector<Fired> fired;
      while (fired.empty() && wakeups < 20) {
        const std::optional<uint64_t> next = wheel.next_expiration();
        BOOST_TEST_REQUIRE(next.has_value());
        BOOST_TEST(*next > wheel.elapsed());
        BOOST_TEST(*next <= t.deadline_ms);
        fired = poll_collect(wheel, *next);
        ++wakeups;
      }
      BOOST_TEST_REQUIRE(fired.size() == 1u);
      check_fires(fired);
      // Down one level per wake-up, plus a few rounds of the top level for far deadlines.
      BOOST_TEST(wakeups <= static_cast<int>(TimerWheel::kLevels) + 4);
    }
  }
}

BOOST_AUTO_TEST_CASE(top_level_wrap_does_not_hide_earlier_slots) {
  // A deadline a full top-level round away lands in the top-level slot elapsed() is in; that
  // slot comes round last, after every other top-level slot.
  TimerWheel wheel;
  Timer far(0, uint64_t{1} << 36), near(1, (uint64_t{1} << 30) + 1);
  BOOST_TEST(wheel.insert(&far));
  BOOST_TEST(*wheel.next_expiration() == uint64_t{1} << 36);
  BOOST_TEST(wheel.insert(&near));
  BOOST_TEST(*wheel.next_expiration() == uint64_t{1} << 30);
  std::vector<Fired> fired = poll_collect(wheel, uint64_t{1} << 36);
  BOOST_TEST_REQUIRE(fired.size() == 2u);
  check_fires(fired);
  BOOST_TEST(fired[0].id == 1);
}

BOOST_AUTO_TEST_CASE(never_deadline_stays_registered) {
  TimerWheel wheel(5);
  Timer never(0, UINT64_MAX);
  BOOST_TEST(wheel.insert(&never));
  BOOST_TEST(*wheel.next_expiration() > wheel.elapsed());
  BOOST_TEST(poll_collect(wheel, 10 * kYear).empty());
  BOOST_TEST(never.registered());
  BOOST_TEST(*wheel.next_expiration() > 10 * kYear);
  wheel.remove(&never);
  BOOST_TEST(wheel.empty());
}

BOOST_AUTO_TEST_CASE(poll_backwards_is_a_noop) {
  TimerWheel wheel(100);
  Timer t(0, 150);
  BOOST_TEST(wheel.insert(&t));
  BOOST_TEST(wheel.poll(50, [](TimerEntry*) { BOOST_FAIL("fired"); }) == 0u);
  BOOST_TEST(wheel.elapsed() == 100u);
  BOOST_TEST(poll_collect(wheel, 150).size() == 1u);
}

BOOST_AUTO_TEST_CASE(destroying_the_wheel_unregisters_its_entries) {
  Timer a(0, 10), b(1, 5 * kYear);
  {
    TimerWheel wheel;
    BOOST_TEST(wheel.insert(&a));
    BOOST_TEST(wheel.insert(&b));
  }
  BOOST_TEST(!a.registered());
  BOOST_TEST(!b.registered());
}

// Random operations against a reference: a multimap from deadline to id keeps equal deadlines
// in insertion order, which is exactly the order the wheel must fire in.
BOOST_AUTO_TEST_CASE(randomized_against_multimap) {
  for (uint64_t seed : {1, 2, 3, 4, 5, 6, 7, 8}) {
    std::mt19937_64 rng(seed);
    const uint64_t start = (seed % 2 == 0) ? 0 : rng() % (uint64_t{1} << 40);
    TimerWheel wheel(start);

    constexpr int kTimers = 300;
    std::deque<Timer> timers;
    for (int i = 0; i < kTimers; ++i) timers.emplace_back(i, 0);
    using Ref = std::multimap<uint64_t, int>;
    Ref ref;
    std::vector<std::optional<Ref::iterator>> where(kTimers);

    // Distances that exercise every level, shared deadlines, and the top-level wrap.
    auto distance = [&]() -> uint64_t {
      switch (rng() % 8) {
        case 0:
          return rng() % 4;  // includes 0: refused
        case 1:
          return rng() % 64;
        case 2:
          return rng() % 5000;
        case 3:
          return rng() % (300 * kSecond);
        case 4:
          return rng() % (6 * kHour);
        case 5:
          return rng() % (20 * kDay);
        case 6:
          return rng() % (5 * kYear);
        default:
          return 1000 * (1 + rng() % 5);  // round numbers collide often
      }
    };
    auto try_insert = [&](int id, uint64_t deadline) {
      Timer& t = timers[id];
      t.deadline_ms = deadline;
      const bool inserted = wheel.insert(&t);
      BOOST_TEST(inserted == (deadline > wheel.elapsed()));
      if (inserted) where[id] = ref.emplace(deadline, id);
    };

    size_t fired_total = 0;
    for (int op = 0; op < 3000; ++op) {
      const int id = static_cast<int>(rng() % kTimers);
      const unsigned kind = rng() % 10;
      if (kind < 5) {
        if (!where[id]) try_insert(id, wheel.elapsed() + distance());
      } else if (kind < 7) {
        wheel.remove(&timers[id]);
        if (where[id]) {
          ref.erase(*where[id]);
          where[id].reset();
        }
      } else {
        uint64_t now = wheel.elapsed() + distance();
        if (rng() % 4 == 0) {
          if (auto next = wheel.next_expiration()) now = *next;  // the driver's wake-up
        }
        wheel.poll(now, [&](TimerEntry* e) {
          const int fid = id_of(e);
          BOOST_TEST_REQUIRE(!ref.empty());
          BOOST_TEST_REQUIRE(ref.begin()->second == fid);  // exactly the reference's next
          BOOST_TEST(ref.begin()->first == e->deadline_ms);
          BOOST_TEST(e->deadline_ms <= now);
          BOOST_TEST(wheel.elapsed() == e->deadline_ms);
          BOOST_TEST(!e->registered());
          ref.erase(ref.begin());
          where[fid].reset();
          ++fired_total;
          // Sometimes re-arm it, or cancel another timer, from inside the callback.
          const unsigned action = rng() % 4;
          if (action == 0) try_insert(fid, wheel.elapsed() + distance());
          if (action == 1) {
            const int other = static_cast<int>(rng() % kTimers);
            wheel.remove(&timers[other]);
            if (where[other]) {
              ref.erase(*where[other]);
              where[other].reset();
            }
          }
        });
        BOOST_TEST(wheel.elapsed() == std::max(now, wheel.elapsed()));
        BOOST_TEST((ref.empty() || ref.begin()->first > now));
      }

      BOOST_TEST_REQUIRE(wheel.size() == ref.size());
      const std::optional<uint64_t> next = wheel.next_expiration();
      BOOST_TEST_REQUIRE(next.has_value() == !ref.empty());
      if (next) {
        const uint64_t earliest = ref.begin()->first;
        BOOST_TEST(*next > wheel.elapsed());
        BOOST_TEST(*next <= earliest);
        if ((earliest ^ wheel.elapsed()) < TimerWheel::kSlots) BOOST_TEST(*next == earliest);
      }
      if (op % 500 == 0) {
        for (int i = 0; i < kTimers; ++i)
          BOOST_TEST(timers[i].registered() == where[i].has_value());
      }
    }
    BOOST_TEST(fired_total > 100u);
    // Drain: everything left fires, in reference order.
    wheel.poll(UINT64_MAX >> 2, [&](TimerEntry* e) {
      BOOST_TEST_REQUIRE(ref.begin()->second == id_of(e));
      where[id_of(e)].reset();
      ref.erase(ref.begin());
    });
    BOOST_TEST(ref.empty());
    BOOST_TEST(wheel.empty());
  }
}

}  // namespace
}  // namespace weft::detail
