/* fork.c: fork() while other threads allocate and free.
 *
 * WORKERS threads allocate, trade (through a shared table) and free blocks
 * without pause. Meanwhile the main thread and a second forking thread fork
 * FORKS children in all. Each child at once allocates and frees blocks of every
 * size range, checks calloc, frees a block a parent worker allocated (its owner
 * thread does not exist in the child), allocates from a new thread, and exits
 * through exit() (so atexit and stdio teardown run too). A child that finds an
 * allocator lock still held hangs: its alarm kills it and the parent reports it.
 *
 * One source, two builds (testapi.h). Usage: fork [FORKS [WORKERS]] (defaults 200 4)
 */
#include "testlib.h"
#include "leak_account.h"
#include "testapi.h"

#include <pthread.h>
#include <stdatomic.h>

#define TABLE_SLOTS 256
#define MAX_WORKERS 64
/* Seconds a child may take; an allocator deadlocked after fork exceeds it. */
#define CHILD_TIMEOUT_S 5
#define BLOCK_KEY 0x3C3C3C3C5A5A5A5Aull

static _Atomic(uintptr_t) table[TABLE_SLOTS];
static atomic_bool stop;
static atomic_long corrupted;

/* A block: word 0 holds its size (keyed), the rest a pattern seeded by the size. */
static void* block_new(size_t size) {
  void* p = T_malloc(size);
  if (p == NULL) return NULL;
  uint64_t word0 = size ^ BLOCK_KEY;
  memcpy(p, &word0, 8);
  size_t body = size - 8 > 4096 ? 4096 : size - 8;
  pattern_fill((char*)p + 8, body, size);
  return p;
}

static bool block_ok(const void* p) {
  uint64_t word0;
  memcpy(&word0, p, 8);
  size_t size = word0 ^ BLOCK_KEY;
  if (size < 16 || size > 64 * MiB) return false;
  size_t body = size - 8 > 4096 ? 4096 : size - 8;
  return pattern_check((const char*)p + 8, body, size) == SIZE_MAX;
}

static size_t worker_size(uint64_t* rng) {
  uint64_t r = rng_next(rng) % 1000;
  if (r == 0) return rng_range(rng, 1 * MiB, 8 * MiB);
  if (r < 20) return rng_range(rng, 4 * KiB, 100 * KiB);
  return rng_range(rng, 16, 512);
}

static void* worker_main(void* arg) {
  uint64_t rng = (uint64_t)(uintptr_t)arg * 977 + 3;
  void* own[64] = {0};
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    size_t i = rng_next(&rng) % 64;
    if (own[i] != NULL) {
      if (!block_ok(own[i])) atomic_fetch_add(&corrupted, 1);
      T_free(own[i]);
    }
    own[i] = block_new(worker_size(&rng));
    if (rng_one_in(&rng, 4) && own[i] != NULL) {
      uintptr_t got = atomic_exchange(&table[rng_next(&rng) % TABLE_SLOTS], (uintptr_t)own[i]);
      own[i] = NULL;
      if (got != 0) {
        if (!block_ok((void*)got)) atomic_fetch_add(&corrupted, 1);
        T_free((void*)got);
      }
    }
  }
  for (size_t i = 0; i < 64; i++) {
    if (own[i] != NULL && !block_ok(own[i])) atomic_fetch_add(&corrupted, 1);
    T_free(own[i]);
  }
  return NULL;
}

/* ---- The child ---------------------------------------------------------------- */

static void* child_thread(void* arg) {
  (void)arg;
  for (int i = 0; i < 1000; i++) {
    void* p = block_new(16 + (size_t)i % 700);
    if (p == NULL || !block_ok(p)) return (void*)1;
    T_free(p);
  }
  return NULL;
}

