// Polling, waking and finishing tasks: the part of the task life cycle every scheduler shares.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>

#include "absl/strings/str_cat.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/scheduler/scheduler.h"
#include "weft/runtime/task/coop.h"
#include "weft/runtime/task/join_handle.h"
#include "weft/runtime/task/waker.h"

namespace weft {
namespace detail {

void wake_task_by_ref(TaskHeader* task, uint32_t gen) {
  if (task->transition_to_notified(gen) == TaskHeader::Wake::kSubmit) {
    task->scheduler->schedule(task, false);
  }
}

void yield_task(std::coroutine_handle<> h) {
  TaskHeader* task = tls_context.current;
  task->leaf = h;
  task->yielded =
      true;  // poll_task re-queues it when the poll ends (one state change, no CAS here)
}

namespace {
// A poll ended with the task suspended: re-queue it (with the poll's reference) if it was woken
// meanwhile or yielded, else drop that reference (in the same state change).
void end_poll_suspended(TaskHeader* task) {
  uint32_t list_ref = 0;
  if (task->unlisted) {
    // Its first poll: it lives on, so it joins the live list now (see scheduler.h). The list's
    // reference is taken by the idle transition below: until then this poll holds the task
    // RUNNING, so nothing can take it off the list.
    task->unlisted = false;
    if (!task->scheduler->settle(task, true)) {
      cancel_task(task);  // shutting down; we hold it RUNNING with the queue's reference
      return;
    }
    list_ref = 1;
  }
  bool yielded = task->yielded;
  task->yielded = false;
  if (task->transition_to_idle(yielded, list_ref) == TaskHeader::Idle::kNotified) {
    task->scheduler->schedule(task, yielded);  // with the poll's reference
  }
}

void finish(TaskHeader* task) {
  bool owned = false;
  if (task->unlisted) {
    task->unlisted = false;
    task->scheduler->settle(task, false);  // finished (or cancelled) before it was listed
  } else {
    owned = task->scheduler->release(task);
  }
  task->complete_and_unref(owned ? 2 : 1);  // the run queue's reference, and the live list's
}
}  // namespace

void cancel_task(TaskHeader* task) {
  Context& cx = tls_context;
  TaskHeader* prev = cx.current;
  cx.current = task;
  task->frame_destroyed = true;
  task->root().destroy();  // runs every destructor at the suspension point
  cx.current = prev;
  finish(task);
}

void poll_task(TaskHeader* task) {
  switch (task->transition_to_running()) {
    case TaskHeader::Run::kPoll:
      break;
    case TaskHeader::Run::kCancel:
      cancel_task(task);
      return;
    case TaskHeader::Run::kStale:
      task->unref();
      return;
  }
  Context& cx = tls_context;
  TaskHeader* prev = cx.current;
  cx.current = task;
  coop::reset();
  task->leaf.resume();
  coop::unlimited();
  cx.current = prev;
  if (task->root().done()) {
    // Keep the result, then destroy the frame now: its parameters and locals must not live on
    // as long as the JoinHandle does.
    task->vtable->store_output(task);
    task->frame_destroyed = true;
    cx.current = task;
    task->root().destroy();
    cx.current = prev;
    finish(task);
    return;
  }
  end_poll_suspended(task);
}

TaskHeader* spawn_raw(Scheduler* s, std::coroutine_handle<> frame, const TaskVtable* vtable) {
  TaskHeader* task = TaskHeader::from_frame(frame.address());
  task->scheduler = s;
  task->vtable = vtable;
  task->leaf = frame;
  // References: the run queue and the JoinHandle (spawn adds the live list's if it lists it).
  task->state.store(TaskHeader::kNotified + 2 * TaskHeader::kRefOne, std::memory_order_relaxed);
  if (!s->spawn(task)) {
    // The runtime is shutting down: the task never runs, and was never listed.
    task->claim_for_cancel();
    cancel_task(task);
  }
  return task;
}

TaskHeader* spawn_polled_raw(Scheduler* s, std::coroutine_handle<> frame,
                             const TaskVtable* vtable) {
  TaskHeader* task = TaskHeader::from_frame(frame.address());
  task->scheduler = s;
  task->vtable = vtable;
  task->leaf = frame;
  // As transition_to_running would leave a fresh task: RUNNING, generation 1. References: this
  // poll (standing in for a run queue's) and the JoinHandle. Not listed yet: only a task that
  // outlives this poll needs to be found by shutdown.
  constexpr uint64_t kPolling =
      TaskHeader::kRunning | (uint64_t{1} << TaskHeader::kGenShift) | 2 * TaskHeader::kRefOne;
  task->state.store(kPolling, std::memory_order_relaxed);
  Context& cx = tls_context;
  TaskHeader* prev = cx.current;
  cx.current = task;
  frame.resume();  // shares the caller's cooperative budget
  cx.current = prev;
  if (frame.done()) {
    if (task->state.load(std::memory_order_acquire) == kPolling) {
      // Nothing else refers to it (no waker outlived the poll): a plain finished frame again.
      task->state.store(0, std::memory_order_relaxed);
      task->scheduler = nullptr;
      task->vtable = nullptr;
      task->yielded = false;
      return nullptr;
    }
    // A waker made during the poll is still held somewhere: finish it as poll_task would.
    task->vtable->store_output(task);
    task->frame_destroyed = true;
    cx.current = task;
    frame.destroy();
    cx.current = prev;
    task->complete_and_unref(1);  // the poll's reference; the JoinHandle's remains
    return task;
  }
  task->ref();  // the live list's
  if (!s->adopt(task)) {
    task->unref();      // not listed after all
    cancel_task(task);  // we hold it RUNNING; this drops the poll's reference
    return task;
  }
  end_poll_suspended(task);
  return task;
}

Scheduler* current_scheduler_or_throw() {
  Scheduler* s = tls_context.scheduler;
  if (s == nullptr) {
    throw std::logic_error("weft: spawn/Handle::current() called outside a weft runtime");
  }
  return s;
}

absl::Status join_error(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return absl::InternalError(absl::StrCat("task threw: ", ex.what()));
  } catch (...) {
    return absl::InternalError("task threw a non-std::exception");
  }
}

}  // namespace detail

