// Linked into every binary of a ThreadSanitizer build (ZARC_SANITIZE=thread), and only there.
//
// Debian's Abseil is not built with -fsanitize=thread, so ThreadSanitizer cannot see what
// absl::Mutex, absl::CondVar and absl::Notification synchronise (their atomics and futex waits
// are in uninstrumented code): two threads that touch a field only while holding its absl::Mutex
// are reported as a data race. Abseil built with TSan annotates these calls itself
// (ABSL_TSAN_MUTEX_*); this file does the same from outside. It defines the entry points zarc and
// its libraries call, each telling TSan what the call does (a lock acquires, an unlock
// releases, a wait releases and then acquires again) around the library's own function, found
// with dlsym(RTLD_NEXT). The executable's definitions take precedence over the shared library's
// for every caller, Abseil's own calls between its functions included.
//
// Only happens-before is modelled (__tsan_acquire / __tsan_release on the mutex's address), not
// lock ownership: TSan finds races on state guarded by these locks, but reports no lock-order
// inversions for them. A reader lock is modelled as a full lock, which can hide a race between two
// readers that write (they must not write under a reader lock anyway).
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/base/options.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

#define ZARC_STRINGIFY_INNER(x) #x
#define ZARC_STRINGIFY(x) ZARC_STRINGIFY_INNER(x)

// The library's definition of a function, by its mangled name with "@" for the inline namespace
// (e.g. "_ZN4absl@5Mutex4LockEv" for absl::Mutex::Lock()).
template <typename F>
F Real(const std::string& mangled) {
  const std::string ns = ZARC_STRINGIFY(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  std::string name = mangled;
  name.replace(name.find('@'), 1, std::to_string(ns.size()) + ns);
  void* f = dlsym(RTLD_NEXT, name.c_str());
  if (f == nullptr) {
    std::fprintf(stderr, "tsan annotations: %s not found in Abseil: %s\n", name.c_str(), dlerror());
    std::abort();
  }
  return reinterpret_cast<F>(f);
}

template <typename R, typename... Args>
using Fn = R (*)(Args...);

void Acquired(const void* mu) { __tsan_acquire(const_cast<void*>(mu)); }
void Releasing(const void* mu) { __tsan_release(const_cast<void*>(mu)); }

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  static const auto real = Real<Fn<void, Mutex*>>("_ZN4absl@5Mutex4LockEv");
  real(this);
  Acquired(this);
}

void Mutex::ReaderLock() {
  static const auto real = Real<Fn<void, Mutex*>>("_ZN4absl@5Mutex10ReaderLockEv");
  real(this);
  Acquired(this);
}

bool Mutex::TryLock() {
  static const auto real = Real<Fn<bool, Mutex*>>("_ZN4absl@5Mutex7TryLockEv");
  const bool locked = real(this);
  if (locked) Acquired(this);
  return locked;
}

bool Mutex::ReaderTryLock() {
  static const auto real = Real<Fn<bool, Mutex*>>("_ZN4absl@5Mutex13ReaderTryLockEv");
  const bool locked = real(this);
  if (locked) Acquired(this);
  return locked;
}

void Mutex::Unlock() {
  static const auto real = Real<Fn<void, Mutex*>>("_ZN4absl@5Mutex6UnlockEv");
  Releasing(this);
  real(this);
}

void Mutex::ReaderUnlock() {
  static const auto real = Real<Fn<void, Mutex*>>("_ZN4absl@5Mutex12ReaderUnlockEv");
  Releasing(this);
  real(this);
}

void Mutex::LockWhen(const Condition& cond) {
  static const auto real = Real<Fn<void, Mutex*, const Condition&>>("_ZN4absl@5Mutex8LockWhenERKNS0_9ConditionE");
  real(this, cond);
  Acquired(this);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  static const auto real =
      Real<Fn<void, Mutex*, const Condition&>>("_ZN4absl@5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  real(this, cond);
  Acquired(this);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  static const auto real = Real<Fn<bool, Mutex*, const Condition&, Duration>>("_ZN4absl@5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  const bool met = real(this, cond, timeout);
  Acquired(this);  // held on return either way
  return met;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  static const auto real = Real<Fn<bool, Mutex*, const Condition&, Time>>("_ZN4absl@5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  const bool met = real(this, cond, deadline);
  Acquired(this);
  return met;
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, Duration timeout) {
  static const auto real = Real<Fn<bool, Mutex*, const Condition&, Duration>>("_ZN4absl@5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  const bool met = real(this, cond, timeout);
  Acquired(this);
  return met;
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, Time deadline) {
  static const auto real = Real<Fn<bool, Mutex*, const Condition&, Time>>("_ZN4absl@5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  const bool met = real(this, cond, deadline);
  Acquired(this);
  return met;
}

// The waits release the mutex and hold it again on return.
void Mutex::Await(const Condition& cond) {
  static const auto real = Real<Fn<void, Mutex*, const Condition&>>("_ZN4absl@5Mutex5AwaitERKNS0_9ConditionE");
  Releasing(this);
  real(this, cond);
  Acquired(this);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  static const auto real = Real<Fn<bool, Mutex*, const Condition&, Duration>>("_ZN4absl@5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  Releasing(this);
  const bool met = real(this, cond, timeout);
  Acquired(this);
  return met;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  static const auto real = Real<Fn<bool, Mutex*, const Condition&, Time>>("_ZN4absl@5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  Releasing(this);
  const bool met = real(this, cond, deadline);
  Acquired(this);
  return met;
}

void CondVar::Wait(Mutex* mu) {
  static const auto real = Real<Fn<void, CondVar*, Mutex*>>("_ZN4absl@7CondVar4WaitEPNS0_5MutexE");
  Releasing(mu);
  real(this, mu);
  Acquired(mu);
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  static const auto real = Real<Fn<bool, CondVar*, Mutex*, Duration>>("_ZN4absl@7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  Releasing(mu);
  const bool timed_out = real(this, mu, timeout);
  Acquired(mu);
  return timed_out;
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  static const auto real = Real<Fn<bool, CondVar*, Mutex*, Time>>("_ZN4absl@7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  Releasing(mu);
  const bool timed_out = real(this, mu, deadline);
  Acquired(mu);
  return timed_out;
}

// Notify() releases what the notifier did; a wait that saw the notification acquires it.
void Notification::Notify() {
  static const auto real = Real<Fn<void, Notification*>>("_ZN4absl@12Notification6NotifyEv");
  Releasing(this);
  real(this);
}

void Notification::WaitForNotification() const {
  static const auto real =
      Real<Fn<void, const Notification*>>("_ZNK4absl@12Notification19WaitForNotificationEv");
  real(this);
  Acquired(this);
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  static const auto real = Real<Fn<bool, const Notification*, Duration>>("_ZNK4absl@12Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  const bool notified = real(this, timeout);
  if (notified) Acquired(this);
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  static const auto real = Real<Fn<bool, const Notification*, Time>>("_ZNK4absl@12Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  const bool notified = real(this, deadline);
  if (notified) Acquired(this);
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
