/* forkmore.c: fork() while the allocator is busy in the ways fork.c leaves out.
 *
 * fork.c (allocator/tests) forks while worker threads allocate and trade small and
 * medium blocks. Here, while the main thread forks FORKS times:
 *   - a churner thread keeps creating and joining short threads (thread heaps set
 *     up and torn down: the metadata lock, abandoned segments);
 *   - a huge thread allocates, grows by realloc and frees blocks of 3-24 MiB (the
 *     huge-block cache, mremap);
 *   - a collector thread calls malloc_trim(0) / frees its medium blocks in bursts
 *     (collection and purging running at the moment of fork).
 * Each child at once allocates and frees blocks of every size, reallocs and frees
 * a huge block the parent's huge thread owned, creates a thread that allocates,
 * then forks a grandchild that allocates too, and exits through exit(). A child or
 * grandchild that finds a lock held hangs: its alarm kills it and the parent counts
 * it. A plain program: run with libshardalloc.so preloaded.
 * Usage: forkmore [FORKS]  (default 100). TAP on stdout.
 */
#include "testlib.h"
#include "leak_account.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>

#define CHILD_TIMEOUT_S 10

static atomic_bool stop;
static _Atomic(uintptr_t) shared_huge; /* a huge block the huge thread publishes */
static atomic_size_t shared_huge_size;
static atomic_long parent_bad;

static void* tiny_thread(void* arg) {
  uint64_t rng = (uint64_t)(uintptr_t)arg;
  void* blocks[32];
  for (int i = 0; i < 32; i++) {
    blocks[i] = malloc(rng_range(&rng, 1, 3000));
    if (blocks[i]) memset(blocks[i], 1, 1);
  }
  /* All but one freed here; that one the churner frees after the thread is gone. */
  for (int i = 0; i < 32; i++) {
    if (i != 1) free(blocks[i]);
  }
  return blocks[1];
}

static void* churner(void* arg) {
  (void)arg;
  uint64_t n = 1;
  while (!atomic_load(&stop)) {
    pthread_t t;
    if (pthread_create(&t, NULL, tiny_thread, (void*)(uintptr_t)n++) != 0) continue;
    void* left = NULL;
    pthread_join(t, &left);
    free(left);
  }
  return NULL;
}

static void* huge_worker(void* arg) {
  (void)arg;
  uint64_t rng = 7;
  while (!atomic_load(&stop)) {
    size_t size = rng_range(&rng, 3 * MiB, 12 * MiB);
    unsigned char* p = malloc(size);
    if (p == NULL) continue;
    pattern_fill(p, 4096, size);
    p[size - 1] = (unsigned char)size;
    size_t bigger = size + rng_range(&rng, 1, 12 * MiB);
    unsigned char* q = realloc(p, bigger);
    if (q == NULL) {
      free(p);
      continue;
    }
    if (pattern_check(q, 4096, size) != SIZE_MAX || q[size - 1] != (unsigned char)size) {
      atomic_fetch_add(&parent_bad, 1);
    }
    pattern_fill(q, 4096, bigger);
    /* Publish it for a while (children inherit whatever is published at fork). */
    atomic_store(&shared_huge_size, bigger);
    uintptr_t old = atomic_exchange(&shared_huge, (uintptr_t)q);
    if (old != 0) free((void*)old);
  }
  uintptr_t old = atomic_exchange(&shared_huge, 0);
  free((void*)old);
  return NULL;
}

static void* collector(void* arg) {
  (void)arg;
  void* blocks[64] = {0};
  uint64_t rng = 11;
  while (!atomic_load(&stop)) {
    for (int i = 0; i < 64; i++) blocks[i] = malloc(rng_range(&rng, 8 * KiB, 200 * KiB));
    for (int i = 0; i < 64; i++) free(blocks[i]);
    malloc_trim(0);
  }
  return NULL;
}

static void* child_thread(void* arg) {
  (void)arg;
  for (int i = 0; i < 500; i++) {
    void* p = malloc(16 + (size_t)i * 13 % 5000);
    if (p == NULL) return (void*)1;
    memset(p, 2, 16);
    free(p);
  }
  return NULL;
}

/* Runs in each child (and, with depth 1, in a grandchild). */
static int child_main(int depth) {
  alarm(CHILD_TIMEOUT_S);
  static const size_t sizes[] = {1, 16, 200, 4000, 50000, 600000, 3 * MiB, 20 * MiB};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    unsigned char* p = malloc(sizes[i]);
    if (p == NULL) return 10;
    pattern_fill(p, sizes[i] < 4096 ? sizes[i] : 4096, i);
    if (pattern_check(p, sizes[i] < 4096 ? sizes[i] : 4096, i) != SIZE_MAX) return 11;
    free(p);
  }
  uintptr_t h = atomic_exchange(&shared_huge, 0);
  if (h != 0 && depth == 0) {
    size_t size = atomic_load(&shared_huge_size);
    unsigned char* q = realloc((void*)h, size + 5 * MiB);
    if (q == NULL) return 12;
    q[size + 5 * MiB - 1] = 1;
    free(q);
  }
  pthread_t t;
  void* result = (void*)1;
  if (pthread_create(&t, NULL, child_thread, NULL) != 0) return 13;
  pthread_join(t, &result);
  if (result != NULL) return 14;
  if (depth == 0) {
    pid_t pid = fork();
    if (pid == 0) _exit(child_main(1));
    if (pid < 0) return 15;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status)) return 16;
    if (WEXITSTATUS(status) != 0) return 20 + WEXITSTATUS(status);
  }
  return 0;
}

int main(int argc, char** argv) {
  int forks = argc > 1 ? atoi(argv[1]) : 100;
  tap_diag("%d forks while threads churn, allocate huge blocks and trim", forks);
  leak_account_t account = leak_account_start();
  pthread_t threads[3];
  pthread_create(&threads[0], NULL, churner, NULL);
  pthread_create(&threads[1], NULL, huge_worker, NULL);
  pthread_create(&threads[2], NULL, collector, NULL);
  int failed = 0;
  char first[160] = "";
  for (int i = 0; i < forks && failed < 3; i++) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) exit(child_main(0));
    if (pid < 0) {
      snprintf(first, sizeof first, "fork: %s", strerror(errno));
      failed++;
      continue;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      if (failed++ == 0) {
        if (WIFSIGNALED(status)) {
          snprintf(first, sizeof first, "child %d killed by signal %d%s", i, WTERMSIG(status),
                   WTERMSIG(status) == SIGALRM ? " (hung: a lock held across fork?)" : "");
        } else {
          snprintf(first, sizeof first, "child %d exited with %d (see child_main)", i,
                   WEXITSTATUS(status));
        }
      }
    }
  }
  atomic_store(&stop, true);
  for (int i = 0; i < 3; i++) pthread_join(threads[i], NULL);
  tap_diag("parent RSS at the end: %zu MiB", rss_bytes() / MiB);
  if (failed) tap_diag("%d children failed; first: %s", failed, first);
  tap_result(failed == 0, "children (and grandchildren) allocate at once while the parent's "
                          "threads churn, use huge blocks and trim");
  long bad = atomic_load(&parent_bad);
  if (bad) tap_diag("%ld huge blocks lost their contents in realloc", bad);
  tap_result(bad == 0, "the parent's huge blocks keep their contents across forks and reallocs");
  leak_account_check(&account, "forks while threads churn, in the parent");
  return tap_exit_status();
}
