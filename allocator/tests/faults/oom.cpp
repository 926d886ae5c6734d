// oom.cpp: out of memory under RLIMIT_AS or RLIMIT_DATA, through every entry point.
//
// The program sets its own limit (the current size plus HEADROOM) and then:
//   1. fills the headroom with 1 KiB blocks, then 16-byte blocks, until malloc
//      returns NULL (with ENOMEM);
//   2. calls every entry point -- malloc, calloc, realloc (growing), reallocarray,
//      posix_memalign, aligned_alloc, memalign, valloc, pvalloc, operator new in
//      its plain, array and aligned forms (std::bad_alloc) and nothrow forms (NULL)
//      -- with the exhausted size and with a size that cannot fit, in the main
//      thread and in other threads (one of which allocates for the first time
//      only now): each must fail cleanly, with ENOMEM where errno applies;
//   3. checks that every block allocated before (a checksummed data set) and the
//      block a failed realloc was asked to grow are intact;
//   4. frees the 1 KiB blocks and checks that allocation succeeds again -- for
//      other size classes than the one freed (16 bytes, 32 KiB, 1 MiB, 8 MiB),
//      through every entry point, in every thread;
//   5. fills the limit a second time: about as much fits again (nothing leaked).
// Run with libshardalloc.so preloaded (a plain program: without preload it tests
// the C library's allocator). Usage: oom as|data   (TAP on stdout)
#include <malloc.h>
#include <pthread.h>
#include <sys/resource.h>

#include <new>

#include "testlib.h"

static const size_t HEADROOM = 64 * MiB;
// More than can be left once the headroom is full.
static const size_t IMPOSSIBLE = 40 * MiB;
static const int WORKERS = 4;

// ---- reading our own size -------------------------------------------------------

// A field of /proc/self/status in bytes (VmSize, VmData), read without allocating.
static size_t status_bytes(const char* field) {
  char buf[4096];
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* at = strstr(buf, field);
  if (at == NULL) return 0;
  at += strlen(field);
  while (*at == ':' || *at == ' ' || *at == '\t') at++;
  return (size_t)strtoull(at, NULL, 10) * 1024;
}

// ---- blocks kept in a chain through their first word ------------------------------

struct Chain {
  void* head = nullptr;
  size_t count = 0;
};

// Allocates blocks of `size` into the chain until malloc fails; returns whether the
// failure came with errno ENOMEM.
static bool fill(Chain* chain, size_t size) {
  for (;;) {
    errno = 0;
    void* p = malloc(opaque(size));
    if (p == nullptr) return errno == ENOMEM;
    *(void**)p = chain->head;
    chain->head = p;
    chain->count++;
  }
}

static void release(Chain* chain) {
  while (chain->head != nullptr) {
    void* next = *(void**)chain->head;
    free(chain->head);
    chain->head = next;
  }
  chain->count = 0;
}

// ---- the entry points -------------------------------------------------------------

struct Failures {
  int count = 0;
  char first[200] = "";
  void add(const char* who, const char* what) {
    if (count++ == 0) snprintf(first, sizeof first, "%s: %s", who, what);
  }
};

#define EXPECT_NULL_ENOMEM(call, what)                                    \
  do {                                                                    \
    errno = 0;                                                            \
    void* p_ = (call);                                                    \
    int err_ = errno;                                                     \
    if (p_ != nullptr) {                                                  \
      f->add(who, what " returned a block");                              \
      free(p_);                                                           \
    } else if (err_ != ENOMEM) {                                          \
      f->add(who, what " failed without ENOMEM");                         \
    }                                                                     \
  } while (0)

// The block of a failed check is given back with the plain delete whatever new made it
// (array, aligned): shardalloc frees every form alike, and the check failed already.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

template <typename Fn>
static void expect_bad_alloc(Failures* f, const char* who, const char* what, Fn fn) {
  try {
    void* p = fn();
    f->add(who, what);  // no exception: it returned memory
    ::operator delete(p);
  } catch (const std::bad_alloc&) {
  }
}

static void expect_nothrow_null(Failures* f, const char* who, const char* what, void* p) {
  if (p != nullptr) {
    f->add(who, what);
    ::operator delete(p);
  }
}

