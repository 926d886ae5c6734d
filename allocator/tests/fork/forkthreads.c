/* forkthreads.c: threads in a fork child free blocks of parent threads that do not
 * exist there (issue 9, item 7). Thread ids are thread-control-block addresses, and
 * glibc hands a child's new threads the stacks (and so the addresses) of the parent
 * threads that vanished in the fork: a new thread can then look like the owner of a
 * dead thread's pages.
 *
 * The parent runs WORKERS threads that allocate blocks of every size into a table and
 * then keep handing small blocks to each other (remote frees, some of them into full
 * pages: mid-notification at the fork).
 * FORKS times (the argument, 20 by default), the main thread forks; each child starts WORKERS threads that free the
 * table's blocks (verified first, every thread a share of every dead thread's blocks),
 * allocate and free blocks of their own, hand blocks to each other, and then the
 * child's main thread checks everything and exits 0. A child that crashes, finds a
 * corrupted block or does not finish within CHILD_LIMIT_S fails the check.
 * A plain program: run with LD_PRELOAD=libshardalloc.so.
 */
#include "leak_account.h"

#include <sys/mman.h>

#define WORKERS 8
#define PER_WORKER 400
#define DEFAULT_FORKS 20
#define MAX_FORKS 1000
#define CHILD_LIMIT_S 20
#define CHILD_ROUNDS 2000

typedef struct slot_s {
  _Atomic(uintptr_t) p;
  size_t size;
  uint64_t seed;
} slot_t;

static slot_t table[WORKERS][PER_WORKER];
static atomic_bool stop;
#define EXCHANGE_SLOTS 64
static _Atomic(uintptr_t) exchange[EXCHANGE_SLOTS];
static atomic_int child_bad;

static size_t size_for(uint64_t* rng) {
  uint64_t r = rng_next(rng) % 100;
  if (r < 70) return rng_range(rng, 8, 1024);
  if (r < 98) return rng_range(rng, 1025, 64 * 1024);
  return rng_range(rng, 64 * 1024, 2560 * 1024); /* large, a few huge */
}

static void* parent_worker(void* arg) {
  size_t w = (size_t)(uintptr_t)arg;
  uint64_t rng = 0xF0F0 + w;
  for (size_t i = 0; i < PER_WORKER; i++) {
    size_t size = size_for(&rng);
    void* p = malloc(size);
    if (p == NULL) continue;
    table[w][i].size = size;
    table[w][i].seed = (w << 32) | i;
    pattern_fill(p, size, table[w][i].seed);
    atomic_store(&table[w][i].p, (uintptr_t)p);
  }
  /* Until the end: blocks handed between the threads through a small exchange, so
   * that remote frees (into full pages: notifications) are under way at each fork. */
  for (unsigned long n = 0; !atomic_load(&stop); n++) {
    void* p = malloc(rng_range(&rng, 16, 256));
    uintptr_t got = atomic_exchange(&exchange[rng_next(&rng) % EXCHANGE_SLOTS], (uintptr_t)p);
    free((void*)got);
    if (n % 256 == 0) usleep(200); /* leave the cores to the children */
  }
  return NULL;
}

static void* child_worker(void* arg) {
  size_t t = (size_t)(uintptr_t)arg;
  uint64_t rng = 0xC0C0 + t;
  /* A share of every dead parent thread's blocks: blocks i with i % WORKERS == t. */
  for (size_t w = 0; w < WORKERS; w++) {
    for (size_t i = t; i < PER_WORKER; i += WORKERS) {
      uintptr_t p = atomic_exchange(&table[w][i].p, 0);
      if (p == 0) continue;
      if (pattern_check((void*)p, table[w][i].size, table[w][i].seed) != SIZE_MAX) atomic_fetch_add(&child_bad, 1);
      free((void*)p);
    }
  }
  void* own[64] = {0};
  for (int round = 0; round < CHILD_ROUNDS; round++) {
    size_t k = rng_next(&rng) % 64;
    if (own[k] != NULL) free(own[k]);
    own[k] = malloc(size_for(&rng) % 20000 + 1);
    if (own[k] == NULL) atomic_fetch_add(&child_bad, 1);
  }
  for (size_t k = 0; k < 64; k++) free(own[k]);
  return NULL;
}

static int child_main(void) {
  alarm(CHILD_LIMIT_S);
  pthread_t tids[WORKERS];
  for (size_t t = 0; t < WORKERS; t++) {
    if (pthread_create(&tids[t], NULL, child_worker, (void*)(uintptr_t)t) != 0) return 3;
  }
  for (size_t t = 0; t < WORKERS; t++) pthread_join(tids[t], NULL);
  return atomic_load(&child_bad) == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  int forks = argc > 1 ? atoi(argv[1]) : DEFAULT_FORKS;
  if (argc > 2 || forks < 1 || forks > MAX_FORKS) {
    fprintf(stderr, "forkthreads: usage: forkthreads [FORKS (1..%d)]\n", MAX_FORKS);
    return 2;
  }
  tap_diag("%d forks while %d threads allocate; the children's threads free the dead threads' blocks", forks, WORKERS);
  leak_account_t account = leak_account_start();
  pthread_t tids[WORKERS];
  for (size_t w = 0; w < WORKERS; w++) {
    tap_require(pthread_create(&tids[w], NULL, parent_worker, (void*)(uintptr_t)w) == 0, "the workers started");
  }
  usleep(50000);
  int failures = 0;
  char first[160] = "";
  for (int f = 0; f < forks; f++) {
    fflush(stdout);
    pid_t pid = fork();
    tap_require(pid >= 0, "fork");
    if (pid == 0) _exit(child_main());
    int status = 0;
    waitpid(pid, &status, 0);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) && failures++ == 0) {
      if (WIFSIGNALED(status)) {
        snprintf(first, sizeof first, "child %d killed by signal %d%s", f, WTERMSIG(status),
                 WTERMSIG(status) == SIGALRM ? " (hung)" : "");
      } else {
        snprintf(first, sizeof first, "child %d exited with %d (1: a corrupted block)", f, WEXITSTATUS(status));
      }
    }
    usleep(2000);
  }
  atomic_store(&stop, true);
  for (size_t w = 0; w < WORKERS; w++) pthread_join(tids[w], NULL);
  for (size_t i = 0; i < EXCHANGE_SLOTS; i++) free((void*)atomic_exchange(&exchange[i], 0));
  if (failures) tap_diag("%d of %d children failed; the first: %s", failures, forks, first);
  tap_result(failures == 0, "threads in fork children free the blocks of the parent's vanished threads");
  bool intact = true;
  for (size_t w = 0; w < WORKERS; w++) {
    for (size_t i = 0; i < PER_WORKER; i++) {
      uintptr_t p = atomic_exchange(&table[w][i].p, 0);
      if (p == 0) continue;
      if (pattern_check((void*)p, table[w][i].size, table[w][i].seed) != SIZE_MAX) intact = false;
      free((void*)p);
    }
  }
  tap_result(intact, "the parent's blocks stay intact");
  leak_account_check(&account, "fork with threads, in the parent");
  return tap_exit_status();
}