namespace {
detail::TaskHeader* current_task_resuming_at(std::coroutine_handle<> resume_at) {
  detail::TaskHeader* task = detail::tls_context.current;
  if (task == nullptr) {
    std::fputs("weft: a runtime resource was awaited outside a weft task\n", stderr);
    std::abort();
  }
  task->leaf = resume_at;
  return task;
}
}  // namespace

Waker Waker::current(std::coroutine_handle<> resume_at) {
  detail::TaskHeader* task = current_task_resuming_at(resume_at);
  task->ref();
  return Waker::adopt(task, task->generation());
}

void Waker::assign_current(std::coroutine_handle<> resume_at) {
  detail::TaskHeader* task = current_task_resuming_at(resume_at);
  if (task_ != task) {
    task->ref();
    if (task_ != nullptr) task_->unref();
    task_ = task;
  }
  gen_ = task->generation();
}

void Waker::wake() && {
  if (task_ == nullptr) return;
  detail::TaskHeader* task = std::exchange(task_, nullptr);
  if (task->transition_to_notified(gen_, /*by_val=*/true) == detail::TaskHeader::Wake::kSubmit) {
    task->scheduler->schedule(task, false);  // with this waker's reference
  }
}

void Waker::wake_by_ref() const {
  if (task_ != nullptr) detail::wake_task_by_ref(task_, gen_);
}

namespace coop {
void yield_current(std::coroutine_handle<> h) {
  ++detail::tls_budget.forced_yields;
  weft::detail::yield_task(h);
}
}  // namespace coop

}  // namespace weft

namespace weft::detail {
void shutdown_task(TaskHeader* t) {
  // We hold the live list's reference, inherited from close_and_pop().
  if (t->transition_to_notified_and_cancel() == TaskHeader::Wake::kSubmit) {
    t->unref();  // nobody will run it: drop the run-queue reference the transition took
  }
  if (t->claim_for_cancel()) {
    cancel_task(t);  // its final unref is the list's reference, standing in for the queue's
  } else {
    t->unref();
  }
}
}  // namespace weft::detail

namespace weft::detail {
void shutdown_queued_task(TaskHeader* t) {
  if (t->unlisted && t->claim_for_cancel()) {
    cancel_task(t);  // drops the queue's reference
  } else {
    t->unref();
  }
}

void cancel_now(TaskHeader* t) {
  if (!t->claim_for_cancel()) return;
  t->ref();  // stands in for the run-queue reference that cancel_task drops
  cancel_task(t);
}
}  // namespace weft::detail
