// What the annotations are for: state guarded by absl::Mutex, handed over through a CondVar or a
// Notification. In a ThreadSanitizer build without them, each of these tests is reported as a
// data race (Debian's Abseil is not instrumented) and fails; in every build the values must add up.
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace {

constexpr int kRounds = 20000;

TEST(AbslSynchronizationUnderTsanTest, AMutexGuardedCounterIsNotARace) {
  absl::Mutex mu;
  int counter = 0;
  auto add = [&] {
    for (int i = 0; i < kRounds; ++i) {
      absl::MutexLock lock(&mu);
      ++counter;
    }
  };
  std::thread other(add);
  add();
  other.join();
  EXPECT_EQ(counter, 2 * kRounds);
}

TEST(AbslSynchronizationUnderTsanTest, AwaitAndCondVarHandOverWhatWasWrittenBefore) {
  absl::Mutex mu;
  absl::CondVar changed;
  bool stopped = false;
  bool ready = false;
  int written_before = 0;
  std::thread waiter([&] {
    absl::MutexLock lock(&mu);
    mu.AwaitWithTimeout(absl::Condition(&stopped), absl::Seconds(30));
    written_before += stopped ? 1 : 100;
    ready = true;
    changed.Signal();
  });
  {
    absl::MutexLock lock(&mu);
    stopped = true;
  }
  {
    absl::MutexLock lock(&mu);
    while (!ready) changed.Wait(&mu);
    EXPECT_EQ(written_before, 1);
  }
  waiter.join();
}

TEST(AbslSynchronizationUnderTsanTest, ANotificationHandsOverWhatWasWrittenBefore) {
  absl::Notification done;
  int written_before = 0;
  std::thread notifier([&] {
    written_before = 42;
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(written_before, 42);
  notifier.join();
}

}  // namespace
