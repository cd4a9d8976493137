// The intrusive link the scheduler's queues use to chain tasks without allocating.
//
// A task moves between the local and the inject queue as a singly linked chain threaded through
// the task itself, so overflowing 129 tasks or taking a batch costs no allocation. By default a
// type is linkable when it has a `T* queue_next` member:
//
//   struct Job { Job* queue_next = nullptr; int id; };
//   static_assert(weft::detail::QueueLinked<Job>);
//   weft::detail::QueueLink<Job>::set_next(a, &b);   // a -> b
//
// A type whose link has another name or lives elsewhere specialises QueueLink<T> with the same
// two static functions. While a task sits in a queue its link belongs to that queue: nobody else
// may read or write it.
#pragma once

#include <concepts>

namespace weft::detail {

// Primary template: no members, so QueueLinked<T> is false for a type without a link.
template <typename T>
struct QueueLink {};

template <typename T>
requires requires(T& t) {
  { t.queue_next } -> std::same_as<T*&>;
}
struct QueueLink<T> {
  static T* next(const T& task) noexcept { return task.queue_next; }
  static void set_next(T& task, T* next) noexcept { task.queue_next = next; }
};

template <typename T>
concept QueueLinked = requires(T& task, const T& ctask, T* p) {
  { QueueLink<T>::next(ctask) } -> std::same_as<T*>;
  QueueLink<T>::set_next(task, p);
};

}  // namespace weft::detail