// Every entry point with a size that cannot fit; with `small` also with the size
// whose class the caller has exhausted (16 bytes). `grow` is a live block that a
// failing realloc must leave alone.
static void check_exhausted(Failures* f, const char* who, bool small, void* grow) {
  size_t big = opaque(IMPOSSIBLE);
  EXPECT_NULL_ENOMEM(malloc(big), "malloc(40 MiB)");
  EXPECT_NULL_ENOMEM(calloc(big / 16, 16), "calloc(40 MiB)");
  EXPECT_NULL_ENOMEM(reallocarray(nullptr, big / 8, 8), "reallocarray(NULL, 40 MiB)");
  if (grow != nullptr) EXPECT_NULL_ENOMEM(realloc(grow, big), "realloc growing to 40 MiB");
  void* out = (void*)&out;
  int rc = posix_memalign(&out, 64, big);
  if (rc != ENOMEM) f->add(who, "posix_memalign(64, 40 MiB) did not return ENOMEM");
  if (out != (void*)&out) f->add(who, "posix_memalign changed *p on failure");
  EXPECT_NULL_ENOMEM(aligned_alloc(4096, big), "aligned_alloc(4096, 40 MiB)");
  EXPECT_NULL_ENOMEM(memalign(256, big), "memalign(256, 40 MiB)");
  EXPECT_NULL_ENOMEM(valloc(big), "valloc(40 MiB)");
  EXPECT_NULL_ENOMEM(pvalloc(big), "pvalloc(40 MiB)");
  expect_bad_alloc(f, who, "operator new(40 MiB) did not throw", [&] { return ::operator new(big); });
  expect_bad_alloc(f, who, "new char[40 MiB] did not throw", [&] { return (void*)new char[big]; });
  expect_bad_alloc(f, who, "aligned operator new(40 MiB, 64) did not throw",
                   [&] { return ::operator new(big, std::align_val_t(64)); });
  expect_nothrow_null(f, who, "new(nothrow)(40 MiB) returned a block",
                      ::operator new(big, std::nothrow));
  expect_nothrow_null(f, who, "new(nothrow) char[40 MiB] returned a block",
                      new (std::nothrow) char[big]);
  expect_nothrow_null(f, who, "aligned new(nothrow)(40 MiB, 128) returned a block",
                      ::operator new(big, std::align_val_t(128), std::nothrow));
  if (!small) return;
  size_t s = opaque(16);
  EXPECT_NULL_ENOMEM(malloc(s), "malloc(16)");
  EXPECT_NULL_ENOMEM(calloc(1, s), "calloc(1, 16)");
  EXPECT_NULL_ENOMEM(realloc(nullptr, s), "realloc(NULL, 16)");
  out = (void*)&out;
  rc = posix_memalign(&out, 16, s);
  if (rc != ENOMEM) f->add(who, "posix_memalign(16, 16) did not return ENOMEM");
  if (out != (void*)&out) f->add(who, "posix_memalign(16, 16) changed *p on failure");
  EXPECT_NULL_ENOMEM(aligned_alloc(16, s), "aligned_alloc(16, 16)");
  EXPECT_NULL_ENOMEM(memalign(16, s), "memalign(16, 16)");
  expect_bad_alloc(f, who, "operator new(16) did not throw", [&] { return ::operator new(s); });
  expect_nothrow_null(f, who, "new(nothrow)(16) returned a block", ::operator new(s, std::nothrow));
}

// Every entry point again, with sizes of several classes: all must succeed now.
// Each block is written and freed at once (together they would not fit).
static void check_recovered(Failures* f, const char* who) {
  static const size_t sizes[] = {16, 32 * KiB, 1 * MiB, 8 * MiB};
  static const char* const names[] = {"malloc", "calloc", "realloc(NULL)", "posix_memalign",
                                      "aligned_alloc", "memalign", "valloc", "pvalloc",
                                      "operator new", "new(nothrow)"};
  for (size_t size : sizes) {
    size_t n = opaque(size);
    for (int entry = 0; entry < 10; entry++) {
      void* p = nullptr;
      switch (entry) {
        case 0: p = malloc(n); break;
        case 1: p = calloc(1, n); break;
        case 2: p = realloc(nullptr, n); break;
        case 3: if (posix_memalign(&p, 64, n) != 0) p = nullptr; break;
        case 4: p = aligned_alloc(4096, n); break;
        case 5: p = memalign(256, n); break;
        case 6: p = valloc(n); break;
        case 7: p = pvalloc(n); break;
        case 8:
          try {
            p = ::operator new(n);
          } catch (const std::bad_alloc&) {
            p = nullptr;
          }
          break;
        default: p = ::operator new(n, std::nothrow); break;
      }
      if (p == nullptr) {
        char what[96];
        snprintf(what, sizeof what, "%s(%zu bytes) failed after memory was freed", names[entry], size);
        f->add(who, what);
        continue;
      }
      memset(p, 0x5C, n);
      if (entry >= 8) ::operator delete(p);
      else free(p);
    }
  }
}