/* Returns the child's exit status: 0 when everything worked. */
static int child_main(void) {
  alarm(CHILD_TIMEOUT_S);
  static const size_t sizes[] = {16, 100, 1000, 20000, 100000, 1 * MiB, 5 * MiB, 40 * MiB};
  void* blocks[sizeof sizes / sizeof sizes[0]];
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    blocks[i] = block_new(sizes[i]);
    if (blocks[i] == NULL) return 10;
    if (sizes[i] > 8 + 4096) ((char*)blocks[i])[sizes[i] - 1] = 1; /* past the pattern */
  }
  unsigned char* z = T_calloc(1000, 10);
  if (z == NULL || first_nonzero(z, 10000) != SIZE_MAX) return 11;
  T_free(z);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    if (!block_ok(blocks[i])) return 12;
    T_free(blocks[i]);
  }
  /* A block from a parent's worker thread, which does not exist here. */
  for (size_t s = 0; s < TABLE_SLOTS; s++) {
    uintptr_t got = atomic_exchange(&table[s], 0);
    if (got != 0) {
      if (!block_ok((void*)got)) return 13;
      T_free((void*)got);
      break;
    }
  }
  pthread_t t;
  void* result = (void*)1;
  if (pthread_create(&t, NULL, child_thread, NULL) != 0) return 14;
  pthread_join(t, &result);
  if (result != NULL) return 15;
  return 0;
}

/* ---- The forkers -------------------------------------------------------------- */

typedef struct {
  unsigned forks;
  unsigned failed;
  char first_failure[160];
} forker_t;

static void fork_many(forker_t* f) {
  /* Stop after a few failures: each hung child costs CHILD_TIMEOUT_S. */
  for (unsigned i = 0; i < f->forks && f->failed < 3; i++) {
    pid_t pid = fork();
    if (pid < 0) {
      f->failed++;
      snprintf(f->first_failure, sizeof f->first_failure, "fork: %s", strerror(errno));
      continue;
    }
    if (pid == 0) exit(child_main());
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      if (f->failed++ == 0) {
        if (WIFSIGNALED(status)) {
          snprintf(f->first_failure, sizeof f->first_failure, "child %u killed by signal %d%s", i,
                   WTERMSIG(status),
                   WTERMSIG(status) == SIGALRM ? " (hung: a lock held across fork?)" : "");
        } else {
          snprintf(f->first_failure, sizeof f->first_failure, "child %u exited with %d", i,
                   WEXITSTATUS(status));
        }
      }
    }
  }
}

static void* forker_thread(void* arg) {
  fork_many(arg);
  return NULL;
}

int main(int argc, char** argv) {
  unsigned forks = argc > 1 ? (unsigned)atoi(argv[1]) : 200;
  unsigned workers = argc > 2 ? (unsigned)atoi(argv[2]) : 4;
  if (workers > MAX_WORKERS) workers = MAX_WORKERS;
  tap_diag("fork through the %s: %u forks while %u threads allocate", T_API_NAME, forks, workers);

  leak_account_t account = leak_account_start();
  pthread_t tids[MAX_WORKERS];
  for (unsigned i = 0; i < workers; i++) {
    if (pthread_create(&tids[i], NULL, worker_main, (void*)(uintptr_t)(i + 1)) != 0) {
      tap_diag("pthread_create failed");
      return 1;
    }
  }
  /* Half the forks from the main thread, half from another thread, at once. */
  forker_t from_main = {forks - forks / 2, 0, ""};
  forker_t from_thread = {forks / 2, 0, ""};
  pthread_t forker;
  bool forker_ok = pthread_create(&forker, NULL, forker_thread, &from_thread) == 0;
  fork_many(&from_main);
  if (forker_ok) pthread_join(forker, NULL);
  atomic_store(&stop, true);
  for (unsigned i = 0; i < workers; i++) pthread_join(tids[i], NULL);
  for (size_t s = 0; s < TABLE_SLOTS; s++) {
    uintptr_t got = atomic_exchange(&table[s], 0);
    if (got != 0) {
      if (!block_ok((void*)got)) atomic_fetch_add(&corrupted, 1);
      T_free((void*)got);
    }
  }

  if (from_main.failed) tap_diag("main thread: %s", from_main.first_failure);
  tap_result(from_main.failed == 0,
             "children forked by the main thread allocate, free and exit 0");
  if (!forker_ok) tap_diag("could not start the forking thread");
  if (from_thread.failed) tap_diag("second thread: %s", from_thread.first_failure);
  tap_result(forker_ok && from_thread.failed == 0,
             "children forked by a second thread allocate, free and exit 0");
  long bad = atomic_load(&corrupted);
  if (bad) tap_diag("%ld blocks corrupted", bad);
  tap_result(bad == 0, "the parent's blocks stay intact across the forks");
  leak_account_check(&account, "fork, in the parent");
  return tap_exit_status();
}
