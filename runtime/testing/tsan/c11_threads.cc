// Linked into every binary of a ThreadSanitizer build (ZARC_SANITIZE=thread), and only there.
//
// librdkafka uses C11 threads: thrd_create(), mtx_*(), cnd_*(). glibc implements them by calling
// its internal pthread functions directly, and GCC 12's ThreadSanitizer intercepts the pthread
// functions but none of the C11 ones. Two consequences:
//  - librdkafka's threads run without TSan's per-thread state: the first call such a thread makes
//    into an intercepted function (getaddrinfo, malloc) crashes inside TSan's allocator (a SEGV in
//    SizeClassAllocator64LocalCache::Allocate, from a broker thread resolving its bootstrap host);
//  - TSan does not see librdkafka's locks, and reports memory that librdkafka hands between its
//    threads under them (calloc in rd_kafka_new, free on a broker thread) as a data race.
// These definitions take precedence over glibc's and do what glibc does, through the pthread
// functions TSan intercepts: thrd_t is pthread_t, mtx_t and cnd_t hold a pthread_mutex_t and a
// pthread_cond_t, and a C11 start function's int result travels as the thread's void* result.
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <threads.h>
#include <time.h>

namespace {

struct Start {
  thrd_start_t func;
  void* arg;
};

void* RunC11Thread(void* start) {
  const Start s = *static_cast<Start*>(start);
  delete static_cast<Start*>(start);
  return reinterpret_cast<void*>(static_cast<intptr_t>(s.func(s.arg)));
}

pthread_mutex_t* Mutex(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* Cond(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }

int Result(int err) {
  switch (err) {
    case 0: return thrd_success;
    case EBUSY: return thrd_busy;
    case ETIMEDOUT: return thrd_timedout;
    case ENOMEM: return thrd_nomem;
    default: return thrd_error;
  }
}

}  // namespace

extern "C" {

int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  auto* start = new Start{func, arg};
  const int err = pthread_create(thr, nullptr, &RunC11Thread, start);
  if (err != 0) delete start;
  return Result(err);
}

int thrd_join(thrd_t thr, int* res) {
  void* result = nullptr;
  const int err = pthread_join(thr, &result);
  if (err == 0 && res != nullptr) *res = static_cast<int>(reinterpret_cast<intptr_t>(result));
  return Result(err);
}

int thrd_detach(thrd_t thr) { return Result(pthread_detach(thr)); }

int mtx_init(mtx_t* m, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if (type & mtx_recursive) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  const int err = pthread_mutex_init(Mutex(m), &attr);
  pthread_mutexattr_destroy(&attr);
  return Result(err);
}

int mtx_lock(mtx_t* m) { return Result(pthread_mutex_lock(Mutex(m))); }
int mtx_trylock(mtx_t* m) { return Result(pthread_mutex_trylock(Mutex(m))); }
int mtx_timedlock(mtx_t* __restrict m, const struct timespec* __restrict at) {
  return Result(pthread_mutex_timedlock(Mutex(m), at));
}
int mtx_unlock(mtx_t* m) { return Result(pthread_mutex_unlock(Mutex(m))); }
void mtx_destroy(mtx_t* m) { pthread_mutex_destroy(Mutex(m)); }

int cnd_init(cnd_t* c) { return Result(pthread_cond_init(Cond(c), nullptr)); }
int cnd_signal(cnd_t* c) { return Result(pthread_cond_signal(Cond(c))); }
int cnd_broadcast(cnd_t* c) { return Result(pthread_cond_broadcast(Cond(c))); }
int cnd_wait(cnd_t* c, mtx_t* m) { return Result(pthread_cond_wait(Cond(c), Mutex(m))); }
int cnd_timedwait(cnd_t* __restrict c, mtx_t* __restrict m, const struct timespec* __restrict at) {
  return Result(pthread_cond_timedwait(Cond(c), Mutex(m), at));
}
void cnd_destroy(cnd_t* c) { pthread_cond_destroy(Cond(c)); }

}  // extern "C"