// ---- worker threads -----------------------------------------------------------------

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int phase;     // 0 setup, 1 exhausted, 2 recovered, 3 done
static int reported;  // workers that finished the current phase
static int turn;      // phase 2: the worker whose turn it is (one at a time)
static Failures worker_failures[WORKERS + 1];
static int fresh_first_alloc;  // 1 got a block, 0 NULL with ENOMEM, -1 NULL without

static void wait_phase(int want) {
  pthread_mutex_lock(&lock);
  while (phase < want) pthread_cond_wait(&changed, &lock);
  pthread_mutex_unlock(&lock);
}

static void report_done(void) {
  pthread_mutex_lock(&lock);
  reported++;
  pthread_cond_broadcast(&changed);
  pthread_mutex_unlock(&lock);
}

static void set_phase_and_wait(int next, int workers) {
  pthread_mutex_lock(&lock);
  reported = 0;
  phase = next;
  pthread_cond_broadcast(&changed);
  while (reported < workers) pthread_cond_wait(&changed, &lock);
  pthread_mutex_unlock(&lock);
}

static void* worker_main(void* arg) {
  int index = (int)(intptr_t)arg;
  bool fresh = index == WORKERS;  // allocates nothing before the limit
  char who[32];
  snprintf(who, sizeof who, fresh ? "fresh thread" : "thread %d", index);
  Failures* f = &worker_failures[index];
  Chain mine;
  void* grow = nullptr;
  if (!fresh) {
    grow = malloc(opaque(200));
    memset(grow, 0x33, 200);
    for (int i = 0; i < 100; i++) {
      void* p = malloc(opaque(16));
      *(void**)p = mine.head;
      mine.head = p;
      mine.count++;
    }
  }
  report_done();
  wait_phase(1);
  if (fresh) {
    errno = 0;
    void* p = malloc(opaque(16));
    fresh_first_alloc = p != nullptr ? 1 : errno == ENOMEM ? 0 : -1;
    free(p);
    check_exhausted(f, who, false, nullptr);
  } else {
    if (!fill(&mine, 16)) f->add(who, "malloc(16) failed without ENOMEM");
    check_exhausted(f, who, true, grow);
    unsigned char* g = (unsigned char*)grow;
    for (int i = 0; i < 200; i++) {
      if (g[i] != 0x33) {
        f->add(who, "the block a failed realloc had to grow was changed");
        break;
      }
    }
  }
  report_done();
  wait_phase(2);
  // One thread at a time, each after the one before has exited: what was freed
  // need not fit all of them at once, and a live thread keeps a few empty segments
  // of its own for reuse (released when it exits).
  pthread_mutex_lock(&lock);
  while (turn != index) pthread_cond_wait(&changed, &lock);
  pthread_mutex_unlock(&lock);
  check_recovered(f, who);
  release(&mine);
  free(grow);
  report_done();
  return nullptr;
}

// ---- main ------------------------------------------------------------------------------

struct DataBlock {
  unsigned char* p;
  size_t size;
};

static bool data_intact(const DataBlock* data, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (pattern_check(data[i].p, data[i].size, i + 1) != SIZE_MAX) {
      tap_diag("data block %zu (%zu bytes) changed", i, data[i].size);
      return false;
    }
  }
  return true;
}

static void report(const Failures& f, const char* check) {
  if (f.count) tap_diag("%d failures; first: %s", f.count, f.first);
  tap_result(f.count == 0, check);
}

int main(int argc, char** argv) {
  bool data_limit = argc > 1 && strcmp(argv[1], "data") == 0;
  const char* limit_name = data_limit ? "RLIMIT_DATA" : "RLIMIT_AS";
  tap_diag("out of memory under %s (headroom %zu MiB)", limit_name, HEADROOM / MiB);

  pthread_t threads[WORKERS + 1];
  for (int i = 0; i <= WORKERS; i++) {
    if (pthread_create(&threads[i], nullptr, worker_main, (void*)(intptr_t)i) != 0) {
      tap_diag("pthread_create failed");
      return 1;
    }
  }
  pthread_mutex_lock(&lock);
  while (reported < WORKERS + 1) pthread_cond_wait(&changed, &lock);
  pthread_mutex_unlock(&lock);

  // The data that must survive: mixed sizes, each with its own pattern.
  static DataBlock data[300];
  uint64_t rng = 12345;
  for (size_t i = 0; i < 300; i++) {
    size_t size = i == 0 ? 5 * MiB : i < 3 ? 1 * MiB : i % 10 == 0 ? rng_range(&rng, 4 * KiB, 100 * KiB)
                                                                  : rng_range(&rng, 1, 2000);
    data[i].size = size;
    data[i].p = (unsigned char*)malloc(size);
    if (data[i].p == nullptr) {
      tap_diag("setup allocation failed");
      return 1;
    }
    pattern_fill(data[i].p, size, i + 1);
  }
  unsigned char* grow = (unsigned char*)malloc(opaque(100));
  memset(grow, 0x77, 100);

  struct rlimit rl;
  size_t now = status_bytes(data_limit ? "VmData" : "VmSize");
  rl.rlim_cur = rl.rlim_max = now + HEADROOM;
  if (now == 0 || setrlimit(data_limit ? RLIMIT_DATA : RLIMIT_AS, &rl) != 0) {
    tap_diag("cannot set %s: %s", limit_name, strerror(errno));
    return 1;
  }

  // 1. Exhaust.
  Chain kib, tiny;
  bool enomem = fill(&kib, 1024);
  enomem = fill(&tiny, 16) && enomem;
  size_t first_kib = kib.count * 1024;
  size_t filled = first_kib + tiny.count * 16;
  tap_diag("filled %zu x 1 KiB and %zu x 16 bytes (%zu MiB) before malloc failed", kib.count,
           tiny.count, filled / MiB);
  if (filled > 4 * HEADROOM) {
    tap_skip("malloc returns NULL with ENOMEM at the limit", "the limit does not bind here");
    return tap_exit_status();
  }
  tap_result(enomem && filled >= HEADROOM / 4,
             "malloc returns NULL with ENOMEM once the limit is reached");

  // 2. Every entry point fails cleanly, here and in other threads.
  Failures main_failures;
  check_exhausted(&main_failures, "main thread", true, grow);
  report(main_failures, "every entry point fails cleanly in the main thread "
                        "(NULL and ENOMEM, bad_alloc, nothrow NULL)");
  set_phase_and_wait(1, WORKERS + 1);
  Failures others;
  for (int i = 0; i <= WORKERS; i++) {
    if (worker_failures[i].count) others = worker_failures[i];
  }
  report(others, "every entry point fails cleanly in other threads");
  if (fresh_first_alloc < 0) tap_diag("the fresh thread's first malloc failed without ENOMEM");
  tap_result(fresh_first_alloc >= 0,
             "a thread's first allocation under the limit succeeds or fails with ENOMEM");

  // 3. Nothing already allocated was touched.
  bool grow_ok = true;
  for (int i = 0; i < 100; i++) grow_ok = grow_ok && grow[i] == 0x77;
  tap_result(data_intact(data, 300) && grow_ok,
             "data allocated before is intact, and so is the block realloc could not grow");

  // 4. Free the 1 KiB blocks: other classes must work again, in every thread.
  release(&kib);
  Failures again;
  check_recovered(&again, "main thread");
  void* grown = realloc(grow, opaque(1 * MiB));
  if (grown == nullptr) {
    again.add("main thread", "realloc growing to 1 MiB failed after memory was freed");
  } else {
    grow = (unsigned char*)grown;
    for (int i = 0; i < 100; i++) {
      if (grow[i] != 0x77) {
        again.add("main thread", "realloc lost the contents");
        break;
      }
    }
  }
  report(again, "after freeing 1 KiB blocks, allocation succeeds again in the main thread "
                "(16 B, 32 KiB, 1 MiB, 8 MiB; every entry point)");
  for (int i = 0; i <= WORKERS; i++) worker_failures[i] = Failures();
  pthread_mutex_lock(&lock);
  phase = 2;
  pthread_mutex_unlock(&lock);
  for (int i = 0; i <= WORKERS; i++) {
    pthread_mutex_lock(&lock);
    turn = i;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    pthread_join(threads[i], nullptr);
  }
  others = Failures();
  for (int i = 0; i <= WORKERS; i++) {
    if (worker_failures[i].count) others = worker_failures[i];
  }
  report(others, "after freeing, allocation succeeds again in other threads");

  // 5. A second fill reaches about as far: the failures leaked nothing.
  release(&tiny);
  free(grow);
  Chain second;
  bool enomem2 = fill(&second, 1024);
  size_t filled2 = second.count * 1024;
  tap_diag("second fill: %zu MiB", filled2 / MiB);
  tap_result(enomem2 && filled2 + 8 * MiB >= first_kib,
             "a second fill gets as far as the first (nothing leaked by the failures)");
  release(&second);
  tap_result(data_intact(data, 300), "data allocated before is still intact at the end");
  for (size_t i = 0; i < 300; i++) free(data[i].p);
  return tap_exit_status();
}
